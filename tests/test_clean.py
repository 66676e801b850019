"""Mesh cleanup (neurograph.mesh.clean) against trimesh's processing, and its grouping."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from neurograph.mesh import clean as clean_module
from neurograph.mesh.clean import clean, first_occurrence_groups


def _trimesh_clean(vertices, faces):
    """What repair did before (trimesh's caches): the reference."""
    mesh = trimesh.Trimesh(vertices, faces, process=True)
    keep = mesh.nondegenerate_faces(height=1e-8) & mesh.unique_faces()
    if not keep.all():
        mesh.update_faces(keep)
        mesh.remove_unreferenced_vertices()
    return np.asarray(mesh.vertices), np.asarray(mesh.faces)


def _dirty_mesh(seed: int, offset: float = 0.0):
    """An icosphere in nm with duplicated vertices (exact, and within 1e-9 nm), repeated and
    reversed faces, collapsed and collinear faces and unreferenced vertices."""
    rng = np.random.default_rng(seed)
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=5000.0)
    v = np.asarray(sphere.vertices) + offset
    f = np.asarray(sphere.faces)
    n = len(v)
    dup = rng.choice(n, 60, replace=False)
    extra = v[dup] + rng.choice([0.0, 1e-9], size=(60, 1))  # equal to 1e-8 nm: merged
    v = np.vstack([v, extra, rng.normal(0, 1e4, (5, 3))])  # 5 unreferenced vertices
    f = f.copy()
    moved = rng.choice(len(f), 60, replace=False)
    f[moved, rng.integers(0, 3, 60)] = n + np.arange(60)  # faces now on the duplicated copies
    i, j = sorted(rng.choice(n, 2, replace=False))
    mid = len(v)
    v = np.vstack([v, (v[i] + v[j]) / 2])
    bad = np.array([[i, i, j], [i, j, mid]])  # a collapsed and a collinear face
    f = np.vstack([f, f[rng.choice(len(f), 30)], f[rng.choice(len(f), 20)][:, ::-1], bad])
    order = rng.permutation(len(f))
    return v, f[order]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("offset", [0.0, 3e5])
def test_clean_matches_trimesh_bit_for_bit(seed, offset):
    v, f = _dirty_mesh(seed, offset)
    ref_v, ref_f = _trimesh_clean(v, f)
    got_v, got_f, kept = clean(v, f)
    assert kept.sum() == len(got_f) and not kept.all()
    assert len(ref_f) < len(f) and len(ref_v) < len(v)  # there was something to clean
    assert np.array_equal(got_v, ref_v) and np.array_equal(got_f, ref_f)
    # invariants: no repeated vertex, no degenerate or repeated face, every vertex used
    assert len(np.unique(np.round(got_v * 1e8), axis=0)) == len(got_v)
    assert (got_f[:, 0] != got_f[:, 1]).all() and (got_f[:, 1] != got_f[:, 2]).all()
    assert len(np.unique(np.sort(got_f, axis=1), axis=0)) == len(got_f)
    assert np.array_equal(np.unique(got_f), np.arange(len(got_v)))


@pytest.mark.parametrize("scale", [1, 2 ** 40])  # small values; values wider than 32 bits
def test_groups_match_numpy_unique(scale):
    rng = np.random.default_rng(5)
    for _ in range(50):
        rows = rng.integers(0, 4, (int(rng.integers(1, 200)), 3)).astype(np.int64) * scale
        first, inverse = first_occurrence_groups(rows)
        _, index = np.unique(rows, axis=0, return_index=True)
        assert np.array_equal(first, np.sort(index))
        assert np.array_equal(rows[first][inverse], rows)


def test_groups_survive_hash_collisions(monkeypatch):
    # every row hashed to the same slot: the full comparison keeps the groups apart (linear probing)
    monkeypatch.setattr(clean_module, "HASH_PRIMES", np.zeros(3, np.uint64))
    rng = np.random.default_rng(6)
    rows = rng.integers(0, 4, (300, 3)).astype(np.int64) * 2 ** 40
    first, inverse = first_occurrence_groups(rows)
    _, index = np.unique(rows, axis=0, return_index=True)
    assert np.array_equal(first, np.sort(index))
    assert np.array_equal(rows[first][inverse], rows)


def test_edge_pairing_precheck_agrees_with_manifold3d():
    """The floor skips manifold3d when directed edges cannot pair up; it must never skip a mesh
    manifold3d would take (closed, consistently oriented), and must reject open or flipped ones."""
    import manifold3d

    from neurograph.mesh.resolution import _edges_pair_up

    sphere = trimesh.creation.icosphere(subdivisions=3)
    torus = trimesh.creation.torus(1.0, 0.3)
    f = np.asarray(sphere.faces)
    cases = {"sphere": (sphere.vertices, f, True), "torus": (torus.vertices, torus.faces, True),
             "hole": (sphere.vertices, f[1:], False), "flipped": (sphere.vertices, np.vstack([f[:1, ::-1], f[1:]]), False),
             "doubled": (sphere.vertices, np.vstack([f, f[:1]]), False)}
    for name, (v, faces, closed) in cases.items():
        solid = manifold3d.Manifold(manifold3d.Mesh(vert_properties=np.asarray(v, np.float32),
                                                    tri_verts=np.asarray(faces, np.uint32)))
        takes = solid.status() == manifold3d.Error.NoError and not solid.is_empty()
        assert takes == closed, name
        assert _edges_pair_up(np.asarray(faces)) == closed, name


@pytest.mark.parametrize("seed", range(4))
def test_first_faces_is_the_first_of_each_sorted_triple(seed):
    """The counting-sort face grouping flags exactly the first face on each vertex set, in any
    corner order; the vertex shared by many faces (a fan of 40, the sorted path) included."""
    from neurograph.mesh.clean import first_faces

    rng = np.random.default_rng(seed)
    faces = rng.integers(0, 12, size=(400, 3))  # few vertices: many repeats, in shuffled corner orders
    fan = np.column_stack([np.zeros(40, np.int64), rng.integers(1, 6, 40), rng.integers(6, 9, 40)])
    faces = np.vstack([faces, fan, faces[:50, ::-1]])
    faces = faces[rng.permutation(len(faces))]
    _, first = np.unique(np.sort(faces, axis=1), axis=0, return_index=True)
    want = np.zeros(len(faces), bool)
    want[first] = True
    np.testing.assert_array_equal(first_faces(faces), want)
    assert first_faces(np.empty((0, 3), np.int64)).shape == (0,)
