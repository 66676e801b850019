"""Spine head and neck widths from exact cross-sections (neurograph.spines.sections): known shapes,
invariances, incomplete sections, and the widths of extracted synthetic spines against their truth."""

import numpy as np
import pytest
import trimesh

from neurograph.spines.geometry import head_and_neck_width
from neurograph.spines.sections import spine_widths


def _mushroom(neck_r=70.0, head_r=220.0, neck_len=800.0, sections=48):
    """A spine as a surface of revolution about z: a neck tube of radius ``neck_r`` from the
    foot (z = 0, open: it meets the shaft there) to a spherical head of radius ``head_r``;
    returns the mesh, base and tip (nm)."""
    centre = neck_len + 0.9 * head_r
    phi0 = np.arcsin(neck_r / head_r)
    phi = np.linspace(phi0, np.pi, 25)
    neck = np.column_stack([np.full(9, neck_r), np.linspace(0, centre - head_r * np.cos(phi0), 10)[:-1]])
    head = np.column_stack([head_r * np.sin(phi), centre - head_r * np.cos(phi)])
    head[-1, 0] = 0.0
    mesh = trimesh.creation.revolve(np.vstack([neck, head]), sections=sections)
    return mesh, np.zeros(3), np.array([0.0, 0.0, centre + head_r])


def _polygon(r, sections):
    """Twice the apothem of a regular polygon of circumradius ``r``: the least width a section of
    the tube can read (its segments' midpoints lie between the apothem and the corners)."""
    return 2 * r * np.cos(np.pi / sections)


@pytest.mark.parametrize("sections", [12, 48])
def test_widths_of_a_known_mushroom_spine(sections):
    """Neck: the tube's polygon; head: within the slice spacing of the sphere's equator."""
    mesh, base, tip = _mushroom(sections=sections)
    head, neck = head_and_neck_width(mesh.triangles, base, tip)
    assert _polygon(70.0, sections) <= neck <= 140.0
    assert _polygon(220.0, sections) * 0.97 <= head <= 440.0


def test_widths_do_not_depend_on_position_orientation_or_tessellation():
    mesh, base, tip = _mushroom()
    head, neck = head_and_neck_width(mesh.triangles, base, tip)
    rng = np.random.default_rng(0)
    for _ in range(5):
        rot = trimesh.transformations.random_rotation_matrix(rng.random(3))
        rot[:3, 3] = rng.normal(size=3) * 1e6  # far from the origin, as in a connectome
        moved = mesh.copy().apply_transform(rot)
        b, t = trimesh.transform_points(np.vstack([base, tip]), rot)
        np.testing.assert_allclose(head_and_neck_width(moved.triangles, b, t), (head, neck), rtol=1e-6)
    fine = mesh.subdivide().subdivide()  # 16x the faces, the same surface
    np.testing.assert_allclose(head_and_neck_width(fine.triangles, base, tip), (head, neck), rtol=0.02)


def test_an_oblique_foot_does_not_make_the_neck_narrow():
    """Near the foot the spine's faces cover only one side of the tube (it leaves the shaft at a
    slant): those sections are arcs, not cross-sections, and do not count."""
    mesh, base, tip = _mushroom()
    c = mesh.triangles_center
    keep = ~((c[:, 2] < 300.0) & (c[:, 0] > 0))
    head, neck = head_and_neck_width(mesh.triangles[keep], base, tip)
    assert (head, neck) == pytest.approx(head_and_neck_width(mesh.triangles, base, tip), rel=1e-4)
    assert _polygon(70.0, 48) <= neck <= 140.0


def test_a_spine_without_a_complete_section_has_no_widths():
    mesh, base, tip = _mushroom()
    assert np.isnan(head_and_neck_width(mesh.triangles[:2], base, tip)).all()  # two triangles
    half = mesh.triangles[mesh.triangles_center[:, 0] > 0]  # one side only: every section an arc
    assert np.isnan(head_and_neck_width(half, base, tip)).all()
    assert np.isnan(head_and_neck_width(mesh.triangles, base, base)).all()  # no length
    assert np.isnan(head_and_neck_width(np.zeros((0, 3, 3)), base, tip)).all()  # no faces


def test_spines_measured_together_get_what_each_gets_alone():
    shapes = [_mushroom(neck_r=r, head_r=h, neck_len=n, sections=s)
              for r, h, n, s in [(60, 200, 600, 16), (90, 300, 900, 24), (200, 250, 300, 32), (50, 150, 1200, 12)]]
    rng = np.random.default_rng(1)
    meshes, bases, tips = [], [], []
    for mesh, base, tip in shapes:
        rot = trimesh.transformations.random_rotation_matrix(rng.random(3))
        rot[:3, 3] = rng.normal(size=3) * 1e4
        meshes.append(mesh.copy().apply_transform(rot))
        b, t = trimesh.transform_points(np.vstack([base, tip]), rot)
        bases.append(b)
        tips.append(t)
    alone = np.array([head_and_neck_width(m.triangles, b, t) for m, b, t in zip(meshes, bases, tips)])
    verts = np.vstack([m.vertices for m in meshes])
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes])[:-1]
    faces = np.vstack([m.faces + o for m, o in zip(meshes, offsets)]).astype(np.int64)
    f_ptr = np.cumsum([0] + [len(m.faces) for m in meshes]).astype(np.int64)
    f_ids = np.arange(len(faces), dtype=np.int64)
    bases, tips = np.array(bases), np.array(tips)
    for labels in (np.arange(4), np.array([3, 1, 0, 2]), np.array([2])):
        head, neck = spine_widths(verts, faces, f_ptr, f_ids, labels, bases[labels], tips[labels], 12)
        np.testing.assert_allclose(np.column_stack([head, neck]), alone[labels], rtol=1e-12)
    assert np.isfinite(alone).all() and len(np.unique(alone[:, 1].round(3))) == 4


def test_extracted_spine_widths_match_the_synthetic_truth():
    """Spines detected on a synthetic dendrite against the radii they were built with: the median
    width is within the tessellation's shrinkage (a neck of 8-12 sides reads 0.92-0.97 of its
    diameter, and the resolution floor coarsens it further) and ranks the spines as the truth does."""
    import neurograph as ng
    from neurograph.spines.geometry import match_points

    cell = ng.synthetic.make_neuron(0, "fragment", spines_per_um=1.0)
    spines = ng.extract(cell.mesh, voxel_size=1, spines=True).spines
    xyz = ["base_x", "base_y", "base_z"]
    pairs = match_points(spines[xyz].to_numpy(), cell.spines[xyz].to_numpy(), 500.0)
    assert len(pairs) >= 0.95 * len(cell.spines)
    found, truth = spines.iloc[pairs[:, 0]], cell.spines.iloc[pairs[:, 1]]
    head = found.head_width.to_numpy() / (2 * truth.head_radius.to_numpy())
    necked = (truth.kind != "stubby").to_numpy()
    neck = found.neck_width.to_numpy()[necked] / (2 * truth.neck_radius.to_numpy()[necked])
    assert 0.90 <= np.nanmedian(head) <= 1.0 and 0.85 <= np.nanmedian(neck) <= 1.0
    assert np.isnan(head).mean() < 0.02 and np.isnan(neck).mean() < 0.02
    from scipy.stats import spearmanr

    ok = np.isfinite(found.neck_width.to_numpy())
    assert spearmanr(found.neck_width.to_numpy()[ok], truth.neck_radius.to_numpy()[ok]).statistic > 0.9
