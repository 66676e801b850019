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


def test_a_part_left_with_two_somata_keeps_both_as_roots(bridge):
    """With no cut allowed the merge stays one part holding both somata; each stays the root of
    its tree (the part was re-rooted at its first soma only, which the skeleton check refuses)."""
    m, neuron = bridge
    (part,) = split_somas(neuron, max_cuts=0)
    assert part.n_somas == 2 and (part.skeleton.parent[part.skeleton.soma_nodes] == -1).all()
    assert part.skeleton.n_nodes == neuron.skeleton.n_nodes
    assert part.branches["length"].sum() == pytest.approx(neuron.branches["length"].sum(), rel=0.02)
    assert_neuron_ok(part)


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
    parts = ng.extract(microns_mesh_path, voxel_size=1, synapses=f"{stem}_synapses.csv", synapse_voxel_size=(4, 4, 40),
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
    summary = extract_all([str(tmp_path / "merge.ply")], tmp_path / "out", voxel_size=1, workers=1, progress=False, qc=False,
                          extract_kwargs={"split": True, "spines": False, "step": STEP})
    res = read_results(tmp_path / "out")
    assert summary.succeeded == 1, res.errors.to_dict("records")
    rows = res.neurons.sort_values("soma")
    assert list(rows["neuron"]) == ["merge_0", "merge_1"] and list(rows["soma"]) == [0, 1]
    assert set(rows["segment"]) == {"merge"} and (rows["n_cuts"] >= 1).all()
    assert all(r for r in rows["cut_reasons"])
    assert set(res.branches["neuron"]) == {"merge_0", "merge_1"}


def _line(start, direction, length, parent, pts, par, step=500.0):
    """Append nodes every ``step`` nm from ``start`` along ``direction``; returns the last node."""
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    for k in range(1, int(length // step) + 1):
        pts.append(np.asarray(start, float) + d * k * step)
        par.append(parent)
        parent = len(pts) - 1
    return parent


def _junction_tree(kind: str):
    """Soma, a 40 µm neurite along x, and at its end a junction of the given kind:
    ``crossing`` (goes on along x, two 15 µm arms along +y and -y), ``branch`` (one arm along +y),
    ``stubs`` (goes on along x, three 400 nm stubs at nodes around the junction)."""
    from neurograph.mesh import Soma
    from neurograph.skeleton import Skeleton

    pts, par = [np.zeros(3)], [-1]
    j = _line([3000.0, 0, 0], [1, 0, 0], 40000, 0, pts, par)
    jp = pts[j].copy()
    end = _line(jp, [1, 0, 0], 20000, j, pts, par)
    if kind in ("crossing", "branch"):
        _line(jp, [0, 1, 0], 15000, j, pts, par)
    if kind == "crossing":
        _line(jp, [0, -1, 0], 15000, j, pts, par)
    if kind == "stubs":
        for node in (j - 1, j, j + 1):
            _line(pts[node], [0, 0, 1], 400, node, pts, par, step=400.0)
    xyz = np.asarray(pts)
    radius = np.r_[3000.0, np.full(len(xyz) - 1, 150.0)]
    sk = Skeleton(xyz, np.asarray(par), radius, None, np.array([0]))
    neuron = ng.decompose(sk, [Soma(center=xyz[0], radius=3000.0, faces=np.empty(0, np.int64))], name=kind)
    return neuron, j, end


@pytest.mark.parametrize("kind, extra", [("crossing", 2), ("branch", 1), ("stubs", 0)])
def test_split_counts_arms_leaving_a_junction(kind, extra):
    # the split's crossing evidence: arms leaving a ball around the junction, not forks inside it
    from neurograph.proofread.split import _side_arms

    neuron, j, end = _junction_tree(kind)
    sk = neuron.skeleton
    path = np.r_[np.arange(1, j + 1), np.arange(j + 1, end + 1)]  # soma side -> continuation
    side = _side_arms(sk, path)
    assert side[path == j][0] == extra
    far = np.linalg.norm(sk.vertices[path] - sk.vertices[j], axis=1) > 3000
    assert (side[far] == 0).all()


def test_axon_crossing_flagged_unless_asked(tmp_path):
    neuron, j, _ = _junction_tree("crossing")
    arms = find_merges(neuron, rules=["crossing"])
    assert len(arms) == 2 and set(arms["rule"]) == {"crossing"}  # unlabelled: a crossing, cut
    cut, _ = ng.proofread(neuron, rules=["crossing"])
    assert cut.skeleton.cable_length == pytest.approx(neuron.skeleton.cable_length - 30000, abs=1500)
    # the same junction inside a labelled axon: the axon_crossing rule, flagged by default
    neuron.set_branch_values({b: {"compartment": "axon"} for b in neuron.branches.index})  # drops the cached table
    kept, pieces = ng.proofread(neuron)
    assert set(pieces["rule"]) == {"axon_crossing"} and (pieces["action"] == "flag").all()
    assert kept.skeleton.cable_length == neuron.skeleton.cable_length
    cut, pieces = ng.proofread(neuron, rules={"axon_crossing": "cut"})
    assert (pieces["action"] == "cut").all() and cut.skeleton.cable_length < neuron.skeleton.cable_length - 25000


def test_doubling_back_ignores_stubs():
    from neurograph.proofread.rules import _doubling_back, _Tree

    neuron, _, _ = _junction_tree("stubs")
    t = _Tree(neuron)
    t.table["angle_to_parent"] = 170.0  # pretend every branch turns back on its parent
    found = {f["branch"] for f in _doubling_back(t)}
    short = {x for x in t.table.index if t.cable_um(t.subtree(x)) < 3.0}
    assert short and not found & short  # 400 nm stubs: a junction's bulge, not a neurite
    assert found  # the 20 µm continuation is reported


def test_soma_bridge_touches_only_at_its_ends(bridge):
    # the synthetic bridge is a dendrite: it must not fuse through other neurites on its way
    from types import SimpleNamespace

    from neurograph.synthetic.merge import _passes_through

    m, _ = bridge
    for cell in (0, 1):
        axes = m.paths[cell][:-1] if cell == 1 else m.paths[cell]
        thickest = SimpleNamespace(branches=pd.DataFrame({"radius_start": [max(r[0] for r in m.radii[cell])]}))
        assert not _passes_through(m.paths[1][-1], m.radii[1][-1][0], axes, thickest, m.soma_centers[cell],
                                   m.soma_radii[cell])
