"""Shaft axis and radius of spiny dendrites (step 2 of :mod:`neurograph.spines.detect`), nm."""

from __future__ import annotations

import numpy as np

from ..skeleton.tree import edge_lengths
from .geometry import EdgeIndex, group_csr, tree_adjacency
from .shaft_kernels import window_circle_fit, window_shaft_radius

RECENTRE_ITERATIONS = 2  # passes moving shaft skeleton nodes onto the shaft axis
SMOOTH_ROUNDS = 3  # Laplacian smoothing passes over the re-centred shaft skeleton
TANGENT_SPAN = 1.0  # x window: arc length each side over which the shaft direction is taken


def vertex_area(mesh) -> np.ndarray:
    """A third of the area of every face around each mesh vertex (nm²)."""
    faces = np.asarray(mesh.faces)
    return np.bincount(faces.ravel(), weights=np.repeat(np.asarray(mesh.area_faces) / 3.0, 3),
                       minlength=len(mesh.vertices))


def _shaft_radius(index: EdgeIndex, nodes: np.ndarray, n_nodes: int, points: np.ndarray, weight: np.ndarray,
                  window: float, adjacency: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest edge, distance and the per-node local shaft radius (nm) from ``points``
    (``adjacency``: :func:`tree_adjacency` of the index's skeleton over ``nodes``)."""
    seg, dist = index.query(points)
    ptr, adj, adj_len = adjacency
    node_ptr, vals, w = group_csr(seg, n_nodes, dist, weight)
    radius = window_shaft_radius(ptr, adj, adj_len, node_ptr, vals, w, window, 0.5, 12)
    known = np.isfinite(radius[nodes])
    fill = float(np.median(radius[nodes][known])) if known.any() else float(np.median(dist)) if len(dist) else 0.0
    radius[nodes[~known]] = fill
    return seg, dist, radius


def _tangents(pos: np.ndarray, parent: np.ndarray, nodes: np.ndarray, span: float = 0.0) -> np.ndarray:
    """Unit direction of the skeleton at ``nodes``: the chord between the nodes about
    ``span`` nm of arc length up and down the skeleton among ``nodes`` (one edge each way
    when ``span`` is 0). Wavefront nodes scatter off the axis by up to a few hundred nm
    near spines, so the direction of a single edge can be tens of degrees off the shaft."""
    n = len(pos)
    inside = np.zeros(n, bool)
    inside[nodes] = True
    kids = nodes[parent[nodes] >= 0]
    kids = kids[inside[parent[kids]]]
    n_kids = np.bincount(parent[kids], minlength=n)
    child = np.arange(n)
    child[parent[kids]] = kids
    par = np.arange(n)
    par[kids] = parent[kids]
    t = np.zeros((n, 3))
    t[nodes] = pos[par[nodes]] - pos[child[nodes]]
    el = edge_lengths(pos, parent)
    step = float(np.median(el[kids])) if len(kids) else 0.0
    hops = int(round(span / step)) if span > 0 and step > 0 else 0
    if hops > 1:
        # the chord stays within the branch: walks stop at branch nodes
        child[n_kids != 1] = np.flatnonzero(n_kids != 1)
        up, down = nodes.copy(), nodes.copy()
        for _ in range(hops):
            up = np.where(n_kids[up] > 1, up, par[up])
            down = child[down]
        chord = pos[up] - pos[down]
        long = np.linalg.norm(chord, axis=1) > 0
        t[nodes[long]] = chord[long]
    norm = np.linalg.norm(t, axis=1, keepdims=True)
    return np.divide(t, norm, out=np.zeros_like(t), where=norm > 0)


def fit_shaft(pos: np.ndarray, parent: np.ndarray, nodes: np.ndarray, points: np.ndarray, weight: np.ndarray,
               window: float, tolerance: float, relative: float, fixed: np.ndarray | None = None,
               fixed_radius: np.ndarray | None = None,
               with_index: bool = True) -> tuple[np.ndarray, np.ndarray, EdgeIndex | None]:
    """Shaft axis and radius at ``nodes``: start from the shorth of the distances to the
    skeleton, then robust circle fits across the skeleton (which also move the nodes onto
    the shaft axis). Nodes in ``fixed`` (cut ends: centres of cut cross-sections) keep their
    position and take ``fixed_radius``. Returns node positions, radii (nm) and the edge
    index over them (None with ``with_index=False``: a caller that needs only the radii
    saves building it)."""
    n = len(pos)
    pos = pos.copy()
    fixed = np.empty(0, np.int64) if fixed is None else np.asarray(fixed, np.int64)
    index = EdgeIndex(pos, parent, nodes)
    ptr, adj, adj_len = tree_adjacency(pos, parent, nodes)
    seg, _, radius = _shaft_radius(index, nodes, n, points, weight, window, (ptr, adj, adj_len))
    radius[fixed] = fixed_radius
    start = pos[fixed]
    for it in range(RECENTRE_ITERATIONS):
        if it:
            seg, _ = index.query(points)
        node_ptr, p_sorted, w_sorted = group_csr(seg, n, points, weight)
        centre, r = window_circle_fit(ptr, adj, adj_len, node_ptr, p_sorted, w_sorted, pos,
                                      _tangents(pos, parent, nodes, TANGENT_SPAN * window), radius, window,
                                      tolerance / 2, relative / 2, 12)
        pos[nodes], radius[nodes] = centre[nodes], r[nodes]
        pos[fixed], radius[fixed] = start, fixed_radius
        index = EdgeIndex(pos, parent, nodes) if with_index or it + 1 < RECENTRE_ITERATIONS else None
    return pos, radius, index


def smooth_chains(pos: np.ndarray, parent: np.ndarray, nodes: np.ndarray, rounds: int = SMOOTH_ROUNDS) -> np.ndarray:
    """Laplacian smoothing (1/4, 1/2, 1/4) of ``nodes`` with one parent and one child among
    ``nodes``: the fitted axis points scatter by tens of nm, which would add length."""
    n = len(pos)
    inside = np.zeros(n, bool)
    inside[nodes] = True
    kids = nodes[(parent[nodes] >= 0)]
    kids = kids[inside[parent[kids]]]
    n_kids = np.bincount(parent[kids], minlength=n)
    child = np.full(n, -1)
    child[parent[kids]] = kids
    move = nodes[(n_kids[nodes] == 1) & (parent[nodes] >= 0)]
    move = move[inside[parent[move]]]
    out = pos.copy()
    for _ in range(rounds):
        out[move] = 0.25 * out[parent[move]] + 0.5 * out[move] + 0.25 * out[child[move]]
    return out


def final_shaft_radius(neuron, off_spine: np.ndarray, area_v: np.ndarray, window: float, tolerance: float,
                        relative: float) -> np.ndarray:
    """Shaft radius (nm) per node of the final skeleton, from non-spine, non-soma vertices."""
    skel = neuron.skeleton
    is_soma = np.zeros(skel.n_nodes, bool)
    is_soma[skel.soma_nodes] = True
    nodes = np.flatnonzero(~is_soma)
    use = np.flatnonzero(off_spine & ~is_soma[skel.vertex_map])
    radius = np.full(skel.n_nodes, np.nan)
    if len(nodes) and len(use):
        _, r, _ = fit_shaft(skel.vertices, skel.parent, nodes, np.asarray(neuron.mesh.vertices)[use], area_v[use],
                             window, tolerance, relative, with_index=False)
        radius[nodes] = r[nodes]
    return radius


