"""Connected pieces of a mesh and the gaps between them."""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.spatial import cKDTree

from ..arrays import unique_rows
from ..errors import MeshError
from ..unionfind import set_labels, union


def vertex_components(n_vertices: int, faces: np.ndarray) -> np.ndarray:
    """Label every vertex with the id of its connected piece (vertices joined by face edges).

    Parameters
    ----------
    n_vertices : int
        Number of mesh vertices (vertices in no face get a piece of their own).
    faces : (m, 3) int ndarray
        Triangle vertex indices in ``[0, n_vertices)``.

    Returns
    -------
    (n_vertices,) int64 ndarray
        Component ids ``0..k-1``, numbered in the order of each piece's lowest vertex (as
        scipy's ``connected_components`` numbers them; a union-find in Numba, ~10x faster).

    Raises
    ------
    MeshError
        Faces not shaped (m, 3), not whole numbers, or indices outside ``[0, n_vertices)``.
    """
    faces = np.asarray(faces)
    if faces.size == 0:
        faces = np.empty((0, 3), np.int64)
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise MeshError(f"faces must be an (m, 3) array of vertex indices, got shape {faces.shape}")
    if not np.issubdtype(faces.dtype, np.integer) and not np.array_equal(faces, np.round(faces)):
        raise MeshError("face indices must be integers")
    faces = np.ascontiguousarray(faces, np.int64)
    if len(faces) and (faces.min() < 0 or faces.max() >= n_vertices):
        raise MeshError(f"faces must index {n_vertices} vertices, [0, {n_vertices - 1}]; found "
                        f"[{faces.min()}, {faces.max()}]")
    return _vertex_components(int(n_vertices), faces)


@njit(cache=True)
def _vertex_components(n: int, faces: np.ndarray) -> np.ndarray:
    parent = np.arange(n)
    for i in range(faces.shape[0]):
        union(parent, faces[i, 0], faces[i, 1])
        union(parent, faces[i, 1], faces[i, 2])
    return set_labels(parent)


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
    occupied = unique_rows(np.column_stack([cells, labels]))[0]  # (cell xyz, component)
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
    return unique_rows(np.concatenate(pairs))[0]


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
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    none = np.empty((0, 2), dtype=np.int64), np.empty(0)
    if not len(pairs):
        return none
    order = np.argsort(labels, kind="stable")
    size = np.bincount(labels, minlength=int(labels.max()) + 1)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    swap = size[pairs[:, 0]] > size[pairs[:, 1]]
    small = np.where(swap, pairs[:, 1], pairs[:, 0])  # the query side: fewer vertices
    big = np.where(swap, pairs[:, 0], pairs[:, 1])
    found, links, dists = [], [], []
    # one tree per larger component, queried with the vertices of all its smaller partners
    # (one pass per distinct larger component, not per pair: usually one, the main body)
    by_big = np.argsort(big, kind="stable")
    for group in np.split(by_big, np.flatnonzero(np.diff(big[by_big])) + 1):
        b = int(big[group[0]])
        tree = cKDTree(vertices[order[start[b]:start[b] + size[b]]])
        n_q = size[small[group]]
        offset = np.repeat(start[small[group]] - np.concatenate([[0], np.cumsum(n_q)[:-1]]), n_q)
        query = order[offset + np.arange(int(n_q.sum()))]
        pair_of = np.repeat(np.arange(len(group)), n_q)
        d, j = tree.query(vertices[query], distance_upper_bound=gap)
        best = np.lexsort((d, pair_of))  # per pair: the closest, the first listed on ties
        best = best[np.concatenate([[True], np.diff(pair_of[best]) > 0])]
        best = best[np.isfinite(d[best])]
        found.append(group[pair_of[best]])
        links.append(np.column_stack([query[best], order[start[b] + j[best]]]))
        dists.append(d[best])
    found = np.concatenate(found)
    if not len(found):
        return none
    keep = np.argsort(found, kind="stable")  # in the order of ``pairs``
    return np.concatenate(links)[keep].astype(np.int64), np.concatenate(dists)[keep]
