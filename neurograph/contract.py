"""The step contract, checked like scikit-learn's ``check_estimator`` checks an estimator.

Every public step takes a neuron and returns a new one (``inplace=False``): it must leave its
input as it was, keep every invariant of :func:`neurograph.checks.check_neuron`, keep the
annotations made before it (spines, synapses, compartment labels: remapped onto a new graph,
never silently lost), and what it returns must save and load back exactly.
:func:`check_steps` runs every ordering of every subset of a set of steps from one neuron (the
states form a tree; each prefix is computed once), then the structural steps after each state,
and lists every breach. ``tests/test_contracts.py`` and ``benchmarks/contracts.py`` use it.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from typing import Callable

import numpy as np
import pandas as pd

from .checks import check_neuron

#: annotations a step may add, and how to tell that a neuron has them
ANNOTATIONS = ("spines", "synapses", "compartments")


def has_annotation(neuron, name: str) -> bool:
    """Whether ``neuron`` carries the annotation ``name`` (True for a structural step's name).

    Parameters
    ----------
    neuron : Neuron
    name : str
        ``"spines"`` (a non-empty spine table), ``"synapses"`` (> 90 % of them mapped),
        ``"compartments"`` (every graph node labelled), or anything else (True).

    Returns
    -------
    bool
    """
    if name == "spines":
        return neuron.spines is not None and len(neuron.spines) > 0
    if name == "synapses":
        return neuron.synapses is not None and bool(neuron.synapses["mapped"].mean() > 0.9)
    if name == "compartments":
        return all(d.get("compartment") for _, d in neuron.graph.nodes(data=True))
    return True


def fingerprint(neuron) -> tuple:
    """Everything a step could change in place: tables, per-node and per-face arrays, graph, settings."""
    tables = tuple(None if t is None else int(pd.util.hash_pandas_object(t.reset_index(), index=False).sum())
                   for t in (neuron.synapses, neuron.spines, neuron.branches))
    sk = neuron.skeleton
    arrays = tuple(None if a is None else np.asarray(a).tobytes() for a in (
        sk.vertices, sk.parent, sk.node_type, neuron.node_branch, neuron.face_branch, neuron.face_compartment,
        neuron.face_spine))
    graph = repr(sorted(neuron.graph.nodes(data=True), key=lambda x: x[0]))
    return tables + arrays + (graph, repr(getattr(neuron, "settings", None)))


def _differs(a, b, name: str) -> list[str]:
    if (a is None) != (b is None):
        return [f"round_trip: {name} is None on one side only"]
    if a is None:
        return []
    if isinstance(a, pd.DataFrame):
        try:
            pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False,
                                          check_index_type=False)
        except AssertionError as exc:
            return [f"round_trip: {name} differs ({str(exc).splitlines()[0]})"]
        return []
    a, b = np.asarray(a), np.asarray(b)
    same = a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return [] if same else [f"round_trip: {name} differs"]


def round_trip_problems(neuron, path: str | os.PathLike) -> list[str]:
    """Save ``neuron`` to ``path``, load it back and list what is not the same (and what the loaded one breaks).

    Parameters
    ----------
    neuron : Neuron
    path : str or os.PathLike
        A ``.neuron.zip`` file to write.

    Returns
    -------
    list of str
    """
    neuron.save(path)
    again = type(neuron).load(path)
    out = [f"round_trip: loaded: {p}" for p in check_neuron(again)]
    out += _differs(neuron.branches, again.branches, "branches")
    for name in ("synapses", "spines", "cuts", "node_branch", "face_branch", "face_compartment", "face_spine",
                 "shaft_radius"):
        out += _differs(getattr(neuron, name, None), getattr(again, name, None), name)
    for name in ("vertices", "parent", "radius", "node_type", "soma_nodes"):
        out += _differs(getattr(neuron.skeleton, name), getattr(again.skeleton, name), f"skeleton.{name}")
    if getattr(neuron, "settings", None) != getattr(again, "settings", None):
        out.append("round_trip: settings differ")
    return out


def check_steps(start, steps: dict[str, Callable], names: tuple, after: tuple = (),
                slow_after: tuple = ("proofread",)) -> tuple[list[str], int]:
    """Run every ordering of every subset of ``names`` from ``start`` and list every breach of the contract.

    Parameters
    ----------
    start : Neuron
    steps : dict of str to callable
        ``name -> step(neuron) -> Neuron``.
    names : tuple of str
        Steps combined in every order (``len(names)`` = 3 gives 15 step runs).
    after : tuple of str
        Structural steps run once after every state (not combined further).
    slow_after : tuple of str
        Steps of ``after`` run only at the start and after every full ordering.

    Returns
    -------
    problems : list of str
        ``"<steps>: <invariant>: <what>"``; empty when the contract holds. Invariants beyond
        :func:`~neurograph.checks.check_neuron`: ``inplace`` (the input was changed or returned),
        ``lost`` (an annotation made before is gone), ``round_trip`` (save -> load differs),
        ``crash`` (the step raised; the orderings that start with it are skipped).
    n_states : int
        States reached (``1 + 3 + 6 + 6`` for three steps).
    """
    problems: list[str] = []
    states = {(): start}
    for k in range(1, len(names) + 1):
        for order in itertools.permutations(names, k):
            parent = states.get(order[:-1])
            if parent is None:  # its prefix crashed
                continue
            before = fingerprint(parent)
            where = " -> ".join(order)
            try:
                child = steps[order[-1]](parent)
            except Exception as exc:  # noqa: BLE001  (a crash is a breach of the contract, reported)
                problems.append(f"{where}: crash: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
                continue
            if child is parent:
                problems.append(f"{where}: inplace: the step changed and returned its input")
            elif fingerprint(parent) != before:
                problems.append(f"{where}: inplace: the step's input was changed")
            problems += [f"{where}: {p}" for p in check_neuron(child)]
            problems += [f"{where}: lost: the {done} annotation" for done in order if not has_annotation(child, done)]
            states[order] = child
    with tempfile.TemporaryDirectory() as folder:
        for order, state in states.items():
            where = " -> ".join(order) or "start"
            for name in after:
                if name in slow_after and 0 < len(order) < len(names):
                    continue
                out = steps[name](state)
                problems += [f"{where} -> {name}: {p}" for p in check_neuron(out)]
                problems += [f"{where} -> {name}: lost: the {done} annotation" for done in order
                             if not has_annotation(out, done) and not (name == "proofread" and done != "compartments")]
            problems += [f"{where}: {p}" for p in round_trip_problems(state, os.path.join(folder, "n.neuron.zip"))]
    return problems, len(states)
