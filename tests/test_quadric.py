"""The Numba quadric decimation (neurograph.mesh.quadric): bounded error, no folds, the same
result with and without remembering refused collapses, a flat subdivision undone exactly with the
floor's conditioning, and fast-simplification's result where that package is installed."""

import numpy as np
import pytest
import trimesh

from neurograph.errors import MeshError
from neurograph.mesh.quadric import FS_SCHEDULE, decimate, simplify
from neurograph.mesh.resolution import CONDITIONING


def schedule(tolerance):
    """Thresholds (nm²) rising to 6 x tolerance² in the last sweep."""
    return FS_SCHEDULE * 6 * tolerance ** 2 / FS_SCHEDULE[-1]


def _sphere(subdivisions=5, radius=1000.0, jitter=0.0, seed=0):
    mesh = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    v = np.asarray(mesh.vertices, float)
    if jitter:
        v = v + np.random.default_rng(seed).normal(0.0, jitter, v.shape)
    return v, np.asarray(mesh.faces, np.int64)


def _subdivided_tube(levels=2):
    """A capped cylinder subdivided flat: many new vertices lie exactly on old faces."""
    tube = trimesh.creation.cylinder(radius=300.0, height=4000.0, sections=24)
    v, f = np.asarray(tube.vertices, float), np.asarray(tube.faces, np.int64)
    for _ in range(levels):
        v, f = trimesh.remesh.subdivide(v, f)
    return v, f


def test_tolerance_bounds_the_surface_error():
    """Every vertex of the result stays within 2x the tolerance of a finely tessellated sphere
    of radius 1000 nm (the error bound: ~6 planes each within the tolerance), and the faces
    keep their outward orientation (no fold)."""
    v, f = _sphere(6)
    for tol in (1.0, 5.0):
        out_v, out_f = simplify(v, f, schedule(tol))
        assert len(out_f) < 0.8 * len(f)
        assert np.abs(np.linalg.norm(out_v, axis=1) - 1000.0).max() < 2 * tol
        centroids = out_v[out_f].mean(axis=1)
        normals = np.cross(out_v[out_f[:, 1]] - out_v[out_f[:, 0]], out_v[out_f[:, 2]] - out_v[out_f[:, 0]])
        assert (np.einsum("ij,ij->i", normals, centroids) > 0).all()
    loose, tight = len(simplify(v, f, schedule(5.0))[1]), len(simplify(v, f, schedule(1.0))[1])
    assert loose < tight


def test_flat_subdivision_comes_back_down():
    """Vertices added on flat faces cost no error: most of a subdivided tube's new faces go
    (not all: the tube's long thin faces make slivers that the fold test refuses), and the
    surface does not move."""
    v, f = _subdivided_tube(2)
    out_v, out_f = simplify(v, f, schedule(1.0))
    assert len(out_f) < 0.7 * len(f)
    r = np.linalg.norm(out_v[:, :2], axis=1)
    on_side = np.abs(out_v[:, 2]) < 1999.0
    assert np.abs(r[on_side] - 300.0 * np.cos(np.pi / 24)).max() < 300.0 * (1 - np.cos(np.pi / 24)) + 1e-6
    assert np.abs(np.abs(out_v[~on_side, 2]) - 2000.0).max() < 1e-6


@pytest.mark.parametrize("mesh", ["tube", "jittered sphere"])
def test_remembering_refusals_changes_nothing(mesh):
    v, f = _subdivided_tube(2) if mesh == "tube" else _sphere(5, jitter=2.0)
    thresholds = schedule(5.0)
    fast = simplify(v, f, thresholds)
    slow = simplify(v, f, thresholds, remember_refusals=False)
    assert np.array_equal(fast[1], slow[1]) and np.array_equal(fast[0], slow[0])


def test_target_count_and_decimate():
    v, f = _sphere(5, jitter=1.0)
    out_v, out_f = decimate(v, f, 2000)
    assert 1900 <= len(out_f) <= 2000
    assert len(out_v) == len(np.unique(out_f))  # unused vertices dropped
    assert np.abs(np.linalg.norm(out_v, axis=1) - 1000.0).max() < 40.0


def test_empty_and_open_meshes():
    v, f = _sphere(3)
    out_v, out_f = simplify(v, f[:0], schedule(5.0))
    assert out_f.shape == (0, 3)
    half = f[v[f].mean(axis=1)[:, 2] > 0]  # open: a border all round; it must not shrink
    out_v, out_f = simplify(v, half, schedule(5.0))
    edges = np.sort(np.vstack([out_f[:, [0, 1]], out_f[:, [1, 2]], out_f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert (counts == 1).sum() > 0 and len(out_f) > 0


def test_same_result_as_fast_simplification():
    """Bit for bit the result of the C++ library it ports, on the same coordinates."""
    fast_simplification = pytest.importorskip("fast_simplification")
    v, f = _sphere(5, jitter=3.0)
    a_v, a_f = fast_simplification.simplify(v, f.astype(np.int32), target_count=1500, agg=7.0)
    b_v, b_f = decimate(v, f, 1500)
    assert np.array_equal(a_f, b_f) and np.array_equal(a_v, b_v)
    c_v, c_f = simplify(v, f, FS_SCHEDULE, target_count=1500, conditioning=0)
    assert np.array_equal(a_f, c_f) and np.array_equal(a_v, c_v)


def test_a_flat_subdivision_is_undone_exactly():
    """An icosphere (1,280 faces) subdivided flat three times (81,920 faces: every new vertex on an
    old face) comes back to the icosphere itself with the resolution floor's conditioning: the
    same 642 vertices and 1,280 faces. The quadric of a new vertex is the plane of one face or the
    planes of an edge's two faces, whose minimiser (det = 0 up to rounding) lies anywhere in the
    plane or along the edge: with fast-simplification's rule (conditioning=0) collapses there went
    to such points, slid vertices along the surface, or were refused as folds (1,482 faces left)."""
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=1000.0)
    v0, f0 = np.asarray(sphere.vertices, float), np.asarray(sphere.faces, np.int64)
    v, f = v0, f0
    for _ in range(3):
        v, f = trimesh.remesh.subdivide(v, f)
    out_v, out_f = simplify(v, f, schedule(1.0), conditioning=CONDITIONING)
    assert len(out_f) == len(f0) and len(out_v) == len(v0)
    assert np.allclose(np.unique(np.round(out_v, 6), axis=0), np.unique(np.round(v0, 6), axis=0))
    old_v, old_f = simplify(v, f, schedule(1.0))
    assert len(old_f) > 1.1 * len(f0)


def test_conditioning_keeps_the_minimiser_where_the_surface_curves():
    """On a smooth, finely tessellated surface the minimiser is the better place: an icosphere of
    20,480 faces decimated to 410 keeps 0.988 of the sphere's volume with the default rule and
    0.956 with the floor's conditioning (ends and midpoints lie inside a convex surface), which is
    why ``decimate`` keeps fast-simplification's rule."""
    v, f = _sphere(5)
    volumes = []
    for c in (0.0, CONDITIONING):
        out_v, out_f = simplify(v, f, FS_SCHEDULE, target_count=410, conditioning=c)
        volumes.append(trimesh.Trimesh(out_v, out_f, process=False).volume / (4 / 3 * np.pi * 1000.0 ** 3))
    assert 0.98 < volumes[0] < 1.0 and volumes[1] < volumes[0]


@pytest.mark.parametrize("bad", [-1e-3, float("nan"), float("inf")])
def test_bad_conditioning_is_a_clear_error(bad):
    v, f = _sphere(2)
    with pytest.raises(MeshError, match="conditioning"):
        simplify(v, f, schedule(1.0), conditioning=bad)


@pytest.mark.parametrize("fix", ["index past the vertices", "negative index", "quads", "2-d vertices"])
def test_arrays_the_kernels_cannot_read_are_a_clear_error(fix):
    """The Numba kernels index without bounds checks: a face list that does not match its
    vertices must be refused before them (it crashed the process), in the decimation and in the
    area the resolution floor starts from."""
    from neurograph.mesh.resolution import surface_area

    v, f = _sphere(2)
    if fix == "index past the vertices":
        f = f.copy()
        f[5, 1] = len(v)
    elif fix == "negative index":
        f = f.copy()
        f[0, 0] = -1
    elif fix == "quads":
        f = np.hstack([f, f[:, :1]])
    else:
        v = v[:, :2]
    for call in (lambda: simplify(v, f, schedule(1.0)), lambda: surface_area(v, f)):
        with pytest.raises(MeshError):
            call()


def test_return_index_names_each_output_vertex():
    """``return_index``: the input vertex whose place each output vertex took (the vertices
    collapsed into it are of its piece): without collapses the identity; on two spheres 10 µm
    apart every output vertex sits on the sphere of its input vertex; the mesh is the same as
    without the index."""
    v, f = _sphere(3)
    out_v, out_f, index = simplify(v, f, np.zeros(5), return_index=True)
    assert np.array_equal(index, np.arange(len(v))) and np.array_equal(out_v, v) and np.array_equal(out_f, f)
    v2 = np.vstack([v, v + [10000.0, 0, 0]])
    f2 = np.vstack([f, f + len(v)])
    plain = simplify(v2, f2, schedule(20.0))
    out_v, out_f, index = simplify(v2, f2, schedule(20.0), return_index=True)
    assert np.array_equal(out_v, plain[0]) and np.array_equal(out_f, plain[1])
    assert len(index) == len(out_v) < len(v2) / 2 and (np.diff(index) > 0).all()
    second = index >= len(v)
    assert 0 < second.sum() < len(index)
    assert np.array_equal(out_v[:, 0] > 5000.0, second)
