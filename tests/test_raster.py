"""The mesh drawn as one image (neurograph.plot.raster): depth order, thin neurites, full coverage."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import trimesh  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

import neurograph as ng  # noqa: E402
from neurograph import plot  # noqa: E402
from neurograph.plot.raster import EDGE_ON_SHADE, face_image  # noqa: E402

XY = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])  # looking down z: larger z is nearer


def square(x0: float, y0: float, size: float, z: float) -> tuple[np.ndarray, np.ndarray]:
    v = np.array([[x0, y0, z], [x0 + size, y0, z], [x0 + size, y0 + size, z], [x0, y0 + size, z]])
    return v, np.array([[0, 1, 2], [0, 2, 3]])


def test_the_face_nearest_the_viewer_is_drawn():
    (va, fa), (vb, fb) = square(0, 0, 10, 0.0), square(5, 5, 10, 1.0)
    v, f = np.vstack([va, vb]), np.vstack([fa, fb + 4])
    face, _ = face_image(v, f, XY, 60, 60, (0, 15, 0, 15))
    overlap = face[24:36, 24:36]  # x, y in (6, 9): under both squares
    assert (overlap >= 2).all()  # the z=1 square (faces 2, 3)
    below = XY * np.array([[1.0], [-1.0], [1.0]])  # screen y = -y: the viewer now looks up z
    face, _ = face_image(v, f, below, 60, 60, (0, 15, -15, 0))
    assert (face[24:36, 24:36] <= 1).all() and (face[24:36, 24:36] >= 0).all()
    assert (face[:20, :20] == -1).all()  # x < 5, y > 10: empty


@pytest.mark.parametrize("seed", range(3))
def test_every_face_of_a_tiling_shows_and_the_tiling_is_covered(seed):
    """A flat grid of faces larger than a pixel, in random order: every face is seen, the
    square is covered without holes, and nothing is drawn outside it."""
    rng = np.random.default_rng(seed)
    n = 12
    g = np.stack(np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij"), -1).reshape(-1, 2) * 1.0
    g[(g > 0).all(1) & (g < n).all(1)] += rng.uniform(-0.2, 0.2, (((g > 0) & (g < n)).all(1).sum(), 2))
    idx = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    quads = np.stack([idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]], -1).reshape(-1, 4)
    f = np.vstack([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])[rng.permutation(2 * n * n)]
    v = np.column_stack([g, np.zeros(len(g))])
    face, shade = face_image(v, f, XY, 8 * n, 8 * n, (0, n, 0, n))
    assert set(np.unique(face)) == set(range(len(f)))  # every face, no background inside
    assert np.allclose(shade, 1.0)  # all face the viewer squarely
    face, _ = face_image(v, f, XY, 10 * n, 10 * n, (-1, n + 1, -1, n + 1))
    assert (face[:9, :] == -1).all() and (face[-9:, :] == -1).all()  # outside the square: empty


def test_a_neurite_thinner_than_a_pixel_shows_as_an_unbroken_line():
    """A 100 nm-wide tube, 100 µm long, at 0.5 µm per pixel: its faces hold no pixel centre,
    yet every pixel column along it is drawn (a neurite must not vanish from a picture)."""
    tube = trimesh.creation.cylinder(radius=0.05, height=100.0, sections=8)
    tube.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0]))  # along x
    tube.apply_transform(trimesh.transformations.rotation_matrix(0.3, [0, 0, 1]))  # not on a pixel row
    lo, hi = tube.bounds[:, :2]
    width, height = int(np.ceil((hi - lo)[0] / 0.5)) + 2, int(np.ceil((hi - lo)[1] / 0.5)) + 2
    face, shade = face_image(tube.vertices, tube.faces, XY, width, height,
                             (lo[0] - 0.5, lo[0] - 0.5 + width * 0.5, lo[1] - 0.5, lo[1] - 0.5 + height * 0.5))
    drawn = face >= 0
    assert drawn[:, 1:-1].any(axis=0).all()  # every column along the tube
    assert drawn.sum() < 3 * width  # a line, not a smear
    assert shade.min() >= EDGE_ON_SHADE - 1e-12 and shade.max() <= 1.0


@pytest.fixture(scope="module")
def neuron():
    return ng.extract(ng.synthetic.make_neuron(1, "bipolar").mesh, name="bipolar_1")


def test_projection_is_one_image_in_branch_colours(neuron):
    fig = plot.plot_neuron(neuron, "xy")
    images = [a for a in fig.axes[0].get_children() if isinstance(a, AxesImage)]
    assert len(images) == 1
    rgba = images[0].rasterise()
    seen = rgba[..., 3] > 0
    colors, _ = plot.node_colors(neuron, "branch")
    # each drawn pixel is a branch colour dimmed by its shade: its hue matches one of them
    pix = rgba[seen][:, :3].astype(float) / 255
    ref = colors[np.unique(neuron.face_branch), :3]
    unit = lambda c: c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-9)  # noqa: E731
    best = (unit(pix) @ unit(ref).T).max(axis=1)
    assert np.quantile(best, 0.99) > 0.999
    x0, y0, x1, y1 = fig.axes[0].dataLim.extents
    uv = neuron.mesh.vertices[:, :2] / 1e3  # the image's data limits hold the whole mesh
    assert x0 <= uv[:, 0].min() and x1 >= uv[:, 0].max() and y0 <= uv[:, 1].min() and y1 >= uv[:, 1].max()
    plt.close(fig)


def test_the_image_is_made_again_for_a_zoomed_view_at_screen_resolution(neuron):
    """After zooming in, the image covers the new view with as many pixels as before: sharp,
    not the whole neuron's image enlarged."""
    fig = plot.plot_neuron(neuron, "xy")
    ax = fig.axes[0]
    (image,) = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    fig.canvas.draw()
    whole = np.asarray(image.get_array()).copy()
    soma = neuron.somas[0].center[:2] / 1e3
    ax.set_xlim(soma[0] - 10, soma[0] + 10)
    ax.set_ylim(soma[1] - 10, soma[1] + 10)
    fig.canvas.draw()
    zoomed = np.asarray(image.get_array())
    assert np.allclose(image.view, (soma[0] - 10, soma[0] + 10, soma[1] - 10, soma[1] + 10))
    box = ax.bbox
    assert abs(zoomed.shape[1] - 2 * box.width) <= 2 and abs(zoomed.shape[0] - 2 * box.height) <= 2
    assert (zoomed[..., 3] > 0).mean() > 0.2  # the soma fills much of the view
    assert zoomed.shape[1] > 0.5 * whole.shape[1]  # not a crop of the whole-neuron image
    before = id(image.get_array())
    image.rasterise()  # the same view again: not made twice
    assert id(image.get_array()) == before
    ax.set_xlim(1e6, 1e6 + 1)  # nothing in view: nothing drawn, no error
    fig.canvas.draw()
    plt.close(fig)


def test_split_picture_draws_each_part_in_its_colour(neuron):
    from matplotlib.colors import to_rgba

    other = ng.extract(ng.synthetic.make_neuron(2, "bipolar").mesh, name="bipolar_2")
    fig = plot.plot_split([neuron, other])
    (image,) = [a for a in fig.axes[0].get_children() if isinstance(a, AxesImage)]
    rgba = image.rasterise()
    pix = rgba[rgba[..., 3] > 0][:, :3].astype(float) / 255
    for color in ("tab:blue", "tab:orange"):
        ref = np.array(to_rgba(color)[:3])
        cos = pix @ ref / np.maximum(np.linalg.norm(pix, axis=1) * np.linalg.norm(ref), 1e-9)
        assert (cos > 0.999).sum() > 100
    plt.close(fig)


def test_faces_with_nan_vertices_are_left_out_and_nothing_breaks():
    fig, ax = plt.subplots()
    (va, fa), (vb, fb) = square(0, 0, 10, 0.0), square(20, 0, 10, 0.0)
    v, f = np.vstack([va, vb]), np.vstack([fa, fb + 4])
    v[4] = np.nan  # the vertex both faces of the second square share
    image = plot.raster.draw_mesh(ax, v, f, np.tile([0.0, 0.0, 1.0], (4, 1)), XY)
    ax.set_xlim(-1, 31)
    ax.set_ylim(-1, 11)
    rgba = image.rasterise()
    x0, x1, y0, y1 = image.view
    assert x1 >= 30 - 1e-9 and x0 <= 0 and np.isfinite([x0, x1, y0, y1]).all()
    cols = (rgba[..., 3] > 0).any(axis=0)
    left = int(10 / (x1 - x0) * rgba.shape[1])
    assert cols[2:left - 2].all() and not cols[left + 5:].any()  # the first square only (a margin pixel first)
    v[:] = np.nan
    assert plot.raster.draw_mesh(ax, v, f, np.ones((4, 3)), XY) is None
    plt.close(fig)


def test_a_face_reaching_far_outside_the_image_is_clipped():
    """A sliver 2e11 units long across a 10-unit image: drawn across it (its edges are clipped
    to the image before they are walked; walking 2e12 pixel steps would not end)."""
    v = np.array([[-1e11, 5.0, 0.0], [1e11, 5.0, 0.0], [1e11, 5.01, 0.0]])
    face, _ = face_image(v, np.array([[0, 1, 2]]), XY, 100, 100, (0, 10, 0, 10))
    rows = np.flatnonzero((face == 0).any(axis=1))
    assert (face == 0).any(axis=0).all() and set(rows) <= {49, 50, 51}


def test_numeric_colouring_is_not_shaded(neuron):
    """On a colour map the lightness is the value: every drawn pixel of a mesh coloured by a
    numeric column is exactly its branch's colour map colour."""
    fig = plot.plot_neuron(neuron, "xy", "width_median")
    (image,) = [a for a in fig.axes[0].get_children() if isinstance(a, AxesImage)]
    rgba = image.rasterise()
    colors, legend = plot.node_colors(neuron, "width_median")
    assert "cmap" in legend
    drawn = np.unique(rgba[rgba[..., 3] > 0][:, :3], axis=0).astype(int)
    palette = np.rint(255 * colors[np.unique(neuron.face_branch), :3]).astype(int)
    assert {tuple(c) for c in drawn} <= {tuple(c) for c in palette}
    plt.close(fig)


def test_depth_is_interpolated_across_a_face():
    """A large face tilted in depth against a small flat one: at each pixel the nearer of the
    two there is drawn, not the one with the nearer mean depth."""
    big = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 10.0], [10.0, 10.0, 10.0], [0.0, 10.0, 0.0]])  # z = x
    small = np.array([[5.0, 4.0, 7.0], [9.0, 4.0, 7.0], [9.0, 6.0, 7.0], [5.0, 6.0, 7.0]])  # z = 7
    v = np.vstack([big, small])
    f = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    face, _ = face_image(v, f, XY, 100, 100, (0, 10, 0, 10))
    row = face[50]  # y = 5.05
    assert (row[52:68] >= 2).all()  # x in (5.2, 6.8): the small face is nearer (z = 7 > x)
    assert (row[72:88] <= 1).all()  # x in (7.2, 8.8): the tilted face is nearer (z = x > 7)


def test_coordinates_far_beyond_the_image_do_not_overflow():
    """A face with a corner at 1e19 (beyond int64 once in pixels) still covers the view."""
    v = np.array([[-1.0, -1.0, 0.0], [1e19, -1.0, 0.0], [-1.0, 1e19, 0.0]])
    face, _ = face_image(v, np.array([[0, 1, 2]]), XY, 50, 50, (0, 10, 0, 10))
    assert (face == 0).all()


def test_relimits_after_zooming_keep_the_whole_mesh(neuron):
    fig = plot.plot_neuron(neuron, "xy")
    ax = fig.axes[0]
    soma = neuron.somas[0].center[:2] / 1e3
    ax.set_xlim(soma[0] - 5, soma[0] + 5)
    ax.set_ylim(soma[1] - 5, soma[1] + 5)
    fig.canvas.draw()
    ax.relim()
    x0, y0, x1, y1 = ax.dataLim.extents
    uv = neuron.mesh.vertices[:, :2] / 1e3
    assert x0 <= uv[:, 0].min() and x1 >= uv[:, 0].max() and y0 <= uv[:, 1].min() and y1 >= uv[:, 1].max()
    plt.close(fig)


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_vector_output_holds_the_mesh_at_its_dpi_beside_another_image(neuron, fmt):
    """Vector backends merge adjacent images without calling their draw: the mesh must still be
    made, for the view shown, at the file's dpi (72 points per inch times magnification)."""
    import io

    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(np.zeros((5, 5)), cmap="gray", extent=(0, 2000, 0, 2000), zorder=0)  # e.g. an EM section below
    plot.plot_neuron(neuron, "xy", ax=ax)
    (image,) = [a for a in ax.images if isinstance(a, plot.raster.MeshImage)]
    fig.savefig(io.BytesIO(), format=fmt, dpi=300)
    rgba = np.asarray(image.get_array())
    (x0, x1), vx = sorted(ax.get_xlim()), image.view
    inches = ax.bbox.width / fig.dpi  # the Axes' width
    expected = 2 * inches * 300 * (vx[1] - vx[0]) / (x1 - x0)  # at the file's 300 dpi, oversampled twice
    assert abs(rgba.shape[1] - expected) <= 2 and (rgba[..., 3] > 0).sum() > 1000
    plt.close(fig)


def test_without_resampling_the_image_is_still_made_at_the_file_dpi(neuron):
    """interpolation "none" makes vector backends place the image unsampled (magnification 1):
    it must still be made at the file's dpi."""
    import io

    fig, ax = plt.subplots(figsize=(4, 4))
    plot.plot_neuron(neuron, "xy", ax=ax)
    (image,) = [a for a in ax.images if isinstance(a, plot.raster.MeshImage)]
    image.set_interpolation("none")
    fig.savefig(io.BytesIO(), format="pdf", dpi=300)
    (x0, x1), vx = sorted(ax.get_xlim()), image.view
    expected = 2 * ax.bbox.width / fig.dpi * 300 * (vx[1] - vx[0]) / (x1 - x0)
    assert abs(np.asarray(image.get_array()).shape[1] - expected) <= 2
    plt.close(fig)


def test_empty_pixels_take_the_axes_colour_where_alpha_is_dropped(neuron, tmp_path):
    """PostScript has no alpha: the pixels between neurites must show the Axes' colour, not black."""
    fig, ax = plt.subplots(figsize=(4, 4))
    plot.plot_neuron(neuron, "xy", ax=ax)
    fig.savefig(tmp_path / "n.eps", dpi=100)
    text = (tmp_path / "n.eps").read_text(errors="replace")
    start = text.index("false 3 colorimage") + len("false 3 colorimage")
    hexes = "".join(text[start:text.index("grestore", start)].split())
    rgb = np.frombuffer(bytes.fromhex(hexes[: len(hexes) // 6 * 6]), np.uint8).reshape(-1, 3)
    assert (rgb.sum(axis=1) == 0).mean() < 0.05 and (rgb.min(axis=1) == 255).mean() > 0.5  # mostly white
    plt.close(fig)
