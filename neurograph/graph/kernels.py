"""Numba kernels for walking skeleton trees in topological order."""

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


@njit(cache=True)
def path_lengths(order: np.ndarray, parent: np.ndarray, edge_length: np.ndarray) -> np.ndarray:
    """Distance along the tree from the root to every node (same units as ``edge_length``)."""
    out = np.zeros(parent.shape[0])
    for k in range(order.shape[0]):
        node = order[k]
        if parent[node] >= 0:
            out[node] = out[parent[node]] + edge_length[node]
    return out


@njit(cache=True)
def subtree_sum(order: np.ndarray, parent: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over every node's subtree (``order``: parents before children)."""
    out = values.copy()
    for k in range(order.shape[0] - 1, -1, -1):
        node = order[k]
        if parent[node] >= 0:
            out[parent[node]] += out[node]
    return out
