"""Scale: results that do not depend on tessellation, and opt-in decimation."""

import numpy as np
import pytest
import trimesh

import neurograph as ng
from neurograph import synthetic
from neurograph.errors import InputError


@pytest.fixture(scope="module")
def bipolar():
    return synthetic.make_neuron(1, "bipolar")


def test_decimate_keeps_the_tree(bipolar):
    full = ng.extract(bipolar.mesh, voxel_size=1, spines=False)
    for decimate in (0.3, len(bipolar.mesh.faces) // 3):
        small = ng.extract(bipolar.mesh, voxel_size=1, spines=False, decimate=decimate)
        kept = small.repair_report["faces_decimated"] / len(bipolar.mesh.faces)
        assert 0.28 < kept < 0.36
        assert len(small.branches) == len(full.branches) == len(bipolar.branches)
        assert abs(small.branches.length.sum() / full.branches.length.sum() - 1) < 0.03


@pytest.mark.parametrize("bad", [0, -3, 1.5, "half", True])
def test_bad_decimate_is_a_clear_error(bipolar, bad):
    with pytest.raises(InputError, match="decimate"):
        ng.extract(bipolar.mesh, voxel_size=1, spines=False, decimate=bad)


def _subdivided(mesh: trimesh.Trimesh, times: int) -> trimesh.Trimesh:
    v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    for _ in range(times):
        v, f = trimesh.remesh.subdivide(v, f)
    return trimesh.Trimesh(v, f, process=False, metadata={"units": mesh.units})


@pytest.fixture(scope="module")
def tessellations():
    """One spiny dendrite at 1x, 4x and 16x the faces (midpoint subdivision: same surface)."""
    cell = synthetic.make_neuron(100, "fragment", spines_per_um=0.5)
    out = []
    for k in range(3):
        n = ng.extract(_subdivided(cell.mesh, k))
        out.append((len(n.branches), n.branches.length.sum(), len(n.spines)))
    return cell, out


def test_tree_does_not_depend_on_tessellation(tessellations):
    cell, out = tessellations
    (b1, c1, _), rest = out[0], out[1:]
    assert b1 == len(cell.branches)
    for b, c, _ in rest:
        assert abs(b / b1 - 1) <= 0.05
        assert abs(c / c1 - 1) <= 0.03


@pytest.mark.xfail(strict=True, reason="known defect (issue 13): finer tessellation adds false spines on the shaft "
                   "(here 26 / 32 / 28 spines at 1x / 4x / 16x, truth 24; the extras lie far from true "
                   "spines): the fitted shaft axis scatters more (on spiny fragment seed 2, 90th percentile 94 nm "
                   "off the true axis at 4x vs 50 nm at 1x), so parts of the smooth wall rise above "
                   "the seed threshold")
def test_spine_count_does_not_depend_on_tessellation(tessellations):
    cell, out = tessellations
    s1 = out[0][2]
    assert abs(s1 - len(cell.spines)) <= 0.1 * len(cell.spines)
    for _, _, s in out[1:]:
        assert abs(s / s1 - 1) <= 0.05, [o[2] for o in out]


@pytest.mark.xfail(strict=True, reason="#13: MICrONS branch and spine counts still follow the tessellation "
                   "(184/566 at 1x, 139/803 at 4x); branch issue-13's spine-surface refinement fixes it but breaks "
                   "the synthetic compartment and MICrONS split tests")
def test_microns_does_not_depend_on_tessellation(microns_mesh_path):
    """The real MICrONS mesh (decimated, 250 nm median edge) and the same surface at 4x the
    faces: branches within 5 %, cable within 3 %, spines within 5 %."""
    mesh = ng.load_mesh(microns_mesh_path, voxel_size=1)
    out = []
    for k in range(2):
        n = ng.extract(_subdivided(mesh, k), voxel_size=1)
        out.append((len(n.branches), n.branches.length.sum(), len(n.spines)))
    (b1, c1, s1), (b4, c4, s4) = out
    assert abs(b4 / b1 - 1) <= 0.05, out
    assert abs(c4 / c1 - 1) <= 0.03, out
    assert abs(s4 / s1 - 1) <= 0.05, out
