"""Duplicate vertices, degenerate and duplicate faces, removed by sorting (no trimesh caches).

The same result as ``trimesh.Trimesh(vertices, faces, process=True)`` followed by
``nondegenerate_faces(height=1e-8) & unique_faces()`` and ``remove_unreferenced_vertices()``
(vertices merged when their coordinates agree to 1e-8 nm, first occurrences kept in their
order; faces kept in their order), bit for bit, but ~5-10x faster on meshes of millions of
faces: trimesh groups vertex rows as raw bytes (``np.void``), whose sort compares bytes one at a
time (11 s of a 5M-face repair), and builds (m, 3, 3) copies for the face tests. Here rows are
packed (or hashed) to one integer and sorted once; rows sharing a hash are checked row by row
(a collision falls back to a lexicographic sort); the face test runs face by face in Numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

MERGE_DIGITS = 8
"""Vertices whose coordinates (nm) agree after rounding to 1e-8 nm are one vertex (trimesh's
``tol.merge``)."""

DEGENERATE_HEIGHT = 1e-8
"""A face whose two heights (twice its area over the edge from its first vertex to the second, and
to the third) are not above this (nm) is degenerate (trimesh's ``nondegenerate(height=1e-8)``)."""

_TABLE_BITS = 24
#: odd 64-bit multipliers of the row hashes (also hash edges in :mod:`neurograph.mesh.resolution`)
HASH_PRIMES = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)


def first_occurrence_groups(rows: np.ndarray, inverse: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Group equal rows of an integer array, in order of first occurrence.

    Parameters
    ----------
    rows : (n, d) int64 ndarray
        Rows to group (d <= 3).
    inverse : bool, default True
        Also return the group of every row.

    Returns
    -------
    first : (k,) int64 ndarray
        Index of the first occurrence of every distinct row, increasing.
    inverse : (n,) int64 ndarray or None
        Group of every row (an index into ``first``): ``rows[first][inverse] == rows``.
    """
    n = len(rows)
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64) if inverse else None
    key = _row_keys(rows)[0]
    sk = np.sort(key)  # a row whose key no other row has is a group of its own: only the rest is grouped
    repeated = sk[1:][sk[1:] == sk[:-1]]
    if len(repeated) == 0:
        return np.arange(n), np.arange(n) if inverse else None
    # rows whose key's low bits are those of a repeated key (a superset of the rows with a repeated
    # key: a table lookup instead of a search; the extra rows are grouped too, correctly)
    low = np.array((1 << _TABLE_BITS) - 1, dtype=key.dtype)
    table = np.zeros(1 << _TABLE_BITS, bool)
    table[(repeated & low).astype(np.intp)] = True
    candidates = np.flatnonzero(table[(key & low).astype(np.intp)])
    sub_first, sub_groups = _group_rows(rows[candidates])
    keep = np.ones(n, bool)
    keep[candidates] = False
    keep[candidates[sub_first]] = True
    first = np.flatnonzero(keep)
    if not inverse:
        return first, None
    groups = np.cumsum(keep) - 1
    groups[candidates] = groups[candidates[sub_first]][sub_groups]
    return first, groups


def _row_keys(rows: np.ndarray) -> tuple[np.ndarray, bool]:
    """One integer per row, and whether equal keys mean equal rows (rows packed into 63 bits) or
    only probably (a hash)."""
    lo = rows.min(axis=0)
    bits = [int(b).bit_length() for b in rows.max(axis=0) - lo]
    if sum(bits) <= 63:
        key = np.zeros(len(rows), np.int64)
        for j, b in enumerate(bits):
            key <<= b
            key |= rows[:, j] - lo[j]
        return key, True
    key = np.zeros(len(rows), np.uint64)
    with np.errstate(over="ignore"):
        for j in range(rows.shape[1]):
            key ^= rows[:, j].astype(np.uint64) * HASH_PRIMES[j]
            key ^= key >> np.uint64(29)
    return key, False


def _group_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`first_occurrence_groups` by one argsort of the row keys (rows sharing a hash are
    compared; a collision falls back to a lexicographic sort)."""
    n = len(rows)
    key, exact = _row_keys(rows)
    order = np.argsort(key)  # not stable: the first occurrence of a group is its smallest index
    sk = key[order]
    start = np.empty(n, bool)
    start[0] = True
    np.not_equal(sk[1:], sk[:-1], out=start[1:])
    if not exact:  # rows that share a hash with the row sorted before them must equal it
        later = np.flatnonzero(~start)
        if len(later) and not (rows[order[later]] == rows[order[later - 1]]).all():  # a collision
            order = np.lexsort(rows.T[::-1])
            sr = rows[order]
            start[1:] = (sr[1:] != sr[:-1]).any(axis=1)
    first = np.minimum.reduceat(order, np.flatnonzero(start))  # in key order
    by_position = np.argsort(first)
    rank = np.empty(len(first), np.int64)
    rank[by_position] = np.arange(len(first))
    groups = np.empty(n, np.int64)
    groups[order] = rank[np.cumsum(start) - 1]
    return first[by_position], groups


def merge_vertices(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge vertices that agree to :data:`MERGE_DIGITS` decimals and drop unreferenced ones.

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Vertex coordinates, nm.
    faces : (m, 3) int ndarray
        Triangles.

    Returns
    -------
    vertices : (k, 3) float64 ndarray
        The first occurrence of every distinct referenced vertex, in input order.
    faces : (m, 3) int64 ndarray
        The faces re-indexed (merged vertices can make a face degenerate: see :func:`clean`).
    """
    referenced = np.zeros(len(vertices), bool)
    referenced[faces] = True
    ref_index = np.flatnonzero(referenced)
    quantized = np.round(vertices[ref_index] * 10.0 ** MERGE_DIGITS).astype(np.int64)
    first, inverse = first_occurrence_groups(quantized)
    new_index = np.zeros(len(vertices), np.int64)
    new_index[ref_index] = inverse
    return np.asarray(vertices, np.float64)[ref_index[first]], new_index[faces]


def nondegenerate(vertices: np.ndarray, faces: np.ndarray, height: float = DEGENERATE_HEIGHT) -> np.ndarray:
    """Faces whose two heights exceed ``height`` (trimesh's ``triangles.nondegenerate``).

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Vertex coordinates, nm.
    faces : (m, 3) int ndarray
        Triangles.
    height : float, default :data:`DEGENERATE_HEIGHT`
        Smallest height kept, nm.

    Returns
    -------
    (m,) bool ndarray
    """
    return _nondegenerate(np.ascontiguousarray(vertices, np.float64), np.ascontiguousarray(faces, np.int64),
                          float(height))


@njit(cache=True)
def cross_norm(vertices: np.ndarray, a: int, b: int, c: int, o: int) -> float:
    """``|(p_b - p_a) x (p_c - p_o)|`` in scalars, in the order numpy's row arithmetic takes (nm²);
    ``o = a`` gives twice the area of triangle (a, b, c), ``o = b`` trimesh's form of it."""
    u0, u1, u2 = vertices[b, 0] - vertices[a, 0], vertices[b, 1] - vertices[a, 1], vertices[b, 2] - vertices[a, 2]
    w0, w1, w2 = vertices[c, 0] - vertices[o, 0], vertices[c, 1] - vertices[o, 1], vertices[c, 2] - vertices[o, 2]
    c0 = u1 * w2 - u2 * w1
    c1 = u2 * w0 - u0 * w2
    c2 = u0 * w1 - u1 * w0
    return np.sqrt(c0 * c0 + c1 * c1 + c2 * c2)


@njit(cache=True)
def _distance(vertices: np.ndarray, a: int, b: int) -> float:
    d0, d1, d2 = vertices[b, 0] - vertices[a, 0], vertices[b, 1] - vertices[a, 1], vertices[b, 2] - vertices[a, 2]
    return np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)


@njit(cache=True)
def _nondegenerate(vertices: np.ndarray, faces: np.ndarray, height: float) -> np.ndarray:
    """:func:`nondegenerate` face by face, with trimesh's arithmetic in its order (the same bits):
    area ``|(p1 - p0) x (p2 - p1)| / 2``, heights ``2 * area / |edge|`` over the edges p0-p1 and
    p0-p2 (0 when the edge is not longer than :data:`DEGENERATE_HEIGHT`)."""
    ok = np.empty(len(faces), np.bool_)
    for i in range(len(faces)):
        a, b, c = faces[i, 0], faces[i, 1], faces[i, 2]
        area = cross_norm(vertices, a, b, c, b) / 2.0
        keep = True
        for length in (_distance(vertices, a, b), _distance(vertices, a, c)):
            box = (area * 2) / length if length > DEGENERATE_HEIGHT else 0.0
            keep = keep and box > height
        ok[i] = keep
    return ok


def clean(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge duplicate vertices, drop degenerate and duplicate faces and unreferenced vertices.

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Vertex coordinates, nm.
    faces : (m, 3) int ndarray
        Triangles.

    Returns
    -------
    vertices : (k, 3) float64 ndarray
        Kept vertices in input order (first occurrences).
    faces : (j, 3) int64 ndarray
        Kept faces in input order: non-degenerate, the first of faces on the same three
        vertices (in any order).
    kept : (m,) bool ndarray
        Which input faces were kept.
    """
    vertices, faces = merge_vertices(vertices, np.asarray(faces, np.int64))
    keep = nondegenerate(vertices, faces)
    unique = np.zeros(len(faces), bool)
    unique[first_occurrence_groups(np.sort(faces, axis=1), inverse=False)[0]] = True
    keep &= unique
    if keep.all():
        return vertices, faces, keep
    faces = faces[keep]
    used = np.zeros(len(vertices), bool)
    used[faces] = True
    if used.all():
        return vertices, faces, keep
    new_index = np.cumsum(used) - 1
    return vertices[used], new_index[faces], keep
