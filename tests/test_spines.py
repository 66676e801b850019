"""Spine detection: synthetic ground truth, a smooth control, folding, save/load, real meshes."""

import warnings

import numpy as np
import pytest

import neurograph as ng
from neurograph import synthetic
from neurograph.spines.geometry import match_points
from neurograph.spines import SPINE_BRANCH_COLUMNS, SPINE_COLUMNS

from .conftest import SHARED


def _axis(cell):
    pts, rad = [], []
    for b, p in enumerate(cell.paths):
        s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
        t = np.arange(0, s[-1], 50.0)
        pts.append(np.column_stack([np.interp(t, s, p[:, k]) for k in range(3)]))
        rad.append(np.interp(t, [0, s[-1]], [cell.branches.radius_start[b], cell.branches.radius_end[b]]))
    return np.vstack(pts), np.concatenate(rad)


@pytest.fixture(scope="module")
def spiny():
    """Two spiny fragments (sparse and dense), extracted with spine detection."""
    out = {}
    for seed, density in ((1, 0.5), (5, 1.5)):
        cell = synthetic.make_neuron(seed, "fragment", spines_per_um=density)
        out[seed] = (cell, ng.extract(cell.mesh, voxel_size=1, name=f"spiny_{seed}"))
    return out


@pytest.mark.parametrize("seed", [1, 5])
def test_spines_match_ground_truth(spiny, seed):
    cell, neuron = spiny[seed]
    sp = neuron.spines
    assert list(sp.columns) == list(SPINE_COLUMNS)
    pairs = match_points(sp[["base_x", "base_y", "base_z"]].to_numpy(), cell.spines[["base_x", "base_y", "base_z"]].to_numpy(),
                         500.0)
    precision, recall = len(pairs) / len(sp), len(pairs) / len(cell.spines)
    assert precision >= 0.88 and recall >= 0.88, (precision, recall)
    # matched spines: lengths and head widths close to the truth
    true = cell.spines.iloc[pairs[:, 1]]
    found = sp.iloc[pairs[:, 0]]
    assert np.median(np.abs(found.length.to_numpy() / true.length.to_numpy() - 1)) < 0.15
    assert np.median(np.abs(found.head_width.to_numpy() / (2 * true.head_radius.to_numpy()) - 1)) < 0.25
    assert (found.neck_width <= found.head_width + 1e-9).all()
    # every spine sits on a branch, its faces are its own
    assert set(sp.branch) <= set(neuron.branches.index)
    assert np.array_equal(np.bincount(neuron.face_spine[neuron.face_spine >= 0], minlength=len(sp)), sp.n_faces)
    assert (sp.volume > 0).all() and (sp.area > 0).all()


def test_shaft_width_excludes_spines(spiny):
    cell, neuron = spiny[5]
    pts, rad = _axis(cell)
    from scipy.spatial import cKDTree

    ok = np.isfinite(neuron.shaft_radius)
    _, j = cKDTree(pts).query(neuron.skeleton.vertices[ok])
    err = np.abs(neuron.shaft_radius[ok] / rad[j] - 1)
    assert np.median(err) < 0.05, np.median(err)
    b = neuron.branches
    long = b[b.length > 5]
    # the mesh-wide width counts spines, the shaft width does not
    assert (long.shaft_width_median < long.width_median).all()
    true_width = 2 * (cell.branches.radius_start + cell.branches.radius_end) / 2
    assert long.shaft_width_median.between(0.8 * true_width.min(), 1.2 * true_width.max()).all()


def test_branch_columns_and_summary(spiny):
    cell, neuron = spiny[5]
    b = neuron.branches
    for col in SPINE_BRANCH_COLUMNS:
        assert col in b.columns
    assert b.n_spines.sum() == len(neuron.spines)
    assert np.allclose(b.spine_density, b.n_spines / b.length)
    s = ng.neuron_summary(neuron).iloc[0]
    assert s.n_spines == len(neuron.spines)
    assert s.spine_density == pytest.approx(len(neuron.spines) / b.length.sum())
    assert 0.5 * 1.5 < s.spine_density < 1.5 * 1.5  # generated at 1.5 per µm of dendrite
    # per compartment once skeleton nodes are typed: all of it dendrite here
    saved = neuron.skeleton.node_type.copy()
    try:
        neuron.skeleton.node_type[:] = 3
        s = ng.neuron_summary(neuron).iloc[0]
        assert s.n_spines_dendrite == len(neuron.spines)
        assert s.spine_density_dendrite == pytest.approx(s.spine_density)
    finally:
        neuron.skeleton.node_type = saved


def test_spine_twigs_are_folded(spiny):
    cell, neuron = spiny[1]
    assert len(neuron.branches) == len(cell.branches)
    raw = ng.extract(cell.mesh, voxel_size=1, spines=False)
    assert len(raw.branches) > 3 * len(cell.branches)  # without folding every spine is a branch
    total = neuron.branches.length.sum()
    assert abs(total / cell.total_length - 1) < 0.05


def test_detecting_spines_later_gives_the_one_call_tables():
    """extract(spines=False, protrusion_ratio=0.0) then detect_spines is extract(spines=True) in
    two steps: the same spine and branch tables (benchmarks/spines.py times the steps this way).
    spines=False alone turns on the protrusion twigs meant for fly meshes, and detect_spines then
    finds 306 spines on this dense fragment instead of 301; detect_spines says so."""
    cell = synthetic.make_neuron(12, "fragment", spines_per_um=2.0)
    once = ng.extract(cell.mesh, voxel_size=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning on the two-step path that gives the one-call tables
        later = ng.detect_spines(ng.extract(cell.mesh, voxel_size=1, spines=False, protrusion_ratio=0.0))
    with pytest.warns(ng.NeurographWarning, match="protrusion twigs"):
        twiggy = ng.detect_spines(ng.extract(cell.mesh, voxel_size=1, spines=False))
    assert len(twiggy.spines) > len(once.spines)
    assert len(once.spines) > 250
    assert later.spines.reset_index(drop=True).equals(once.spines.reset_index(drop=True))
    assert later.branches.length.equals(once.branches.length)


def test_the_protrusion_twig_warning_is_given_once(navis_data):
    """detect_spines warns on a fly neuron extracted with spines=False; proofreading it, which
    detects the spines of each part again, does not say it again."""
    neuron = ng.extract(navis_data / "obj" / "1734350788.obj", dataset="hemibrain")
    with pytest.warns(ng.NeurographWarning, match="protrusion twigs"):
        neuron = ng.detect_spines(neuron)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cleaned, cut = ng.proofread(neuron)
    assert len(cut) and cleaned is not neuron and cleaned.spines is not None  # re-detected on what is left
    assert not [w for w in caught if "protrusion twigs" in str(w.message)]


@pytest.mark.parametrize("seed", [8, 13])
def test_dense_spines_fold_to_true_branch_count(seed):
    """At 2.5 spines per µm (spines touching, stubby ones as wide as the shaft) every spine
    twig is folded: the branch graph is the true one."""
    cell = synthetic.make_neuron(seed, "fragment", spines_per_um=2.5)
    neuron = ng.extract(cell.mesh, voxel_size=1)
    assert len(neuron.branches) == len(cell.branches)
    pairs = match_points(neuron.spines[["base_x", "base_y", "base_z"]].to_numpy(),
                         cell.spines[["base_x", "base_y", "base_z"]].to_numpy(), 500.0)
    assert len(pairs) >= 0.9 * len(cell.spines) and len(pairs) >= 0.9 * len(neuron.spines)


def test_smooth_control_has_almost_no_spines():
    cell = synthetic.make_neuron(2, "bipolar", spines_per_um=0.0)
    neuron = ng.extract(cell.mesh, voxel_size=1)
    assert len(neuron.spines) / cell.total_length < 0.1
    assert len(neuron.branches) == len(cell.branches)
    assert (neuron.face_spine >= 0).sum() <= 0.01 * len(neuron.mesh.faces)


def test_save_load_keeps_spines(spiny, tmp_path):
    _, neuron = spiny[1]
    path = tmp_path / "s.neuron.zip"
    neuron.save(path)
    back = ng.load(path)
    assert back.spines is not None and len(back.spines) == len(neuron.spines)
    np.testing.assert_allclose(back.spines.to_numpy(float), neuron.spines.to_numpy(float))
    assert np.array_equal(back.face_spine, neuron.face_spine)
    np.testing.assert_allclose(back.shaft_radius, neuron.shaft_radius, equal_nan=True)
    np.testing.assert_allclose(back.branches.to_numpy(float), neuron.branches.to_numpy(float), equal_nan=True)


def test_bad_parameters_and_input_raise():
    cell = synthetic.make_neuron(0, "fragment")
    neuron = ng.extract(cell.mesh, voxel_size=1, spines=False)
    with pytest.raises(ng.InputError, match="min_length < max_length"):
        neuron = ng.detect_spines(neuron, min_length=5000.0, max_length=1000.0)
    with pytest.raises(ng.InputError, match="non-negative"):
        neuron = ng.detect_spines(neuron, shaft_tolerance=-1.0)
    neuron.mesh = None
    with pytest.raises(ng.InputError, match="needs a neuron made from a mesh"):
        neuron = ng.detect_spines(neuron)


def test_hemibrain_runs(navis_data):
    neuron = ng.extract(navis_data / "obj" / "754534424.obj", voxel_size=8)
    sp = neuron.spines
    assert sp is not None and set(SPINE_COLUMNS) <= set(sp.columns)
    assert np.isfinite(neuron.shaft_radius[np.isin(neuron.node_branch, neuron.branches.index)]).mean() > 0.9
    assert (sp.length.between(0.3, 3.0)).all()


def test_harris_spiny_dendrite():
    v = SHARED / "microns_neurd" / "harris_spiny_dendrite_vertices_um.txt"
    f = SHARED / "microns_neurd" / "harris_spiny_dendrite_faces.txt"
    if not v.exists() or not f.exists():
        pytest.skip("Harris spiny dendrite not present (../shared/data)")
    mesh = (np.loadtxt(v) * 1000.0, np.loadtxt(f, dtype=np.int64))
    with pytest.warns(ng.errors.UnitsWarning, match="fragment of axon or dendrite can be that thin"):
        # no soma, 0.6 µm thick: the check says why. Without the resolution floor (issue 13):
        # with it (20 nm edges, 5,800 faces/µm², simplified to ~4.7k faces) the count holds but
        # the shaft skeleton runs 3.7 µm (test_harris_with_the_resolution_floor, docs/scaling.md)
        neuron = ng.extract(mesh, voxel_size=1, name="harris", resolution=None)
    # a ~1.6 µm open tube (cut at both ends) carrying 7 spines, one of them branched (two
    # heads on one neck): the shaft runs between the cut ends and is one branch
    assert len(neuron.branches) == 1, neuron.branches
    assert 1.2 < neuron.branches.length.sum() < 2.2
    assert 6 <= len(neuron.spines) <= 9, len(neuron.spines)
    density = len(neuron.spines) / neuron.branches.length.sum()
    assert 2.0 < density < 6.0, density
    assert neuron.spines.length.between(0.3, 2.5).all()
    assert neuron.spines.volume.between(0.005, 0.5).all()


@pytest.mark.realdata
def test_harris_with_the_resolution_floor():
    """With the default floor the Harris segment keeps its 7 spines (one shaft branch, sizes in
    range); known defect (docs/scaling.md): the shaft cable is 3.7 µm, not ~1.6 µm."""
    v = SHARED / "microns_neurd" / "harris_spiny_dendrite_vertices_um.txt"
    f = SHARED / "microns_neurd" / "harris_spiny_dendrite_faces.txt"
    if not v.exists() or not f.exists():
        pytest.skip("Harris spiny dendrite not present (../shared/data)")
    with pytest.warns(ng.errors.UnitsWarning):
        neuron = ng.extract((np.loadtxt(v) * 1000.0, np.loadtxt(f, dtype=np.int64)), voxel_size=1, name="harris")
    assert neuron.repair_report["faces_after_resolution"] < neuron.repair_report["faces_before_resolution"] / 5
    assert len(neuron.branches) == 1
    assert 6 <= len(neuron.spines) <= 9, len(neuron.spines)
    assert neuron.spines.length.between(0.3, 2.5).all()
    assert neuron.spines.volume.between(0.005, 0.5).all()


def test_cut_ends_and_their_attachment_match_the_per_loop_forms():
    """cut_ends groups the loops' vertices at once and _most_common takes each loop's
    most common node at once: the same numbers, bit for bit, as one loop at a time."""
    import trimesh

    from neurograph.spines.detect import _most_common
    from neurograph.spines.geometry import cut_ends

    rng = np.random.default_rng(3)
    tube = trimesh.creation.cylinder(radius=400.0, height=3000.0, sections=40)
    tube.vertices += rng.normal(0, 20.0, tube.vertices.shape)  # no symmetric round-off
    axis = tube.triangles_center[:, 2]
    narrow = trimesh.creation.cylinder(radius=200.0, height=1000.0, sections=24)
    narrow.vertices += [3000.0, 0, 0]
    # both caps of the wide tube open (two cut ends), one of the narrow one (radius 200)
    mesh = trimesh.util.concatenate([
        trimesh.Trimesh(tube.vertices, tube.faces[np.abs(axis) < 1400.0], process=False),
        trimesh.Trimesh(narrow.vertices, narrow.faces[narrow.triangles_center[:, 2] < 400.0], process=False)])
    centres, radii, loops = cut_ends(mesh, 150.0)
    assert len(loops) == 3 and radii[0] > radii[-1]
    edges = np.asarray(mesh.edges_sorted)[trimesh.grouping.group_rows(mesh.edges_sorted, require_count=1)]
    verts = np.asarray(mesh.vertices, float)
    for c, r, m in zip(centres, radii, loops):
        np.testing.assert_array_equal(m, np.unique(edges[np.isin(edges, m).any(axis=1)]))
        assert np.array_equal(c, verts[m].mean(axis=0))
        assert r == np.median(np.linalg.norm(verts[m] - c, axis=1))
    values = rng.integers(0, 6, 200)
    groups = rng.integers(0, 9, 200)
    expect = [np.bincount(values[groups == g]).argmax() for g in range(9)]
    assert _most_common(values, groups, 9, 6).tolist() == expect


def _root_at_cut_ends_reference(parent, ends):
    """The per-node Python form the Numba kernel replaced."""
    keep = np.zeros(len(parent), bool)
    rooted = set()
    for e in ends:
        v = int(e)
        while parent[v] >= 0:
            v = int(parent[v])
        if v not in rooted:
            path = [int(e)]
            parent = parent.copy()
            while parent[path[-1]] >= 0:
                path.append(int(parent[path[-1]]))
            for child, par in zip(path[:-1], path[1:]):
                parent[par] = child
            parent[int(e)] = -1
            rooted.add(int(e))
    for e in ends:
        v = int(e)
        while v >= 0 and not keep[v]:
            keep[v] = True
            v = int(parent[v])
    return parent, keep


def test_root_at_cut_ends_matches_the_per_node_form_and_refuses_cycles():
    from neurograph.spines.kernels import root_at_cut_ends

    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(1, 200))
        parent = np.array([-1] + [int(rng.integers(0, i)) for i in range(1, n)], dtype=np.int64)
        parent[rng.integers(0, n, size=3)] = -1  # a forest
        ends = rng.choice(n, size=min(n, int(rng.integers(0, 8))), replace=False).astype(np.int64)
        got, want = root_at_cut_ends(parent, ends), _root_at_cut_ends_reference(parent, ends)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        assert all(got[0][e] == -1 for e in ends[:1])  # the first (widest) cut end roots its tree
    with pytest.raises(ValueError, match="cycle"):
        root_at_cut_ends(np.array([1, 2, 0], np.int64), np.array([0], np.int64))
    with pytest.raises(ValueError, match="not a node"):
        root_at_cut_ends(np.array([-1, 0], np.int64), np.array([5], np.int64))
