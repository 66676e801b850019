"""SWC input: parser quirks, somata and roots, units, and the skeleton feature vector."""

from __future__ import annotations


import numpy as np
import pytest

import neurograph as ng
from neurograph.errors import FormatError, InputError
from neurograph.features import feature_table
from neurograph.io.swc import read_swc

from .conftest import SHARED

NAVIS_IDS = ["1734350788", "1734350908", "722817260", "754534424", "754538881"]

# A small neuron in µm with the usual quirks: comments, an uncommented header, a blank line,
# an inline comment, radius -1 / 0, a three-point soma in the middle of the file whose tree
# is rooted at a tip (node 10), a second tree (root 20, parent 0) and a parent listed after its child.
QUIRKY = """# made by hand
n type x y z radius parent

10 3 0 -30 0 1.0 -1
11 3 0 -20 0 -1 10     # radius -1: unknown
1 1 0 0 0 5.0 2
2 1 0 5 0 5.0 12
3 1 0 -5 0 5.0 1
12 3 0 -10 0 0 11
4 3 10 0 0 0.5 1
5 3 20 0 0 0.5 4
6 3 30 10 0 0.5 5
7 3 30 -10 0 0.5 5
20 2 100 100 100 0.3 0
21 2 110 100 100 0.3 22
22 2 105 100 100 0.3 20
"""


def _write(tmp_path, text: str, name: str = "cell.swc"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_swc_handles_comments_header_and_unknown_radii(tmp_path):
    table = read_swc(_write(tmp_path, QUIRKY), units="um")
    assert len(table) == 13
    assert list(table.columns) == ["node_id", "type", "x", "y", "z", "radius", "parent_id"]
    row = table.set_index("node_id")
    assert row.loc[5, "x"] == pytest.approx(20_000.0)            # µm -> nm
    assert np.isnan(row.loc[11, "radius"]) and np.isnan(row.loc[12, "radius"])   # -1 and 0 = unknown
    assert row.loc[20, "parent_id"] == -1                         # parent 0 without a node 0 = root
    assert (table["parent_id"] < 0).sum() == 2


def test_load_swc_collapses_soma_reroots_and_keeps_second_tree(tmp_path):
    neuron = ng.load_swc(_write(tmp_path, QUIRKY), units="um")
    sk = neuron.skeleton
    assert neuron.n_somas == 1 and list(sk.soma_nodes) == [0]
    soma = neuron.somas[0]
    np.testing.assert_allclose(soma.center, [0, 0, 0], atol=1e-6)     # centroid of the 3 soma points
    assert soma.radius == pytest.approx(5000.0)
    assert sk.parent[0] == -1                                         # re-rooted at the soma
    assert len(sk.roots) == 2                                         # soma tree + the axon fragment
    assert sk.n_nodes == 13 - 2                                       # 3 soma points -> 1 node
    # 10 -> 11 -> 12 hangs from the soma now: its path runs soma surface -> 12 -> 11 -> 10.
    feats = ng.neuron_features(neuron).iloc[0]
    assert feats["n_stems"] == 3                                      # two soma stems + the fragment
    expected = (10 - 5) + 10 + 10 + (10 - 5) + 10 + 2 * np.hypot(10, 10) + 10   # µm, stems trimmed at 5 µm
    assert feats["total_length"] == pytest.approx(expected, rel=1e-9)
    assert feats["soma_radius"] == pytest.approx(5.0)


def test_swc_without_soma_uses_root(tmp_path):
    text = "1 0 0 0 0 1 -1\n2 0 10 0 0 1 1\n3 0 20 5 0 1 2\n4 0 20 -5 0 1 2\n"
    neuron = ng.load_swc(_write(tmp_path, text), units="um")
    assert neuron.somas == [] and len(neuron.skeleton.soma_nodes) == 0
    feats = ng.neuron_features(neuron).iloc[0]
    assert np.isnan(feats["soma_radius"]) and np.isnan(ng.neuron_summary(neuron).iloc[0]["soma_radius"])
    assert feats["total_length"] == pytest.approx(10 + 2 * np.hypot(10, 5))
    assert feats["max_radial_distance"] == pytest.approx(np.hypot(20, 5))   # from the root


def test_soma_without_radius_is_not_invented(tmp_path):
    text = "1 1 0 0 0 -1 -1\n2 3 10 0 0 1 1\n3 3 20 0 0 1 2\n"
    neuron = ng.load_swc(_write(tmp_path, text), units="um")
    assert neuron.n_somas == 1
    assert np.isnan(ng.neuron_features(neuron).iloc[0]["soma_radius"])
    given = ng.load_swc(_write(tmp_path, text), units="um", soma_radius=4000.0)
    assert ng.neuron_features(given).iloc[0]["soma_radius"] == pytest.approx(4.0)
    assert ng.neuron_features(given).iloc[0]["total_length"] == pytest.approx(20 - 4)


@pytest.mark.parametrize("text, match", [
    ("1 1 0 0 0 1 -1\n2 3 1 1 1 -1\n", "line 2: 6 fields"),
    ("1 1 0 0 0 1 -1\n2 3 1 x 1 1 1\n", "line 2: non-numeric"),
    ("1 1 0 0 0 1 -1\n1 3 1 1 1 1 1\n", "more than once"),
    ("1 1 0 0 0 1 -1\n2 3 1 1 1 1 7\n", "parent that is not in the file"),
    ("1 1 0 0 0 1 -1\n2 3 1 1 1 1 2\n", "its own parent"),
    ("1 3 0 0 0 1 2\n2 3 1 1 1 1 1\n", "cycle"),
    ("# only a comment\n", "no SWC node lines"),
    ("", "no SWC node lines"),
])
def test_malformed_swc_raises_format_error(tmp_path, text, match):
    with pytest.raises(FormatError, match=match):
        ng.load_swc(_write(tmp_path, text), units="um")  # µm: a plausible size, no units warning first


def test_units_are_required_and_checked(tmp_path):
    path = _write(tmp_path, "1 1 0 0 0 1 -1\n2 3 1 1 1 1 1\n")
    with pytest.raises(InputError, match="give the SWC units"):
        ng.load_swc(path)  # no silent default: SWC does not record units (units= or dataset=)
    with pytest.raises(InputError, match="unknown SWC units"):
        ng.load_swc(path, units="inch")
    with pytest.raises(InputError, match="needs voxel_size"):
        ng.load_swc(path, units="voxel")
    with pytest.raises(InputError, match="only used with units='voxel'"):
        ng.load_swc(path, units="nm", voxel_size=8)
    with pytest.raises(FormatError, match="not found"):
        ng.load_swc(tmp_path / "missing.swc", units="nm")


@pytest.fixture(scope="module")
def navis_swc_dir(navis_data):
    return navis_data / "swc"


def test_navis_examples_load_with_soma_as_root(navis_swc_dir):
    import navis

    for sid in NAVIS_IDS:
        path = navis_swc_dir / f"{sid}.swc"
        neuron = ng.load_swc(path, units="voxel", voxel_size=8)       # hemibrain: 8 nm voxels
        ref = navis.read_swc(str(path))
        # collapsing a one-node soma and re-rooting keep every edge: same cable as navis
        assert neuron.skeleton.cable_length == pytest.approx(ref.cable_length * 8, rel=1e-6)  # navis: float32
        if ref.soma is None:
            assert neuron.n_somas == 0
        else:
            assert neuron.n_somas == 1 and neuron.skeleton.parent[0] == -1
            soma_row = ref.nodes.set_index("node_id").loc[int(np.atleast_1d(ref.soma)[0])]
            np.testing.assert_allclose(neuron.somas[0].center, soma_row[["x", "y", "z"]].to_numpy(float) * 8)
            assert neuron.somas[0].radius == pytest.approx(float(soma_row["radius"]) * 8)


def _rewrite(src, dst, scale=1.0, rotation=None, subdivide=False):
    a = np.loadtxt(src, comments="#")
    xyz = a[:, 2:5] * scale
    if rotation is not None:
        xyz = xyz @ rotation.T
    a[:, 2:5], a[:, 5] = xyz, a[:, 5] * scale
    if subdivide:  # a midpoint node on every edge: the same neuron sampled twice as densely
        ids = a[:, 0].astype(int)
        pos = dict(zip(ids, range(len(a))))
        extra, next_id = [], ids.max() + 1
        for k in range(len(a)):
            p = int(a[k, 6])
            if p >= 0 and a[k, 1] != 1 and a[pos[p], 1] != 1:
                mid = 0.5 * (a[k, 2:5] + a[pos[p], 2:5])
                extra.append([next_id, a[k, 1], *mid, a[k, 5], p])
                a[k, 6] = next_id
                next_id += 1
        a = np.vstack([a, extra])
    np.savetxt(dst, a, fmt=["%d", "%d", "%.6f", "%.6f", "%.6f", "%.6f", "%d"])
    return dst


def test_same_neuron_in_nm_um_and_voxels_gives_same_features(navis_swc_dir, tmp_path):
    src = navis_swc_dir / "1734350788.swc"
    f_vox = ng.neuron_features(ng.load_swc(src, units="voxel", voxel_size=8))
    f_nm = ng.neuron_features(ng.load_swc(_rewrite(src, tmp_path / "nm.swc", 8.0), units="nm"))
    f_um = ng.neuron_features(ng.load_swc(_rewrite(src, tmp_path / "um.swc", 0.008), units="µm"))
    for other in (f_nm, f_um):
        a, b = f_vox.to_numpy()[0], other.to_numpy()[0]
        assert np.array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(b[~np.isnan(a)], a[~np.isnan(a)], rtol=1e-4, atol=1e-6)
    assert np.isfinite(f_vox.to_numpy()).sum() > 150


def test_default_features_are_rotation_invariant_position_is_not(navis_swc_dir, tmp_path):
    src = navis_swc_dir / "754534424.swc"
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
    groups = ng.features.registry.ALL_GROUPS
    base = ng.neuron_features(ng.load_swc(src, units="voxel", voxel_size=8), groups=groups).iloc[0]
    rot = ng.neuron_features(ng.load_swc(_rewrite(src, tmp_path / "rot.swc", rotation=q), units="voxel",
                                         voxel_size=8), groups=groups).iloc[0]
    pos_cols = feature_table(["position"]).index
    inv = base.drop(pos_cols)
    ok = inv.notna()
    np.testing.assert_allclose(rot.drop(pos_cols)[ok], inv[ok], rtol=1e-6, atol=1e-6)
    assert not np.allclose(rot[pos_cols], base[pos_cols], rtol=1e-3)
    # a mirror image (another hemisphere, a left-handed template) keeps every feature, the arbor frame's
    # z included (a distance from the frame's x-y plane)
    mir = ng.neuron_features(ng.load_swc(_rewrite(src, tmp_path / "mirror.swc", rotation=q @ np.diag([1, 1, -1])),
                                         units="voxel", voxel_size=8), groups=groups).iloc[0]
    assert (base[["soma_frame_z", "first_branch_frame_z"]] > 0.1).all()
    rest = [c for c in inv.index if ok[c]]
    np.testing.assert_allclose(mir[rest], inv[rest], rtol=1e-6, atol=1e-6)


def test_cable_features_do_not_depend_on_sampling_density(navis_swc_dir, tmp_path):
    src = navis_swc_dir / "754538881.swc"
    base = ng.neuron_features(ng.load_swc(src, units="voxel", voxel_size=8)).iloc[0]
    dense = ng.neuron_features(ng.load_swc(_rewrite(src, tmp_path / "dense.swc", subdivide=True),
                                           units="voxel", voxel_size=8)).iloc[0]
    exact = ["total_length", "n_tips", "n_branch_points", "tips_per_mm", "max_path_length", "radius_of_gyration",
             "sd_pc1", "sd_pc2", "sd_pc3", "max_strahler", "partition_asymmetry", "n_arbors", "arbor1_spread",
             "tortuosity_q50", *[c for c in base.index if c.startswith(("sholl_", "cable_path_norm_", "backbone_"))
                                 or (c.startswith("cable_path_") and c.endswith("0um"))]]
    np.testing.assert_allclose(dense[exact].to_numpy(float), base[exact].to_numpy(float), rtol=1e-6, atol=1e-6)
    # distributions over Euclidean distance and cable quantiles use segment midpoints: close, not exact
    approx = [c for c in base.index if c.startswith(("cable_radial_", "cable_path_q", "tip_", "pc1_profile"))]
    np.testing.assert_allclose(dense[approx].to_numpy(float), base[approx].to_numpy(float), rtol=0.02, atol=0.5)


def test_every_feature_column_is_registered_with_a_unit(navis_swc_dir):
    feats = ng.neuron_features(ng.load_swc(navis_swc_dir / "1734350908.swc", units="voxel", voxel_size=8))
    reg = feature_table()
    assert set(feats.columns) <= set(reg.index)
    assert reg["unit"].notna().all() and (reg["description"].str.len() > 10).all()
    assert {"µm", "nm", "1/mm", "deg", ""} <= set(reg["unit"])
    # mesh-only, synapse and spine features need inputs an SWC does not have: NaN, not invented
    for col in reg.index[reg["requires"].str.contains("mesh|synapses|spines")]:
        if col in feats.columns:
            assert np.isnan(feats.at["1734350908", col]), col
    # radii are in the file: radius features are real numbers
    assert np.isfinite(feats.loc["1734350908", ["radius_q50", "stem_radius", "volume_per_length"]]).all()
    with pytest.raises(InputError, match="unknown feature group"):
        ng.neuron_features(ng.load_swc(navis_swc_dir / "1734350908.swc", units="voxel", voxel_size=8),
                           groups=["shape"])


def test_mesh_neuron_gets_mesh_features(navis_data):
    neuron = ng.extract(navis_data / "obj" / "1734350788.obj", voxel_size=8)
    feats = ng.neuron_features(neuron).iloc[0]
    assert 0.1 < feats["mesh_area_per_length"] < 10          # µm² of membrane per µm of cable
    assert 50 < feats["mesh_width_q50"] < 2000               # nm
    assert feats["total_length"] > 500


def test_swc_types_give_compartment_features(tmp_path):
    text = ("1 1 0 0 0 5 -1\n2 2 10 0 0 0.5 1\n3 2 30 0 0 0.5 2\n"      # axon 25 µm (5 µm in the soma)
            "4 3 -10 0 0 1 1\n5 3 -20 0 0 1 4\n6 3 -30 5 0 1 5\n7 3 -30 -5 0 1 5\n")
    feats = ng.neuron_features(ng.load_swc(_write(tmp_path, text), units="um")).iloc[0]
    assert feats["axon_length"] == pytest.approx(25.0)
    assert feats["dendrite_length"] == pytest.approx(15 + 2 * np.hypot(10, 5))
    assert feats["dendrite_tips"] == 2 and feats["dendrite_branch_points"] == 1
    assert feats["axon_dendrite_ratio"] == pytest.approx(25.0 / (15 + 2 * np.hypot(10, 5)))
    assert feats["apical_length"] == 0                     # labels present, no apical: 0, not NaN


def test_backbone_follows_the_longest_path(tmp_path):
    # soma (r 5 µm) at the origin; the longest path runs 80 µm along +x then 40 µm along +y; a 20 µm side
    # branch goes along -x. Backbone = soma surface -> (85, 40, 0), path length 120 µm.
    text = ("1 1 0 0 0 5 -1\n2 3 45 0 0 1 1\n3 3 85 0 0 1 2\n4 3 85 40 0 1 3\n"
            "5 3 -25 0 0 1 1\n")
    feats = ng.neuron_features(ng.load_swc(_write(tmp_path, text), units="um")).iloc[0]
    assert feats["backbone_r_10um"] == pytest.approx(15.0)
    assert feats["backbone_r_100um"] == pytest.approx(np.hypot(85, 20))
    assert feats["backbone_d0_8"] == pytest.approx(np.hypot(85, 40) / 120)
    assert feats["backbone_d4_8"] == pytest.approx(np.hypot(85 - 65, 40) / 120)   # point 4 at 60 µm of path
    straight = feats[[f"backbone_straightness_{k}" for k in range(10)]].to_numpy(float)
    np.testing.assert_allclose(np.delete(straight, 6), 1.0)          # 12 µm pieces; the corner is in piece 6
    assert straight[6] == pytest.approx(np.hypot(8, 4) / 12)
    assert np.isnan(feats["backbone_arbor1_10um"])                  # 2 tips: no arbor of >= 2 tips


@pytest.mark.realdata
def test_real_fafb_and_neuromorpho_files():
    fafb = SHARED / "fafb_olfactory_pns" / "swc" / "57479.swc"          # 35,659 nodes, nm
    nmo = SHARED / "nmo_families_127" / "swc" / "purkinje_dendrite__p20.CNG.swc"   # µm, 36-node soma chain
    if not (fafb.exists() and nmo.exists()):
        pytest.skip("real SWC data not present (../shared/data)")
    neuron = ng.load_swc(fafb, units="nm")               # the largest FAFB skeleton (speed: benchmarks/)
    feats = ng.neuron_features(neuron).iloc[0]
    assert neuron.n_somas == 1 and 1.0 < feats["soma_radius"] < 5.0
    assert 5000 < feats["total_length"] < 15000 and feats["n_stems"] == 1
    p20 = ng.load_swc(nmo, units="um")
    assert p20.n_somas == 1 and (p20.skeleton.node_type == 1).sum() == 1   # 36 soma nodes -> one
    assert 5 < p20.somas[0].radius / 1e3 < 20
