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


def fill_small_holes(vertices: np.ndarray, faces: np.ndarray,
                     max_hole_edges: int = 100) -> tuple[np.ndarray, np.ndarray, int]:
    """Close every simple boundary loop of at most ``max_hole_edges`` edges.

    A loop of three edges gets one triangle; a longer loop a fan of triangles about a new
    vertex at the loop's centroid, oriented like the faces around it. Loops through a
    vertex with several boundary edges (non-manifold spots) are left open. Existing
    vertices and faces keep their indices (new ones are appended).

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Mesh vertices (nm).
    faces : (f, 3) int ndarray
        Triangles.
    max_hole_edges : int, default 100
        Largest hole, in boundary edges, that is closed.

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
    fan = ~tri[loop_of]
    fan_loops = np.flatnonzero(~tri)
    centre_id = np.full(len(size), -1, np.int64)
    centre_id[fan_loops] = n + np.arange(len(fan_loops))
    sums = np.column_stack([np.bincount(loop_of, weights=vertices[a, k], minlength=len(size)) for k in range(3)])
    centres = sums[fan_loops] / size[fan_loops, None]
    new_faces.append(np.column_stack([b[fan], a[fan], centre_id[loop_of[fan]]]))
    return (np.vstack([vertices, centres]), np.vstack([faces] + new_faces).astype(np.int64), int(len(size)))
