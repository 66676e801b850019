"""One definition per quantity: the soma-surface clip of the tree primitives, the summary columns
that are registered features, the address-space cap of the CLI and the batch workers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import neurograph as ng
from neurograph import synthetic
from neurograph.features.context import NeuronContext
from neurograph.features.summary import FROM_REGISTRY, SUMMARY_COLUMNS
from neurograph.features.vector import feature_row
from neurograph.mesh.soma import Soma
from neurograph.skeleton import Skeleton
from neurograph.skeleton.tree import clip_at_spheres, contributing_lengths, path_from_soma
from neurograph.stats import weighted_median


def _radial_skeleton(spacing: float, radius: float = 5000.0, length: float = 21000.0) -> tuple[Skeleton, Soma]:
    """A soma node at the origin and one straight neurite along x with nodes every ``spacing`` nm."""
    x = spacing * np.arange(1, round(length / spacing) + 1)
    vertices = np.vstack([np.zeros(3), np.column_stack([x, np.zeros_like(x), np.zeros_like(x)])])
    parent = np.arange(-1, len(x), dtype=np.int64)
    skeleton = Skeleton(vertices, parent, radius=np.full(len(vertices), 500.0), soma_nodes=np.array([0]))
    return skeleton, Soma(center=np.zeros(3), radius=radius, faces=np.empty(0, np.int64))


@pytest.mark.parametrize("spacing", [300.0, 1000.0, 3500.0, 7000.0])
def test_soma_clip_does_not_depend_on_node_spacing(spacing):
    """The cable outside a 5 µm soma of a 21 µm radial neurite is 16 µm however dense the nodes
    (the branch-table rule, which only shortens the soma's child edge, agrees only when that edge
    leaves the soma); the feature context uses the tree primitive itself."""
    skeleton, soma = _radial_skeleton(spacing)
    exact = contributing_lengths(skeleton, [soma.radius], soma_center=[soma.center])
    assert exact.sum() == pytest.approx(16000.0, rel=1e-12)
    path = path_from_soma(skeleton, [soma.radius], soma_center=[soma.center])
    np.testing.assert_allclose(path[1:], np.maximum(skeleton.vertices[1:, 0] - 5000.0, 0.0), atol=1e-9)
    if spacing >= soma.radius:  # the first edge leaves the soma: the two rules are the same
        np.testing.assert_allclose(contributing_lengths(skeleton, [soma.radius]), exact)
    neuron = ng.decompose(skeleton, [soma], None, name="radial")
    ctx = NeuronContext(neuron)
    np.testing.assert_allclose(ctx.seg_length, exact[ctx.seg])
    np.testing.assert_allclose(ctx.node_path, path)
    np.testing.assert_allclose(np.linalg.norm(ctx.seg_end - ctx.seg_start, axis=1), ctx.seg_length)
    start = skeleton.vertices[skeleton.parent[1:]]
    moved = clip_at_spheres(start, skeleton.vertices[1:], [soma.center], [soma.radius])
    inside = np.linalg.norm(moved, axis=1) < 5000.0 - 1e-9  # only segments wholly inside, now of length 0
    np.testing.assert_array_equal(moved[inside], skeleton.vertices[1:][inside])
    assert (np.linalg.norm(skeleton.vertices[1:][inside], axis=1) < 5000.0).all()
    assert moved is not start and (start[0] == 0).all()  # a copy: the input is not moved


@pytest.fixture(scope="module")
def neurons(navis_data):
    mesh = ng.extract(synthetic.make_neuron(0, "pyramidal").mesh, spines=False, name="pyramidal")
    swc = ng.load_swc(navis_data / "swc" / "1734350788.swc", units="voxel", voxel_size=8)
    return [mesh, swc]


def test_summary_columns_that_are_features_come_from_the_registry(neurons):
    """soma_radius and extent_pc1-3 are the registered features on the neuron as given;
    width_median is the length-weighted median of the branch widths (the old stats function
    and the registry's weighted quantile agree)."""
    for neuron in neurons:
        summary = ng.neuron_summary(neuron).iloc[0]
        assert list(summary.index[: len(SUMMARY_COLUMNS)]) == list(SUMMARY_COLUMNS)
        raw = feature_row(neuron, form="raw", features=FROM_REGISTRY)
        assert set(raw) == {"soma_radius", "extent_pc1", "extent_pc2", "extent_pc3"}
        for column, value in raw.items():
            assert summary[column] == pytest.approx(value, nan_ok=True), column
        assert raw == {c: v for c, v in feature_row(neuron, form="raw").items() if c in raw}
        b = neuron.branches
        assert summary["width_median"] == weighted_median(b["width_median"].to_numpy(float), b["length"].to_numpy(float))
        assert summary["soma_radius"] == pytest.approx(max(s.radius for s in neuron.somas) / 1e3)
    with pytest.raises(ng.InputError, match="unknown feature"):
        feature_row(neurons[0], features=["no_such_feature"])


def test_one_address_space_cap_for_the_cli_and_the_workers():
    """``keep_tighter`` (the CLI) leaves a lower limit set by the caller; a worker sets its own."""
    code = textwrap.dedent("""
        import resource
        from neurograph.batch.limits import limit_address_space
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (2 ** 40, hard))
        assert limit_address_space(2 ** 41, keep_tighter=True) is None
        assert resource.getrlimit(resource.RLIMIT_AS)[0] == 2 ** 40
        assert limit_address_space(2 ** 39, keep_tighter=True) == (2 ** 40, hard)
        assert resource.getrlimit(resource.RLIMIT_AS)[0] == 2 ** 39
        assert limit_address_space(2 ** 41) == (2 ** 39, hard)
        assert resource.getrlimit(resource.RLIMIT_AS)[0] == 2 ** 41
        assert limit_address_space(None) is None and limit_address_space(0) is None
        print("ok")
    """)
    pytest.importorskip("resource")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_feature_columns_keep_one_order_whatever_is_imported_first():
    """The registry's order (the feature-vector columns, what a saved model expects) does not
    depend on which module a process imports first (a batch worker starts from the summary)."""
    orders = set()
    for module in ("neurograph.features.morphology", "neurograph.features.summary", "neurograph.batch.tables",
                   "neurograph"):
        code = (f"import importlib; importlib.import_module({module!r}); "
                "from neurograph.features.registry import FEATURES; print(','.join(FEATURES))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        orders.add(done.stdout.strip())
    assert len(orders) == 1



def test_unmapped_synapses_count_nowhere(navis_data):
    """The registry's synapse densities, like the summary's, count mapped synapses only."""
    import pandas as pd

    neuron = ng.load_swc(navis_data / "swc" / "1734350788.swc", units="voxel", voxel_size=8)
    far = neuron.skeleton.vertices.max(axis=0) + 50_000.0
    near = neuron.skeleton.vertices[len(neuron.skeleton.vertices) // 2]
    table = pd.DataFrame({"x": [far[0]] * 5 + [near[0]], "y": [far[1]] * 5 + [near[1]],
                          "z": [far[2]] * 5 + [near[2]], "direction": ["pre"] * 6})
    mapped = ng.map_synapses(neuron, table, voxel_size=1)
    assert mapped.synapses["mapped"].sum() == 1
    row = feature_row(mapped, features=["synapse_density"], form="raw")
    cable = mapped.branches["length"].sum()
    assert row["pre_per_um"] == pytest.approx(1 / cable, rel=0.05)


def test_every_summary_column_named_like_a_feature_has_its_value(neurons):
    """One name, one quantity: a summary column that shares its name with a registered
    feature has that feature's value on the neuron as given (``form="raw"``), on a mesh
    and on an SWC whose soma holds several nodes (both clip cable at the soma sphere)."""
    for neuron in neurons:
        summary = ng.neuron_summary(neuron).iloc[0]
        raw = feature_row(neuron, form="raw")
        shared = [c for c in summary.index if c in raw]
        assert {"total_length", "max_path_length", "n_tips"} <= set(shared)
        for column in shared:
            assert float(summary[column]) == pytest.approx(float(raw[column]), rel=1e-6, nan_ok=True), column
