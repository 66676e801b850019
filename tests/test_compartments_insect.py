"""Insect neurons: geometry-only axon of unipolar cells, and the insect-twig warning."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import neurograph as ng
from neurograph.synthetic import labelled_edges, make_neuron, truth_compartments

@pytest.fixture(scope="module")
def unipolar():
    cells = [make_neuron(seed, "unipolar") for seed in (0, 3)]
    return [(c, ng.extract(c.mesh, voxel_size=1, spines=False, min_soma_radius=1500.0)) for c in cells]


def test_unipolar_truth_is_insect_like():
    cell = make_neuron(1, "unipolar")
    comp = cell.branches["compartment"]
    assert (comp == "primary").sum() == 1 and cell.branches.loc[comp == "primary", "parent"].iat[0] == -1
    assert 2500 <= cell.soma_radius <= 3500
    # dendrite and axon tract both leave the end of the primary neurite
    primary = int(np.flatnonzero(comp == "primary")[0])
    children = cell.branches.index[cell.branches["parent"] == primary]
    assert set(comp[children]) == {"axon", "dendrite"}


@pytest.mark.parametrize("method", ["auto", "insect"])
def test_unipolar_axon_without_synapses(unipolar, method):
    for cell, neuron in unipolar:
        assert neuron.n_somas == 1
        neuron = ng.label_compartments(neuron, use_synapses=False, method=method)
        table = ng.compartment_table(neuron)
        assert (table["compartment_method"] == "geometry-insect").sum() == len(table) - 1
        mid, length, ours = labelled_edges(neuron)
        truth = truth_compartments(cell, mid)
        keep = np.isin(truth, ["axon", "dendrite"]) & (ours != "soma")
        acc = (length * (ours == truth))[keep].sum() / length[keep].sum()
        assert acc >= 0.95, (cell.seed, acc)
        primary = truth == "primary"
        assert (length * (ours == "axon"))[primary].sum() < 0.1 * length[primary].sum()


def test_soma_less_insect_tree_uses_twig_density(unipolar):
    """Without the soma, the side with sparser terminal twigs is the axon."""
    from neurograph.compartments import Arbor
    from neurograph.compartments.insect import insect_axon

    cell, neuron = unipolar[0]
    arbor = Arbor(neuron)
    arbor.is_soma[:] = False  # forget the soma: the side must come from the twigs
    tree = int(arbor.root[neuron.skeleton.soma_nodes[0]])
    axon, conf = insect_axon(arbor, tree)
    mid = neuron.skeleton.vertices
    truth = truth_compartments(cell, mid)
    length = arbor.edge
    keep = np.isin(truth, ["axon", "dendrite"])
    acc = (length * (axon == (truth == "axon")))[keep].sum() / length[keep].sum()
    assert acc >= 0.95 and 0.5 <= conf <= 1.0


def test_auto_keeps_the_vertebrate_rule_for_multipolar_cells():
    cell = make_neuron(0, "multipolar")
    neuron = ng.extract(cell.mesh, voxel_size=1, spines=False)
    neuron = ng.label_compartments(neuron, use_synapses=False)
    table = ng.compartment_table(neuron)
    assert "geometry-insect" not in set(table["compartment_method"])
    assert (table["compartment"] == "axon").any()
    with pytest.raises(ng.InputError, match="method"):
        neuron = ng.label_compartments(neuron, method="fly")


def test_local_neuron_without_a_tract_gets_no_axon():
    """A branching fragment with no long tract between two arbors: nothing is called axon."""
    from neurograph.compartments import Arbor
    from neurograph.compartments.insect import insect_axon

    neuron = ng.extract(make_neuron(2, "fragment").mesh, spines=False)
    arbor = Arbor(neuron)
    for tree in np.unique(arbor.root):
        assert insect_axon(arbor, int(tree)) is None


def test_hemibrain_axon_without_synapses_matches_navis_split(hemibrain_neurons, navis_data):
    """The 5 hemibrain DA1 meshes: >= 0.9 agreement with navis' synapse-based split."""
    navis = pytest.importorskip("navis")
    from scipy.spatial import cKDTree

    skeletons = {str(n.id): n for n in navis.example_neurons(5, kind="skeleton")}
    for sid, shared in hemibrain_neurons.items():
        neuron = copy.deepcopy(shared)  # the session fixture is shared: label a copy
        x = skeletons[sid]
        x = navis.heal_skeleton(x) if x.n_trees > 1 else x
        split = navis.split_axon_dendrite(x, label_only=True).nodes
        neuron = ng.label_compartments(neuron, use_synapses=False, method="insect")
        mid, length, ours = labelled_edges(neuron)
        _, idx = cKDTree(split[["x", "y", "z"]].to_numpy(float) * 8.0).query(mid)
        theirs = split["compartment"].to_numpy()[idx]
        keep = np.isin(theirs, ["axon", "dendrite"]) & (ours != "soma")
        acc = (length * (ours == theirs))[keep].sum() / length[keep].sum()
        assert acc >= 0.9, (sid, acc)


@pytest.mark.parametrize("method", ["auto", "insect"])
def test_fly_neurons_get_no_apical_dendrite(hemibrain_neurons, method):
    """A fly PN has one neurite at its soma: the short stubs its mesh soma leaves (two of the five
    DA1 meshes) are not basal dendrites, and its dendrite is not an apical one."""
    for sid, shared in hemibrain_neurons.items():
        labelled = ng.label_compartments(shared, use_synapses=False, method=method)  # a copy
        found = set(labelled.branches["compartment"])
        assert "dendrite" in found and found <= {"soma", "axon", "dendrite"}, (sid, method, found)
    pyramidal = ng.extract(make_neuron(2, "pyramidal").mesh, voxel_size=1)  # a vertebrate cell keeps its split
    assert "apical" in set(ng.label_compartments(pyramidal, use_synapses=False).branches["compartment"])


def test_a_vertebrate_cell_whose_axon_holds_nearly_all_cable_keeps_its_apical_dendrite(tmp_path):
    """With 30 mm of axon the soma has one substantial neurite, like an insect neuron's; when the
    synapse flow finds the axon, the dendrites are still split into apical and basal."""
    import pandas as pd

    cell = make_neuron(2, "pyramidal", orient=False)
    rows, ends, node = [[1, 1, *cell.soma_center, cell.soma_radius, -1]], {}, 2
    for k, (b, r) in enumerate(cell.branches.iterrows()):
        prev = 1 if r.parent < 0 else ends[r.parent]
        kind = {"axon": 2, "apical": 4}.get(r.compartment, 3)
        for p, radius in zip(cell.paths[k], np.linspace(r.radius_start, r.radius_end, len(cell.paths[k]))):
            rows.append([node, kind, *p, radius, prev])
            prev, node = node, node + 1
        ends[b] = prev
    tip = ends[[b for b, r in cell.branches.iterrows() if r.compartment == "axon" and r.n_children == 0][0]]
    rng = np.random.default_rng(1)
    d, pos = np.array([0.0, -1.0, 0.0]), np.array(rows[tip - 1][2:5], float)
    for _ in range(15_000):  # 30 mm of axon in 2 µm steps
        d = d + rng.normal(0, 0.1, 3)
        d /= np.linalg.norm(d)
        pos = pos + 2000.0 * d
        rows.append([node, 2, *pos, 150.0, tip])
        tip, node = node, node + 1
    table = pd.DataFrame(rows, columns=["n", "t", "x", "y", "z", "r", "p"])
    table.to_csv(tmp_path / "long_axon.swc", sep=" ", header=False, index=False)
    neuron = ng.load_swc(tmp_path / "long_axon.swc", units="nm")
    pre = table[table.t == 2].sample(200, random_state=0)
    post = table[table.t.isin([3, 4])].sample(300, random_state=0)
    synapses = pd.DataFrame({c: np.r_[pre[c], post[c]] for c in "xyz"})
    synapses["direction"] = ["pre"] * len(pre) + ["post"] * len(post)
    neuron = ng.label_compartments(ng.map_synapses(neuron, synapses, voxel_size=1), use_synapses=True)
    found = set(neuron.branches["compartment"])
    assert {"axon", "apical", "basal"} <= found, found


def test_no_twig_warning_on_a_spiny_pyramidal_cell():
    cell = make_neuron(2, "pyramidal", spines_per_um=1.0)  # the smallest of the benchmark's three
    with warnings.catch_warnings():
        warnings.simplefilter("error", ng.InsectTwigWarning)
        neuron = ng.extract(cell.mesh, voxel_size=1)
    check = neuron.settings["spine_check"]
    assert not check["insect_like"] and check["carrier_length_um"] > 12.0 and check["n_spines"] > 50


def test_twig_warning_on_a_fly_mesh_without_profile():
    skeletor = pytest.importorskip("skeletor")
    mesh = skeletor.example_mesh()  # hemibrain DA1 neuron 722817260, 8 nm voxels
    with pytest.warns(ng.InsectTwigWarning, match="dataset='hemibrain'"):
        neuron = ng.extract(mesh, voxel_size=8)
    assert neuron.settings["spine_check"]["insect_like"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ng.InsectTwigWarning)
        fly = ng.extract(mesh, dataset="hemibrain")
    assert fly.spines is None and fly.skeleton.cable_length > 1.25 * neuron.skeleton.cable_length
