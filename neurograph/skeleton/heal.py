"""Healing fragmented skeletons: join the pieces of a forest into trees, shortest gaps first.

Automatic segmentation breaks thin neurites, so a skeleton from a connectome often comes in
several pieces (several roots) separated by gaps of ~0.1-5 µm. :func:`heal_skeleton` joins
them as a minimum spanning forest over the gaps (Kruskal: the shortest join first), where a
join goes from an *end* of one piece (a tip or its root: the places where a break leaves a
loose end) to the nearest node of another piece, found with one KD-tree per piece. Joins
longer than ``max_gap`` are not made, and two pieces that each hold a soma are never joined.
Node ids do not change: only the parent links do, and each tree is re-rooted at its soma.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import breadth_first_order, connected_components
from scipy.spatial import cKDTree

from ..errors import check_number
from .skeleton import Skeleton

#: columns of the join table returned by :func:`heal_skeleton`
JOIN_COLUMNS = ["piece_a", "piece_b", "node_a", "node_b", "gap_um", "nodes_a", "nodes_b"]


def reroot(n: int, a: np.ndarray, b: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """Parent links of an undirected forest, each tree rooted at the first of ``roots`` it holds.

    Parameters
    ----------
    n : int
        Number of nodes.
    a, b : (m,) int ndarrays
        Undirected edges (a forest: no cycles).
    roots : (k,) int ndarray
        Preferred roots, in order of preference; a tree holding none of them is rooted at
        its lowest node id.

    Returns
    -------
    (n,) int64 ndarray
        Parent of every node, ``-1`` for roots.
    """
    _, comp = connected_components(sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)
    chosen = {}
    for r in np.asarray(roots, np.int64).tolist():
        chosen.setdefault(int(comp[r]), r)
    first = np.full(comp.max() + 1 if n else 0, -1, np.int64)
    first[comp[::-1]] = np.arange(n)[::-1]  # lowest node of each tree
    for c, node in enumerate(first.tolist()):
        chosen.setdefault(c, node)
    top = np.asarray(sorted(chosen.values()), np.int64)
    rows = np.concatenate([a, b, np.full(len(top), n)])
    cols = np.concatenate([b, a, top])
    adj = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n + 1, n + 1)).tocsr()
    _, pred = breadth_first_order(adj, n, directed=True, return_predecessors=True)
    parent = pred[:n].astype(np.int64)
    parent[(parent == n) | (parent < 0)] = -1
    return parent


def _candidates(vertices: np.ndarray, piece: np.ndarray, ends: np.ndarray, n_pieces: int,
                max_gap: float) -> np.ndarray:
    """Shortest end-to-node join for every pair of pieces closer than ``max_gap``.

    Returns rows ``(gap, piece_a, piece_b, node_a, node_b)`` (``node_a`` an end of
    ``piece_a``), at most one per unordered piece pair.
    """
    order = np.argsort(piece, kind="stable")
    bounds = np.searchsorted(piece[order], np.arange(n_pieces + 1))
    lo = np.full((n_pieces, 3), np.inf)
    hi = np.full((n_pieces, 3), -np.inf)
    np.minimum.at(lo, piece, vertices)
    np.maximum.at(hi, piece, vertices)
    end_xyz = vertices[ends]
    end_piece = piece[ends]
    rows = []
    for d in range(n_pieces):
        # ends of other pieces inside d's bounding box grown by max_gap
        near = np.all((end_xyz >= lo[d] - max_gap) & (end_xyz <= hi[d] + max_gap), axis=1) & (end_piece != d)
        if not near.any():
            continue
        members = order[bounds[d]:bounds[d + 1]]
        dist, k = cKDTree(vertices[members]).query(end_xyz[near], distance_upper_bound=max_gap)
        ok = np.isfinite(dist)
        if ok.any():
            rows.append(np.column_stack([dist[ok], end_piece[near][ok], np.full(ok.sum(), d),
                                         ends[near][ok], members[k[ok]]]))
    if not rows:
        return np.zeros((0, 5))
    cand = np.vstack(rows)
    pair = np.sort(cand[:, 1:3], axis=1)
    cand = cand[np.lexsort((cand[:, 0], pair[:, 1], pair[:, 0]))]
    pair = np.sort(cand[:, 1:3], axis=1)
    first = np.r_[True, np.any(pair[1:] != pair[:-1], axis=1)]
    cand = cand[first]
    return cand[np.argsort(cand[:, 0], kind="stable")]


def heal_skeleton(skeleton: Skeleton, max_gap: float = 5000.0) -> tuple[Skeleton, pd.DataFrame]:
    """Join the pieces of a fragmented skeleton into trees rooted at their somata.

    Parameters
    ----------
    skeleton : Skeleton
        A forest in nm (several roots); not modified.
    max_gap : float
        Longest join in nm (default 5 µm). Pieces farther than this from every other piece
        stay separate trees.

    Returns
    -------
    skeleton : Skeleton
        Same nodes (ids, positions, radii, types, ``vertex_map``), new parent links: each
        tree rooted at its soma node, or, without a soma, at its largest piece's root.
    joins : pandas.DataFrame
        One row per join, shortest first: ``piece_a, piece_b`` (piece ids, 0 = the piece
        holding the first soma or else the largest piece, then by decreasing node count),
        ``node_a`` (a loose end of ``piece_a``), ``node_b``, ``gap_um`` (join length, µm),
        ``nodes_a, nodes_b`` (node counts of the two pieces). Empty when nothing was joined.

    Raises
    ------
    InputError
        ``max_gap`` is not a non-negative number.
    """
    max_gap = check_number(max_gap, "max_gap", "nm")
    n = skeleton.n_nodes
    parent = skeleton.parent
    has = np.flatnonzero(parent >= 0)
    a, b = has, parent[has]
    n_pieces, piece = connected_components(sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)),
                                           directed=False)
    # number the pieces: soma pieces first, then by size
    size = np.bincount(piece, minlength=n_pieces)
    has_soma = np.zeros(n_pieces, bool)
    has_soma[piece[skeleton.soma_nodes]] = True
    soma_rank = np.full(n_pieces, len(skeleton.soma_nodes))
    soma_rank[piece[skeleton.soma_nodes][::-1]] = np.arange(len(skeleton.soma_nodes))[::-1]
    rank = np.lexsort((np.arange(n_pieces), -size, soma_rank))
    relabel = np.empty(n_pieces, np.int64)
    relabel[rank] = np.arange(n_pieces)
    piece, size, has_soma = relabel[piece], size[rank], has_soma[rank]
    joins = []
    if n_pieces > 1:
        degree = np.bincount(np.r_[a, b], minlength=n)
        ends = np.flatnonzero((degree <= 1) | (parent < 0))
        ends = ends[~np.isin(ends, skeleton.soma_nodes)]
        cand = _candidates(skeleton.vertices, piece, ends, n_pieces, float(max_gap))
        group = np.arange(n_pieces)
        soma_in = has_soma.copy()

        def find(x: int) -> int:
            while group[x] != x:
                group[x] = group[group[x]]
                x = group[x]
            return x

        for gap, pa, pb, na, nb in cand.tolist():
            ra, rb = find(int(pa)), find(int(pb))
            if ra == rb or (soma_in[ra] and soma_in[rb]):
                continue
            group[rb] = ra
            soma_in[ra] |= soma_in[rb]
            joins.append((int(pa), int(pb), int(na), int(nb), gap / 1e3, int(size[int(pa)]), int(size[int(pb)])))
    table = pd.DataFrame(joins, columns=JOIN_COLUMNS)
    if len(table):
        a = np.r_[a, table["node_a"].to_numpy(np.int64)]
        b = np.r_[b, table["node_b"].to_numpy(np.int64)]
    # preferred roots: somata, then the old root of the largest piece of each tree
    old_roots = skeleton.roots
    old_roots = old_roots[np.argsort(piece[old_roots], kind="stable")]
    new_parent = reroot(n, a, b, np.r_[skeleton.soma_nodes, old_roots])
    healed = Skeleton(skeleton.vertices, new_parent, skeleton.radius, skeleton.vertex_map,
                      skeleton.soma_nodes, skeleton.node_type)
    return healed, table
