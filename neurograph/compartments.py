"""Axon / dendrite (apical / basal) / soma labels for every branch, skeleton node and mesh face.

:func:`label_compartments` uses synapses when the neuron has them (``neuron.synapses`` from
:meth:`Neuron.map_synapses`) and geometry otherwise:

- **synapses** (per skeleton tree with enough of them): directed synapse flow (Schneider-Mizell
  et al. 2016): for every node, the number of input -> output paths through it with the
  outputs downstream, ``pre_below * (post_total - post_below)``. The axon is the subtree below
  the node where this flow peaks (the most proximal of near-ties); for soma-less fragments the
  axon may also be the part *above* a node. Further axon subtrees (a second cell of a merge)
  are split off while a subtree still carries >= 10 % of the tree's outputs at >= 70 % purity.
- **geometry**: axons are thin, smooth and spine-free and leave the soma or a proximal
  dendrite as a single process. Every subtree starting within ``proximal`` µm of the soma is a
  candidate; its base width (first 1-10 µm) is compared with the primary neurites (for soma
  children) or with its parent; the thinnest long, spine-poor candidate (< 0.6 of the
  reference width) becomes the axon.

- **insect geometry** (``method="insect"``, or ``"auto"`` for a soma with a single substantial
  neurite): the axon is the arbor beyond the long tract between two arbors
  (:mod:`neurograph.compartments_insect`).

Pyramidal-like cells: among the dendritic primary neurites, one that is clearly the thickest and
reaches farthest (base width >= 1.2 x and width ratio x reach ratio >= 1.8 against the median of
the others, with >= 3 dendritic primaries, >= 2 of them substantial) is labelled ``apical`` and the others ``basal``; otherwise all are
``dendrite``. SWC types: 1 soma, 2 axon, 3 dendrite/basal, 4 apical.

Radius-less skeletons (CAVE skeleton service, pcg_skel; widths NaN): the width rules cannot run.
The axon then comes from synapse flow only (without synapses the tree is all ``dendrite``, method
``default``), and the apical dendrite from the pia direction only: the primary dendrite that leaves the soma
towards the pia (first 20 µm, within 60 degrees) and reaches >= 2 x farther towards it than any other neurite not
leaving away from it (an unlabelled axon, leaving from the far side, may climb as high), lying
mostly above the soma (``apical_method``
``pia``). Every branch reports the rule that labelled it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from .errors import InputError
from .features.kernels import root_labels
from .graph.kernels import subtree_sum

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .graph import Neuron

SWC_TYPE = {"soma": 1, "axon": 2, "dendrite": 3, "basal": 3, "apical": 4}
MIN_SYNAPSES = 10  # per tree and direction, for the synapse method


@njit(cache=True)
def mark_subtree(order: np.ndarray, parent: np.ndarray, top: np.ndarray) -> np.ndarray:
    """True for every node at or below a node with ``top`` True."""
    out = top.copy()
    for k in range(order.shape[0]):
        node = order[k]
        if parent[node] >= 0 and out[parent[node]]:
            out[node] = True
    return out


class _Arbor:
    """Skeleton arrays shared by both methods (nm)."""

    def __init__(self, neuron) -> None:
        from .features.synapses import _node_path_to_soma

        sk = neuron.skeleton
        self.sk = sk
        self.parent = np.asarray(sk.parent, np.int64)
        self.order = np.asarray(sk.topological_order(), np.int64)
        self.n = sk.n_nodes
        self.edge = sk.edge_lengths
        self.path = _node_path_to_soma(neuron)
        self.root = root_labels(self.order, self.parent)
        self.is_soma = np.zeros(self.n, bool)
        self.is_soma[sk.soma_nodes] = True
        r = np.asarray(sk.radius, float)
        self.width = np.where(np.isfinite(r) & (r > 0), 2 * r, np.nan)
        self.node_branch = np.asarray(neuron.node_branch, np.int64)
        self.soma_trees = set(self.root[sk.soma_nodes].tolist())

    def below(self, node: int) -> np.ndarray:
        top = np.zeros(self.n, bool)
        top[node] = True
        return mark_subtree(self.order, self.parent, top)


# --- synapse flow --------------------------------------------------------------------------

def _flow_axons(arbor: _Arbor, pre: np.ndarray, post: np.ndarray, tree: int) -> tuple[np.ndarray, float] | None:
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
        part = _carve_dendrites(arbor, part, pre_left, post_left)
        axon |= part
        pre_left = np.where(part, 0, pre_left)
        post_left = np.where(part, 0, post_left)
    # confidence: segregation of outputs onto the axon and inputs onto the rest
    a_pre, a_post = pre[axon].sum(), post[axon].sum()
    d_pre, d_post = pre[in_tree & ~axon].sum(), post[in_tree & ~axon].sum()
    conf = 0.5 * (a_pre / max(a_pre + a_post, 1) + d_post / max(d_pre + d_post, 1))
    return axon, float(conf)


def _carve_dendrites(arbor: _Arbor, part: np.ndarray, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
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


def _output_twigs(neuron, arbor: _Arbor, pre: np.ndarray, post: np.ndarray, axon: np.ndarray,
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


# --- geometry ------------------------------------------------------------------------------

def _base_width(arbor: _Arbor, nodes: np.ndarray, start_path: float) -> float:
    rel = arbor.path[nodes] - start_path
    w = arbor.width[nodes]
    pick = (rel >= 1000) & (rel <= 10000) & np.isfinite(w)
    if pick.sum() < 2:
        pick = (rel <= 10000) & np.isfinite(w)
    if not pick.any():
        pick = np.isfinite(w)
    return float(np.median(w[pick])) if pick.any() else np.nan


def _median(values) -> float:
    """Median of the finite values, NaN (quietly) when there are none."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if len(v) else np.nan


def _wmedian(values: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return np.nan
    v, w = values[ok], weights[ok]
    order = np.argsort(v)
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, cum[-1] / 2)])


def _geometry_axon(neuron, arbor: _Arbor, tree: int, branches: pd.DataFrame, spine_count: np.ndarray,
                   proximal: float, post: np.ndarray | None = None,
                   debug: bool = False) -> tuple[np.ndarray, float] | None:
    """Axon nodes of one tree from geometry, and a confidence (0-1); None if no candidate."""
    in_tree = arbor.root == tree
    if not np.isfinite(arbor.width[in_tree]).any():
        return None  # radius-less: no width rule (the caller reports "default")
    graph = neuron.graph
    n_somas = len(neuron.somas)
    import networkx as nx

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
    base = {b: _base_width(arbor, bnodes[b], start[b]) for b in tree_branches}
    primaries = [b for b in tree_branches if branches.at[b, "parent"] < n_somas]
    # stubs (< 10 µm of cable) are not neurites to compare with
    primaries = [b for b in primaries if branches.loc[[d for d in [b, *nx.descendants(graph, b)]
                                                       if d in branches.index], "length"].sum() >= 10.0] or primaries
    ref_primary = _median([base[b] for b in primaries])
    total_spines = spine_count.sum()
    dend_len = branches.loc[tree_branches, "length"].sum()
    density_all = total_spines / dend_len if dend_len > 0 else 0.0
    best, best_score, best_thin = None, 0.0, 1.0
    tree_post = post[in_tree].sum() if post is not None else 0.0
    tree_cable = dend_len
    for b in tree_branches:
        par = int(branches.at[b, "parent"])
        if start[b] > proximal * 1e3:
            continue
        sub = [b, *nx.descendants(graph, b)]
        cable = branches.loc[[s for s in sub if s in branches.index], "length"].sum()
        if cable < 20.0 or cable > 0.75 * tree_cable:
            continue  # too short to tell, or most of the arbor (the arbor is not mostly axon)
        if par < n_somas:
            others = [base[p] for p in primaries if p != b]
            ref = _median(others) if others else ref_primary
        else:
            pn = bnodes.get(par, np.empty(0, np.int64))
            tail = pn[arbor.path[pn] >= arbor.path[pn].max() - 5000] if len(pn) else pn
            ref = _median(arbor.width[tail]) if len(tail) else ref_primary
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
        ratio = _wmedian(arbor.width[sub_nodes], arbor.edge[sub_nodes]) / \
            _wmedian(arbor.width[rest], arbor.edge[rest]) if rest.any() else 0.0
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


# --- apical / basal ------------------------------------------------------------------------

def _reach(arbor: _Arbor, nodes: np.ndarray, center: np.ndarray, pia: np.ndarray | None) -> float:
    """How far (nm) a subtree's nodes reach from the soma centre: radially, or towards the pia."""
    if not len(nodes):
        return 0.0
    offset = arbor.sk.vertices[nodes] - center
    if pia is None:
        return float(np.linalg.norm(offset, axis=1).max())
    return float(max((offset @ pia).max(), 0.0))


def _limbs(neuron, arbor: _Arbor, branches: pd.DataFrame, prim: list[int], center: np.ndarray,
           pia: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Base width (nm), reach (nm, :func:`_reach`), cable (µm) and skeleton nodes of the
    subtree of each primary branch in ``prim``."""
    import networkx as nx

    w, reach, cable, nodes = [], [], [], []
    for b in prim:
        sub = [b, *nx.descendants(neuron.graph, b)]
        n = np.flatnonzero(np.isin(arbor.node_branch, sub))
        w.append(_base_width(arbor, np.flatnonzero(arbor.node_branch == b), float(branches.at[b, "path_to_soma"]) * 1e3))
        reach.append(_reach(arbor, n, center, pia))
        cable.append(branches.loc[[d for d in sub if d in branches.index], "length"].sum())
        nodes.append(n)
    return np.array(w), np.array(reach), np.array(cable), nodes


def _leaving_cos(arbor: _Arbor, nodes: list[np.ndarray], center: np.ndarray, pia: np.ndarray,
                 within: float = 20e3) -> np.ndarray:
    """Cosine between the pia direction and the direction in which each subtree leaves the soma
    (its nodes within ``within`` nm of path from the soma surface, mean position)."""
    out = np.zeros(len(nodes))
    for i, nd in enumerate(nodes):
        near = nd[arbor.path[nd] <= within] if len(nd) else nd
        if not len(near):
            near = nd[np.argsort(arbor.path[nd])[:1]]
        v = arbor.sk.vertices[near].mean(axis=0) - center if len(near) else np.zeros(3)
        norm = np.linalg.norm(v)
        out[i] = float(v @ pia / norm) if norm > 0 else 0.0
    return out


def _apical_limb(neuron, arbor: _Arbor, branches: pd.DataFrame, axon_branch: set,
                 pia: np.ndarray | None = None) -> dict[int, tuple[int, str]]:
    """Soma id -> (the primary branch that is the apical dendrite, the rule that found it),
    pyramidal-like cells only.

    ``"width"``: thickest x farthest (every primary has a width). Without widths (radius-less
    skeletons) and with a pia direction, ``"pia"``: the primary that leaves the soma towards the
    pia (within 60 degrees) and reaches farthest towards it, >= 2 x as far as any other neurite that does not leave
    away from the pia. Without widths or pia nothing is apical.
    """
    from .compartments_vertebrate import axis_apical, axis_ratios

    out = {}
    for s in range(len(neuron.somas)):
        prim = [b for b in neuron.graph.successors(s) if b not in axon_branch]
        if len(prim) < 3:
            continue
        center = np.asarray(neuron.somas[s].center, float)
        w, reach, cable, nodes = _limbs(neuron, arbor, branches, prim, center, pia)
        with_width = bool(np.isfinite(w).all())
        if pia is None:  # the apical axis from the neuron itself (widths not needed)
            k = axis_apical(arbor.sk.vertices, center, nodes)
            if k is not None:
                out[s] = (prim[k], "axis")
                continue
            if not with_width:
                continue
        if with_width:
            k = int(np.argmax(w * reach))
            others = np.delete(np.arange(len(prim)), k)
            z = reach[k] / max(np.median(reach[others]), 1e-9) * w[k] / np.median(w[others])
            wide = w[k] / np.median(w[others]) >= 1.2
        else:  # no widths: it leaves towards the pia and reaches >= 2 x farther than any other
            # neurite that does not leave away from it (an unlabelled axon leaves from the
            # soma's far side, then its collaterals may climb as high as the apical)
            leaving = _leaving_cos(arbor, nodes, center, pia)
            k = int(np.argmax(np.where(leaving >= 0.5, reach, -1.0)))
            if leaving[k] < 0.5:  # an apical trunk heads for the pia (within 60 degrees)
                continue
            others = np.delete(np.arange(len(prim)), k)
            rivals = others[leaving[others] >= 0]
            z = 1.8 * reach[k] / max(2.0 * np.max(reach[rivals], initial=0.0), 1e-9)
            wide = True
        big_others = np.sum(cable[others] >= max(20.0, 0.1 * cable[k]))
        # with a pia direction, an apical dendrite lies mostly above its soma
        upward = pia is None or float(((arbor.sk.vertices[nodes[k]] - center) @ pia).mean()) > 0
        # the thickest x farthest also reaches clearly farther along its axis than the others at all
        along = pia is not None or axis_ratios(arbor.sk.vertices, center, nodes)[k] >= 1.1
        if np.isfinite(z) and z >= 1.8 and wide and upward and along and big_others >= 2 \
                and cable[others].sum() >= 0.15 * cable[k]:
            out[s] = (prim[k], "width" if with_width else "pia")
    return out


# --- entry point ---------------------------------------------------------------------------

def label_compartments(neuron: Neuron, use_synapses: bool | str = "auto", apical: bool | str = "auto",
                       proximal: float = 30.0, pia: Sequence[float] | None = None,
                       method: str = "auto") -> pd.DataFrame:
    """Label every branch ``soma``, ``axon``, ``dendrite`` (or ``apical``/``basal``) with a confidence.

    Parameters
    ----------
    neuron : Neuron
        Synapses are taken from ``neuron.synapses`` (:meth:`Neuron.map_synapses`) and spines from
        ``neuron.spines`` / ``n_spines`` when present.
    use_synapses : bool or "auto", default "auto"
        ``"auto"``: synapse flow in every tree with >= 10 pre- and 10 postsynaptic sites,
        geometry elsewhere. ``False``: geometry only. ``True``: require synapses.
    apical : bool or "auto", default "auto"
        Split dendrites into apical and basal: ``"auto"`` when one primary dendrite clearly
        dominates, ``True`` always (thickest x farthest primary), ``False`` never.
    proximal : float, default 30
        µm of path from the soma surface within which an axon may leave a dendrite.
    pia : (3,) floats, optional
        Direction towards the pia in the mesh's coordinates (e.g. ``(0, -1, 0)`` for MICrONS
        minnie65, where y is cortical depth). Given, the apical dendrite is the thick primary
        dendrite that reaches farthest towards the pia, and with ``apical="auto"`` only when
        most of its subtree lies above the soma; without it, the one that reaches farthest in
        any direction.
    method : {"auto", "vertebrate", "insect"}, default "auto"
        Geometry-only axon rule: ``"vertebrate"`` (above), ``"insect"`` (unipolar neurons:
        :func:`neurograph.compartments_insect.insect_axon`), ``"auto"``: insect for trees
        whose soma has a single substantial neurite, vertebrate otherwise. Dataset profiles
        set it (``dataset="hemibrain"`` -> ``"insect"``).

    Returns
    -------
    pandas.DataFrame
        Index: graph node (somata and branches); ``compartment``, ``compartment_confidence``
        (0-1), ``compartment_method`` (``soma``, ``synapses``, ``geometry``, ``geometry-insect``,
        ``default``: no rule could decide, e.g. a radius-less skeleton without synapses, so the
        tree is all dendrite with confidence 0.5) and ``apical_method`` for dendrites split into
        apical and basal (``width``: thickest x farthest; ``pia``: radius-less, the primary
        reaching farthest towards the pia; ``reach``: forced, radius-less, no pia; ``""`` not split).
        The labels are also written to the graph (so they appear in ``neuron.branches``), to
        ``neuron.skeleton.node_type`` (SWC 1/2/3/4), ``neuron.face_compartment`` (SWC code
        per mesh face) and the ``compartment`` column of ``neuron.synapses``.
    """
    if use_synapses not in (True, False, "auto") or apical not in (True, False, "auto"):
        raise InputError("use_synapses and apical must be True, False or 'auto'")
    if method not in ("auto", "vertebrate", "insect"):
        raise InputError(f"method must be 'auto', 'vertebrate' or 'insect', got {method!r}")
    from .compartments_insect import insect_axon, is_unipolar
    from .compartments_vertebrate import label_pieces as _label_pieces, multipolar as _multipolar, \
        tree_axon as _vertebrate_axon
    if pia is not None:
        pia = np.asarray(pia, float).reshape(-1)
        if pia.shape != (3,) or not np.isfinite(pia).all() or not np.linalg.norm(pia) > 0:
            raise InputError(f"pia must be a non-zero direction (x, y, z), got {pia!r}")
        pia = pia / np.linalg.norm(pia)
    arbor = _Arbor(neuron)
    branches = neuron.branches
    n_somas = len(neuron.somas)
    n_ids = int(arbor.node_branch.max()) + 1 if arbor.n else n_somas
    syn = getattr(neuron, "synapses", None)
    if use_synapses is True and (syn is None or not len(syn)):
        raise InputError("use_synapses=True but the neuron has no synapses; call neuron.map_synapses(table) first")
    pre = np.zeros(arbor.n)
    post = np.zeros(arbor.n)
    if use_synapses and syn is not None and len(syn):
        ok = syn["mapped"].to_numpy(bool) & (syn["node"].to_numpy() >= 0)
        node = syn["node"].to_numpy()[ok].astype(np.int64)
        is_pre = syn["direction"].to_numpy()[ok] == "pre"
        pre = np.bincount(node[is_pre], minlength=arbor.n).astype(float)
        post = np.bincount(node[~is_pre], minlength=arbor.n).astype(float)
    spine_count = _spines_per_branch(neuron, n_ids)

    axon = np.zeros(arbor.n, bool)
    conf_node = np.full(arbor.n, 0.5)
    method_node = np.full(arbor.n, "default", dtype=object)
    pieces = []  # soma-less trees of a neuron with a soma, labelled by geometry: done last
    for tree in np.unique(arbor.root):
        in_tree = arbor.root == tree
        found = _flow_axons(arbor, pre, post, tree) if (use_synapses and pre.sum() > 0) else None
        how = "synapses"
        if found is None:
            if use_synapses is True:
                continue
            insect = method == "insect" or (method == "auto" and is_unipolar(arbor, tree)
                                            and not _multipolar(arbor, tree))
            if insect:
                found, how = insect_axon(arbor, tree), "geometry-insect"
            elif tree in arbor.soma_trees:
                found, how = _vertebrate_axon(neuron, arbor, tree, proximal, spine_count), "geometry"
            elif n_somas:
                pieces.append(tree)
                continue
            else:
                found, how = _geometry_axon(neuron, arbor, tree, branches, spine_count, proximal, post), "geometry"
        if found is None:
            conf_node[in_tree] = 0.5
            continue
        part, conf = found
        axon |= part
        conf_node[in_tree] = conf
        method_node[in_tree] = how
    if pieces:
        axon, conf_node, method_node = _label_pieces(arbor, pieces, axon, conf_node, method_node)

    if use_synapses and pre.sum() > 0:
        axon |= _output_twigs(neuron, arbor, pre, post, axon)

    # branch labels: cable majority of their nodes
    cable = np.maximum(arbor.edge, 1e-9)
    axon_cable = np.bincount(arbor.node_branch, weights=cable * axon, minlength=n_ids)
    all_cable = np.bincount(arbor.node_branch, weights=cable, minlength=n_ids)
    is_axon_branch = axon_cable > 0.5 * all_cable
    axon_branches = {int(b) for b in branches.index if is_axon_branch[b]}
    labels = {i: "soma" for i in range(n_somas)}
    for b in branches.index:
        labels[int(b)] = "axon" if b in axon_branches else "dendrite"
    apical_how: dict[int, str] = {}
    if apical is not False and n_somas:
        import networkx as nx

        tops = _apical_limb(neuron, arbor, branches, axon_branches, pia) if apical == "auto" else \
            _apical_limb_forced(neuron, arbor, branches, axon_branches, pia)
        for s, (top, how) in tops.items():
            ap = {top, *nx.descendants(neuron.graph, top)}
            for d in nx.descendants(neuron.graph, s):
                if labels.get(d) == "dendrite":
                    labels[d] = "apical" if d in ap else "basal"
                    apical_how[d] = how

    _, first = np.unique(arbor.node_branch[arbor.order], return_index=True)
    first_node = {int(arbor.node_branch[n]): int(n) for n in arbor.order[first]}
    rows = []
    for b in range(n_ids):
        if b not in labels:
            continue
        nd = first_node.get(b)
        rows.append({"branch": b, "compartment": labels[b],
                     "compartment_confidence": 1.0 if b < n_somas else float(conf_node[nd]) if nd is not None else 0.5,
                     "compartment_method": "soma" if b < n_somas else method_node[nd] if nd is not None else "default",
                     "apical_method": apical_how.get(b, "")})
    table = pd.DataFrame(rows).set_index("branch")
    _apply(neuron, table, arbor, use_synapses=bool(use_synapses))
    neuron.settings["label_compartments"] = {"use_synapses": use_synapses, "apical": apical, "proximal": proximal,
                                             "pia": None if pia is None else [float(v) for v in pia],
                                             "method": method}
    return table


def _apical_limb_forced(neuron, arbor, branches, axon_branches, pia=None) -> dict[int, tuple[int, str]]:
    """Soma id -> (its thickest primary dendrite (towards the pia: thickest x reach towards
    it), the rule); without widths the one reaching farthest (towards the pia, or the most
    cable x radial reach without it)."""
    out = {}
    for s in range(len(neuron.somas)):
        prim = [b for b in neuron.graph.successors(s) if b not in axon_branches]
        if prim:
            w, reach, cable, _ = _limbs(neuron, arbor, branches, prim, np.asarray(neuron.somas[s].center, float), pia)
            if np.isfinite(w).all():
                out[s] = (prim[int(np.argmax(w * reach if pia is not None else w))], "width")
            else:
                out[s] = (prim[int(np.argmax(reach if pia is not None else cable * reach))],
                          "pia" if pia is not None else "reach")
    return out


def _spines_per_branch(neuron, n_ids: int) -> np.ndarray:
    spines = getattr(neuron, "spines", None)
    if spines is not None and len(spines) and "branch" in spines.columns:
        b = spines["branch"].to_numpy()
        b = b[(b >= 0) & (b < n_ids)].astype(np.int64)
        return np.bincount(b, minlength=n_ids).astype(float)
    branches = neuron.branches
    out = np.zeros(n_ids)
    if "n_spines" in branches.columns:
        out[branches.index.to_numpy()] = branches["n_spines"].fillna(0).to_numpy(float)
    return out


def _apply(neuron, table: pd.DataFrame, arbor: _Arbor, use_synapses: bool = True) -> None:
    """Write labels to the graph, skeleton node types, mesh faces and the synapse table."""
    for b, row in table.iterrows():
        neuron.graph.nodes[int(b)].update(compartment=row["compartment"],
                                          compartment_confidence=float(row["compartment_confidence"]),
                                          compartment_method=row["compartment_method"])
    code = np.zeros(int(table.index.max()) + 1, np.int8)
    code[table.index.to_numpy()] = [SWC_TYPE[c] for c in table["compartment"]]
    neuron.skeleton.node_type = code[arbor.node_branch].astype(np.int8)
    if neuron.face_branch is not None:
        neuron.face_compartment = code[np.asarray(neuron.face_branch, np.int64)]
    syn = getattr(neuron, "synapses", None)
    if syn is not None and len(syn):
        names = table["compartment"].to_dict()
        b = syn["branch"].to_numpy()
        comp = np.array([names.get(int(x), "unmapped") if x >= 0 else "unmapped" for x in b], dtype=object)
        spine = syn["spine"].to_numpy() if "spine" in syn.columns else np.full(len(syn), -1)
        pre = syn["direction"].to_numpy() == "pre"
        # a "spine" on a dendrite carrying outputs and no inputs is an axon piece (a bouton of an
        # axon merged onto the dendrite): its faces and synapses are axon
        on = (spine >= 0) & (comp != "axon") & (comp != "unmapped") & use_synapses
        if on.any():
            n_pre = pd.Series(pre[on]).groupby(spine[on]).sum()
            n_post = pd.Series(~pre[on]).groupby(spine[on]).sum()
            axonal = n_pre.index[(n_pre >= 1) & (n_post == 0)].to_numpy()
            comp[np.isin(spine, axonal) & on] = "axon"
            face_spine = getattr(neuron, "face_spine", None)
            if len(axonal) and face_spine is not None and neuron.face_branch is not None:
                neuron.face_compartment[np.isin(face_spine, axonal)] = SWC_TYPE["axon"]
        syn["compartment"] = comp.astype(str)
        if "on_spine" in syn.columns:  # spines are dendritic: protrusions of the axon are boutons
            syn["on_spine"] = syn["on_spine"].to_numpy(bool) & (comp != "axon")
            from .features.synapses import branch_synapse_counts

            counts = branch_synapse_counts(syn, neuron.branches, len(code))
            for b, n in counts["n_post_spine"].items():
                if b in neuron.graph and "n_post_spine" in neuron.graph.nodes[b]:
                    neuron.graph.nodes[b]["n_post_spine"] = int(n)


def compartment_lengths(neuron: Neuron) -> dict:
    """Cable length per compartment, in µm, from the branch table.

    Parameters
    ----------
    neuron : Neuron
        Neuron whose ``branches`` table may have a ``compartment`` column (see
        :func:`label_compartments`).

    Returns
    -------
    dict of str to float
        ``axon_length``, ``dendrite_length`` (dendrite + apical + basal), ``apical_length``,
        ``basal_length``, in µm (0 for an absent compartment); empty when the neuron is not
        labelled.
    """
    branches = neuron.branches
    if "compartment" not in branches.columns:
        return {}
    length = branches.groupby("compartment")["length"].sum()
    get = lambda k: float(length.get(k, 0.0))  # noqa: E731
    return {"axon_length": get("axon"), "dendrite_length": get("dendrite") + get("apical") + get("basal"),
            "apical_length": get("apical"), "basal_length": get("basal")}
