"""Geometry-only axon of vertebrate neurons, with or without radii, for :func:`neurograph.label_compartments`.

A vertebrate neuron has one axon. It leaves the soma or a proximal dendrite as a single
process, so it is a whole subtree starting near the soma. What tells it from the dendrites,
on light-microscopy tracings and EM skeletons alike, without synapses:

- **Detour.** Dendrites radiate away from the soma: at every point, the path back to the soma
  is barely longer than the straight line (path / distance ~1.1-1.3). Axons meander, recurve
  and branch back towards and around the soma (local interneuron arbors, recurrent
  collaterals of pyramidal cells): their cable lies at path / distance 2-4.
- **Reach.** Dendrites end within a few hundred µm of path from the soma; the axon reaches
  farther along its path than the dendrites.
- **Internodes.** Axon branches are, on the whole, longer than the dendrites' terminal twigs.
  This is the weakest cue (dense local interneuron axons branch often) and weighs least.
- **Width** (only where radii are known): the axon is thinner than the dendrites.
- **Spines** (only where counted): the axon carries almost none.

Every candidate subtree S (starting within ``proximal`` of the soma surface, holding at least
20 µm of cable) is compared with the rest R of its tree: the score is the weighted sum of
``log(detour_S / detour_R)`` (cable-weighted mean of path / distance), ``log(reach_S /
reach_R)`` (furthest path from the soma), ``log(segment_S / segment_R)`` (mean branch length)
and, with radii, ``log(width_R / width_S)`` (cable-weighted median width). Comparing a subtree
with *the rest of its own neuron* makes the cues free of scale, orientation, node spacing and
tracing density; an axon collateral scores lower than the whole axon (the rest then holds the
axon's other cable), and a dendrite carrying the axon lower than the axon alone (its own
dendritic cable dilutes it). The best candidate is the axon when its score reaches
``min_score``; otherwise the tree has no recognisable axon (e.g. a dendrite-only
reconstruction) and nothing is labelled.

Soma-less pieces of a neuron that has a soma (tracings broken into pieces, usually the thin
axon; skeletons with gaps) take the label of the nearest labelled node of a soma's tree
(:func:`nearest_labels`).

Everything is computed on the skeleton arrays of :class:`neurograph.compartments._Arbor`
(nm).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.spatial import cKDTree

from .graph.kernels import subtree_sum

#: weights of the evidence terms (log ratios, subtree vs rest of the tree)
WEIGHTS = {"detour": 1.0, "reach": 0.5, "segment": 0.3, "width": 1.0}


@njit(cache=True)
def subtree_max(order: np.ndarray, parent: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Maximum of ``values`` over every node's subtree (``order``: parents before children)."""
    out = values.copy()
    for k in range(order.shape[0] - 1, -1, -1):
        node = order[k]
        p = parent[node]
        if p >= 0 and out[node] > out[p]:
            out[p] = out[node]
    return out


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return np.nan
    v, w = values[ok], weights[ok]
    order = np.argsort(v)
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, cum[-1] / 2)])


def candidate_scores(arbor, tree: int, soma_center: np.ndarray, soma_radius: float, proximal: float,
                     spine_count: np.ndarray | None = None, min_cable: float = 20e3):
    """Evidence that each candidate subtree of one soma's tree is the axon.

    Parameters
    ----------
    arbor : neurograph.compartments._Arbor
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

    Returns
    -------
    pandas.DataFrame
        One row per candidate: ``node`` (its first skeleton node), ``cable`` (µm), the terms
        ``detour``, ``reach``, ``segment``, ``width`` (log ratios, subtree vs rest; ``width``
        NaN without radii) and ``score`` (their weighted sum, :data:`WEIGHTS`).
    """
    import pandas as pd

    in_tree = (arbor.root == tree) & ~arbor.is_soma
    r0 = float(soma_radius) if np.isfinite(soma_radius) and soma_radius > 0 else 0.0
    edge = np.where(in_tree, arbor.edge, 0.0)
    dist = np.linalg.norm(arbor.sk.vertices - soma_center, axis=1)
    path = arbor.path + r0
    detour = path / np.maximum(dist, max(r0, 1000.0))
    # branch starts (first node of each branch in the tree): the candidates and the segment counts
    par = np.maximum(arbor.parent, 0)
    starts = in_tree & ((arbor.parent < 0) | (arbor.node_branch != arbor.node_branch[par]))
    cable = subtree_sum(arbor.order, arbor.parent, edge)
    det_sum = subtree_sum(arbor.order, arbor.parent, edge * detour)
    n_seg = subtree_sum(arbor.order, arbor.parent, starts.astype(np.float64))
    reach = subtree_max(arbor.order, arbor.parent, np.where(in_tree, path, 0.0))
    total, total_det, total_seg = edge.sum(), (edge * detour).sum(), starts.sum()
    has_width = np.isfinite(arbor.width[in_tree]).any()
    if spine_count is not None and spine_count.sum() > 0:
        spines_node = np.zeros(arbor.n)
        first = np.flatnonzero(starts)
        spines_node[first] = spine_count[np.minimum(arbor.node_branch[first], len(spine_count) - 1)]
        spine_sum = subtree_sum(arbor.order, arbor.parent, spines_node)
        density_all = spines_node.sum() / max(total, 1e-9)
    else:
        spine_sum, density_all = None, 0.0
    cand = np.flatnonzero(starts & (arbor.path <= proximal) & (cable >= min_cable)
                          & (cable <= total - min_cable))
    rows = []
    from .compartments import mark_subtree

    for c in cand:
        top = np.zeros(arbor.n, bool)
        top[c] = True
        sub = mark_subtree(arbor.order, arbor.parent, top) & in_tree
        rest = in_tree & ~sub
        c_rest = total - cable[c]
        if spine_sum is not None and spine_sum[c] / cable[c] > 0.3 * density_all:
            continue  # spiny: a dendrite
        det = np.log((det_sum[c] / cable[c]) / ((total_det - det_sum[c]) / c_rest))
        rch = np.log(reach[c] / max(path[rest].max(), 1.0))
        seg = np.log((cable[c] / max(n_seg[c], 1)) / (c_rest / max(total_seg - n_seg[c], 1)))
        wid = np.nan
        if has_width:
            ws, wr = _weighted_median(arbor.width[sub], edge[sub]), _weighted_median(arbor.width[rest], edge[rest])
            if np.isfinite(ws) and np.isfinite(wr) and ws > 0:
                wid = np.log(wr / ws)
        score = WEIGHTS["detour"] * det + WEIGHTS["reach"] * rch + WEIGHTS["segment"] * seg + \
            (WEIGHTS["width"] * wid if np.isfinite(wid) else 0.0)
        rows.append({"node": int(c), "cable": cable[c] / 1e3, "detour": det, "reach": rch, "segment": seg,
                     "width": wid, "score": score})
    return pd.DataFrame(rows, columns=["node", "cable", "detour", "reach", "segment", "width", "score"])


def vertebrate_axon(arbor, tree: int, soma_center: np.ndarray, soma_radius: float, proximal: float,
                    spine_count: np.ndarray | None = None, min_score: float = 0.5
                    ) -> tuple[np.ndarray, float] | None:
    """Axon nodes of one soma's tree from geometry (with or without radii), and a confidence (0.5-1).

    Parameters
    ----------
    arbor : neurograph.compartments._Arbor
        Skeleton arrays (nm).
    tree : int
        Root label of the tree (``arbor.root``); it must hold a soma.
    soma_center : (3,) float
        Soma centre, nm.
    soma_radius : float
        Soma radius, nm.
    proximal : float
        nm of path from the soma surface within which the axon may start.
    spine_count : ndarray, optional
        Spines per graph node.
    min_score : float, default 0.5
        Smallest score (:func:`candidate_scores`) of an axon.

    Returns
    -------
    (ndarray of bool, float) or None
        Axon nodes and confidence, or None when no candidate reaches ``min_score``.
    """
    table = candidate_scores(arbor, tree, soma_center, soma_radius, proximal, spine_count)
    if not len(table) or table["score"].max() < min_score:
        return None
    best = table.loc[table["score"].idxmax()]
    conf = float(0.5 + 0.5 * np.clip((best["score"] - min_score) / (2.0 * min_score), 0.0, 1.0))
    return arbor.below(int(best["node"])) & (arbor.root == tree), conf


def nearest_labels(vertices: np.ndarray, source: np.ndarray, targets: np.ndarray,
                   label: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Label of every target node: the label of the nearest source node (per target tree, the majority).

    Parameters
    ----------
    vertices : (n, 3) float
        Node positions, nm.
    source : (n,) bool
        Labelled nodes (e.g. those of the soma trees).
    targets : (n,) bool
        Nodes to label (e.g. soma-less pieces).
    label : (n,) bool
        The label of the source nodes (e.g. axon).
    root : (n,) int
        Tree of every node; each target tree gets one label, its nodes' cable-free majority.

    Returns
    -------
    (n,) bool
        ``label`` on source nodes, the inherited label on target nodes, False elsewhere.
    """
    out = np.where(source, label, False)
    if not source.any() or not targets.any():
        return out
    idx = np.flatnonzero(targets)
    _, near = cKDTree(vertices[source]).query(vertices[idx])
    got = label[np.flatnonzero(source)[near]]
    trees, inv = np.unique(root[idx], return_inverse=True)
    votes = np.bincount(inv, weights=got.astype(float), minlength=len(trees)) / np.bincount(inv, minlength=len(trees))
    out[idx] = votes[inv] > 0.5
    return out


def tree_axon(neuron, arbor, tree: int, proximal_um: float, spine_count: np.ndarray | None = None
              ) -> tuple[np.ndarray, float] | None:
    """:func:`vertebrate_axon` of the tree of one of ``neuron``'s somata (the first soma in it)."""
    soma_nodes = np.asarray(neuron.skeleton.soma_nodes)
    mine = np.flatnonzero(arbor.root[soma_nodes] == tree)
    if not len(mine):
        return None
    soma = neuron.somas[int(mine[0])]
    return vertebrate_axon(arbor, tree, np.asarray(soma.center, float), float(soma.radius), proximal_um * 1e3,
                           spine_count)


def label_pieces(arbor, pieces: list[int], axon: np.ndarray, conf: np.ndarray, method: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soma-less trees ``pieces`` take the label (axon or not), confidence and method
    (``"geometry-nearest"``) of the nearest node of the soma trees (:func:`nearest_labels`)."""
    targets = np.isin(arbor.root, pieces)
    source = np.isin(arbor.root, list(arbor.soma_trees)) & ~arbor.is_soma
    if not source.any():
        return axon, conf, method
    axon = nearest_labels(arbor.sk.vertices, source, targets, axon, arbor.root) | (axon & ~targets)
    conf, method = conf.copy(), method.copy()
    _, near = cKDTree(arbor.sk.vertices[source]).query(arbor.sk.vertices[targets])
    conf[targets] = conf[np.flatnonzero(source)[near]]
    method[targets] = "geometry-nearest"
    return axon, conf, method


def multipolar(arbor, tree: int, share: float = 0.01, n_min: int = 3) -> bool:
    """True when a soma of the tree has at least ``n_min`` neurites holding ``share`` of its cable each.

    A vertebrate interneuron's axon can hold > 90 % of its cable, so its few short dendrites
    each hold a few percent; an insect neuron's soma has one neurite. Used with
    :func:`neurograph.compartments_insect.is_unipolar` to pick the rule.
    """
    from .compartments_insect import substantial_primaries

    somas = [int(s) for s in np.flatnonzero(arbor.is_soma) if arbor.root[s] == tree]
    return any(substantial_primaries(arbor, s, share) >= n_min for s in somas)
