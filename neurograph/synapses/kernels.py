"""Numba kernels of the synapse step's surface search
(:func:`neurograph.synapses.mapping.closest_surface_points`): the closest point on each point's
candidate triangles, and how far the triangles' corners reach from their centroids."""

from __future__ import annotations

import numpy as np
from numba import njit

ZERO = 1e-13  # trimesh.constants.tol.zero: the region tests' tolerance, as trimesh applies it


@njit(cache=True)
def _dots(ab: tuple, ac: tuple, p: np.ndarray, q: tuple) -> tuple[float, float]:
    """``ab . (p - q)`` and ``ac . (p - q)``."""
    x, y, z = p[0] - q[0], p[1] - q[1], p[2] - q[2]
    return ab[0] * x + ab[1] * y + ab[2] * z, ac[0] * x + ac[1] * y + ac[2] * z


@njit(cache=True)
def _put_along(out: np.ndarray, q: tuple, t: float, d: tuple) -> None:
    """``out = q + t d``."""
    out[0], out[1], out[2] = q[0] + t * d[0], q[1] + t * d[1], q[2] + t * d[2]


@njit(cache=True)
def _corner_or_edge(out: np.ndarray, a: tuple, x: tuple, edge: tuple, a_own: float, a_other: float,
                    x_own: float, x_other: float) -> tuple[bool, float]:
    """Ericson's tests for corner ``x`` (B or C) and the edge from A to it: ``own`` is the dot
    product with that edge, ``other`` with A's other edge, at A and at ``x``. Writes ``out``
    and returns True when the point lies in the corner's or the edge's region; also returns the
    barycentric numerator (``vc`` for B, ``vb`` for C) the face region needs."""
    if x_own > -ZERO and x_other <= x_own:
        out[0], out[1], out[2] = x
        return True, 0.0
    v = a_own * x_other - x_own * a_other
    if v < ZERO and a_own > -ZERO and x_own < ZERO:
        _put_along(out, a, a_own / (a_own - x_own), edge)
        return True, v
    return False, v


@njit(cache=True)
def _closest_on_triangle(tri: np.ndarray, f: int, p: np.ndarray, out: np.ndarray) -> None:
    """Closest point of ``p`` on triangle ``tri[f]`` into ``out``: the region tests of Ericson's
    *Real-Time Collision Detection* (``ClosestPtPointTriangle``) in the order and with the
    tolerance of ``trimesh.triangles.closest_point``, including its rule for a triangle whose
    first two corners coincide (the segment from the first corner to the third)."""
    a = (tri[f, 0, 0], tri[f, 0, 1], tri[f, 0, 2])
    b = (tri[f, 1, 0], tri[f, 1, 1], tri[f, 1, 2])
    c = (tri[f, 2, 0], tri[f, 2, 1], tri[f, 2, 2])
    ab = (b[0] - a[0], b[1] - a[1], b[2] - a[2])
    ac = (c[0] - a[0], c[1] - a[1], c[2] - a[2])
    if ab[0] == 0.0 and ab[1] == 0.0 and ab[2] == 0.0:  # A == B: the segment AC (or the point A)
        length2 = ac[0] * ac[0] + ac[1] * ac[1] + ac[2] * ac[2]
        t = 0.0
        if length2 > 0:
            t = min(max(_dots(ac, ac, p, a)[0] / length2, 0.0), 1.0)
        _put_along(out, a, t, ac)
        return
    d1, d2 = _dots(ab, ac, p, a)
    if d1 < ZERO and d2 < ZERO:  # vertex region A
        out[0], out[1], out[2] = a
        return
    d3, d4 = _dots(ab, ac, p, b)
    done, vc = _corner_or_edge(out, a, b, ab, d1, d2, d3, d4)  # vertex region B, edge AB
    if done:
        return
    d5, d6 = _dots(ab, ac, p, c)
    done, vb = _corner_or_edge(out, a, c, ac, d2, d1, d6, d5)  # vertex region C, edge AC
    if done:
        return
    va = d3 * d6 - d5 * d4
    if va < ZERO and d4 - d3 > -ZERO and d5 - d6 > -ZERO:  # edge BC
        d43 = d4 - d3
        _put_along(out, b, d43 / (d43 + (d5 - d6)), (c[0] - b[0], c[1] - b[1], c[2] - b[2]))
        return
    denom = 1.0 / (va + vb + vc)  # inside the face
    v = vb * denom
    w = vc * denom
    out[0] = a[0] + ab[0] * v + ac[0] * w
    out[1] = a[1] + ab[1] * v + ac[1] * w
    out[2] = a[2] + ab[2] * v + ac[2] * w


@njit(cache=True)
def closest_among(tri: np.ndarray, points: np.ndarray,
                  cand: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closest point of ``points[i]`` on the triangles ``cand[i]``.

    Parameters
    ----------
    tri : (f, 3, 3) float ndarray
        Triangle corners (nm).
    points : (m, 3) float ndarray
        Query points (nm).
    cand : (m, k) int ndarray
        Candidate triangles of each point (``k >= 1``).

    Returns
    -------
    closest : (m, 3) float ndarray
        The closest point (nm) on the closest candidate.
    distance : (m,) float ndarray
        Its distance (nm).
    face : (m,) int64 ndarray
        The candidate it lies on: the first of the closest in ``cand``'s order, or the first
        whose distance is NaN (``numpy.argmin``'s rule).
    """
    m, k = cand.shape
    closest = np.empty((m, 3))
    distance = np.empty(m)
    face = np.empty(m, np.int64)
    q = np.empty(3)
    for i in range(m):
        best = np.nan
        for j in range(k):
            f = cand[i, j]
            _closest_on_triangle(tri, f, points[i], q)
            dx, dy, dz = q[0] - points[i, 0], q[1] - points[i, 1], q[2] - points[i, 2]
            d = np.sqrt(dx * dx + dy * dy + dz * dz)
            if j == 0 or np.isnan(d) or d < best:
                best = d
                face[i] = f
                closest[i, 0], closest[i, 1], closest[i, 2] = q[0], q[1], q[2]
                if np.isnan(d):
                    break
        distance[i] = best
    return closest, distance, face


@njit(cache=True)
def corner_reach(tri: np.ndarray, centroids: np.ndarray) -> float:
    """Largest distance (nm) from a triangle's centroid to one of its corners, over all triangles:
    the maximum of ``np.linalg.norm(tri - centroids[:, None], axis=2)`` bit for bit (the same
    sums in the same order; NaN if any is NaN), without the (f, 3, 3) temporaries."""
    reach = 0.0
    for f in range(tri.shape[0]):
        for c in range(3):
            dx = tri[f, c, 0] - centroids[f, 0]
            dy = tri[f, c, 1] - centroids[f, 1]
            dz = tri[f, c, 2] - centroids[f, 2]
            r = np.sqrt(dx * dx + dy * dy + dz * dz)
            if r > reach or np.isnan(r):
                reach = r
    return reach
