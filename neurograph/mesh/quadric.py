"""Quadric edge-collapse decimation in Numba, bounded by an error schedule.

The algorithm is the one of ``fast-simplification`` (Sven Forstmann's "Fast Quadric Mesh
Simplification", Garland-Heckbert plane quadrics): each vertex carries the quadric of the
planes of its original faces; in sweep ``k`` over the triangles every edge whose quadric error
is below ``thresholds[k]`` collapses to its optimal point, unless that would fold a triangle
(a normal turned by more than ~78° or a sliver) or the triangle was touched earlier in the same
sweep. Every fifth sweep compacts the triangles and rebuilds the vertex-to-triangle lists.

Same order, same tests, and on the same coordinates the same result as
``fast_simplification.simplify``, bit for bit (tested), with three differences and one option:

* the schedule is an explicit array of thresholds (``FS_SCHEDULE`` is fast-simplification's
  ``1e-9 * (k + 3) ** 7`` for 100 sweeps), so a caller can bound the error of a decimation;
* a collapse that was refused (fold or sliver) is not tested again until something about its
  two vertices changes (every collapse stamps the vertices whose fans it changes): late in a
  schedule most of the work was re-testing, sweep after sweep, collapses refused in the sweep
  before;
* the edge errors of a triangle changed by a collapse are computed when a sweep next reaches
  it, once, instead of after every collapse that touches it (the same numbers: they change only
  through a collapse at one of its vertices, which marks it again);
* option ``conditioning`` (default 0, fast-simplification's rule): an edge whose quadric is
  ill-conditioned collapses to the best of its two ends and its midpoint instead of to the
  quadric's minimiser. Where the planes about an edge are all perpendicular to one direction
  (coplanar faces, a crease, a cylinder's side: ``det = 0`` in exact arithmetic) the minimiser is
  set by rounding, often far off along the surface; moving there folds the fan, and the collapse
  is refused and tested again after every collapse nearby. The resolution floor uses it
  (:data:`neurograph.mesh.resolution.CONDITIONING`): a flat subdivision of a mesh then comes back
  to that mesh exactly (tested), and the floor's first pass on the MICrONS mesh subdivided to
  1.3M faces takes 3.1-3.5 s to 83k faces instead of 5.4-5.8 s to 125k (fast-simplification:
  7.8 s). On smooth, finely tessellated surfaces the ends and midpoint are worse places than the
  minimiser (a midpoint lies inside a convex surface): there it leaves more faces at a given
  error, and shrinks a surface decimated to a face count; hence not the default.

On the MICrONS mesh subdivided to 1.3M faces the first of the resolution floor's two passes took
6.4 s with ``conditioning=0`` against fast-simplification's 7.8 s (same faces, same vertices).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import MeshError, check_number
from ..io.meshes import check_face_indices

_NEXT = (1, 2, 0)

FS_SCHEDULE = 1e-9 * (np.arange(100) + 3.0) ** 7
"""fast-simplification's collapse thresholds, sweep by sweep (``1e-9 * (k + 3) ** 7``, squared units
of the coordinates)."""


@njit(cache=True, error_model="numpy")
def _det3(a11, a12, a13, a21, a22, a23, a31, a32, a33):
    return (a11 * a22 * a33 + a13 * a21 * a32 + a12 * a23 * a31
            - a13 * a22 * a31 - a11 * a23 * a32 - a12 * a21 * a33)


@njit(cache=True, error_model="numpy")
def _vertex_error(q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, x, y, z):
    return (q0 * x * x + 2 * q1 * x * y + 2 * q2 * x * z + 2 * q3 * x + q4 * y * y
            + 2 * q5 * y * z + 2 * q6 * y + q7 * z * z + 2 * q8 * z + q9)


@njit(cache=True, error_model="numpy")
def add_plane(Q: np.ndarray, v: int, nx: float, ny: float, nz: float, d: float) -> None:
    """Add the plane ``nx x + ny y + nz z + d = 0`` (unit normal) to vertex ``v``'s quadric
    ``Q[v]``: the upper triangle of the 4 x 4 matrix ``[n; d] [n; d]^T``, row by row (``Q[v, 0]``,
    ``Q[v, 1]``, ``Q[v, 2]``, ``Q[v, 4]``, ``Q[v, 5]``, ``Q[v, 7]`` are the 3 x 3 part ``n n^T``)."""
    Q[v, 0] += nx * nx
    Q[v, 1] += nx * ny
    Q[v, 2] += nx * nz
    Q[v, 3] += nx * d
    Q[v, 4] += ny * ny
    Q[v, 5] += ny * nz
    Q[v, 6] += ny * d
    Q[v, 7] += nz * nz
    Q[v, 8] += nz * d
    Q[v, 9] += d * d


@njit(cache=True, error_model="numpy")
def _edge_error(Q, P, border, a, b, p, conditioning):
    """Quadric error of collapsing edge (a, b); its optimal point is written to ``p``. The point
    that minimises the quadric is used only where its 3 x 3 system is regular enough
    (``|det| > conditioning * trace**3``; ``det != 0`` with ``conditioning=0``); elsewhere the best
    of the two ends and the midpoint. The summed quadric is held in ten scalars (registers, not a
    scratch array: the same sums and products in the same order)."""
    q0, q1, q2, q3, q4 = Q[a, 0] + Q[b, 0], Q[a, 1] + Q[b, 1], Q[a, 2] + Q[b, 2], Q[a, 3] + Q[b, 3], Q[a, 4] + Q[b, 4]
    q5, q6, q7, q8, q9 = Q[a, 5] + Q[b, 5], Q[a, 6] + Q[b, 6], Q[a, 7] + Q[b, 7], Q[a, 8] + Q[b, 8], Q[a, 9] + Q[b, 9]
    det = _det3(q0, q1, q2, q1, q4, q5, q2, q5, q7)
    trace = q0 + q4 + q7
    if det != 0 and not abs(det) <= conditioning * trace * trace * trace and not (border[a] and border[b]):
        x = -1 / det * _det3(q1, q2, q3, q4, q5, q6, q5, q7, q8)
        y = 1 / det * _det3(q0, q2, q3, q1, q5, q6, q2, q7, q8)
        z = -1 / det * _det3(q0, q1, q3, q1, q4, q6, q2, q5, q8)
        p[0], p[1], p[2] = x, y, z
        return _vertex_error(q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, x, y, z)
    mx, my, mz = (P[a, 0] + P[b, 0]) / 2, (P[a, 1] + P[b, 1]) / 2, (P[a, 2] + P[b, 2]) / 2
    e1 = _vertex_error(q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, P[a, 0], P[a, 1], P[a, 2])
    e2 = _vertex_error(q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, P[b, 0], P[b, 1], P[b, 2])
    e3 = _vertex_error(q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, mx, my, mz)
    error = min(e1, min(e2, e3))
    if e1 == error:
        p[0], p[1], p[2] = P[a, 0], P[a, 1], P[a, 2]
    if e2 == error:
        p[0], p[1], p[2] = P[b, 0], P[b, 1], P[b, 2]
    if e3 == error:
        p[0], p[1], p[2] = mx, my, mz
    return error


@njit(cache=True, error_model="numpy")
def _triangle_errors(T, Q, P, border, t, p, terr, conditioning):
    for j in range(3):
        terr[t, j] = _edge_error(Q, P, border, T[t, j], T[t, _NEXT[j]], p, conditioning)
    terr[t, 3] = min(terr[t, 0], min(terr[t, 1], terr[t, 2]))


@njit(cache=True, error_model="numpy")
def _flipped(P, T, TN, tdel, rtid, rtv, start, count, p, i1, deleted):
    """True when moving the fan's centre to ``p`` folds or slivers one of its triangles; marks
    in ``deleted`` the fan's triangles that also hold ``i1`` (they vanish with the edge)."""
    for k in range(count):
        t = rtid[start + k]
        if tdel[t]:
            continue
        s = rtv[start + k]
        id1, id2 = T[t, _NEXT[s]], T[t, _NEXT[_NEXT[s]]]
        if id1 == i1 or id2 == i1:
            deleted[k] = 1
            continue
        d1x, d1y, d1z = P[id1, 0] - p[0], P[id1, 1] - p[1], P[id1, 2] - p[2]
        n1 = np.sqrt(d1x * d1x + d1y * d1y + d1z * d1z)
        d1x, d1y, d1z = d1x / n1, d1y / n1, d1z / n1
        d2x, d2y, d2z = P[id2, 0] - p[0], P[id2, 1] - p[1], P[id2, 2] - p[2]
        n2 = np.sqrt(d2x * d2x + d2y * d2y + d2z * d2z)
        d2x, d2y, d2z = d2x / n2, d2y / n2, d2z / n2
        if abs(d1x * d2x + d1y * d2y + d1z * d2z) > 0.999:
            return True
        nx, ny, nz = d1y * d2z - d1z * d2y, d1z * d2x - d1x * d2z, d1x * d2y - d1y * d2x
        nn = np.sqrt(nx * nx + ny * ny + nz * nz)
        deleted[k] = 0
        if (nx / nn) * TN[t, 0] + (ny / nn) * TN[t, 1] + (nz / nn) * TN[t, 2] < 0.2:
            return True
    return False


@njit(cache=True, error_model="numpy")
def _build_refs(T, m, n, tstart, tcount, rtid, rtv):
    tcount[:n] = 0
    for t in range(m):
        for j in range(3):
            tcount[T[t, j]] += 1
    total = 0
    for v in range(n):
        tstart[v] = total
        total += tcount[v]
        tcount[v] = 0
    for t in range(m):
        for j in range(3):
            v = T[t, j]
            rtid[tstart[v] + tcount[v]] = t
            rtv[tstart[v] + tcount[v]] = j
            tcount[v] += 1
    return total


@njit(cache=True, error_model="numpy")
def _find_borders(T, n, tstart, tcount, rtid, border):
    """A vertex is on a border when it occurs in only one triangle of some neighbour's fan."""
    ids = np.empty(64, np.int64)
    counts = np.empty(64, np.int64)
    for v in range(n):
        used = 0
        for k in range(tcount[v]):
            t = rtid[tstart[v] + k]
            for j in range(3):
                w = T[t, j]
                o = 0
                while o < used and ids[o] != w:
                    o += 1
                if o == used:
                    if used == len(ids):
                        ids = np.concatenate((ids, np.empty(len(ids), np.int64)))
                        counts = np.concatenate((counts, np.empty(len(counts), np.int64)))
                    ids[used] = w
                    counts[used] = 1
                    used += 1
                else:
                    counts[o] += 1
        for o in range(used):
            if counts[o] == 1:
                border[ids[o]] = True


@njit(cache=True, error_model="numpy")
def _update_fan(i0, v, T, tdel, tdirty, stale, blocked, rtid, rtv, tstart, tcount, deleted, rlen,
                stamp, vstamp):
    """Re-point the surviving triangles of ``v``'s fan to ``i0``, delete the ones that held the
    collapsed edge, and append the survivors to the reference list; their edge errors are
    marked stale (computed when a sweep next reaches them: the same values, since only a
    collapse at one of their vertices changes them, and that marks them again). Returns
    (refs length, triangles deleted)."""
    removed = 0
    for k in range(tcount[v]):
        t = rtid[tstart[v] + k]
        if tdel[t]:
            continue
        if deleted[k]:
            tdel[t] = True
            removed += 1
            for j in range(3):
                vstamp[T[t, j]] = stamp
            continue
        tv = rtv[tstart[v] + k]
        T[t, tv] = i0
        tdirty[t] = True
        stale[t] = True
        for j in range(3):
            vstamp[T[t, j]] = stamp
            blocked[t, j] = -1
        rtid[rlen] = t
        rtv[rlen] = tv
        rlen += 1
    return rlen, removed


@njit(cache=True, error_model="numpy")
def _simplify(vertices, faces, thresholds, target_count, remember_refusals, conditioning):
    n, m = len(vertices), len(faces)
    P = vertices.copy()
    T = faces.astype(np.int32)
    Q = np.zeros((n, 10))
    TN = np.empty((m, 3))
    terr = np.empty((m, 4))
    tdel = np.zeros(m, np.bool_)
    tdirty = np.zeros(m, np.bool_)
    stale = np.zeros(m, np.bool_)
    blocked = np.full((m, 3), -1, np.int32)
    border = np.zeros(n, np.bool_)
    vstamp = np.zeros(n, np.int32)
    tstart = np.zeros(n, np.int64)
    tcount = np.zeros(n, np.int64)
    rtid = np.empty(4 * m + 64, np.int32)
    rtv = np.empty(4 * m + 64, np.int8)
    del0 = np.zeros(64, np.int64)
    del1 = np.zeros(64, np.int64)
    p = np.empty(3)
    alive = m
    stamp = 0
    rlen = 0
    for it in range(len(thresholds)):
        if alive <= target_count:
            break
        if it % 5 == 0:
            if it > 0:  # compact the triangles, keeping their order
                dst = 0
                for t in range(m):
                    if tdel[t]:
                        continue
                    if dst != t:
                        for j in range(3):
                            T[dst, j] = T[t, j]
                            TN[dst, j] = TN[t, j]
                            blocked[dst, j] = blocked[t, j]
                        for j in range(4):
                            terr[dst, j] = terr[t, j]
                        stale[dst] = stale[t]
                    dst += 1
                m = dst
                tdel[:m] = False
            else:  # plane quadrics, face normals and edge errors of the input
                for t in range(m):
                    a, b, c = T[t, 0], T[t, 1], T[t, 2]
                    ux, uy, uz = P[b, 0] - P[a, 0], P[b, 1] - P[a, 1], P[b, 2] - P[a, 2]
                    wx, wy, wz = P[c, 0] - P[a, 0], P[c, 1] - P[a, 1], P[c, 2] - P[a, 2]
                    nx, ny, nz = uy * wz - uz * wy, uz * wx - ux * wz, ux * wy - uy * wx
                    nn = np.sqrt(nx * nx + ny * ny + nz * nz)
                    nx, ny, nz = nx / nn, ny / nn, nz / nn
                    TN[t, 0], TN[t, 1], TN[t, 2] = nx, ny, nz
                    d = -(nx * P[a, 0] + ny * P[a, 1] + nz * P[a, 2])
                    for j in range(3):
                        add_plane(Q, T[t, j], nx, ny, nz, d)
                for t in range(m):
                    _triangle_errors(T, Q, P, border, t, p, terr, conditioning)
            rlen = _build_refs(T, m, n, tstart, tcount, rtid, rtv)
            if it == 0:
                _find_borders(T, n, tstart, tcount, rtid, border)
        tdirty[:m] = False
        threshold = thresholds[it]
        for t in range(m):
            if stale[t] and not tdel[t]:
                _triangle_errors(T, Q, P, border, t, p, terr, conditioning)
                stale[t] = False
            if terr[t, 3] > threshold or tdel[t] or tdirty[t]:
                continue
            for j in range(3):
                if not terr[t, j] < threshold:
                    continue
                i0, i1 = T[t, j], T[t, _NEXT[j]]
                if border[i0] != border[i1]:
                    continue
                if remember_refusals and blocked[t, j] >= max(vstamp[i0], vstamp[i1]):
                    continue  # refused before, and nothing about either vertex changed since
                _edge_error(Q, P, border, i0, i1, p, conditioning)
                if tcount[i0] > len(del0):
                    del0 = np.zeros(2 * tcount[i0], np.int64)
                if tcount[i1] > len(del1):
                    del1 = np.zeros(2 * tcount[i1], np.int64)
                if (_flipped(P, T, TN, tdel, rtid, rtv, tstart[i0], tcount[i0], p, i1, del0)
                        or _flipped(P, T, TN, tdel, rtid, rtv, tstart[i1], tcount[i1], p, i0, del1)):
                    blocked[t, j] = stamp
                    continue
                if rlen + tcount[i0] + tcount[i1] > len(rtid):
                    grown = max(2 * len(rtid), rlen + tcount[i0] + tcount[i1])
                    rtid = np.concatenate((rtid, np.empty(grown - len(rtid), np.int32)))
                    rtv = np.concatenate((rtv, np.empty(grown - len(rtv), np.int8)))
                stamp += 1
                P[i0, 0], P[i0, 1], P[i0, 2] = p[0], p[1], p[2]
                for k in range(10):
                    Q[i0, k] += Q[i1, k]
                first = rlen
                rlen, gone0 = _update_fan(i0, i0, T, tdel, tdirty, stale, blocked, rtid, rtv, tstart, tcount,
                                          del0, rlen, stamp, vstamp)
                rlen, gone1 = _update_fan(i0, i1, T, tdel, tdirty, stale, blocked, rtid, rtv, tstart, tcount,
                                          del1, rlen, stamp, vstamp)
                alive -= gone0 + gone1
                count = rlen - first
                if count <= tcount[i0]:  # fits where the old list was
                    rtid[tstart[i0]:tstart[i0] + count] = rtid[first:rlen]
                    rtv[tstart[i0]:tstart[i0] + count] = rtv[first:rlen]
                    rlen = first
                else:
                    tstart[i0] = first
                tcount[i0] = count
                break
            if alive <= target_count:
                break
    # the surviving triangles and the vertices they use, in their order
    keep_t = np.flatnonzero(~tdel[:m])
    used = np.zeros(n, np.bool_)
    for t in keep_t:
        for j in range(3):
            used[T[t, j]] = True
    new_index = np.cumsum(used) - 1
    out_f = np.empty((len(keep_t), 3), np.int64)
    for i in range(len(keep_t)):
        for j in range(3):
            out_f[i, j] = new_index[T[keep_t[i], j]]
    return P[used], out_f, np.flatnonzero(used)


def check_triangles(vertices: np.ndarray, faces: np.ndarray) -> None:
    """Refuse arrays that the Numba kernels would read out of bounds (they do not check indices:
    a face index past the vertices is a crash or garbage, not an error).

    Parameters
    ----------
    vertices : (n, 3) ndarray
    faces : (m, 3) int ndarray

    Raises
    ------
    MeshError
        Not shaped (n, 3) and (m, 3), or a face index outside ``[0, n)``.
    """
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise MeshError(f"vertices must be an (n, 3) array, got shape {vertices.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise MeshError(f"faces must be an (m, 3) array of triangles, got shape {faces.shape}")
    check_face_indices(faces, len(vertices))


def simplify(vertices: np.ndarray, faces: np.ndarray, thresholds: np.ndarray,
             target_count: int = 0, remember_refusals: bool = True,
             conditioning: float = 0.0, return_index: bool = False) -> tuple[np.ndarray, ...]:
    """Collapse edges by quadric error, sweep ``k`` taking every edge below ``thresholds[k]``.

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Vertex coordinates (nm; any unit, as long as ``thresholds`` is in its square).
    faces : (m, 3) int ndarray
        Triangles.
    thresholds : (k,) float ndarray
        Quadric error allowed in each sweep (squared units of ``vertices``), usually rising; the
        number of sweeps is its length.
    target_count : int, default 0
        Stop once no more than this many triangles are left.
    remember_refusals : bool, default True
        Do not re-test a refused collapse until one of its vertices changes (same result,
        faster); False re-tests it every sweep, as ``fast-simplification`` does.
    conditioning : float, default 0
        Smallest ``|det A| / trace(A)**3`` of an edge's quadric (``A``: the 3 x 3 sum of ``n n^T``
        over the unit normals of the planes merged into its two vertices) at which it collapses
        to the quadric's minimiser; below it, to the best of its two ends and its midpoint. The
        ratio is the product of the eigenvalues of ``A / trace``, which sum to 1: at most 1/27
        (normals spread evenly in all directions), ~1e-3 where they spread by ~15 degrees about
        the mean normal, 0 (up to rounding) where they are all perpendicular to one direction.
        0 is fast-simplification's rule (the minimiser whenever ``det != 0``); a value of 1/27
        or more never uses the minimiser. Unitless: the normals are unit vectors.
    return_index : bool, default False
        Also return, for each output vertex, the input vertex it is (moved, and carrying the
        vertices collapsed into it).

    Returns
    -------
    vertices : (n', 3) float64 ndarray
    faces : (m', 3) int64 ndarray
        The simplified mesh (unused vertices dropped, order kept).
    index : (n',) int64 ndarray
        Only with ``return_index``: the input index of each output vertex (increasing).

    Raises
    ------
    MeshError
        A negative or non-finite ``conditioning``, or arrays that are not (n, 3) and (m, 3) with
        face indices in ``[0, n)``.
    """
    conditioning = check_number(conditioning, "conditioning", error=MeshError)
    v = np.ascontiguousarray(vertices, np.float64)
    f = np.ascontiguousarray(faces, np.int64)
    check_triangles(v, f)
    if not len(f):
        out = v.copy(), f.copy(), np.arange(len(v), dtype=np.int64)
    else:
        out = _simplify(v, f, np.ascontiguousarray(thresholds, np.float64), int(target_count),
                        bool(remember_refusals), conditioning)
    return out if return_index else out[:2]


def decimate(vertices: np.ndarray, faces: np.ndarray, target_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadric decimation to about ``target_count`` faces (fast-simplification's default schedule:
    100 sweeps, thresholds ``1e-9 * (k + 3) ** 7`` in the squared units of ``vertices``), with
    fast-simplification's rule for the collapse point (``conditioning=0``: the minimiser keeps a
    smooth surface's volume at a face count).

    Parameters
    ----------
    vertices, faces : (n, 3) float and (m, 3) int ndarrays
        The mesh, in nm.
    target_count : int
        Faces wanted; the result has at most this many unless folds stop it first.

    Returns
    -------
    vertices : (n', 3) float64 ndarray
    faces : (m', 3) int64 ndarray
    """
    return simplify(vertices, faces, FS_SCHEDULE, target_count)
