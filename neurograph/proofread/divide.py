"""Divide a :class:`~neurograph.graph.Neuron` into new neurons by a label per skeleton node.

Both soma splitting and proofreading end here: every skeleton node gets the index of the
neuron it goes to (or -1: removed), every mesh face follows the nodes of its vertices, and
each part is rebuilt through :func:`neurograph.decompose` (so each face belongs to exactly
one branch or soma of exactly one part), then spines, synapses and compartment labels are
recomputed on the part.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import trimesh
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from ..compartments import label_compartments
from ..errors import DataWarning
from ..graph import Neuron, decompose
from ..spines import detect_spines
from ..synapses import SYNAPSE_COLUMNS, map_synapses
from ..skeleton import Skeleton
from ..skeleton.kernels import face_owner

#: weight (nm) added to mesh-contact edges so re-rooted trees follow skeleton edges first
CONTACT_PENALTY = 1e7


def node_contacts(neuron: Neuron) -> np.ndarray:
    """Pairs of skeleton nodes whose mesh vertices share a mesh edge, plus the tree edges.

    Parameters
    ----------
    neuron : Neuron
        With a skeleton (and, for contacts, a mesh and ``skeleton.vertex_map``).

    Returns
    -------
    (k, 2) int64 ndarray
        Unique node pairs ``a < b``. Without a mesh: the skeleton's tree edges only.
    """
    sk = neuron.skeleton
    has = np.flatnonzero(sk.parent >= 0)
    pairs = [np.column_stack([has, sk.parent[has]])]
    if neuron.mesh is not None and sk.vertex_map is not None:
        e = np.asarray(neuron.mesh.edges_unique, np.int64)
        pairs.append(sk.vertex_map[e])
    p = np.vstack(pairs)
    p = np.sort(p[p[:, 0] != p[:, 1]], axis=1)
    return np.unique(p, axis=0)


def _min_graph(rows: np.ndarray, cols: np.ndarray, w: np.ndarray, n: int) -> sparse.csr_matrix:
    """Symmetric csr graph keeping the smallest weight of repeated pairs (coo would sum them)."""
    lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
    key = lo * n + hi
    order = np.lexsort((w, key))
    first = np.ones(len(order), bool)
    first[1:] = key[order][1:] != key[order][:-1]
    sel = order[first]
    m = sparse.coo_matrix((w[sel], (lo[sel], hi[sel])), shape=(n, n))
    return (m + m.T).tocsr()


def _retree(sk: Skeleton, nodes: np.ndarray, pairs: np.ndarray, roots: list[int]) -> np.ndarray:
    """Parents (local indices) for the node set ``nodes``: a shortest-path forest from the soma
    nodes ``roots`` (each one a root: a part that could not be cut between two somata keeps both)
    over skeleton edges, mesh contacts joining only where needed; pieces it cannot reach keep
    their own skeleton structure under their own roots."""
    n = len(nodes)
    local = np.full(sk.n_nodes, -1, np.int64)
    local[nodes] = np.arange(n)
    par = sk.parent[nodes]
    has = (par >= 0) & (local[np.maximum(par, 0)] >= 0)
    tree = np.column_stack([np.flatnonzero(has), local[par[has]]])
    lp = local[pairs]
    contact = lp[(lp >= 0).all(axis=1)]
    w_tree = np.linalg.norm(sk.vertices[nodes[tree[:, 0]]] - sk.vertices[nodes[tree[:, 1]]], axis=1) + 1.0
    w_con = np.linalg.norm(sk.vertices[nodes[contact[:, 0]]] - sk.vertices[nodes[contact[:, 1]]], axis=1) + CONTACT_PENALTY
    # virtual super-root n: to the soma (free) and to every local root (very expensive)
    free = local[np.asarray(roots, np.int64)]
    starts = np.unique(np.concatenate([free, np.flatnonzero(~has)]))
    w_start = np.where(np.isin(starts, free), 1e-9, 1e13)
    rows = np.concatenate([tree[:, 0], contact[:, 0], np.full(len(starts), n)])
    cols = np.concatenate([tree[:, 1], contact[:, 1], starts])
    w = np.concatenate([w_tree, w_con, w_start])
    graph = _min_graph(rows, cols, w, n + 1)
    _, pred = dijkstra(graph, directed=False, indices=n, return_predecessors=True)
    parent = pred[:n].astype(np.int64)
    parent[(parent == n) | (parent < 0)] = -1
    return parent


def _sub_mesh(mesh: trimesh.Trimesh, faces: np.ndarray) -> tuple[trimesh.Trimesh, np.ndarray, np.ndarray]:
    """The faces ``faces`` of ``mesh`` as a mesh; returns it, its old vertex ids and the old->new face map."""
    f = np.asarray(mesh.faces)[faces]
    used, inverse = np.unique(f, return_inverse=True)
    sub = trimesh.Trimesh(np.asarray(mesh.vertices)[used], inverse.reshape(-1, 3), process=False)
    new_face = np.full(len(mesh.faces), -1, np.int64)
    new_face[faces] = np.arange(len(faces))
    return sub, used, new_face


def divide(neuron: Neuron, node_label: np.ndarray, names: list[str] | None = None,
           pairs: np.ndarray | None = None) -> list[Neuron]:
    """Rebuild one neuron per label from a label of every skeleton node.

    Parameters
    ----------
    neuron : Neuron
        The neuron to divide (not modified).
    node_label : (n_skeleton_nodes,) int ndarray
        Part index ``0..k-1`` of every node, -1 for nodes removed from all parts.
    names : list of str, optional
        Name of each part (default ``<name>_<k>``).
    pairs : (m, 2) int ndarray, optional
        Node contacts (:func:`node_contacts`); used to re-root a part whose nodes came from
        another soma's tree.

    Returns
    -------
    list of Neuron
        Part ``k`` holds the nodes labelled ``k``, the mesh faces most of whose vertices are
        on those nodes, its somata, and its synapses re-mapped; spines and compartments are
        recomputed when the input had them. Parts without nodes are ``None``.
    """
    sk = neuron.skeleton
    node_label = np.asarray(node_label, np.int64)
    k = int(node_label.max()) + 1 if len(node_label) else 0
    names = names or [f"{neuron.name}_{i}" for i in range(k)]
    pairs = node_contacts(neuron) if pairs is None else pairs
    face_label = None
    if neuron.mesh is not None and sk.vertex_map is not None:
        face_label = face_owner(np.asarray(neuron.mesh.faces, np.int64), node_label[sk.vertex_map])
    soma_index = {int(s): i for i, s in enumerate(sk.soma_nodes)}
    labelled = any("compartment" in d for _, d in neuron.graph.nodes(data=True))
    out: list = []
    for part in range(k):
        nodes = np.flatnonzero(node_label == part)
        if len(nodes) == 0:
            out.append(None)
            continue
        somas_here = [s for s in sk.soma_nodes if node_label[s] == part]
        parent = _retree(sk, nodes, pairs, [int(s) for s in somas_here])
        local = np.full(sk.n_nodes, -1, np.int64)
        local[nodes] = np.arange(len(nodes))
        mesh, vmap, somas = None, None, []
        if face_label is not None:
            faces = np.flatnonzero(face_label == part)
            if len(faces):
                mesh, used, new_face = _sub_mesh(neuron.mesh, faces)
                vmap = local[sk.vertex_map[used]]
                stray = vmap < 0  # a vertex of a kept face whose node went elsewhere
                if stray.any():
                    vmap[stray] = cKDTree(sk.vertices[nodes]).query(mesh.vertices[stray])[1]
        for s in somas_here:
            soma = neuron.somas[soma_index[int(s)]]
            if mesh is not None:
                f = new_face[soma.faces]
                soma = type(soma)(soma.center, soma.radius, np.sort(f[f >= 0]), soma.area_density)
            somas.append(soma)
        if mesh is not None and any(len(s.faces) == 0 for s in somas):
            mesh = None  # cannot happen with faces following nodes; keep decompose well-defined
        skel = Skeleton(sk.vertices[nodes], parent, sk.radius[nodes], vmap if mesh is not None else None,
                        local[np.asarray(somas_here, np.int64)], sk.node_type[nodes])
        new = decompose(skel, somas, mesh, name=names[part], repair_report=neuron.repair_report)
        new.settings = dict(neuron.settings)
        if mesh is not None and neuron.spines is not None:
            with warnings.catch_warnings():  # said once already, when the user detected the spines
                warnings.filterwarnings("ignore", message=".*protrusion twigs", category=DataWarning)
                new = detect_spines(new)
        if neuron.synapses is not None and len(neuron.synapses):
            _remap_synapses(neuron, new, part, node_label, face_label)
        if labelled:  # with the parameters the neuron was labelled with (defaults if unrecorded)
            label_compartments(new, inplace=True, **neuron.settings.get("label_compartments", {}))
        out.append(new)
    return out


def _remap_synapses(old: Neuron, new: Neuron, part: int, node_label: np.ndarray,
                    face_label: np.ndarray | None) -> None:
    """Map the synapses of ``old`` that sat on faces (or nodes) of ``part`` onto ``new``."""
    syn = old.synapses
    face = syn["face"].to_numpy(np.int64) if "face" in syn else np.full(len(syn), -1)
    node = syn["node"].to_numpy(np.int64) if "node" in syn else np.full(len(syn), -1)
    mine = np.zeros(len(syn), bool)
    if face_label is not None:
        on = face >= 0
        mine[on] = face_label[face[on]] == part
        off = ~on & (node >= 0)
    else:
        off = node >= 0
    mine[off] = node_label[node[off]] == part
    keep_cols = [c for c in syn.columns if c not in SYNAPSE_COLUMNS or c in ("synapse_id", "direction", "x", "y", "z")]
    table = syn.loc[mine, keep_cols].reset_index(drop=True)
    tol = float(old.synapse_report.get("tolerance_nm", 1000.0))
    map_synapses(new, table, voxel_size=1.0, tolerance=tol, inplace=True)  # positions in nm


def empty_cuts() -> pd.DataFrame:
    """An empty cut table with the columns of :data:`CUT_COLUMNS`."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in CUT_COLUMNS.items()})


#: column -> dtype of the tables of cuts (split) and of proofread pieces
CUT_COLUMNS = {"x": float, "y": float, "z": float, "reason": object, "confidence": float,
               "action": object, "cable_um": float, "rule": object, "soma": int, "other_soma": int}
