"""Compartment labels and perisomatic features against synthetic ground truth."""

from __future__ import annotations

import numpy as np
import pytest

import neurograph as ng
from neurograph.errors import InputError
from neurograph.synthetic import make_neuron, sample_synapses, truth_compartments

CASES = [("pyramidal", 2), ("multipolar", 0), ("bipolar", 1)]


@pytest.fixture(scope="module")
def cells():
    out = {}
    for shape, seed in CASES:
        cell = make_neuron(seed, shape)
        out[shape] = (cell, ng.extract(cell.mesh, voxel_size=1, name=f"{shape}_{seed}"))
    return out


def accuracy(neuron, cell, level="coarse"):
    """Fraction of cable (soma excluded) whose label matches the truth."""
    sk = neuron.skeleton
    has = np.flatnonzero(sk.parent >= 0)
    mid = 0.5 * (sk.vertices[has] + sk.vertices[sk.parent[has]])
    length = np.linalg.norm(sk.vertices[has] - sk.vertices[sk.parent[has]], axis=1)
    truth = truth_compartments(cell, mid)
    ours = np.array([{1: "soma", 2: "axon", 3: "dendrite", 4: "apical"}[int(c)] for c in sk.node_type[has]])
    if level == "coarse":
        truth, ours = np.where(truth == "apical", "dendrite", truth), np.where(ours == "apical", "dendrite", ours)
    keep = (truth != "soma") & (ours != "soma")
    return (length * (truth == ours))[keep].sum() / length[keep].sum()


@pytest.mark.parametrize("shape", [c[0] for c in CASES])
def test_geometry_and_synapse_labels_match_truth(cells, shape):
    cell, neuron = cells[shape]
    neuron = ng.label_compartments(neuron, use_synapses=False)
    table = ng.compartment_table(neuron)
    assert accuracy(neuron, cell) >= 0.95
    assert set(table["compartment"]) >= {"soma", "axon"}
    assert table["compartment_confidence"].between(0, 1).all()
    neuron = ng.map_synapses(neuron, sample_synapses(cell, seed=1))
    neuron = ng.label_compartments(neuron)
    table = ng.compartment_table(neuron)
    assert (table.loc[table.index >= neuron.n_somas, "compartment_method"] == "synapses").all()
    assert accuracy(neuron, cell) >= 0.95
    syn = neuron.synapses
    assert (syn.loc[syn.direction == "pre", "compartment"] == "axon").mean() >= 0.95


def test_apical_only_for_pyramidal(cells):
    cell, neuron = cells["pyramidal"]
    neuron = ng.label_compartments(neuron, use_synapses=False)
    assert accuracy(neuron, cell, level="fine") >= 0.95
    assert {"apical", "basal"} <= set(neuron.branches["compartment"])
    _, multi = cells["multipolar"]
    multi = ng.label_compartments(multi, use_synapses=False)
    assert "apical" not in set(multi.branches["compartment"])


def test_pia_direction_picks_or_vetoes_the_apical(cells):
    cell, neuron = cells["pyramidal"]
    paths = cell.paths
    apical = np.vstack([paths[b] for b in np.flatnonzero(cell.branches["compartment"].to_numpy() == "apical")])
    up = apical.mean(axis=0) - cell.soma_center  # the true apical tuft lies towards the pia
    neuron = ng.label_compartments(neuron, use_synapses=False, pia=up)
    assert accuracy(neuron, cell, level="fine") >= 0.95
    # the same cell with the pia on the other side has no apical dendrite
    neuron = ng.label_compartments(neuron, use_synapses=False, pia=-up)
    assert "apical" not in set(neuron.branches["compartment"])
    assert accuracy(neuron, cell) >= 0.95  # axon / dendrite unchanged
    with pytest.raises(InputError, match="pia"):
        neuron = ng.label_compartments(neuron, pia=(0, 0, 0))


def test_labels_propagate_to_nodes_faces_and_summary(cells):
    cell, neuron = cells["bipolar"]
    neuron = ng.label_compartments(neuron, use_synapses=False)
    table = ng.compartment_table(neuron)
    code = {"soma": 1, "axon": 2, "dendrite": 3, "basal": 3, "apical": 4}
    expected = np.array([code[table.at[b, "compartment"]] for b in neuron.node_branch])
    assert np.array_equal(neuron.skeleton.node_type, expected)
    face_expected = np.array([code[table.at[b, "compartment"]] for b in neuron.face_branch])
    assert np.array_equal(neuron.face_compartment, face_expected)
    s = ng.neuron_summary(neuron).iloc[0]
    truth_axon = cell.branches.loc[cell.branches.compartment == "axon", "length"].sum()
    assert abs(s["axon_length"] - truth_axon) / truth_axon < 0.1
    assert set(neuron.skeleton.to_swc()["type"]) == {1, 2, 3}


def test_use_synapses_true_needs_synapses():
    cell = make_neuron(0, "fragment")
    neuron = ng.extract(cell.mesh, voxel_size=1)
    with pytest.raises(InputError, match="map_synapses"):
        neuron = ng.label_compartments(neuron, use_synapses=True)


def test_perisomatic_features_of_a_synthetic_soma(cells):
    cell, neuron = cells["bipolar"]
    neuron = ng.map_synapses(neuron, sample_synapses(cell, seed=3, n_soma=12))
    soma = ng.soma_features(neuron, depth_axis=(0, 0, 2)).iloc[0]
    r = cell.soma_radius / 1e3
    assert soma["equivalent_radius"] == pytest.approx(r, rel=0.1)
    assert soma["volume"] == pytest.approx(4 / 3 * np.pi * r ** 3, rel=0.25)
    assert 0.85 <= soma["sphericity"] <= 1.0
    assert soma["n_primary_neurites"] == len(cell.branches.query("parent == -1"))
    assert soma["depth"] == pytest.approx(cell.soma_center[2] / 1e3, abs=1.0)
    assert soma["n_somatic_post"] >= 10 and soma["somatic_synapse_density"] > 0
    total_shells = soma["n_syn_0_15um"] + soma["n_syn_15_30um"] + soma["n_syn_30_60um"]
    syn = neuron.synapses
    near = syn["mapped"] & (syn["soma"] < 0) & (syn["path_to_soma"] < 60)
    assert total_shells == near.sum()
    assert ng.neuron_summary(neuron).iloc[0]["soma_volume"] == pytest.approx(soma["volume"])


def test_node_labels_read_back_skip_unknown_missing_and_foreign_values(tmp_path):
    """Labels read with a skeleton (navis, precomputed): codes outside the table decode to
    ``unknown``; ``None``, NaN, ``unknown`` and non-string values label nothing; each branch
    takes its most common label (ties: alphabetical)."""
    from neurograph.graph.labels import apply_node_labels, decode_compartments

    codes = np.array([0, 1, 2, 9, 255], np.uint8)
    assert decode_compartments(codes).tolist() == ["unknown", "soma", "axon", "unknown", "unknown"]
    swc = tmp_path / "tiny.swc"
    swc.write_text("1 1 0 0 0 8 -1\n2 3 10 0 0 1 1\n3 3 20 0 0 1 2\n4 3 30 0 0 1 3\n"
                   "5 3 30 10 0 1 4\n6 3 30 20 0 1 5\n7 2 30 -10 0 1 4\n8 2 30 -20 0 1 7\n")
    with pytest.warns(UserWarning):
        neuron = ng.load_swc(swc, units="um")
    assert neuron.node_branch.tolist() == [0, 1, 1, 1, 2, 2, 3, 3]
    labels = np.array([None, np.nan, "unknown", 3, "apical", b"axon", "apical", "axon"], dtype=object)
    apply_node_labels(neuron, labels, "test")
    table = ng.compartment_table(neuron)
    assert table["compartment"].to_dict() == {2: "apical", 3: "apical"}
    assert table["compartment_confidence"].tolist() == [1.0, 0.5]
    assert neuron.skeleton.node_type.tolist() == [0, 0, 0, 0, 4, 4, 4, 4]
