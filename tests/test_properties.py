"""Property-based tests (hypothesis) over random valid and invalid SWC trees and meshes.

Valid inputs: every face belongs to exactly one branch or soma, the branch graph is a tree
per soma (or per root), lengths are non-negative and sum to the neuron's total, and a
saved neuron loads back exactly. Invalid inputs: a NeurographError or a result, never
another exception. Example counts are small so the default suite stays fast.
"""

from __future__ import annotations

import os
import tempfile
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import trimesh

import neurograph as ng
from neurograph.errors import NeurographError

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def swc_trees(draw):
    """Random SWC lines (µm): a forest with 1-3 roots, an optional soma node per tree."""
    n = draw(st.integers(2, 60))
    n_roots = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    parent = np.array([-1 if i < n_roots else rng.integers(0, i) for i in range(n)])
    xyz = np.zeros((n, 3))
    for i in range(n):
        base = xyz[parent[i]] if parent[i] >= 0 else rng.uniform(-200, 200, 3)
        xyz[i] = base + rng.normal(0, 3, 3)
    soma = draw(st.booleans())
    types = np.where((parent < 0) & soma, 1, 3)
    radius = rng.uniform(0.1, 2.0, n)
    radius[types == 1] = rng.uniform(3, 8)
    ids = rng.permutation(np.arange(1, n + 1)) if draw(st.booleans()) else np.arange(1, n + 1)
    lines = [f"{ids[i]} {types[i]} {xyz[i, 0]:.4f} {xyz[i, 1]:.4f} {xyz[i, 2]:.4f} {radius[i]:.4f} "
             f"{ids[parent[i]] if parent[i] >= 0 else -1}" for i in range(n)]
    order = rng.permutation(n) if draw(st.booleans()) else np.arange(n)  # any line order
    return [lines[k] for k in order]


def _write(lines: list[str]) -> str:
    fd, path = tempfile.mkstemp(suffix=".swc")
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def _check_neuron(neuron, mesh: bool) -> None:
    graph = neuron.graph
    n_somas = len(neuron.somas)
    und = graph.to_undirected()
    assert nx.is_forest(und)
    for comp in nx.connected_components(und):
        roots = [v for v in comp if graph.in_degree(v) == 0]
        assert len(roots) == 1                                        # one tree per soma or root
        assert sum(v < n_somas for v in comp) <= 1                    # never two somata in one tree
    lengths = neuron.branches["length"].to_numpy(float)
    assert np.all(lengths >= 0)
    total = float(ng.neuron_summary(neuron)["total_length"].iloc[0])
    assert lengths.sum() == pytest.approx(total, rel=1e-9, abs=1e-9)
    assert total <= neuron.skeleton.cable_length / 1e3 + 1e-6       # soma interiors are not cable
    nodes = set(graph.nodes)
    assert set(np.unique(neuron.node_branch).tolist()) <= nodes
    if mesh:
        fb = np.asarray(neuron.face_branch)
        assert len(fb) == len(neuron.mesh.faces)                    # one owner per face ...
        assert set(np.unique(fb).tolist()) <= nodes                 # ... a branch or a soma


def _check_round_trip(neuron) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "n.neuron.zip")
        neuron.save(path)
        back = ng.load(path)
    pd.testing.assert_frame_equal(back.branches, neuron.branches, check_dtype=False, check_index_type=False)
    np.testing.assert_array_equal(back.skeleton.vertices, neuron.skeleton.vertices)
    np.testing.assert_array_equal(back.skeleton.parent, neuron.skeleton.parent)
    np.testing.assert_array_equal(back.node_branch, neuron.node_branch)
    assert sorted(back.graph.edges) == sorted(neuron.graph.edges)
    if neuron.mesh is not None:
        np.testing.assert_array_equal(back.mesh.faces, neuron.mesh.faces)
        np.testing.assert_array_equal(back.face_branch, neuron.face_branch)


@FAST
@given(swc_trees())
def test_random_swc_trees(lines):
    path = _write(lines)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            neuron = ng.load_swc(path, units="um")
    finally:
        os.remove(path)
    _check_neuron(neuron, mesh=False)
    _check_round_trip(neuron)


@FAST
@given(swc_trees(), st.lists(st.tuples(st.sampled_from(["drop", "dup", "garbage", "orphan", "cycle", "self",
                                                           "short"]), st.integers(0, 10**6)), min_size=1,
                                       max_size=3))
def test_damaged_swc_never_raise_foreign_errors(lines, edits):
    lines = list(lines)
    for kind, k in edits:
        if not lines:
            break
        i = k % len(lines)
        f = lines[i].split()
        j = (i + 1) % len(lines)
        if kind in ("garbage", "orphan", "cycle", "self") and min(len(f), len(lines[j].split())) < 7:
            continue  # a line an earlier edit cut short has no parent field left to damage
        if kind == "drop":
            del lines[i]
        elif kind == "dup":
            lines.append(lines[i])
        elif kind == "garbage":
            f[k % 7] = "x1"
            lines[i] = " ".join(f)
        elif kind == "orphan":
            f[6] = "999999"
            lines[i] = " ".join(f)
        elif kind == "cycle":
            g = lines[j].split()
            f[6], g[6] = g[0], f[0]
            lines[i], lines[j] = " ".join(f), " ".join(g)
        elif kind == "self":
            f[6] = f[0]
            lines[i] = " ".join(f)
        else:
            lines[i] = " ".join(f[:4])
    path = _write(lines)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            neuron = ng.load_swc(path, units="um")
    except NeurographError:
        return
    finally:
        os.remove(path)
    _check_neuron(neuron, mesh=False)


@st.composite
def capsule_meshes(draw):
    """1-3 capsules (neurites, 0.3-1.5 µm radius) chained end to end, one optionally with a soma ball."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    parts, tip = [], np.zeros(3)
    for _ in range(draw(st.integers(1, 3))):
        length, radius = rng.uniform(5_000, 25_000), rng.uniform(300, 1_500)
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        cap = trimesh.creation.capsule(height=length, radius=radius, count=(10, 10))
        cap.apply_transform(trimesh.geometry.align_vectors([0, 0, 1], direction))
        cap.apply_translation(tip + direction * (length / 2 + radius))
        parts.append(cap)
        tip = tip + direction * (length + 2 * radius)
    if draw(st.booleans()):
        parts.append(trimesh.creation.icosphere(subdivisions=3, radius=rng.uniform(4_000, 7_000)))
    return trimesh.util.concatenate(parts)


@SLOW
@given(capsule_meshes())
def test_random_meshes(mesh):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        neuron = ng.extract(mesh, voxel_size=1, spines=False)
    _check_neuron(neuron, mesh=True)
    _check_round_trip(neuron)


@FAST
@given(st.integers(0, 40), st.integers(0, 40), st.sampled_from(["ok", "nan", "inf", "big_index", "neg_index",
                                                                "float_index", "flat", "wrong_shape"]),
       st.integers(0, 2**31))
def test_random_mesh_arrays_raise_clear_errors(n_vertices, n_faces, damage, seed):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0, 10_000, (n_vertices, 3))
    f = rng.integers(0, max(n_vertices, 1), (n_faces, 3))
    if damage == "nan" and n_vertices:
        v[rng.integers(n_vertices)] = np.nan
    elif damage == "inf" and n_vertices:
        v[rng.integers(n_vertices), 0] = -np.inf
    elif damage == "big_index" and n_faces:
        f[rng.integers(n_faces), 1] = n_vertices + 5
    elif damage == "neg_index" and n_faces:
        f[rng.integers(n_faces), 2] = -1
    elif damage == "float_index":
        f = f + 0.5
    elif damage == "flat":
        v[:, 2] = 0.0
        v[:, 1] = v[:, 0]
    elif damage == "wrong_shape":
        f = f.reshape(-1)[: max(0, f.size - 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            mesh = ng.load_mesh((v, f), voxel_size=1)
        except NeurographError:
            return
    assert np.isfinite(mesh.vertices).all() and mesh.faces.min() >= 0 and mesh.faces.max() < len(mesh.vertices)


@FAST
@given(st.lists(st.integers(min_value=0, max_value=10 ** 6), min_size=1, max_size=200), st.integers(0, 10 ** 6),
       st.sampled_from([np.int64, np.int32]))
def test_reroot_at_keeps_the_edges_and_roots_the_node(draws, pick, dtype):
    """A random forest re-rooted at one of its nodes: that node is a root, its old root's tree
    keeps the same undirected edges, every other tree is untouched, the dtype is kept."""
    from neurograph.skeleton.tree import reroot_at, root_labels, topological_order

    parent = np.array([-1] + [d % (i + 1) - (d % 7 == 0) * (d % (i + 1) + 1) for i, d in enumerate(draws[1:])],
                      dtype=dtype)  # node i + 1 takes a parent < i + 1, or none (a new root)
    parent[parent < -1] = -1
    node = pick % len(parent)
    new = reroot_at(parent, node)
    assert new.dtype == parent.dtype and new[node] == -1
    root = root_labels(topological_order(parent), parent)
    mine = root == root[node]
    assert np.array_equal(new[~mine], parent[~mine])
    assert (new[mine] == -1).sum() == 1

    def edges(p):
        kids = np.flatnonzero(p >= 0)
        return {frozenset((int(k), int(p[k]))) for k in kids}

    assert edges(new) == edges(parent)


def test_reroot_at_refuses_bad_nodes_and_cycles():
    from neurograph.skeleton.tree import reroot_at

    with pytest.raises(IndexError):
        reroot_at(np.array([-1, 0, 1]), 3)
    with pytest.raises(ValueError, match="cycle"):
        reroot_at(np.array([1, 0]), 0)  # Numba checks no index: the kernel checks the path itself
    with pytest.raises(ValueError, match="outside"):
        reroot_at(np.array([-1, 7]), 1)


@FAST
@given(st.lists(st.integers(min_value=0, max_value=10 ** 6), min_size=0, max_size=300), st.integers(0, 10 ** 6))
def test_topological_order_is_scipys_breadth_first_order(draws, seed):
    """The Numba breadth-first order is scipy's ``breadth_first_order`` from a virtual node above
    the roots (the order the feature kernels were written against), on random forests whose node
    ids are shuffled (parents need not precede children)."""
    from scipy import sparse
    from scipy.sparse.csgraph import breadth_first_order

    from neurograph.skeleton.tree import topological_order

    n = len(draws)
    grown = np.array([-1 if i == 0 or d % 9 == 0 else d % i for i, d in enumerate(draws)], np.int64)
    perm = np.random.default_rng(seed).permutation(n)  # node i of the grown forest is node perm[i]
    parent = np.full(n, -1, np.int64)
    has = grown >= 0
    parent[perm[has]] = perm[grown[has]]
    kids, roots = np.flatnonzero(parent >= 0), np.flatnonzero(parent < 0)
    rows, cols = np.concatenate([parent[kids], np.full(len(roots), n)]), np.concatenate([kids, roots])
    graph = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n + 1, n + 1)).tocsr()
    expected = breadth_first_order(graph, n, directed=True, return_predecessors=False)[1:]
    np.testing.assert_array_equal(topological_order(parent), expected)


def test_topological_order_names_the_nodes_of_a_cycle():
    from neurograph.skeleton.tree import topological_order

    with pytest.raises(ng.SkeletonError, match=r"cycle: 3 node\(s\) \(first: 1\)"):
        topological_order(np.array([-1, 2, 3, 1, 0]))  # 1 -> 2 -> 3 -> 1 never reaches the root
    with pytest.raises(ng.SkeletonError, match="names parent 5"):
        topological_order(np.array([-1, 5]))
    assert topological_order(np.empty(0, np.int64)).shape == (0,)
