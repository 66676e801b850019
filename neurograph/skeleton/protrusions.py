"""Twigs the level sets missed: mesh protrusions standing out far beyond the local radius.

A wavefront (Reeb graph) skeleton makes a branch only where a level set of geodesic
distance splits into two rings. A short twig leaning forward, along the direction the
wave travels, is reached by the same level sets as its parent a little farther on, so its
points join the parent's rings and no branch is made: the twig's surface is there, but the
skeleton passes by it. On decimated meshes (the hemibrain's ~1 µm edges) most terminal twigs
of fly dendrites (~1 µm long, ~80 nm radius) are such bumps of a few vertices.

:func:`add_protrusions` finds them from the surface itself: a mesh vertex more than
``ratio`` times the local radius from the skeleton (and at least ``min_height`` nm beyond
that radius) lies outside the neurite's tube; a round or elliptic cross-section puts its
vertices within ~1.5 median radii of the axis, a twig puts them farther out. Each
connected patch of such vertices becomes one twig: an edge from the node of its farthest
vertex out to that vertex, with the patch's vertices moved to the new node. The twig's
cable is counted from the parent's axis, as a reference tracing counts it.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from .kernels import distance_to_segments, group_median
from .skeleton import Skeleton

#: default ``ratio`` of :func:`neurograph.extract` for neurons without spines
PROTRUSION_RATIO = 2.0


def local_radius(skeleton: Skeleton, radius: np.ndarray | None = None) -> np.ndarray:
    """Largest radius (nm) of each node and its tree neighbours (parent, children), each taken
    as the median over itself and its neighbours; NaN as 0.

    A node's own radius (``radius``, default ``skeleton.radius``) is the median distance of
    its surface points; next to a tip or a blunt cut end (a flat cap whose points lie mostly
    near the axis) it can be much smaller than the neurite's, and the rim would look like a
    protrusion against it.
    """
    radius = np.nan_to_num(np.asarray(skeleton.radius if radius is None else radius, dtype=float))
    child = np.flatnonzero(skeleton.parent >= 0)
    up = skeleton.parent[child]
    # first the median over the node and its neighbours: a ring crossed by a protrusion's
    # long edges (a coarse mesh's twig is one vertex pulled out) is as wide as the twig is
    # tall, its neighbours are not
    node = np.concatenate([np.arange(len(radius)), up, child])
    value = np.concatenate([radius, radius[child], radius[up]])
    robust = group_median(value, node, len(radius))
    out = robust.copy()
    np.maximum.at(out, up, robust[child])
    out[child] = np.maximum(out[child], robust[up])
    return out


def protrusion_tips(skeleton: Skeleton, points: np.ndarray, mesh_edges: np.ndarray, n_vertices: int,
                    ratio: float = 2.0, min_height: float = 300.0,
                    radius: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Tips of mesh protrusions the skeleton does not reach.

    Parameters
    ----------
    skeleton : Skeleton
        Tree in nm with radii and ``vertex_map`` over ``points``.
    points : (p, 3) float ndarray
        Surface points (nm); the first ``n_vertices`` are the mesh vertices.
    mesh_edges : (e, 2) int ndarray
        Mesh edges between vertices (indices < ``n_vertices``).
    n_vertices : int
        Number of mesh vertices (only they can be tips: Steiner points lie between them).
    ratio : float, default 2.0
        A vertex is out of the tube when its distance to its node's skeleton edge exceeds
        ``ratio`` x the node's :func:`local_radius`.
    min_height : float, default 300
        ... and exceeds the radius by at least this many nm (one wavefront step: a smaller
        bump is below the skeleton's resolution).
    radius : (n,) float ndarray, optional
        :func:`local_radius` of the skeleton (nm), when the caller has it.

    Returns
    -------
    tips : (k,) int64 ndarray
        Point index of each protrusion's farthest vertex.
    patch : (n_vertices,) int64 ndarray
        Protrusion (index into ``tips``) of each mesh vertex, -1 for none.
    """
    vm = skeleton.vertex_map[:n_vertices]
    d = distance_to_segments(points[:n_vertices], vm, skeleton.vertices, skeleton.parent)
    r = (local_radius(skeleton) if radius is None else radius)[vm]
    n_children = skeleton.children_count()
    # roots (somata) and tips (already extended to the end of their neurite) are left alone
    inner = (skeleton.parent[vm] >= 0) & (n_children[vm] > 0)
    out = inner & (r > 0) & (d > ratio * r) & (d - r > min_height)
    patch = np.full(n_vertices, -1, np.int64)
    idx = np.flatnonzero(out)
    if len(idx) == 0:
        return np.empty(0, np.int64), patch
    e = np.asarray(mesh_edges, np.int64)
    e = e[out[e[:, 0]] & out[e[:, 1]]]
    graph = sparse.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n_vertices, n_vertices))
    _, label = connected_components(graph, directed=False)
    lab = label[idx]
    order = np.lexsort((-d[idx], lab))
    first = np.r_[True, lab[order][1:] != lab[order][:-1]]
    tips = idx[order][first]
    _, which = np.unique(lab, return_inverse=True)  # patch number, in the order of ``tips``
    patch[idx] = which.ravel()
    return tips.astype(np.int64), patch


def add_protrusions(skeleton: Skeleton, points: np.ndarray, mesh_edges: np.ndarray, n_vertices: int,
                    ratio: float = 2.0, min_height: float = 300.0) -> tuple[Skeleton, int]:
    """Add one terminal twig per protrusion of the surface beyond the skeleton's tube.

    Parameters
    ----------
    skeleton, points, mesh_edges, n_vertices, ratio, min_height
        As in :func:`protrusion_tips`.

    Returns
    -------
    Skeleton
        ``skeleton`` with one new leaf node per protrusion (at its farthest vertex, parent:
        that vertex's node; radius NaN, to be measured by the caller) and the protrusion's
        vertices mapped to it; ``skeleton`` itself when there is none.
    int
        Number of twigs added.
    """
    radius = local_radius(skeleton)
    tips, patch = protrusion_tips(skeleton, points, mesh_edges, n_vertices, ratio, min_height, radius)
    k = len(tips)
    if k == 0:
        return skeleton, 0
    n = skeleton.n_nodes
    vertex_map = skeleton.vertex_map.copy()
    hit = np.flatnonzero(patch >= 0)
    vertices = _without_protrusions(skeleton, points, hit, ratio * radius)
    vertex_map[hit] = n + patch[hit]
    grown = Skeleton(np.vstack([vertices, points[tips]]),
                     np.concatenate([skeleton.parent, skeleton.vertex_map[tips]]),
                     np.concatenate([skeleton.radius, np.full(k, np.nan)]), vertex_map, skeleton.soma_nodes.copy(),
                     np.concatenate([skeleton.node_type, np.zeros(k, np.int8)]))
    return grown, k


def _without_protrusions(skeleton: Skeleton, points: np.ndarray, hit: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """Node positions with the protrusions taken out of their level sets.

    An inner node sits at the centroid of its level set's points (nm); a protrusion pulled
    it towards the twig. Each node that lost vertices (``hit``) to a protrusion (an inner
    node: :func:`protrusion_tips` takes none from roots or tips) moves to the centroid of its
    points within ``reach`` (nm, per node: ``ratio`` local radii) of it (on a coarse mesh the
    Steiner points on the protrusion's long edges go too), so that the twig is measured
    from nearer the neurite's axis.
    """
    vertices = skeleton.vertices.copy()
    vm = skeleton.vertex_map
    n = skeleton.n_nodes
    moved = np.zeros(n, bool)
    moved[vm[hit]] = True
    own = np.flatnonzero(moved[vm])
    node = vm[own]
    keep = np.linalg.norm(points[own] - vertices[node], axis=1) <= reach[node]
    count = np.bincount(node[keep], minlength=n)
    sums = np.column_stack([np.bincount(node[keep], weights=points[own[keep], k], minlength=n) for k in range(3)])
    ok = moved & (count > 0)
    vertices[ok] = sums[ok] / count[ok, None]
    return vertices
