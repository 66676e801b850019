"""Units: the same neuron in nm and in 8 nm voxels; meshes whose triangles are large next to
the soma (the crash "zero-size array to reduction operation minimum" in skeletonize)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import trimesh

import neurograph as ng
from neurograph.errors import SkeletonError, UnitsError
from neurograph.mesh.soma import Soma

synthetic = pytest.importorskip("neurograph.synthetic")


@pytest.mark.parametrize("seed,shape", [(0, "fragment"), (4, "fragment"), (0, "bipolar")])
def test_same_neuron_in_nm_and_in_8nm_voxels(seed, shape, tmp_path):
    truth = synthetic.make_neuron(seed=seed, shape=shape)
    in_nm = ng.extract(truth.mesh, voxel_size=1)
    voxels = truth.mesh.copy()
    voxels.vertices = voxels.vertices / 8.0
    voxels.export(tmp_path / "voxels.ply")  # also through a file (float32 coordinates)
    for source in (voxels, tmp_path / "voxels.ply"):
        in_vx = ng.extract(source, voxel_size=8)
        assert len(in_vx.somas) == len(in_nm.somas)
        assert len(in_vx.branches) == len(in_nm.branches)
        assert in_vx.skeleton.cable_length == pytest.approx(in_nm.skeleton.cable_length, rel=0.01)
        assert ng.neuron_summary(in_vx)["total_length"].iloc[0] == pytest.approx(ng.neuron_summary(in_nm)["total_length"].iloc[0], rel=0.01)


def test_nm_mesh_read_as_8nm_voxels_gives_separate_somata_and_a_skeleton():
    """The original crash: a fragment in nm given with voxel_size=8 is 8x too large, its
    dendrites as thick as somata and its triangles (~14 µm) larger than the somata found
    in them. find_somas found the same blob several times (centres 0.1 µm apart) and
    somata whose faces had no vertex within 1.15 radii; skeletonize then gave such a soma
    no points and failed on ``labels[members].min()``."""
    truth = synthetic.make_neuron(seed=3, shape="fragment")
    fixed = ng.repair(ng.load_mesh(truth.mesh, voxel_size=8))
    somas = ng.find_somas(fixed.mesh)
    assert somas, "an 8x too large fragment has soma-thick dendrites"
    assert [s.radius for s in somas] == sorted((s.radius for s in somas), reverse=True)
    for a, b in itertools.combinations(somas, 2):  # no soma found twice, no shared surface
        assert np.linalg.norm(a.center - b.center) > a.radius
        assert not np.intersect1d(fixed.mesh.faces[a.faces], fixed.mesh.faces[b.faces]).size
    skeleton = ng.skeletonize(fixed.mesh, somas, fixed.bridges)
    assert len(skeleton.soma_nodes) == len(somas) and len(skeleton.roots) >= len(somas)
    held = np.bincount(skeleton.vertex_map, minlength=skeleton.n_nodes)
    assert (held[skeleton.soma_nodes] > 0).all()


def _coarse_ball(radius: float = 10_000.0) -> tuple[trimesh.Trimesh, Soma]:
    """An icosahedron: vertices at ``radius``, face centroids at 0.79 radius; a soma of
    0.8 radius owns every face by centroid, but no vertex lies within its 1.15 radii."""
    mesh = trimesh.creation.icosphere(subdivisions=0, radius=radius)
    soma = Soma(center=np.zeros(3), radius=0.8 * radius, faces=np.arange(len(mesh.faces)))
    return mesh, soma


def test_skeletonize_soma_on_triangles_larger_than_the_soma():
    mesh, soma = _coarse_ball()
    skeleton = ng.skeletonize(mesh, [soma])
    assert list(skeleton.soma_nodes) == [skeleton.vertex_map[0]]
    assert (skeleton.vertex_map == skeleton.soma_nodes[0]).all()  # every vertex is the soma's own
    np.testing.assert_allclose(skeleton.vertices[skeleton.soma_nodes[0]], 0.0)


def test_skeletonize_refuses_a_soma_given_twice():
    mesh, soma = _coarse_ball()
    with pytest.raises(SkeletonError, match="pass each soma once"):
        ng.skeletonize(mesh, [soma, soma])
    with pytest.raises(SkeletonError, match="no mesh faces"):
        ng.skeletonize(mesh, [Soma(center=soma.center, radius=soma.radius, faces=np.empty(0, np.int64))])


def test_every_loader_of_coordinates_requires_a_unit(tmp_path):
    """No default unit: a mesh (file, arrays, Trimesh) or a synapse table without one raises a
    UnitsError saying what to pass; the unit may come from the object itself or a dataset profile."""
    cell = synthetic.make_neuron(seed=0, shape="fragment")
    bare = trimesh.Trimesh(cell.mesh.vertices, cell.mesh.faces, process=False)  # no units
    assert bare.units is None and cell.mesh.units == "nm"
    bare.export(tmp_path / "cell.ply")
    remedy = r"voxel_size=1 if they are in nm.*dataset="
    for source in (bare, (bare.vertices, bare.faces), tmp_path / "cell.ply"):
        with pytest.raises(UnitsError, match=remedy):
            ng.load_mesh(source)
        with pytest.raises(UnitsError, match=remedy):
            ng.extract(source, spines=False)
    table = synthetic.sample_synapses(cell, seed=0)
    assert table.attrs["units"] == "nm"
    raw = table[["x", "y", "z", "direction"]].copy()
    raw.attrs = {}
    raw.to_csv(tmp_path / "syn.csv", index=False)
    for source in (raw, tmp_path / "syn.csv"):
        with pytest.raises(UnitsError, match=remedy):
            ng.load_synapses(source)
    with pytest.raises(UnitsError, match=r"synapse_voxel_size=1 if they are in nm"):  # before any work
        ng.extract(cell.mesh, spines=False, synapses=raw)
    # the unit from the object, the caller or a dataset profile
    np.testing.assert_allclose(ng.load_mesh(cell.mesh).vertices, cell.mesh.vertices)
    assert ng.load_mesh(bare, voxel_size=1).units == "nm"
    np.testing.assert_allclose(ng.load_mesh(bare, dataset="hemibrain").vertices, bare.vertices * 8)
    in_um = trimesh.Trimesh(bare.vertices / 1000, bare.faces, process=False, metadata={"units": "um"})
    np.testing.assert_allclose(ng.load_mesh(in_um).vertices, bare.vertices, rtol=1e-9)
    np.testing.assert_allclose(ng.load_synapses(raw, voxel_size=1)[["x", "y", "z"]], raw[["x", "y", "z"]])
    np.testing.assert_allclose(ng.load_synapses(raw, dataset="hemibrain")[["x", "y", "z"]], raw[["x", "y", "z"]] * 8)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", ng.NeurographWarning)
        neuron = ng.extract(cell.mesh, spines=False)
        assert ng.load_synapses(table).attrs["units"] == "nm"  # says its unit
        mapped = ng.map_synapses(neuron, table)
    with pytest.raises(UnitsError, match=remedy):
        ng.map_synapses(neuron, raw)
    assert mapped.synapses["mapped"].mean() == ng.map_synapses(neuron, raw, voxel_size=1).synapses["mapped"].mean()


def test_command_line_and_batch_without_a_unit(tmp_path, capsys):
    """The CLI says which flag to pass; a batch input without a unit is a failed neuron with that
    message (the others are extracted); a batch where no input has a unit stops before it starts."""
    from neurograph.batch import extract_all, read_results
    from neurograph.cli import main

    cell = synthetic.make_neuron(seed=2, shape="fragment")
    trimesh.Trimesh(cell.mesh.vertices, cell.mesh.faces, process=False).export(tmp_path / "cell.ply")
    assert main(["extract", str(tmp_path / "cell.ply"), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "no unit given" in err and "--voxel-size 1" in err and "--dataset" in err
    pd = pytest.importorskip("pandas")
    pd.DataFrame({"id": ["with_unit", "without"], "path": ["cell.ply", "cell.ply"],
                  "voxel_size": ["1", ""]}).to_csv(tmp_path / "manifest.csv", index=False)
    summary = extract_all(tmp_path / "manifest.csv", tmp_path / "batch", workers=1, progress=False,
                          save_neurons=False, qc=False, extract_kwargs={"spines": False})
    assert summary.succeeded == 1 and summary.failed == 1
    errors = read_results(tmp_path / "batch").errors.set_index("neuron")
    assert errors.loc["without", "exception"] == "UnitsError"
    assert "voxel_size=1 if they are in nm" in errors.loc["without", "message"]
    with pytest.raises(UnitsError, match="no input has a unit"):
        extract_all(tmp_path / "cell.ply", tmp_path / "batch2", workers=1, progress=False)


def test_one_unit_vocabulary_old_names_warn():
    """Parameters not in nm carry their unit; old names work for one release with a warning;
    one name per quantity."""
    cell = synthetic.make_neuron(seed=0, shape="fragment")
    mapped = ng.map_synapses(ng.extract(cell.mesh, spines=False), synthetic.sample_synapses(cell, seed=0))
    with pytest.warns(ng.NeurographDeprecationWarning, match="proximal_um"):
        old = ng.label_compartments(mapped, proximal=20.0)
    assert old.settings["label_compartments"]["proximal_um"] == 20.0
    with pytest.raises(ng.InputError, match="proximal_um"):
        ng.label_compartments(mapped, proximal=20.0, proximal_um=20.0)
    with pytest.warns(ng.NeurographDeprecationWarning, match="depth_origin_um"):
        ng.soma_features(mapped, depth_origin=1.0)
    with pytest.warns(ng.NeurographDeprecationWarning, match="spines_per_um"):
        synthetic.make_neuron(seed=0, shape="fragment", spine_density=0.0)
    summary = ng.neuron_summary(mapped)
    assert "n_tips" in summary.columns and "n_leaves" not in summary.columns
    assert summary["n_tips"].iloc[0] == (mapped.branches["n_children"] == 0).sum()
