"""Boundary loops of a triangle mesh and closing the small ones (holes), in linear time."""

from __future__ import annotations

import numpy as np
from numba import njit


def boundary_half_edges(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """Directed boundary edges: face edges ``(a, b)`` whose undirected edge is in one face only.

    Parameters
    ----------
    faces : (f, 3) int ndarray
        Triangle vertex indices.
    n_vertices : int
        Number of vertices.

    Returns
    -------
    (k, 2) int64 ndarray
        Boundary edges oriented as in their face (the hole lies on their right).
    """
    half = np.asarray(faces, np.int64)[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    key = np.minimum(half[:, 0], half[:, 1]) * n_vertices + np.maximum(half[:, 0], half[:, 1])
    order = np.argsort(key, kind="stable")
    sk = key[order]
    new_run = np.ones(len(sk) + 1, bool)
    new_run[1:-1] = sk[1:] != sk[:-1]
    starts = np.flatnonzero(new_run)
    single = starts[:-1][np.diff(starts) == 1]
    return half[np.sort(order[single])]


@njit(cache=True)
def _walk_loops(start: np.ndarray, end: np.ndarray, out_of: np.ndarray, max_edges: int):
    """Follow boundary edges head to tail into closed loops of at most ``max_edges`` edges
    through vertices with one outgoing boundary edge each; others are skipped."""
    k = start.shape[0]
    seen = np.zeros(k, np.bool_)
    loop_edges = np.empty(k, np.int64)
    ptr = np.zeros(k + 1, np.int64)
    n_loops = 0
    m = 0
    for e0 in range(k):
        if seen[e0]:
            continue
        e = e0
        count = 0
        ok = True
        while True:
            seen[e] = True
            loop_edges[m + count] = e
            count += 1
            nxt = out_of[end[e]]
            if nxt < 0:  # vertex with several (or no) outgoing boundary edges
                ok = False
                break
            if nxt == e0:
                break
            if seen[nxt] or count >= max_edges:
                ok = False
                # mark the rest of this loop as seen so it is not walked again
                while not seen[nxt]:
                    seen[nxt] = True
                    t = out_of[end[nxt]]
                    if t < 0:
                        break
                    nxt = t
                break
            e = nxt
        if ok:
            m += count
            n_loops += 1
            ptr[n_loops] = m
    return ptr[:n_loops + 1], loop_edges[:m]


def fan_flatness(vertices: np.ndarray, a: np.ndarray, b: np.ndarray, loop_of: np.ndarray,
                 centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How faithfully a fan about each loop's centroid closes it.

    For the fan triangles ``(a, b, centre)`` of a loop, the flatness is the length of their
    summed area vectors over the sum of their areas: 1 for a planar loop that is
    star-shaped about its centroid (the fan is a proper triangulation of it), lower when
    the loop is warped (a saddle, a hole wrapping round a junction) or folds back on itself,
    where a fan would cut through the neuron.

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Mesh vertices (nm).
    a, b : (k,) int ndarray
        Each boundary edge's tail and head vertex.
    loop_of : (k,) int ndarray
        Loop index of each edge.
    centres : (h, 3) float ndarray
        Loop centroids (nm).

    Returns
    -------
    flatness : (h,) float ndarray
        In [0, 1].
    min_cos : (h,) float ndarray
        Lowest cosine between one fan triangle's normal and the loop's mean normal
        (negative: a triangle is flipped).
    """
    c = centres[loop_of]
    normal = np.cross(vertices[a] - c, vertices[b] - c)
    area = np.linalg.norm(normal, axis=1)
    h = len(centres)
    total = np.column_stack([np.bincount(loop_of, weights=normal[:, k], minlength=h) for k in range(3)])
    total_len = np.linalg.norm(total, axis=1)
    flatness = total_len / np.maximum(np.bincount(loop_of, weights=area, minlength=h), 1e-300)
    cos = np.einsum("ij,ij->i", normal, total[loop_of]) / np.maximum(area * total_len[loop_of], 1e-300)
    min_cos = np.full(h, 1.0)
    np.minimum.at(min_cos, loop_of, cos)
    return flatness, min_cos


def fill_small_holes(vertices: np.ndarray, faces: np.ndarray, max_hole_edges: int = 100,
                     min_flatness: float = 0.9) -> tuple[np.ndarray, np.ndarray, int]:
    """Close every simple boundary loop of at most ``max_hole_edges`` edges that a fan closes faithfully.

    A loop of three edges gets one triangle; a longer loop a fan of triangles about a new
    vertex at the loop's centroid, oriented like the faces around it, if the loop is nearly
    planar and star-shaped about its centroid (:func:`fan_flatness` at least
    ``min_flatness`` and no flipped triangle). Warped loops (a hole wrapping round the base
    of a neurite, a gap between a soma and its neurites) stay open: a fan across them would
    join surfaces that are apart. Loops through a vertex with several boundary edges
    (non-manifold spots) are left open. Existing vertices and faces keep their indices (new
    ones are appended).

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Mesh vertices (nm).
    faces : (f, 3) int ndarray
        Triangles.
    max_hole_edges : int, default 100
        Largest hole, in boundary edges, that is closed.
    min_flatness : float, default 0.9
        Least :func:`fan_flatness` of a loop closed by a fan (1: only planar, star-shaped
        loops; 0: every loop).

    Returns
    -------
    vertices : (n + h, 3) float ndarray
        With one centroid per filled loop of more than three edges appended.
    faces : (f + t, 3) int64 ndarray
        With the new triangles appended.
    n_filled : int
        Holes closed.
    """
    vertices = np.asarray(vertices, float)
    faces = np.asarray(faces, np.int64)
    n = len(vertices)
    half = boundary_half_edges(faces, n)
    if len(half) == 0:
        return vertices, faces, 0
    n_out = np.bincount(half[:, 0], minlength=n)
    out_of = np.full(n, -1, np.int64)
    single = n_out[half[:, 0]] == 1
    out_of[half[single, 0]] = np.flatnonzero(single)
    ptr, loop_edges = _walk_loops(half[:, 0], half[:, 1], out_of, int(max_hole_edges))
    if len(ptr) < 2:
        return vertices, faces, 0
    size = np.diff(ptr)
    a, b = half[loop_edges, 0], half[loop_edges, 1]
    loop_of = np.repeat(np.arange(len(size)), size)
    tri = size == 3
    # three-edge loops: one face using every edge reversed
    first = ptr[:-1][tri]
    new_faces = [np.column_stack([a[first], a[first + 2], a[first + 1]])]
    sums = np.column_stack([np.bincount(loop_of, weights=vertices[a, k], minlength=len(size)) for k in range(3)])
    centres = sums / size[:, None]
    flatness, min_cos = fan_flatness(vertices, a, b, loop_of, centres)
    fan_ok = ~tri & (flatness >= min_flatness) & (min_cos > 0)
    fan = fan_ok[loop_of]
    fan_loops = np.flatnonzero(fan_ok)
    centre_id = np.full(len(size), -1, np.int64)
    centre_id[fan_loops] = n + np.arange(len(fan_loops))
    new_faces.append(np.column_stack([b[fan], a[fan], centre_id[loop_of[fan]]]))
    return (np.vstack([vertices, centres[fan_loops]]), np.vstack([faces] + new_faces).astype(np.int64),
            int(tri.sum() + len(fan_loops)))
