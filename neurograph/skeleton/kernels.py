"""Numba kernels for skeletonization: clustering level sets and measuring radii."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit(cache=True)
def cluster_level_sets(edges: np.ndarray, bins: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """Label connected pieces of each level set.

    Vertices ``i`` and ``j`` joined by an edge fall in the same cluster when
    ``bins[i] == bins[j]`` and neither is ``fixed`` (fixed vertices, e.g. soma ones,
    keep a cluster of their own given by ``bins``). Returns a label per vertex: the
    index of a representative vertex.
    """
    n = bins.shape[0]
    parent = np.arange(n)
    for k in range(edges.shape[0]):
        a, b = edges[k, 0], edges[k, 1]
        if bins[a] != bins[b] or fixed[a] or fixed[b]:
            continue
        ra, rb = _find(parent, a), _find(parent, b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    labels = np.empty(n, dtype=np.int64)
    for i in range(n):
        labels[i] = _find(parent, i)
    return labels


@njit(cache=True)
def distance_to_segments(points: np.ndarray, node_of_point: np.ndarray, nodes: np.ndarray,
                         parent: np.ndarray) -> np.ndarray:
    """Distance from each point to the skeleton edge between its node and that node's parent.

    Points of root nodes (no parent) are measured to the node itself.
    """
    out = np.empty(points.shape[0])
    for i in range(points.shape[0]):
        a = node_of_point[i]
        pa = parent[a]
        px, py, pz = points[i, 0], points[i, 1], points[i, 2]
        ax, ay, az = nodes[a, 0], nodes[a, 1], nodes[a, 2]
        if pa < 0:
            out[i] = np.sqrt((px - ax) ** 2 + (py - ay) ** 2 + (pz - az) ** 2)
            continue
        bx, by, bz = nodes[pa, 0], nodes[pa, 1], nodes[pa, 2]
        dx, dy, dz = bx - ax, by - ay, bz - az
        length2 = dx * dx + dy * dy + dz * dz
        t = 0.0
        if length2 > 0:
            t = ((px - ax) * dx + (py - ay) * dy + (pz - az) * dz) / length2
            t = min(1.0, max(0.0, t))
        cx, cy, cz = ax + t * dx, ay + t * dy, az + t * dz
        out[i] = np.sqrt((px - cx) ** 2 + (py - cy) ** 2 + (pz - cz) ** 2)
    return out


@njit(cache=True)
def face_owner(faces: np.ndarray, vertex_label: np.ndarray) -> np.ndarray:
    """Give each face the label most of its vertices carry (the first vertex's on a tie)."""
    out = np.empty(faces.shape[0], dtype=np.int64)
    for f in range(faces.shape[0]):
        a, b, c = vertex_label[faces[f, 0]], vertex_label[faces[f, 1]], vertex_label[faces[f, 2]]
        out[f] = b if (b == c and a != b) else a
    return out


@njit(cache=True)
def group_median(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of ``values`` per group id in ``[0, n_groups)``; NaN for empty groups."""
    order = np.argsort(groups)
    out = np.full(n_groups, np.nan)
    start = 0
    n = values.shape[0]
    while start < n:
        g = groups[order[start]]
        stop = start
        while stop < n and groups[order[stop]] == g:
            stop += 1
        vals = np.sort(values[order[start:stop]])
        m = vals.shape[0]
        out[g] = vals[m // 2] if m % 2 == 1 else 0.5 * (vals[m // 2 - 1] + vals[m // 2])
        start = stop
    return out
