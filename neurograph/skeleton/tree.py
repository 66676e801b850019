"""Tree primitives: the one place for walking rooted skeleton trees given as parent arrays.

Every tree here is a forest given by ``parent`` ((n,) int, ``-1`` for roots); lengths are in
the units of the coordinates given (nm everywhere in neurograph). The Numba kernels take an
``order`` in which every parent precedes its children (:func:`topological_order`).

- order and shape: :func:`topological_order`, :func:`children_csr`, :func:`children_lists`, :func:`edge_lengths`;
- sums along the tree: :func:`path_lengths` (root -> node), :func:`subtree_sum`
  (node -> leaves), :func:`root_labels`, :func:`mark_subtree`;
- somata: :func:`contributing_lengths`, :func:`path_from_soma`, :func:`clip_at_spheres`;
- edits: :func:`reroot_at`, :func:`fold_nodes` (twig folding: merge nodes into others and
  renumber).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..arrays import group_order
from ..errors import SkeletonError

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .skeleton import Skeleton


def topological_order(parent: np.ndarray) -> np.ndarray:
    """Node ids ordered so that every parent precedes its children.

    Parameters
    ----------
    parent : (n,) int ndarray
        Parent of every node, -1 for roots.

    Returns
    -------
    (n,) int64 ndarray
        Breadth-first order from the roots, a permutation of ``range(n)``.

    Raises
    ------
    SkeletonError
        A parent index of ``n`` or more, or parent links with a cycle.
    """
    parent = np.asarray(parent, np.int64)
    n = len(parent)
    if n and parent.max() >= n:
        bad = int(np.argmax(parent))
        raise SkeletonError(f"node {bad} names parent {parent[bad]}, but the skeleton has {n} nodes: parents must be "
                            "node indices (or -1 for a root)")
    order, reached = _breadth_first(parent)
    if reached != n:  # the kernels that walk this order would read past its end
        lost = np.setdiff1d(np.arange(n), order[:reached])
        raise SkeletonError(f"the skeleton's parent links contain a cycle: {len(lost)} node(s) (first: {lost[0]}) "
                            "never reach a root; every tree needs one node with parent -1")
    return order


@njit(cache=True)
def _breadth_first(parent: np.ndarray) -> tuple[np.ndarray, int]:
    """Breadth-first order from the roots (in increasing id), each node's children in increasing
    id (:func:`children_csr`'s kernel): the order of
    ``scipy.sparse.csgraph.breadth_first_order`` from a virtual node above the roots, without
    building a sparse matrix (a third of a millisecond per call on a few thousand nodes, paid
    dozens of times per neuron). Returns the order and how many nodes it reached (fewer than
    ``n`` when parent links form a cycle; the rest of the order is then undefined)."""
    n = parent.shape[0]
    ptr, kids = _children(parent)
    order = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        if parent[i] < 0:
            order[m] = i
            m += 1
    head = 0
    while head < m:  # each node has one parent, so it is queued at most once
        u = order[head]
        head += 1
        for k in range(ptr[u], ptr[u + 1]):
            order[m] = kids[k]
            m += 1
    return order, m


def children_csr(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Children of every node in compressed form (for Numba kernels).

    Parameters
    ----------
    parent : (n,) int ndarray
        Parent of every node, -1 for roots.

    Returns
    -------
    ptr : (n + 1,) int64 ndarray
        The children of node ``i`` are ``kids[ptr[i]:ptr[i + 1]]``.
    kids : (n - roots,) int64 ndarray
        Child ids grouped by parent, in increasing order within a parent.
    """
    return _children(np.asarray(parent, np.int64))


@njit(cache=True)
def _children(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`children_csr` in a kernel (also called by :func:`_breadth_first`)."""
    has = np.flatnonzero(parent >= 0)
    ptr, order = group_order(parent[has], parent.shape[0])  # stable: children in increasing order
    return ptr, has[order]


def children_lists(parent: np.ndarray) -> list[np.ndarray]:
    """Children of every node (a list of int arrays; :func:`children_csr` split per node).

    Parameters
    ----------
    parent : (n,) int ndarray
        Parent of every node, -1 for roots.

    Returns
    -------
    list of (k,) int ndarray
        ``n`` arrays: the children of node ``i``, in increasing order.
    """
    ptr, kids = children_csr(parent)
    return [kids[ptr[i]:ptr[i + 1]] for i in range(len(parent))]


def edge_lengths(vertices: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Length of the edge from every node to its parent (0 for roots).

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Node coordinates, nm.
    parent : (n,) int ndarray
        Parent of every node, -1 for roots.

    Returns
    -------
    (n,) float ndarray
        Edge lengths, nm.
    """
    out = np.zeros(len(parent))
    has = parent >= 0
    out[has] = np.linalg.norm(vertices[has] - vertices[parent[has]], axis=1)
    return out


@njit(cache=True)
def path_lengths(order: np.ndarray, parent: np.ndarray, edge_length: np.ndarray) -> np.ndarray:
    """Distance along the tree from the root to every node (same units as ``edge_length``)."""
    out = np.zeros(parent.shape[0])
    for k in range(order.shape[0]):
        node = order[k]
        if parent[node] >= 0:
            out[node] = out[parent[node]] + edge_length[node]
    return out


@njit(cache=True)
def subtree_sum(order: np.ndarray, parent: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over every node's subtree (``order``: parents before children)."""
    out = values.copy()
    for k in range(order.shape[0] - 1, -1, -1):
        node = order[k]
        if parent[node] >= 0:
            out[parent[node]] += out[node]
    return out


@njit(cache=True)
def root_labels(order: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """The root node of every node's tree (``order``: parents before children)."""
    out = np.arange(parent.shape[0])
    for k in range(order.shape[0]):
        node = order[k]
        if parent[node] >= 0:
            out[node] = out[parent[node]]
    return out


@njit(cache=True)
def mark_subtree(order: np.ndarray, parent: np.ndarray, top: np.ndarray) -> np.ndarray:
    """True for every node at or below a node with ``top`` True (``order``: parents first)."""
    out = top.copy()
    for k in range(order.shape[0]):
        node = order[k]
        if parent[node] >= 0 and out[parent[node]]:
            out[node] = True
    return out


@njit(cache=True)
def direction_nodes(order: np.ndarray, node_branch: np.ndarray, start_path: np.ndarray,
                    node_path: np.ndarray, span: float, n_ids: int) -> np.ndarray:
    """For each branch, the first node at least ``span`` along it from its start (else its last node).

    ``start_path[b]`` is the path length at the start of branch ``b``.
    """
    best = np.full(n_ids, -1, np.int64)
    best_d = np.full(n_ids, np.inf)
    last = np.full(n_ids, -1, np.int64)
    last_d = np.full(n_ids, -np.inf)
    for k in range(order.shape[0]):
        node = order[k]
        b = node_branch[node]
        d = node_path[node] - start_path[b]
        if d >= span and d < best_d[b]:
            best_d[b] = d
            best[b] = node
        if d > last_d[b]:
            last_d[b] = d
            last[b] = node
    for b in range(n_ids):
        if best[b] < 0:
            best[b] = last[b]
    return best


@njit(cache=True)
def strahler_orders(order: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Strahler order of every node of a forest (``order``: parents before children).

    Leaves are 1; a node whose children's highest order ``k`` occurs more than once is
    ``k + 1``, else ``k``.
    """
    n = parent.shape[0]
    top = np.zeros(n, np.int64)  # highest child order so far
    count = np.zeros(n, np.int64)  # children reaching it
    out = np.ones(n, np.int64)
    for k in range(order.shape[0] - 1, -1, -1):
        node = order[k]
        if top[node] > 0:
            out[node] = top[node] + 1 if count[node] > 1 else top[node]
        p = parent[node]
        if p >= 0:
            if out[node] > top[p]:
                top[p] = out[node]
                count[p] = 1
            elif out[node] == top[p]:
                count[p] += 1
    return out


def clip_at_spheres(start: np.ndarray, end: np.ndarray, centers: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Segment starts moved out of spheres: a segment starting inside one starts where it leaves it.

    Segments run away from the soma (parent -> child), so whatever the node spacing, what lies
    between the returned start and ``end`` is the part outside the spheres (length 0 for a
    segment wholly inside). The spheres are taken one after the other, in the order given.

    Parameters
    ----------
    start, end : (m, 3) float ndarrays
        Segment end points, nm.
    centers : (k, 3) float ndarray
        Sphere (soma) centres, nm.
    radii : (k,) float ndarray
        Sphere radii, nm (a radius <= 0 or NaN clips nothing).

    Returns
    -------
    (m, 3) float ndarray
        The moved starts (a copy; ``start`` is not changed).
    """
    start = np.array(start, dtype=float)
    end = np.asarray(end, dtype=float)
    for centre, radius in zip(np.asarray(centers, float).reshape(-1, 3), np.asarray(radii, float).ravel()):
        if not radius > 0:
            continue
        inside = np.linalg.norm(start - centre, axis=1) < radius
        if not inside.any():
            continue
        k = np.flatnonzero(inside)
        s, d = start[k] - centre, end[k] - start[k]
        a = (d * d).sum(1)
        b = 2.0 * (s * d).sum(1)
        c = (s * s).sum(1) - radius ** 2  # < 0: the start is inside, so one root lies ahead
        t = np.divide(-b + np.sqrt(np.maximum(b * b - 4 * a * c, 0.0)), 2 * a, out=np.ones_like(a), where=a > 0)
        start[k] += d * np.clip(t, 0.0, 1.0)[:, None]
    return start


def contributing_lengths(skeleton: "Skeleton", soma_radius: np.ndarray,
                         soma_center: np.ndarray | None = None) -> np.ndarray:
    """Edge length (nm) each node adds to the cable, soma interior excluded.

    Parameters
    ----------
    skeleton : Skeleton
        Skeleton in nm, with its soma nodes.
    soma_radius : (k,) float ndarray
        Radius of each soma, nm, in the order of ``skeleton.soma_nodes``.
    soma_center : (k, 3) float ndarray, optional
        Soma centres, nm (default: the soma nodes' positions). Every edge is clipped exactly
        at the soma spheres (:func:`clip_at_spheres`): the part of an edge inside a soma is
        not cable, whichever node it starts from and however dense the nodes are.

    Returns
    -------
    (n,) float ndarray
        Length of every node's edge to its parent outside the somata, nm (0 at roots).
    """
    parent = np.asarray(skeleton.parent, np.int64)
    vertices = np.asarray(skeleton.vertices, float)
    if soma_center is None:
        soma_center = vertices[np.asarray(skeleton.soma_nodes, np.int64)]
    seg = np.flatnonzero(parent >= 0)
    start = clip_at_spheres(vertices[parent[seg]], vertices[seg], soma_center, soma_radius)
    length = np.zeros(len(parent))
    length[seg] = np.linalg.norm(vertices[seg] - start, axis=1)
    return length


def path_from_soma(skeleton: "Skeleton", soma_radius, order: np.ndarray | None = None,
                   soma_center: np.ndarray | None = None) -> np.ndarray:
    """Path length (nm) of every skeleton node from its soma's surface (or its tree's root).

    Parameters
    ----------
    skeleton : Skeleton
        Skeleton in nm.
    soma_radius : sequence of float
        Radius of each soma, nm, in the order of ``skeleton.soma_nodes``.
    order : (n,) int ndarray, optional
        An order with parents first (default :func:`topological_order`).
    soma_center : (k, 3) float ndarray, optional
        Soma centres, nm (default: the soma nodes' positions); edges are clipped exactly at
        the soma spheres (see :func:`contributing_lengths`).

    Returns
    -------
    (n,) float ndarray
        nm; 0 at roots and soma nodes.
    """
    order = skeleton.topological_order() if order is None else np.asarray(order, np.int64)
    edge = contributing_lengths(skeleton, np.asarray(soma_radius, float), soma_center)
    return path_lengths(order, skeleton.parent, edge)


def reroot_at(parent: np.ndarray, node: int) -> np.ndarray:
    """The parent array of the same tree re-rooted at ``node``.

    Parameters
    ----------
    parent : (n,) int ndarray
        Parent of every node, -1 for roots (not modified).
    node : int
        The new root; the edges on its path to the old root are reversed.

    Returns
    -------
    (n,) int ndarray
        The new parent array (the dtype of ``parent``).

    Raises
    ------
    IndexError
        ``node`` is not a node of ``parent``.
    ValueError
        The path from ``node`` leaves the array or never reaches a root (a cycle).
    """
    parent = np.asarray(parent)
    node = int(node)
    if not 0 <= node < len(parent):
        raise IndexError(f"node {node} is not in a tree of {len(parent)} nodes")
    out = parent.copy()
    root_of(out, node)  # a cycle or a parent outside the array: ValueError
    reverse_to_root(out, node)
    return out


@njit(cache=True)
def root_of(parent: np.ndarray, node: int) -> int:
    """The root of ``node``'s tree; a ValueError when the path leaves the array or has a cycle
    (checked: Numba does not check indices)."""
    n = parent.shape[0]
    v, steps = node, 0
    while parent[v] >= 0:
        v = parent[v]
        steps += 1
        if v >= n or steps > n:
            raise ValueError("the parent array has a cycle or a parent outside the array: not a forest")
    return v


@njit(cache=True)
def reverse_to_root(parent: np.ndarray, node: int) -> None:
    """Re-root ``node``'s tree at ``node`` in place: walk to the root, reversing each edge on
    the way (one pass, no list). The caller checks the path first (:func:`root_of`): this walk
    trusts it."""
    prev, cur = -1, node
    while cur >= 0:
        nxt = parent[cur]
        parent[cur] = prev
        prev, cur = cur, nxt


def fold_nodes(skeleton: "Skeleton", merged_into: np.ndarray) -> tuple["Skeleton", np.ndarray]:
    """Merge nodes into others (twig folding) and renumber the survivors.

    Parameters
    ----------
    skeleton : Skeleton
        The tree (nm); not modified.
    merged_into : (n,) int ndarray
        For every node, the node it merges into (itself to survive). Chains are followed:
        a node merged into a node that is itself merged ends at the surviving one.

    Returns
    -------
    skeleton : Skeleton
        The surviving nodes, renumbered in their old order; ``vertex_map``, ``soma_nodes``
        and ``node_type`` follow the renumbering.
    new_id : (n,) int ndarray
        New id of every old node (a merged node: the id of the node it merged into).
    """
    target = np.asarray(merged_into, np.int64).copy()
    while True:
        nxt = target[target]
        if np.array_equal(nxt, target):
            break
        target = nxt
    keep = target == np.arange(len(target))
    new_id = np.cumsum(keep) - 1
    new_id = new_id[target]
    kept = np.flatnonzero(keep)
    parent = skeleton.parent
    new_parent = np.where(parent[kept] >= 0, new_id[np.maximum(parent[kept], 0)], -1)
    vmap = None if skeleton.vertex_map is None else new_id[skeleton.vertex_map]
    out = type(skeleton)(skeleton.vertices[kept], new_parent, skeleton.radius[kept], vmap, new_id[skeleton.soma_nodes],
                   skeleton.node_type[kept])
    return out, new_id
