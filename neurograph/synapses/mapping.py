"""Synapses on a neuron: nearest mesh surface -> branch, spine (head/neck) or soma.

:func:`assign_synapses` takes a normalised synapse table (:func:`neurograph.load_synapses`, nm)
and a neuron (duck-typed: ``mesh``, ``face_branch``, ``skeleton``, ``node_branch``, ``graph``,
``somas``, optionally ``spines``) and returns one row per synapse with its branch, soma,
skeleton node, spine and distance to the mesh. Synapses farther than ``tolerance`` from the
mesh stay in the table with ``mapped = False`` and ``branch = -1`` and are counted in the report.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..arrays import lookup
from ..errors import InputError, check_number
from ..skeleton.tree import path_from_soma
from .kernels import closest_among, corner_reach

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..graph import Neuron

#: per-branch synapse columns added to ``Neuron.branches``: name -> (unit, description)
SYNAPSE_BRANCH_COLUMNS: dict[str, tuple[str, str]] = {
    "n_pre": ("", "presynaptic sites (outputs) mapped to the branch"),
    "n_post": ("", "postsynaptic sites (inputs) mapped to the branch, incl. its spines"),
    "n_post_spine": ("", "postsynaptic sites on the branch's spines"),
    "pre_per_um": ("1/µm", "n_pre / length"),
    "post_per_um": ("1/µm", "n_post / length"),
}

#: default largest distance (nm) of a synapse from a skeleton's centre line where the radius is
#: unknown: synapses on the membrane of thick dendrites, spine heads or a soma lie 1-4 µm from it
CENTERLINE_TOLERANCE = 5000.0

SYNAPSE_COLUMNS = ["synapse_id", "direction", "prepost", "x", "y", "z", "branch", "soma", "node", "face",
                   "compartment", "on_spine", "spine", "spine_part", "distance_to_mesh_nm", "path_to_soma",
                   "mapped"]


def _face_spines(neuron, n_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Spine id (-1 none) and part (0 none, 1 head, 2 neck, 3 unknown part) of every face."""
    spine = np.full(n_faces, -1, np.int64)
    part = np.zeros(n_faces, np.int8)
    fs = getattr(neuron, "face_spine", None)
    if fs is not None and len(fs) == n_faces:
        spine[:] = np.asarray(fs, np.int64)
        part[spine >= 0] = 3
        fp = getattr(neuron, "face_spine_part", None)
        if fp is not None and len(fp) == n_faces:
            fp = np.asarray(fp)
            if fp.dtype.kind in "OUS":
                fp = np.select([fp == "head", fp == "neck"], [1, 2], 3)
            part[spine >= 0] = np.asarray(fp, np.int8)[spine >= 0]
        return spine, part
    table = getattr(neuron, "spines", None)
    if table is None or not len(table):
        return spine, part
    for col, code in (("faces", 3), ("neck_faces", 2), ("head_faces", 1)):
        if col not in table.columns:
            continue
        for sid, faces in zip(table.index, table[col]):
            if faces is None or (np.ndim(faces) == 0 and pd.isna(faces)):
                continue
            f = np.asarray(faces, np.int64).ravel()
            f = f[(f >= 0) & (f < n_faces)]
            spine[f] = int(sid)
            part[f] = code
    return spine, part


def _head_or_neck(neuron, pts: np.ndarray, spine: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Split synapses on spines of unknown part into head (1) and neck (2) from the spine's
    base -> tip axis: head when within max(head_width, 40 % of the length) of the tip."""
    table = getattr(neuron, "spines", None)
    need = (spine >= 0) & (part == 3)
    cols = ["base_x", "base_y", "base_z", "tip_x", "tip_y", "tip_z"]
    if table is None or not need.any() or not set(cols) <= set(table.columns):
        return part
    part = part.copy()
    rows = table.reindex(spine[need])
    base, tip = rows[cols[:3]].to_numpy(float), rows[cols[3:]].to_numpy(float)
    length = np.linalg.norm(tip - base, axis=1)
    head = rows["head_width"].to_numpy(float) if "head_width" in rows.columns else np.zeros(len(rows))
    reach = np.maximum(np.nan_to_num(head), 0.4 * length)
    near_tip = np.linalg.norm(pts[need] - tip, axis=1) <= reach
    known = np.isfinite(length)
    part[np.flatnonzero(need)[known]] = np.where(near_tip[known], 1, 2)
    return part


def assign_synapses(neuron: Neuron, synapses: pd.DataFrame, tolerance: float = 1000.0,
                 strict_units: bool = True,
                 centerline_tolerance: float = CENTERLINE_TOLERANCE) -> tuple[pd.DataFrame, dict]:
    """Assign every synapse to the nearest mesh surface and from there to a branch, spine or soma.

    Parameters
    ----------
    neuron : Neuron
        With a mesh and ``face_branch`` (else synapses go to the nearest skeleton node, see
        :func:`skeleton_synapse_distances`: the distance is measured to the node's surface
        where its radius is known and to the centre line where it is not).
    synapses : pandas.DataFrame
        From :func:`neurograph.load_synapses` (``x, y, z`` in nm, ``direction`` pre/post).
    tolerance : float, default 1000
        Synapses farther than this (nm) from the mesh (or the skeleton's surface) are kept but
        not assigned (``mapped = False``, ``branch = -1``) and counted in the report.
    strict_units : bool, default True
        Raise when most synapses are beyond the tolerance: the table is almost certainly in
        other units (voxels vs nm) or belongs to another neuron.
    centerline_tolerance : float, default :data:`CENTERLINE_TOLERANCE` (5000)
        Skeletons only: for nodes without a radius (radius-less skeletons such as the CAVE
        skeleton service's), the largest distance (nm) from the centre line; synapses on the
        membrane of a thick dendrite or a spine head lie 1-4 µm from it.

    Returns
    -------
    table : pandas.DataFrame
        One row per input synapse, columns :data:`SYNAPSE_COLUMNS` then the other input columns.
        ``branch`` is the graph node (soma ids ``0..k-1`` for somatic synapses), ``soma`` the soma
        id for somatic synapses (else -1), ``node`` the skeleton node, ``spine``/``spine_part``
        (``head``, ``neck``, ``spine`` or ``""``), ``distance_to_mesh_nm``, ``path_to_soma`` (µm).
    report : dict
        ``n_synapses, n_mapped, n_unmapped, tolerance_nm, max_distance_nm, median_distance_nm``,
        and on skeletons with unknown radii ``centerline_tolerance_nm`` and ``n_centerline``
        (synapses measured from the centre line).
    """
    if not isinstance(synapses, pd.DataFrame) or not {"x", "y", "z", "direction"} <= set(synapses.columns):
        raise InputError("synapse mapping needs a table with x, y, z (nm) and direction columns; "
                         "read it with neurograph.load_synapses(table, voxel_size=..., columns=...)")
    tolerance = check_number(tolerance, "tolerance", "nm")
    pts = synapses[["x", "y", "z"]].to_numpy(float)
    if not np.isfinite(pts).all():
        raise InputError("synapse coordinates contain NaN/inf; load the table with neurograph.load_synapses")
    sk = neuron.skeleton
    n_somas = len(neuron.somas)
    mesh, face_branch = neuron.mesh, neuron.face_branch
    n = len(pts)
    face = np.full(n, -1, np.int64)
    n_centerline = 0
    if mesh is not None and face_branch is not None and sk.vertex_map is not None and n:
        if strict_units and n >= 10:
            _check_near_mesh(mesh, pts, tolerance)  # before the mapping, whose cost grows with the distance
        closest, dist, face = closest_surface_points(mesh, pts)
        branch = np.asarray(face_branch, np.int64)[face]
        tri = np.asarray(mesh.faces)[face]
        node = face_node(np.asarray(mesh.vertices), tri, closest, np.asarray(sk.vertex_map, np.int64),
                          np.asarray(neuron.node_branch, np.int64), branch)
        spine_of_face, part_of_face = _face_spines(neuron, len(mesh.faces))
        spine, part = spine_of_face[face], part_of_face[face]
        part = _head_or_neck(neuron, pts, spine, part)
        mapped = dist <= tolerance
        limit = f"{tolerance:g} nm from the mesh"
    else:
        node, dist, mapped, n_centerline = skeleton_synapse_distances(neuron, pts, tolerance, centerline_tolerance)
        branch = np.asarray(neuron.node_branch, np.int64)[node]
        spine, part = np.full(n, -1, np.int64), np.zeros(n, np.int8)
        limit = f"{tolerance:g} nm from the surface" + (
            f" or {centerline_tolerance:g} nm from the centre line where the radius is unknown" if n_centerline else "")
    if strict_units and n >= 10 and mapped.mean() < 0.5:
        raise InputError(_unit_message(int((~mapped).sum()), n, limit, float(np.median(dist)), "median"))
    node_path = path_from_soma(sk, [so.radius for so in neuron.somas])
    soma = np.where(mapped & (branch < n_somas), branch, -1)
    labels = {b: "soma" for b in range(n_somas)}  # a soma's own label, if any, wins
    labels.update({b: c for b, d in neuron.graph.nodes(data=True) if (c := d.get("compartment", ""))})
    comp = lookup(branch, labels, "")
    branch = np.where(mapped, branch, -1)
    comp[~mapped] = "unmapped"
    part_names = np.array(["", "head", "neck", "spine"], dtype=object)
    on_spine = mapped & (spine >= 0)
    table = pd.DataFrame({
        "synapse_id": synapses["synapse_id"].to_numpy() if "synapse_id" in synapses.columns else np.arange(n),
        "direction": synapses["direction"].to_numpy(), "prepost": synapses["direction"].to_numpy(),
        "x": pts[:, 0], "y": pts[:, 1], "z": pts[:, 2], "branch": branch, "soma": soma,
        "node": np.where(mapped, node, -1), "face": np.where(mapped, face, -1), "compartment": comp,
        "on_spine": on_spine, "spine": np.where(on_spine, spine, -1), "spine_part": part_names[np.where(on_spine, part, 0)],
        "distance_to_mesh_nm": dist, "path_to_soma": np.where(mapped, node_path[node] / 1e3, np.nan),
        "mapped": mapped})
    extra = synapses.drop(columns=[c for c in SYNAPSE_COLUMNS if c in synapses.columns]).reset_index(drop=True)
    table = pd.concat([table, extra], axis=1)
    table.index.name = "synapse"
    table.attrs["units"] = "nm"
    report = {"n_synapses": int(n), "n_mapped": int(mapped.sum()), "n_unmapped": int((~mapped).sum()),
              "tolerance_nm": float(tolerance), "max_distance_nm": float(dist.max()) if n else 0.0,
              "median_distance_nm": float(np.median(dist)) if n else 0.0}
    if n_centerline:
        report.update(centerline_tolerance_nm=float(centerline_tolerance), n_centerline=int(n_centerline))
    if report["n_unmapped"]:
        warnings.warn(f"{report['n_unmapped']} of {n} synapses are farther than {limit} of "
                      f"{getattr(neuron, 'name', 'the neuron')}; they are kept with mapped=False, branch=-1",
                      stacklevel=2)
    return table, report


def face_node(vertices: np.ndarray, tri: np.ndarray, closest: np.ndarray, vertex_map: np.ndarray,
               node_branch: np.ndarray, branch: np.ndarray) -> np.ndarray:
    """Skeleton node of each synapse: that of the nearest corner of its face lying on the face's
    branch (a face's branch is that of at least one of its corners), so node and face agree."""
    corner_node = vertex_map[tri]
    d = np.linalg.norm(vertices[tri] - closest[:, None, :], axis=2)
    d[node_branch[corner_node] != branch[:, None]] = np.inf
    return corner_node[np.arange(len(tri)), np.argmin(d, axis=1)]


#: candidate triangles per synapse (nearest centroids) and synapses per block in :func:`closest_surface_points`
CANDIDATES = 16
BLOCK = 4096


def _unit_message(n_far: int, n: int, limit: str, median: float, what: str) -> str:
    return (f"{n_far} of {n} synapses lie more than {limit} ({what} {median:.0f} nm): the "
            "table is probably in other units or of another neuron. Give the synapse table's voxel size "
            "(synapse_voxel_size=(4, 4, 40) / --synapse-voxel-size 4 4 40 for MICrONS voxels, 8 for hemibrain; "
            "the synapse_voxel_size column of a batch manifest), not the mesh's voxel_size")


def _check_near_mesh(mesh, pts: np.ndarray, tolerance: float) -> None:
    """Raise when most synapses are certainly farther than ``tolerance`` from the mesh.

    Cheap (one k-d tree query to the vertices): every surface point lies within the longest
    edge of a vertex, so ``nearest vertex distance - longest edge`` is a lower bound of the
    distance to the surface.
    """
    lengths = np.asarray(mesh.edges_unique_length, float)  # cached by trimesh
    longest = float(lengths.max()) if len(lengths) else 0.0
    # only distances are read: an unbalanced tree builds in half the time and gives the same ones
    d, _ = cKDTree(np.asarray(mesh.vertices, float), balanced_tree=False, compact_nodes=False).query(pts)
    lower = np.maximum(d - longest, 0.0)
    far = lower > tolerance
    if far.mean() > 0.5:
        raise InputError(_unit_message(int(far.sum()), len(pts), f"{tolerance:g} nm from the mesh", float(np.median(d)),
                                       "median distance to the nearest mesh vertex"))


def closest_surface_points(mesh, points: np.ndarray, candidates: int = CANDIDATES,
                           block: int = BLOCK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closest point on a mesh surface to each point, in bounded memory.

    Each point is tested against the ``candidates`` triangles with the nearest centroids,
    ``block`` points at a time. The answer is exact when the farthest of those centroids is
    farther than the distance found plus the largest centroid-to-corner distance of the mesh
    (no untested triangle can then be closer); points where this does not hold are searched
    again with 8x the candidates (and 1/8 of the block). Memory is ``O(block * candidates)``
    whatever the distances (trimesh's ``closest_point`` grows its candidate set with the
    distance to the mesh and ran a MICrONS table in voxels out of 23 GB). Points still not
    proven exact after that (far from a mesh of very uneven triangles) keep the best triangle
    found, an upper bound of the true distance.

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Surface (nm).
    points : (n, 3) float array
        Query points (nm).
    candidates : int, default :data:`CANDIDATES`
        Triangles tested per point in the first pass.
    block : int, default :data:`BLOCK`
        Points per block.

    Returns
    -------
    closest : (n, 3) float ndarray
        Closest surface point (nm).
    distance : (n,) float ndarray
        Distance to it (nm).
    face : (n,) int64 ndarray
        Triangle it lies on.

    Raises
    ------
    InputError
        A mesh without faces.
    """
    tri = np.ascontiguousarray(mesh.triangles, dtype=float)  # (faces, 3 corners, xyz), cached by trimesh
    if not len(tri):  # the kernel reads candidate triangles unchecked
        raise InputError("the mesh has no faces: there is no surface to map the synapses onto; check the mesh "
                         "(neurograph.repair(mesh).report says what it kept)")
    centroids = np.asarray(mesh.triangles_center, dtype=float)  # cached by trimesh (the soma step asked first)
    reach = corner_reach(tri, centroids)
    # balanced, although an unbalanced tree builds in half the time: which of several equally near
    # centroids the tree lists first (and so which face a synapse maps to) depends on its shape
    tree = cKDTree(centroids)
    points = np.asarray(points, float)
    n = len(points)
    closest, distance, face = np.empty((n, 3)), np.empty(n), np.empty(n, np.int64)
    todo = np.arange(n)
    for k, size in ((candidates, block), (8 * candidates, max(1, block // 8))):
        k = max(1, min(int(k), len(tri)))
        unsure = []
        for lo in range(0, len(todo), size):
            idx = todo[lo:lo + size]
            dc, cand = tree.query(points[idx], k=k)
            dc, cand = np.asarray(dc).reshape(len(idx), k), np.asarray(cand, np.int64).reshape(len(idx), k)
            # the tree names no face (index len(tri)) where the distance overflows (coordinates ~1e300):
            # any face then gives an infinite distance, so such a point stays unmapped
            np.minimum(cand, len(tri) - 1, out=cand)
            c, d, f = closest_among(tri, points[idx], cand)
            closest[idx], distance[idx], face[idx] = c, d, f
            if k < len(tri):
                unsure.append(idx[dc[:, -1] < d + reach])
        todo = np.concatenate(unsure) if unsure else np.empty(0, np.int64)
        if not len(todo):
            break
    return closest, distance, face


def skeleton_synapse_distances(neuron, pts: np.ndarray, tolerance: float,
                               centerline_tolerance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Nearest skeleton node of every synapse, its distance, and whether it is close enough.

    Where the node's radius ``r`` is known the distance is measured to the node's surface,
    ``max(d - r, 0)`` (``d`` from the node), and a synapse maps when ``d <= max(r + tolerance,
    centerline_tolerance)``: the allowed distance from the centre line grows with the local
    radius, and spine heads 1-3 µm off a thin dendrite (a skeleton has no spines) still map.
    Where it is unknown (radius-less skeletons) ``d`` itself is the distance and the limit is
    ``centerline_tolerance``. A soma node without a radius counts as a sphere reaching to the
    nodes linked to it (median distance: where its neurites leave it), so that synapses on
    the soma membrane of a skeleton whose soma was collapsed to one point still map.

    Parameters
    ----------
    neuron : Neuron
        Its ``skeleton`` (nm) and ``somas``.
    pts : (n, 3) float ndarray
        Synapse positions, nm.
    tolerance, centerline_tolerance : float
        nm, see :func:`map_synapses`.

    Returns
    -------
    node : (n,) int64 ndarray
    dist : (n,) float ndarray
        nm, to the surface where the radius is known (or estimated for a soma), else to the node.
    mapped : (n,) bool ndarray
    n_centerline : int
        Synapses whose node has no radius (measured from the centre line).
    """
    centerline_tolerance = check_number(centerline_tolerance, "centerline_tolerance", "nm")
    sk = neuron.skeleton
    n = len(pts)
    if not n:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool), 0
    d, node = cKDTree(sk.vertices).query(pts)
    node = np.asarray(node, np.int64)
    radius = np.where(np.asarray(sk.radius, float) > 0, sk.radius, np.nan)
    for s, soma in zip(sk.soma_nodes, getattr(neuron, "somas", [])):
        if not radius[s] > 0:
            radius[s] = soma.radius if soma.radius > 0 else _linked_reach(sk, int(s))
    r = radius[node]
    known = np.isfinite(r)
    dist = np.where(known, np.maximum(d - np.nan_to_num(r), 0.0), d)
    # on the soma membrane: nearer to the soma's surface than to the nearest node's (or, radius
    # unknown, its centre line) -- a collapsed soma's neurites start on its surface
    for s in sk.soma_nodes:
        if not radius[s] > 0:
            continue
        to_surface = np.maximum(np.linalg.norm(pts - sk.vertices[s], axis=1) - radius[s], 0.0)
        take = (to_surface <= tolerance) & (to_surface < dist)
        node[take], dist[take], known[take] = s, to_surface[take], True
    # from the centre line: at most the radius + tolerance, and never less than the centre-line
    # tolerance (spine heads stand 1-3 µm off a thin dendrite's surface)
    mapped = np.where(known, (dist <= tolerance) | (dist + np.nan_to_num(radius[node]) <= centerline_tolerance),
                      dist <= centerline_tolerance)
    return node, dist, mapped, int((~known).sum())


def _linked_reach(sk, s: int) -> float:
    """Median distance (nm) from node ``s`` to the nodes linked to it (NaN without any)."""
    linked = np.flatnonzero(sk.parent == s)
    if sk.parent[s] >= 0:
        linked = np.append(linked, sk.parent[s])
    if not len(linked):
        return np.nan
    return float(np.median(np.linalg.norm(sk.vertices[linked] - sk.vertices[s], axis=1)))


def branch_synapse_counts(table: pd.DataFrame, branches: pd.DataFrame, n_ids: int) -> pd.DataFrame:
    """Per-graph-node counts and densities (:data:`SYNAPSE_BRANCH_COLUMNS`) from a mapped table.

    Rows are graph nodes ``0..n_ids-1`` (somata included: densities NaN there).

    Parameters
    ----------
    table : pandas.DataFrame
        Mapped synapse table (:func:`assign_synapses`) with ``mapped``, ``branch``, ``direction``
        and ``on_spine`` columns; unmapped synapses are not counted.
    branches : pandas.DataFrame
        Branch table indexed by graph node, ``length`` in µm.
    n_ids : int
        Number of graph nodes (branches and somata).

    Returns
    -------
    pandas.DataFrame
        ``n_pre``, ``n_post``, ``n_post_spine`` and ``pre_per_um``, ``post_per_um``
        (synapses per µm of branch length; NaN for nodes without length).
    """
    ok = table["mapped"].to_numpy(bool) & (table["branch"].to_numpy() >= 0)
    b = table["branch"].to_numpy()[ok].astype(np.int64)
    pre = (table["direction"].to_numpy()[ok] == "pre")
    spine = table["on_spine"].to_numpy(bool)[ok]
    out = pd.DataFrame({"n_pre": np.bincount(b[pre], minlength=n_ids),
                        "n_post": np.bincount(b[~pre], minlength=n_ids),
                        "n_post_spine": np.bincount(b[~pre & spine], minlength=n_ids)})
    length = np.full(n_ids, np.nan)
    length[branches.index.to_numpy()] = branches["length"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["pre_per_um"] = np.where(length > 0, out["n_pre"] / length, np.nan)
        out["post_per_um"] = np.where(length > 0, out["n_post"] / length, np.nan)
    return out
