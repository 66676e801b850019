"""Decompose a skeleton into soma, limbs and branches: the branch graph."""

from __future__ import annotations

from typing import Sequence

import networkx as nx
import numpy as np

from ..skeleton import Skeleton
from ..skeleton.tree import contributing_lengths, path_from_soma
from .kernels import assign_branches


def branch_nodes(skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """Branch id of every skeleton node (soma nodes get ids ``0..k-1``) and the topological order.

    A branch starts at a root, at a child of a soma node or at a child of a node with two or
    more children.

    Parameters
    ----------
    skeleton : Skeleton
        The skeleton to split into branches.

    Returns
    -------
    node_branch : (n,) int ndarray
        Branch id of every node.
    order : (n,) int ndarray
        Nodes in the order used for labelling: soma nodes first, then parents before children.
    """
    order = skeleton.topological_order()
    parent = skeleton.parent
    n_children = skeleton.children_count()
    is_soma = np.zeros(skeleton.n_nodes, bool)
    is_soma[skeleton.soma_nodes] = True
    has_parent = parent >= 0
    is_start = np.zeros(skeleton.n_nodes, bool)
    is_start[has_parent] = is_soma[parent[has_parent]] | (n_children[parent[has_parent]] >= 2)
    is_start |= is_soma | ~has_parent
    # Soma nodes first so they receive ids 0..k-1.
    order = np.concatenate([skeleton.soma_nodes, order[~is_soma[order]]])
    labels = assign_branches(order, parent, is_start, 0)
    return labels, order


def build_graph(skeleton: Skeleton, node_branch: np.ndarray, n_somas: int) -> nx.DiGraph:
    """The branch graph: soma nodes ``0..n_somas-1`` then branches, edges parent -> child.

    Parameters
    ----------
    skeleton : Skeleton
        The skeleton.
    node_branch : (n,) int ndarray
        Branch id of every node (from :func:`branch_nodes`).
    n_somas : int
        Number of somata (ids ``0..n_somas-1``).

    Returns
    -------
    networkx.DiGraph
        One node per id with attribute ``kind`` (``"soma"`` or ``"branch"``); an edge from
        each branch's parent branch or soma to the branch.
    """
    graph = nx.DiGraph()
    n_ids = int(node_branch.max()) + 1
    starts = np.full(n_ids, -1, np.int64)
    # The start of a branch is its node whose parent lies in another branch (or none).
    parent = skeleton.parent
    par_branch = np.where(parent >= 0, node_branch[np.maximum(parent, 0)], -1)
    is_start = (par_branch != node_branch) | (parent < 0)
    starts[node_branch[is_start]] = np.flatnonzero(is_start)
    for b in range(n_ids):
        graph.add_node(b, kind="soma" if b < n_somas else "branch")
    for b in range(n_somas, n_ids):
        p = par_branch[starts[b]]
        if p >= 0:
            graph.add_edge(int(p), b)
    return graph


def limbs_of(graph: nx.DiGraph, n_somas: int) -> dict[int, int]:
    """Limb index of every branch: the subtrees leaving a soma (or, without a soma, each root
    branch's subtree).

    Parameters
    ----------
    graph : networkx.DiGraph
        Branch graph from :func:`build_graph`.
    n_somas : int
        Number of somata (graph nodes ``0..n_somas-1``).

    Returns
    -------
    dict of int to int
        Branch id -> limb index (limbs of soma 0 first, in order of their root branch).
    """
    limb_roots = [c for s in range(n_somas) for c in sorted(graph.successors(s))]
    limb_roots += [b for b in sorted(graph.nodes) if b >= n_somas and graph.in_degree(b) == 0]
    limb = {}
    for i, root in enumerate(limb_roots):
        limb[root] = i
        for d in nx.descendants(graph, root):
            limb[d] = i
    return limb


def decompose_skeleton(skeleton: Skeleton, soma_radius: Sequence[float],
                       soma_center: np.ndarray | None = None) -> dict:
    """Branch ids per node, the branch graph, limbs and node path distances (nm).

    Parameters
    ----------
    skeleton : Skeleton
        Skeleton in nm.
    soma_radius : sequence of float
        Radius of each soma, nm, in the order of ``skeleton.soma_nodes``.
    soma_center : (k, 3) float ndarray, optional
        Soma centres, nm (default: the soma nodes' positions). Cable is clipped exactly at
        the soma spheres, as the features do (:func:`contributing_lengths`).

    Returns
    -------
    dict
        ``node_branch`` ((n,) int), ``graph`` (:func:`build_graph`), ``limb`` (branch ->
        limb), ``edge_length`` ((n,) float, nm, from :func:`contributing_lengths`) and
        ``node_path`` ((n,) float, path length from the soma surface or root, nm).
    """
    soma_radius = np.asarray(soma_radius, dtype=float)
    node_branch, order = branch_nodes(skeleton)
    graph = build_graph(skeleton, node_branch, len(skeleton.soma_nodes))
    if soma_center is not None:
        soma_center = np.asarray(soma_center, dtype=float).reshape(-1, 3)
    contrib = contributing_lengths(skeleton, soma_radius, soma_center=soma_center)
    node_path = path_from_soma(skeleton, soma_radius, order, soma_center=soma_center)
    return {"node_branch": node_branch, "graph": graph, "limb": limbs_of(graph, len(skeleton.soma_nodes)),
            "edge_length": contrib, "node_path": node_path}
