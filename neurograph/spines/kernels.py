"""Numba kernels for spine detection: subtree heights, windowed shaft radius, region growing."""

from __future__ import annotations

import numpy as np
from numba import njit

from ..skeleton.kernels import numpy_sum
from ..skeleton.tree import reverse_to_root, root_of


@njit(cache=True)
def subtree_heights(order: np.ndarray, parent: np.ndarray, edge_length: np.ndarray) -> np.ndarray:
    """Longest path (nm) from every node down to a leaf of its subtree.

    ``order`` lists nodes parents-first; ``edge_length[c]`` is the length of edge c -> parent.
    """
    height = np.zeros(parent.shape[0])
    for k in range(order.shape[0] - 1, -1, -1):
        c = order[k]
        p = parent[c]
        if p >= 0:
            h = height[c] + edge_length[c]
            if h > height[p]:
                height[p] = h
    return height


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
def grow_labels(labels: np.ndarray, allowed: np.ndarray, nbr_ptr: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    """Grow labelled vertex regions (``labels >= 0``) breadth-first into ``allowed`` vertices.

    Every reached vertex takes the label of the region that reaches it first, so touching
    regions are split where their fronts meet instead of being merged.
    """
    out = labels.copy()
    queue = np.empty(labels.shape[0], np.int64)
    head, tail = 0, 0
    for i in range(labels.shape[0]):
        if labels[i] >= 0:
            queue[tail] = i
            tail += 1
    while head < tail:
        u = queue[head]
        head += 1
        for k in range(nbr_ptr[u], nbr_ptr[u + 1]):
            v = nbr[k]
            if out[v] < 0 and allowed[v]:
                out[v] = out[u]
                queue[tail] = v
                tail += 1
    return out


@njit(cache=True)
def segment_points(points: np.ndarray, seg_node: np.ndarray, nodes: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Closest point on the skeleton edge ``seg_node[i] -> parent`` to each point (nm)."""
    out = np.empty_like(points)
    for i in range(points.shape[0]):
        a = seg_node[i]
        pa = parent[a]
        if pa < 0:
            out[i] = nodes[a]
            continue
        d = nodes[pa] - nodes[a]
        l2 = (d * d).sum()
        t = 0.0
        if l2 > 0:
            t = min(1.0, max(0.0, ((points[i] - nodes[a]) * d).sum() / l2))
        out[i] = nodes[a] + t * d
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
        # orthonormal frame (u, v) across the tangent
        # (scalars, in the order the array expressions took: no temporary arrays per node)
        a0, a1 = (1.0, 0.0) if abs(t[0]) < 0.9 else (0.0, 1.0)
        dot = a0 * t[0] + a1 * t[1] + 0.0 * t[2]
        u0, u1, u2 = a0 - dot * t[0], a1 - dot * t[1], 0.0 - dot * t[2]
        norm = np.sqrt(u0 * u0 + u1 * u1 + u2 * u2)
        u0, u1, u2 = u0 / norm, u1 / norm, u2 / norm
        u = (u0, u1, u2)
        v = (t[1] * u2 - t[2] * u1, t[2] * u0 - t[0] * u2, t[0] * u1 - t[1] * u0)
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
            A[:] = 0.0
            b[:] = 0.0
            tot = 0.0
            for k in range(m):
                e = np.sqrt((x[k] - cx) ** 2 + (y[k] - cy) ** 2) - r
                # protrusions lie outside the wall: points outside count less than inside
                e = e / (OUTSIDE * scale) if e > 0 else -e / scale
                if e >= 1.0:
                    continue
                wk = ww[k] * (1.0 - e * e) ** 2
                row0, row1 = x[k], y[k]
                rhs = -(x[k] * x[k] + y[k] * y[k])
                A[0, 0] += wk * row0 * row0
                A[0, 1] += wk * row0 * row1
                A[0, 2] += wk * row0
                A[1, 1] += wk * row1 * row1
                A[1, 2] += wk * row1
                A[2, 2] += wk
                b[0] += wk * row0 * rhs
                b[1] += wk * row1 * rhs
                b[2] += wk * rhs
                tot += wk
            if tot <= 0:
                break
            A[1, 0], A[2, 0], A[2, 1] = A[0, 1], A[0, 2], A[1, 2]
            if _near_singular(A):
                break
            sol = np.linalg.solve(A, b)
            ncx, ncy = -sol[0] / 2, -sol[1] / 2
            r2 = ncx * ncx + ncy * ncy - sol[2]
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


@njit(cache=True)
def twig_labels(order: np.ndarray, parent: np.ndarray, kid_ptr: np.ndarray, kids: np.ndarray, reach: np.ndarray,
                volume: np.ndarray, limit: np.ndarray, is_soma: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Root of the short side twig every node lies on (-1 on the core); see
    :func:`neurograph.spines.geometry.twig_roots`. ``kids[kid_ptr[i]:kid_ptr[i + 1]]``: the
    children of node ``i`` in increasing order; ``reach``: subtree height plus the node's own
    edge (nm); ``volume``: subtree volume (nm³)."""
    label = np.full(len(parent), -1, np.int64)
    for node in order:
        a, b = kid_ptr[node], kid_ptr[node + 1]
        if a == b:
            continue
        if label[node] >= 0:  # inside a twig: the whole subtree is that twig
            for j in range(a, b):
                label[kids[j]] = label[node]
            continue
        if b - a < 2 or is_soma[node]:
            continue
        main = -1
        kept = False
        for j in range(a, b):
            kept |= keep[kids[j]]
        if not kept:
            best = -np.inf
            for j in range(a, b):
                if volume[kids[j]] > best:
                    best, main = volume[kids[j]], j
        for j in range(a, b):
            c = kids[j]
            if j != main and reach[c] < limit[node] and not keep[c]:
                label[c] = c
    return label


@njit(cache=True)
def terminal_runs(order: np.ndarray, parent: np.ndarray, n_kids: np.ndarray, twig: np.ndarray) -> np.ndarray:
    """Top node of the unbranched run holding each twig node (-1 off twigs); see
    :func:`neurograph.spines.geometry.terminal_segments`."""
    top = np.full(len(parent), -1, np.int64)
    for v in order:
        if twig[v] < 0:
            continue
        p = parent[v]
        if p >= 0 and twig[p] == twig[v] and n_kids[p] == 1 and v != twig[v]:
            top[v] = top[p]
        else:
            top[v] = v
    return top


@njit(cache=True)
def _mean_rows(pts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``pts[rows].mean(axis=0)`` in numpy's order (rows added one after the other)."""
    out = pts[rows[0]].copy()
    for i in range(1, rows.shape[0]):
        out += pts[rows[i]]
    return out / rows.shape[0]


@njit(cache=True)
def group_mean_rows(pts: np.ndarray, ptr: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Mean point of each group: ``pts[ids[ptr[g]:ptr[g + 1]]].mean(axis=0)`` bit for bit
    (rows added in their order, as numpy adds them); NaN for an empty group.

    Parameters
    ----------
    pts : (n, 3) float ndarray
    ptr : (k + 1,) int ndarray
        CSR pointer of the groups into ``ids``.
    ids : (m,) int ndarray
        Rows of ``pts``, grouped.

    Returns
    -------
    (k, 3) float ndarray
    """
    out = np.full((ptr.shape[0] - 1, pts.shape[1]), np.nan)
    for g in range(ptr.shape[0] - 1):
        if ptr[g + 1] > ptr[g]:
            out[g] = _mean_rows(pts, ids[ptr[g]:ptr[g + 1]])
    return out


@njit(cache=True)
def spine_extent(verts: np.ndarray, faces: np.ndarray, foot_ptr: np.ndarray, foot_ids: np.ndarray,
                 v_ptr: np.ndarray, v_ids: np.ndarray, f_ptr: np.ndarray, f_ids: np.ndarray,
                 area_f: np.ndarray, cands: np.ndarray) -> tuple[np.ndarray, ...]:
    """Base, tip, length, volume and area of every candidate spine (arrays in, arrays out).

    Candidate ``k`` holds vertices ``v_ids[v_ptr[k]:v_ptr[k + 1]]``, faces ``f_ids[...]``
    and foot vertices (just outside it) ``foot_ids[...]``. Base: the mean of its distinct
    foot vertices (of its own vertices without a foot); tip: its vertex farthest from the
    base; length: that distance (nm); volume: of its surface closed at the base (the
    signed volumes of the cones from the base over its faces, summed; µm³); area: of its
    faces (nm²). Every sum in numpy's order, so the values are those of the plain numpy code.

    Returns
    -------
    base : (c, 3) float, nm
    tip : (c,) int64, vertex index
    length : (c,) float, nm
    volume : (c,) float, µm³
    area : (c,) float, nm²
    """
    n = cands.shape[0]
    base = np.zeros((n, 3))
    tip = np.zeros(n, np.int64)
    length = np.zeros(n)
    volume = np.zeros(n)
    area = np.zeros(n)
    for i in range(n):
        k = cands[i]
        foot = np.unique(foot_ids[foot_ptr[k]:foot_ptr[k + 1]])
        vk = v_ids[v_ptr[k]:v_ptr[k + 1]]
        centre = _mean_rows(verts, foot) if foot.shape[0] else _mean_rows(verts, vk)
        base[i] = centre
        best, far = -1.0, -1
        for j in range(vk.shape[0]):
            dx = verts[vk[j], 0] - centre[0]
            dy = verts[vk[j], 1] - centre[1]
            dz = verts[vk[j], 2] - centre[2]
            d = np.sqrt(dx * dx + dy * dy + dz * dz)
            if d > best:  # the first of the farthest, as np.argmax
                best, far = d, vk[j]
        tip[i], length[i] = far, best
        fk = f_ids[f_ptr[k]:f_ptr[k + 1]]
        cone = np.empty(fk.shape[0])
        fa = np.empty(fk.shape[0])
        for j in range(fk.shape[0]):
            a = verts[faces[fk[j], 0]] - centre
            b = verts[faces[fk[j], 1]] - centre
            c = verts[faces[fk[j], 2]] - centre
            x = b[1] * c[2] - b[2] * c[1]
            y = b[2] * c[0] - b[0] * c[2]
            z = b[0] * c[1] - b[1] * c[0]
            cone[j] = (a[0] * x + a[2] * z) + a[1] * y  # np.einsum("ij,ij->i")'s order
            fa[j] = area_f[fk[j]]
        volume[i] = abs(numpy_sum(cone)) / 6e9
        area[i] = numpy_sum(fa)
    return base, tip, length, volume, area


@njit(cache=True)
def _surface_samples(tri: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Points spread over triangles ``tri`` (k, 3, 3) in proportion to their area, from
    uniform ``draws`` (3 n): what ``numpy.random.Generator.choice(k, n, p=area)`` and two
    ``Generator.random(n)`` give from the same stream; the corners (3 k, 3) when the
    total area is 0."""
    k = tri.shape[0]
    area = np.empty(k)
    for f in range(k):
        ux, uy, uz = tri[f, 1, 0] - tri[f, 0, 0], tri[f, 1, 1] - tri[f, 0, 1], tri[f, 1, 2] - tri[f, 0, 2]
        vx, vy, vz = tri[f, 2, 0] - tri[f, 0, 0], tri[f, 2, 1] - tri[f, 0, 1], tri[f, 2, 2] - tri[f, 0, 2]
        cx, cy, cz = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx
        area[f] = 0.5 * np.sqrt(cx * cx + cy * cy + cz * cz)
    total = numpy_sum(area)
    if total <= 0:
        return tri.reshape(-1, 3).copy()
    cdf = np.cumsum(area / total)
    cdf /= cdf[-1]
    n = draws.shape[0] // 3
    pick = np.searchsorted(cdf, draws[:n], side="right")
    pts = np.empty((n, 3))
    for i in range(n):
        u, v = draws[n + i], draws[2 * n + i]
        if u + v > 1:
            u, v = 1 - u, 1 - v
        t = tri[pick[i]]
        for d in range(3):
            pts[i, d] = t[0, d] + u * (t[1, d] - t[0, d]) + v * (t[2, d] - t[0, d])
    return pts


@njit(cache=True)
def _slice_widths(pts: np.ndarray, which: np.ndarray, n_slices: int, axis: np.ndarray,
                  min_points: int = 8) -> np.ndarray:
    """Twice the median distance (nm) of each slice's points from the slice centroid, across
    ``axis``; NaN for slices with fewer than ``min_points`` points. The points are taken
    grouped by slice and projected in one product, as the plain numpy code does (BLAS
    rounds a row the same way only in the same place of the same matrix)."""
    order = np.argsort(which, kind="mergesort")
    count = np.bincount(which, minlength=n_slices)
    start = np.zeros(n_slices, np.int64)
    for s in range(1, n_slices):
        start[s] = start[s - 1] + count[s - 1]
    mean = np.zeros((n_slices, 3))
    for s in range(n_slices):
        if count[s] >= min_points:
            mean[s] = _mean_rows(pts, order[start[s]:start[s] + count[s]])
    rel = np.empty((order.shape[0], 3))
    for i in range(order.shape[0]):
        rel[i] = pts[order[i]] - mean[which[order[i]]]
    along = np.dot(rel, axis)  # BLAS, as numpy's matmul
    dist = np.empty(order.shape[0])
    for i in range(order.shape[0]):
        x = rel[i, 0] - along[i] * axis[0]
        y = rel[i, 1] - along[i] * axis[1]
        z = rel[i, 2] - along[i] * axis[2]
        dist[i] = np.sqrt(x * x + y * y + z * z)
    widths = np.full(n_slices, np.nan)
    for s in range(n_slices):
        if count[s] >= min_points:
            d = np.sort(dist[start[s]:start[s] + count[s]])
            widths[s] = 2 * ((d[(count[s] - 1) // 2] + d[count[s] // 2]) / 2)
    return widths


@njit(cache=True)
def spine_widths(verts: np.ndarray, faces: np.ndarray, f_ptr: np.ndarray, f_ids: np.ndarray, cands: np.ndarray,
                 base: np.ndarray, tip: np.ndarray, draws: np.ndarray, n_slices: int) -> tuple[np.ndarray, np.ndarray]:
    """Head and neck width (nm) of every spine (see
    :func:`neurograph.spines.geometry.head_and_neck_width`): its faces
    ``f_ids[f_ptr[k]:f_ptr[k + 1]]`` for ``k`` in ``cands``, base and tip points (nm) and
    the uniform draws of its surface sampling (one row per spine, 3 x the sample size)."""
    n = cands.shape[0]
    head = np.full(n, np.nan)
    neck = np.full(n, np.nan)
    for i in range(n):
        k = cands[i]
        fk = f_ids[f_ptr[k]:f_ptr[k + 1]]
        axis = tip[i] - base[i]
        length = np.sqrt(np.dot(axis, axis))  # np.linalg.norm's order
        if length <= 0 or fk.shape[0] == 0:
            continue
        axis = axis / length
        tri = np.empty((fk.shape[0], 3, 3))
        for j in range(fk.shape[0]):
            for c in range(3):
                tri[j, c] = verts[faces[fk[j], c]]
        pts = _surface_samples(tri, draws[i])
        t = np.dot(pts - base[i], axis)
        lo, hi = t.min(), t.max()
        step = (hi - lo) / n_slices  # edges = np.linspace(lo, hi, n_slices + 1), as numpy computes them
        edges = np.empty(n_slices + 1)
        for s in range(n_slices):
            edges[s] = (s * step if step != 0 else (s / n_slices) * (hi - lo)) + lo
        edges[n_slices] = hi
        which = np.minimum(np.maximum(np.searchsorted(edges, t, side="right") - 1, 0), n_slices - 1)
        widths = _slice_widths(pts, which, n_slices, axis)
        best = -1
        for s in range(n_slices):
            mid = 0.5 * (edges[s] + edges[s + 1])
            if np.isfinite(widths[s]) and mid >= lo + 0.3 * (hi - lo) and (best < 0 or widths[s] > widths[best]):
                best = s
        if best < 0:
            continue
        head[i] = widths[best]
        low = np.inf
        for s in range(best + 1):
            if np.isfinite(widths[s]) and widths[s] < low:
                low = widths[s]
        neck[i] = low
    return head, neck


@njit(cache=True)
def root_at_cut_ends(parent: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Re-root every tree holding a cut end at the first of its cut ends in ``ends`` (the caller
    orders them widest first), and mark the paths from all cut ends to their roots.

    Parameters
    ----------
    parent : (n,) int ndarray
        Parent of every node, -1 for roots (not modified).
    ends : (k,) int ndarray
        Cut-end nodes, in order of preference.

    Returns
    -------
    parent : (n,) int ndarray
        The re-rooted parent array.
    keep : (n,) bool ndarray
        Nodes on a path from a cut end to its tree's root (shaft, never twigs).
    """
    n = parent.shape[0]
    out = parent.copy()
    rooted = np.zeros(n, np.bool_)
    for i in range(ends.shape[0]):
        if ends[i] < 0 or ends[i] >= n:
            raise ValueError("a cut end is not a node of the parent array")
    for i in range(ends.shape[0]):
        if not rooted[root_of(out, ends[i])]:
            reverse_to_root(out, ends[i])
            rooted[ends[i]] = True
    keep = np.zeros(n, np.bool_)
    for i in range(ends.shape[0]):
        v = ends[i]
        while v >= 0 and not keep[v]:
            keep[v] = True
            v = out[v]
    return out, keep
