"""The fast paths of issue 13 in the mesh, soma and synapse steps give exactly what the slower,
plainer code they replace gives (ray casts, components, surface area, closest surface points)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from scipy import sparse

import neurograph as ng
from neurograph.mesh import soma as soma_module



@pytest.mark.parametrize("min_inside", [0.6, 0.3, 1.0])
def test_ray_profile_first_hit_filter_keeps_every_enclosed_point(min_inside):
    """Casting every hit only for points already enclosed by their first hits, and first hits
    only until a point is ruled out, keeps the same points, with the same ``inside``,
    ``reach`` and ``free``; the others are the ones find_somas drops."""
    cell = ng.synthetic.make_neuron(0, "pyramidal")
    mesh = cell.mesh
    rng = np.random.default_rng(0)
    lo, hi = mesh.bounds
    centre = np.asarray(cell.soma_center, float)
    probes = np.vstack([centre + rng.normal(size=(60, 3)) * cell.soma_radius * 0.4,  # inside the soma
                        rng.uniform(lo, hi, size=(200, 3))])  # mostly outside
    directions = soma_module._sphere_directions()
    full_inside, full_reach, full_free = soma_module._ray_profile(mesh, probes, 15000.0, directions, chunk=64)
    inside, reach, free = soma_module._ray_profile(mesh, probes, 15000.0, directions, chunk=64, min_inside=min_inside)
    kept = full_inside >= min_inside
    assert 0 < kept.sum() < len(probes)  # both kinds of probe are exercised
    np.testing.assert_array_equal(inside >= min_inside, kept)  # the same points kept
    np.testing.assert_array_equal(inside[kept], full_inside[kept])
    # a point ruled out early has seen only some of its rays leave through a back face
    assert (inside[~kept] <= full_inside[~kept]).all()
    np.testing.assert_array_equal(reach[kept], full_reach[kept])
    np.testing.assert_array_equal(free[kept], full_free[kept])
    assert np.isnan(reach[~kept]).all() and np.isnan(free[~kept]).all()


def test_reversed_rays_give_the_last_hit_of_every_hit_cast():
    """``reach`` comes from the rays cast back from ``max_dist``: the same medians as the
    farthest hit within ``max_dist`` from casting every hit along the rays (a synthetic neuron
    whose rays cross several membranes)."""
    cell = ng.synthetic.make_neuron(1, "pyramidal")
    mesh = cell.mesh
    rng = np.random.default_rng(1)
    # points just inside the membrane near the soma: their rays leave the neurite or soma and
    # cross the neighbouring ones
    v = np.asarray(mesh.vertices)
    near = np.flatnonzero(np.linalg.norm(v - np.asarray(cell.soma_center, float), axis=1) < 30000)
    pick = rng.choice(near, 100, replace=False)
    probes = v[pick] - np.asarray(mesh.vertex_normals)[pick] * 50.0
    directions = soma_module._sphere_directions()
    max_dist = 15000.0
    inside, reach, free = soma_module._ray_profile(mesh, probes, max_dist, directions)
    origins = np.repeat(probes, len(directions), axis=0)
    dirs = np.tile(directions, (len(probes), 1))
    # every hit from trimesh's exact (pure-Python) intersector: with embreex 4 trimesh's
    # multiple-hit loop re-hits the same face instead of passing it (20 copies of the first hit)
    exact = trimesh.ray.ray_triangle.RayMeshIntersector(mesh)
    locs, ray, _ = exact.intersects_location(origins, dirs, multiple_hits=True)
    dist = np.linalg.norm(locs - origins[ray], axis=1)
    ok = dist <= max_dist
    first, last = np.full(len(origins), np.inf), np.full(len(origins), max_dist)
    np.minimum.at(first, ray[ok], dist[ok])
    has = np.isfinite(first)
    last[has] = 0.0
    np.maximum.at(last, ray[ok], dist[ok])
    crossings = np.bincount(ray[ok], minlength=len(origins))
    assert (crossings >= 2).sum() > 150  # rays that meet more than one membrane are exercised
    np.testing.assert_allclose(reach, np.median(last.reshape(len(probes), -1), axis=1), rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(free, np.median(np.minimum(first, max_dist).reshape(len(probes), -1), axis=1),
                               rtol=1e-6, atol=1e-3)


@pytest.mark.parametrize("radius_cells", [1.0, 1.5, 3.0])
def test_ball_sums_merge_kernel_is_the_offset_loop(radius_cells):
    """Membrane area summed over a ball of grid cells: one sorted merge per offset gives the
    sums of one searchsorted per offset, bit for bit (same additions, same order)."""
    from neurograph.mesh.components import cell_keys

    rng = np.random.default_rng(int(radius_cells * 10))
    cells = np.unique(rng.integers(0, 30, size=(6000, 3)), axis=0)
    weights = rng.random(len(cells)) * 10.0 ** rng.integers(0, 7, len(cells))
    keys = cell_keys(cells)
    order = np.argsort(keys)
    r = int(np.ceil(radius_cells))
    grid = np.mgrid[-r:r + 1, -r:r + 1, -r:r + 1].reshape(3, -1).T
    want = np.zeros(len(cells))
    for off in grid[np.linalg.norm(grid, axis=1) <= radius_cells]:
        k = cell_keys(cells + off)
        pos = np.clip(np.searchsorted(keys[order], k), 0, len(cells) - 1)
        hit = keys[order][pos] == k
        want[hit] += weights[order][pos[hit]]
    got = soma_module._ball_sums(cells, weights, radius_cells)
    np.testing.assert_array_equal(got, want)
    assert (got > weights).mean() > 0.5  # most cells have occupied neighbours


def test_connected_part_union_find_is_scipys_components():
    """The largest piece of a face set (through shared vertices) by union-find, as the sparse
    incidence product and scipy's connected components gave it."""
    mesh = ng.synthetic.make_neuron(2, "multipolar").mesh
    rng = np.random.default_rng(0)
    centroids = np.asarray(mesh.triangles_center)
    several = 0
    for _ in range(20):
        centre = centroids[rng.integers(len(centroids))]
        faces = np.flatnonzero(np.linalg.norm(centroids - centre, axis=1) < rng.uniform(2000, 20000))
        faces = faces[rng.random(len(faces)) < rng.uniform(0.3, 1.0)]  # holes: several pieces
        sub = mesh.faces[faces]
        rows = np.repeat(np.arange(len(faces)), 3)
        inc = sparse.coo_matrix((np.ones(rows.size), (rows, sub.ravel())), shape=(len(faces), len(mesh.vertices))).tocsr()
        from scipy.sparse.csgraph import connected_components

        _, labels = connected_components(inc @ inc.T, directed=False)
        np.testing.assert_array_equal(soma_module._face_pieces(np.asarray(sub, np.int64), len(mesh.vertices)), labels)
        area = np.bincount(labels, weights=mesh.area_faces[faces])
        want = np.sort(faces[labels == np.argmax(area)])
        np.testing.assert_array_equal(soma_module._connected_part(mesh, faces), want)
        several += labels.max() > 0
    assert several >= 5  # face sets in several pieces are exercised


def test_vertex_components_are_scipys_connected_components():
    """The union-find labels are scipy's, numbering included (pieces in the order of their lowest
    vertex), on a synthetic neuron cut into pieces, random triangle soups (repeated indices,
    unused vertices) and no faces at all."""
    from scipy.sparse.csgraph import connected_components

    from neurograph.mesh.components import vertex_components

    def scipy_labels(n, faces):
        edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
        graph = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
        return connected_components(graph, directed=False)[1]

    mesh = ng.synthetic.make_neuron(2, "multipolar").mesh
    rng = np.random.default_rng(1)
    cases = [(len(mesh.vertices), np.asarray(mesh.faces)[rng.random(len(mesh.faces)) < 0.6]),
             (5, np.empty((0, 3), np.int64))]
    cases += [(n, rng.integers(0, n, (int(rng.integers(0, 3 * n)), 3))) for n in rng.integers(1, 400, 30)]
    pieces = []
    for n, faces in cases:
        got = vertex_components(int(n), faces)
        np.testing.assert_array_equal(got, scipy_labels(int(n), np.asarray(faces, np.int64)))
        pieces.append(got.max() + 1)
    assert pieces[0] > 10 and max(pieces[2:]) > 5  # many pieces exercised


@pytest.mark.parametrize("seed", range(3))
def test_surface_area_kernel_is_the_numpy_cross_product(seed):
    """``surface_area`` (face by face in Numba) equals the plain numpy formula, face for face and in
    total; degenerate faces (repeated or collinear corners) count zero."""
    from neurograph.mesh.resolution import _cross_norms, surface_area

    rng = np.random.default_rng(seed)
    vertices = rng.normal(size=(200, 3)) * 1e3
    faces = rng.integers(0, 200, size=(500, 3))
    faces[:20, 1] = faces[:20, 0]  # repeated corner
    vertices[faces[20, 2]] = 0.5 * (vertices[faces[20, 0]] + vertices[faces[20, 1]])  # collinear
    a, b, c = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    u, w = b - a, c - a
    cross = np.column_stack([u[:, 1] * w[:, 2] - u[:, 2] * w[:, 1], u[:, 2] * w[:, 0] - u[:, 0] * w[:, 2],
                             u[:, 0] * w[:, 1] - u[:, 1] * w[:, 0]])
    norms = np.sqrt(cross[:, 0] * cross[:, 0] + cross[:, 1] * cross[:, 1] + cross[:, 2] * cross[:, 2])
    assert np.array_equal(_cross_norms(vertices, faces), norms)
    assert (norms[:20] == 0).all() and norms[20] < 1e-6 * norms.max()
    assert surface_area(vertices, faces) == 0.5 * float(norms.sum())
    assert surface_area(vertices, faces, chunk=64) == pytest.approx(0.5 * norms.sum(), rel=1e-12)


def test_repair_watertight_flag_is_trimesh_is_watertight():
    """The report's flag, read from the unique edges, against trimesh's own test."""
    import trimesh

    from neurograph.mesh.repair import _watertight

    rng = np.random.default_rng(0)
    sphere = trimesh.creation.icosphere(2)
    cases = [sphere, trimesh.creation.box(), trimesh.creation.capsule(),
             trimesh.Trimesh(sphere.vertices, sphere.faces[1:], process=False),  # a hole
             trimesh.Trimesh(sphere.vertices, np.vstack([sphere.faces, sphere.faces[:1]]), process=False),  # 3 faces on edges
             trimesh.Trimesh(rng.random((30, 3)), rng.integers(0, 30, (40, 3)), process=False),
             trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64), process=False)]
    got = [_watertight(trimesh.Trimesh(m.vertices, m.faces, process=False)) for m in cases]
    assert got == [trimesh.Trimesh(m.vertices, m.faces, process=False).is_watertight for m in cases]
    assert got[:3] == [True] * 3 and not any(got[3:])


def _reference_closest_among(tri, p, cand):
    """The numpy code closest_surface_points ran before its kernel (trimesh's closest_point on
    every candidate, then numpy's argmin)."""
    import trimesh

    c = trimesh.triangles.closest_point(tri[cand.ravel()], np.repeat(p, cand.shape[1], axis=0))
    c = c.reshape(len(p), cand.shape[1], 3)
    d = np.linalg.norm(c - p[:, None, :], axis=2)
    best = np.argmin(d, axis=1)
    rows = np.arange(len(p))
    return c[rows, best], d[rows, best], cand[rows, best]


@pytest.mark.parametrize("seed", range(4))
def test_closest_among_is_trimesh_closest_point(seed):
    """Bit for bit the old code: every region of a triangle (corners, edges, face), ties between
    triangles sharing an edge or a corner (the first in candidate order wins), a NaN point and
    one whose distances overflow."""
    import trimesh

    from neurograph.synapses.kernels import closest_among

    rng = np.random.default_rng(seed)
    mesh = trimesh.creation.icosphere(2, radius=500.0)
    tri = np.ascontiguousarray(mesh.triangles)
    mid = 0.5 * (mesh.vertices[mesh.edges_unique[:40, 0]] + mesh.vertices[mesh.edges_unique[:40, 1]])
    points = np.vstack([rng.normal(size=(300, 3)) * rng.uniform(50, 900, (300, 1)), mesh.vertices[:40], mid,
                        [[np.nan, 0.0, 0.0], [1e300, 1e300, 1e300]]])
    cand = np.vstack([rng.choice(len(tri), 16, replace=False) for _ in range(len(points))]).astype(np.int64)
    cand[300:380] = _centroid_candidates(tri, points[300:380], 16)  # ties: a vertex's or an edge's faces
    got = closest_among(tri, points, cand)
    with np.errstate(all="ignore"):
        want = _reference_closest_among(tri, points, cand)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)  # NaN where the old code gave NaN
    assert np.isnan(got[1][-2]) and np.isinf(got[1][-1])


def test_closest_among_on_degenerate_triangles():
    """Triangles without area are the segment between their extreme corners (trimesh before 5.0
    gave NaN where the first two corners coincide): two corners alike, all alike, collinear."""
    from neurograph.synapses.kernels import closest_among

    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(2, 50, 3)) * 300
    tri = np.concatenate([np.stack([a, a, b], axis=1),  # A == B: the segment from A to C
                          np.stack([a, a, a], axis=1),  # a point
                          np.stack([a, b, 0.5 * (a + b)], axis=1),  # C halfway along AB
                          np.stack([a, b, b], axis=1)])  # B == C
    ends = np.concatenate([np.stack([a, b], 1), np.stack([a, a], 1), np.stack([a, b], 1), np.stack([a, b], 1)])
    points = rng.normal(size=(len(tri), 3)) * 400
    closest, distance, face = closest_among(tri, points, np.arange(len(tri), dtype=np.int64)[:, None])
    seg = ends[:, 1] - ends[:, 0]
    t = np.einsum("ij,ij->i", points - ends[:, 0], seg) / np.maximum(np.einsum("ij,ij->i", seg, seg), 1e-300)
    want = ends[:, 0] + np.clip(t, 0, 1)[:, None] * seg
    np.testing.assert_allclose(closest, want, rtol=0, atol=1e-7)
    np.testing.assert_allclose(distance, np.linalg.norm(points - want, axis=1), rtol=1e-12, atol=1e-9)
    assert (face == np.arange(len(tri))).all()


def test_closest_surface_points_refuses_a_mesh_without_faces():
    """The kernel reads candidate triangles unchecked: no faces is a clear error, not a read
    out of bounds."""
    import trimesh

    from neurograph.errors import InputError
    from neurograph.synapses.mapping import closest_surface_points

    with pytest.raises(InputError, match="no faces"):
        closest_surface_points(trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64)), np.zeros((3, 3)))
    closest, distance, face = closest_surface_points(trimesh.creation.icosphere(2), np.array([[0.0, 0.0, 2.0]]))
    assert abs(distance[0] - 1.0) < 0.01 and face[0] >= 0


def _centroid_candidates(tri, points, k):
    from scipy.spatial import cKDTree

    return np.asarray(cKDTree(tri.mean(axis=1)).query(points, k=k)[1], np.int64)


def test_corner_reach_is_the_numpy_expression():
    import trimesh

    from neurograph.synapses.kernels import corner_reach

    rng = np.random.default_rng(5)
    for tri in (np.asarray(trimesh.creation.icosphere(3, radius=733.0).triangles) + 1e6,
                rng.normal(size=(1000, 3, 3)) * rng.uniform(1, 1e5, (1000, 1, 1)), np.zeros((0, 3, 3))):
        tri = np.ascontiguousarray(tri)
        c = tri.mean(axis=1)
        assert corner_reach(tri, c) == (float(np.max(np.linalg.norm(tri - c[:, None, :], axis=2))) if len(tri) else 0.0)
    tri = rng.normal(size=(10, 3, 3))
    tri[5, 1, 2] = np.nan
    c = tri.mean(axis=1)
    assert np.isnan(corner_reach(tri, c)) and np.isnan(np.max(np.linalg.norm(tri - c[:, None], axis=2)))


def test_soma_clearance_tree_shape_changes_no_soma(monkeypatch):
    """The soma search reads only distances from its clearance tree, so the faster unbalanced build
    finds the same somata, face for face, as scipy's default balanced tree."""
    from scipy.spatial import cKDTree

    class Balanced(cKDTree):  # the default build, whatever find_somas asks for
        def __init__(self, data, **_):
            super().__init__(data)

    mesh = ng.synthetic.make_neuron(2, "multipolar").mesh
    fast = soma_module.find_somas(mesh.copy())
    monkeypatch.setattr(soma_module, "cKDTree", Balanced)
    slow = soma_module.find_somas(mesh.copy())
    assert len(fast) == len(slow) == 1
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a.center, b.center)
        assert a.radius == b.radius
        np.testing.assert_array_equal(a.faces, b.faces)


_TABLES = ("triangles_cross", "area_faces", "triangles_center", "face_normals", "edges_unique",
           "edges_unique_inverse", "faces_unique_edges")


def _soup(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random triangles on 200 vertices: repeated and non-manifold edges, a face with a repeated
    vertex, a duplicated face, a zero-area face and one vertex on 500 faces (a bucket past the
    insertion sort)."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(200, 3)) * 1000.0
    f = rng.integers(0, 200, size=(3000, 3))
    f[:500, 0] = 7
    f[10] = [3, 3, 4]
    f[11] = f[12]
    v[5] = v[6]
    f[20] = [5, 6, 8]
    return v, f


def _slivers() -> tuple[np.ndarray, np.ndarray]:
    """Triangles whose cross product is just below, at and just above the length under which
    trimesh gives a face no normal."""
    from neurograph.mesh.tables import TOL_ZERO

    v, f = [], []
    for i, length in enumerate(TOL_ZERO * np.array([0.5, 0.999999, 1.0, 1.000001, 2.0, 1e3])):
        v += [[0.0, 0.0, 10.0 * i], [1.0, 0.0, 10.0 * i], [0.0, length, 10.0 * i]]
        f.append([3 * i, 3 * i + 1, 3 * i + 2])
    return np.array(v), np.array(f)


@pytest.mark.parametrize("case", ["synthetic", "soup", "soup_int32", "slivers"])
def test_primed_mesh_tables_are_trimeshs_bit_for_bit(case):
    """``mesh.tables.prime`` puts into the cache exactly what trimesh computes: face cross
    products, areas, centres, normals (zero on degenerate faces and below trimesh's length
    threshold) and the unique edges with their order, first occurrences and inverse; the same
    dtypes and shapes."""
    from neurograph.mesh.tables import prime

    if case == "synthetic":
        mesh = ng.synthetic.make_neuron(1, "pyramidal").mesh
        v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    elif case == "slivers":
        v, f = _slivers()
    else:
        v, f = _soup(3)
        f = f.astype(np.int32) if case == "soup_int32" else f
    plain = trimesh.Trimesh(v, f, process=False)
    primed = prime(trimesh.Trimesh(v, f, process=False))
    assert set(_TABLES[:-1]) <= set(primed._cache.cache)  # really primed, not computed on demand
    for key in _TABLES + ("edges_unique_idx",):
        want = getattr(plain, key) if key != "edges_unique_idx" else plain._cache[key]
        got = getattr(primed, key) if key != "edges_unique_idx" else primed._cache[key]
        assert np.array_equal(want, got) and want.dtype == got.dtype and want.shape == got.shape, key
    if case == "slivers":  # the threshold itself: no normal up to it, a unit normal beyond
        assert (np.linalg.norm(primed.face_normals, axis=1) > 0).tolist() == [False, False, False, True, True, True]
    assert plain.area == primed.area and plain.is_watertight == primed.is_watertight
    if case.startswith("soup"):  # the zero-area face and the one with a repeated vertex
        assert (primed.face_normals[20] == 0).all() and (primed.face_normals[10] == 0).all()


def test_primed_tables_follow_the_mesh_when_it_changes():
    """The primed arrays live in trimesh's cache, which drops them when the mesh changes: a
    moved vertex gives the new areas, not the primed ones."""
    from neurograph.mesh.tables import prime

    v, f = _soup(4)
    mesh = prime(trimesh.Trimesh(v, f, process=False))
    before = mesh.area_faces.copy()
    mesh.vertices[f[0, 0]] += 500.0
    assert not np.array_equal(mesh.area_faces, before)
    assert np.array_equal(mesh.area_faces, trimesh.Trimesh(mesh.vertices, f, process=False).area_faces)


def test_prime_leaves_a_mesh_without_faces_or_with_bad_indices_alone():
    """Nothing to prime without faces; face indices outside the vertices are not read (the
    kernels do not check them) but left to trimesh, which raises."""
    from neurograph.mesh.tables import prime

    mesh = prime(trimesh.Trimesh(np.zeros((3, 3)), np.empty((0, 3), np.int64), process=False))
    assert len(mesh.area_faces) == 0 and len(mesh.edges_unique) == 0
    for bad in ([[0, 1, 5]], [[0, -1, 2]]):
        mesh = prime(trimesh.Trimesh(np.eye(3), bad, process=False))
        assert "area_faces" not in mesh._cache.cache and "edges_unique" not in mesh._cache.cache
    with pytest.raises(IndexError):  # (numpy reads -1 as the last vertex: trimesh takes that one)
        prime(trimesh.Trimesh(np.eye(3), [[0, 1, 5]], process=False)).area_faces
