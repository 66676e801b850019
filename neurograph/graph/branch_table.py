"""Per-branch geometric features.

Every feature is listed in :data:`BRANCH_COLUMNS` with its unit; the table
``Neuron.branches`` has exactly these columns (plus ids).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from ..skeleton import Skeleton
from ..skeleton.kernels import distance_to_segments, group_median

#: name -> (unit, description)
BRANCH_COLUMNS: dict[str, tuple[str, str]] = {
    "limb": ("", "index of the limb (primary neurite subtree) the branch belongs to"),
    "parent": ("", "id of the parent branch or soma node, -1 for a root branch"),
    "n_nodes": ("", "number of skeleton nodes"),
    "n_faces": ("", "number of mesh faces assigned to the branch"),
    "length": ("µm", "skeleton length from the parent branch point (or soma surface) to the end"),
    "width_mean": ("nm", "mean of 2 x distance from the branch's mesh vertices to its skeleton"),
    "width_median": ("nm", "median of the same"),
    "area": ("µm²", "surface area of the branch's mesh faces"),
    "volume": ("µm³", "volume of the skeleton's frustums (node radii)"),
    "tortuosity": ("", "length / straight distance between start and end (>= 1)"),
    "path_to_soma": ("µm", "path length from the soma surface (or root) to the branch start"),
    "branch_order": ("", "1 for a branch leaving the soma, +1 at every branch point"),
    "strahler": ("", "Strahler order (terminal branches are 1)"),
    "angle_to_parent": ("deg", "angle between the branch's first 5 µm and the parent's last 5 µm "
                               "(for branches leaving the soma: the radial direction)"),
    "n_children": ("", "number of child branches"),
}

DIRECTION_SPAN = 5000.0  # nm of skeleton used to estimate a branch's direction


def _strahler(graph: nx.DiGraph, branches: list[int]) -> dict[int, int]:
    order: dict[int, int] = {}
    for b in reversed(list(nx.topological_sort(graph.subgraph(branches)))):
        kids = [order[c] for c in graph.successors(b) if c in order]
        if not kids:
            order[b] = 1
        else:
            top = max(kids)
            order[b] = top + 1 if kids.count(top) > 1 else top
    return order


def _direction(points: np.ndarray, from_start: bool) -> np.ndarray:
    """Unit vector along the first (or last) DIRECTION_SPAN nm of a polyline."""
    pts = points if from_start else points[::-1]
    seg = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    k = int(np.searchsorted(seg, DIRECTION_SPAN))
    vec = pts[min(k, len(pts) - 1)] - pts[0]
    if not from_start:
        vec = -vec
    n = np.linalg.norm(vec)
    return vec / n if n > 0 else vec


def branch_features(skeleton: Skeleton, decomposition: dict, somas: list, mesh=None,
                    face_branch: np.ndarray | None = None) -> pd.DataFrame:
    """Compute the per-branch feature table.

    Parameters
    ----------
    skeleton : Skeleton
        Skeleton in nm.
    decomposition : dict
        From :func:`neurograph.graph.decompose.decompose_skeleton`.
    somas : list of Soma
    mesh : trimesh.Trimesh, optional
        Without a mesh (skeleton input) width comes from node radii and area is NaN.
    face_branch : (n_faces,) int array, optional
        Branch (or soma) id of every face.

    Returns
    -------
    pandas.DataFrame
        One row per branch, indexed by branch id, columns :data:`BRANCH_COLUMNS`.
    """
    graph = decomposition["graph"]
    node_branch = decomposition["node_branch"]
    n_ids = int(node_branch.max()) + 1
    n_somas = len(skeleton.soma_nodes)
    branches = list(range(n_somas, n_ids))
    contrib = decomposition["edge_length"]
    length = np.bincount(node_branch, weights=contrib, minlength=n_ids)
    n_nodes = np.bincount(node_branch, minlength=n_ids)

    # Widths: 2 x distance of every mesh vertex to its skeleton edge (or node radii).
    if mesh is not None and skeleton.vertex_map is not None:
        d = distance_to_segments(np.asarray(mesh.vertices), skeleton.vertex_map, skeleton.vertices, skeleton.parent)
        vb = node_branch[skeleton.vertex_map]
        width_median = 2 * group_median(d, vb, n_ids)
        cnt = np.bincount(vb, minlength=n_ids)
        with np.errstate(invalid="ignore", divide="ignore"):
            width_mean = 2 * np.bincount(vb, weights=d, minlength=n_ids) / cnt
        area = np.bincount(face_branch, weights=mesh.area_faces, minlength=n_ids) / 1e6
        n_faces = np.bincount(face_branch, minlength=n_ids)
    else:
        r = skeleton.radius
        ok = np.isfinite(r) & (r > 0)
        width_median = 2 * group_median(r[ok], node_branch[ok], n_ids)
        with np.errstate(invalid="ignore", divide="ignore"):
            width_mean = 2 * np.bincount(node_branch[ok], weights=r[ok], minlength=n_ids) / np.bincount(
                node_branch[ok], minlength=n_ids)
        area = np.full(n_ids, np.nan)
        n_faces = np.zeros(n_ids, np.int64)

    # Frustum volumes along edges.
    r = np.nan_to_num(skeleton.radius)
    pr = np.where(skeleton.parent >= 0, r[np.maximum(skeleton.parent, 0)], r)
    frustum = np.pi / 3 * contrib * (r ** 2 + r * pr + pr ** 2)
    volume = np.bincount(node_branch, weights=frustum, minlength=n_ids) / 1e9

    # Polylines per branch (start point = parent node position) for tortuosity and angles.
    order = np.argsort(node_branch, kind="stable")
    path = decomposition["node_path"]
    bounds = np.searchsorted(node_branch[order], np.arange(n_ids + 1))
    soma_center = {i: np.asarray(s.center) for i, s in enumerate(somas)}
    strahler = _strahler(graph, branches)
    branch_order: dict[int, int] = {}
    for b in nx.topological_sort(graph):
        preds = list(graph.predecessors(b))
        branch_order[b] = 0 if b < n_somas else (branch_order[preds[0]] + 1 if preds else 1)
    limb = decomposition["limb"]
    rows = []
    polylines: dict[int, np.ndarray] = {}
    for b in branches:
        nodes = order[bounds[b]:bounds[b + 1]]
        nodes = nodes[np.argsort(path[nodes], kind="stable")]
        start_parent = skeleton.parent[nodes[0]]
        pts = skeleton.vertices[nodes]
        if start_parent >= 0:
            pts = np.vstack([skeleton.vertices[start_parent], pts])
            soma_id = node_branch[start_parent]
            if soma_id < n_somas:  # start on the soma surface, where the branch length starts
                out = pts[1] - pts[0]
                dist = np.linalg.norm(out)
                pts[0] = pts[0] + out * min(1.0, somas[soma_id].radius / dist if dist > 0 else 0.0)
        polylines[b] = pts
        preds = list(graph.predecessors(b))
        par = preds[0] if preds else -1
        chord = np.linalg.norm(pts[-1] - pts[0])
        rows.append({
            "branch": b, "limb": limb.get(b, -1), "parent": par, "n_nodes": int(n_nodes[b]),
            "n_faces": int(n_faces[b]), "length": length[b] / 1e3,
            "width_mean": width_mean[b], "width_median": width_median[b], "area": area[b],
            "volume": volume[b],
            "tortuosity": (length[b] / chord) if chord > 0 and length[b] > 0 else 1.0,
            "path_to_soma": (path[start_parent] if start_parent >= 0 else 0.0) / 1e3,
            "branch_order": branch_order[b],
            "strahler": strahler[b], "n_children": graph.out_degree(b), "_par": par,
        })
    table = pd.DataFrame(rows).set_index("branch") if rows else pd.DataFrame(columns=["branch", *BRANCH_COLUMNS]).set_index("branch")
    table["angle_to_parent"] = [_angle(b, par, polylines, soma_center)
                                for b, par in zip(table.index.tolist(), table.get("_par", pd.Series(dtype=int)).tolist())]
    table = table.drop(columns="_par", errors="ignore")  # absent when there is no branch (a lone soma)
    table["path_to_soma"] = np.maximum(table["path_to_soma"], 0.0)
    return table[list(BRANCH_COLUMNS)]


def _angle(b: int, par: int, polylines: dict, soma_center: dict) -> float:
    pts = polylines[b]
    if len(pts) < 2:
        return np.nan
    if par in soma_center:  # radial direction from the soma centre to the branch start
        ref = pts[0] - soma_center[par]
        n = np.linalg.norm(ref)
        ref = ref / n if n > 0 else ref
    elif par in polylines and len(polylines[par]) >= 2:
        ref = _direction(polylines[par], from_start=False)
    else:
        return np.nan
    own = _direction(pts, from_start=True)
    if not np.any(own) or not np.any(ref):
        return np.nan
    return float(np.degrees(np.arccos(np.clip(own @ ref, -1.0, 1.0))))


def branch_table(graph) -> pd.DataFrame:
    """The branch table of a branch graph: one row per ``kind="branch"`` node.

    Parameters
    ----------
    graph : networkx.DiGraph
        A :class:`~neurograph.graph.neuron.Neuron`'s graph.

    Returns
    -------
    pandas.DataFrame
        Index ``branch``; the :data:`BRANCH_COLUMNS` first (lengths µm, widths nm, areas µm²,
        volumes µm³), then the columns the steps added; the usual columns and no row for a lone soma.
    """
    rows = {b: d for b, d in graph.nodes(data=True) if d.get("kind") == "branch"}
    table = pd.DataFrame.from_dict(rows, orient="index").drop(columns="kind", errors="ignore")
    if table.empty:  # a lone soma: no branch, the usual columns
        table = pd.DataFrame(columns=list(BRANCH_COLUMNS), dtype=float)
    table.index.name = "branch"
    cols = [c for c in BRANCH_COLUMNS if c in table.columns]
    return table[cols + [c for c in table.columns if c not in cols]].sort_index()
