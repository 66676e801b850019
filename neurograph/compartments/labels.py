"""Axon / dendrite (apical / basal) / soma labels for every branch, skeleton node and mesh face.

:func:`label_compartments` uses synapses when the neuron has them (``neuron.synapses`` from
:meth:`Neuron.map_synapses`) and geometry otherwise:

- **synapses** (per skeleton tree with enough of them): directed synapse flow (Schneider-Mizell
  et al. 2016): for every node, the number of input -> output paths through it with the
  outputs downstream, ``pre_below * (post_total - post_below)``. The axon is the subtree below
  the node where this flow peaks (the most proximal of near-ties); for soma-less fragments the
  axon may also be the part *above* a node. Further axon subtrees (a second cell of a merge)
  are split off while a subtree still carries >= 10 % of the tree's outputs at >= 70 % purity.
- **geometry** (vertebrate, :mod:`neurograph.compartments.vertebrate`; with or without
  radii): a neuron has one axon, a whole subtree leaving the soma or a proximal dendrite
  (within ``proximal_um`` µm). Each candidate is compared with the rest of its tree: axons
  meander and recurve (path / straight distance to the soma), run longer branches and, where
  radii are known, are thinner; spiny candidates are dendrites. The best candidate is the axon
  when the evidence is strong enough, else nothing is (e.g. a dendrite-only reconstruction).
  Soma-less pieces of a neuron with a soma (a tracing broken into pieces) are axon when the
  soma's tree has one (method ``geometry-pieces``). Soma-less neurons (fragments) keep the
  width rule (:mod:`.geometry`).

- **insect geometry** (``method="insect"``, or ``"auto"`` for a soma with a single substantial
  neurite): the axon is the arbor beyond the long tract between two arbors
  (:mod:`neurograph.compartments.insect`).

Pyramidal-like cells (>= 3 dendritic primary neurites): without a pia direction, the apical
dendrite is the primary that reaches much farther along its own axis (soma -> its farthest
node) than any other primary reaches at all (>= 1.8 x; ``apical_method`` ``axis``: no widths
needed, the axis comes from the neuron, not the file's axes); failing that, with widths, one that
is clearly the thickest and reaches farthest (base width >= 1.2 x and width ratio x reach ratio
>= 1.8 against the median of the others, >= 2 others substantial, and >= 1.1 x along its axis;
``width``). With a pia direction, the thickest x farthest towards the pia (``width``), or
without widths the primary that leaves the soma towards the pia (first 20 µm, within 60
degrees) and reaches >= 2 x farther towards it than any other neurite not leaving away from it,
lying mostly above the soma (``pia``). Otherwise all are ``dendrite``. SWC types: 1 soma, 2
axon, 3 dendrite/basal, 4 apical. Radius-less skeletons (CAVE skeleton service, pcg_skel;
widths NaN) use the width-free rules. Every branch reports the rule that labelled it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import networkx as nx
import numpy as np
import pandas as pd

from ..arrays import lookup
from ..codes import COMPARTMENT_NAMES, SWC_TYPE
from ..errors import InputError, check_direction, check_number, renamed_parameters
from ..graph.annotations import register_annotation
from ..graph.labels import apply_node_labels
from ..synapses.mapping import branch_synapse_counts
from .apical import apical_limb, apical_limb_forced
from .arbor import Arbor
from .flow import flow_axons, output_twigs
from .geometry import geometry_axon
from .insect import insect_axon, is_unipolar
from .outputs import outputs_to_axon
from .vertebrate import label_pieces, multipolar, tree_axon

if TYPE_CHECKING:  # pragma: no cover
    from ..graph import Neuron


@renamed_parameters(proximal="proximal_um")
def label_compartments(neuron: Neuron, use_synapses: bool | str = "auto", apical: bool | str = "auto",
                       proximal_um: float = 30.0, pia: Sequence[float] | None = None,
                       method: str = "auto", outputs_on_axon: bool | None = None,
                       inplace: bool = False) -> Neuron:
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
        dominates, ``True`` always (thickest x farthest primary), ``False`` never. ``"auto"``
        never splits with ``method="insect"``, nor in a tree whose axon the insect rule found
        (``"auto"``, no synapse flow, a single substantial neurite at the soma): a unipolar
        neuron has no apical dendrite, and the stubs a mesh soma leaves are not basal
        dendrites. (A vertebrate cell whose axon holds nearly all the cable also has a single
        substantial neurite; with synapses its axon comes from the flow, and it keeps its split.)
    proximal_um : float, default 30
        µm of path from the soma surface within which an axon may leave a dendrite.
    pia : (3,) floats, optional
        Direction towards the pia in the mesh's coordinates (e.g. ``(0, -1, 0)`` for MICrONS
        minnie65, where y is cortical depth). Given, the apical dendrite is the thick primary
        dendrite that reaches farthest towards the pia, and with ``apical="auto"`` only when
        most of its subtree lies above the soma; without it, the one that reaches farthest in
        any direction.
    method : {"auto", "vertebrate", "insect"}, default "auto"
        Geometry-only axon rule: ``"vertebrate"`` (above), ``"insect"`` (unipolar neurons:
        :func:`neurograph.compartments.insect.insect_axon`), ``"auto"``: insect for trees
        whose soma has a single substantial neurite, vertebrate otherwise. Dataset profiles
        set it (``dataset="hemibrain"`` -> ``"insect"``).
    outputs_on_axon : bool, optional
        After labelling with synapses, a presynaptic site mapped off the axon moves to the
        nearest axon surface within the mapping's tolerance, if there is one
        (:func:`neurograph.compartments.outputs.outputs_to_axon`: the annotation point of an
        axon's synapse onto a partner that also touches a dendrite can lie nearer the
        dendrite). Default: on, except with ``method="insect"`` (insect dendrites make
        outputs). The number moved is ``synapse_report["n_outputs_moved_to_axon"]``.
    inplace : bool, default False
        Change ``neuron`` itself (and return it) instead of returning a new Neuron.

    Returns
    -------
    Neuron
        Labelled: every graph node (somata and branches) has ``compartment``, ``compartment_confidence``
        (0-1), ``compartment_method`` (``soma``, ``synapses``, ``geometry``, ``geometry-insect``,
        ``geometry-pieces`` (a soma-less piece of a neuron with a soma),
        ``default``: no rule could decide, e.g. a radius-less skeleton without synapses, so the
        tree is all dendrite with confidence 0.5) and ``apical_method`` for dendrites split into
        apical and basal (``width``: thickest x farthest; ``pia``: radius-less, the primary
        reaching farthest towards the pia; ``reach``: forced, radius-less, no pia; ``""`` not split).
        These are in ``neuron.branches`` and :func:`compartment_table` (somata included); the
        labels are also written to ``neuron.skeleton.node_type`` (SWC 1/2/3/4),
        ``neuron.face_compartment`` (SWC code per mesh face) and the ``compartment`` column of
        ``neuron.synapses``. The parameters are recorded in ``neuron.settings
        ["label_compartments"]`` (to label again after the graph changes).
    """
    if use_synapses not in (True, False, "auto") or apical not in (True, False, "auto"):
        raise InputError("use_synapses and apical must be True, False or 'auto'")
    if method not in ("auto", "vertebrate", "insect"):
        raise InputError(f"method must be 'auto', 'vertebrate' or 'insect', got {method!r}")
    proximal_um = check_number(proximal_um, "proximal_um", "µm")
    if pia is not None:
        pia = check_direction(pia, "pia")
    neuron = neuron if inplace else neuron.copy()
    arbor = Arbor(neuron)
    branches = neuron.branches
    n_somas = len(neuron.somas)
    n_ids = int(arbor.node_branch.max()) + 1 if arbor.n else n_somas
    syn = getattr(neuron, "synapses", None)
    if use_synapses is True and (syn is None or not len(syn)):
        raise InputError("use_synapses=True but the neuron has no synapses; call neurograph.map_synapses(neuron, table) first")
    pre = np.zeros(arbor.n)
    post = np.zeros(arbor.n)
    if use_synapses and syn is not None and len(syn):
        ok = syn["mapped"].to_numpy(bool) & (syn["node"].to_numpy() >= 0)
        node = syn["node"].to_numpy()[ok].astype(np.int64)
        is_pre = syn["direction"].to_numpy()[ok] == "pre"
        pre = np.bincount(node[is_pre], minlength=arbor.n).astype(float)
        post = np.bincount(node[~is_pre], minlength=arbor.n).astype(float)
    spine_count = spines_per_branch(neuron, n_ids)

    axon = np.zeros(arbor.n, bool)
    conf_node = np.full(arbor.n, 0.5)
    method_node = np.full(arbor.n, "default", dtype=object)
    pieces = []  # soma-less trees of a neuron with a soma, labelled by geometry: done last

    def insect_like(tree: int) -> bool:
        return method == "insect" or (method == "auto" and is_unipolar(arbor, tree) and not multipolar(arbor, tree))

    insect_trees: set[int] = set()  # trees whose axon the insect rule found: no apical dendrite there
    for tree in np.unique(arbor.root):
        in_tree = arbor.root == tree
        found = flow_axons(arbor, pre, post, tree) if (use_synapses and pre.sum() > 0) else None
        how = "synapses"
        if found is None:
            if use_synapses is True:
                continue
            if insect_like(tree):
                found, how = insect_axon(arbor, tree), "geometry-insect"
                insect_trees.add(int(tree))
            elif tree in arbor.soma_trees:
                found, how = tree_axon(neuron, arbor, tree, proximal_um, spine_count), "geometry"
            elif n_somas:
                pieces.append(tree)
                continue
            else:
                found, how = geometry_axon(neuron, arbor, tree, branches, spine_count, proximal_um, post), "geometry"
        if found is None:
            conf_node[in_tree] = 0.5
            continue
        part, conf = found
        axon |= part
        conf_node[in_tree] = conf
        method_node[in_tree] = how
    if pieces:
        axon, conf_node, method_node = label_pieces(arbor, pieces, axon, conf_node, method_node)

    if use_synapses and pre.sum() > 0:
        axon |= output_twigs(neuron, arbor, pre, post, axon)

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
        tops = apical_limb(neuron, arbor, branches, axon_branches, pia) if apical == "auto" else \
            apical_limb_forced(neuron, arbor, branches, axon_branches, pia)
        if apical == "auto":  # unipolar (insect-like) cells have no apical dendrite
            soma_nodes = neuron.skeleton.soma_nodes
            tops = {s: top for s, top in tops.items()
                    if method != "insect" and int(arbor.root[soma_nodes[s]]) not in insect_trees}
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
    apply_labels(neuron, table, arbor, use_synapses=bool(use_synapses))
    if outputs_on_axon is None:
        outputs_on_axon = method != "insect"
    if outputs_on_axon and use_synapses and pre.sum() > 0:
        moved = outputs_to_axon(neuron)
        neuron.synapse_report = {**(neuron.synapse_report or {}), "n_outputs_moved_to_axon": moved}
    neuron.settings["label_compartments"] = {"use_synapses": use_synapses, "apical": apical, "proximal_um": proximal_um,
                                             "pia": None if pia is None else [float(v) for v in pia],
                                             "method": method, "outputs_on_axon": bool(outputs_on_axon)}
    return neuron


def compartment_table(neuron) -> pd.DataFrame:
    """The compartment labels of a labelled neuron as a table.

    Parameters
    ----------
    neuron : Neuron
        After :func:`label_compartments`.

    Returns
    -------
    pandas.DataFrame
        Index ``branch`` (graph node: somata and branches); ``compartment``,
        ``compartment_confidence`` (0-1), ``compartment_method``, ``apical_method``; empty when
        the neuron is not labelled.
    """
    cols = ["compartment", "compartment_confidence", "compartment_method", "apical_method"]
    rows = {b: {c: d.get(c, "") for c in cols} for b, d in neuron.graph.nodes(data=True) if d.get("compartment")}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
    table.index.name = "branch"
    return table.sort_index()


def spines_per_branch(neuron, n_ids: int) -> np.ndarray:
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


def apply_labels(neuron, table: pd.DataFrame, arbor: Arbor, use_synapses: bool = True) -> None:
    """Write labels to the graph, skeleton node types, mesh faces and the synapse table."""
    neuron.set_branch_values({int(b): dict(compartment=c, compartment_confidence=float(conf), compartment_method=m,
                                           apical_method=a)
                              for b, c, conf, m, a in zip(table.index, table["compartment"],
                                                          table["compartment_confidence"], table["compartment_method"],
                                                          table["apical_method"])})
    code = np.zeros(int(table.index.max()) + 1, np.int8)
    code[table.index.to_numpy()] = [SWC_TYPE[c] for c in table["compartment"]]
    neuron.skeleton.node_type = code[arbor.node_branch].astype(np.int8)
    if neuron.face_branch is not None:
        neuron.face_compartment = code[np.asarray(neuron.face_branch, np.int64)]
    syn = getattr(neuron, "synapses", None)
    if syn is not None and len(syn):
        comp = lookup(syn["branch"].to_numpy(), table["compartment"].to_dict(), "unmapped")
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
            counts = branch_synapse_counts(syn, neuron.branches, len(code))
            neuron.set_branch_values({b: {"n_post_spine": int(n)} for b, n in counts["n_post_spine"].items()
                                      if b in neuron.graph and "n_post_spine" in neuron.graph.nodes[b]})


def _relabel(new, old) -> None:
    """Label ``new`` as ``old`` was labelled: again with the recorded parameters
    (``settings["label_compartments"]``), or, for labels read with the skeleton (SWC, navis,
    precomputed) whose rule is unknown, from the skeleton node types the new skeleton kept
    (per branch, the most common; ``compartment_method`` ``"node types"``)."""
    params = old.settings.get("label_compartments")
    if params is not None:
        new.face_compartment = None
        label_compartments(new, inplace=True, **params)
        return
    if new is old or not any(d.get("compartment") for _, d in old.graph.nodes(data=True)):
        return
    types = np.asarray(new.skeleton.node_type, np.int64)
    labels = lookup(types, COMPARTMENT_NAMES, "unknown")
    labels[new.skeleton.soma_nodes] = "soma"
    apply_node_labels(new, labels, "node types")
    if new.synapses is not None and "branch" in new.synapses.columns:
        names = {b: d.get("compartment") for b, d in new.graph.nodes(data=True) if d.get("compartment")}
        new.synapses["compartment"] = lookup(new.synapses["branch"].to_numpy(), names, "unmapped")


register_annotation("compartments", 20, _relabel)
