"""Reconstruction-style-free forms of a skeleton: twig pruning and fixed-spacing resampling.

Skeletons of the same cell type differ between datasets in ways that say nothing about the
cell: automatic segmentation adds many sub-micrometre to few-micrometre terminal twigs,
node spacing differs several-fold. :func:`prune_twigs` removes the side arms shorter than
a length (judged at every branch point against the longest arm, which always stays: the
same result as pruning the shortest twig again and again); :func:`resample` puts nodes at
a fixed spacing along every unbranched stretch, keeping branch points, tips, roots and
somata where they are. :func:`root_at_soma_end` roots a soma-less tree where its soma most
likely was. :func:`straighten_spikes` takes out cable that runs out and folds straight back
onto itself (a node on a misaligned section in serial-section EM, a misplaced click).
:func:`canonical_skeleton` does all four.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import InputError, check_number
from .skeleton import Skeleton
from .tree import children_csr, reroot_at, root_labels

#: :func:`straighten_spikes`: cable is a spike where its two ways from a node stay closer together
#: than this times their path length from it
SPIKE_RATIO = 0.5

#: most nodes :func:`resample` makes (~6 GB of arrays): a smaller spacing is refused, not allocated
MAX_RESAMPLED_NODES = 100_000_000


@njit(cache=True)
def _arm_lengths(order: np.ndarray, parent: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """Longest path (nm) from each node's parent down through the node to a tip of its subtree."""
    n = parent.shape[0]
    height = np.zeros(n)
    for k in range(n - 1, -1, -1):
        v = order[k]
        p = parent[v]
        if p >= 0 and height[v] + edge[v] > height[p]:
            height[p] = height[v] + edge[v]
    arm = np.zeros(n)
    for v in range(n):
        arm[v] = height[v] + edge[v]
    return arm


@njit(cache=True)
def _pruned(order: np.ndarray, parent: np.ndarray, arm: np.ndarray, min_length: float,
            protected: np.ndarray) -> np.ndarray:
    """Nodes removed by pruning: side arms shorter than ``min_length`` and their subtrees."""
    n = parent.shape[0]
    best = np.full(n, -1, np.int64)
    for v in range(n):  # the longest arm of every node (lowest id on ties)
        p = parent[v]
        if p >= 0 and (best[p] < 0 or arm[v] > arm[best[p]]):
            best[p] = v
    removed = np.zeros(n, np.bool_)
    for k in range(n):
        v = order[k]
        p = parent[v]
        if p >= 0:
            removed[v] = removed[p] or (arm[v] < min_length and best[p] != v and not protected[v])
    return removed


def subset(skeleton: Skeleton, keep: np.ndarray) -> Skeleton:
    """The skeleton restricted to the nodes in ``keep``.

    Parameters
    ----------
    skeleton : Skeleton
        Not modified.
    keep : (n,) bool ndarray
        Nodes kept; the parent of every kept node must be kept too (or be -1). The mesh
        vertices of a removed node go to its nearest kept ancestor.

    Returns
    -------
    Skeleton
        Kept nodes in their order, re-indexed.
    """
    n = skeleton.n_nodes
    parent = skeleton.parent
    new_id = np.cumsum(keep) - 1
    idx = np.flatnonzero(keep)
    new_parent = np.where(parent[idx] >= 0, new_id[np.maximum(parent[idx], 0)], -1)
    vmap = None
    if skeleton.vertex_map is not None:
        # nearest kept ancestor of every node, by pointer jumping (log of the depth in passes)
        owner = np.where(keep | (parent < 0), np.arange(n), parent)
        while True:
            nxt = owner[owner]
            if np.array_equal(nxt, owner):
                break
            owner = nxt
        vmap = new_id[owner[skeleton.vertex_map]]
    return Skeleton(skeleton.vertices[idx], new_parent, skeleton.radius[idx], vmap,
                    new_id[skeleton.soma_nodes], skeleton.node_type[idx])


def prune_twigs(skeleton: Skeleton, min_length: float) -> Skeleton:
    """Remove terminal side arms shorter than ``min_length``.

    At every branch point the longest arm (path down to the farthest tip) always stays; any
    other arm whose longest path is below ``min_length`` goes, with its whole subtree. This
    equals pruning the shortest terminal twig again and again until none is shorter than
    ``min_length``, so a skeleton with many added short twigs and the same skeleton without
    them prune to nearly the same tree.

    Parameters
    ----------
    skeleton : Skeleton
        In nm; not modified.
    min_length : float
        nm. Arms leaving a soma node are judged like any other (short stubs on a soma go).

    Returns
    -------
    Skeleton
        Surviving nodes renumbered (order kept); ``vertex_map`` sends the vertices of removed
        nodes to the branch point their arm left from.
    """
    min_length = check_number(min_length, "min_length", "nm")
    order = skeleton.topological_order()
    arm = _arm_lengths(order, skeleton.parent, skeleton.edge_lengths)
    protected = np.zeros(skeleton.n_nodes, bool)
    protected[skeleton.soma_nodes] = True
    removed = _pruned(order, skeleton.parent, arm, float(min_length), protected)
    if not removed.any():
        return skeleton
    return subset(skeleton, ~removed)


@njit(cache=True)
def _resample(vertices, parent, radius, node_type, order, is_key, whole, spacing):
    n = parent.shape[0]
    cum = np.zeros(n)  # path length from the chain's upper key node
    in_whole = np.zeros(n, np.bool_)  # the chain hangs from a node whose chains stay one edge
    for k in range(n):
        v = order[k]
        p = parent[v]
        if p >= 0:
            d = np.sqrt(((vertices[v] - vertices[p]) ** 2).sum())
            cum[v] = d if is_key[p] else cum[p] + d
            in_whole[v] = whole[p] if is_key[p] else in_whole[p]
    n_pieces = np.zeros(n, np.int64)
    total = 0
    for v in range(n):
        if is_key[v]:
            total += 1
            if parent[v] >= 0:
                m = 1 if in_whole[v] else max(1, int(np.ceil(cum[v] / spacing - 1e-9)))
                n_pieces[v] = m
                total += m - 1
    new_id = np.full(n, -1, np.int64)
    nxt = 0
    for v in range(n):
        if is_key[v]:
            new_id[v] = nxt
            nxt += 1
    out_xyz = np.zeros((total, 3))
    out_r = np.zeros(total)
    out_t = np.zeros(total, np.int64)
    out_p = np.full(total, -1, np.int64)
    node_new = new_id.copy()
    for v in range(n):
        if is_key[v]:
            out_xyz[new_id[v]] = vertices[v]
            out_r[new_id[v]] = radius[v]
            out_t[new_id[v]] = node_type[v]
    chain = np.zeros(n, np.int64)
    for v in range(n):
        if not is_key[v] or parent[v] < 0:
            continue
        # chain from the upper key node (anchor) down to v
        c = 0
        u = v
        while True:
            chain[c] = u
            c += 1
            u = parent[u]
            if is_key[u]:
                break
        anchor = u
        length = cum[v]
        m = n_pieces[v]
        prev = new_id[anchor]
        j = 1
        i = c - 1  # chain[i] is the first node below the anchor; walk down towards v
        x0 = vertices[anchor]
        r0 = radius[anchor]
        s0 = 0.0
        for jj in range(1, m):
            t = length * jj / m
            while cum[chain[i]] < t and i > 0:
                x0 = vertices[chain[i]]
                r0 = radius[chain[i]]
                s0 = cum[chain[i]]
                i -= 1
            u = chain[i]
            seg = cum[u] - s0
            f = (t - s0) / seg if seg > 0 else 0.0
            out_xyz[nxt] = x0 + f * (vertices[u] - x0)
            out_r[nxt] = r0 + f * (radius[u] - r0)
            out_t[nxt] = node_type[u]
            out_p[nxt] = prev
            prev = nxt
            nxt += 1
            j += 1
        out_p[new_id[v]] = prev
        first = nxt - (m - 1)  # new id of sample 1
        for q in range(1, c):  # old inner nodes -> nearest sample (0 anchor, m the key node)
            u = chain[q]
            s = int(np.floor(cum[u] / length * m + 0.5)) if length > 0 else 0
            if s <= 0:
                node_new[u] = new_id[anchor]
            elif s >= m:
                node_new[u] = new_id[v]
            else:
                node_new[u] = first + s - 1
    return out_xyz, out_p, out_r, out_t, node_new


def resample(skeleton: Skeleton, spacing: float, keep_soma_edges: bool = False) -> Skeleton:
    """Nodes at a fixed spacing along every unbranched stretch of the skeleton.

    Parameters
    ----------
    skeleton : Skeleton
        In nm; not modified.
    spacing : float
        Largest distance between consecutive nodes along the cable, nm. Each stretch between
        two key nodes (roots, somata, branch points, tips) of path length ``L`` gets
        ``ceil(L / spacing)`` equal pieces, with new nodes placed on the old polyline
        (radius and SWC type interpolated / taken from the cable they fall on).
    keep_soma_edges : bool, default False
        Keep the first node of every neurite leaving a soma, joined to the soma by one edge
        (as an exporter that samples the cable but keeps where neurites leave the soma, e.g.
        the ~2 µm level-2 skeletons of the CAVE skeleton service).

    Returns
    -------
    Skeleton
        Key nodes first (in their old order), then the new nodes; ``vertex_map`` sends every
        mesh vertex to the new node nearest along the cable to its old node.
    """
    spacing = check_number(spacing, "spacing", "nm", positive=True)
    n_new = skeleton.cable_length / spacing
    if n_new > MAX_RESAMPLED_NODES:
        raise InputError(f"resampling {skeleton.cable_length / 1e3:.4g} µm of cable every {spacing:g} nm would make "
                         f"{n_new:.3g} nodes (more than {MAX_RESAMPLED_NODES:.0e}): use a spacing of at least "
                         f"{skeleton.cable_length / MAX_RESAMPLED_NODES:.3g} nm")
    parent = skeleton.parent
    n_children = skeleton.children_count()
    is_key = (parent < 0) | (n_children != 1)
    is_key[skeleton.soma_nodes] = True
    whole = np.zeros(len(parent), np.bool_)
    if keep_soma_edges:
        is_key[np.isin(parent, skeleton.soma_nodes)] = True
        whole[skeleton.soma_nodes] = True
    xyz, new_parent, r, t, node_new = _resample(skeleton.vertices, parent, skeleton.radius,
                                                 skeleton.node_type.astype(np.int64),
                                                 skeleton.topological_order(), is_key, whole, float(spacing))
    vmap = None if skeleton.vertex_map is None else node_new[skeleton.vertex_map]
    return Skeleton(xyz, new_parent, r, vmap, node_new[skeleton.soma_nodes], t.astype(np.int8))


@njit(cache=True)
def _end_stretches(parent: np.ndarray, n_children: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """Length (nm) of the unbranched stretch ending at each end node (a tip, or a root with one
    child), up to the first branch point; -1 for nodes that are not ends."""
    n = parent.shape[0]
    out = np.full(n, -1.0)
    for t in range(n):
        if n_children[t] == 0 and parent[t] >= 0:  # tip: walk up to a branch point or a root
            length, v = 0.0, t
            while parent[v] >= 0:
                length += edge[v]
                v = parent[v]
                if n_children[v] != 1 or parent[v] < 0:
                    break
            out[t] = length
    child = np.full(n, -1)
    for v in range(n):
        if parent[v] >= 0:
            child[parent[v]] = v
    for r in range(n):
        if parent[r] < 0 and n_children[r] == 1:  # a root at the end of a stretch: walk down
            length, v = 0.0, child[r]
            length += edge[v]
            while n_children[v] == 1:
                v = child[v]
                length += edge[v]
            out[r] = length
    return out


def root_at_soma_end(skeleton: Skeleton, twig_length: float = 0.0) -> Skeleton:
    """Root each soma-less tree at the end of its longest unbranched end stretch.

    Without a soma the root of a skeleton is wherever the file or the skeletoniser put it
    (often a tip of the far arbor), and every feature measured from the root moves with it.
    The estimate: a neuron whose soma is missing (outside the volume, cut off, not annotated)
    keeps the neurite that led to it, an unbranched stretch ending where the soma was: the
    cell body fibre of an insect neuron, the primary neurite of a unipolar one. Stretches are
    measured with side arms shorter than ``twig_length`` pruned (:func:`prune_twigs`), so that
    short twigs do not split them; the tree itself is re-rooted unpruned. Measured on the 345
    single-stem FAFB projection neurons with their soma removed and rooted at a tip: the end
    chosen is the soma's for 316 (92 %).

    Parameters
    ----------
    skeleton : Skeleton
        nm; not modified. Trees that hold a soma node keep their root.
    twig_length : float
        nm.

    Returns
    -------
    Skeleton
        The same nodes; only ``parent`` changes (the input itself when no root moves).
    """
    parent = skeleton.parent
    if skeleton.n_nodes < 3:
        return skeleton
    order = skeleton.topological_order()
    tree = root_labels(order, parent)
    soma_trees = np.unique(tree[skeleton.soma_nodes])
    if len(soma_trees) == len(skeleton.roots):
        return skeleton
    kept = ~_pruned(order, parent, _arm_lengths(order, parent, skeleton.edge_lengths), float(twig_length),
                    np.isin(np.arange(skeleton.n_nodes), skeleton.soma_nodes))
    pruned = subset(skeleton, kept) if not kept.all() else skeleton
    raw_id = np.flatnonzero(kept)  # pruned node -> raw node (tips and roots survive pruning as themselves)
    stretch = _end_stretches(pruned.parent, pruned.children_count(), pruned.edge_lengths)
    ends = np.flatnonzero(stretch >= 0)
    new_parent = parent
    for r in skeleton.roots:
        if r in soma_trees:
            continue
        mine = ends[tree[raw_id[ends]] == r]
        if not len(mine):
            continue
        top = mine[np.argmax(stretch[mine])]
        here = int(np.searchsorted(raw_id, r))  # roots survive pruning
        if stretch[here] >= stretch[top] - 1.0:  # the root ends the longest stretch already (ties: 1 nm)
            continue
        new_parent = reroot_at(new_parent, int(raw_id[top]))
    if new_parent is parent:
        return skeleton
    return Skeleton(skeleton.vertices, new_parent, skeleton.radius, skeleton.vertex_map,
                    skeleton.soma_nodes, skeleton.node_type)


@njit(cache=True)
def _step(prev: int, u: int, parent: np.ndarray, child_of: np.ndarray, deg: np.ndarray, is_soma: np.ndarray) -> int:
    """The node after ``u`` going away from ``prev`` along an unbranched stretch; -1 at its end."""
    if deg[u] != 2 or is_soma[u]:
        return -1
    return parent[u] if parent[u] != prev else child_of[u]


@njit(cache=True)
def _fold_depth(v: int, vertices: np.ndarray, parent: np.ndarray, child_of: np.ndarray, deg: np.ndarray,
                is_soma: np.ndarray, ratio: float) -> float:
    """How far (nm of path) the two limbs leaving the unbranched node ``v`` stay closer together
    than ``ratio`` times their path length from it, compared at every node of either limb; 0 when
    they part at once (the node is not the apex of a fold)."""
    # each limb: the segment (p0 -> p1) the walker is on, p1's path length t1
    pa, ua = v, parent[v]
    pb, ub = v, child_of[v]
    a0, b0 = vertices[v], vertices[v]
    ta0, tb0 = 0.0, 0.0
    ta1 = np.sqrt(((vertices[ua] - a0) ** 2).sum())
    tb1 = np.sqrt(((vertices[ub] - b0) ** 2).sum())
    best = 0.0
    while True:
        x = min(ta1, tb1)  # the next node on either limb
        fa = (x - ta0) / (ta1 - ta0) if ta1 > ta0 else 1.0
        fb = (x - tb0) / (tb1 - tb0) if tb1 > tb0 else 1.0
        pa_x = a0 + fa * (vertices[ua] - a0)
        pb_x = b0 + fb * (vertices[ub] - b0)
        if x <= 0 or np.sqrt(((pa_x - pb_x) ** 2).sum()) >= ratio * x:
            return best
        best = x
        if ta1 <= tb1:  # advance limb a past its node
            nxt = _step(pa, ua, parent, child_of, deg, is_soma)
            if nxt < 0:
                return best
            a0, ta0, pa, ua = vertices[ua], ta1, ua, nxt
            ta1 = ta0 + np.sqrt(((vertices[ua] - a0) ** 2).sum())
        else:
            nxt = _step(pb, ub, parent, child_of, deg, is_soma)
            if nxt < 0:
                return best
            b0, tb0, pb, ub = vertices[ub], tb1, ub, nxt
            tb1 = tb0 + np.sqrt(((vertices[ub] - b0) ** 2).sum())


@njit(cache=True)
def _limb_at(v: int, first: int, depth: float, vertices: np.ndarray, parent: np.ndarray, child_of: np.ndarray,
             deg: np.ndarray, is_soma: np.ndarray, nodes: np.ndarray, t: np.ndarray) -> tuple:
    """The nodes of the limb from ``v`` through ``first`` closer than ``depth`` (path) to ``v``
    (written to ``nodes`` with their path lengths in ``t``; count returned) and the point at ``depth``."""
    k, prev, u, tu = 0, v, first, 0.0
    x0 = vertices[v]
    while True:
        t1 = tu + np.sqrt(((vertices[u] - x0) ** 2).sum())
        if t1 >= depth:
            f = (depth - tu) / (t1 - tu) if t1 > tu else 1.0
            return k, x0 + f * (vertices[u] - x0)
        nodes[k], t[k] = u, t1
        k += 1
        nxt = _step(prev, u, parent, child_of, deg, is_soma)
        if nxt < 0:
            return k, vertices[u]
        x0, tu, prev, u = vertices[u], t1, u, nxt


@njit(cache=True)
def _unfold(vertices: np.ndarray, parent: np.ndarray, start: np.ndarray, kids: np.ndarray, is_soma: np.ndarray,
            ratio: float) -> np.ndarray:
    """New node positions with spikes taken out (see :func:`straighten_spikes`); the children of
    node ``v`` are ``kids[start[v]:start[v + 1]]`` (:func:`~neurograph.skeleton.tree.children_csr`)."""
    n = parent.shape[0]
    deg = np.zeros(n, np.int64)
    child_of = np.full(n, -1, np.int64)  # the child of a node with one child
    for v in range(n):
        p = parent[v]
        if p >= 0:
            deg[v] += 1
            deg[p] += 1
            child_of[p] = v
    out = vertices.copy()
    done = np.zeros(n, np.bool_)
    na = np.zeros(n, np.int64)
    nb = np.zeros(n, np.int64)
    ta = np.zeros(n)
    tb = np.zeros(n)
    for v in range(n):
        if deg[v] < 2 or is_soma[v] or done[v]:
            continue
        if deg[v] > 2:  # a displaced branch point: its neighbours crowd together, far from it
            near, spread = np.inf, 0.0
            total = np.zeros(3)
            for i in range(start[v], start[v + 1] + 1):
                a = parent[v] if i == start[v + 1] else kids[i]
                if a < 0:
                    continue
                total += vertices[a]
                near = min(near, np.sqrt(((vertices[a] - vertices[v]) ** 2).sum()))
                for j in range(i + 1, start[v + 1] + 1):
                    b = parent[v] if j == start[v + 1] else kids[j]
                    if b >= 0:
                        spread = max(spread, np.sqrt(((vertices[a] - vertices[b]) ** 2).sum()))
            if near > 0 and spread < ratio * near:
                out[v] = total / deg[v]
                done[v] = True
            continue
        if parent[v] < 0:  # a root with two children: not a way out and back along one neurite
            continue
        depth = _fold_depth(v, vertices, parent, child_of, deg, is_soma, ratio)
        if depth <= 0:
            continue
        # the fold's nodes go, in order, onto the chord between the points where the limbs part
        ka, a_end = _limb_at(v, parent[v], depth, vertices, parent, child_of, deg, is_soma, na, ta)
        kb, b_end = _limb_at(v, child_of[v], depth, vertices, parent, child_of, deg, is_soma, nb, tb)
        out[v] = 0.5 * (a_end + b_end)
        done[v] = True
        for i in range(ka):
            out[na[i]] = a_end + (0.5 - 0.5 * ta[i] / depth) * (b_end - a_end)
            done[na[i]] = True
        for i in range(kb):
            out[nb[i]] = a_end + (0.5 + 0.5 * tb[i] / depth) * (b_end - a_end)
            done[nb[i]] = True
    return out


def straighten_spikes(skeleton: Skeleton, ratio: float = SPIKE_RATIO) -> Skeleton:
    """Take out spikes: cable that runs out and folds straight back onto itself.

    From every unbranched node both ways along the cable are followed at equal path length
    ``t``; where they stay closer together than ``ratio * t`` (for ``ratio`` 0.5: less than ~29°
    apart) the cable has run out and back, a spike with its apex at the node. A neurite cannot
    fold back onto itself, so this is an error of the reconstruction, not of the cell: in
    serial-section EM a misaligned section shifts every node traced on it (in the FAFB projection
    neurons, 929 such nodes in 283 of 346 skeletons, 2-13 µm off, 113 of them by ~12 µm on one
    section), a click can land on a neighbouring neurite. The nodes of the spike, out to where
    the two ways part (a little beyond the spike's base: within 1.33x its depth on a straight
    neurite), are put in order on the chord between the two parting points, so the result does
    not depend on how densely the spike is sampled or where its nodes fall; an unbranched stretch
    only (prune twigs first: a twig on the spike would stop the walk). A branch point whose
    neighbours lie closer to one another than ``ratio`` times its distance to the nearest of them
    moves to their mean. Topology, radii and types do not change; somata, tips and roots with
    one child stay where they are. Real sharp turns stay: a right angle, a U-turn whose limbs
    keep apart.

    Parameters
    ----------
    skeleton : Skeleton
        nm; not modified.
    ratio : float
        Largest separation of the two ways over their path length from the apex (and, at a
        branch point, of its neighbours over its distance to the nearest) (default
        :data:`SPIKE_RATIO`).

    Returns
    -------
    Skeleton
        The input itself when no node moves.
    """
    ratio = check_number(ratio, "ratio", positive=True)
    is_soma = np.zeros(skeleton.n_nodes, np.bool_)
    is_soma[skeleton.soma_nodes] = True
    start, kids = children_csr(skeleton.parent)
    vertices = _unfold(skeleton.vertices, skeleton.parent, start, kids, is_soma, float(ratio))
    if np.array_equal(vertices, skeleton.vertices):
        return skeleton
    return Skeleton(vertices, skeleton.parent, skeleton.radius, skeleton.vertex_map, skeleton.soma_nodes,
                    skeleton.node_type)


def canonical_skeleton(skeleton: Skeleton, twig_length: float, spacing: float) -> Skeleton:
    """Root soma-less trees at their most likely soma end (:func:`root_at_soma_end`), prune
    side arms shorter than ``twig_length``, take out spikes (:func:`straighten_spikes`, after
    pruning so that no twig splits one), then resample at ``spacing`` (both nm).

    Parameters
    ----------
    skeleton : Skeleton
        In nm (healed first if it came in pieces: see :func:`neurograph.heal`).
    twig_length, spacing : float
        nm; see :func:`prune_twigs` and :func:`resample`.

    Returns
    -------
    Skeleton
    """
    rooted = root_at_soma_end(skeleton, twig_length)
    return resample(straighten_spikes(prune_twigs(rooted, twig_length)), spacing)
