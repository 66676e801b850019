"""Axons from synapse flow (Schneider-Mizell et al. 2016), for :func:`~neurograph.compartments.label_compartments`."""

from __future__ import annotations

import numpy as np

from ..skeleton.tree import mark_subtree, subtree_sum
from .arbor import MIN_SYNAPSES, Arbor


def flow_axons(arbor: Arbor, pre: np.ndarray, post: np.ndarray, tree: int) -> tuple[np.ndarray, float] | None:
    """Axon nodes of one tree from synapse flow, and a confidence (0-1); None if too few synapses."""
    in_tree = arbor.root == tree
    P, Q = pre[in_tree].sum(), post[in_tree].sum()
    if P < MIN_SYNAPSES or Q < MIN_SYNAPSES:
        return None
    axon = np.zeros(arbor.n, bool)
    pre_left, post_left = pre * in_tree, post * in_tree
    for round_ in range(4):
        pd_ = subtree_sum(arbor.order, arbor.parent, pre_left.astype(float))
        qd = subtree_sum(arbor.order, arbor.parent, post_left.astype(float))
        Pt, Qt = pre_left.sum(), post_left.sum()
        ok = in_tree & ~arbor.is_soma & ~axon
        down = np.where(ok, pd_ * (Qt - qd), -1.0)
        up = np.full(arbor.n, -1.0)
        if tree not in arbor.soma_trees:  # fragment: the axon may lie above the cut
            up = np.where(ok & (arbor.parent >= 0), (Pt - pd_) * qd, -1.0)
        best = max(down.max(), up.max())
        if best <= 0:
            break
        use_down = down.max() >= up.max()
        score = down if use_down else up
        ties = np.flatnonzero(score >= 0.999 * best)
        m = ties[np.argmin(arbor.path[ties])] if use_down else ties[np.argmax(arbor.path[ties])]
        part = arbor.below(m) & in_tree & ~axon
        if not use_down:
            part = in_tree & ~part & ~axon & ~arbor.is_soma
        n_pre, n_post = pre_left[part].sum(), post_left[part].sum()
        frac = n_pre / max(n_pre + n_post, 1)
        if round_ == 0:
            rest_frac = (Pt - n_pre) / max(Pt - n_pre + Qt - n_post, 1)
            if frac <= rest_frac:
                return None
        elif n_pre < 0.1 * P or frac < 0.7:
            break
        part = carve_dendrites(arbor, part, pre_left, post_left)
        axon |= part
        pre_left = np.where(part, 0, pre_left)
        post_left = np.where(part, 0, post_left)
    # confidence: segregation of outputs onto the axon and inputs onto the rest
    a_pre, a_post = pre[axon].sum(), post[axon].sum()
    d_pre, d_post = pre[in_tree & ~axon].sum(), post[in_tree & ~axon].sum()
    conf = 0.5 * (a_pre / max(a_pre + a_post, 1) + d_post / max(d_pre + d_post, 1))
    return axon, float(conf)


def carve_dendrites(arbor: Arbor, part: np.ndarray, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Remove input-rich subtrees (dendrites hanging off the axon's base) from an axon part."""
    part = part.copy()
    for _ in range(8):
        p = np.where(part, pre, 0).astype(float)
        q = np.where(part, post, 0).astype(float)
        pd_ = subtree_sum(arbor.order, arbor.parent, p)
        qd = subtree_sum(arbor.order, arbor.parent, q)
        top = part & ~(arbor.parent >= 0) | (part & (arbor.parent >= 0) & ~part[np.maximum(arbor.parent, 0)])
        score = np.where(part & ~top, qd * (p.sum() - pd_), -1.0)
        if score.max() <= 0:
            break
        m = int(np.argmax(score))
        n_post, n_pre = qd[m], pd_[m]
        if n_post < 5 or n_post < 4 * max(n_pre, 0.5) or n_post < 0.1 * q.sum():
            break
        part &= ~arbor.below(m)
    return part


def output_twigs(neuron, arbor: Arbor, pre: np.ndarray, post: np.ndarray, axon: np.ndarray,
                  max_cable: float = 20e3) -> np.ndarray:
    """Small output-only pieces of a dendrite that rarely makes outputs: axon fragments.

    Where < 5 % of the dendrite's synapses are outputs, a subtree of <= ``max_cable`` nm with
    >= 75 % outputs is an axon piece (a collateral, or another cell's axon merged onto it).
    """
    dend = ~axon & ~arbor.is_soma
    n_pre, n_post = pre[dend].sum(), post[dend].sum()
    out = np.zeros(arbor.n, bool)
    if n_pre == 0 or n_pre / max(n_pre + n_post, 1) >= 0.05:
        return out
    p = subtree_sum(arbor.order, arbor.parent, np.where(dend, pre, 0.0))
    q = subtree_sum(arbor.order, arbor.parent, np.where(dend, post, 0.0))
    c = subtree_sum(arbor.order, arbor.parent, np.where(dend, arbor.edge, 0.0))
    ok = dend & (p >= 1) & (p >= 0.75 * (p + q)) & (c <= max_cable)
    # top-most qualifying nodes only
    par_ok = np.zeros(arbor.n, bool)
    has = arbor.parent >= 0
    par_ok[has] = ok[arbor.parent[has]]
    return mark_subtree(arbor.order, arbor.parent, ok & ~par_ok) & dend
