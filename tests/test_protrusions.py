"""Twigs from surface protrusions the wavefront passes by (neurograph.skeleton.protrusions)."""

import numpy as np
import pytest
import trimesh

import neurograph as ng
from neurograph.skeleton import skeletonize
from neurograph.skeleton.protrusions import local_radius
from neurograph.synthetic import make_neuron


def _tube(radius=300.0, length=8000.0, sections=8, edge=1000.0, flatten=1.0, spike=None):
    """A tube along z (nm), optionally flattened along x, with one surface vertex pulled out by
    ``spike = (z, out, forward)`` nm: a short twig standing out of a coarse mesh."""
    mesh = trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(
        *(lambda m: (m.vertices, m.faces))(trimesh.creation.cylinder(radius=radius, height=length, sections=sections)),
        max_edge=edge))  # vertices merged
    v = mesh.vertices.copy()
    v[:, 0] *= flatten
    tip = None
    if spike is not None:
        side = np.flatnonzero(np.abs(v[:, 2]) < length / 2 - 1)
        tip = side[np.argmin(np.linalg.norm(v[side] - [radius * flatten, 0.0, spike[0]], axis=1))]
        v[tip] += [spike[1], 0.0, spike[2]]
    return trimesh.Trimesh(v, mesh.faces, process=False), tip


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
    # the twig is counted from the axis: at least the tip's distance from it, not much more
    gain = grown.cable_length - plain.cable_length
    assert 1200.0 <= gain <= 1.25 * np.hypot(1200.0, 300.0 + forward)
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
    assert local_radius(sk).tolist() == [2.0, 6.0, 2.0, 6.0]


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
