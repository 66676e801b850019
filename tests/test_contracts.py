"""The Neuron contract: every public step, in every order and combination, keeps the neuron consistent.

In the spirit of scikit-learn's ``check_estimator``. A synthetic neuron (a spiny dendrite
fragment with a mesh, and the same neuron as an SWC skeleton broken into pieces) goes through
every ordering of every subset of the annotation steps (spines, synapses, compartments); the
steps return new neurons, so the states form a tree whose prefixes are computed once. At every
state :func:`neurograph.checks.check_neuron` must find nothing, the step's input must be
unchanged (``inplace=False``), no annotation made earlier may be lost, and the structural steps
(heal, proofread, a new skeleton through ``with_core``, save -> load) must keep all of it too.
"""

from __future__ import annotations

import warnings

import pytest

import neurograph as ng
from neurograph import perturb, synthetic
from neurograph.checks import InvariantError, assert_neuron_ok, check_neuron
from neurograph.contract import ANNOTATIONS, check_steps, has_annotation

@pytest.fixture(scope="module")
def cell():
    return synthetic.make_neuron(0, "fragment", spines_per_um=0.5)


@pytest.fixture(scope="module")
def synapses(cell):
    return synthetic.sample_synapses(cell, seed=0)[["x", "y", "z", "direction"]]


@pytest.fixture(scope="module")
def bare(cell):
    return ng.extract(cell.mesh, voxel_size=1, name="contract", spines=False)


def _steps(synapses, tolerance=1000.0):
    return {
        "spines": lambda n: ng.detect_spines(n),
        "synapses": lambda n: ng.map_synapses(n, synapses, tolerance=tolerance),
        "compartments": lambda n: ng.label_compartments(n),
        "heal": lambda n: ng.heal(n, max_gap_um=10),
        "proofread": lambda n: ng.proofread(n)[0],
    }


def test_every_order_and_combination_on_a_mesh_neuron(bare, synapses):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # synapses beyond the tolerance are reported, not errors
        problems, n = check_steps(bare, _steps(synapses), ANNOTATIONS, after=("heal", "proofread"))
    assert not problems, "\n".join(problems)
    assert n == 1 + 3 + 6 + 6


def test_every_order_and_combination_on_a_fragmented_skeleton(bare, synapses, tmp_path):
    """The same contract for an SWC neuron in pieces (no mesh: synapses map to nodes); heal joins them."""
    path = tmp_path / "cell.swc"
    ng.write_swc(bare.skeleton.to_swc(units="nm"), path)
    neuron = perturb.fragment(ng.load_swc(path, units="nm"), n_pieces=3, seed=0)
    assert len(neuron.skeleton.roots) > 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problems, n = check_steps(neuron, _steps(synapses, tolerance=3000), ("synapses", "compartments", "heal"))
    assert not problems, "\n".join(problems)
    assert n == 1 + 3 + 6 + 6


def test_the_issue_case_spines_after_synapses_and_compartments(bare, synapses):
    """The case of the issue: spines detected after synapses and labels were there."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labelled = ng.label_compartments(ng.map_synapses(bare, synapses))
        neuron = ng.detect_spines(labelled)
    assert_neuron_ok(neuron)
    assert len(neuron.branches) < len(labelled.branches)  # twigs folded: a new graph
    assert set(neuron.branches["compartment"]) <= set(labelled.branches["compartment"])
    assert neuron.synapses["mapped"].sum() == labelled.synapses["mapped"].sum()
    assert neuron.synapses["branch"][neuron.synapses["mapped"]].isin(list(neuron.graph.nodes)).all()


def test_inplace_and_the_deprecated_methods(bare, synapses):
    """``inplace=True`` changes and returns the neuron itself; the old methods still work, with a warning."""
    neuron = bare.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ng.errors.DataWarning)
        assert ng.map_synapses(neuron, synapses, inplace=True) is neuron
        assert neuron.synapses is not None and bare.synapses is None
        with pytest.warns(ng.NeurographDeprecationWarning, match="neurograph.label_compartments"):
            table = neuron.label_compartments()
    assert set(table["compartment"]) >= {"axon", "dendrite"} or set(table["compartment"]) >= {"dendrite"}
    assert table.equals(ng.compartment_table(neuron))
    assert_neuron_ok(neuron)


def test_a_new_core_rederives_the_graph_and_remaps(bare, synapses):
    """Assigning a new skeleton (the core) re-derives the graph and carries the annotations over."""
    from neurograph.skeleton.resample import resample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        neuron = ng.label_compartments(ng.map_synapses(ng.detect_spines(bare), synapses))
        finer = neuron.copy()
        finer.skeleton = resample(neuron.skeleton, 500.0)
    assert finer.skeleton.n_nodes != neuron.skeleton.n_nodes
    assert_neuron_ok(finer)
    for done in ANNOTATIONS:
        assert has_annotation(finer, done), done
    assert len(finer.spines) == len(neuron.spines)


def test_branch_table_cache_follows_the_graph(bare):
    neuron = bare.copy()
    first = neuron.branches
    assert "tag" not in first.columns
    neuron.set_branch_values({int(first.index[0]): {"tag": 1}})
    assert neuron.branches["tag"].iloc[0] == 1  # the cached table was dropped
    table = neuron.branches
    table.loc[first.index[0], "length"] = -1.0  # a copy: the cache stays right
    assert neuron.branches["length"].iloc[0] == first["length"].iloc[0]


def test_checker_catches_broken_neurons(bare, synapses):
    """The checker itself must fail on inconsistent neurons (a checker that cannot fail is no check)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        neuron = ng.map_synapses(bare, synapses)
    broken = neuron.copy()
    broken.face_branch[0] = 10 ** 6
    assert any(p.startswith("face_branch") for p in check_neuron(broken))
    broken = neuron.copy()
    broken.synapses.loc[broken.synapses.index[0], "branch"] = 10 ** 6
    assert any(p.startswith("synapses") for p in check_neuron(broken))
    broken = neuron.copy()
    broken.branches  # fills the cache
    broken.graph.nodes[int(broken.branches.index[0])]["length"] = -5.0  # written behind the cache's back
    assert any(p.startswith("cache") for p in check_neuron(broken))
    broken = neuron.copy()
    broken.node_branch = broken.node_branch[:-1]
    with pytest.raises(InvariantError, match="node_branch"):
        assert_neuron_ok(broken)
