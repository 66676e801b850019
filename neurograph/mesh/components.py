"""Connected pieces of a mesh and the gaps between them."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree


def vertex_components(n_vertices: int, faces: np.ndarray) -> np.ndarray:
    """Label every vertex with the id of its connected piece (vertices joined by face edges).

    Parameters
    ----------
    n_vertices : int
        Number of mesh vertices (vertices in no face get a piece of their own).
    faces : (m, 3) int ndarray
        Triangle vertex indices.

    Returns
    -------
    (n_vertices,) int64 ndarray
        Component ids ``0..k-1``, ``0`` being an arbitrary piece.
    """
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    graph = sparse.coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])),
                              shape=(n_vertices, n_vertices))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


_OFFSETS = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])


def cell_keys(cells: np.ndarray) -> np.ndarray:
    shifted = cells + (1 << 20)
    return (shifted[:, 0] << 42) | (shifted[:, 1] << 21) | shifted[:, 2]


def candidate_pairs(vertices: np.ndarray, labels: np.ndarray, gap: float) -> np.ndarray:
    """Pairs of components that come within about ``gap`` of each other.

    Vertices are hashed into cubes of side ``gap``; two components are candidates when
    they occupy the same or neighbouring cubes.

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Mesh vertices, nm.
    labels : (n,) int ndarray
        Component id of every vertex (:func:`vertex_components`).
    gap : float
        Largest gap to bridge, in the unit of ``vertices`` (nm).

    Returns
    -------
    (k, 2) int64 ndarray
        Unique component pairs ``(a, b)``, a < b.
    """
    extent = float(np.ptp(vertices, axis=0).max()) if len(vertices) else 0.0
    cell = max(gap, extent / 1e6, 1e-9)  # keeps cell indices inside the 21-bit key
    cells = np.floor((vertices - vertices.min(axis=0)) / cell).astype(np.int64)
    occupied = np.unique(np.column_stack([cells, labels]), axis=0)  # (cell xyz, component)
    keys = cell_keys(occupied[:, :3])
    order = np.argsort(keys, kind="stable")
    occupied, keys = occupied[order], keys[order]
    comps = occupied[:, 3]
    pairs = []
    for offset in _OFFSETS:
        neighbour = cell_keys(occupied[:, :3] + offset)
        lo = np.searchsorted(keys, neighbour, side="left")
        hi = np.searchsorted(keys, neighbour, side="right")
        counts = hi - lo
        if counts.sum() == 0:
            continue
        src = np.repeat(comps, counts)
        starts = np.cumsum(counts) - counts
        idx = np.repeat(lo - starts, counts) + np.arange(counts.sum())
        dst = comps[idx]
        keep = src < dst
        pairs.append(np.column_stack([src[keep], dst[keep]]))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(pairs), axis=0)


def closest_links(vertices: np.ndarray, labels: np.ndarray, pairs: np.ndarray,
                  gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Closest vertex pair and distance for each candidate component pair.

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Mesh vertices, nm.
    labels : (n,) int ndarray
        Component id of every vertex (:func:`vertex_components`).
    pairs : (p, 2) int ndarray
        Candidate component pairs (:func:`candidate_pairs`).
    gap : float
        Largest link length, in the unit of ``vertices`` (nm); farther pairs are dropped.

    Returns
    -------
    links : (k, 2) int64 ndarray
        Vertex indices, one row per pair within ``gap``; the first vertex lies in the pair's
        component with fewer vertices.
    dist : (k,) float64 ndarray
        Link lengths, in the unit of ``vertices`` (nm).
    """
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(labels.max() + 2))
    members = lambda c: order[bounds[c]:bounds[c + 1]]  # noqa: E731
    trees: dict[int, cKDTree] = {}
    links, dists = [], []
    for a, b in pairs:
        va, vb = members(a), members(b)
        if len(va) > len(vb):
            va, vb, b = vb, va, a
        if b not in trees:
            trees[b] = cKDTree(vertices[vb])
        d, j = trees[b].query(vertices[va], distance_upper_bound=gap)
        i = int(np.argmin(d))
        if np.isfinite(d[i]):
            links.append((va[i], vb[j[i]]))
            dists.append(d[i])
    if not links:
        return np.empty((0, 2), dtype=np.int64), np.empty(0)
    return np.asarray(links, dtype=np.int64), np.asarray(dists)
