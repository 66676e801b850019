"""Axons from geometry (thin, smooth, spine-poor, proximal), for :func:`~neurograph.compartments.label_compartments`."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from ..stats import finite_median, weighted_median
from .arbor import MIN_SYNAPSES, Arbor, base_width


def geometry_axon(neuron, arbor: Arbor, tree: int, branches: pd.DataFrame, spine_count: np.ndarray,
                   proximal_um: float, post: np.ndarray | None = None,
                   debug: bool = False) -> tuple[np.ndarray, float] | None:
    """Axon nodes of one tree from geometry, and a confidence (0-1); None if no candidate."""
    in_tree = arbor.root == tree
    if not np.isfinite(arbor.width[in_tree]).any():
        return None  # radius-less: no width rule (the caller reports "default")
    graph = neuron.graph
    n_somas = len(neuron.somas)
    branch_tree = np.full(int(arbor.node_branch.max()) + 1, -1, np.int64)
    branch_tree[arbor.node_branch] = arbor.root
    tree_branches = [b for b in branches.index if branch_tree[b] == tree]
    if not tree_branches:
        return None
    in_branch = np.isin(arbor.node_branch, tree_branches)
    idx = np.flatnonzero(in_branch)
    grouped = idx[np.argsort(arbor.node_branch[idx], kind="stable")]
    cuts = np.searchsorted(arbor.node_branch[grouped], tree_branches + [np.inf])
    bnodes = {b: grouped[cuts[i]:cuts[i + 1]] for i, b in enumerate(tree_branches)}
    start = {b: float(branches.at[b, "path_to_soma"]) * 1e3 for b in tree_branches}
    base = {b: base_width(arbor, bnodes[b], start[b]) for b in tree_branches}
    primaries = [b for b in tree_branches if branches.at[b, "parent"] < n_somas]
    # stubs (< 10 µm of cable) are not neurites to compare with
    primaries = [b for b in primaries if branches.loc[[d for d in [b, *nx.descendants(graph, b)]
                                                       if d in branches.index], "length"].sum() >= 10.0] or primaries
    ref_primary = finite_median([base[b] for b in primaries])
    total_spines = spine_count.sum()
    dend_len = branches.loc[tree_branches, "length"].sum()
    density_all = total_spines / dend_len if dend_len > 0 else 0.0
    best, best_score, best_thin = None, 0.0, 1.0
    tree_post = post[in_tree].sum() if post is not None else 0.0
    tree_cable = dend_len
    for b in tree_branches:
        par = int(branches.at[b, "parent"])
        if start[b] > proximal_um * 1e3:
            continue
        sub = [b, *nx.descendants(graph, b)]
        cable = branches.loc[[s for s in sub if s in branches.index], "length"].sum()
        if cable < 20.0 or cable > 0.75 * tree_cable:
            continue  # too short to tell, or most of the arbor (the arbor is not mostly axon)
        if par < n_somas:
            others = [base[p] for p in primaries if p != b]
            ref = finite_median(others) if others else ref_primary
        else:
            pn = bnodes.get(par, np.empty(0, np.int64))
            tail = pn[arbor.path[pn] >= arbor.path[pn].max() - 5000] if len(pn) else pn
            ref = finite_median(arbor.width[tail]) if len(tail) else ref_primary
        if not np.isfinite(ref) or ref <= 0 or not np.isfinite(base[b]):
            continue
        thin = base[b] / ref
        if par >= n_somas and np.isfinite(ref_primary):
            thin = max(thin, base[b] / ref_primary)
        sub_spines = spine_count[[s for s in sub if s < len(spine_count)]].sum()
        density = sub_spines / cable if cable > 0 else 0.0
        if thin >= 0.9 or (density_all > 0 and density > 0.3 * density_all):
            continue
        sub_nodes = np.isin(arbor.node_branch, sub)
        rest = in_tree & ~sub_nodes & ~arbor.is_soma
        # an axon is thinner than the rest of the arbor, not just at its base: its base is < 0.6
        # of the other neurites' and its cable < 0.8 of the rest's, or its cable < 0.6 of the
        # rest's (dendrites whose bases are as thin as the axon's, e.g. those of a small cell)
        ratio = weighted_median(arbor.width[sub_nodes], arbor.edge[sub_nodes]) / \
            weighted_median(arbor.width[rest], arbor.edge[rest]) if rest.any() else 0.0
        if not (thin < 0.6 and ratio <= 0.8) and not ratio < 0.6:
            continue
        thin = min(thin, ratio)
        if tree_post >= MIN_SYNAPSES and post[sub_nodes].sum() / cable > 0.5 * tree_post / tree_cable:
            continue  # axons receive few inputs
        score = cable * (1.0 - thin)
        if debug:
            print("candidate", b, round(cable, 1), round(thin, 2), round(score, 1))
        if score > best_score:
            best, best_score, best_thin = b, score, thin
    if best is None:
        return None
    first = bnodes[best][np.argmin(arbor.path[bnodes[best]])]
    return arbor.below(first) & in_tree, float(np.clip(1.0 - best_thin / 0.6, 0.0, 1.0) * 0.5 + 0.5)
