"""Geometry-only axon and apical dendrite of vertebrate neurons, with or without radii.

Used by :func:`neurograph.label_compartments` (method ``geometry``) for every tree that holds
a soma. A vertebrate neuron has one axon. It leaves the soma or a proximal dendrite as a
single process, so it is a whole subtree starting near the soma. What tells it from the
dendrites, without synapses:

- **Detour.** Dendrites radiate away from the soma: at every point, the path back to the soma
  is barely longer than the straight line (path / distance ~1.1-1.3). Axons meander, recurve
  and branch back towards and around the soma (local interneuron arbors, recurrent
  collaterals of pyramidal cells): their cable lies at path / distance 2-4.
- **Internodes.** Axon branches are, on the whole, longer than the dendrites' (weight 0.3:
  dense local interneuron axons branch often, so this cue is weak on real cells).
- **Width** (only where radii are known): the axon is thinner than the dendrites.
- **Spines** (only where counted): a candidate with > 0.3 x the tree's spine density is a
  dendrite.

Every candidate subtree S (starting within ``proximal`` of the soma surface, holding at least
20 µm of cable) is compared with the rest R of its tree: the score is
``log(detour_S / detour_R) + 0.3 log(segment_S / segment_R) + log(width_R / width_S)``
(cable-weighted mean of path / distance from the soma centre; mean branch length; cable-
weighted median width, this term only with radii). Comparing a subtree with *the rest of its
own neuron* makes the cues free of scale, orientation, node spacing and tracing density; an
axon collateral scores lower than the whole axon (the rest then holds the axon's other
cable). The best candidate is the axon when its score reaches ``min_score`` (0.15); otherwise
the tree has no recognisable axon (e.g. a dendrite-only reconstruction) and nothing is
labelled. One axon: a candidate that holds the best one and scores almost as well is taken
instead, and dendrites sharing the axon's base (a dendrite the axon leaves from) are stepped
past (:func:`_descend`). Reach (furthest path from the soma) was tried as a cue and left out:
an apical dendrite reaches as far as an axon.

Soma-less pieces of a neuron that has a soma (tracings broken into pieces; skeletons with
gaps) are its axon when the soma's tree has one (:func:`label_pieces`): tracings and
segmentations lose the thin axon far more often than the thick dendrites.

Apical dendrite (:func:`axis_apical`): the primary dendrite that reaches much farther along its
own axis than the other primaries reach at all; the axis comes from the neuron, not from the
file's axes.

Everything is computed on the skeleton arrays of :class:`neurograph.compartments.Arbor` (nm).
"""

from __future__ import annotations

import numpy as np

from ..skeleton.tree import subtree_sum
from ..stats import weighted_median

#: weights of the evidence terms (log ratios, subtree vs rest of the tree)
WEIGHTS = {"detour": 1.0, "segment": 0.3, "width": 1.0}


class _Evidence:
    """Per-node arrays of one soma's tree for the evidence terms (nm)."""

    def __init__(self, arbor, tree: int, soma_center: np.ndarray, soma_radius: float,
                 spine_count: np.ndarray | None = None, exclude: np.ndarray | None = None) -> None:
        self.arbor = arbor
        self.in_tree = (arbor.root == tree) & ~arbor.is_soma
        if exclude is not None:  # nodes left out (a piece judged separately)
            self.in_tree &= ~exclude
        r0 = float(soma_radius) if np.isfinite(soma_radius) and soma_radius > 0 else 0.0
        self.edge = np.where(self.in_tree, arbor.edge, 0.0)
        dist = np.linalg.norm(arbor.sk.vertices - soma_center, axis=1)
        self.path = arbor.path + r0
        self.detour = self.path / np.maximum(dist, max(r0, 1000.0))
        par = np.maximum(arbor.parent, 0)
        # first node of each branch: candidates, and the branch counts
        self.starts = self.in_tree & ((arbor.parent < 0) | (arbor.node_branch != arbor.node_branch[par]))
        self.has_width = bool(np.isfinite(arbor.width[self.in_tree]).any())
        self.spines = np.zeros(arbor.n)
        if spine_count is not None and spine_count.sum() > 0:
            first = np.flatnonzero(self.starts)
            self.spines[first] = spine_count[np.minimum(arbor.node_branch[first], len(spine_count) - 1)]
        self.density_all = self.spines.sum() / max(self.edge.sum(), 1e-9)
        # children of every node (CSR), tree nodes only
        has = np.flatnonzero(self.in_tree & (arbor.parent >= 0))
        has = has[np.argsort(arbor.parent[has], kind="stable")]
        self._kids = has
        self._first = np.searchsorted(arbor.parent[has], np.arange(arbor.n + 1))

    def children(self, node: int) -> np.ndarray:
        return self._kids[self._first[node]:self._first[node + 1]]

    def terms(self, sub: np.ndarray, rest: np.ndarray) -> dict:
        """Evidence (log ratios) that ``sub`` is axon and ``rest`` dendrite (node masks)."""
        e = self.edge
        c_s, c_r = e[sub].sum(), e[rest].sum()
        out = {"cable": c_s / 1e3, "detour": np.nan, "segment": np.nan, "width": np.nan,
               "spiny": False, "score": -np.inf}
        if c_s <= 0 or c_r <= 0:
            return out
        out["detour"] = np.log((e[sub] @ self.detour[sub] / c_s) / (e[rest] @ self.detour[rest] / c_r))
        out["segment"] = np.log((c_s / max(self.starts[sub].sum(), 1)) / (c_r / max(self.starts[rest].sum(), 1)))
        if self.has_width:
            ws = weighted_median(self.arbor.width[sub], e[sub])
            wr = weighted_median(self.arbor.width[rest], e[rest])
            if np.isfinite(ws) and np.isfinite(wr) and ws > 0:
                out["width"] = np.log(wr / ws)
        out["spiny"] = bool(self.density_all > 0 and self.spines[sub].sum() / c_s > 0.3 * self.density_all)
        out["score"] = sum(WEIGHTS[k] * out[k] for k in ("detour", "segment", "width") if np.isfinite(out[k]))
        return out

    def below(self, node: int) -> np.ndarray:
        return self.arbor.below(node) & self.in_tree


def candidate_scores(arbor, tree: int, soma_center: np.ndarray, soma_radius: float, proximal: float,
                     spine_count: np.ndarray | None = None, min_cable: float = 20e3,
                     exclude: np.ndarray | None = None):
    """Evidence that each candidate subtree of one soma's tree is the axon.

    Parameters
    ----------
    arbor : neurograph.compartments.Arbor
        Skeleton arrays (nm).
    tree : int
        Root label of the tree (``arbor.root``); it must hold a soma.
    soma_center : (3,) float
        Soma centre, nm.
    soma_radius : float
        Soma radius, nm (NaN or 0 when unknown).
    proximal : float
        nm of path from the soma surface within which the axon may start.
    spine_count : ndarray, optional
        Spines per graph node (branch id); candidates with a spine density above 0.3 x the
        tree's are dropped.
    min_cable : float, default 20000
        Smallest candidate, nm of cable.
    exclude : (n_nodes,) bool ndarray, optional
        Nodes treated as if absent (e.g. a piece that may belong to another cell).

    Returns
    -------
    pandas.DataFrame
        One row per candidate: ``node`` (its first skeleton node), ``cable`` (µm), the terms
        ``detour``, ``segment``, ``width`` (log ratios, subtree vs rest; ``width``
        NaN without radii) and ``score`` (their weighted sum, :data:`WEIGHTS`).
    """
    import pandas as pd

    ev = _Evidence(arbor, tree, soma_center, soma_radius, spine_count, exclude)
    cable = subtree_sum(arbor.order, arbor.parent, ev.edge)
    total = ev.edge.sum()
    cand = np.flatnonzero(ev.starts & (arbor.path <= proximal) & (cable >= min_cable) & (cable <= total - min_cable))
    rows = []
    for c in cand:
        sub = ev.below(c)
        t = ev.terms(sub, ev.in_tree & ~sub)
        if not t["spiny"]:
            rows.append({"node": int(c), **t})
    cols = ["node", "cable", "detour", "segment", "width", "score"]
    return pd.DataFrame(rows, columns=cols + ["spiny"])[cols], ev


def piece_scores(arbor, tree: int, soma_center: np.ndarray, soma_radius: float, starts: np.ndarray,
                 reference: np.ndarray, spine_count: np.ndarray | None = None) -> list[dict]:
    """Evidence that each piece (the subtree below each start node) is axon, against ``reference``.

    The terms of :func:`candidate_scores` for arbitrary pieces, e.g. side branches far from
    the soma, compared with the dendrites of their tree rather than with the rest of it.

    Parameters
    ----------
    arbor, tree, soma_center, soma_radius, spine_count
        As in :func:`candidate_scores` (nm).
    starts : int ndarray
        First skeleton node of every piece.
    reference : (n_nodes,) bool ndarray
        Nodes to compare with (the piece itself is always left out), e.g. the tree's dendrites.

    Returns
    -------
    list of dict
        Per piece: ``cable`` (µm), ``detour``, ``segment``, ``width`` (log ratios, piece vs
        reference; NaN when unknown), ``spiny`` (bool) and ``score`` (:data:`WEIGHTS`).
    """
    ev = _Evidence(arbor, tree, soma_center, soma_radius, spine_count)
    out = []
    for s in np.asarray(starts, np.int64):
        sub = ev.below(int(s))
        out.append(ev.terms(sub, reference & ev.in_tree & ~sub))
    return out


def _descend(ev: _Evidence, node: int, min_score: float, min_cable: float) -> int:
    """From an axon candidate, step past dendrites that share its base.

    At the candidate's first branch point each substantial child subtree (>= ``min_cable``)
    is scored against the dendrites outside the candidate; when exactly one of them looks
    like axon (score >= ``min_score``), the others are dendrites the axon leaves from and the
    axon starts at that child. Repeated downwards.
    """
    outside = ev.in_tree & ~ev.below(node)
    for _ in range(64):
        end = node
        kids = ev.children(end)
        while len(kids) == 1:  # along the branch to its end
            end = int(kids[0])
            kids = ev.children(end)
        if len(kids) < 2:
            return node
        subs = [ev.below(k) for k in kids]
        big = [i for i, m in enumerate(subs) if ev.edge[m].sum() >= min_cable]
        scores = {i: ev.terms(subs[i], outside)["score"] for i in big}
        axon_like = [i for i in big if scores[i] >= min_score]
        if len(axon_like) != 1:
            return node
        node = int(kids[axon_like[0]])
    return node


def vertebrate_axon(arbor, tree: int, soma_center: np.ndarray, soma_radius: float, proximal: float,
                    spine_count: np.ndarray | None = None, min_score: float = 0.15, min_cable: float = 20e3,
                    ascend: float = 0.2, exclude: np.ndarray | None = None) -> tuple[np.ndarray, float] | None:
    """Axon nodes of one soma's tree from geometry (with or without radii), and a confidence (0.5-1).

    Parameters
    ----------
    arbor, tree, soma_center, soma_radius, proximal, spine_count, min_cable, exclude
        As in :func:`candidate_scores` (nm; ``min_cable`` is also the smallest axon).
    min_score : float, default 0.15
        Smallest score (:func:`candidate_scores`) of an axon.
    ascend : float, default 0.2
        A candidate holding the best one, with a score at most this much lower, is taken
        instead (then :func:`_descend`).

    Returns
    -------
    (ndarray of bool, float) or None
        Axon nodes and confidence, or None when no candidate reaches ``min_score``.
    """
    table, ev = candidate_scores(arbor, tree, soma_center, soma_radius, proximal, spine_count, min_cable, exclude)
    if not len(table) or table["score"].max() < min_score:
        return None
    best = table.loc[table["score"].idxmax()]
    # one axon: a near-equal candidate that holds the best one (the whole axon around one of
    # its collaterals, or a dendrite the axon leaves from) is taken, then dendrites sharing its
    # base are stepped past
    node = int(best["node"])
    near = table[table["score"] >= best["score"] - ascend]
    holders = [int(c) for c in near["node"] if ev.below(int(c))[node]]
    node = min(holders, key=lambda c: arbor.path[c]) if holders else node
    node = _descend(ev, node, min_score, min_cable)
    conf = float(0.5 + 0.5 * np.clip(best["score"] - min_score, 0.0, 1.0))
    return ev.below(node), conf


def tree_axon(neuron, arbor, tree: int, proximal_um: float, spine_count: np.ndarray | None = None,
              exclude: np.ndarray | None = None) -> tuple[np.ndarray, float] | None:
    """:func:`vertebrate_axon` of the tree of one of ``neuron``'s somata (the first soma in it)."""
    soma_nodes = np.asarray(neuron.skeleton.soma_nodes)
    mine = np.flatnonzero(arbor.root[soma_nodes] == tree)
    if not len(mine):
        return None
    soma = neuron.somas[int(mine[0])]
    return vertebrate_axon(arbor, tree, np.asarray(soma.center, float), float(soma.radius), proximal_um * 1e3,
                           spine_count, exclude=exclude)


def label_pieces(arbor, pieces: list[int], axon: np.ndarray, conf: np.ndarray, method: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label soma-less pieces of a neuron that has a soma (method ``"geometry-pieces"``).

    Tracings and segmentations lose thin processes: pieces cut off from a traced neuron are
    its axon far more often than its dendrites, which are thick and continuous with the soma.
    A piece is axon when the soma trees have an axon and, where widths are known, its
    cable-weighted median width is nearer (log scale) the axon's than the dendrites'; it is
    dendrite otherwise. Its confidence is that of the soma trees' axon, times 0.8.
    """
    source = np.isin(arbor.root, list(arbor.soma_trees)) & ~arbor.is_soma
    conf, method = conf.copy(), method.copy()
    if not source.any():
        return axon, conf, method
    has_axon = bool((axon & source).any())
    w_ax = weighted_median(arbor.width[axon & source], arbor.edge[axon & source]) if has_axon else np.nan
    w_de = weighted_median(arbor.width[~axon & source], arbor.edge[~axon & source])
    axon = axon.copy()
    base = float(np.max(conf[axon & source])) if has_axon else 0.5
    for tree in pieces:
        nodes = np.flatnonzero(arbor.root == tree)
        w = weighted_median(arbor.width[nodes], arbor.edge[nodes])
        is_axon = has_axon
        if has_axon and np.isfinite(w) and np.isfinite(w_ax) and np.isfinite(w_de) and w > 0:
            is_axon = abs(np.log(w / w_ax)) <= abs(np.log(w / w_de))
        axon[nodes] = is_axon
        conf[nodes] = 0.8 * base if has_axon else 0.5
        method[nodes] = "geometry-pieces"
    return axon, conf, method


def multipolar(arbor, tree: int, share: float = 0.01, n_min: int = 3) -> bool:
    """True when a soma of the tree has at least ``n_min`` neurites holding ``share`` of its cable each.

    A vertebrate interneuron's axon can hold > 90 % of its cable, so its few short dendrites
    each hold a few percent; an insect neuron's soma has one neurite. Used with
    :func:`neurograph.compartments.insect.is_unipolar` to pick the rule.
    """
    from .insect import substantial_primaries

    somas = [int(s) for s in np.flatnonzero(arbor.is_soma) if arbor.root[s] == tree]
    return any(substantial_primaries(arbor, s, share) >= n_min for s in somas)


def axis_ratios(vertices: np.ndarray, center: np.ndarray, nodes: list[np.ndarray]) -> np.ndarray:
    """How much farther each primary dendrite reaches along its own axis than the others reach at all.

    Each primary's axis is the direction from the soma centre to its farthest node; its reach is
    its farthest extent along that axis; the ratio divides it by the farthest radial reach of all
    the other primaries (0 for an empty primary).

    Parameters
    ----------
    vertices : (n, 3) float
        Skeleton node positions, nm.
    center : (3,) float
        Soma centre, nm.
    nodes : list of int arrays
        Skeleton nodes of each primary dendrite's subtree.

    Returns
    -------
    ndarray of float
        One ratio per primary.
    """
    offsets = [vertices[n] - center for n in nodes]
    radial = np.array([np.linalg.norm(o, axis=1).max() if len(o) else 0.0 for o in offsets])
    out = np.zeros(len(nodes))
    for k, o in enumerate(offsets):
        if not len(o) or radial[k] <= 0 or len(nodes) < 2:
            continue
        far = o[np.argmax(np.linalg.norm(o, axis=1))]
        out[k] = float((o @ (far / radial[k])).max()) / max(np.delete(radial, k).max(), 1.0)
    return out


def axis_apical(vertices: np.ndarray, center: np.ndarray, nodes: list[np.ndarray], min_ratio: float = 1.8
                ) -> int | None:
    """The primary dendrite that is the apical dendrite, from the neuron's own geometry (no pia, no widths).

    The apical dendrite is one primary dendrite that reaches much farther along one axis than
    the basal dendrites reach in any direction: the primary with the largest
    :func:`axis_ratios` is apical when its ratio is at least ``min_ratio`` (with at least 3
    primaries). The axis is found per cell, so the orientation of the file (slice image axes,
    a tilted cortex) does not matter.

    Parameters
    ----------
    vertices, center, nodes
        As in :func:`axis_ratios` (nm).
    min_ratio : float, default 1.8
        Smallest reach ratio of an apical dendrite.

    Returns
    -------
    int or None
        Index into ``nodes`` of the apical dendrite, or None.
    """
    if len(nodes) < 3:
        return None
    ratios = axis_ratios(vertices, center, nodes)
    k = int(np.argmax(ratios))
    return k if ratios[k] >= min_ratio else None
