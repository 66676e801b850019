"""Numba kernels for skeletonization: clustering level sets and measuring radii."""

from __future__ import annotations

import numpy as np
from numba import njit

from ..unionfind import find, union


@njit(cache=True)
def cluster_level_sets(edges: np.ndarray, bins: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """Label connected pieces of each level set.

    Vertices ``i`` and ``j`` joined by an edge fall in the same cluster when
    ``bins[i] == bins[j]`` and neither is ``fixed`` (fixed vertices, e.g. soma ones,
    keep a cluster of their own given by ``bins``).

    Parameters
    ----------
    edges : (e, 2) int ndarray
        Vertex pairs.
    bins : (n,) int ndarray
        Level-set index of each vertex.
    fixed : (n,) bool ndarray
        Vertices never joined through an edge.

    Returns
    -------
    (n,) int64 ndarray
        Cluster label per vertex: the smallest vertex index in its cluster.
    """
    n = bins.shape[0]
    parent = np.arange(n)
    for k in range(edges.shape[0]):
        a, b = edges[k, 0], edges[k, 1]
        if bins[a] != bins[b] or fixed[a] or fixed[b]:
            continue
        union(parent, a, b)
    labels = np.empty(n, dtype=np.int64)
    for i in range(n):
        labels[i] = find(parent, i)
    return labels


@njit(cache=True)
def distance_to_segments(points: np.ndarray, node_of_point: np.ndarray, nodes: np.ndarray,
                         parent: np.ndarray) -> np.ndarray:
    """Distance from each point to the skeleton edge between its node and that node's parent.

    Points of root nodes (no parent) are measured to the node itself.

    Parameters
    ----------
    points : (p, 3) float ndarray
        Points (nm).
    node_of_point : (p,) int ndarray
        Skeleton node of each point.
    nodes : (n, 3) float ndarray
        Node positions (nm).
    parent : (n,) int ndarray
        Parent of each node, negative for roots.

    Returns
    -------
    (p,) float ndarray
        Distances in the units of ``points`` (nm).
    """
    out = np.empty(points.shape[0])
    for i in range(points.shape[0]):
        a = node_of_point[i]
        pa = parent[a]
        px, py, pz = points[i, 0], points[i, 1], points[i, 2]
        ax, ay, az = nodes[a, 0], nodes[a, 1], nodes[a, 2]
        if pa < 0:
            out[i] = np.sqrt((px - ax) ** 2 + (py - ay) ** 2 + (pz - az) ** 2)
            continue
        bx, by, bz = nodes[pa, 0], nodes[pa, 1], nodes[pa, 2]
        dx, dy, dz = bx - ax, by - ay, bz - az
        length2 = dx * dx + dy * dy + dz * dz
        t = 0.0
        if length2 > 0:
            t = ((px - ax) * dx + (py - ay) * dy + (pz - az) * dz) / length2
            t = min(1.0, max(0.0, t))
        cx, cy, cz = ax + t * dx, ay + t * dy, az + t * dz
        out[i] = np.sqrt((px - cx) ** 2 + (py - cy) ** 2 + (pz - cz) ** 2)
    return out


@njit(cache=True)
def face_owner(faces: np.ndarray, vertex_label: np.ndarray) -> np.ndarray:
    """Give each face the label most of its vertices carry (the first vertex's on a tie).

    Parameters
    ----------
    faces : (f, 3) int ndarray
        Vertex indices of each triangle.
    vertex_label : (n,) int ndarray
        Label per vertex.

    Returns
    -------
    (f,) int64 ndarray
        Label per face.
    """
    out = np.empty(faces.shape[0], dtype=np.int64)
    for f in range(faces.shape[0]):
        a, b, c = vertex_label[faces[f, 0]], vertex_label[faces[f, 1]], vertex_label[faces[f, 2]]
        out[f] = b if (b == c and a != b) else a
    return out


@njit(cache=True)
def group_median(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of ``values`` per group id in ``[0, n_groups)``; NaN for empty groups.

    Parameters
    ----------
    values : (m,) float ndarray
        Values to summarise.
    groups : (m,) int ndarray
        Group id of each value, in ``[0, n_groups)``.
    n_groups : int
        Number of groups.

    Returns
    -------
    (n_groups,) float ndarray
        Median per group (mean of the two middle values for an even count).
    """
    start = np.zeros(n_groups + 1, np.int64)  # values gathered by group: a counting sort
    for i in range(groups.shape[0]):
        start[groups[i] + 1] += 1
    for g in range(n_groups):
        start[g + 1] += start[g]
    gathered = np.empty(start[n_groups])
    fill = start[:n_groups].copy()
    for i in range(groups.shape[0]):
        gathered[fill[groups[i]]] = values[i]
        fill[groups[i]] += 1
    out = np.full(n_groups, np.nan)
    for g in range(n_groups):
        m = start[g + 1] - start[g]
        if m == 0:
            continue
        vals = np.sort(gathered[start[g]:start[g + 1]])
        out[g] = vals[m // 2] if m % 2 == 1 else 0.5 * (vals[m // 2 - 1] + vals[m // 2])
    return out


@njit(cache=True)
def _along(a: int, b: int, k: int, before: int, q: int) -> int:
    """Point ``q`` (0 .. k + 1) along a mesh edge from end ``a`` to end ``b`` with ``k`` Steiner
    points numbered ``before + 1 .. before + k``."""
    return a if q == 0 else (b if q == k + 1 else before + q)


@njit(cache=True)
def _edge_point(edges: np.ndarray, start: np.ndarray, k: np.ndarray, n_v: int, o: int, q: int) -> int:
    """Point ``q`` (0 .. k[o] + 1) along edge ``o``, from its first end to its second."""
    return _along(edges[o, 0], edges[o, 1], k[o], n_v + start[o] - 1, q)


@njit(cache=True)
def _steiner_counts(vertices: np.ndarray, edges: np.ndarray, max_edge: float) -> tuple[np.ndarray, np.ndarray]:
    """Steiner points per edge (``k``) and where each edge's run starts among them."""
    n_e = edges.shape[0]
    k = np.zeros(n_e, np.int64)
    for e in range(n_e):
        a, b = edges[e, 0], edges[e, 1]
        dx = vertices[a, 0] - vertices[b, 0]
        dy = vertices[a, 1] - vertices[b, 1]
        dz = vertices[a, 2] - vertices[b, 2]
        k[e] = max(0, int(np.ceil(np.sqrt(dx * dx + dy * dy + dz * dz) / max_edge)) - 1)
    start = np.zeros(n_e + 1, np.int64)
    for e in range(n_e):
        start[e + 1] = start[e] + k[e]
    return k, start


@njit(cache=True)
def face_band_pairs(vertices: np.ndarray, edges: np.ndarray, face_edges: np.ndarray, max_edge: float,
                    bins: np.ndarray) -> np.ndarray:
    """Pairs of points on the border of one face that lie in the same level set.

    Within one (flat) triangle a geodesic distance field is close to linear, so the points
    of its border that fall in one distance band belong to one connected strip across the
    face. Chords of :func:`steiner_graph` join only nearby points, and on long thin
    triangles crossed obliquely by a band they can miss it: the band's ring then breaks
    into pieces, which become side-by-side nodes (zig-zag and one-node stubs). These pairs
    join each such point to the first point of its band on the same face.

    Parameters
    ----------
    vertices, edges, face_edges, max_edge
        As given to :func:`steiner_graph` (the point numbering is the same).
    bins : (n + p,) int ndarray
        Level-set index of every point.

    Returns
    -------
    (q, 2) int64 ndarray
        Point pairs (for clustering only; not surface edges).
    """
    n_v = vertices.shape[0]
    k, start = _steiner_counts(vertices, edges, max_edge)
    n_f = face_edges.shape[0]
    total = 0
    longest = 0
    for f in range(n_f):
        m = 0
        for j in range(3):
            m += k[face_edges[f, j]] + 2
        total += m
        longest = max(longest, m)
    out = np.empty((total, 2), np.int64)
    seen_bin = np.empty(longest, np.int64)
    seen_pt = np.empty(longest, np.int64)
    c = 0
    for f in range(n_f):
        n_seen = 0
        for j in range(3):
            e = face_edges[f, j]
            for q in range(k[e] + 2):
                p = _edge_point(edges, start, k, n_v, e, q)
                b = bins[p]
                first = -1
                for i in range(n_seen):
                    if seen_bin[i] == b:
                        first = seen_pt[i]
                        break
                if first < 0:
                    seen_bin[n_seen] = b
                    seen_pt[n_seen] = p
                    n_seen += 1
                elif first != p:
                    out[c, 0], out[c, 1] = p, first
                    c += 1
    return out[:c]


@njit(cache=True)
def steiner_graph(vertices: np.ndarray, edges: np.ndarray, face_edges: np.ndarray,
                  max_edge: float, fan: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A surface graph fine enough for wavefronts, without remeshing.

    Every mesh edge longer than ``max_edge`` gets evenly spaced Steiner points (shared by
    the faces on both sides), chained along the edge. Inside each face every point is
    joined by straight chords to the nearest point of each other edge of the face and to
    ``fan`` points on either side of it, so geodesic paths and wavefront rings can cross
    long thin triangles.

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Mesh vertices (nm).
    edges : (e, 2) int64 ndarray
        Unique mesh edges.
    face_edges : (f, 3) int64 ndarray
        Index into ``edges`` of each face's three edges.
    max_edge : float
        Longest allowed spacing (nm) between consecutive points along an edge.
    fan : int, default 1
        Extra chords from each point to this many neighbours on either side of the nearest
        point of each other edge.

    Returns
    -------
    points : (n + p, 3) float
        The mesh vertices followed by the Steiner points.
    graph_edges : (m, 2) int32
        Pairs of point indices (a pair may occur more than once: :func:`undirected_csr`); a
        ValueError for 2**31 points or more.
    """
    n_e = edges.shape[0]
    n_v = vertices.shape[0]
    k, start = _steiner_counts(vertices, edges, max_edge)
    n_p = start[n_e]
    if n_v + n_p >= 2 ** 31 - 1:
        raise ValueError("more Steiner graph points than 32-bit indices hold: decimate the mesh or raise max_edge")
    points = np.empty((n_v + n_p, 3))
    points[:n_v] = vertices
    for e in range(n_e):
        a, b = edges[e, 0], edges[e, 1]
        for i in range(k[e]):
            t = (i + 1.0) / (k[e] + 1.0)
            for c in range(3):  # scalars: no temporary arrays per point
                points[n_v + start[e] + i, c] = (1 - t) * vertices[a, c] + t * vertices[b, c]
    n_chord = 0
    for f in range(face_edges.shape[0]):
        for j in range(3):
            n_chord += 2 * (2 * fan + 1) * (k[face_edges[f, j]] + 2)
    out = np.empty((n_e + n_p + n_chord, 2), np.int32)  # int32: half the memory (see undirected_csr)
    m = 0
    for e in range(n_e):  # chains along the edges
        for q in range(k[e] + 1):
            out[m, 0] = _edge_point(edges, start, k, n_v, e, q)
            out[m, 1] = _edge_point(edges, start, k, n_v, e, q + 1)
            m += 1
    for f in range(face_edges.shape[0]):  # chords across the faces
        for j in range(3):
            e = face_edges[f, j]
            ke = k[e]
            ea, eb = edges[e, 0], edges[e, 1]
            for jj in range(3):
                o = face_edges[f, jj]
                ko = k[o]
                if jj == j or (ko == 0 and ke == 0):
                    continue
                # edge o's start, direction and squared length, once for all the points of e
                o0, o1 = edges[o, 0], edges[o, 1]
                ax, ay, az = vertices[o0, 0], vertices[o0, 1], vertices[o0, 2]
                ox, oy, oz = vertices[o1, 0] - ax, vertices[o1, 1] - ay, vertices[o1, 2] - az
                len2 = ox * ox + oy * oy + oz * oz
                # each edge's numbering read once (reading it per point, in _edge_point, was 2/3 of the time)
                before_e, before_o = n_v + start[e] - 1, n_v + start[o] - 1
                for i in range(ke + 2):
                    p = _along(ea, eb, ke, before_e, i)
                    if p == o0 or p == o1:
                        continue  # points on one mesh edge are already chained along it
                    # nearest of the evenly spaced points on edge o: round the projection
                    t = 0.0
                    if len2 > 0:
                        t = ((points[p, 0] - ax) * ox + (points[p, 1] - ay) * oy + (points[p, 2] - az) * oz) / len2
                    best = int(np.floor(min(1.0, max(0.0, t)) * (ko + 1) + 0.5))
                    for q in range(max(0, best - fan), min(ko + 1, best + fan) + 1):
                        c = _along(o0, o1, ko, before_o, q)
                        if c != ea and c != eb:
                            out[m, 0], out[m, 1] = p, c
                            m += 1
    return points, out[:m]


@njit(cache=True)
def _sort_segment(a: np.ndarray, s: int, stop: int) -> None:
    """Sort ``a[s:stop]`` in place: insertion sort for the short rows of a surface graph, else
    ``np.sort``."""
    if stop - s > 32:
        a[s:stop] = np.sort(a[s:stop])
        return
    for j in range(s + 1, stop):
        v = a[j]
        q = j - 1
        while q >= s and a[q] > v:
            a[q + 1] = a[q]
            q -= 1
        a[q + 1] = v


@njit(cache=True)
def undirected_csr(points: np.ndarray, edges: np.ndarray,
                   extra: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each undirected pair of ``edges`` and ``extra`` once, as an upper-triangle CSR graph
    weighted by length.

    The same pattern as ``scipy.sparse.csr_matrix`` of the pairs ``(min, max)`` followed by
    ``sum_duplicates()`` (self-pairs dropped), in linear time: a counting sort by the low end,
    then each (short) row without its repeats, sorted. Indices are int32 (scipy shrinks int64
    ones to int32 anyway, by a copy): the input's edge list and the sort's buffer take half the
    memory, and on a VM whose page faults are slow touching fresh memory was a third of the
    skeleton stage's time.
    The caller makes sure there are fewer than 2**31 points and edges.

    Parameters
    ----------
    points : (n, 3) float ndarray
        Point coordinates (nm).
    edges : (m, 2) int ndarray
        Point pairs, in any order, with repeats.
    extra : (k, 2) int ndarray
        More pairs (bridges between mesh pieces; may be empty), the same as appended to
        ``edges``, without the copy of millions of pairs that appending takes.

    Returns
    -------
    indptr : (n + 1,) int32 ndarray
    indices : (k,) int32 ndarray
        High end of each unique pair, ascending within each row (the low end).
    pairs : (k, 2) int32 ndarray
        (low, high) end of each pair, in that order.
    length : (k,) float ndarray
        Euclidean length of each pair (nm).
    """
    n = points.shape[0]
    count = np.zeros(n + 1, np.int64)
    for pairs_in in (edges, extra):
        for e in range(pairs_in.shape[0]):
            a, b = pairs_in[e, 0], pairs_in[e, 1]
            if a != b:
                count[min(a, b) + 1] += 1
    for i in range(n):
        count[i + 1] += count[i]
    cols = np.empty(count[n], np.int32)
    fill = count[:n].copy()
    for pairs_in in (edges, extra):  # edges first, then extra: the order of the appended list
        for e in range(pairs_in.shape[0]):
            a, b = pairs_in[e, 0], pairs_in[e, 1]
            if a != b:
                lo = min(a, b)
                cols[fill[lo]] = max(a, b)
                fill[lo] += 1
    indptr = np.zeros(n + 1, np.int32)
    last = np.full(n, -1, np.int32)  # the row that last kept each column: repeats out before the sort
    w = 0
    for i in range(n):
        row = w
        for j in range(count[i], count[i + 1]):
            c = cols[j]
            if last[c] != i:
                last[c] = i
                cols[w] = c
                w += 1
        _sort_segment(cols, row, w)
        indptr[i + 1] = w
    pairs = np.empty((w, 2), np.int32)
    length = np.empty(w)
    for i in range(n):
        for j in range(indptr[i], indptr[i + 1]):
            pairs[j, 0], pairs[j, 1] = i, cols[j]
            dx = points[i, 0] - points[cols[j], 0]
            dy = points[i, 1] - points[cols[j], 1]
            dz = points[i, 2] - points[cols[j], 2]
            length[j] = np.sqrt(dx * dx + dy * dy + dz * dz)
    return indptr, cols[:w].copy(), pairs, length


@njit(cache=True)
def reeb_parents(edges: np.ndarray, node_of: np.ndarray, node_bin: np.ndarray) -> np.ndarray:
    """Parent of each level-set node in the Reeb graph of a wavefront.

    Of the nodes joined to a node through a surface edge and lying in an earlier level set,
    the latest one; of those the one sharing most edges with it; of those the highest index.

    Parameters
    ----------
    edges : (e, 2) int ndarray
        Surface edges (point pairs).
    node_of : (p,) int ndarray
        Node of every point.
    node_bin : (n,) int ndarray
        Level set of every node.

    Returns
    -------
    (n,) int64 ndarray
        Parent node, -1 where no edge leads to an earlier level set.
    """
    n = node_bin.shape[0]
    # the earlier node of every edge between level sets, grouped by the later node (a counting sort)
    count = np.zeros(n + 1, np.int64)
    for e in range(edges.shape[0]):
        a, b = node_of[edges[e, 0]], node_of[edges[e, 1]]
        if node_bin[b] < node_bin[a]:
            count[a + 1] += 1
        elif node_bin[a] < node_bin[b]:
            count[b + 1] += 1
    for i in range(n):
        count[i + 1] += count[i]
    m = count[n]
    earlier = np.empty(m, np.int64)
    fill = count[:n].copy()
    for e in range(edges.shape[0]):
        a, b = node_of[edges[e, 0]], node_of[edges[e, 1]]
        if node_bin[b] < node_bin[a]:
            earlier[fill[a]] = b
            fill[a] += 1
        elif node_bin[a] < node_bin[b]:
            earlier[fill[b]] = a
            fill[b] += 1
    # per later node: how many edges lead to each earlier one (a tally, reset as it is read)
    tally = np.zeros(n, np.int64)
    parent = np.full(n, -1, np.int64)
    for a in range(n):
        s, stop = count[a], count[a + 1]
        for j in range(s, stop):
            tally[earlier[j]] += 1
        best, best_bin, best_count = -1, 0, 0
        for j in range(s, stop):
            b = earlier[j]
            c = tally[b]
            if c == 0:
                continue  # counted already
            tally[b] = 0
            if (best < 0 or node_bin[b] > best_bin
                    or (node_bin[b] == best_bin and (c > best_count or (c == best_count and b > best)))):
                best, best_bin, best_count = b, node_bin[b], c
        parent[a] = best
    return parent


@njit(cache=True)
def group_argmax(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Index of the largest value of each group (the lowest index on ties; NaN counts least).

    Parameters
    ----------
    values : (m,) float ndarray
    groups : (m,) int ndarray
        Group id of each value, in ``[0, n_groups)``.
    n_groups : int

    Returns
    -------
    (n_groups,) int64 ndarray
        Index into ``values``; -1 for an empty group.
    """
    best = np.full(n_groups, -1, np.int64)
    for i in range(values.shape[0]):
        g = groups[i]
        b = best[g]
        if b < 0 or values[i] > values[b] or (np.isnan(values[b]) and not np.isnan(values[i])):
            best[g] = i
    return best


@njit(cache=True)
def _block_sum(a: np.ndarray, lo: int, n: int) -> float:
    """numpy's sum of ``a[lo:lo + n]``, ``n`` <= 128: eight accumulators, then the rest."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - (n % 8):
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True)
def numpy_sum(a: np.ndarray) -> float:
    """``np.sum`` of a contiguous 1-D float64 array, in numpy's summation order (pairwise:
    halves rounded to multiples of 8 down to blocks of 128, :func:`_block_sum`), so that
    results match it bit for bit. Without recursion (Numba cannot cache recursive functions)."""
    n = a.shape[0]
    if n <= 128:
        return _block_sum(a, 0, n)
    depth = 2 * (int(np.log2(n)) + 2)
    task_lo = np.empty(depth, np.int64)
    task_n = np.empty(depth, np.int64)
    task_join = np.empty(depth, np.bool_)
    vals = np.empty(depth)
    top, n_vals = 1, 0
    task_lo[0], task_n[0], task_join[0] = 0, n, False
    while top > 0:  # post-order: left half, right half, then their sum
        top -= 1
        lo, m, join = task_lo[top], task_n[top], task_join[top]
        if join:
            vals[n_vals - 2] = vals[n_vals - 2] + vals[n_vals - 1]
            n_vals -= 1
        elif m <= 128:
            vals[n_vals] = _block_sum(a, lo, m)
            n_vals += 1
        else:
            half = m // 2
            half -= half % 8
            task_lo[top], task_n[top], task_join[top] = lo, m, True
            task_lo[top + 1], task_n[top + 1], task_join[top + 1] = lo + half, m - half, False
            task_lo[top + 2], task_n[top + 2], task_join[top + 2] = lo, half, False
            top += 3
    return vals[0]
