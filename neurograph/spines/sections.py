"""Spine head and neck widths from exact cross-sections of the spine surface (Numba), nm.

A spine is cut by planes across its base -> tip axis. Each plane meets the spine's triangles in
straight segments; the cross-section's width is the diameter of the circle fitted to them
(algebraic fit, weighted by segment length). Nothing is sampled, so the same spine always gets the
same widths, and a finer tessellation of the same surface changes them only as much as it changes
the surface.

A section counts only when it is complete: at least :data:`MIN_SEGMENTS` segments, and seen from
its centroid no angle of :data:`MAX_GAP` or more without a segment. Planes near the foot can cut
the spine where it leaves the shaft and give an arc on one side only; a spine of two or three
triangles (decimated meshes) has no complete section at all, and gets no widths (NaN) rather than
a number its surface does not hold.

Measured against synthetic spines of known radii (``python benchmarks/spines.py``, see
``docs/spines.md``): this replaced 600 surface points per spine cut into slabs (a slab's width:
twice the median distance of its points from their centroid), whose neck width was the smallest
of 12 noisy medians and read 21-25 % below the true width; here the neck reads 0.92-0.96 of it
(the head 0.96-0.97, as before 0.94-0.96).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .shaft_kernels import CIRCLE_SUMS_ZERO, add_circle_point, plane_frame, solve_circle

MIN_SEGMENTS = 3  # a section needs this many segments
MAX_GAP = np.pi / 2  # and no uncovered angle of a quarter turn or more, seen from its centroid
HEAD_FROM = 0.3  # the head is the widest section beyond this fraction of the spine's extent
N_SLICES = 12  # cross-sections across the base -> tip axis


@njit(cache=True)
def _cut(verts: np.ndarray, faces: np.ndarray, fk: np.ndarray, t: np.ndarray, level: float,
         ends: np.ndarray) -> int:
    """Segments where the plane ``t = level`` meets triangles ``faces[fk]`` (corner heights
    ``t``, (m, 3)): their ends into ``ends`` (2 per segment); returns the number of segments.
    A corner on the plane counts as above it, so a triangle gives one segment or none."""
    q = 0
    for j in range(fk.shape[0]):
        up0, up1, up2 = t[j, 0] >= level, t[j, 1] >= level, t[j, 2] >= level
        if up0 == up1 and up1 == up2:
            continue
        # the lone corner, on the other side from the two others
        if up0 != up1 and up0 != up2:
            o, p1, p2 = 0, 1, 2
        elif up1 != up0 and up1 != up2:
            o, p1, p2 = 1, 0, 2
        else:
            o, p1, p2 = 2, 0, 1
        f = faces[fk[j]]
        s1 = (level - t[j, o]) / (t[j, p1] - t[j, o])
        s2 = (level - t[j, o]) / (t[j, p2] - t[j, o])
        for c in range(3):
            x = verts[f[o], c]
            ends[2 * q, c] = x + s1 * (verts[f[p1], c] - x)
            ends[2 * q + 1, c] = x + s2 * (verts[f[p2], c] - x)
        q += 1
    return q


@njit(cache=True)
def _uncovered(angle: np.ndarray, q: int) -> float:
    """Widest angle (radians) that none of ``q`` arcs covers; arc ``r`` runs the short way
    between ``angle[2 r]`` and ``angle[2 r + 1]`` (in (-pi, pi])."""
    start = np.empty(q)
    span = np.empty(q)
    for r in range(q):
        d = angle[2 * r + 1] - angle[2 * r]
        if d > np.pi:
            d -= 2 * np.pi
        elif d <= -np.pi:
            d += 2 * np.pi
        start[r] = angle[2 * r] if d >= 0 else angle[2 * r] + d
        span[r] = abs(d)
    order = np.argsort(start)
    reach = start[order[0]] + span[order[0]]
    gap = 0.0
    for r in range(1, q):
        o = order[r]
        gap = max(gap, start[o] - reach)
        reach = max(reach, start[o] + span[o])
    return max(gap, start[order[0]] + 2 * np.pi - reach)


@njit(cache=True)
def section_width(ends: np.ndarray, q: int, u: np.ndarray, v: np.ndarray) -> float:
    """Width (nm) of a cross-section of ``q`` segments (``ends``, (2 q, 3), in the plane spanned
    by ``u`` and ``v``): the diameter of the circle fitted to it (algebraic fit to the segments'
    ends and midpoints, weighted by segment length); NaN for an incomplete section (see the
    module docstring)."""
    if q < MIN_SEGMENTS:
        return np.nan
    length = np.empty(q)
    total = 0.0
    centre = np.zeros(3)
    for r in range(q):
        d = ends[2 * r + 1] - ends[2 * r]
        length[r] = np.sqrt(np.dot(d, d))
        total += length[r]
        centre += length[r] * 0.5 * (ends[2 * r] + ends[2 * r + 1])
    if total <= 0:
        return np.nan
    centre /= total
    angle = np.empty(2 * q)
    for r in range(2 * q):
        d = ends[r] - centre
        angle[r] = np.arctan2(np.dot(d, v), np.dot(d, u))
    if _uncovered(angle, q) >= MAX_GAP:
        return np.nan
    sums = CIRCLE_SUMS_ZERO
    for r in range(q):  # each segment as its two ends (a quarter of its length each) and its midpoint (half)
        for k in range(3):
            p = ends[2 * r + k] - centre if k < 2 else 0.5 * (ends[2 * r] + ends[2 * r + 1]) - centre
            sums = add_circle_point(sums, length[r] * (0.25 if k < 2 else 0.5), np.dot(p, u), np.dot(p, v))
    ok, _, _, r2 = solve_circle(sums, np.empty((3, 3)), np.empty(3))
    return 2.0 * np.sqrt(r2) if ok and r2 > 0 else np.nan


@njit(cache=True)
def spine_widths(verts: np.ndarray, faces: np.ndarray, f_ptr: np.ndarray, f_ids: np.ndarray, cands: np.ndarray,
                 base: np.ndarray, tip: np.ndarray, n_slices: int) -> tuple[np.ndarray, np.ndarray]:
    """Head and neck width (nm) of every spine, from ``n_slices`` cross-sections.

    Parameters
    ----------
    verts : (n, 3) float ndarray
        Mesh vertices, nm.
    faces : (f, 3) int ndarray
    f_ptr, f_ids : int ndarrays
        The faces of candidate ``k`` are ``f_ids[f_ptr[k]:f_ptr[k + 1]]``.
    cands : (s,) int ndarray
        The candidates to measure.
    base, tip : (s, 3) float ndarrays
        Base (on the shaft surface) and tip of each, nm.
    n_slices : int
        Planes across the base -> tip axis, at the middles of equal slices of the spine's
        extent along it (from its lowest to its highest corner).

    Returns
    -------
    head, neck : (s,) float ndarrays
        Head width: the widest complete section beyond :data:`HEAD_FROM` of the extent; neck
        width: the narrowest complete section from the base up to the head's (nm). NaN without
        length, faces or a complete section there.
    """
    n = cands.shape[0]
    head = np.full(n, np.nan)
    neck = np.full(n, np.nan)
    for i in range(n):
        k = cands[i]
        fk = f_ids[f_ptr[k]:f_ptr[k + 1]]
        axis = tip[i] - base[i]
        size = np.sqrt(np.dot(axis, axis))
        if size <= 0 or fk.shape[0] == 0:
            continue
        axis = axis / size
        u, v = plane_frame(axis)
        u, v = np.array(u), np.array(v)
        t = np.empty((fk.shape[0], 3))
        for j in range(fk.shape[0]):
            for c in range(3):
                p = verts[faces[fk[j], c]]
                t[j, c] = (p[0] - base[i, 0]) * axis[0] + (p[1] - base[i, 1]) * axis[1] + (p[2] - base[i, 2]) * axis[2]
        lo, hi = t.min(), t.max()
        if not hi > lo:
            continue
        ends = np.empty((2 * fk.shape[0], 3))
        widths = np.empty(n_slices)
        best = -1
        for s in range(n_slices):
            level = lo + (s + 0.5) * (hi - lo) / n_slices
            widths[s] = section_width(ends, _cut(verts, faces, fk, t, level, ends), u, v)
            if level >= lo + HEAD_FROM * (hi - lo) and np.isfinite(widths[s]) and (best < 0 or widths[s] > widths[best]):
                best = s
        if best < 0:
            continue
        head[i] = widths[best]
        neck[i] = widths[best]
        for s in range(best):
            if widths[s] < neck[i]:  # False for NaN
                neck[i] = widths[s]
    return head, neck
