"""Soma splitting and proofreading against synthetic merges with exact truth, and on MICrONS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neurograph as ng
from neurograph.checks import assert_neuron_ok
from neurograph.errors import InputError
from neurograph.proofread import RULES, divide, split_somas
from neurograph.proofread.rules import find_merges
from neurograph.synthetic import make_merge

from .conftest import SHARED

STEP = 600.0  # coarser wavefront: the same topology, 3x faster


@pytest.fixture(scope="module")
def bridge():
    m = make_merge(seed=3, kind="soma_bridge")
    return m, ng.extract(m.mesh, voxel_size=1, spines=False, step=STEP)


@pytest.fixture(scope="module")
def axon_merge():
    m = make_merge(seed=2, kind="axon_on_dendrite")
    return m, ng.extract(m.mesh, voxel_size=1, spines=False, step=STEP)


def _cable_of(m, neuron, cell):
    sk = neuron.skeleton
    return sk.edge_lengths[m.cell_of(sk.vertices) == cell].sum()


def test_make_merge_truth():
    m = make_merge(seed=0, kind="touch")
    assert m.mesh.is_watertight and m.n_cells == 2
    assert len(m.face_cell) == len(m.mesh.faces) and set(np.unique(m.face_cell)) == {0, 1}
    assert m.merge_points.shape == (1, 3)
    # faces lie on the surface of their own cell: their centroids are nearest to that cell's axes
    # (or soma), except close to the junction
    centres = m.mesh.triangles_center
    far = np.linalg.norm(centres - m.merge_points[0], axis=1) > 5000
    assert (m.cell_of(centres[far]) == m.face_cell[far]).mean() > 0.97
    with pytest.raises(InputError):
        make_merge(kind="nonsense")


def test_split_somas_bridge(bridge):
    m, neuron = bridge
    assert neuron.n_somas == 2
    parts = split_somas(neuron)
    assert [p.n_somas for p in parts] == [1, 1]
    assert [p.name for p in parts] == [f"{neuron.name}_0", f"{neuron.name}_1"]
    # every face goes to exactly one part and, there, to exactly one branch or soma
    assert sum(len(p.mesh.faces) for p in parts) == len(neuron.mesh.faces)
    for p in parts:
        assert_neuron_ok(p)  # the Neuron contract (neurograph.checks) holds for every part
        assert np.isin(p.face_branch, list(p.graph.nodes)).all()
        assert len(p.cuts) >= 1 and {"x", "y", "z", "reason", "confidence"} <= set(p.cuts.columns)
    # the cut is at the true join, and each cell keeps >= 95% of its cable
    cut = parts[0].cuts[["x", "y", "z"]].to_numpy(float)
    assert np.min(np.linalg.norm(cut - m.merge_points[0], axis=1)) < 5000
    for p in parts:
        cell = int(m.cell_of(p.somas[0].center[None])[0])
        assert _cable_of(m, p, cell) >= 0.95 * _cable_of(m, neuron, cell)


def test_split_single_soma_is_identity(axon_merge):
    _, neuron = axon_merge
    (only,) = split_somas(neuron)
    assert only.n_somas == 1 and len(only.cuts) == 0
    assert only.skeleton.cable_length == pytest.approx(neuron.skeleton.cable_length, rel=1e-9)
    assert len(only.mesh.faces) == len(neuron.mesh.faces)


def test_proofread_removes_axon_fragment(axon_merge):
    m, neuron = axon_merge
    cleaned, pieces = ng.proofread(neuron)
    assert (pieces["action"] == "cut").any()
    cut = pieces.loc[pieces["action"] == "cut", ["x", "y", "z"]].to_numpy(float)
    assert np.min(np.linalg.norm(cut - m.merge_points[0], axis=1)) < 5000
    assert _cable_of(m, cleaned, 1) <= 0.1 * _cable_of(m, neuron, 1)  # the fragment is gone
    assert _cable_of(m, cleaned, 0) >= 0.95 * _cable_of(m, neuron, 0)  # the host stays
    assert cleaned.cuts is not None and len(cleaned.cuts) == len(pieces)
    assert np.isin(cleaned.face_branch, list(cleaned.graph.nodes)).all()
    assert_neuron_ok(cleaned)


def test_proofread_rules_switch_and_flag(axon_merge):
    _, neuron = axon_merge
    every_off = {r: False for r in RULES}
    same, none = ng.proofread(neuron, rules=every_off)
    assert same is neuron and len(none) == 0
    flagged, pieces = ng.proofread(neuron, rules={r: "flag" for r in every_off})
    assert len(pieces) and (pieces["action"] == "flag").all()
    assert flagged.skeleton.cable_length == neuron.skeleton.cable_length  # flags remove nothing
    assert set(find_merges(neuron, rules=["crossing"])["rule"]) <= {"crossing"}
    with pytest.raises(InputError):
        ng.proofread(neuron, rules={"no_such_rule": "cut"})
    with pytest.raises(InputError):
        ng.proofread(neuron, rules={"crossing": "delete"})


def test_divide_keeps_everything_with_one_label(axon_merge):
    _, neuron = axon_merge
    (same,) = divide(neuron, np.zeros(neuron.skeleton.n_nodes, np.int64))
    assert same.skeleton.cable_length == pytest.approx(neuron.skeleton.cable_length)
    assert same.branches["length"].sum() == pytest.approx(neuron.branches["length"].sum(), rel=1e-6)


def test_unmerged_neuron_not_cut():
    cell = ng.synthetic.make_neuron(seed=5, shape="bipolar")
    neuron = ng.extract(cell.mesh, voxel_size=1, spines=False, step=STEP)
    cleaned, pieces = ng.proofread(neuron)
    assert (pieces["action"] == "cut").sum() == 0
    assert cleaned.skeleton.cable_length == pytest.approx(neuron.skeleton.cable_length)


def test_save_load_keeps_cuts(bridge, tmp_path):
    _, neuron = bridge
    part = split_somas(neuron)[1]
    part.save(tmp_path / "p.neuron.zip")
    back = ng.load(tmp_path / "p.neuron.zip")
    pd.testing.assert_series_equal(back.cuts["reason"], part.cuts["reason"], check_dtype=False)


def test_microns_split(microns_mesh_path):
    stem = SHARED / "microns_neurd" / "864691135510518224"
    parts = ng.extract(microns_mesh_path, synapses=f"{stem}_synapses.csv", synapse_voxel_size=(4, 4, 40),
                       split=True)
    assert len(parts) == 2 and all(p.n_somas == 1 for p in parts)
    neurd = pd.read_csv(f"{stem}_neurd_skeleton.swc", sep=r"\s+")
    pts = neurd[["x", "y", "z"]].to_numpy(float) * 1e3
    from scipy.spatial import cKDTree

    dist = [np.median(cKDTree(p.skeleton.vertices).query(pts + p.somas[0].center)[0]) for p in parts]
    main = parts[int(np.argmin(dist))]
    covered = cKDTree(main.skeleton.vertices).query(pts + main.somas[0].center)[0] <= 5000
    assert covered.mean() >= 0.9
    syn = main.synapses
    assert (syn.loc[syn["direction"] == "pre", "compartment"] == "axon").mean() >= 0.9


def test_batch_split(bridge, tmp_path):
    from neurograph.batch import extract_all, read_results

    m, _ = bridge
    m.mesh.export(tmp_path / "merge.ply")
    summary = extract_all([str(tmp_path / "merge.ply")], tmp_path / "out", workers=1, progress=False, qc=False,
                          extract_kwargs={"split": True, "spines": False, "step": STEP})
    res = read_results(tmp_path / "out")
    assert summary.succeeded == 1, res.errors.to_dict("records")
    rows = res.neurons.sort_values("soma")
    assert list(rows["neuron"]) == ["merge_0", "merge_1"] and list(rows["soma"]) == [0, 1]
    assert set(rows["segment"]) == {"merge"} and (rows["n_cuts"] >= 1).all()
    assert all(r for r in rows["cut_reasons"])
    assert set(res.branches["neuron"]) == {"merge_0", "merge_1"}
