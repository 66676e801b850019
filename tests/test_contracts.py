"""The Neuron contract: every public step, in every order, keeps the neuron consistent.

In the spirit of scikit-learn's ``check_estimator``: a synthetic neuron (mesh with spines and
surface synapses, and the same neuron as an SWC skeleton) goes through every ordering of the
annotation steps, and :func:`neurograph.checks.check_neuron` runs after each step; save -> load
must then give back the same tables and arrays.
"""

from __future__ import annotations

import copy
import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

import neurograph as ng
from neurograph import synthetic
from neurograph.checks import InvariantError, assert_neuron_ok, check_neuron


@pytest.fixture(scope="module")
def cell():
    return synthetic.make_neuron(0, "fragment", spine_density=0.5)


@pytest.fixture(scope="module")
def synapses(cell):
    return synthetic.sample_synapses(cell, seed=0)[["x", "y", "z", "direction"]]


@pytest.fixture(scope="module")
def bare(cell):
    return ng.extract(cell.mesh, name="contract", spines=False)


def _steps(synapses):
    return {
        "spines": lambda n: ng.detect_spines(n),
        "synapses": lambda n: ng.map_synapses(n, synapses),
        "compartments": lambda n: ng.label_compartments(n),
    }


def _same(a: ng.Neuron, b: ng.Neuron) -> None:
    pd.testing.assert_frame_equal(a.branches, b.branches, check_dtype=False)
    for name in ("synapses", "spines"):
        ta, tb = getattr(a, name), getattr(b, name)
        assert (ta is None) == (tb is None), name
        if ta is not None:
            pd.testing.assert_frame_equal(ta.reset_index(drop=True), tb.reset_index(drop=True),
                                          check_dtype=False, check_index_type=False)
    for name in ("node_branch", "face_branch", "face_compartment", "face_spine"):
        va, vb = getattr(a, name), getattr(b, name)
        assert (va is None) == (vb is None), name
        if va is not None:
            assert np.array_equal(va, vb), name
    assert np.array_equal(a.skeleton.vertices, b.skeleton.vertices)
    assert a.settings == b.settings


@pytest.mark.parametrize("order", list(itertools.permutations(["spines", "synapses", "compartments"])),
                         ids="-".join)
def test_every_order_keeps_the_invariants(bare, synapses, order, tmp_path):
    neuron = copy.deepcopy(bare)
    assert_neuron_ok(neuron)
    steps = _steps(synapses)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # synapses beyond the tolerance are reported, not errors
        for name in order:
            steps[name](neuron)
            problems = check_neuron(neuron)
            assert not problems, f"after {' -> '.join(order[:order.index(name) + 1])}: {problems}"
    assert neuron.spines is not None and len(neuron.spines) > 0
    assert neuron.synapses["mapped"].mean() > 0.95
    labelled = {d.get("compartment") for _, d in neuron.graph.nodes(data=True)}
    assert None not in labelled and "" not in labelled
    neuron.save(tmp_path / "n.neuron.zip")
    again = ng.load(tmp_path / "n.neuron.zip")
    assert_neuron_ok(again)
    _same(neuron, again)


def test_the_issue_case_spines_after_synapses_and_compartments(bare, synapses):
    """The case of the issue: spines detected after synapses and labels were there."""
    neuron = copy.deepcopy(bare)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ng.map_synapses(neuron, synapses)
        ng.label_compartments(neuron)
        before = neuron.branches["compartment"].value_counts()
        ng.detect_spines(neuron)
    assert_neuron_ok(neuron)
    assert "compartment" in neuron.branches.columns
    assert set(neuron.branches["compartment"]) <= set(before.index)
    assert neuron.synapses["branch"][neuron.synapses["mapped"]].isin(list(neuron.graph.nodes)).all()


def test_skeleton_neuron_steps_and_round_trip(bare, synapses, tmp_path):
    """The same contract for a neuron read from SWC (no mesh: synapses map to nodes)."""
    path = tmp_path / "cell.swc"
    ng.write_swc(bare.skeleton.to_swc(units="nm"), path)
    neuron = ng.load_swc(path, units="nm")
    assert_neuron_ok(neuron)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ng.map_synapses(neuron, synapses, tolerance=3000)
        assert_neuron_ok(neuron)
        ng.label_compartments(neuron)
    assert_neuron_ok(neuron)
    neuron.save(tmp_path / "s.neuron.zip")
    _same(neuron, ng.load(tmp_path / "s.neuron.zip"))


def test_checker_catches_broken_neurons(bare, synapses):
    """The checker itself must fail on inconsistent neurons (a checker that cannot fail is no check)."""
    neuron = copy.deepcopy(bare)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ng.map_synapses(neuron, synapses)
    broken = copy.deepcopy(neuron)
    broken.face_branch = broken.face_branch.copy()
    broken.face_branch[0] = 10 ** 6
    assert any(p.startswith("face_branch") for p in check_neuron(broken))
    broken = copy.deepcopy(neuron)
    broken.synapses.loc[broken.synapses.index[0], "branch"] = 10 ** 6
    assert any(p.startswith("synapses") for p in check_neuron(broken))
    broken = copy.deepcopy(neuron)
    broken.node_branch = broken.node_branch[:-1]
    with pytest.raises(InvariantError, match="node_branch"):
        assert_neuron_ok(broken)


def test_heal_keeps_the_invariants(bare, synapses, tmp_path):
    """Healing rebuilds the branches: synapses and labels must follow the new branch ids."""
    from neurograph import perturb

    path = tmp_path / "cell.swc"
    ng.write_swc(bare.skeleton.to_swc(units="nm"), path)
    neuron = perturb.fragment(ng.load_swc(path, units="nm"), n_pieces=3, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ng.map_synapses(neuron, synapses, tolerance=3000)
        ng.label_compartments(neuron)
        healed = ng.heal(neuron, max_gap_um=10)
    assert len(healed.skeleton.roots) < len(neuron.skeleton.roots)
    assert healed.synapses["mapped"].any()
    assert_neuron_ok(healed)
