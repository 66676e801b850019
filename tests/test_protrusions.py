"""Twigs from surface protrusions the wavefront passes by (neurograph.skeleton.protrusions)."""

import numpy as np
import pytest
import trimesh

import neurograph as ng
from neurograph.skeleton import skeletonize
from neurograph.skeleton.protrusions import local_radius
from neurograph.synthetic import make_neuron


def _tube(radius=300.0, length=8000.0, sections=8, edge=1000.0, flatten=1.0, spike=None):
    """A closed tube along z (nm), optionally flattened along x: rings of ``sections`` vertices
    every ``edge`` nm (successive rings turned by half a section), a fan on each end. With
    ``spike = (z, out, forward)`` one side vertex is pulled out by ``out`` nm (and ``forward``
    along z): a short twig standing out of a coarse mesh. Built here, not by trimesh, so that
    the mesh does not change with trimesh's version."""
    n_rings = int(np.ceil(length / edge)) + 1
    z = np.linspace(-length / 2, length / 2, n_rings)
    angle = 2 * np.pi * (np.arange(sections)[None, :] + 0.5 * (np.arange(n_rings)[:, None] % 2)) / sections
    ring = np.stack([radius * flatten * np.cos(angle), radius * np.sin(angle),
                     np.broadcast_to(z[:, None], angle.shape)], axis=-1).reshape(-1, 3)
    v = np.vstack([ring, [[0.0, 0.0, z[0]], [0.0, 0.0, z[-1]]]])
    i = np.arange(sections)
    faces = []
    for r in range(n_rings - 1):
        a, b = r * sections + i, (r + 1) * sections + i
        a1, b1 = r * sections + (i + 1) % sections, (r + 1) * sections + (i + 1) % sections
        if r % 2 == 0:  # ring r+1 is turned half a section forward
            faces += [np.column_stack([a, a1, b]), np.column_stack([a1, b1, b])]
        else:
            faces += [np.column_stack([a, b1, b]), np.column_stack([a, a1, b1])]
    first, last = len(ring), len(ring) + 1
    faces += [np.column_stack([np.full(sections, first), (i + 1) % sections, i]),
              np.column_stack([np.full(sections, last), (n_rings - 1) * sections + i,
                               (n_rings - 1) * sections + (i + 1) % sections])]
    faces = np.vstack(faces)
    tip = None
    if spike is not None:
        side = np.arange(len(ring))[np.abs(ring[:, 2]) < length / 2 - 1]
        tip = side[np.argmin(np.linalg.norm(v[side] - [radius * flatten, 0.0, spike[0]], axis=1))]
        v[tip] += [spike[1], 0.0, spike[2]]
    mesh = trimesh.Trimesh(v, faces, process=False)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    return mesh, tip


def _leaves(sk):
    return np.flatnonzero(sk.children_count() == 0)


@pytest.mark.parametrize("forward", [0.0, 600.0])
def test_a_bump_the_level_sets_pass_by_becomes_a_twig(forward):
    mesh, tip = _tube(length=12000.0, spike=(0.0, 900.0, forward))
    plain = skeletonize(mesh)
    grown = skeletonize(mesh, protrusion_ratio=2.0)
    assert len(_leaves(plain)) == 1  # the wavefront made no branch for it
    leaves = _leaves(grown)
    assert len(leaves) == 2
    new = leaves[np.argmax(np.linalg.norm(grown.vertices[leaves, :2], axis=1))]
    assert np.linalg.norm(grown.vertices[new] - mesh.vertices[tip]) < 1.0  # ends at the bump's tip
    assert grown.vertex_map[tip] == new
    # The twig is counted from the ring it leaves. On a coarse mesh the bump's long edges pull
    # the centroids of the rings they cross towards it (here by up to ~1/4 of its height),
    # so the twig is somewhat shorter than the tip's distance from the tube's axis.
    twig = np.linalg.norm(grown.vertices[new] - grown.vertices[grown.parent[new]])
    assert 0.75 * 1200.0 <= twig <= 1.25 * np.hypot(1200.0, 300.0 + forward)
    gain = grown.cable_length - plain.cable_length
    assert 0.75 * 1200.0 <= gain <= 1.25 * np.hypot(1200.0, 300.0 + forward)
    assert np.isfinite(grown.radius[new])


@pytest.mark.parametrize("kw", [dict(), dict(sections=24, edge=250.0), dict(flatten=2.0), dict(flatten=3.0),
                                dict(flatten=2.0, sections=24, edge=250.0), dict(flatten=3.0, sections=24, edge=250.0)])
def test_no_twig_on_a_plain_or_flattened_tube(kw):
    """Elliptic cross-sections (up to 3:1) and the rims of blunt cut ends are not protrusions."""
    mesh, _ = _tube(**kw)
    plain = skeletonize(mesh)
    grown = skeletonize(mesh, protrusion_ratio=2.0)
    assert grown.n_nodes == plain.n_nodes
    assert grown.cable_length == pytest.approx(plain.cable_length)


def test_local_radius_is_the_largest_of_the_neighbours():
    sk = ng.Skeleton(np.zeros((4, 3)), np.array([-1, 0, 1, 1]), np.array([1.0, 2.0, np.nan, 6.0]))
    # each node's radius is first the median over itself and its neighbours, then the largest
    # of those over the node and its neighbours
    assert local_radius(sk).tolist() == [1.5, 4.0, 1.5, 4.0]


def test_local_radius_ignores_one_ring_widened_by_a_twig():
    """A ring crossed by a protrusion's long edges looks as wide as the twig is tall (9 here);
    the tube's radius around it is still that of its neighbours."""
    chain = ng.Skeleton(np.zeros((5, 3)), np.array([-1, 0, 1, 2, 3]), np.array([3.0, 3.0, 9.0, 3.0, 3.0]))
    assert local_radius(chain).tolist() == [3.0] * 5
    tip = ng.Skeleton(np.zeros((3, 3)), np.array([-1, 0, 1]), np.array([3.0, 3.0, 0.5]))
    assert local_radius(tip).tolist()[2] >= 1.75  # a tip's small cap radius is not the tube's


def test_extract_turns_it_on_without_spines_and_records_it():
    cell = make_neuron(0, "unipolar")
    fly = ng.extract(cell.mesh, dataset="flywire")
    assert fly.settings["protrusion_ratio"] == 2.0
    off = ng.extract(cell.mesh, dataset="flywire", protrusion_ratio=0)
    assert off.settings["protrusion_ratio"] == 0
    # a clean synthetic mesh has no protrusion: the same skeleton, the cable true within 1.5 %
    assert fly.skeleton.n_nodes == off.skeleton.n_nodes
    assert fly.skeleton.cable_length / 1e3 == pytest.approx(cell.total_length, rel=0.015)
    assert ng.extract(cell.mesh, voxel_size=1, spines=True).settings["protrusion_ratio"] == 0
