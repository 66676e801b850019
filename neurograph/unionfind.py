"""Union-find (disjoint sets) on an integer parent array, in Numba.

Every set's root is its smallest member (a union hangs the larger root under the smaller), so
labels do not depend on the order of unions or on path compression.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def find(parent: np.ndarray, i: int) -> int:
    """Root (smallest member) of ``i``'s set; compresses the path on the way."""
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit(cache=True)
def union(parent: np.ndarray, a: int, b: int) -> None:
    """Join the sets of ``a`` and ``b``."""
    ra, rb = find(parent, a), find(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)


@njit(cache=True)
def set_labels(parent: np.ndarray) -> np.ndarray:
    """Label of every element: its set's number, sets numbered in the order of their smallest
    member (the root), as scipy's ``connected_components`` numbers them."""
    n = parent.shape[0]
    labels = np.empty(n, np.int64)
    count = 0
    for i in range(n):
        root = find(parent, i)  # the set's smallest member: labelled already, or i itself
        if root == i:
            labels[i] = count
            count += 1
        else:
            labels[i] = labels[root]
    return labels
