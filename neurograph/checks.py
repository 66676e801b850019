"""Invariants every :class:`~neurograph.Neuron` must keep, whatever steps made it.

In the spirit of scikit-learn's ``check_estimator``: :func:`check_neuron` lists every broken
invariant of a neuron (an empty list means consistent), :func:`assert_neuron_ok` raises on
the first call that finds any. The contract test suite (``tests/test_contracts.py``) runs
every public step, in many orders, on synthetic neurons and calls this after each one.

Invariants checked (each violation is one message naming the invariant):

- ``graph``: every branch reaches a soma or a root of a soma-less tree; each soma is a root;
  graph node ids are ``0..n-1`` with the somata first.
- ``node_branch``: every skeleton node belongs to an existing graph node.
- ``face_branch``: every mesh face belongs to exactly one existing branch or soma.
- ``lengths``: branch lengths are finite, non-negative, and add up to the skeleton cable
  (minus what lies inside the somata).
- ``branch_table``: the branch table holds exactly the graph's branches.
- ``cache``: the cached branch table is the graph's current one; per-node arrays
  (``skeleton.node_type``, ``shaft_radius``) have one value per skeleton node.
- ``synapses``: every mapped synapse's branch exists; its node lies on that branch; its face
  (mesh neurons) belongs to that branch.
- ``compartments``: when any branch is labelled, every branch is; mesh face codes and
  synapse compartments agree with the branch labels.
- ``spines``: every spine's branch exists and its node lies on it; every face's spine id
  exists in the spine table.
"""

from __future__ import annotations

import numpy as np

from .arrays import lookup
from .codes import SWC_TYPE
from .errors import NeurographError
from .graph.branch_table import branch_table



class InvariantError(NeurographError, AssertionError):
    """A neuron's tables disagree with each other (a bug: please report it)."""


def _graph(neuron) -> list[str]:
    g, n_somas = neuron.graph, neuron.n_somas
    out = []
    ids = np.array(sorted(g.nodes), dtype=np.int64)
    if len(ids) and not np.array_equal(ids, np.arange(len(ids))):
        out.append(f"graph: node ids are not 0..{len(ids) - 1}")
    for s in range(n_somas):
        if s not in g or g.nodes[s].get("kind") != "soma":
            out.append(f"graph: node {s} should be soma {s}")
        elif g.in_degree(s):
            out.append(f"graph: soma {s} has a parent")
    bad = [b for b in g.nodes if g.in_degree(b) > 1]
    if bad:
        out.append(f"graph: {len(bad)} node(s) with several parents (e.g. {bad[0]})")
    return out


def _lengths(neuron) -> list[str]:
    br = neuron.branches
    if "length" not in br.columns or not len(br):
        return []
    length = br["length"].to_numpy(float)
    out = []
    if not np.all(np.isfinite(length)) or (length < 0).any():
        out.append("lengths: branch lengths must be finite and >= 0")
    cable = neuron.skeleton.cable_length / 1e3
    total = float(np.nansum(length))
    if total > cable * (1 + 1e-6) + 1e-6:
        out.append(f"lengths: branches add up to {total:.3f} µm, more than the skeleton's {cable:.3f} µm")
    return out


def _node_branch(neuron) -> tuple[list[str], set]:
    ids = set(int(b) for b in neuron.graph.nodes)
    nb = np.asarray(neuron.node_branch)
    out = []
    if len(nb) != neuron.skeleton.n_nodes:
        out.append(f"node_branch: {len(nb)} entries for {neuron.skeleton.n_nodes} skeleton nodes")
    elif len(nb) and not np.isin(nb, list(ids)).all():
        out.append(f"node_branch: {int((~np.isin(nb, list(ids))).sum())} skeleton nodes on unknown branches")
    return out, ids


def _faces(neuron, ids: set) -> list[str]:
    if neuron.mesh is None or neuron.face_branch is None:
        return []
    fb = np.asarray(neuron.face_branch)
    if len(fb) != len(neuron.mesh.faces):
        return [f"face_branch: {len(fb)} entries for {len(neuron.mesh.faces)} faces"]
    unknown = ~np.isin(fb, list(ids))
    return [f"face_branch: {int(unknown.sum())} faces on no existing branch or soma"] if unknown.any() else []


def _table(neuron, ids: set) -> list[str]:
    branches = set(int(b) for b in neuron.branches.index)
    graph_branches = {b for b in ids if neuron.graph.nodes[b].get("kind") == "branch"}
    if branches != graph_branches:
        return [f"branch_table: {len(branches ^ graph_branches)} ids differ between the table and the graph"]
    return []


def _cache(neuron, ids: set) -> list[str]:
    """The cached branch table is the one the graph gives now, and per-node arrays fit the skeleton."""
    out = []
    if not neuron.branches.equals(branch_table(neuron.graph)):
        out.append("cache: the branch table differs from the graph's (a value written without set_branch_values)")
    n = neuron.skeleton.n_nodes
    for name, values in (("skeleton.node_type", neuron.skeleton.node_type), ("shaft_radius", neuron.shaft_radius)):
        if values is not None and len(values) != n:
            out.append(f"cache: {name} has {len(values)} values for {n} skeleton nodes")
    return out


def _on_branch(what: str, index: np.ndarray, branch: np.ndarray, owner: np.ndarray, kind: str) -> list[str]:
    """Messages for entries whose ``owner[index]`` (node or face -> branch) is not ``branch``."""
    inside = (index >= 0) & (index < len(owner))
    wrong = ~inside
    wrong[inside] = owner[index[inside]] != branch[inside]
    return [f"{what}: {int(wrong.sum())} whose {kind} is not on their branch"] if wrong.any() else []


def _synapses(neuron, ids: set) -> list[str]:
    syn = neuron.synapses
    if syn is None or not len(syn) or "branch" not in syn.columns:
        return []
    ok = syn["mapped"].to_numpy(bool) if "mapped" in syn.columns else syn["branch"].to_numpy() >= 0
    b = syn["branch"].to_numpy(np.int64)[ok]
    out = []
    missing = ~np.isin(b, list(ids))
    if missing.any():
        out.append(f"synapses: {int(missing.sum())} of {len(b)} mapped synapses point at branches that do not exist")
    if "node" in syn.columns:
        out += _on_branch("synapses", syn["node"].to_numpy(np.int64)[ok], b, np.asarray(neuron.node_branch), "node")
    if "face" in syn.columns and neuron.face_branch is not None:
        face = syn["face"].to_numpy(np.int64)[ok]
        has = face >= 0
        out += _on_branch("synapses", face[has], b[has], np.asarray(neuron.face_branch), "face")
    return out


def _compartments(neuron, ids: set) -> list[str]:
    labels = {b: d.get("compartment") for b, d in neuron.graph.nodes(data=True)}
    labelled = {b for b, c in labels.items() if c}
    if not labelled:
        return []
    out = []
    if labelled != ids:
        out.append(f"compartments: {len(ids - labelled)} graph nodes without a label while others have one")
    if neuron.face_compartment is not None and neuron.face_branch is not None:
        code = np.array([SWC_TYPE.get(labels.get(int(b)) or "", 0) for b in range(max(ids) + 1)])
        fb = np.asarray(neuron.face_branch)
        expect = code[fb]
        fc = np.asarray(neuron.face_compartment)
        on_spine = np.asarray(neuron.face_spine) >= 0 if neuron.face_spine is not None else np.zeros(len(fb), bool)
        # spine faces may carry the label of the synapses on them (an axonal bouton on a dendrite)
        wrong = (fc != expect) & ~on_spine
        if len(fc) != len(fb) or wrong.any():
            out.append(f"compartments: {int(wrong.sum()) if len(fc) == len(fb) else len(fc)} mesh faces whose "
                       "compartment code disagrees with their branch's label")
    syn = neuron.synapses
    if syn is not None and len(syn) and "compartment" in syn.columns and "branch" in syn.columns:
        b = syn["branch"].to_numpy(np.int64)
        ok = b >= 0
        if "on_spine" in syn.columns:
            ok &= ~syn["on_spine"].to_numpy(bool)
        if ok.any():
            expect = lookup(b[ok], {k: c for k, c in labels.items() if c}, "")
            got = syn["compartment"].to_numpy(object)[ok]
            wrong = expect != got
            if wrong.any():
                out.append(f"compartments: {int(wrong.sum())} shaft synapses whose compartment is not their branch's")
    return out


def _spines(neuron, ids: set) -> list[str]:
    sp = neuron.spines
    out = []
    if sp is not None and len(sp):
        b = sp["branch"].to_numpy(np.int64)
        if not np.isin(b, list(ids)).all():
            out.append(f"spines: {int((~np.isin(b, list(ids))).sum())} spines on branches that do not exist")
        out += _on_branch("spines", sp["node"].to_numpy(np.int64), b, np.asarray(neuron.node_branch), "node")
    if neuron.face_spine is not None:
        fs = np.asarray(neuron.face_spine)
        known = set(sp.index.astype(int)) if sp is not None else set()
        used = set(np.unique(fs[fs >= 0]).tolist())
        if used - known:
            out.append(f"spines: {len(used - known)} spine ids on mesh faces missing from the spine table")
    return out


def check_neuron(neuron) -> list[str]:
    """List the invariants a neuron breaks.

    Parameters
    ----------
    neuron : Neuron
        Any neuron, from a mesh or a skeleton, after any steps.

    Returns
    -------
    list of str
        One message per broken invariant (``"<invariant>: what is wrong"``); empty when the
        neuron is consistent.
    """
    problems = _graph(neuron)
    nb_problems, ids = _node_branch(neuron)
    problems += nb_problems + _lengths(neuron)
    for check in (_faces, _table, _cache, _synapses, _compartments, _spines):
        problems += check(neuron, ids)
    return problems


def assert_neuron_ok(neuron) -> None:
    """Raise :class:`InvariantError` if :func:`check_neuron` finds anything.

    Parameters
    ----------
    neuron : Neuron

    Raises
    ------
    InvariantError
        Listing every broken invariant.
    """
    problems = check_neuron(neuron)
    if problems:
        raise InvariantError(f"{getattr(neuron, 'name', 'neuron')}: " + "; ".join(problems))
