"""Skeletonize a neuron mesh by geodesic wavefronts started at the soma.

This is the wavefront idea of skeletor's ``by_wavefront`` (the Reeb graph of geodesic
distance: level sets of distance collapse to their centroids), rebuilt for connectomics:

* distances are geodesic in nm along mesh edges (skeletor counts edge hops), so the
  step is a length and does not depend on how finely the mesh is tessellated;
* the wave starts at the whole soma surface, so the soma becomes one root node and
  every limb starts where a neurite leaves it;
* bridges from :func:`neurograph.repair` join the pieces of a fragmented mesh, so one
  connected tree comes out instead of a forest;
* tips are extended to the end of the mesh, and twigs shorter than the local radius
  (bumps, not branches) are folded back into their parent;
* surface protrusions the level sets passed by (short twigs leaning along the wave) become
  twigs of their own (:mod:`neurograph.skeleton.protrusions`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import trimesh

from ..arrays import small_unique, unique
from ..errors import SkeletonError, check_indices, check_number
from ..io.meshes import validate_arrays
from ..mesh.soma import check_somas
from .geodesic import SurfaceGraph, nearest_source_distance, surface_graph
from .protrusions import add_protrusions
from .kernels import (cluster_level_sets, distance_to_segments, face_band_pairs, group_argmax, group_median,
                      reeb_parents, steiner_graph)
from .skeleton import Skeleton
from .tree import fold_nodes, path_lengths, root_labels, topological_order

TIP_INSET = 0.0


def _surface_graph(points: np.ndarray, edges: np.ndarray, bridges: np.ndarray | None) -> tuple[SurfaceGraph, np.ndarray]:
    """Weighted (nm) surface graph, each pair once in each direction
    (:class:`~neurograph.skeleton.geodesic.SurfaceGraph`); and its edges sorted by (low, high)
    end (:func:`~neurograph.skeleton.kernels.undirected_csr`, linear in the number of edges)."""
    n = len(points)
    # the bridges go in as a second list: appending them would copy the millions of edges
    # (both lists C-ordered and of one dtype: the kernel loops over the two as one type)
    edges = np.ascontiguousarray(edges)
    extra = _check_bridges(bridges, n).astype(edges.dtype, order="C", copy=False)
    if max(n, len(edges) + len(extra)) >= 2 ** 31 - 1:
        raise SkeletonError(f"the surface graph has {n} points and {len(edges) + len(extra)} edges, more than its "
                            "32-bit indices hold; decimate the mesh first (repair(..., target_faces=...) or "
                            "extract(..., decimate=...))")
    return surface_graph(np.asarray(points, dtype=float), edges, extra)


def _check_bridges(bridges: np.ndarray | None, n: int) -> np.ndarray:
    """``bridges`` as a (k, 2) int64 array of point pairs in ``[0, n)`` (empty for None); a
    SkeletonError for anything else (the Numba kernels read the indices unchecked)."""
    if bridges is None:
        return np.empty((0, 2), np.int64)
    try:
        arr = np.asarray(bridges)
    except (TypeError, ValueError) as exc:
        raise SkeletonError(f"bridges must be (k, 2) vertex pairs: {exc}") from None
    if arr.size == 0:
        return np.empty((0, 2), np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise SkeletonError(f"bridges must be (k, 2) vertex pairs, got an array of shape {arr.shape}")
    arr = check_indices(arr, "bridges (vertex pairs)", SkeletonError)
    if arr.min() < 0 or arr.max() >= n:
        raise SkeletonError(f"bridges must index the mesh's vertices, [0, {n - 1}]; found [{arr.min():.0f}, "
                            f"{arr.max():.0f}] (pass the RepairResult.bridges of the mesh being skeletonized)")
    return arr


def _every_piece_covered(mesh_edges: np.ndarray, bridges: np.ndarray, n_vertices: int, covered: np.ndarray) -> bool:
    """Whether every connected piece of the mesh (its edges and the bridges) holds a vertex of
    ``covered`` (point indices; Steiner points, numbered after the vertices, are not looked at).
    Then :func:`_extra_roots` finds no piece without a soma: every Steiner point lies on a mesh
    edge and every chord inside a face, so the surface graph's pieces are the mesh's, and its own
    union-find over ~10x the pairs is spared. False sends the caller to that one, exact either way."""
    labels = cluster_level_sets(np.vstack([mesh_edges, bridges.astype(mesh_edges.dtype)]),
                                np.zeros(n_vertices, np.int64), np.zeros(n_vertices, bool))
    own = covered[covered < n_vertices]
    return len(unique(labels)) == len(unique(labels[own]))


def _extra_roots(graph: SurfaceGraph, pairs: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """One root per connected piece without a soma: the end of a longest geodesic path (the
    point farthest from the piece's lowest-numbered point; the first such on ties). Pieces
    by union-find over the graph's ``pairs``, each labelled by its lowest point."""
    n = graph.n
    labels = cluster_level_sets(pairs, np.zeros(n, np.int64), np.zeros(n, bool))
    pieces = np.setdiff1d(unique(labels), unique(labels[covered]), assume_unique=True)
    if len(pieces) == 0:
        return np.empty(0, np.int64)
    dist = nearest_source_distance(graph, pieces)
    return group_argmax(dist, labels, n)[pieces].astype(np.int64)


def skeletonize(mesh: trimesh.Trimesh, somas: Sequence | None = None, bridges: np.ndarray | None = None,
                step: float | str = 300.0, prune_factor: float = 0.5, ring_bands: bool = False,
                protrusion_ratio: float | None = None) -> Skeleton:
    """Skeletonize a neuron mesh into a tree rooted at its soma(s).

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Neuron mesh in nm, ideally from :func:`neurograph.repair`.
    somas : list of Soma, optional
        From :func:`neurograph.find_somas`. Each soma becomes one root node at its centre,
        holding the surface within 1.15 radii connected to its faces' vertices (or those
        vertices, when the mesh's triangles are larger than the soma). Somata must not share
        their surface (``find_somas`` gives them disjoint). Without somas each connected
        piece is rooted at one end of its longest geodesic path.
    bridges : (k, 2) int array, optional
        Extra vertex pairs to treat as edges (``RepairResult.bridges``).
    step : float or "auto", default 300
        Width in nm of each geodesic level set collapsed into one node. ``"auto"`` uses
        twice the median mesh edge length (clipped to 200-1000 nm). Smaller steps resolve
        shorter twigs, but on meshes with edges several times longer than the step (decimated
        meshes) rings break into stubs and zig-zag (see ``ring_bands``); edges longer than
        ``step / 2`` get Steiner points first.
    prune_factor : float, default 0.5
        Terminal twigs shorter than ``prune_factor`` times the radius of the node they
        hang from are bumps, not branches: they are merged into that node.
    ring_bands : bool, default False
        Also join the points of one face that fall in the same level set
        (:func:`neurograph.skeleton.kernels.face_band_pairs`). On coarse, irregular meshes
        (long thin triangles, e.g. the decimated hemibrain meshes with ~1 µm edges) the
        Steiner chords can miss a level set crossing a face obliquely, and its ring breaks
        into side-by-side nodes: zig-zag and one-node stubs, more of them the smaller the
        step. Joining fixes those, but it also merges a thin twig running along its parent
        through shared faces; on the hemibrain DA1 meshes it removes about as many real
        twigs as spurious ones (``benchmarks/hemibrain_cable.py``), so it is off by default.
    protrusion_ratio : float or None, default None (off)
        Mesh vertices farther from the skeleton than this many times their node's radius
        (and more than one ``step`` beyond it) are the tips of twigs the level sets passed
        by; each connected patch of them becomes a twig
        (:func:`neurograph.skeleton.protrusions.add_protrusions`). 2 is a good value for
        neurons without spines (:func:`neurograph.extract` uses it when spines are not
        detected); on spiny dendrites such protrusions are spines, left to the spine step.

    Returns
    -------
    Skeleton
        Nodes in nm with radii (median distance of their mesh vertices to the skeleton)
        and ``vertex_map`` giving the node of every mesh vertex.

    Raises
    ------
    MeshError
        NaN or infinite vertices, face indices outside the vertices, or no face with area.
    InputError
        A soma that is not a :class:`~neurograph.Soma` with a finite centre (nm), a positive
        radius and face indices of this mesh.
    SkeletonError
        An empty mesh, bridges that are not pairs of this mesh's vertex indices, a bad step, a
        soma without faces, a soma whose every point
        belongs to another soma (the same soma given twice), or a surface graph beyond 32-bit
        indices (2**31 points or edges: decimate first).
    """
    n_vertices = len(mesh.vertices)
    if n_vertices == 0 or len(mesh.faces) == 0:
        raise SkeletonError("cannot skeletonize an empty mesh")
    validate_arrays(mesh.vertices, mesh.faces)  # the kernels below read indices unchecked
    somas = check_somas(somas, len(mesh.faces))
    bridges = _check_bridges(bridges, n_vertices)
    if step == "auto":
        step = float(np.clip(2.0 * np.median(np.asarray(mesh.edges_unique_length)), 200.0, 1000.0))
    step = check_number(step, "step", "nm", positive=True, error=SkeletonError)
    prune_factor = check_number(prune_factor, "prune_factor", error=SkeletonError)
    if protrusion_ratio is not None:
        protrusion_ratio = check_number(protrusion_ratio, "protrusion_ratio", error=SkeletonError)
    # Level sets need several points around each ring: add Steiner points on long edges.
    mesh_vertices = np.asarray(mesh.vertices, dtype=float)
    mesh_edges = np.asarray(mesh.edges_unique, np.int64)
    face_edges = np.asarray(mesh.faces_unique_edges, np.int64)
    try:
        points, edges = steiner_graph(mesh_vertices, mesh_edges, face_edges, step / 2.0)
    except ValueError as exc:  # beyond 32-bit indices
        raise SkeletonError(f"{exc} (mesh of {len(mesh.faces)} faces at step {step:g} nm)") from None
    graph, edges = _surface_graph(points, edges, bridges)

    # Sources: soma points (label = soma index) and one root per soma-less piece.
    soma_of_vertex = _assign_soma_points(points, edges, mesh, somas)
    soma_vertices = np.flatnonzero(soma_of_vertex >= 0)
    roots = np.empty(0, np.int64)
    if not _every_piece_covered(mesh_edges, bridges, n_vertices, soma_vertices):
        roots = _extra_roots(graph, edges, soma_vertices)
    sources = np.concatenate([soma_vertices, roots])
    dist = nearest_source_distance(graph, sources)

    # Level sets: soma vertices are fixed into one cluster per soma.
    bins = np.floor(dist / step).astype(np.int64)
    fixed = soma_of_vertex >= 0
    bins[fixed] = -1 - soma_of_vertex[fixed]
    if ring_bands:
        bands = face_band_pairs(mesh_vertices, mesh_edges, face_edges, step / 2.0, bins)
        labels = cluster_level_sets(np.vstack([edges, bands.astype(edges.dtype)]), bins, fixed)
    else:
        labels = cluster_level_sets(edges, bins, fixed)
    # Soma vertices of one soma may lie in several pieces: give them one label.
    for i in range(len(somas)):
        members = soma_of_vertex == i
        labels[members] = labels[members].min()
    uniq, node_of_vertex = small_unique(labels, len(points))  # labels are point indices
    n_nodes = len(uniq)

    counts = np.bincount(node_of_vertex, minlength=n_nodes)
    nodes = np.column_stack([np.bincount(node_of_vertex, weights=points[:, k], minlength=n_nodes)
                             for k in range(3)]) / counts[:, None]
    soma_nodes = np.array([node_of_vertex[np.flatnonzero(soma_of_vertex == i)[0]] for i in range(len(somas))],
                          dtype=np.int64)
    for i, soma in enumerate(somas):
        nodes[soma_nodes[i]] = soma.center

    node_bin = np.full(n_nodes, np.iinfo(np.int64).max)
    np.minimum.at(node_bin, node_of_vertex, bins)
    parent = reeb_parents(edges, node_of_vertex, node_bin)
    parent[soma_nodes] = -1

    radius = np.zeros(n_nodes)
    radius[soma_nodes] = [soma.radius for soma in somas]
    skeleton = Skeleton(nodes, parent, radius, node_of_vertex, soma_nodes)
    skeleton = _absorb_into_somas(skeleton)
    _measure_radii(skeleton, points, somas)
    skeleton = _prune_twigs(skeleton, prune_factor, points, somas)
    skeleton = _extend_tips(skeleton, points, dist)
    if protrusion_ratio:
        skeleton, added = add_protrusions(skeleton, points, mesh_edges, n_vertices, float(protrusion_ratio), step)
        if added:
            _measure_radii(skeleton, points, somas)
    skeleton.vertex_map = skeleton.vertex_map[:n_vertices]
    return skeleton


def _soma_points(points: np.ndarray, edges: np.ndarray, seeds: np.ndarray, soma) -> np.ndarray:
    """Points within ``1.15 * radius`` of the soma centre and connected there to the
    soma's own vertices ``seeds``: a border smooth at the Steiner-point resolution (the
    faces' border is jagged, and each tooth would start a stub limb).

    A soma's faces are those whose *centroid* lies within ``1.15 * radius``; on a mesh
    whose triangles are large next to the soma, all of their vertices can lie farther out,
    and then the soma's own vertices ``seeds`` are its points."""
    near = np.linalg.norm(points - soma.center, axis=1) <= 1.15 * soma.radius
    # connected pieces of the near points: a level set of its own (0) for the near points, one
    # for each other point (never joined)
    idx = np.flatnonzero(near)
    bins = -1 - np.arange(len(points), dtype=np.int64)
    bins[idx] = 0
    label = cluster_level_sets(edges, bins, np.zeros(len(points), bool))
    good = unique(label[seeds[near[seeds]]])
    if len(good) == 0:
        return np.asarray(seeds, dtype=np.int64)
    return idx[np.isin(label[idx], good)]


def _assign_soma_points(points: np.ndarray, edges: np.ndarray, mesh: trimesh.Trimesh, somas: Sequence) -> np.ndarray:
    """Soma index of every graph point (-1: none); each soma becomes one root node holding
    its points. A point claimed by several somata goes to the one whose own vertex it is
    (the vertices of its faces), else to the one it is nearest to relative to the radius.
    Somata sharing no vertex (as :func:`neurograph.find_somas` gives them) all keep points."""
    soma_of_vertex = np.full(len(points), -1, np.int64)
    score = np.full(len(points), np.inf)
    for i, soma in enumerate(somas):
        faces = np.asarray(soma.faces, dtype=np.int64)
        if len(faces) == 0:
            raise SkeletonError(f"soma {i} ({soma!r}) has no mesh faces; a soma needs its surface faces "
                                "(neurograph.find_somas gives them)")
        seeds = unique(mesh.faces[faces])
        own = _soma_points(points, edges, seeds, soma)
        rel = np.linalg.norm(points[own] - np.asarray(soma.center, dtype=float), axis=1) / float(soma.radius)
        rel[np.isin(own, seeds)] -= 1e6  # its own vertices first
        better = rel < score[own]
        soma_of_vertex[own[better]] = i
        score[own[better]] = rel[better]
    counts = np.bincount(soma_of_vertex[soma_of_vertex >= 0], minlength=len(somas))
    if (counts == 0).any():
        i = int(np.flatnonzero(counts == 0)[0])
        raise SkeletonError(f"soma {i} ({somas[i]!r}) shares its whole surface with other somata, each of its "
                            "points is nearer to another one; pass each soma once, with faces of its own "
                            "(as neurograph.find_somas does)")
    return soma_of_vertex


def _absorb_into_somas(skeleton: Skeleton) -> Skeleton:
    """Merge into its soma every node inside the soma's sphere and reached from it without
    leaving the sphere: neurites leave the soma's surface separately, and a branch point
    inside the cell body is an artefact of the surface (holes, inner folds, two neurite
    bases meeting in one level set before the soma points end), not a fork of a neurite.
    Needs ``radius`` set at the soma nodes (nm)."""
    parent = skeleton.parent
    order = topological_order(parent)
    root = root_labels(order, parent)
    centre = skeleton.vertices[root]
    inside = np.linalg.norm(skeleton.vertices - centre, axis=1) < skeleton.radius[root]
    is_soma_root = np.zeros(len(parent), bool)
    is_soma_root[skeleton.soma_nodes] = True
    outside_on_path = path_lengths(order, parent, (~inside).astype(float))
    absorb = is_soma_root[root] & (outside_on_path == 0) & (parent >= 0)
    if not absorb.any():
        return skeleton
    merged_into = np.arange(len(parent))
    merged_into[absorb] = root[absorb]
    return fold_nodes(skeleton, merged_into)[0]


def _measure_radii(skeleton: Skeleton, points: np.ndarray, somas: Sequence) -> None:
    d = distance_to_segments(points, skeleton.vertex_map, skeleton.vertices, skeleton.parent)
    skeleton.radius = group_median(d, skeleton.vertex_map, skeleton.n_nodes)
    for node, soma in zip(skeleton.soma_nodes, somas):
        skeleton.radius[node] = soma.radius


def _prune_twigs(skeleton: Skeleton, factor: float, points: np.ndarray, somas: Sequence) -> Skeleton:
    """Merge terminal twigs shorter than ``factor`` x the radius where they attach."""
    from .edit import collapse_twigs

    pruned = collapse_twigs(skeleton, factor)
    if pruned.n_nodes != skeleton.n_nodes:
        _measure_radii(pruned, points, somas)
    return pruned


def _extend_tips(skeleton: Skeleton, points: np.ndarray, dist: np.ndarray) -> Skeleton:
    """Move each leaf node out to the end of its neurite (farthest vertex, less one radius)."""
    leaves = np.flatnonzero((skeleton.children_count() == 0) & (skeleton.parent >= 0))
    vm = skeleton.vertex_map
    far = group_argmax(dist, vm, skeleton.n_nodes)[leaves]
    leaves, far = leaves[far >= 0], far[far >= 0]  # a leaf holding no point has nothing to reach
    tip = points[far]
    vec = tip - skeleton.vertices[leaves]
    length = np.linalg.norm(vec, axis=1)
    reach = np.maximum(length - TIP_INSET * np.nan_to_num(skeleton.radius[leaves]), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(length[:, None] > 0, vec / length[:, None], 0.0)
    skeleton.vertices[leaves] = skeleton.vertices[leaves] + unit * reach[:, None]
    return skeleton
