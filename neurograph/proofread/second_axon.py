"""Axon-like pieces on dendrites: a neuron has one axon, so a second one is a merge.

The commonest merge error in EM segmentations is a passing axon fused onto a dendrite where
they touch. Its skeleton is a side branch of the dendrite (one branch where the axon ends at
the contact, two opposite ones where it passes through). What tells it from a real side
branch is what is true of axons and dendrites everywhere, without a threshold per dataset:

- **one axon** - a vertebrate neuron has a single axon, leaving the soma or a dendrite (an
  axon-carrying dendrite). An axon-like piece hanging from a dendrite of a neuron whose axon
  leaves elsewhere and is at least as large as the piece belongs to another cell; the
  larger of two axon-like subtrees is taken as the neuron's own, so a neuron whose only axon
  leaves a dendrite keeps it;
- **axon-like** - the piece scores as axon against its tree's dendrites with the evidence of
  the geometry axon rule (:func:`neurograph.compartments.vertebrate.piece_scores`: it
  meanders away from the radial direction, runs long unbranched segments, is thinner than
  the dendrites) and is not spiny;
- **uniform calibre** - axons keep their calibre along their length, dendrites taper: the
  piece's median width over its farther half is at least ``min_taper`` (0.8) of its width
  near the start;
- **thin where it joins** - its calibre (1-10 µm from its start) is far below that of the
  dendrite it hangs from, measured on both sides of the junction: the dendrite goes on
  through the contact with its own calibre (a T-junction), as it does where an axon touches
  it, while a real daughter branch takes a share of its parent's calibre.

Widths are needed (radius-less skeletons get no rows). The pieces are judged per soma tree;
the tree's axon is the labelled one (:func:`neurograph.label_compartments`) or, unlabelled,
that of the geometry rule (:func:`neurograph.compartments.vertebrate.tree_axon`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..compartments.arbor import Arbor, base_width
from ..compartments.labels import spines_per_branch
from ..compartments.vertebrate import piece_scores, tree_axon, vertebrate_axon
from ..skeleton.tree import children_csr, mark_subtree

#: columns of :func:`axon_like_pieces`
COLUMNS = ["branch", "soma", "path_um", "cable_um", "width_nm", "host_width_nm", "width_ratio", "taper", "detour",
           "segment", "width", "score", "spiny", "host_axon", "other_axon_um", "merge"]


def _host_widths(arbor: Arbor, junction: int, first: int, kid_ptr: np.ndarray, kids: np.ndarray, span: float
                 ) -> tuple[float, float]:
    """Median width of the host within ``span`` nm before the junction, and of its thickest other arm
    within ``span`` nm after it (NaN where missing); the junction's children are
    ``kids[kid_ptr[junction]:kid_ptr[junction + 1]]`` (:func:`~neurograph.skeleton.tree.children_csr`)."""
    up, v, start = [], junction, arbor.path[junction]
    while v >= 0 and not arbor.is_soma[v] and start - arbor.path[v] <= span:
        up.append(v)
        v = arbor.parent[v]
    w_up = np.nanmedian(arbor.width[up]) if up and np.isfinite(arbor.width[up]).any() else np.nan
    best = np.nan
    for c in kids[kid_ptr[junction]:kid_ptr[junction + 1]]:
        if c == first:
            continue
        top = np.zeros(arbor.n, bool)
        top[c] = True
        arm = np.flatnonzero(mark_subtree(arbor.order, arbor.parent, top) & (arbor.path <= start + span))
        w = arbor.width[arm]
        if np.isfinite(w).any() and (arbor.path[arm].max() - start) >= span / 2:  # the host goes on
            best = np.nanmax([best, np.nanmedian(w)])
    return float(w_up), float(best)


def axon_like_pieces(neuron, proximal_um: float = 30.0, min_score: float = 0.5, max_width_ratio: float = 0.6,
                     min_taper: float = 0.8, min_cable_um: float = 10.0, span_um: float = 6.0) -> pd.DataFrame:
    """Side branches of dendrites, with the evidence that each is another cell's axon.

    Parameters
    ----------
    neuron : Neuron
        Decomposed neuron (nm) with skeleton widths; compartment labels are used when present.
    proximal_um : float, default 30
        µm of path from the soma surface within which the tree's own axon starts (the geometry
        rule, :func:`~neurograph.compartments.vertebrate.tree_axon`, for unlabelled neurons).
    min_score : float, default 0.5
        Smallest axon score (log-ratio evidence, :func:`~neurograph.compartments.vertebrate.piece_scores`)
        of a merged axon piece.
    max_width_ratio : float, default 0.6
        Largest ratio of the piece's calibre to its host dendrite's.
    min_taper : float, default 0.8
        Smallest ratio of the piece's median width over its farther half (in path from its
        start) to its width near the start.
    min_cable_um : float, default 10
        Smallest piece, µm of cable.
    span_um : float, default 6
        µm of host measured on each side of the junction.

    Returns
    -------
    pandas.DataFrame
        One row per side branch (a branch whose parent is a branch, not a soma) of a soma
        tree, with at least ``min_cable_um`` of cable: ``branch`` (graph node, the root of the
        piece), ``soma``, ``path_um`` (from the soma surface to the junction), ``cable_um``,
        ``width_nm`` (the piece's, 1-10 µm from its start), ``host_width_nm`` (the smaller of
        the host's medians before and after the junction), ``width_ratio``, ``taper``, the axon evidence
        ``detour``, ``segment``, ``width``, ``score``, ``spiny``; ``host_axon`` (the piece hangs
        from the tree's axon), ``other_axon_um`` (cable of the tree's axon outside the piece) and
        ``merge`` (all criteria of the module docstring met).
    """
    sk = neuron.skeleton
    if sk is None or not len(neuron.somas):
        return pd.DataFrame(columns=COLUMNS)
    arbor = Arbor(neuron)
    if not np.isfinite(arbor.width[~arbor.is_soma]).any():  # radius-less skeleton
        return pd.DataFrame(columns=COLUMNS)
    table = neuron.branches
    n_ids = int(arbor.node_branch.max()) + 1
    spines = spines_per_branch(neuron, n_ids)
    labelled = "compartment" in table.columns
    axon_label = np.zeros(n_ids, bool)
    if labelled:
        axon_label[table.index[table["compartment"] == "axon"].to_numpy()] = True
    first_node = np.full(n_ids, -1, np.int64)
    ids, at = np.unique(arbor.node_branch[arbor.order], return_index=True)  # parents come first in order
    first_node[ids] = arbor.order[at]
    kid_ptr, kids = children_csr(arbor.parent)
    n_somas = len(neuron.somas)
    span = span_um * 1e3
    rows = []
    for s, soma_node in enumerate(sk.soma_nodes[:n_somas]):
        tree = int(arbor.root[soma_node])
        soma = neuron.somas[s]
        centre, radius = np.asarray(soma.center, float), float(soma.radius)
        if labelled:
            axon = axon_label[arbor.node_branch] & (arbor.root == tree)
        else:
            found = tree_axon(neuron, arbor, tree, proximal_um, spines)
            axon = found[0] if found is not None else np.zeros(arbor.n, bool)
        side = []
        for b in table.index:
            f = first_node[b] if b < n_ids else -1
            if f < 0 or arbor.root[f] != tree or arbor.parent[f] < 0 or arbor.is_soma[arbor.parent[f]]:
                continue
            side.append((int(b), int(f)))
        if not side:
            continue
        reference = (arbor.root == tree) & ~arbor.is_soma & ~axon
        evidence = piece_scores(arbor, tree, centre, radius, np.array([f for _, f in side]), reference, spines)
        for (b, f), ev in zip(side, evidence):
            if ev["cable"] < min_cable_um:
                continue
            top = np.zeros(arbor.n, bool)
            top[f] = True
            sub = mark_subtree(arbor.order, arbor.parent, top)
            j = int(arbor.parent[f])
            nodes = np.flatnonzero(sub)
            w = base_width(arbor, nodes, float(arbor.path[f]))
            rel = arbor.path[nodes] - arbor.path[f]
            far = nodes[(rel >= 0.5 * rel.max()) & np.isfinite(arbor.width[nodes])]
            taper = float(np.median(arbor.width[far]) / w) if len(far) and w > 0 else np.nan
            w_up, w_down = _host_widths(arbor, j, f, kid_ptr, kids, span)
            host = min(w_up, w_down) if np.isfinite([w_up, w_down]).all() else np.nan
            ratio = w / host if np.isfinite(host) and host > 0 else np.nan
            host_axon = bool(axon[j])
            other = float(arbor.edge[axon & ~sub].sum()) / 1e3
            rows.append(dict(branch=b, soma=s, path_um=float(arbor.path[f]) / 1e3, cable_um=ev["cable"], width_nm=w,
                             host_width_nm=host, width_ratio=ratio, taper=taper, detour=ev["detour"], segment=ev["segment"],
                             width=ev["width"], score=ev["score"], spiny=ev["spiny"], host_axon=host_axon,
                             other_axon_um=other, _sub=sub, _tree=tree))
        for r in rows:
            if r.get("_tree") != tree:
                continue
            axon_like = (not r["host_axon"] and not r["spiny"] and r["width_ratio"] < max_width_ratio
                         and r["taper"] >= min_taper and r["score"] >= min_score)
            if axon_like and r["other_axon_um"] < r["cable_um"] and not labelled:
                # the geometry rule's axon is (mostly) this piece: is there a clear axon without it?
                again = vertebrate_axon(arbor, tree, centre, radius, proximal_um * 1e3, spines, min_score=min_score,
                                        exclude=r["_sub"])
                if again is not None:
                    r["other_axon_um"] = max(r["other_axon_um"], float(arbor.edge[again[0]].sum()) / 1e3)
            # one axon: the neuron's own is the larger; a smaller axon-like piece on a dendrite is a merge
            r["merge"] = bool(axon_like and r["other_axon_um"] >= r["cable_um"])
    out = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows], columns=COLUMNS)
    return out.astype({"branch": np.int64, "soma": np.int64, "spiny": bool, "host_axon": bool,
                       "merge": bool})
