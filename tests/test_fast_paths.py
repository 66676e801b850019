"""The fast paths of issue 13 give exactly what the slower, plainer code they replace gives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

import neurograph as ng
from neurograph.mesh import soma as soma_module
from neurograph.skeleton.kernels import group_argmax, group_median, reeb_parents, undirected_csr


def _scipy_graph(points: np.ndarray, edges: np.ndarray) -> sparse.csr_matrix:
    lo, hi = edges.min(axis=1), edges.max(axis=1)
    keep = lo != hi
    n = len(points)
    graph = sparse.csr_matrix((np.ones(int(keep.sum())), (lo[keep], hi[keep])), shape=(n, n))
    graph.sum_duplicates()
    return graph


@pytest.mark.parametrize("seed", range(4))
def test_undirected_csr_is_scipys_deduplicated_pattern(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    points = rng.normal(size=(n, 3)) * 1000
    edges = rng.integers(0, n, size=(int(rng.integers(0, 3000)), 2))
    edges = np.vstack([edges, edges[: len(edges) // 3, ::-1]])  # repeats in both directions
    hub = np.column_stack([np.zeros(80, np.int64), rng.integers(0, n, 80)])  # a row longer than 32
    edges = np.vstack([edges, hub])
    indptr, indices, pairs, length = undirected_csr(points, edges)
    ref = _scipy_graph(points, edges)
    np.testing.assert_array_equal(indptr, ref.indptr)
    np.testing.assert_array_equal(indices, ref.indices)
    np.testing.assert_array_equal(pairs[:, 0], np.repeat(np.arange(n), np.diff(ref.indptr)))
    np.testing.assert_array_equal(pairs[:, 1], indices)
    assert (pairs[:, 0] < pairs[:, 1]).all()  # upper triangle, no self pairs
    np.testing.assert_array_equal(length, np.linalg.norm(points[pairs[:, 0]] - points[pairs[:, 1]], axis=1))


def _reeb_reference(edges, node_of, node_bin):
    """The definition, one node at a time: latest earlier level set, then most shared edges,
    then the highest node index."""
    parent = np.full(len(node_bin), -1, np.int64)
    for a in range(len(node_bin)):
        counts: dict[int, int] = {}
        for u, v in edges:
            x, y = node_of[u], node_of[v]
            for child, cand in ((x, y), (y, x)):
                if child == a and node_bin[cand] < node_bin[a]:
                    counts[cand] = counts.get(cand, 0) + 1
        if counts:
            parent[a] = max(counts, key=lambda b: (node_bin[b], counts[b], b))
    return parent


@pytest.mark.parametrize("seed", range(4))
def test_reeb_parents_follow_the_definition(seed):
    rng = np.random.default_rng(seed)
    n_points, n_nodes = 120, 25
    node_of = rng.integers(0, n_nodes, n_points)
    node_bin = rng.integers(-2, 6, n_nodes)  # ties in level sets, negative (soma) bins
    edges = rng.integers(0, n_points, size=(400, 2))
    got = reeb_parents(edges, node_of, node_bin)
    np.testing.assert_array_equal(got, _reeb_reference(edges, node_of, node_bin))
    has = got >= 0
    assert (node_bin[got[has]] < node_bin[has]).all()


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


@pytest.mark.parametrize("seed", range(4))
def test_group_median_and_argmax_per_group(seed):
    rng = np.random.default_rng(seed)
    n_groups = 30
    groups = rng.integers(0, n_groups - 3, 500)  # the last groups stay empty
    values = np.round(rng.normal(size=500), 1)  # ties
    values[rng.integers(0, 500, 5)] = np.inf
    med = group_median(values, groups, n_groups)
    far = group_argmax(values, groups, n_groups)
    for g in range(n_groups):
        members = np.flatnonzero(groups == g)
        if len(members) == 0:
            assert np.isnan(med[g]) and far[g] == -1
            continue
        assert med[g] == np.median(values[members])
        assert far[g] == members[np.argmax(values[members])]  # np.argmax: the first of the largest
