"""Pictures: projections, dendrogram, 3D HTML and the QC figure, on a synthetic neuron."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402

import neurograph as ng  # noqa: E402
from neurograph import plot, synthetic  # noqa: E402


@pytest.fixture(scope="module")
def neuron():
    return ng.extract(synthetic.make_neuron(1, "bipolar").mesh, name="bipolar_1")


@pytest.mark.parametrize("view", ["xy", "xz", "yz", "pca", (1.0, 1.0, 0.0)])
def test_projection_draws_every_face(neuron, view):
    fig = plot.plot_neuron(neuron, view=view, raster=False)
    polys = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    assert len(polys) == 1 and len(polys[0].get_paths()) == len(neuron.mesh.faces)
    assert "µm" in fig.axes[0].get_xlabel()


def test_pca_view_does_not_depend_on_orientation(neuron):
    """The same neuron rotated looks the same in the PCA view (up to axis flips)."""
    rot = ng.synthetic.Rotation.from_euler("xyz", [30, 60, 10], degrees=True).as_matrix()
    basis, _ = plot.view_basis(neuron, "pca")
    a = (neuron.skeleton.vertices - neuron.skeleton.vertices.mean(0)) @ basis
    turned = neuron.skeleton.vertices @ rot.T

    class Turned:
        skeleton = type("S", (), {"vertices": turned})()

    b = (turned - turned.mean(0)) @ plot.view_basis(Turned, "pca")[0]
    assert np.allclose(np.abs(a), np.abs(b), atol=1e-6)


def test_numeric_colouring_spreads_colours(neuron):
    colors, legend = plot.node_colors(neuron, "width_median")
    assert legend["vmax"] > legend["vmin"]
    branch_colors = colors[neuron.branches.index]
    assert len(np.unique(branch_colors.round(3), axis=0)) > 3


def test_skeleton_only_plot(neuron):
    fig = plot.plot_neuron(neuron, mesh=False)
    lines = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    assert sum(len(seg) - 1 for seg in lines[0].get_segments()) == int((neuron.skeleton.parent >= 0).sum())


def test_bad_colour_or_view_is_a_clear_error(neuron):
    with pytest.raises(ng.InputError, match="cannot colour by"):
        plot.plot_neuron(neuron, color_by="no_such_column")
    with pytest.raises(ng.InputError, match="unknown view"):
        plot.plot_neuron(neuron, view="sideways")


def test_dendrogram_layout_follows_path_lengths(neuron):
    layout = plot.dendrogram_layout(neuron)
    br = neuron.branches
    assert set(layout) == set(br.index)
    for b, (x0, x1, _) in layout.items():
        assert np.isclose(x1 - x0, br.at[b, "length"])
        p = br.at[b, "parent"]
        if p in layout:  # a child starts where its parent ends
            assert np.isclose(x0, layout[p][1], atol=0.5)
    leaves = [layout[b][2] for b in layout if neuron.graph.out_degree(b) == 0]
    assert len(set(leaves)) == len(leaves)  # one row per leaf
    assert plot.plot_dendrogram(neuron).axes


def test_html_and_qc_files(neuron, tmp_path):
    fig = plot.plot_3d(neuron, path=tmp_path / "n.html")
    assert len(fig.data[0].i) == len(neuron.mesh.faces)
    text = (tmp_path / "n.html").read_text()
    assert "plotly" in text and len(text) > 1_000_000  # plotly.js embedded: opens offline
    plot.qc_figure(neuron, tmp_path / "qc.png")
    assert (tmp_path / "qc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_skeleton_lines_hold_every_edge_once_in_chains_of_one_branch(neuron):
    """The skeleton is drawn as one polyline per unbranched stretch (not one path per edge):
    together they must hold each edge exactly once, each a parent-child chain of one branch."""
    from neurograph.plot.projection import unbranched_lines

    sk = neuron.skeleton
    lines, branch = unbranched_lines(sk.parent, neuron.node_branch)
    assert len(lines) == len(branch)
    edges = []
    for line, b in zip(lines, branch):
        assert len(line) >= 2 and (sk.parent[line[1:]] == line[:-1]).all()  # a chain, parent first
        assert (neuron.node_branch[line[1:]] == b).all()
        edges += list(zip(line[1:], line[:-1]))
    expected = {(c, sk.parent[c]) for c in np.flatnonzero(sk.parent >= 0)}
    assert len(edges) == len(expected) and set(edges) == expected
    assert len(lines) < 0.5 * len(expected)  # stretches, not edges
