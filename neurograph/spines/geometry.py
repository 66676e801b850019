"""Geometry helpers for spine detection: skeleton trees, nearest skeleton edges, spine shapes.

All coordinates and lengths in nm.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..arrays import group_order, unique
from ..skeleton.kernels import distance_to_segments, group_median
from ..skeleton.tree import children_csr, edge_lengths, reroot_at, subtree_sum, topological_order
from .kernels import group_mean_rows, segment_points, subtree_heights, terminal_runs, twig_labels
from .sections import N_SLICES, spine_widths

SAMPLE_SPACING = 100.0  # nm between sample points along skeleton edges for nearest-edge queries


def reroot_at_thick_end(vertices: np.ndarray, parent: np.ndarray, is_soma: np.ndarray,
                        radius: np.ndarray) -> np.ndarray:
    """Re-root every soma-less tree at one end of its thickest path.

    A soma-less piece comes rooted at one end of its longest geodesic path, which on a
    spiny dendrite is usually the tip of a spine near a dendrite end; from there the shaft
    skeleton would run up the spine. The new root is the leaf farthest from the old root
    by *volume* (edge length x pi r^2 of the skeleton radii): spine necks are thin, so the
    farthest leaf is a dendrite end (the end of the tree's volume-weighted diameter).

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Skeleton nodes, nm.
    parent : (n,) int ndarray
        Parent of every node, -1 for roots.
    is_soma : (n,) bool ndarray
        Soma nodes; trees rooted at a soma are left as they are.
    radius : (n,) float ndarray
        Node radii, nm (NaN counts as 0).

    Returns
    -------
    (n,) int64 ndarray
        The new parent array.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import dijkstra

    parent = np.asarray(parent, np.int64).copy()
    roots = np.flatnonzero((parent < 0) & ~is_soma)
    if not len(roots):
        return parent
    n = len(parent)
    el = edge_lengths(vertices, parent)
    r = np.nan_to_num(np.asarray(radius, float), nan=0.0)
    c = np.flatnonzero(parent >= 0)
    w = np.pi * (0.5 * (r[c] + r[parent[c]])) ** 2 * el[c] + 1e-3 * el[c] + 1e-9
    graph = sparse.coo_matrix((w, (c, parent[c])), shape=(n, n)).tocsr()
    dist, _, source = dijkstra(graph, directed=False, indices=roots, min_only=True, return_predecessors=True)
    ok = np.isfinite(dist) & (source >= 0)
    for root in roots:
        members = np.flatnonzero(ok & (source == root))
        if len(members):
            parent = reroot_at(parent, int(members[np.argmax(dist[members])]))
    return parent


def cut_ends(mesh, min_radius: float) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Open boundary loops of a mesh wide enough to be the cut end of a dendrite.

    A dendrite segment cut out of a volume is an open tube: each cut leaves a boundary loop
    around the shaft's cross-section, whose centroid lies on the shaft axis. Loops with a
    perimeter of at least ``2 pi min_radius`` nm count (holes left by cut spine necks and
    small mesh defects are smaller).

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Mesh in nm.
    min_radius : float
        Smallest shaft radius of a cut end, nm.

    Returns
    -------
    centroids : (k, 3) float
        nm, widest loop first.
    radii : (k,) float
        median distance of the loop's vertices from its centroid (nm).
    vertices : list of int arrays
        The vertices of each loop.
    """
    import trimesh
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    empty = (np.empty((0, 3)), np.empty(0), [])
    if len(mesh.faces) == 0:
        return empty
    edges = np.asarray(mesh.edges_sorted)[trimesh.grouping.group_rows(mesh.edges_sorted, require_count=1)]
    if not len(edges):
        return empty
    verts = np.asarray(mesh.vertices, float)
    n = len(verts)
    graph = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    loop = comp[edges[:, 0]]
    perimeter = np.bincount(loop, weights=np.linalg.norm(verts[edges[:, 0]] - verts[edges[:, 1]], axis=1),
                            minlength=comp.max() + 1)
    wide = np.flatnonzero(perimeter >= 2 * np.pi * min_radius)
    wide = wide[np.argsort(-perimeter[wide], kind="stable")]
    if not len(wide):
        return empty
    # the vertices of every wide loop, in increasing order, grouped widest loop first
    rank = np.full(len(perimeter), -1, np.int64)
    rank[wide] = np.arange(len(wide))
    on = unique(edges)
    on = on[rank[comp[on]] >= 0]
    ptr, ids, which = group_csr(rank[comp[on]], len(wide), on, rank[comp[on]])
    centroids = group_mean_rows(verts, ptr, ids)
    radii = group_median(np.linalg.norm(verts[ids] - centroids[which], axis=1), which, len(wide))
    return centroids, radii, np.split(ids, ptr[1:-1])


def twig_roots(vertices: np.ndarray, parent: np.ndarray, is_soma: np.ndarray, limit: np.ndarray,
               radius: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Label every node with the root of the short side twig it lies on (-1 on the core).

    At every branch node that is not a soma the child with the largest subtree volume
    (node radii) continues the shaft; any other child whose subtree (with its edge) is shorter than ``limit`` nm
    at that node starts a twig, and its whole subtree belongs to the twig. Nodes marked in
    ``keep`` (paths to the cut ends of a dendrite segment) are never twigs, and where a
    child is kept it, not the largest one, continues the shaft.

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Skeleton nodes, nm.
    parent : (n,) int ndarray
        Parent of every node, -1 for roots.
    is_soma : (n,) bool ndarray
        Soma nodes (no twig starts at a soma).
    limit : (n,) float ndarray
        Longest twig at each branch node, nm (reach from the node to the twig's farthest tip).
    radius : (n,) float ndarray
        Node radii, nm.
    keep : (n,) bool ndarray, optional
        Nodes that are never twigs.

    Returns
    -------
    (n,) int64 ndarray
        The twig's root node for twig nodes, -1 elsewhere.
    """
    keep = np.zeros(len(parent), bool) if keep is None else keep
    el = edge_lengths(vertices, parent)
    order = topological_order(parent)
    height = subtree_heights(order, parent, el)
    vol = subtree_sum(order, parent, np.pi * np.nan_to_num(radius, nan=0.0) ** 2 * el)  # nm³ below each node
    kid_ptr, kids = children_csr(parent)
    return twig_labels(order.astype(np.int64), parent.astype(np.int64), kid_ptr, kids, height + el,
                       vol, np.asarray(limit, float), np.asarray(is_soma, bool), np.asarray(keep, bool))


def terminal_segments(parent: np.ndarray, twig: np.ndarray) -> np.ndarray:
    """Label every twig node on a terminal run with the run's top node; -1 elsewhere.

    A terminal run is the unbranched path from a leaf up to the twig's root or the nearest
    branch node, which is excluded. A twig that forks holds one terminal run per tip.

    Parameters
    ----------
    parent : (n,) int ndarray
        Parent of every node, -1 for roots.
    twig : (n,) int ndarray
        Twig root of every node, -1 off twigs (from :func:`twig_roots`).

    Returns
    -------
    (n,) int64 ndarray
        Top node of the terminal run holding each node, -1 elsewhere.
    """
    n = len(parent)
    kids = np.bincount(parent[parent >= 0], minlength=n)
    top = terminal_runs(topological_order(parent).astype(np.int64), np.asarray(parent, np.int64), kids,
                        np.asarray(twig, np.int64))
    leaf_runs = np.zeros(n, bool)
    leaf_runs[top[(twig >= 0) & (kids == 0)]] = True
    return np.where((top >= 0) & leaf_runs[np.maximum(top, 0)], top, -1)


class EdgeIndex:
    """Nearest skeleton edge for points in space, over a chosen set of edges.

    Parameters
    ----------
    vertices : (n, 3) float
        Skeleton nodes, nm.
    parent : (n,) int
    nodes : (k,) int
        Edges ``node -> parent[node]`` to search (a node without parent counts as a point).
    """

    def __init__(self, vertices: np.ndarray, parent: np.ndarray, nodes: np.ndarray) -> None:
        self.vertices = np.asarray(vertices, float)
        self.parent = np.asarray(parent, np.int64)
        nodes = np.asarray(nodes, np.int64)
        a = self.vertices[nodes]
        b = np.where((self.parent[nodes] >= 0)[:, None], self.vertices[np.maximum(self.parent[nodes], 0)], a)
        n = np.maximum(1, np.ceil(np.linalg.norm(b - a, axis=1) / SAMPLE_SPACING).astype(np.int64)) + 1
        owner = np.repeat(np.arange(len(nodes)), n)
        start = np.concatenate([[0], np.cumsum(n)[:-1]])
        t = (np.arange(n.sum()) - np.repeat(start, n)) / np.repeat(n - 1, n)
        samples = a[owner] + t[:, None] * (b - a)[owner]
        self.sample_node = nodes[owner]
        self.tree = cKDTree(samples)

    def query(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest edge (its child node) and exact distance (nm) for each point.

        Parameters
        ----------
        points : (k, 3) float array-like
            Query points, nm.

        Returns
        -------
        node : (k,) int ndarray
            Child node of the nearest edge (found through samples every :data:`SAMPLE_SPACING` nm).
        distance : (k,) float ndarray
            Distance from each point to that edge, nm.
        """
        points = np.asarray(points, float).reshape(-1, 3)
        _, idx = self.tree.query(points)
        node = self.sample_node[idx]
        return node, distance_to_segments(points, node, self.vertices, self.parent)

    def closest_points(self, points: np.ndarray, node: np.ndarray) -> np.ndarray:
        """Closest point on each given edge (nm).

        Parameters
        ----------
        points : (k, 3) float array-like
            Points, nm.
        node : (k,) int array-like
            Child node of the edge for each point (e.g. from :meth:`query`).

        Returns
        -------
        (k, 3) float ndarray
            Closest points on the edges, nm.
        """
        return segment_points(np.asarray(points, float).reshape(-1, 3), np.asarray(node, np.int64),
                              self.vertices, self.parent)


def tree_adjacency(vertices: np.ndarray, parent: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Undirected CSR adjacency (ptr, neighbour, edge length nm) of the edges among ``nodes``.

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Skeleton nodes, nm.
    parent : (n,) int ndarray
        Parent of every node, -1 for roots.
    nodes : (k,) int ndarray
        Nodes to keep; an edge counts when both its ends are kept.

    Returns
    -------
    ptr : (n + 1,) int64 ndarray
        Neighbours of node ``i`` are ``neighbour[ptr[i]:ptr[i + 1]]``.
    neighbour : int64 ndarray
        Neighbour nodes.
    length : float ndarray
        Length of each listed edge, nm.
    """
    n = len(parent)
    keep = np.zeros(n, bool)
    keep[nodes] = True
    c = np.flatnonzero(keep & (parent >= 0))
    c = c[keep[parent[c]]]
    p = parent[c]
    length = np.linalg.norm(vertices[c] - vertices[p], axis=1)
    src, dst, ln = np.concatenate([c, p]), np.concatenate([p, c]), np.concatenate([length, length])
    ptr, order = group_order(src.astype(np.int64, copy=False), n)
    return ptr, dst[order].astype(np.int64), ln[order]


def group_csr(groups: np.ndarray, n_groups: int, *values: np.ndarray) -> tuple[np.ndarray, ...]:
    """CSR pointer of ``groups`` and the ``values`` sorted by group.

    Parameters
    ----------
    groups : (k,) int ndarray
        Group of every item, in ``0 .. n_groups - 1``.
    n_groups : int
        Number of groups.
    *values : (k, ...) ndarray
        Arrays to reorder with the items (stable sort by group).

    Returns
    -------
    tuple of ndarray
        ``(ptr, *sorted_values)``: items of group ``g`` are ``ptr[g]:ptr[g + 1]``.
    """
    ptr, order = group_order(np.asarray(groups, np.int64), int(n_groups))
    return (ptr, *[np.ascontiguousarray(v[order]) for v in values])


def vertex_neighbours(n_vertices: int, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR (ptr, neighbour) of mesh vertices from unique edges.

    Parameters
    ----------
    n_vertices : int
        Number of mesh vertices.
    edges : (e, 2) int ndarray
        Unique undirected edges (each listed once).

    Returns
    -------
    ptr : (n_vertices + 1,) int64 ndarray
        Neighbours of vertex ``i`` are ``neighbour[ptr[i]:ptr[i + 1]]``.
    neighbour : (2 e,) int64 ndarray
        Neighbour vertices.
    """
    src = np.concatenate([edges[:, 0], edges[:, 1]]).astype(np.int64, copy=False)
    dst = np.concatenate([edges[:, 1], edges[:, 0]])
    ptr, order = group_order(src, int(n_vertices))
    return ptr, dst[order].astype(np.int64)


def head_and_neck_width(tri: np.ndarray, base: np.ndarray, tip: np.ndarray,
                        n_slices: int = N_SLICES) -> tuple[float, float]:
    """Head and neck width (nm) of a spine from its surface triangles (k, 3, 3).

    The spine is cut by ``n_slices`` planes across its base -> tip axis; a section's width is
    the diameter of the circle fitted to its segments, and counts only when the section is
    complete (:mod:`neurograph.spines.sections`). Head width: the
    widest section of the outer 70 %; neck width: the narrowest section between the base and
    the head. One spine through the kernel :func:`neurograph.spines.sections.spine_widths`
    that measures all of them at once.

    Parameters
    ----------
    tri : (k, 3, 3) float ndarray
        Spine surface triangles, nm.
    base, tip : (3,) float ndarray
        Spine base (on the shaft) and tip, nm.
    n_slices : int, default 12
        Cross-sections along the base -> tip axis.

    Returns
    -------
    head_width, neck_width : float
        nm; NaN when the spine has no length, no triangles or no complete section beyond
        the inner 30 %.
    """
    tri = np.ascontiguousarray(tri, dtype=float).reshape(-1, 3, 3)
    k = len(tri)
    head, neck = spine_widths(tri.reshape(-1, 3), np.arange(3 * k, dtype=np.int64).reshape(-1, 3),
                              np.array([0, k], np.int64), np.arange(k, dtype=np.int64), np.zeros(1, np.int64),
                              np.asarray(base, float).reshape(1, 3), np.asarray(tip, float).reshape(1, 3), n_slices)
    return float(head[0]), float(neck[0])


def match_points(found: np.ndarray, truth: np.ndarray, radius: float) -> np.ndarray:
    """One-to-one matching of points, closest pairs first, within ``radius`` (nm).

    Parameters
    ----------
    found, truth : (k, 3) float ndarray
        Points to match, nm.
    radius : float
        Largest distance of a matched pair, nm.

    Returns
    -------
    (k, 2) int ndarray
        Index pairs (found, truth).
    """
    found, truth = np.asarray(found, float).reshape(-1, 3), np.asarray(truth, float).reshape(-1, 3)
    if not len(found) or not len(truth):
        return np.empty((0, 2), np.int64)
    pairs = cKDTree(found).sparse_distance_matrix(cKDTree(truth), radius, output_type="ndarray")
    used_f, used_t, out = set(), set(), []
    for i in np.argsort(pairs["v"], kind="stable"):
        f, t = int(pairs["i"][i]), int(pairs["j"][i])
        if f not in used_f and t not in used_t:
            used_f.add(f)
            used_t.add(t)
            out.append((f, t))
    return np.array(out, np.int64).reshape(-1, 2)
