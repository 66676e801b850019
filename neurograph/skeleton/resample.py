"""Reconstruction-style-free forms of a skeleton: twig pruning and fixed-spacing resampling.

Skeletons of the same cell type differ between datasets in ways that say nothing about the
cell: automatic segmentation adds many sub-micrometre to few-micrometre terminal twigs,
node spacing differs several-fold. :func:`prune_twigs` removes the side arms shorter than
a length (judged at every branch point against the longest arm, which always stays: the
same result as pruning the shortest twig again and again); :func:`resample` puts nodes at
a fixed spacing along every unbranched stretch, keeping branch points, tips, roots and
somata where they are. :func:`root_at_soma_end` roots a soma-less tree where its soma most
likely was. :func:`canonical_skeleton` does all three.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import InputError
from .skeleton import Skeleton
from .tree import reroot_at, root_labels


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
    if not (np.isfinite(min_length) and min_length >= 0):
        raise InputError(f"min_length must be a non-negative number of nm, got {min_length!r}")
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
    if not (np.isfinite(spacing) and spacing > 0):
        raise InputError(f"spacing must be a positive number of nm, got {spacing!r}")
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


def canonical_skeleton(skeleton: Skeleton, twig_length: float, spacing: float) -> Skeleton:
    """Root soma-less trees at their most likely soma end (:func:`root_at_soma_end`), prune
    side arms shorter than ``twig_length``, then resample at ``spacing`` (both nm).

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
    return resample(prune_twigs(rooted, twig_length), spacing)
