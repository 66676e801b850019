"""The pipeline on real meshes: hemibrain DA1 (navis example data) and MICrONS (shared data)."""

import numpy as np
import pytest

import neurograph as ng

from .conftest import HEMIBRAIN_IDS, HEMIBRAIN_WITHOUT_SOMA

NEURD_SOMAS = np.array([(1_488_881, 589_300, 1_100_652), (1_472_183, 577_993, 1_112_354)], float)


def _cable_nm(swc_path) -> float:
    import navis

    return float(navis.read_swc(swc_path).cable_length) * 8.0


@pytest.mark.parametrize("sid", HEMIBRAIN_IDS)
def test_hemibrain_somas(hemibrain_neurons, navis_data, sid):
    import navis

    neuron = hemibrain_neurons[sid]
    if sid == HEMIBRAIN_WITHOUT_SOMA:
        assert neuron.n_somas == 0
        return
    assert neuron.n_somas == 1
    ref = navis.read_swc(navis_data / "swc" / f"{sid}.swc")
    soma = ref.nodes.set_index("node_id").loc[ref.soma, ["x", "y", "z"]].to_numpy(float).ravel() * 8
    assert np.linalg.norm(neuron.somas[0].center - soma) < 3000


@pytest.mark.parametrize("sid", HEMIBRAIN_IDS)
def test_hemibrain_invariants(hemibrain_neurons, sid):
    neuron = hemibrain_neurons[sid]
    n_faces = len(neuron.mesh.faces)
    # Every face belongs to exactly one branch or soma.
    assert neuron.face_branch.shape == (n_faces,)
    assert set(np.unique(neuron.face_branch)) <= set(neuron.graph.nodes)
    b = neuron.branches
    assert b["n_faces"].sum() + sum(neuron.graph.nodes[i]["n_faces"] for i in range(neuron.n_somas)) == n_faces
    # Lengths add up to the skeleton cable, less the cable of edges leaving a soma sphere
    # that lies inside it (measured here by sampling those edges at 1000 points)
    sk = neuron.skeleton
    seg = np.flatnonzero(sk.parent >= 0)
    a, e = sk.vertices[sk.parent[seg]], sk.vertices[seg]
    t = (np.arange(1000) + 0.5) / 1000
    inside = 0.0
    for soma in neuron.somas:
        near = np.linalg.norm(a - soma.center, axis=1) < soma.radius
        pts = a[near, None, :] + t[None, :, None] * (e[near] - a[near])[:, None, :]
        frac = (np.linalg.norm(pts - soma.center, axis=2) < soma.radius).mean(axis=1)
        inside += float((frac * np.linalg.norm(e[near] - a[near], axis=1)).sum())
    assert b["length"].sum() * 1e3 + inside == pytest.approx(sk.cable_length, rel=1e-4)
    assert (b["tortuosity"] >= 1 - 1e-9).all()
    assert (b["strahler"] >= 1).all() and (b["branch_order"] >= 1).all()
    # A tree: every branch has at most one parent, one connected piece per root.
    assert all(neuron.graph.in_degree(n) <= 1 for n in neuron.graph.nodes)


def test_hemibrain_length_against_reference(hemibrain_neurons, navis_data):
    # fly neurons, extracted without spine detection (no spines to fold): issue #2 asks 15%
    ratios = {sid: n.skeleton.cable_length / _cable_nm(navis_data / "swc" / f"{sid}.swc")
              for sid, n in hemibrain_neurons.items()}
    print(ratios)
    assert all(0.85 < r < 1.15 for r in ratios.values()), ratios


def test_save_load_round_trip(hemibrain_neurons, tmp_path):
    neuron = hemibrain_neurons["754534424"]
    path = tmp_path / "n.neuron.zip"
    neuron.save(path)
    back = ng.load(path)
    assert back.name == neuron.name and back.n_somas == neuron.n_somas
    assert np.array_equal(back.face_branch, neuron.face_branch)
    assert np.allclose(back.skeleton.vertices, neuron.skeleton.vertices)
    assert np.array_equal(back.mesh.faces, neuron.mesh.faces)
    assert sorted(back.graph.edges) == sorted(neuron.graph.edges)
    np.testing.assert_allclose(back.branches.to_numpy(float), neuron.branches.to_numpy(float), equal_nan=True)
    assert np.allclose(ng.neuron_summary(back).to_numpy(float), ng.neuron_summary(neuron).to_numpy(float), equal_nan=True)


def test_swc_and_navis(hemibrain_neurons, tmp_path):
    neuron = hemibrain_neurons["754534424"]
    swc = neuron.skeleton.to_swc("um")
    assert (swc.parent_id == -1).sum() == len(neuron.skeleton.roots)
    assert set(swc.parent_id[swc.parent_id > 0]) <= set(swc.node_id)
    tn = neuron.skeleton.to_navis(name="x")
    assert tn.cable_length == pytest.approx(neuron.skeleton.cable_length, rel=1e-6)
    ng.write_swc(swc, tmp_path / "x.swc")
    import navis

    back = navis.read_swc(tmp_path / "x.swc")
    assert back.n_nodes == neuron.skeleton.n_nodes


def test_microns_double_soma(microns_mesh_path):
    neuron = ng.extract(microns_mesh_path, voxel_size=1)
    assert neuron.n_somas == 2
    for ref in NEURD_SOMAS:
        assert min(np.linalg.norm(s.center - ref) for s in neuron.somas) < 3000
    area = neuron.mesh.area_faces
    assigned = np.isin(neuron.face_branch, list(neuron.graph.nodes))
    assert area[assigned].sum() / (neuron.repair_report["area_in_um2"] * 1e6) > 0.85


def test_cli_extract_example(tmp_path):
    from neurograph.cli import main

    assert main(["extract", "--example", "-o", str(tmp_path)]) == 0
    stem = tmp_path / "skeletor_example_722817260"
    for suffix in ("_branches.csv", "_summary.csv", ".swc", ".neuron.zip", ".png", "_qc.png"):
        assert (tmp_path / f"{stem.name}{suffix}").stat().st_size > 0
