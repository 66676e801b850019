"""Synapse tables: loading (units, columns, bad input), mapping onto the mesh, save/load,
real tables (hemibrain via navis, MICrONS in ../shared/data)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import neurograph as ng
from neurograph.errors import InputError
from neurograph.synthetic import make_neuron, sample_synapses


@pytest.fixture(scope="module")
def bipolar():
    cell = make_neuron(2, "bipolar")
    return cell, ng.extract(cell.mesh, voxel_size=1, name="bipolar_2")


def test_load_microns_layout_converts_voxels_to_nm():
    raw = pd.DataFrame({"prepost": ["presyn", "postsyn"], "synapse_id": [7, 8], "synapse_x": [10, 20],
                        "synapse_y": [1, 2], "synapse_z": [3, 4], "size": [100, 200]})
    syn = ng.load_synapses(raw, voxel_size=(4, 4, 40))
    assert syn["direction"].tolist() == ["pre", "post"]
    assert syn[["x", "y", "z"]].to_numpy().tolist() == [[40, 4, 120], [80, 8, 160]]
    assert syn["synapse_id"].tolist() == [7, 8] and syn["size"].tolist() == [100, 200]


def test_load_navis_csv_and_explicit_columns(navis_data, tmp_path):
    syn = ng.load_synapses(navis_data / "synapses" / "1734350788.csv", voxel_size=8)
    raw = pd.read_csv(navis_data / "synapses" / "1734350788.csv")
    assert len(syn) == len(raw) and set(syn["direction"]) == {"pre", "post"}
    assert np.allclose(syn["x"], raw["x"] * 8)
    other = raw.rename(columns={"type": "flavour", "x": "px", "y": "py", "z": "pz"})
    path = tmp_path / "s.csv"
    other.to_csv(path, index=False)
    again = ng.load_synapses(path, voxel_size=8, columns={"direction": "flavour", "x": "px", "y": "py", "z": "pz"})
    assert np.allclose(again[["x", "y", "z"]], syn[["x", "y", "z"]])


@pytest.mark.parametrize("table, match", [
    (pd.DataFrame({"x": [1.0], "y": [2.0], "z": [3.0]}), "pre/post column"),
    (pd.DataFrame({"type": ["pre"], "a": [1.0]}), "x/y/z"),
    (pd.DataFrame({"type": ["pre", "post"], "x": [1.0, np.nan], "y": [2.0, 2], "z": [3.0, 3]}), "NaN"),
    (pd.DataFrame({"type": ["pre", "maybe"], "x": [1.0, 1], "y": [2.0, 2], "z": [3.0, 3]}), "neither pre nor post"),
    (pd.DataFrame({"type": pd.Series([], dtype=str), "x": [], "y": [], "z": []}), "empty"),
])
def test_load_rejects_bad_tables(table, match):
    with pytest.raises(InputError, match=match):
        ng.load_synapses(table, voxel_size=1)


def test_load_rejects_bad_voxel_size_and_column_names():
    table = pd.DataFrame({"type": ["pre"], "x": [1.0], "y": [2.0], "z": [3.0]})
    with pytest.raises(InputError, match="voxel_size"):
        ng.load_synapses(table, voxel_size=(4, 4))
    with pytest.raises(InputError, match="no column"):
        ng.load_synapses(table, voxel_size=1, columns={"direction": "nope"})


def test_map_synapses_on_synthetic(bipolar):
    cell, neuron = bipolar
    truth = sample_synapses(cell, seed=2)
    neuron = ng.map_synapses(neuron, truth)
    syn = neuron.synapses
    assert len(syn) == len(truth) and syn["mapped"].all()
    dist = syn["distance_to_mesh_nm"]  # sampled on the surface of the truth solid (a few lie inside it)
    assert dist.quantile(0.95) < 100 and dist.max() < 1000
    # somatic sites land on the soma, the rest on branches
    on_soma = truth["compartment"].to_numpy() == "soma"
    assert (syn["soma"].to_numpy()[on_soma] == 0).mean() >= 0.9
    assert (syn["branch"].to_numpy()[~on_soma] >= neuron.n_somas).mean() >= 0.95
    b = neuron.branches
    assert {"n_pre", "n_post", "pre_per_um", "post_per_um"} <= set(b.columns)
    n_pre_branches = int((syn["direction"].eq("pre") & syn["branch"].ge(neuron.n_somas)).sum())
    assert b["n_pre"].sum() == n_pre_branches
    assert np.allclose(b["pre_per_um"], b["n_pre"] / b["length"])
    s = ng.neuron_summary(neuron).iloc[0]
    assert s["n_synapses"] == len(truth) and s["n_pre"] + s["n_post"] == len(truth)


def test_far_synapses_are_reported_not_dropped(bipolar):
    cell, neuron = bipolar
    truth = sample_synapses(cell, seed=2)
    far = truth.iloc[:3].copy()
    far[["x", "y", "z"]] += 50_000.0
    with pytest.warns(UserWarning, match="3 of"):
        neuron = ng.map_synapses(neuron, pd.concat([truth, far], ignore_index=True), tolerance=1000)
        syn = neuron.synapses
    assert len(syn) == len(truth) + 3
    assert (~syn["mapped"]).sum() == 3 and (syn.loc[~syn["mapped"], "branch"] == -1).all()
    assert neuron.synapse_report["n_unmapped"] == 3 and ng.neuron_summary(neuron).iloc[0]["n_unmapped"] == 3


def test_wrong_units_raise(bipolar):
    cell, neuron = bipolar
    truth = sample_synapses(cell, seed=2)
    in_um = truth.assign(x=truth.x / 1e3, y=truth.y / 1e3, z=truth.z / 1e3)
    with pytest.raises(InputError, match="units"):
        neuron = ng.map_synapses(neuron, in_um)


def test_save_load_keeps_synapses_and_labels(bipolar, tmp_path):
    cell, neuron = bipolar
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        neuron = ng.map_synapses(neuron, sample_synapses(cell, seed=2))
    neuron = ng.label_compartments(neuron)
    neuron.save(tmp_path / "n.zip")
    back = ng.load(tmp_path / "n.zip")
    assert back.synapses is not None and len(back.synapses) == len(neuron.synapses)
    assert (back.synapses["compartment"].to_numpy() == neuron.synapses["compartment"].to_numpy()).all()
    assert (back.synapses["on_spine"].to_numpy() == neuron.synapses["on_spine"].to_numpy()).all()
    assert np.array_equal(back.skeleton.node_type, neuron.skeleton.node_type)
    assert np.array_equal(back.face_compartment, neuron.face_compartment)
    pd.testing.assert_frame_equal(back.branches[["compartment", "n_pre", "n_post"]],
                                  neuron.branches[["compartment", "n_pre", "n_post"]], check_dtype=False)


def test_hemibrain_split_agrees_with_navis(navis_data):
    navis = pytest.importorskip("navis")
    from scipy.spatial import cKDTree

    sid = "754538881"
    neuron = ng.extract(navis_data / "obj" / f"{sid}.obj", voxel_size=8, spines=False,
                        synapses=navis_data / "synapses" / f"{sid}.csv", synapse_voxel_size=8)
    assert neuron.synapse_report["n_unmapped"] == 0
    x = [n for n in navis.example_neurons(5, kind="skeleton") if str(n.id) == sid][0]
    x = navis.heal_skeleton(x) if x.n_trees > 1 else x
    nodes = navis.split_axon_dendrite(x, label_only=True).nodes
    sk = neuron.skeleton
    has = np.flatnonzero(sk.parent >= 0)
    mid = 0.5 * (sk.vertices[has] + sk.vertices[sk.parent[has]])
    length = np.linalg.norm(sk.vertices[has] - sk.vertices[sk.parent[has]], axis=1)
    _, idx = cKDTree(nodes[["x", "y", "z"]].to_numpy(float) * 8).query(mid)
    theirs = nodes["compartment"].to_numpy()[idx]
    ours = np.where(sk.node_type[has] == 2, "axon", np.where(sk.node_type[has] == 1, "soma", "dendrite"))
    keep = np.isin(theirs, ["axon", "dendrite"]) & (ours != "soma")
    assert (length * (ours == theirs))[keep].sum() / length[keep].sum() >= 0.9


def test_microns_synapses_land_on_the_right_compartments(microns_mesh_path):
    stem = str(microns_mesh_path).replace("_decimated_mesh.off", "")
    neuron = ng.extract(microns_mesh_path, voxel_size=1, synapses=stem + "_synapses.csv", synapse_voxel_size=(4, 4, 40))
    syn = neuron.synapses
    assert len(syn) == 965 and syn["mapped"].all()
    pre = syn["direction"] == "pre"
    assert (syn.loc[pre, "compartment"] == "axon").mean() >= 0.9
    assert syn.loc[~pre, "compartment"].isin(["dendrite", "apical", "basal", "soma"]).mean() >= 0.9
    somata = ng.soma_features(neuron)
    assert len(somata) == 2 and (somata["volume"] > 0).all() and somata["sphericity"].between(0, 1).all()
    assert (somata["n_somatic_synapses"] > 0).all()


def test_spine_synapses_land_on_spine_heads():
    cell = make_neuron(2, "bipolar", spines_per_um=1.0)
    neuron = ng.extract(cell.mesh, voxel_size=1, name="spiny")
    if getattr(neuron, "spines", None) is None:
        pytest.skip("spine detection not available")
    truth = sample_synapses(cell, seed=2)
    neuron = ng.map_synapses(neuron, truth)
    syn = neuron.synapses
    neuron = ng.label_compartments(neuron)
    on = truth["on_spine"].to_numpy()
    assert on.sum() > 50
    assert syn["on_spine"].to_numpy()[on].mean() >= 0.85
    assert syn["on_spine"].to_numpy()[~on].mean() <= 0.1
    assert (syn["spine_part"].to_numpy()[on] == "head").mean() >= 0.8
    assert not syn.loc[syn["compartment"] == "axon", "on_spine"].any()
