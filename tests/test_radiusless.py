"""Skeletons without radii (CAVE skeleton service / pcg_skel style): ~2 µm nodes, nm, no radius.

Synthetic neurons are exported as their true centre line, resampled to ~2 µm, jittered off the
axis (0.3 x the local radius) and written to SWC with the radius column 0; synapses sit on the
true membrane (shaft surface, spine heads, soma surface).
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest

import neurograph as ng
from neurograph.errors import InputError, NeurographError
from neurograph.io.swc import read_swc, write_swc
from neurograph.skeleton.resample import resample
from neurograph.synthetic import make_neuron, sample_synapses, truth_compartments, truth_skeleton

matplotlib.use("Agg")
NAME = {1: "soma", 2: "axon", 3: "dendrite", 4: "apical"}


def _load(path):
    with pytest.warns(UserWarning, match="radius-less"):
        return ng.load_swc(path, units="nm")


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    """(cell, swc path, synapses, pia direction) for two pyramidal cells and a multipolar one."""
    out = {}
    tmp = tmp_path_factory.mktemp("radiusless")
    for shape, seed, spines in (("pyramidal", 0, 0.3), ("pyramidal", 5, 0.0), ("multipolar", 1, 0.0)):
        cell = make_neuron(seed, shape, spines_per_um=spines)
        sk = truth_skeleton(cell, radii=False, spacing=2000.0, jitter=0.3, seed=seed)
        path = tmp / f"{shape}{seed}.swc"
        write_swc(sk.to_swc(units="nm"), path)
        up = cell.transform[:3, :3] @ np.array([0.0, 0.0, 1.0])  # the model grows the apical along +z
        out[f"{shape}{seed}"] = (cell, path, sample_synapses(cell, seed), up)
    return out


def accuracy(neuron, cell):
    """(axon/dendrite accuracy, fraction of the true apical cable labelled apical), by cable."""
    sk = neuron.skeleton
    has = np.flatnonzero(sk.parent >= 0)
    mid = 0.5 * (sk.vertices[has] + sk.vertices[sk.parent[has]])
    length = np.linalg.norm(sk.vertices[has] - sk.vertices[sk.parent[has]], axis=1)
    truth = truth_compartments(cell, mid)
    ours = np.array([NAME[int(c)] for c in sk.node_type[has]])
    keep = (truth != "soma") & (ours != "soma")
    coarse = lambda x: np.where(x == "apical", "dendrite", x)  # noqa: E731
    ad = (length * (coarse(ours) == coarse(truth)))[keep].sum() / length[keep].sum()
    ap = keep & (truth == "apical")
    apical = (length * (ours == "apical"))[ap].sum() / length[ap].sum() if ap.any() else np.nan
    return ad, apical


@pytest.mark.parametrize("radius", ["0", "-1", "nan", "1.5", None])
def test_radius_column_unknown_missing_or_constant_is_radius_less(tmp_path, radius):
    rows = [(2, 3, 2000, 0, 0, 1), (3, 3, 4000, 0, 0, 2), (4, 3, 6000, 500, 0, 3), (5, 2, -2000, 0, 0, 1)]
    if radius is None:  # no radius column at all: "id type x y z parent"
        lines = ["1 1 0 0 0 -1"] + [" ".join(map(str, r)) for r in rows]
    else:  # the soma keeps its 5000 nm radius
        lines = ["1 1 0 0 0 5000 -1"] + [" ".join(map(str, (*r[:5], radius, r[5]))) for r in rows]
    path = tmp_path / "cell.swc"
    path.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match="radius-less"):
        table = read_swc(path, units="nm")
    assert table["radius"].iloc[1:].isna().all()
    neuron = _load(path)
    assert neuron.repair_report["radius_known"] == 0.0
    assert neuron.branches["width_mean"].isna().all()
    if radius is not None:
        assert neuron.somas[0].radius == pytest.approx(5000.0)


def test_some_radii_known_is_not_radius_less(tmp_path):
    path = tmp_path / "cell.swc"
    path.write_text("1 1 0 0 0 5 -1\n2 3 2 0 0 1 1\n3 3 4 0 0 0.5 2\n4 3 6 1 0 0 3\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        neuron = ng.load_swc(path, units="um")
    assert 0 < neuron.repair_report["radius_known"] < 1


def test_resample_keeps_topology_and_cable():
    cell = make_neuron(2, "bipolar", orient=False)
    fine = truth_skeleton(cell)
    coarse = resample(fine, 2000.0, keep_soma_edges=True)
    n_children = lambda sk: np.bincount(sk.parent[sk.parent >= 0], minlength=sk.n_nodes)  # noqa: E731
    assert (n_children(coarse) >= 2).sum() == (n_children(fine) >= 2).sum()
    assert (n_children(coarse) == 0).sum() == (n_children(fine) == 0).sum()
    assert coarse.cable_length == pytest.approx(fine.cable_length, rel=0.01)
    edges = coarse.edge_lengths[coarse.parent >= 0]
    leaves_soma = coarse.parent == coarse.soma_nodes[0]
    assert edges[~leaves_soma[coarse.parent >= 0]].max() <= 2000.0 + 1e-6
    # the edges leaving the soma keep their surface node: its distance is the soma radius
    assert np.allclose(coarse.edge_lengths[leaves_soma], cell.soma_radius)
    assert set(coarse.node_type.tolist()) == set(fine.node_type.tolist())
    with pytest.raises(InputError, match="spacing"):
        resample(fine, 0.0)


def test_synapses_map_onto_centre_lines_and_unit_errors_still_raise(cells):
    cell, path, syn, _ = cells["pyramidal0"]
    neuron = _load(path)
    neuron = ng.map_synapses(neuron, syn)
    rep = neuron.synapse_report
    assert rep["n_mapped"] / rep["n_synapses"] >= 0.99
    assert rep["n_centerline"] > 0.9 * rep["n_synapses"] and rep["centerline_tolerance_nm"] == 5000.0
    table = neuron.synapses
    on_soma = (syn["compartment"] == "soma").to_numpy()
    assert (table["soma"].to_numpy()[on_soma] == 0).all()          # soma membrane -> soma
    assert (table["soma"].to_numpy()[~on_soma] >= 0).mean() < 0.02  # and few others
    # many lie > 1 µm from the centre line: a 1 µm rule would have dropped them
    assert (table["distance_to_mesh_nm"] > 1000.0).mean() > 0.25
    voxels = syn.copy()  # MICrONS 4 x 4 x 40 nm voxels passed as nm
    voxels[["x", "y"]] /= 4.0
    voxels["z"] /= 40.0
    with pytest.raises(InputError, match="other units"):
        neuron = ng.map_synapses(neuron, voxels)
    microns = syn.copy()
    microns[["x", "y", "z"]] /= 1000.0  # µm passed as nm
    with pytest.raises(InputError, match="other units"):
        neuron = ng.map_synapses(neuron, microns)
    with pytest.raises(InputError, match="centerline_tolerance"):
        neuron = ng.map_synapses(neuron, syn, centerline_tolerance=-1.0)


@pytest.mark.parametrize("name", ["pyramidal0", "pyramidal5", "multipolar1"])
def test_compartments_without_radii(cells, name):
    cell, path, syn, up = cells[name]
    neuron = _load(path)
    pyramidal = name.startswith("pyramidal")
    # no synapses, no pia: the width-free geometry rules (compartments.vertebrate) decide
    neuron = ng.label_compartments(neuron)
    table = ng.compartment_table(neuron)
    assert set(table.loc[table.index >= neuron.n_somas, "compartment_method"]) == {"geometry"}
    assert accuracy(neuron, cell)[0] >= 0.95
    if not pyramidal:
        assert "apical" not in set(table["compartment"])
    # no synapses, with the pia direction: the apical dendrite of pyramidal cells only
    neuron = ng.label_compartments(neuron, pia=up)
    table = ng.compartment_table(neuron)
    _, apical = accuracy(neuron, cell)
    if pyramidal:
        assert apical >= 0.90
        assert set(table.loc[table.compartment.isin(["apical", "basal"]), "apical_method"]) == {"pia"}
    else:
        assert "apical" not in set(table["compartment"])
    # with synapses: axon / dendrite from synapse flow
    neuron = ng.map_synapses(neuron, syn)
    neuron = ng.label_compartments(neuron, pia=up if pyramidal else None)
    table = ng.compartment_table(neuron)
    ad, apical = accuracy(neuron, cell)
    assert ad >= 0.95
    assert (table.loc[table.index >= neuron.n_somas, "compartment_method"] == "synapses").all()
    if pyramidal:
        assert apical >= 0.90


def test_every_public_step_runs_on_a_radius_less_skeleton(cells, tmp_path):
    from neurograph import plot

    cell, path, syn, up = cells["pyramidal5"]
    neuron = _load(path)
    steps = [
        lambda: ng.neuron_features(neuron), lambda: ng.neuron_summary(neuron), lambda: ng.label_compartments(neuron),
        lambda: ng.label_compartments(neuron, pia=up), lambda: ng.label_compartments(neuron, apical=True),
        lambda: ng.map_synapses(neuron, syn), lambda: ng.label_compartments(neuron, pia=up),
        lambda: ng.label_compartments(neuron, use_synapses=True, apical=True),
        lambda: ng.neuron_features(neuron), lambda: ng.feature_table(), lambda: ng.soma_features(neuron),
        lambda: plot.plot_neuron(neuron, color_by="compartment"),
        lambda: plot.plot_dendrogram(neuron, color_by="compartment"),
        lambda: plot.qc_figure(neuron, path=tmp_path / "qc.png"),
        lambda: neuron.save(tmp_path / "cell.ngz"), lambda: ng.load(tmp_path / "cell.ngz"),
        lambda: neuron.skeleton.to_swc(), lambda: ng.detect_spines(neuron),
    ]
    for step in steps:
        try:
            out = step()
        except NeurographError:
            continue  # a neurograph error says what is wrong (spines need a mesh)
        if isinstance(out, ng.Neuron):  # the steps return a new neuron and leave theirs as it was
            neuron = out
    feats = ng.neuron_features(neuron).iloc[0]
    assert feats["total_length"] == pytest.approx(cell.total_length, rel=0.1)
    assert feats["pre_per_um"] > 0 and feats["axon_length"] > 0
    soma = ng.soma_features(neuron).iloc[0]
    assert soma["n_somatic_post"] >= 10
    back = ng.load(tmp_path / "cell.ngz")
    assert back.branches["compartment"].equals(neuron.branches["compartment"])
    assert back.branches["width_mean"].isna().all()
