"""Numba kernels of the branch decomposition (tree walks: :mod:`neurograph.skeleton.tree`)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def assign_branches(order: np.ndarray, parent: np.ndarray, is_start: np.ndarray, first_id: int) -> np.ndarray:
    """Label skeleton nodes with branch ids: a new id at every start node, else the parent's."""
    out = np.full(parent.shape[0], -1, dtype=np.int64)
    nxt = first_id
    for k in range(order.shape[0]):
        node = order[k]
        if is_start[node] or parent[node] < 0:
            out[node] = nxt
            nxt += 1
        else:
            out[node] = out[parent[node]]
    return out
