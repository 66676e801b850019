"""Numba kernels of the spine step's shaft fit (:mod:`neurograph.spines.shaft`): the windowed
robust shaft radius and the Tukey-weighted circle fit of the shaft cross-section at every
skeleton node."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _shorth_center(vals: np.ndarray, w: np.ndarray, frac: float) -> float:
    """Weighted median inside the shortest interval holding ``frac`` of the total weight."""
    order = np.argsort(vals)
    v = vals[order]
    cw = np.cumsum(w[order])
    total = cw[-1]
    if total <= 0:
        return np.nan
    need = frac * total
    best_lo, best_hi, best_len = 0, v.shape[0] - 1, np.inf
    hi = 0
    for lo in range(v.shape[0]):
        base = cw[lo - 1] if lo > 0 else 0.0
        if hi < lo:
            hi = lo
        while hi < v.shape[0] - 1 and cw[hi] - base < need:
            hi += 1
        if cw[hi] - base < need:
            break
        if v[hi] - v[lo] < best_len:
            best_len = v[hi] - v[lo]
            best_lo, best_hi = lo, hi
    base = cw[best_lo - 1] if best_lo > 0 else 0.0
    half = base + 0.5 * (cw[best_hi] - base)
    for k in range(best_lo, best_hi + 1):
        if cw[k] >= half:
            return v[k]
    return v[best_hi]


@njit(cache=True)
def window_shaft_radius(adj_ptr: np.ndarray, adj: np.ndarray, adj_len: np.ndarray, node_ptr: np.ndarray,
                        vals: np.ndarray, weights: np.ndarray, window: float, frac: float,
                        min_count: int) -> np.ndarray:
    """Robust local shaft radius at every skeleton node.

    For each node, the distances ``vals`` (grouped per node by the CSR ``node_ptr``) of all
    nodes within ``window`` nm of skeleton arc length (tree adjacency CSR ``adj_ptr, adj,
    adj_len``) are pooled and the centre of their densest ``frac`` (the shorth, weighted by
    ``weights``) is returned. Protrusions lie outside the shaft, spread over many distances,
    so they do not move the densest cluster, which is the shaft wall. The window doubles (up
    to 8 times) until it holds ``min_count`` values; nodes without any stay NaN.
    """
    n = adj_ptr.shape[0] - 1
    out = np.full(n, np.nan)
    dist = np.full(n, np.inf)
    stack = np.empty(n, np.int64)
    seen = np.empty(n, np.int64)
    for s in range(n):
        n_seen = _gather_window(s, adj_ptr, adj, adj_len, node_ptr, window, min_count, dist, stack, seen)
        count = 0
        for i in range(n_seen):
            count += node_ptr[seen[i] + 1] - node_ptr[seen[i]]
        if count == 0:
            continue
        buf_v = np.empty(count)
        buf_w = np.empty(count)
        m = 0
        for i in range(n_seen):
            for j in range(node_ptr[seen[i]], node_ptr[seen[i] + 1]):
                buf_v[m] = vals[j]
                buf_w[m] = weights[j]
                m += 1
        out[s] = _shorth_center(buf_v, buf_w, frac)
    return out


@njit(cache=True)
def _support(x: np.ndarray, y: np.ndarray, w: np.ndarray, cx: float, cy: float, r: float, scale: float) -> float:
    """Tukey-weighted point weight within ``scale`` of the circle (cx, cy, r)."""
    tot = 0.0
    for k in range(x.shape[0]):
        e = abs(np.sqrt((x[k] - cx) ** 2 + (y[k] - cy) ** 2) - r) / scale
        if e < 1.0:
            tot += w[k] * (1.0 - e * e) ** 2
    return tot


@njit(cache=True)
def _near_singular(A: np.ndarray) -> bool:
    """``abs(np.linalg.det(A)) < 1e-12 * (A[0, 0] * A[1, 1] * A[2, 2] + 1e-300)`` for a 3 x 3
    matrix, without LAPACK where the answer is certain.

    The determinant by cofactors and LAPACK's (LU with partial pivoting, then
    ``exp(sum(log|u_kk|))``) both lie within ~1e-12 x ``Q`` of the exact one, ``Q`` the
    product of the columns' largest magnitudes (the LU's column-wise growth is at most 4
    for 3 x 3, and every term of the determinant is at most ``Q``). Where the cofactor value
    is more than 1e-9 x ``Q`` away from the threshold, both give the same answer; otherwise
    (nearly singular systems, or non-finite entries, which LAPACK reports) ask LAPACK."""
    c0 = A[1, 1] * A[2, 2] - A[1, 2] * A[2, 1]
    c1 = A[1, 0] * A[2, 2] - A[1, 2] * A[2, 0]
    c2 = A[1, 0] * A[2, 1] - A[1, 1] * A[2, 0]
    det = A[0, 0] * c0 - A[0, 1] * c1 + A[0, 2] * c2
    q = 1.0
    for j in range(3):
        q *= max(abs(A[0, j]), abs(A[1, j]), abs(A[2, j]))
    limit = 1e-12 * (A[0, 0] * A[1, 1] * A[2, 2] + 1e-300)
    if abs(abs(det) - limit) > 1e-9 * q:
        return abs(det) < limit
    return abs(np.linalg.det(A)) < limit


@njit(cache=True)
def _solve3(A: np.ndarray, b: np.ndarray) -> None:
    """Solve the 3 x 3 system ``A x = b`` in place (``b`` becomes ``x``; ``A`` its LU factors):
    Gaussian elimination with partial pivoting, the algorithm of LAPACK's ``dgesv`` and as
    stable, without the copies and the call that ``np.linalg.solve`` makes (which were half
    the circle fit's time). The caller rules out (nearly) singular and non-finite systems
    (:func:`_near_singular`); the result agrees with ``np.linalg.solve`` to rounding (their
    operations come in another order)."""
    for j in range(3):
        p = j
        for i in range(j + 1, 3):
            if abs(A[i, j]) > abs(A[p, j]):
                p = i
        if p != j:
            for c in range(3):
                A[j, c], A[p, c] = A[p, c], A[j, c]
            b[j], b[p] = b[p], b[j]
        for i in range(j + 1, 3):
            f = A[i, j] / A[j, j]
            for c in range(j + 1, 3):
                A[i, c] -= f * A[j, c]
            b[i] -= f * b[j]
    for j in range(2, -1, -1):
        for c in range(j + 1, 3):
            b[j] -= A[j, c] * b[c]
        b[j] /= A[j, j]


@njit(cache=True)
def plane_frame(t: np.ndarray) -> tuple[tuple, tuple]:
    """Orthonormal frame ``(u, v)`` of the plane across the unit vector ``t`` (two 3-tuples;
    scalars, in the order the array expressions took: no temporary arrays per call)."""
    a0, a1 = (1.0, 0.0) if abs(t[0]) < 0.9 else (0.0, 1.0)
    dot = a0 * t[0] + a1 * t[1] + 0.0 * t[2]
    u0, u1, u2 = a0 - dot * t[0], a1 - dot * t[1], 0.0 - dot * t[2]
    norm = np.sqrt(u0 * u0 + u1 * u1 + u2 * u2)
    u0, u1, u2 = u0 / norm, u1 / norm, u2 / norm
    return (u0, u1, u2), (t[1] * u2 - t[2] * u1, t[2] * u0 - t[0] * u2, t[0] * u1 - t[1] * u0)


CIRCLE_SUMS_ZERO = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
"""No point yet: the nine sums of :func:`add_circle_point`."""


@njit(cache=True)
def add_circle_point(sums: tuple, w: float, x: float, y: float) -> tuple:
    """The sums of the normal equations of the algebraic circle fit ``x² + y² + D x + E y + F = 0``
    (Kasa) with point ``(x, y)`` of weight ``w`` added: ``sums`` holds the upper triangle of the
    3 x 3 matrix (``a00, a01, a02, a11, a12, a22``) and the right-hand side (``b0, b1, b2``). A tuple of
    scalars, not array slots: in a loop over points the sums stay in registers."""
    rhs = -(x * x + y * y)
    a00, a01, a02, a11, a12, a22, b0, b1, b2 = sums
    return (a00 + w * x * x, a01 + w * x * y, a02 + w * x, a11 + w * y * y, a12 + w * y, a22 + w,
            b0 + w * x * rhs, b1 + w * y * rhs, b2 + w * rhs)


@njit(cache=True)
def solve_circle(sums: tuple, A: np.ndarray, b: np.ndarray) -> tuple[bool, float, float, float]:
    """Centre ``(cx, cy)`` and squared radius of the circle fitted by the sums of
    :func:`add_circle_point` (``A`` (3 x 3) and ``b`` (3,) are work buffers, overwritten), after a
    flag that is False (and the three NaN) when the system is (nearly) singular."""
    A[0, 0], A[0, 1], A[0, 2], A[1, 1], A[1, 2], A[2, 2] = sums[0], sums[1], sums[2], sums[3], sums[4], sums[5]
    b[0], b[1], b[2] = sums[6], sums[7], sums[8]
    A[1, 0], A[2, 0], A[2, 1] = A[0, 1], A[0, 2], A[1, 2]
    if _near_singular(A):
        return False, np.nan, np.nan, np.nan
    _solve3(A, b)  # the solution in b
    cx, cy = -b[0] / 2, -b[1] / 2
    return True, cx, cy, cx * cx + cy * cy - b[2]


WIDE = 0.3  # first Tukey scale of the circle fit, x the radius
OUTSIDE = 1.0  # Tukey scale outside the circle relative to inside


@njit(cache=True)
def _gather_window(s: int, adj_ptr: np.ndarray, adj: np.ndarray, adj_len: np.ndarray, node_ptr: np.ndarray,
                   window: float, min_count: int, dist: np.ndarray, stack: np.ndarray, seen: np.ndarray) -> int:
    """Nodes within ``window`` nm of node ``s`` (doubling up to 8x until they hold
    ``min_count`` points) into ``seen``; returns how many. ``dist`` is left all inf."""
    w_now = window
    n_seen = 0
    for attempt in range(4):
        n_seen = 0
        top = 1
        stack[0] = s
        dist[s] = 0.0
        count = 0
        while top > 0:
            top -= 1
            u = stack[top]
            seen[n_seen] = u
            n_seen += 1
            count += node_ptr[u + 1] - node_ptr[u]
            for k in range(adj_ptr[u], adj_ptr[u + 1]):
                v = adj[k]
                d = dist[u] + adj_len[k]
                if d <= w_now and d < dist[v]:
                    if dist[v] == np.inf:
                        stack[top] = v
                        top += 1
                    dist[v] = d
        for i in range(n_seen):
            dist[seen[i]] = np.inf
        if count >= min_count:
            break
        w_now *= 2.0
    return n_seen


@njit(cache=True)
def window_circle_fit(adj_ptr: np.ndarray, adj: np.ndarray, adj_len: np.ndarray, node_ptr: np.ndarray,
                      pts: np.ndarray, w: np.ndarray, centre: np.ndarray, tangent: np.ndarray,
                      radius0: np.ndarray, window: float, scale_abs: float, scale_rel: float,
                      min_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Robust circle fit of the shaft cross-section at every skeleton node.

    The points (mesh vertices, grouped per node by ``node_ptr``) of all nodes within
    ``window`` nm of arc length are projected onto the plane across the node's ``tangent``
    and a circle is fitted (algebraic fit, Tukey-biweighted by the distance to the current
    circle, the scale shrinking from WIDE x r to ``max(scale_abs, scale_rel x r)``, starting
    from ``centre`` and ``radius0``); the new circle is kept only if it is supported by at
    least as much point weight as the starting one. Points of protrusions lie outside the
    circle and get no weight; an arc of the wall is enough to place the centre, so the fit
    also corrects a skeleton pulled off the axis.

    Returns the circle centres (n, 3), in the coordinates of ``pts``, and radii (n,)
    (``centre`` and ``radius0`` where a fit is impossible).
    """
    n = adj_ptr.shape[0] - 1
    out_c = centre.copy()
    out_r = radius0.copy()
    dist = np.full(n, np.inf)
    stack = np.empty(n, np.int64)
    seen = np.empty(n, np.int64)
    # buffers shared by all nodes (a window holds at most every point): no allocation per node
    x_all = np.empty(pts.shape[0])
    y_all = np.empty(pts.shape[0])
    w_all = np.empty(pts.shape[0])
    A = np.zeros((3, 3))
    b = np.zeros(3)
    for s in range(n):
        if node_ptr[s + 1] - node_ptr[s] == 0 and adj_ptr[s + 1] - adj_ptr[s] == 0:
            continue
        t = tangent[s]
        if (t * t).sum() == 0 or not np.isfinite(radius0[s]):
            continue
        u, v = plane_frame(t)
        n_seen = _gather_window(s, adj_ptr, adj, adj_len, node_ptr, window, min_count, dist, stack, seen)
        m = 0
        for i in range(n_seen):
            m += node_ptr[seen[i] + 1] - node_ptr[seen[i]]
        if m < 5:
            continue
        x, y, ww = x_all[:m], y_all[:m], w_all[:m]
        k = 0
        for i in range(n_seen):
            q = seen[i]
            for j in range(node_ptr[q], node_ptr[q + 1]):
                # scalar arithmetic: no temporary arrays per point (the same sums, in the same order)
                d0 = pts[j, 0] - centre[s, 0]
                d1 = pts[j, 1] - centre[s, 1]
                d2 = pts[j, 2] - centre[s, 2]
                x[k] = d0 * u[0] + d1 * u[1] + d2 * u[2]
                y[k] = d0 * v[0] + d1 * v[1] + d2 * v[2]
                ww[k] = w[j]
                k += 1
        cx, cy, r = 0.0, 0.0, radius0[s]
        ok = False
        start = _support(x, y, ww, 0.0, 0.0, r, 3.0 * max(scale_abs, scale_rel * r))
        wide = WIDE * r
        for _it in range(10):
            # graduated: start wide (whole wall and spine feet), shrink to the target scale
            scale = 3.0 * max(scale_abs, scale_rel * r, wide)
            wide *= 0.5
            sums = CIRCLE_SUMS_ZERO
            tot = 0.0
            for k in range(m):
                e = np.sqrt((x[k] - cx) ** 2 + (y[k] - cy) ** 2) - r
                # protrusions lie outside the wall: points outside count less than inside
                e = e / (OUTSIDE * scale) if e > 0 else -e / scale
                if e >= 1.0:
                    continue
                wk = ww[k] * (1.0 - e * e) ** 2
                sums = add_circle_point(sums, wk, x[k], y[k])
                tot += wk
            if tot <= 0:
                break
            solved, ncx, ncy, r2 = solve_circle(sums, A, b)
            if not solved:
                break
            if r2 <= 0:
                break
            nr = np.sqrt(r2)
            if nr > 3.0 * radius0[s] or np.sqrt(ncx * ncx + ncy * ncy) > max(radius0[s], nr):
                break
            cx, cy, r = ncx, ncy, nr
            ok = True
        # keep the new circle only if the wall supports it at least as well as the old one
        if ok and _support(x, y, ww, cx, cy, r, 3.0 * max(scale_abs, scale_rel * r)) >= start:
            for c in range(3):
                out_c[s, c] = centre[s, c] + cx * u[c] + cy * v[c]
            out_r[s] = r
    return out_c, out_r
