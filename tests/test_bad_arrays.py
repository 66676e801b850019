"""Arrays that do not fit together, handed to the public steps or found in a saved archive: a
neurograph error that names the problem, never a crash in a Numba kernel (which reads indices
without bounds checks), a bare error from a dependency or a silently wrong neuron."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
import trimesh

import neurograph as ng
from neurograph import synthetic
from neurograph.errors import NeurographError

# a five-node tree: a stem of three edges and one side branch (lengths in nm)
V = np.array([[0, 0, 0], [1000, 0, 0], [2000, 0, 0], [3000, 0, 0], [2000, 1000, 0]], float)
P = [-1, 0, 1, 2, 1]
R = np.full(5, 100.0)


def _soma(center=(0.0, 0.0, 0.0), radius=300.0, faces=()):
    return ng.Soma(np.asarray(center, float), radius, np.asarray(faces, np.int64))


@pytest.fixture(scope="module")
def ico():
    return trimesh.creation.icosphere(3, radius=5000)


def _bad_faces(mesh, index):
    faces = mesh.faces.copy()
    faces[0, 0] = index
    return trimesh.Trimesh(mesh.vertices, faces, process=False, validate=False)


@pytest.mark.parametrize("bridges, match", [
    (np.array([[0, 10**6]]), "index the mesh's vertices"),      # crashed the process (SIGSEGV)
    (np.array([[-10**6, 3]]), "index the mesh's vertices"),     # crashed the process
    (np.array([[0, 2**40]]), "index the mesh's vertices"),      # was silently accepted
    (np.array([[np.nan, 3.0]]), "whole-number indices"),        # crashed the process
    (np.array([[0.5, 3.7]]), "whole-number indices"),           # was silently truncated
    (np.array([["a", "b"]]), "whole-number indices"),
])
def test_skeletonize_refuses_bridges_that_are_not_vertex_pairs_of_the_mesh(ico, bridges, match):
    with pytest.raises(ng.SkeletonError, match=match):
        ng.skeletonize(ico, None, bridges)
    assert ng.skeletonize(ico, None, np.array([[0, 5], [7, 7]])).n_nodes > 10  # good bridges, a self-pair


def test_mesh_steps_refuse_a_malformed_mesh(ico):
    nan = ico.vertices.copy()
    nan[5] = np.nan
    cases = [_bad_faces(ico, 10**9), _bad_faces(ico, -7), trimesh.Trimesh(nan, ico.faces, process=False)]
    for mesh in cases:  # a face index out of range crashed skeletonize; a NaN vertex gave NaN nodes
        with pytest.raises(ng.MeshError):
            ng.skeletonize(mesh)
        with pytest.raises(ng.MeshError):
            ng.find_somas(mesh)
    with pytest.raises(ng.MeshError, match="non-empty"):
        ng.find_somas(trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), int)))
    for limits in [(-1, 15000), (0, 100), (3000, 2000), (1500, np.nan), (None, 5)]:
        with pytest.raises(ng.InputError, match="radius limits"):  # -1 found 51 somata on a cylinder
            ng.find_somas(ico, *limits)


@pytest.mark.parametrize("soma, match", [
    (_soma(faces=[10**7]), "face indices must lie in"),
    (_soma(faces=[-1, 2]), "face indices must lie in"),  # negative indices wrapped around
    (_soma(radius=0.0, faces=[0, 1]), "positive length"),
    (_soma(radius=np.nan, faces=[0, 1]), "positive length"),
    (_soma(center=(np.nan, 0, 0), faces=[0, 1]), "3 finite coordinates"),
    (_soma(center=(0, 0), faces=[0, 1]), "3 finite coordinates"),
    (3, "not a Soma"),
])
def test_skeletonize_refuses_somata_that_do_not_belong_to_the_mesh(ico, soma, match):
    with pytest.raises(ng.InputError, match=match):
        ng.skeletonize(ico, [soma])


def test_whole_number_float_indices_are_taken_as_indices(ico):
    """Float arrays of whole numbers (e.g. read from a CSV) are indices, as before the checks."""
    somas = ng.find_somas(ico)
    as_float = [ng.Soma(s.center, s.radius, s.faces.astype(float)) for s in somas]
    assert ng.skeletonize(ico, as_float).n_nodes == ng.skeletonize(ico, somas).n_nodes
    assert ng.skeletonize(ico, None, np.array([[0.0, 5.0]])).n_nodes > 10
    tree = ng.decompose(ng.Skeleton(V, np.asarray(P, float), R, None, np.array([0.0])), [_soma()])
    assert tree.n_somas == 1 and len(tree.branches) == 3
    assert len(ng.decompose(ng.Skeleton(V, P, R, vertex_map=np.empty(0))).branches) == 3  # an empty map


@pytest.mark.parametrize("make, error, match", [
    (lambda: ng.Skeleton(np.where(np.arange(15).reshape(5, 3) == 6, np.nan, V), P, R), ng.SkeletonError,
     "NaN or infinite coordinates"),
    (lambda: ng.Skeleton(V, [-1, np.nan, 1, 2, 1], R), ng.SkeletonError, "whole-number indices"),
    (lambda: ng.Skeleton(V, [-1, 0.9, 1, 2, 1], R), ng.SkeletonError, "whole-number indices"),
    (lambda: ng.Skeleton(V, [-1, 0, 1, 2, 99], R), ng.SkeletonError, "names parent 99"),
    (lambda: ng.Skeleton(V, [-1, 0, 3, 2, 1], R), ng.SkeletonError, "cycle"),
    (lambda: ng.Skeleton(V, [-1, 0, 1], R), ng.SkeletonError, "one per node"),
    (lambda: ng.Skeleton(np.zeros((0, 3)), [], []), ng.SkeletonError, "no nodes"),
    (lambda: ng.Skeleton(V, P, R, None, [7]), ng.SkeletonError, "soma nodes must be node indices"),
    (lambda: ng.Skeleton(V, P, R, None, [-1]), ng.SkeletonError, "soma nodes must be node indices"),
])
def test_decompose_refuses_a_skeleton_that_is_not_one_rooted_forest(make, error, match):
    with pytest.raises(error, match=match):
        ng.decompose(make())


def test_decompose_refuses_soma_nodes_and_somata_that_disagree():
    with pytest.raises(ng.SkeletonError, match="repeat"):  # soma 0 owned no node
        ng.decompose(ng.Skeleton(V, P, R, None, [0, 0]), [_soma(), _soma()])
    with pytest.raises(ng.SkeletonError, match="root of its tree"):  # the tree was split in two
        ng.decompose(ng.Skeleton(V, P, R, None, [2]), [_soma(V[2])])
    with pytest.raises(ng.InputError, match="non-negative length"):
        ng.decompose(ng.Skeleton(V, P, R, None, [0]), [_soma(radius=-500.0)])
    point = ng.decompose(ng.Skeleton(V, P, R, None, [0]), [_soma(radius=0.0)])  # a point soma is allowed
    assert point.branches["length"].sum() == pytest.approx(4.414, abs=1e-3)


def test_decompose_refuses_a_vertex_map_of_another_mesh():
    """The raw mesh instead of the repaired one: a vertex_map shorter than the mesh crashed the
    face-owner kernel."""
    box = trimesh.creation.box(extents=(3000, 1000, 1000))
    with pytest.raises(ng.SkeletonError, match="covers 2 mesh vertices but the mesh has 8"):
        ng.decompose(ng.Skeleton(V, P, R, np.zeros(2, np.int64)), None, box)
    with pytest.raises(ng.SkeletonError, match="vertex_map must give a node index"):
        ng.decompose(ng.Skeleton(V, P, R, np.full(8, 9)), None, box)


def test_a_skeleton_edited_into_a_cycle_is_refused_by_every_step():
    neuron = ng.decompose(ng.Skeleton(V, P, R))
    neuron.skeleton.parent[3] = 3  # crashed neuron_features in the canonical form's pruning kernel
    for step in (ng.neuron_features, ng.canonical, ng.neuron_summary):
        with pytest.raises(ng.SkeletonError, match="cycle"):
            step(neuron)


def test_canonical_refuses_a_spacing_that_would_make_billions_of_nodes():
    neuron = ng.decompose(ng.Skeleton(V * 100, P, R))
    with pytest.raises(ng.InputError, match="would make"):
        ng.canonical(neuron, spacing_um=1e-9)  # a MemoryError from inside a Numba kernel before


def test_write_swc_refuses_tables_it_would_write_unreadable(tmp_path):
    table = ng.decompose(ng.Skeleton(V, P, R)).skeleton.to_swc()
    table.loc[1, "x"] = np.nan  # was written as an empty field
    with pytest.raises(ng.InputError, match="NaN or infinite"):
        ng.write_swc(table, tmp_path / "a.swc")
    with pytest.raises(ng.InputError, match="missing: node_id"):
        ng.write_swc(pd.DataFrame({"a": [1]}), tmp_path / "b.swc")
    assert not (tmp_path / "a.swc").exists() and not (tmp_path / "b.swc").exists()


def test_synapse_tables_with_overflowing_or_ragged_columns(ico):
    neuron = ng.extract(ico, voxel_size=1)
    table = pd.DataFrame(dict(x=[0.0, 1e300], y=[5000.0, 0.0], z=[0.0, 0.0], type=["pre", "post"]))
    mapped = ng.map_synapses(neuron, table, voxel_size=1).synapses  # an IndexError before
    assert len(mapped) == 2 and (mapped["branch"] >= 0).sum() == 1
    with pytest.raises(ng.InputError, match="one length"):
        ng.map_synapses(neuron, dict(x=[1.0, 2.0], y=[1.0], z=[1.0, 2.0, 3.0], type=["pre"]), voxel_size=1)
    with pytest.raises(ng.InputError, match="must be a dict"):
        ng.load_synapses(table, voxel_size=1, columns=5)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    cell = synthetic.make_neuron(3, "fragment", spines_per_um=1.0)
    path = tmp_path_factory.mktemp("saved") / "cell.neuron.zip"
    ng.extract(cell.mesh, voxel_size=1).save(path)
    return path


def _damaged(path, out, **changes):
    """A copy of the archive at ``path`` with some of its arrays changed (``changes[name](array)``)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    arrays = dict(np.load(io.BytesIO(parts["arrays.npz"]), allow_pickle=False))
    for name, change in changes.items():
        arrays[name] = change(arrays[name].copy())
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with zipfile.ZipFile(out, "w") as z:
        for n, b in parts.items():
            z.writestr(n, buf.getvalue() if n == "arrays.npz" else b)
    return out


def _set(index, value):
    def change(a):
        a[index] = value
        return a
    return change


@pytest.mark.parametrize("name, change, match", [
    ("skeleton_parent", _set(5, 10**7), "names parent"),
    ("skeleton_parent", _set(5, 5), "cycle"),  # crashed canonical / neuron_features after loading
    ("skeleton_vertices", _set(10, np.nan), "NaN or infinite"),
    ("skeleton_radius", lambda a: a[:10], "one per node"),
    ("soma_nodes", lambda a: np.array([10**7]), "soma nodes"),
    ("vertex_map", lambda a: a[:100], "vertex_map covers"),
    ("vertex_map", _set(7, 10**7), "vertex_map must give"),
    ("mesh_faces", _set((3, 1), 10**8), "face indices"),
    ("mesh_vertices", _set(10, np.nan), "NaN or infinite"),
    ("node_branch", lambda a: a[:10], "node_branch has shape"),
    ("node_branch", _set(4, 10**6), "node_branch holds values"),
    ("face_branch", _set(4, 10**6), "face_branch holds values"),  # loaded silently before
    ("face_spine", _set(slice(None), 10**6), "face_spine holds values"),  # loaded silently before
    ("shaft_radius", lambda a: a[:10], "shaft_radius has shape"),
])
def test_load_refuses_an_archive_whose_arrays_do_not_fit(archive, tmp_path, name, change, match):
    assert len(ng.load(archive).spines) > 0
    bad = _damaged(archive, tmp_path / "bad.neuron.zip", **{name: change})
    with pytest.raises(ng.FormatError, match=match) as info:
        ng.load(bad)
    assert isinstance(info.value, NeurographError) and "damaged" in str(info.value)


@pytest.mark.parametrize("call, error, match", [
    (lambda m: ng.repair(m, target_faces=0), ng.MeshError, "target_faces must be a positive whole number"),
    (lambda m: ng.repair(m, target_faces=500.5), ng.MeshError, "target_faces"),
    (lambda m: ng.repair(m, max_hole_edges=-5), ng.MeshError, "max_hole_edges"),
    (lambda m: ng.skeletonize(m, step="big"), ng.SkeletonError, "step must be a positive number"),
    (lambda m: ng.skeletonize(m, step=np.inf), ng.SkeletonError, "step must be a positive number"),
    (lambda m: ng.skeletonize(m, prune_factor=-1), ng.SkeletonError, "prune_factor"),
    (lambda m: ng.skeletonize(m, protrusion_ratio=np.nan), ng.SkeletonError, "protrusion_ratio"),
    (lambda m: ng.label_compartments(ng.extract(m, voxel_size=1), proximal_um=-5), ng.InputError, "proximal_um"),
    (lambda m: ng.split_somas(ng.extract(m, voxel_size=1), max_cuts=-1), ng.InputError, "max_cuts"),
    (lambda m: ng.soma_features(ng.extract(m, voxel_size=1), depth_axis=(0, 0, 0)), ng.InputError, "depth_axis"),
    (lambda m: ng.proofread(ng.extract(m, voxel_size=1), zzz=5), ng.InputError, "unknown threshold"),
    (lambda m: ng.soma_features(ng.extract(m, voxel_size=1), depth_axis=(np.nan, 1, 0)), ng.InputError, "depth_axis"),
])
def test_parameters_out_of_their_range_are_refused(ico, call, error, match):
    """These were accepted without a word (step=inf gave a one-node skeleton, a zero depth_axis NaN
    depths)."""
    with pytest.raises(error, match=match):
        call(ico)
