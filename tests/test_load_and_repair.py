import numpy as np
import pytest
import trimesh

import neurograph as ng
from neurograph.errors import MeshError, NeurographError


def _two_boxes(gap: float):
    a = trimesh.creation.box(extents=(1000, 1000, 1000))
    b = trimesh.creation.box(extents=(1000, 1000, 1000))
    b.apply_translation((1000 + gap, 0, 0))
    return trimesh.util.concatenate([a, b])


@pytest.mark.parametrize("vertices, faces, message", [
    (np.zeros((0, 3)), np.zeros((0, 3), int), "non-empty"),
    (np.array([[0, 0, 0], [1, 0, 0], [np.nan, 1, 0]]), np.array([[0, 1, 2]]), "NaN"),
    (np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]]), np.array([[0, 1, 5]]), "face indices"),
    (np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0]]), np.array([[0, 1, 2]]), "zero area"),
])
def test_bad_meshes_raise_clear_errors(vertices, faces, message):
    with pytest.raises(MeshError, match=message):
        ng.load_mesh((vertices, faces), voxel_size=1)


def test_bad_files(tmp_path):
    empty = tmp_path / "empty.ply"
    empty.write_bytes(b"")
    with pytest.raises(MeshError, match="empty"):
        ng.load_mesh(empty, voxel_size=1)
    with pytest.raises(MeshError, match="not found"):
        ng.load_mesh(tmp_path / "missing.obj", voxel_size=1)
    (tmp_path / "x.xyz").write_text("1 2 3\n")
    with pytest.raises(MeshError, match="unsupported"):
        ng.load_mesh(tmp_path / "x.xyz", voxel_size=1)
    truncated = tmp_path / "t.off"
    truncated.write_text("OFF\n10 5 0\n0 0 0\n1 1 1\n")
    with pytest.raises(NeurographError):
        ng.load_mesh(truncated, voxel_size=1)


def test_voxel_size_scales_to_nm():
    box = trimesh.creation.box(extents=(1, 2, 3))
    with pytest.warns(ng.errors.UnitsWarning, match="probably in µm"):  # a box 121 nm across: no neuron
        mesh = ng.load_mesh(box, voxel_size=(8, 8, 40))
    assert np.allclose(np.ptp(mesh.vertices, axis=0), (8, 16, 120))


def test_repair_keeps_near_pieces_and_drops_far_ones():
    near = ng.repair(ng.load_mesh(_two_boxes(500), voxel_size=1), gap=2000)
    assert near.report["components_kept"] == 2 and len(near.bridges) == 1
    d = np.linalg.norm(np.diff(near.mesh.vertices[near.bridges[0]], axis=0))
    assert d == pytest.approx(500, abs=1)
    far = ng.repair(ng.load_mesh(_two_boxes(5000), voxel_size=1), gap=2000)
    assert far.report["components_kept"] == 1 and far.report["components_dropped"] == 1
    assert far.report["area_dropped_um2"] == pytest.approx(6.0, rel=1e-6)


def test_repair_removes_duplicate_and_degenerate_faces():
    box = trimesh.creation.box(extents=(1000, 1000, 1000))
    faces = np.vstack([box.faces, box.faces[:3], [[0, 0, 1]]])
    result = ng.repair(ng.load_mesh((box.vertices, faces), voxel_size=1))
    assert len(result.mesh.faces) == 12
    assert result.report["faces_removed_degenerate_or_duplicate"] == 4


def test_hemibrain_repair_keeps_what_meshfix_would_lose(navis_data):
    mesh = ng.load_mesh(navis_data / "obj" / "1734350788.obj", voxel_size=8)
    result = ng.repair(mesh)
    # pymeshfix.MeshFix keeps 2,770 of 13,054 faces here; we keep the neuron.
    assert result.report["area_kept_fraction"] > 0.98
    assert result.report["components_kept"] == result.report["components_in"]


def test_fill_small_holes_closes_small_holes_only():
    from neurograph.mesh.holes import boundary_half_edges, fill_small_holes

    sphere = trimesh.creation.icosphere(subdivisions=4, radius=1000.0)
    # one-face hole (3 edges), a 6-face hole around a vertex (6 edges), and a big cap (> 20 edges)
    ring = np.flatnonzero((sphere.faces == 100).any(axis=1))
    cap = np.flatnonzero(sphere.triangles_center[:, 2] > 900.0)
    drop = np.zeros(len(sphere.faces), bool)
    drop[[0]] = True
    drop[ring] = True
    drop[cap] = True
    faces = sphere.faces[~drop]
    v, f, n = fill_small_holes(sphere.vertices, faces, max_hole_edges=20)
    assert n == 2
    assert np.array_equal(f[:len(faces)], faces) and np.array_equal(v[:len(sphere.vertices)], sphere.vertices)
    left = boundary_half_edges(f, len(v))
    assert len(left) == len(boundary_half_edges(sphere.faces[~np.isin(np.arange(len(sphere.faces)), cap)],
                                                 len(sphere.vertices))) > 20
    closed = trimesh.Trimesh(v, f, process=False)
    assert closed.is_winding_consistent
    # everything filled: the whole sphere back, same area within the flat patches' error
    v2, f2, n2 = fill_small_holes(sphere.vertices, faces, max_hole_edges=200)
    full = trimesh.Trimesh(v2, f2, process=False)
    assert n2 == 3 and full.is_watertight and full.is_winding_consistent and full.volume > 0
    assert abs(full.area / sphere.area - 1) < 0.01


@pytest.mark.parametrize("name, export", [("mesh.ply", {"encoding": "binary"}), ("mesh.ply", {"encoding": "ascii"}),
                                          ("mesh.stl", {}), ("mesh.stl", {"file_type": "stl_ascii"}),
                                          ("mesh.obj", {}), ("mesh.off", {})])
def test_every_format_reads_the_arrays_trimesh_reads(tmp_path, name, export):
    """PLY and STL are read by trimesh's own format readers, without trimesh.load's scene around
    them (the scene costs seconds at a million faces): the same vertices and triangles."""
    from neurograph.io.meshes import _read_direct, _read_file, _read_plain_obj, _read_plain_off

    mesh = trimesh.creation.icosphere(3, radius=2000.0)
    mesh.vertices += np.random.default_rng(0).normal(scale=10.0, size=mesh.vertices.shape)
    path = tmp_path / name
    mesh.export(path, **export)
    suffix = path.suffix
    fast = {".off": _read_plain_off, ".obj": _read_plain_obj}.get(suffix, lambda p: _read_direct(p, suffix))
    assert fast(str(path)) is not None  # the fast path reads these files (a fallback would hide it)
    vertices, faces = _read_file(str(path))
    ref = trimesh.load(path, process=False, force="mesh")
    np.testing.assert_array_equal(np.asarray(vertices, float), ref.vertices)
    np.testing.assert_array_equal(faces, ref.faces)
    assert ng.load_mesh(path, voxel_size=1).faces.shape == (len(mesh.faces), 3)


def test_a_ply_of_quads_is_read_by_trimesh_load_and_triangulated(tmp_path):
    path = tmp_path / "quads.ply"
    path.write_text("ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\n"
                    "element face 1\nproperty list uchar int vertex_indices\nend_header\n"
                    "0 0 0\n1000 0 0\n1000 1000 0\n0 1000 0\n4 0 1 2 3\n")
    from neurograph.io.meshes import _read_direct, _read_file

    assert _read_direct(str(path), ".ply") is None  # not triangles: the fallback reads it
    vertices, faces = _read_file(str(path))
    assert faces.shape == (2, 3) and len(vertices) == 4


OBJ_CASES = {  # text, parsed by the plain-OBJ fast path?
    "plain": ("v 0 0 0\nv 1000 0 0\nv 0 1000 0\nv 1000 1000 0\nf 1 2 3\nf 2 4 3\n", True),
    "header": ("# made by hand\no cell\nv 0 0 0\nv 1000 0 0\nv 0 1000 0\nf 1 2 3\n\n", True),
    "unused vertex": ("v 0 0 0\nv 1000 0 0\nv 0 1000 0\nv 5 5 5\nf 1 2 3\n", False),
    "texture indices": ("v 0 0 0\nv 1000 0 0\nv 0 1000 0\nvt 0 0\nf 1/1 2/1 3/1\n", False),
    "quad": ("v 0 0 0\nv 1000 0 0\nv 0 1000 0\nv 1000 1000 0\nf 1 2 4 3\n", False),
    "normals": ("v 0 0 0\nv 1000 0 0\nv 0 1000 0\nvn 0 0 1\nf 1 2 3\n", False),
    "relative indices": ("v 0 0 0\nv 1000 0 0\nv 0 1000 0\nf -3 -2 -1\n", False),
    "two objects": ("o a\nv 0 0 0\nv 1000 0 0\nv 0 1000 0\nf 1 2 3\no b\nv 0 0 1000\nv 1000 0 1000\n"
                    "v 0 1000 1000\nf 4 5 6\n", False),
    "vertex colours": ("v 0 0 0 1 0 0\nv 1000 0 0 1 0 0\nv 0 1000 0 1 0 0\nf 1 2 3\n", False),
    "CRLF": ("v 0 0 0\r\nv 1000 0 0\r\nv 0 1000 0\r\nf 1 2 3\r\n", False),
    # a long line and a short one that make up the count together (trimesh triangulates the quad)
    "quad and short face": ("v 0 0 0\nv 1000 0 0\nv 0 1000 0\nv 1000 1000 0\nf 1 2 4 3\nf 1 2\n", False),
    "scientific notation, tabs": ("v 0 0 0\nv 1e3\t0 0\nv 0 1.0E+03 0\nf 1 2 3\n", True),
}


@pytest.mark.parametrize("case", sorted(OBJ_CASES))
def test_plain_obj_fast_path_reads_what_trimesh_reads_and_leaves_the_rest_to_it(tmp_path, case):
    from neurograph.io.meshes import _read_file, _read_plain_obj

    text, plain = OBJ_CASES[case]
    path = tmp_path / "cell.obj"
    path.write_bytes(text.encode())
    assert (_read_plain_obj(str(path)) is not None) == plain
    vertices, faces = _read_file(str(path))
    ref = trimesh.load(path, process=False, force="mesh")
    np.testing.assert_array_equal(np.asarray(vertices, float), ref.vertices)
    np.testing.assert_array_equal(faces, ref.faces)


@pytest.mark.parametrize("text", ["v 0 0 x\nv 1000 0 0\nv 0 1000 0\nf 1 2 3\n", "v 0 0 0\nv 1000 0 0\nv 0 1000 0\nf 1 2\n",
                                  "v 0 0 0\nv 1000 0 0\nv 0 1000 0\nf 1 2 9\n"])
def test_a_broken_obj_is_not_parsed_by_the_fast_path(tmp_path, text):
    from neurograph.io.meshes import _read_plain_obj

    path = tmp_path / "broken.obj"
    path.write_text(text)
    assert _read_plain_obj(str(path)) is None


def test_a_textured_ply_is_read_without_its_image(tmp_path, caplog):
    """The texture is no concern of a neuron mesh: no attempt (and no logged traceback) to load it."""
    from neurograph.io.meshes import _read_direct

    mesh = trimesh.creation.icosphere(2, radius=2000.0)
    path = tmp_path / "cell.ply"
    mesh.export(path, encoding="ascii")
    text = path.read_text().replace("ply\nformat ascii 1.0\n", "ply\nformat ascii 1.0\ncomment TextureFile tex.png\n")
    path.write_text(text)
    (tmp_path / "tex.png").write_bytes(b"not an image")
    with caplog.at_level("DEBUG", logger="trimesh"):
        vertices, faces = _read_direct(str(path), ".ply")
    assert faces.shape == (len(mesh.faces), 3) and not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
