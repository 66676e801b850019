"""Numba kernels of the synapse step's surface search
(:func:`neurograph.synapses.mapping.closest_surface_points`): the closest point on each point's
candidate triangles, and the triangles' centroids and reach."""

from __future__ import annotations

import numpy as np
from numba import njit

ZERO = 1e-13  # trimesh.constants.tol.zero: the region tests' tolerance, as trimesh applies it


@njit(cache=True)
def _closest_on_triangle(tri: np.ndarray, f: int, p: np.ndarray, out: np.ndarray) -> None:
    """Closest point of ``p`` on triangle ``tri[f]`` into ``out``: the region tests of Ericson's
    *Real-Time Collision Detection* (``ClosestPtPointTriangle``) in the order and with the
    tolerance of ``trimesh.triangles.closest_point``, including its rule for a triangle whose
    first two corners coincide (the segment from the first corner to the third)."""
    ax, ay, az = tri[f, 0, 0], tri[f, 0, 1], tri[f, 0, 2]
    bx, by, bz = tri[f, 1, 0], tri[f, 1, 1], tri[f, 1, 2]
    cx, cy, cz = tri[f, 2, 0], tri[f, 2, 1], tri[f, 2, 2]
    abx, aby, abz = bx - ax, by - ay, bz - az
    acx, acy, acz = cx - ax, cy - ay, cz - az
    if abx == 0.0 and aby == 0.0 and abz == 0.0:  # A == B: the segment AC (or the point A)
        length2 = acx * acx + acy * acy + acz * acz
        t = 0.0
        if length2 > 0:
            t = ((p[0] - ax) * acx + (p[1] - ay) * acy + (p[2] - az) * acz) / length2
            t = min(max(t, 0.0), 1.0)
        out[0], out[1], out[2] = ax + t * acx, ay + t * acy, az + t * acz
        return
    apx, apy, apz = p[0] - ax, p[1] - ay, p[2] - az
    d1 = abx * apx + aby * apy + abz * apz
    d2 = acx * apx + acy * apy + acz * apz
    if d1 < ZERO and d2 < ZERO:  # vertex region A
        out[0], out[1], out[2] = ax, ay, az
        return
    bpx, bpy, bpz = p[0] - bx, p[1] - by, p[2] - bz
    d3 = abx * bpx + aby * bpy + abz * bpz
    d4 = acx * bpx + acy * bpy + acz * bpz
    if d3 > -ZERO and d4 <= d3:  # vertex region B
        out[0], out[1], out[2] = bx, by, bz
        return
    vc = d1 * d4 - d3 * d2
    if vc < ZERO and d1 > -ZERO and d3 < ZERO:  # edge AB
        v = d1 / (d1 - d3)
        out[0], out[1], out[2] = ax + v * abx, ay + v * aby, az + v * abz
        return
    cpx, cpy, cpz = p[0] - cx, p[1] - cy, p[2] - cz
    d5 = abx * cpx + aby * cpy + abz * cpz
    d6 = acx * cpx + acy * cpy + acz * cpz
    if d6 > -ZERO and d5 <= d6:  # vertex region C
        out[0], out[1], out[2] = cx, cy, cz
        return
    vb = d5 * d2 - d1 * d6
    if vb < ZERO and d2 > -ZERO and d6 < ZERO:  # edge AC
        w = d2 / (d2 - d6)
        out[0], out[1], out[2] = ax + w * acx, ay + w * acy, az + w * acz
        return
    va = d3 * d6 - d5 * d4
    if va < ZERO and d4 - d3 > -ZERO and d5 - d6 > -ZERO:  # edge BC
        d43 = d4 - d3
        w = d43 / (d43 + (d5 - d6))
        out[0], out[1], out[2] = bx + w * (cx - bx), by + w * (cy - by), bz + w * (cz - bz)
        return
    denom = 1.0 / (va + vb + vc)  # inside the face
    v = vb * denom
    w = vc * denom
    out[0] = ax + abx * v + acx * w
    out[1] = ay + aby * v + acy * w
    out[2] = az + abz * v + acz * w


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
def centroids_and_reach(tri: np.ndarray) -> tuple[np.ndarray, float]:
    """Centroid of every triangle (f, 3) and the largest distance from a centroid to a corner of
    its triangle (nm), in one pass: what ``tri.mean(axis=1)`` and the maximum of
    ``np.linalg.norm(tri - centroids[:, None], axis=2)`` give, bit for bit (the same sums in
    the same order), without the (f, 3, 3) temporaries."""
    n = tri.shape[0]
    centroids = np.empty((n, 3))
    reach = 0.0
    for f in range(n):
        for d in range(3):
            centroids[f, d] = (tri[f, 0, d] + tri[f, 1, d] + tri[f, 2, d]) / 3.0
        for c in range(3):
            dx = tri[f, c, 0] - centroids[f, 0]
            dy = tri[f, c, 1] - centroids[f, 1]
            dz = tri[f, c, 2] - centroids[f, 2]
            r = np.sqrt(dx * dx + dy * dy + dz * dz)
            if r > reach or np.isnan(r):
                reach = r
    return centroids, reach
