"""Per-branch geometric features.

Every feature is listed in :data:`BRANCH_COLUMNS` with its unit; the table
``Neuron.branches`` has exactly these columns (plus ids).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..skeleton import Skeleton
from ..skeleton.kernels import distance_to_segments, group_median
from ..skeleton.tree import clip_at_spheres, direction_nodes, path_lengths, root_labels, strahler_orders, topological_order

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
    "tortuosity": ("", "path length / straight distance between start and end (>= 1; a path through a soma counts whole)"),
    "path_to_soma": ("µm", "path length from the soma surface (or root) to the branch start"),
    "branch_order": ("", "1 for a branch leaving the soma, +1 at every branch point"),
    "strahler": ("", "Strahler order (terminal branches are 1)"),
    "angle_to_parent": ("deg", "angle between the branch's first 5 µm from 2 µm past the branch point (from its "
                               "middle when shorter than 4 µm) and the parent's last 5 µm (for branches leaving "
                               "the soma: their first 5 µm against the radial direction)"),
    "n_children": ("", "number of child branches"),
}

DIRECTION_SPAN = 5000.0  # nm of skeleton used to estimate a branch's direction
#: nm past a branch point where a child branch's direction starts. A mesh skeleton's branch node
#: sits where the children's surfaces part (the crotch), about r / sin(angle / 2) beyond the true
#: fork, so vectors drawn from it spread wider than the branches do: on synthetic neurons against
#: their true skeletons, bifurcation angles came out 3-15° (median 11°) too wide and angles to the
#: parent 3-8°, with the vectors starting at the branch node (within 2.2° and 3.1° from 2 µm past it).
DIRECTION_OFFSET = 2000.0


def branch_directions(pos: np.ndarray, parent: np.ndarray, order: np.ndarray, node_branch: np.ndarray,
                      path: np.ndarray, start_pos: np.ndarray, start_path: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Vector (nm) along :data:`DIRECTION_SPAN` nm of each branch, from ``offset`` nm along it.

    Parameters
    ----------
    pos : (n, 3) float ndarray
        Skeleton nodes, nm.
    parent : (n,) int ndarray
        Parent node of every node, -1 at a root.
    order : (n,) int ndarray
        Nodes, parents before children.
    node_branch : (n,) int ndarray
        Branch (or soma) id of every node.
    path : (n,) float ndarray
        Path length of every node from the root, nm.
    start_pos : (b, 3) float ndarray
        Where each branch starts (its branch point, or the soma), nm.
    start_path : (b,) float ndarray
        Path length there, nm.
    offset : (b,) float ndarray
        Path length (nm) past the start where the vector begins: :data:`DIRECTION_OFFSET` for
        branches of branches (see there), 0 to start at ``start_pos``.

    Returns
    -------
    (b, 3) float ndarray
        Where ``offset > 0``: from the point ``offset`` along the branch (half its length on a
        branch shorter than ``2 x offset``) to the point :data:`DIRECTION_SPAN` further (or its
        end), both interpolated along the skeleton, so that the vector does not depend on where
        the nodes lie. Elsewhere: from ``start_pos`` to the first node at least
        :data:`DIRECTION_SPAN` along the branch (or its last node). Zero where a branch has no node.
    """
    n_ids = len(start_pos)
    last = direction_nodes(order, node_branch, start_path, path, np.inf, n_ids)
    length = np.where(last >= 0, path[np.maximum(last, 0)] - start_path, 0.0)
    offset = np.minimum(offset, length / 2)
    shifted = path - offset[node_branch]
    far = direction_nodes(order, node_branch, start_path, shifted, DIRECTION_SPAN, n_ids)
    vec = pos[np.maximum(far, 0)] - start_pos
    moved = np.flatnonzero((offset > 0) & (far >= 0))
    if len(moved):
        near = direction_nodes(order, node_branch, start_path, shifted, 0.0, n_ids)
        at = start_path[moved] + offset[moved]
        vec[moved] = (_point_along(pos, parent, path, far[moved], at + DIRECTION_SPAN)
                      - _point_along(pos, parent, path, near[moved], at))
    vec[far < 0] = 0.0
    return vec


def _point_along(pos: np.ndarray, parent: np.ndarray, path: np.ndarray, node: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The point at path length ``at`` (nm) on the edge into ``node``, the first node of its branch
    at or beyond ``at``; ``node`` itself where it lies short of ``at`` (the end of a branch shorter
    than that). Measured back from ``node``: an edge that starts inside a soma counts in ``path``
    only from the soma's surface, so its far end is the one whose path length holds."""
    p = np.maximum(parent[node], 0)
    edge = pos[node] - pos[p]
    length = np.linalg.norm(edge, axis=1)
    back = np.clip(path[node] - at, 0.0, None)
    frac = np.minimum(np.divide(back, length, out=np.zeros_like(back), where=length > 0), 1.0)
    return pos[node] - frac[:, None] * edge


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
    node_branch = decomposition["node_branch"]
    n_ids = int(node_branch.max()) + 1
    n_somas = len(skeleton.soma_nodes)
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

    # Start point of every branch: its parent node (on the soma surface for a soma's
    # child), or its first node at a root; tortuosity and angles from there.
    path = decomposition["node_path"]
    parent = skeleton.parent
    pos = skeleton.vertices
    starts = np.flatnonzero((parent < 0) | (node_branch[np.maximum(parent, 0)] != node_branch))
    starts = starts[node_branch[starts] >= n_somas]
    first = np.zeros(n_ids, np.int64)
    first[node_branch[starts]] = starts
    by_path = np.lexsort((path, node_branch))  # by branch, then along it
    last = by_path[np.maximum(np.searchsorted(node_branch[by_path], np.arange(n_ids), side="right") - 1, 0)]
    sp = parent[first]
    has_par = sp >= 0
    start_pos = pos[first].copy()
    start_pos[has_par] = pos[sp[has_par]]
    start_path = np.where(has_par, path[np.maximum(sp, 0)], path[first])
    par = np.where(has_par, node_branch[np.maximum(sp, 0)], -1)
    # a branch starting inside a soma sphere starts where it leaves it, where its length starts
    centers = np.array([s.center for s in somas], float).reshape(-1, 3)
    radii = np.array([s.radius for s in somas], float)
    in_soma = np.zeros(n_ids, bool)
    for centre, radius in zip(centers, radii):
        in_soma |= has_par & (np.linalg.norm(start_pos - centre, axis=1) < radius)
    if in_soma.any():
        counted = by_path[(contrib[by_path] > 0) & (parent[by_path] >= 0)]  # by branch, then path
        ids, at = np.unique(node_branch[counted], return_index=True)
        exit_node = np.full(n_ids, -1, np.int64)
        exit_node[ids] = counted[at]
        rows = np.flatnonzero(in_soma & (exit_node >= 0))
        k = exit_node[rows]
        start_pos[rows] = clip_at_spheres(pos[parent[k]], pos[k], centers, radii)
    # tortuosity compares the branch's path from its start point (soma interior included where
    # it runs through one) with the chord: >= 1 whatever part of it is cable
    full = skeleton.edge_lengths
    geo = np.bincount(node_branch, weights=full, minlength=n_ids)
    if in_soma.any():
        rank = np.empty(len(by_path), np.int64)
        rank[by_path] = np.arange(len(by_path))
        ex = exit_node[node_branch]
        before = in_soma[node_branch] & (ex >= 0) & (rank <= rank[np.maximum(ex, 0)])
        geo -= np.bincount(node_branch[before], weights=full[before], minlength=n_ids)
        geo[rows] += np.linalg.norm(pos[k] - start_pos[rows], axis=1)
    chord = np.linalg.norm(pos[last] - start_pos, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tortuosity = np.where((chord > 0) & (geo > 0), geo / chord, 1.0)

    order = skeleton.topological_order()
    bpar = par.copy()
    bpar[:n_somas] = -1
    b_order = topological_order(bpar)
    depth = path_lengths(b_order, bpar, np.ones(n_ids)).astype(np.int64)
    rooted_at_soma = root_labels(b_order, bpar) < n_somas
    branch_order = depth + (~rooted_at_soma).astype(np.int64)  # a root branch without soma is 1
    strahler = strahler_orders(b_order, bpar)
    n_children = np.bincount(bpar[bpar >= 0], minlength=n_ids)
    angle = _angles(pos, skeleton.parent, order, node_branch, path, start_pos, start_path, par, last, n_somas,
                    np.array([s.center for s in somas], float).reshape(-1, 3))

    ids = np.arange(n_somas, n_ids)
    table = pd.DataFrame({
        "limb": [decomposition["limb"].get(b, -1) for b in ids.tolist()], "parent": par[ids],
        "n_nodes": n_nodes[ids], "n_faces": np.asarray(n_faces)[ids].astype(np.int64), "length": length[ids] / 1e3,
        "width_mean": width_mean[ids], "width_median": width_median[ids], "area": area[ids],
        "volume": volume[ids], "tortuosity": tortuosity[ids],
        "path_to_soma": np.maximum(np.where(has_par, start_path, 0.0)[ids] / 1e3, 0.0),
        "branch_order": branch_order[ids], "strahler": strahler[ids], "angle_to_parent": angle[ids],
        "n_children": n_children[ids]}, index=pd.Index(ids, name="branch"))
    return table[list(BRANCH_COLUMNS)]


def _angles(pos: np.ndarray, parent: np.ndarray, order: np.ndarray, node_branch: np.ndarray, path: np.ndarray,
            start_pos: np.ndarray, start_path: np.ndarray, par: np.ndarray, last: np.ndarray, n_somas: int,
            soma_center: np.ndarray) -> np.ndarray:
    """Angle (deg) between every branch's direction (:func:`branch_directions`: from
    :data:`DIRECTION_OFFSET` past its branch point) and its parent's last :data:`DIRECTION_SPAN` nm
    (for a soma's child: the radial direction at its start); NaN at a root or where a direction
    has no length.

    ``start_pos``, ``start_path``: where each branch starts (nm) and the path length there;
    ``last``: each branch's farthest node; ``par``: parent branch or soma id, -1 at a root."""
    n_ids = len(par)
    own = branch_directions(pos, parent, order, node_branch, path, start_pos, start_path,
                            np.where(par >= n_somas, DIRECTION_OFFSET, 0.0))
    # the parent's last DIRECTION_SPAN nm: path lengths counted back from its end
    end_path = path[last]
    back = np.maximum(direction_nodes(order, node_branch, -end_path, -path, DIRECTION_SPAN, n_ids), 0)
    tail_start = np.where((end_path - path[back] >= DIRECTION_SPAN)[:, None], pos[back], start_pos)
    tail = pos[last] - tail_start
    ref = np.zeros((n_ids, 3))
    on_branch = par >= n_somas
    ref[on_branch] = tail[par[on_branch]]
    on_soma = (par >= 0) & (par < n_somas)
    ref[on_soma] = start_pos[on_soma] - soma_center[par[on_soma]]
    nu, nr = np.linalg.norm(own, axis=1), np.linalg.norm(ref, axis=1)
    ok = (nu > 0) & (nr > 0) & (par >= 0)
    out = np.full(n_ids, np.nan)
    cos = np.einsum("ij,ij->i", own[ok], ref[ok]) / (nu[ok] * nr[ok])
    out[ok] = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return out


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
