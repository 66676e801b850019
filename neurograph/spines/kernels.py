"""Numba kernels for spine detection: subtree heights, region growing, spine extent, cut ends
(the shaft fit's kernels: :mod:`neurograph.spines.shaft_kernels`; widths: :mod:`neurograph.spines.sections`)."""

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
