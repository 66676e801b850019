"""Dendritic spines: protrusions from the dendritic shaft, found on the mesh.

Method (pure numpy + Numba, no mesh segmentation library):

1. **Shaft skeleton.** Short side twigs of the skeleton (a subtree hanging off a branch
   node, shorter than ``max_length`` + the local radius, not the child with the largest
   subtree volume) are what the wavefront skeletonizer makes of spines; they are set
   aside, and the rest is the shaft skeleton. A soma-less piece is first re-rooted at a
   dendrite end: the end of its volume-weighted diameter (spine necks are thin), not the
   end of its longest path (often a spine tip). A soma-less segment cut out of a volume
   (open boundary loops at least ``2 pi x 150`` nm round, :func:`spine_geometry.cut_ends`)
   gets one node at the centre of each cut end; it is rooted at the widest, and the paths
   between the cut ends are shaft.
2. **Shaft axis and radius.** Mesh vertices of shaft nodes (soma and twig vertices
   excepted) are measured to their nearest shaft skeleton edge. The first radius estimate
   per node is the centre of the densest half (the *shorth*, area-weighted) of those
   distances within ``window`` nm of arc length: the shaft wall is a tight cluster of
   distances, spines spread out above it. Robust circle fits across the skeleton
   direction (taken as the chord over ``window`` nm each side: single wavefront edges can
   be tens of degrees off near spines), Tukey-weighted, scale shrinking to the shaft
   tolerance, then refine the radius and move the nodes onto the shaft axis (cut-end
   nodes stay at the centre of their cut); the moved nodes are smoothed along the skeleton.
3. **Protrusions.** Vertices more than ``max(shaft_tolerance, relative_tolerance x r)``
   beyond the shaft surface seed candidates (connected pieces on the mesh surface; not on
   a cut end's rim); each grows down to ``grow_tolerance`` above the surface (neighbouring
   candidates split where their fronts meet). A candidate holding the tips of several
   skeleton twigs (touching spines) is split, one part per tip. Candidates with a length
   and volume within the limits are spines.
4. **Features.** Base: the centroid of the spine's foot (the vertices just outside it, on
   the shaft surface), and the closest shaft skeleton point to it. Length: base to the
   farthest vertex. Volume: the spine surface closed at its foot. Head / neck width:
   widest / narrowest cross-section.
5. **Folding.** Skeleton twigs that end in a spine (or a smaller bump), or whose mesh
   vertices never rise ``min_length`` above the shaft surface, are removed and their mesh
   vertices handed to the shaft node they hang from, so that a spiny dendrite is one
   branch per true branch; the branch graph is rebuilt. Shaft width is then re-measured
   without the spine vertices.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..errors import DataWarning, InputError, check_number, renamed_parameters
from ..graph.annotations import carry_annotations, register_annotation
from ..graph.neuron import Neuron, decompose
from ..skeleton import Skeleton
from ..skeleton.kernels import face_owner, group_argmax, group_median
from ..skeleton.tree import edge_lengths, fold_nodes
from .geometry import (EdgeIndex, cut_ends, group_csr, reroot_at_thick_end, terminal_segments, twig_roots,
                       vertex_neighbours)
from .kernels import grow_labels, root_at_cut_ends, spine_extent
from .sections import N_SLICES, spine_widths
from .shaft import final_shaft_radius, fit_shaft, smooth_chains, vertex_area

#: spine table column -> (unit, description)
SPINE_COLUMNS: dict[str, tuple[str, str]] = {
    "branch": ("", "branch the spine sits on"),
    "node": ("", "skeleton node at the spine's base"),
    "n_faces": ("", "mesh faces of the spine (``Neuron.face_spine``)"),
    "base_x": ("nm", "base point: where the spine leaves the shaft surface"),
    "base_y": ("nm", ""), "base_z": ("nm", ""),
    "skeleton_x": ("nm", "base point on the skeleton (closest skeleton point to the base)"),
    "skeleton_y": ("nm", ""), "skeleton_z": ("nm", ""),
    "tip_x": ("nm", "vertex of the spine farthest from the base"),
    "tip_y": ("nm", ""), "tip_z": ("nm", ""),
    "length": ("µm", "base to tip"),
    "volume": ("µm³", "volume outside the shaft (spine surface closed at its rim)"),
    "area": ("µm²", "surface area of the spine's faces"),
    "head_width": ("nm", "widest complete cross-section of the outer 70 % of the spine (NaN: none)"),
    "neck_width": ("nm", "narrowest complete cross-section between base and head (NaN: none)"),
    "shaft_radius": ("nm", "local shaft radius at the base"),
}

#: per-branch columns added to ``Neuron.branches`` by :func:`detect_spines`
SPINE_BRANCH_COLUMNS: dict[str, tuple[str, str]] = {
    "n_spines": ("", "spines on the branch"),
    "spine_density": ("1/µm", "spines per µm of branch length"),
    "spine_volume_density": ("µm³/µm", "spine volume per µm of branch length"),
    "shaft_width_median": ("nm", "median of 2 x the local shaft radius (spines excluded) over the branch's nodes"),
}

RADIUS_CAP = 1500.0  # nm: largest node radius added to max_length when deciding what is a twig
CUT_MIN_RADIUS = 150.0  # nm: open boundary loops at least this wide (perimeter / 2 pi) are cut ends
GROW_REACH = 250.0  # nm: a spine grows down to its rim only this far from its seed part


def _check(neuron, **limits: float) -> None:
    if getattr(neuron, "mesh", None) is None or neuron.skeleton.vertex_map is None:
        raise InputError("spine detection needs a neuron made from a mesh (neuron.mesh and skeleton.vertex_map)")
    for name, value in limits.items():
        check_number(value, name)
    if limits["max_length"] <= limits["min_length"] or limits["max_volume_um3"] <= limits["min_volume_um3"]:
        raise InputError("spine limits must satisfy min_length < max_length and min_volume_um3 < max_volume_um3")
    ratio = (getattr(neuron, "settings", None) or {}).get("protrusion_ratio")
    if isinstance(ratio, (int, float)) and ratio > 0:
        warnings.warn(
            f"{getattr(neuron, 'name', 'neuron')}: its skeleton carries protrusion twigs (extracted with "
            f"protrusion_ratio={ratio:g}: twigs for surface protrusions, meant for neurons without spines and on by "
            "default when spines=False); "
            "detect_spines on such a skeleton counts more false spines (about 1 % more on the synthetic spine "
            "benchmark). For spines, extract with spines=True, or with spines=False, protrusion_ratio=0.0 and then "
            "detect_spines.", DataWarning, stacklevel=4)


@renamed_parameters(min_volume="min_volume_um3", max_volume="max_volume_um3")
def detect_spines(neuron, min_length: float = 300.0, max_length: float = 3000.0, min_volume_um3: float = 0.005,
                  max_volume_um3: float = 2.0, shaft_tolerance: float = 100.0, relative_tolerance: float = 0.15,
                  grow_tolerance: float = 30.0, window: float = 1500.0, fold: bool = True,
                  inplace: bool = False) -> Neuron:
    """Find dendritic spines on a neuron's mesh and add spine features to it.

    Parameters
    ----------
    neuron : Neuron
        From :func:`neurograph.extract` or :func:`neurograph.decompose` with a mesh (nm).
    min_length, max_length : float, default 300, 3000
        Spine length limits in nm (base on the shaft surface to tip).
    min_volume_um3, max_volume_um3 : float, default 0.005, 2.0
        Spine volume limits in µm³ (``min_volume``, ``max_volume``: deprecated old names).
    shaft_tolerance : float, default 100
        nm beyond the local shaft surface a vertex must reach to seed a spine ...
    relative_tolerance : float, default 0.15
        ... or this fraction of the local shaft radius, whichever is larger.
    grow_tolerance : float, default 30
        nm above the shaft surface down to which a seeded spine grows (its rim).
    window : float, default 1500
        nm of skeleton arc length (each side) pooled for the local shaft radius.
    fold : bool, default True
        Fold skeleton twigs that are spines back into their shaft branch and rebuild the
        branch graph (branch ids change).
    inplace : bool, default False
        Change ``neuron`` itself (and return it) instead of returning a new Neuron.

    Returns
    -------
    Neuron
        With ``spines`` (one row per spine, index ``spine``, columns :data:`SPINE_COLUMNS`;
        ``spines.attrs["folded_cable_um"]``: skeleton cable removed with the folded twigs),
        ``face_spine`` (spine id of every mesh face, -1 for none), ``shaft_radius`` (nm per
        skeleton node, NaN at somata) and the branch columns :data:`SPINE_BRANCH_COLUMNS`. With
        folded twigs the skeleton and branch graph are new; synapses are mapped again and
        compartments labelled again with their recorded parameters
        (:func:`neurograph.graph.annotations.carry_annotations`).

    Raises
    ------
    InputError
        Without a mesh, or for negative or inconsistent limits.
    """
    _check(neuron, min_length=min_length, max_length=max_length, min_volume_um3=min_volume_um3,
           max_volume_um3=max_volume_um3,
           shaft_tolerance=shaft_tolerance, relative_tolerance=relative_tolerance, grow_tolerance=grow_tolerance,
           window=window)
    skel, mesh = neuron.skeleton, neuron.mesh
    verts, faces = np.asarray(mesh.vertices, float), np.asarray(mesh.faces, np.int64)
    # 0. a soma-less dendrite segment cut out of a volume: its shaft runs between the cut ends
    skel, ends, rim = _add_cut_ends(skel, mesh)
    n_nodes = skel.n_nodes
    is_soma = np.zeros(n_nodes, bool)
    is_soma[skel.soma_nodes] = True
    limit = max_length + np.minimum(np.nan_to_num(skel.radius, nan=0.0), RADIUS_CAP)

    # 1. shaft skeleton
    parent = reroot_at_thick_end(skel.vertices, skel.parent, is_soma, skel.radius)
    parent, keep = root_at_cut_ends(parent, np.asarray(ends, np.int64))
    twig = twig_roots(skel.vertices, parent, is_soma, limit, skel.radius, keep)
    core = np.flatnonzero((twig < 0) & ~is_soma)
    # 2. shaft radius along it, from every non-soma vertex
    valid = ~is_soma[skel.vertex_map]
    vid = np.flatnonzero(valid)
    area_v = vertex_area(mesh)
    seg_n = np.full(len(verts), -1, np.int64)
    dist = np.zeros(len(verts))
    radius = np.zeros(n_nodes)
    pos = skel.vertices.copy()
    # the fit uses the vertices of shaft nodes: twig (spine) vertices would outweigh the
    # wall where spines cluster
    fit_v = vid[twig[skel.vertex_map[vid]] < 0]
    if not len(fit_v):
        fit_v = vid
    index = None  # no shaft (every vertex on a soma, or no shaft node): no spines
    if len(core) and len(vid):
        pos, radius, index = fit_shaft(pos, parent, core, verts[fit_v], area_v[fit_v], window, shaft_tolerance,
                                        relative_tolerance, ends, skel.radius[ends])
        seg_n[vid], dist[vid] = index.query(verts[vid])
        pos = smooth_chains(pos, parent, core)
    r_v = radius[np.maximum(seg_n, 0)]
    height = dist - r_v
    # 3. protrusions
    edges = np.asarray(mesh.edges_unique, np.int64)
    seed = valid & (height > np.maximum(shaft_tolerance, relative_tolerance * r_v))
    grow = valid & (height > grow_tolerance)
    seed_label = _components(seed, edges, len(verts))
    if len(rim):  # a seed on a cut end is the cut shaft's rim, not a spine
        seed_label[np.isin(seed_label, seed_label[rim][seed_label[rim] >= 0])] = -1
    if seed.any():
        cand = np.flatnonzero(grow)  # only these can grow: the others need no search
        near_seed, _ = cKDTree(verts[seed]).query(verts[cand], distance_upper_bound=GROW_REACH)
        grow[cand[~np.isfinite(near_seed)]] = False
    nbr_ptr, nbr = vertex_neighbours(len(verts), edges)
    label = grow_labels(seed_label, grow, nbr_ptr, nbr)
    label = _split_by_twigs(label, height, terminal_segments(parent, twig)[skel.vertex_map], edges,
                            max(min_length, shaft_tolerance))
    rows, label, bumps = _measure(label, verts, faces, edges, np.asarray(mesh.area_faces), index,
                           radius, dict(min_length=min_length, max_length=max_length, min_volume=min_volume_um3,
                                        max_volume=max_volume_um3))
    # 5. fold spine twigs, rebuild the graph; the shaft skeleton is re-centred near spines only
    # (elsewhere the wavefront's ring centroids are already on the axis)
    near = np.zeros(n_nodes, bool)
    if len(rows):
        d_sp, _ = cKDTree(rows[:, 5:8]).query(pos, distance_upper_bound=window)
        near = np.isfinite(d_sp)
    pos = np.where(near[:, None], pos, skel.vertices)
    new_id = np.arange(n_nodes)
    changed = len(ends) > 0 or not (np.array_equal(parent, skel.parent) and np.array_equal(pos, skel.vertices))
    if fold:
        new_skel, new_id, folded = _fold_twigs(skel, pos, parent, twig, verts[(label >= 0) | bumps], height,
                                               max(min_length, shaft_tolerance))
        changed |= folded
    else:
        new_skel = Skeleton(pos, parent, skel.radius, skel.vertex_map, skel.soma_nodes, skel.node_type)
    out = decompose(new_skel, neuron.somas, mesh, name=neuron.name, repair_report=copy.deepcopy(neuron.repair_report)) \
        if changed else neuron.copy()
    table = pd.DataFrame(rows, columns=["node", *[c for c in SPINE_COLUMNS if c not in ("branch", "node")]])
    table["node"] = new_id[table["node"].to_numpy(np.int64)] if len(table) else table["node"]
    table.insert(0, "branch", out.node_branch[table["node"].to_numpy(np.int64)] if len(table) else [])
    table = table.astype({"branch": np.int64, "node": np.int64, "n_faces": np.int64})
    table.index.name = "spine"
    # skeleton cable of the twigs folded away (spines and bumps are not cable)
    table.attrs["folded_cable_um"] = float(edge_lengths(pos, parent).sum() - new_skel.cable_length) / 1e3
    face_spine = face_owner(faces, label)
    on = face_spine >= 0
    table["n_faces"] = np.bincount(face_spine[on], minlength=len(table))
    table["area"] = np.bincount(face_spine[on], weights=np.asarray(mesh.area_faces)[on], minlength=len(table)) / 1e6
    out.spines = table
    out.face_spine = face_spine
    out.shaft_radius = final_shaft_radius(out, label < 0, area_v, window, shaft_tolerance, relative_tolerance)
    set_spine_columns(out)
    # synapses (on spines now) and compartment labels follow the new spines and graph
    carry_annotations(neuron, out, skip=("spines",))
    if inplace:
        neuron.assign(out)
        return neuron
    return out


def _add_cut_ends(skel: Skeleton, mesh) -> tuple[Skeleton, np.ndarray, np.ndarray]:
    """For a neuron without soma, one new skeleton node at the centre of every cut end
    (:func:`cut_ends`), hanging from the node holding most of the loop's vertices.

    The wavefront skeleton of a short cut segment is rooted at a spine tip and enters the
    open tube from the side, so the shaft can collapse into a node or two with the spines
    hanging off; the cut ends pin the shaft axis. Returns the skeleton (unchanged without
    cut ends), the new nodes (widest end first) and the vertices of the cut loops."""
    none = np.empty(0, np.int64)
    if len(skel.soma_nodes) or skel.vertex_map is None:
        return skel, none, none
    centres, radii, loops = cut_ends(mesh, CUT_MIN_RADIUS)
    if not len(centres):
        return skel, none, none
    n = skel.n_nodes
    loop_of = np.repeat(np.arange(len(loops)), [len(m) for m in loops])
    attach = _most_common(skel.vertex_map[np.concatenate(loops)], loop_of, len(loops), n)
    out = Skeleton(np.vstack([skel.vertices, centres]), np.concatenate([skel.parent, attach]),
                   np.concatenate([skel.radius, radii]), skel.vertex_map, skel.soma_nodes,
                   np.concatenate([skel.node_type, np.asarray(skel.node_type)[attach]]))
    return out, n + np.arange(len(centres)), np.concatenate(loops)


def _most_common(values: np.ndarray, groups: np.ndarray, n_groups: int, n_values: int) -> np.ndarray:
    """Most common value (in ``0 .. n_values - 1``) of each group; the lowest on ties
    (``np.bincount(values[groups == g]).argmax()``, which refuses negative values too)."""
    if len(values) and values.min() < 0:
        raise ValueError("_most_common counts values in 0 .. n_values - 1; got a negative one")
    key = np.sort(groups.astype(np.int64) * n_values + values)
    first = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    count = np.diff(np.append(first, len(key))).astype(float)
    return key[first][group_argmax(count, key[first] // n_values, n_groups)] % n_values


def _split_by_twigs(label: np.ndarray, height: np.ndarray, vertex_twig: np.ndarray, edges: np.ndarray,
                    min_height: float) -> np.ndarray:
    """Split candidates that hold several spines, one per skeleton twig tip.

    Spines whose bases touch (closer than about a head width) form one protrusion on the
    surface, but the wavefront skeleton gives each its own tip. A candidate whose vertices
    belong to two or more terminal twig runs (``vertex_twig``, :func:`terminal_segments`)
    that each reach ``min_height`` nm above the shaft is cut: each such run's vertices seed
    a part, and the rest of the candidate goes to the part that reaches it first along the
    mesh. Returns new consecutive labels."""
    n_lab = int(label.max()) + 1
    on = np.flatnonzero((label >= 0) & (vertex_twig >= 0))
    if n_lab <= 0 or not len(on):
        return label
    key = label[on] * (int(vertex_twig.max()) + 1) + vertex_twig[on]
    pairs, inv = np.unique(key, return_inverse=True)
    top = np.full(len(pairs), -np.inf)
    np.maximum.at(top, inv, height[on])
    good = top >= min_height
    pair_label = pairs // (int(vertex_twig.max()) + 1)
    split = np.bincount(pair_label[good], minlength=n_lab) >= 2
    if not split.any():
        return label
    in_split = (label >= 0) & split[np.maximum(label, 0)]
    out = label.copy()
    out[in_split] = -1
    seed = good[inv] & split[label[on]]
    out[on[seed]] = n_lab + inv[seed]
    e = edges[(label[edges[:, 0]] == label[edges[:, 1]]) & in_split[edges[:, 0]]]
    ptr, nbr = vertex_neighbours(len(label), e)
    out = grow_labels(out, in_split, ptr, nbr)
    new = np.full(len(label), -1, np.int64)
    _, new[out >= 0] = np.unique(out[out >= 0], return_inverse=True)
    return new


def _components(seed: np.ndarray, edges: np.ndarray, n: int) -> np.ndarray:
    """Connected pieces of the seed vertices along mesh edges: labels 0.. (-1 off the seeds)."""
    e = edges[seed[edges[:, 0]] & seed[edges[:, 1]]]
    graph = sparse.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    label = np.full(n, -1, np.int64)
    _, label[seed] = np.unique(comp[seed], return_inverse=True)
    return label


def _measure(label: np.ndarray, verts: np.ndarray, faces: np.ndarray, edges: np.ndarray,
             area_f: np.ndarray,
             index: EdgeIndex | None, radius: np.ndarray, lim: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of every candidate: the rows of kept spines (one row of :data:`SPINE_COLUMNS`
    but ``branch`` per spine, a float array with no rows when there are none), vertices
    relabelled by spine, and the vertices of candidates too small to be spines (bumps)."""
    n_lab = int(label.max()) + 1
    out = np.full(len(label), -1, np.int64)
    small = np.zeros(len(label), bool)
    none = np.empty((0, len(SPINE_COLUMNS) - 1))
    if n_lab <= 0 or index is None:
        return none, out, small
    face_lab = face_owner(faces, label)
    # the foot: vertices just outside each spine, next to one of its vertices
    a, b = label[edges[:, 0]], label[edges[:, 1]]
    foot_v = np.concatenate([edges[(a >= 0) & (b < 0), 1], edges[(b >= 0) & (a < 0), 0]])
    foot_l = np.concatenate([a[(a >= 0) & (b < 0)], b[(b >= 0) & (a < 0)]])
    foot_ptr, foot_ids = group_csr(foot_l, n_lab, foot_v)
    v_ptr, v_ids = group_csr(label[label >= 0], n_lab, np.flatnonzero(label >= 0))
    fl = face_lab >= 0
    f_ptr, f_ids = group_csr(face_lab[fl], n_lab, np.flatnonzero(fl))
    # every candidate with at least 2 faces: base, tip, length, volume and area in one pass;
    # the nearest skeleton edges of all bases in one query
    cands = np.flatnonzero(np.diff(f_ptr) >= 2)
    if not len(cands):
        return none, out, small
    base, tip, length, volume, area = spine_extent(verts, faces, foot_ptr, foot_ids, v_ptr, v_ids, f_ptr, f_ids,
                                                   np.ascontiguousarray(area_f, float), cands)
    nodes = index.query(base)[0]
    on_skel = index.closest_points(base, nodes)
    keep = ((lim["min_length"] <= length) & (length <= lim["max_length"])
            & (lim["min_volume"] <= volume) & (volume <= lim["max_volume"]))
    bump = ~keep & (length <= lim["max_length"]) & (volume <= lim["max_volume"])  # a bump, not a branch
    is_bump = np.zeros(n_lab, bool)
    is_bump[cands[bump]] = True
    small = (label >= 0) & is_bump[np.maximum(label, 0)]
    kept, at = cands[keep], np.flatnonzero(keep)
    if not len(kept):
        return none, out, small
    spine_of = np.full(n_lab, -1, np.int64)
    spine_of[kept] = np.arange(len(kept))
    out = np.where(label >= 0, spine_of[np.maximum(label, 0)], -1)
    head, neck = spine_widths(verts, faces, f_ptr, f_ids, kept, base[at], verts[tip[at]], N_SLICES)
    rows = np.column_stack([nodes[at], np.diff(f_ptr)[kept], base[at], on_skel[at], verts[tip[at]], length[at] / 1e3,
                            volume[at], area[at] / 1e6, head, neck, radius[nodes[at]]])
    return rows, out, small


def _fold_twigs(skel: Skeleton, pos: np.ndarray, parent: np.ndarray, twig: np.ndarray, spine_points: np.ndarray,
                height: np.ndarray, min_height: float, reach: float = 300.0) -> tuple[Skeleton, np.ndarray, bool]:
    """Remove twigs that end in a spine or bump (a leaf within ``reach`` nm of one of
    ``spine_points``) or whose mesh vertices all stay below ``min_height`` nm above the
    shaft surface (``height`` per mesh vertex; a twig without vertices too): such a twig
    is a wavefront artefact or a bump, not a branch. Their vertices go to the node they
    hang from."""
    vm = skel.vertex_map
    n = len(parent)
    on = twig[vm] >= 0
    top = np.full(n, -np.inf)
    np.maximum.at(top, twig[vm][on], height[on])
    leaves = np.flatnonzero((twig >= 0) & (np.bincount(parent[parent >= 0], minlength=n) == 0))
    fold = np.zeros(n, bool)
    if len(spine_points) and len(leaves):
        d, _ = cKDTree(spine_points).query(pos[leaves], distance_upper_bound=reach)
        fold[twig[leaves[np.isfinite(d)]]] = True
    roots = np.flatnonzero(fold | ((top < min_height) & np.isin(np.arange(n), twig)))
    if not len(roots):
        return Skeleton(pos, parent, skel.radius, vm, skel.soma_nodes, skel.node_type), np.arange(n), False
    gone = np.isin(twig, roots)
    target = np.arange(n)
    target[gone] = parent[twig[gone]]  # the branch node each folded twig hangs from
    out, new_id = fold_nodes(Skeleton(pos, parent, skel.radius, vm, skel.soma_nodes, skel.node_type), target)
    return out, new_id, True


def set_spine_columns(neuron) -> None:
    """Write :data:`SPINE_BRANCH_COLUMNS` into the branch graph (from ``neuron.spines``, ``shaft_radius``)."""
    n_ids = int(neuron.node_branch.max()) + 1
    sp = neuron.spines
    count = np.bincount(sp["branch"].to_numpy(np.int64), minlength=n_ids)
    vol = np.bincount(sp["branch"].to_numpy(np.int64), weights=sp["volume"].to_numpy(float), minlength=n_ids)
    r = neuron.shaft_radius
    ok = np.isfinite(r)
    width = 2 * group_median(r[ok], neuron.node_branch[ok], n_ids)
    rows = {}
    for b, data in neuron.graph.nodes(data=True):
        if data.get("kind") != "branch":
            continue
        length = float(data.get("length", 0.0))
        rows[b] = dict(n_spines=int(count[b]), spine_density=count[b] / length if length > 0 else 0.0,
                       spine_volume_density=float(vol[b]) / length if length > 0 else 0.0,
                       shaft_width_median=float(width[b]))
    neuron.set_branch_values(rows)


def _remap(new, old) -> None:
    """Spines of ``old`` onto ``new`` (a new skeleton on the same mesh): each spine's node is the
    new skeleton node nearest its skeleton base point, the shaft radius is taken from the nearest
    old node; dropped with a warning when the mesh is another one."""
    if old.spines is None or new is old:
        return
    if new.mesh is None or old.mesh is None or len(new.mesh.faces) != len(old.mesh.faces):
        warnings.warn(f"{new.name}: the mesh changed, so the spines found on the old one were dropped; "
                      "run neurograph.detect_spines(neuron) again", DataWarning, stacklevel=4)
        new.spines = new.face_spine = new.shaft_radius = None
        return
    sk = new.skeleton
    spines = old.spines.copy()
    if len(spines):
        base = spines[["skeleton_x", "skeleton_y", "skeleton_z"]].to_numpy(float)
        spines["node"] = cKDTree(sk.vertices).query(base)[1].astype(np.int64)
        spines["branch"] = new.node_branch[spines["node"].to_numpy(np.int64)]
    new.spines, new.face_spine = spines, None if old.face_spine is None else old.face_spine.copy()
    radius = np.full(sk.n_nodes, np.nan)
    if old.shaft_radius is not None and old.skeleton.n_nodes:
        radius = old.shaft_radius[cKDTree(old.skeleton.vertices).query(sk.vertices)[1]]
        radius[sk.soma_nodes] = np.nan
    new.shaft_radius = radius
    set_spine_columns(new)


register_annotation("spines", 5, _remap)
