"""The fast paths of issue 13 in the skeleton step (surface graph, Steiner points, Dijkstra, Reeb
graph, twig collapse, branches) give exactly what the slower, plainer code they replace gives."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from scipy import sparse

import neurograph as ng
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
    # the second list (bridges) counts as appended to the first, with or without pairs in it
    split = int(rng.integers(0, len(hub) + 1)) if seed % 2 else len(hub)
    edges, extra = np.vstack([edges, hub[:split]]), hub[split:]
    indptr, indices, pairs, length = undirected_csr(points, edges, extra)
    ref = _scipy_graph(points, np.vstack([edges, extra]))
    np.testing.assert_array_equal(indptr, ref.indptr)
    np.testing.assert_array_equal(indices, ref.indices)
    np.testing.assert_array_equal(pairs[:, 0], np.repeat(np.arange(n), np.diff(ref.indptr)))
    np.testing.assert_array_equal(pairs[:, 1], indices)
    assert (pairs[:, 0] < pairs[:, 1]).all()  # upper triangle, no self pairs
    np.testing.assert_array_equal(length, np.linalg.norm(points[pairs[:, 0]] - points[pairs[:, 1]], axis=1))


def _steiner_reference(vertices, edges, face_edges, max_edge, fan=1):
    """The Steiner graph as its docstring defines it, one face side and one point at a time: each
    mesh edge split into ceil(length / max_edge) equal parts and chained; inside each face, each
    point of a side joined to the nearest point of each other side (its projection, rounded)
    and to ``fan`` points on either side of that one, points of one mesh edge not chorded."""
    n_v = len(vertices)
    k = np.maximum(0, np.ceil(np.linalg.norm(vertices[edges[:, 1]] - vertices[edges[:, 0]], axis=1) / max_edge) - 1)
    k = k.astype(int)
    start = np.concatenate([[0], np.cumsum(k)])

    def point(e, q):
        return edges[e, 0] if q == 0 else edges[e, 1] if q == k[e] + 1 else n_v + start[e] + q - 1

    points = [vertices]
    for e in range(len(edges)):
        t = (np.arange(k[e]) + 1.0) / (k[e] + 1.0)
        points.append((1 - t)[:, None] * vertices[edges[e, 0]] + t[:, None] * vertices[edges[e, 1]])
    points = np.vstack(points)
    pairs = {tuple(sorted((point(e, q), point(e, q + 1)))) for e in range(len(edges)) for q in range(k[e] + 1)}
    for f in range(len(face_edges)):
        for e in face_edges[f]:
            for o in face_edges[f]:
                if o == e or (k[o] == 0 and k[e] == 0):
                    continue
                a, b = vertices[edges[o, 0]], vertices[edges[o, 1]]
                for i in range(k[e] + 2):
                    p = point(e, i)
                    if p in edges[o]:
                        continue
                    t = np.clip(np.dot(points[p] - a, b - a) / np.dot(b - a, b - a), 0.0, 1.0)
                    best = int(np.floor(t * (k[o] + 1) + 0.5))
                    for q in range(max(0, best - fan), min(k[o] + 1, best + fan) + 1):
                        c = point(o, q)
                        if c not in edges[e]:
                            pairs.add(tuple(sorted((p, c))))
    return points, np.array(sorted(pairs))


@pytest.mark.parametrize("max_edge", [0.3, 0.12])
def test_steiner_graph_is_its_definition(max_edge):
    """The Steiner graph's points and (deduplicated) pairs are those of the definition, on a
    small irregular mesh with long and short edges."""
    from neurograph.skeleton.kernels import steiner_graph

    mesh = trimesh.creation.icosphere(subdivisions=1)
    rng = np.random.default_rng(0)
    mesh = trimesh.Trimesh(mesh.vertices * rng.uniform(0.5, 2.0, size=3) + rng.normal(size=mesh.vertices.shape) * 0.05,
                           mesh.faces, process=False)
    vertices = np.asarray(mesh.vertices, float)
    edges = np.asarray(mesh.edges_unique, np.int64)
    face_edges = np.asarray(mesh.faces_unique_edges, np.int64)
    points, graph = steiner_graph(vertices, edges, face_edges, max_edge)
    want_points, want_pairs = _steiner_reference(vertices, edges, face_edges, max_edge)
    np.testing.assert_array_equal(points, want_points)
    got = np.unique(np.sort(graph, axis=1), axis=0)
    np.testing.assert_array_equal(got, want_pairs)
    assert len(points) > 3 * len(vertices) and len(got) > 10 * len(edges)  # Steiner points and chords exercised


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


def _reference_collapse(vertices, parent, radius, protected, factor):
    """The Python loop collapse_twigs ran before its kernel: the node each node merges into."""
    parent, merged_into = parent.copy(), np.arange(len(parent))
    alive = np.ones(len(parent), bool)
    while True:
        live = np.where(alive, parent, -1)
        n_children = np.bincount(live[live >= 0], minlength=len(parent))
        n_children[~alive] = -1
        paths = []
        for leaf in np.flatnonzero((n_children == 0) & (live >= 0)):
            path, node = [leaf], live[leaf]
            while node >= 0 and n_children[node] == 1 and live[node] >= 0:
                path.append(node)
                node = live[node]
            if node >= 0 and n_children[node] >= 2:
                paths.append(np.asarray(path + [node]))
        changed = False
        for path in paths:
            base = path[-1]
            if protected[path[:-1]].any():
                continue
            seg = np.linalg.norm(np.diff(vertices[path], axis=0), axis=1).sum()
            limit = factor * np.nan_to_num(radius[base], nan=0.0)
            if protected[base]:
                seg -= radius[base]
            if seg < limit:
                alive[path[:-1]] = False
                merged_into[path[:-1]] = base
                changed = True
        if not changed:
            return merged_into


@pytest.mark.parametrize("seed", range(6))
def test_collapse_twigs_kernel_is_the_python_loop(seed):
    from neurograph.skeleton.edit import _collapse_rounds

    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 600))
    parent = np.array([-1] + [int(rng.integers(max(0, i - 12), i)) for i in range(1, n)])  # bushy trees
    parent[rng.random(n) < 0.02] = -1  # a forest
    vertices = rng.normal(size=(n, 3)) * 300
    radius = rng.uniform(0, 800, n)
    radius[rng.random(n) < 0.05] = np.nan
    protected = np.zeros(n, bool)
    protected[rng.choice(np.flatnonzero(parent < 0), 1)] = True  # a soma root
    factor = float(rng.uniform(0.5, 3))
    got = _collapse_rounds(vertices, parent, radius, protected, factor)
    want = _reference_collapse(vertices, parent, radius, protected, factor)
    np.testing.assert_array_equal(got, want)
    assert (got != np.arange(n)).sum() > 5  # twigs were folded, in several rounds on bushy trees


@pytest.mark.parametrize("seed", range(4))
def test_soma_points_are_the_near_pieces_holding_a_seed(seed):
    """The soma's points (within 1.15 radii, connected there to its own vertices) by
    union-find over the whole surface graph, as the sub-graph of the near points and scipy's
    connected components gave them; a soma whose vertices all lie outside keeps them."""
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    from neurograph.skeleton.wavefront import _soma_points

    rng = np.random.default_rng(seed)
    n = 3000
    points = rng.uniform(-3000, 3000, size=(n, 3))
    nearest = cKDTree(points).query(points, k=3)[1]  # each point to its two nearest: many small pieces
    edges = np.vstack([nearest[:, [0, 1]], nearest[::2, [0, 2]]]).astype(np.int32)
    soma = ng.Soma(center=np.zeros(3), radius=2000.0, faces=np.array([0]))
    seeds = np.unique(rng.integers(0, n, 40))
    near = np.linalg.norm(points, axis=1) <= 1.15 * soma.radius
    idx = np.flatnonzero(near)
    local = np.full(n, -1)
    local[idx] = np.arange(len(idx))
    inner = edges[near[edges[:, 0]] & near[edges[:, 1]]]
    graph = sparse.coo_matrix((np.ones(len(inner)), (local[inner[:, 0]], local[inner[:, 1]])), shape=(len(idx),) * 2)
    _, label = connected_components(graph, directed=False)
    want = idx[np.isin(label, label[local[seeds[near[seeds]]]])]
    got = _soma_points(points, edges, seeds, soma)
    np.testing.assert_array_equal(got, want)
    assert len(seeds[near[seeds]]) < len(got) < near.sum()  # pieces joined and pieces left out
    far = seeds[~near[seeds]]
    np.testing.assert_array_equal(_soma_points(points, edges, far, soma), far)


def test_extra_roots_union_find_is_the_scipy_components():
    """One root per soma-less piece of the surface graph: pieces by union-find labelled by
    their lowest point give the roots scipy's connected components gave."""
    from scipy.sparse.csgraph import connected_components, dijkstra

    from neurograph.skeleton import wavefront

    rng = np.random.default_rng(3)
    points = rng.normal(size=(3000, 3)) * 2000
    parts = np.array_split(rng.permutation(len(points)), 7)  # 7 pieces, chains plus shortcuts
    edges = np.vstack([np.column_stack([p[:-1], p[1:]]) for p in parts]
                      + [np.column_stack([p[rng.integers(0, len(p), 60)], p[rng.integers(0, len(p), 60)]])
                         for p in parts])
    graph, pairs = wavefront._surface_graph(points, edges, None)
    covered = parts[2][:5]  # one piece holds a soma
    got = wavefront._extra_roots(graph, pairs, covered)
    graph = _as_scipy(graph)
    _, labels = connected_components(graph, directed=False)
    pieces = np.setdiff1d(np.unique(labels), np.unique(labels[covered]))
    seeds = np.array([np.flatnonzero(labels == p)[0] for p in pieces])
    dist = dijkstra(graph, directed=False, indices=seeds, min_only=True)
    want = [np.flatnonzero(labels == p)[np.argmax(dist[labels == p])] for p in pieces]
    assert len(got) == 6
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("case", ["soma and a far piece", "soma, all bridged", "no soma"])
def test_mesh_pieces_check_gives_the_skeleton_of_the_full_search(case, monkeypatch):
    """When every piece of the mesh (edges and bridges) holds a soma vertex the surface graph's
    own piece search is skipped (``_every_piece_covered``); the skeleton is the one the full
    search gives, and a piece without a soma still gets its root."""
    from neurograph.skeleton import wavefront

    cell = ng.synthetic.make_neuron(2, "pyramidal")
    v, f = np.asarray(cell.mesh.vertices), np.asarray(cell.mesh.faces)
    far = trimesh.creation.icosphere(2, radius=1500.0)
    mesh = trimesh.Trimesh(np.vstack([v, far.vertices + v.max(axis=0) + 5e4]),
                           np.vstack([f, far.faces + len(v)]), process=False)
    somas = ng.find_somas(mesh)
    bridges = None
    if case == "soma, all bridged":
        bridges = np.array([[0, len(v)]])
    if case == "no soma":
        somas = []
    covered_calls = []
    check = wavefront._every_piece_covered
    monkeypatch.setattr(wavefront, "_every_piece_covered", lambda *a: covered_calls.append(check(*a)) or covered_calls[-1])
    fast = wavefront.skeletonize(mesh, somas, bridges)
    monkeypatch.setattr(wavefront, "_every_piece_covered", lambda *a: False)
    full = wavefront.skeletonize(mesh, somas, bridges)
    assert covered_calls == [case == "soma, all bridged"]
    for name in ("vertices", "parent", "radius", "vertex_map"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(full, name))
    assert len(fast.roots) == (1 if case == "soma, all bridged" else 2)


def _as_scipy(graph, lower=False):
    """The upper triangle of a SurfaceGraph (or its lower one, by rows) as a scipy CSR matrix."""
    from scipy import sparse

    arrays = (graph.tlen, graph.tidx, graph.tptr) if lower else (graph.lengths, graph.indices, graph.indptr)
    return sparse.csr_matrix(arrays, shape=(graph.n, graph.n))


def test_surface_graph_stores_every_pair_in_both_directions():
    """The transpose rows hold each pair once more, in the row of its high end, ascending, with its
    length."""
    from neurograph.skeleton import wavefront

    rng = np.random.default_rng(11)
    points = rng.normal(size=(500, 3)) * 1000
    graph, pairs = wavefront._surface_graph(points, rng.integers(0, 500, size=(2000, 2)), None)
    upper, lower = _as_scipy(graph), _as_scipy(graph, lower=True)
    assert (upper.T.tocsr() != lower).nnz == 0
    assert lower.has_sorted_indices and lower.nnz == upper.nnz == len(pairs)
    np.testing.assert_array_equal(pairs, np.column_stack(upper.nonzero()))


@pytest.mark.parametrize("seed", range(4))
def test_nearest_source_distance_is_scipy_dijkstra_bit_for_bit(seed):
    """The Numba Dijkstra gives scipy's distances exactly: on integer lengths (many exact ties between
    paths), on real lengths, with repeated sources, zero-length pairs and pieces no source reaches."""
    from scipy.sparse.csgraph import dijkstra

    from neurograph.skeleton.geodesic import SurfaceGraph, lower_rows, nearest_source_distance
    from neurograph.skeleton.kernels import undirected_csr

    rng = np.random.default_rng(seed)
    n = 2000
    points = rng.normal(size=(n, 3)) * 500
    edges = rng.integers(0, n - 100, size=(8000, 2))  # the last 100 points stay alone
    indptr, indices, pairs, length = undirected_csr(points, edges, np.empty((0, 2), np.int64))
    if seed % 2:
        length = np.floor(length / 200.0)  # integer lengths, zeros among them: ties everywhere
    graph = SurfaceGraph(indptr, indices, length, *lower_rows(indptr, indices, length))
    for sources in (np.array([0]), rng.integers(0, n, 40), np.array([5, 5, 7, n - 1])):
        want = dijkstra(_as_scipy(graph), directed=False, indices=sources, min_only=True)
        got = nearest_source_distance(graph, sources)
        assert np.array_equal(got, want)
        assert np.isinf(got).any() and (got[sources] == 0).all()
    with pytest.raises(IndexError, match="sources"):
        nearest_source_distance(graph, np.array([n]))


def test_a_surface_graph_beyond_32_bit_indices_is_refused_before_it_is_built():
    """A triangle with a 10^12 nm edge needs ~6.7e9 Steiner points at the default step: a clear
    SkeletonError at once, not a wrapped int32 index or an attempt to allocate 160 GB."""
    with pytest.warns(ng.errors.UnitsWarning, match="larger than any neuron"):
        mesh = ng.load_mesh(trimesh.Trimesh([[0, 0, 0], [1e12, 0, 0], [0, 1e3, 0]], [[0, 1, 2]], process=False),
                            voxel_size=1)
    with pytest.raises(ng.SkeletonError, match="32-bit indices"):
        ng.skeletonize(mesh)


def test_surface_graph_takes_bridges_of_any_layout_and_refuses_wrong_shapes():
    """The bridges count as appended to the edges, whatever their dtype and memory layout."""
    from neurograph.errors import SkeletonError
    from neurograph.skeleton import wavefront

    rng = np.random.default_rng(5)
    points = rng.normal(size=(200, 3)) * 1000
    edges = rng.integers(0, 200, size=(600, 2)).astype(np.int32)
    bridges = np.asfortranarray(rng.integers(0, 200, size=(7, 2)))  # int64, Fortran order
    graph, pairs = wavefront._surface_graph(points, edges, bridges)
    ref, ref_pairs = wavefront._surface_graph(points, np.vstack([edges, bridges.astype(np.int32)]), None)
    for got, want in zip(graph, ref):  # both directions
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(pairs, ref_pairs)
    graph2, _ = wavefront._surface_graph(points, edges[:, ::-1].astype(np.int64)[:, ::-1], bridges[:, ::-1])
    assert len(graph2.indices) == len(ref.indices)  # non-contiguous views too
    with pytest.raises(SkeletonError, match="bridges"):
        wavefront._surface_graph(points, edges, np.zeros((2, 3), np.int64))


def test_branch_nodes_carry_the_branch_table_as_python_scalars(monkeypatch):
    """Each branch node of the graph holds its row of the branch table that decompose computed,
    as the Python scalars ``to_dict("records")`` gives (the form the graph was filled from
    before)."""
    import neurograph as ng
    import neurograph.graph.neuron as gn

    tables = []

    def keep(*args, **kwargs):
        tables.append(original(*args, **kwargs))
        return tables[-1]

    original = gn.branch_features
    monkeypatch.setattr(gn, "branch_features", keep)
    neuron = ng.extract(ng.synthetic.make_neuron(3, spines_per_um=0).mesh, spines=False)
    table = tables[-1]
    assert len(table) > 5 and {str(t) for t in table.dtypes} >= {"int64", "float64"}
    for b, row in zip(table.index, table.to_dict("records")):
        node = neuron.graph.nodes[b]
        assert [k for k in node if k in row] == list(row)
        for k, v in row.items():
            assert type(node[k]) is type(v) and (node[k] == v or (v != v and node[k] != node[k]))
            assert not isinstance(node[k], np.generic)
