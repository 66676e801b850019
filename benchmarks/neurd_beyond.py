"""What NEURD's skeleton of a MICrONS cell lacks, compared with ours, and what cutting it costs.

Used by ``benchmarks/proofreading.py``. NEURD's skeleton (µm, soma-centred) is translated onto
our soma and sampled every 200 nm; our neuron's skeleton nodes farther than 5 µm from it form
connected pieces "beyond NEURD". For each piece: cable, our compartment label, calibre, where
it joins our neuron, synapses and spines on it. Then every combination of cutting these pieces
(each with the subtree below it) is scored: own cable within 5 µm of NEURD against the share
of the remaining presynaptic sites that lie on axon, the two MICrONS aims of issue #15.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from neurograph.skeleton.tree import mark_subtree, path_from_soma

TOL = 5000.0  # nm


def neurd_points(path: str, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NEURD's SWC (``n type x y z radius parent``, µm, soma-centred) as points every 200 nm (nm,
    translated onto ``centre``) and the SWC type of each point."""
    swc = pd.read_csv(path, sep=r"\s+")
    pts = swc[["x", "y", "z"]].to_numpy(float) * 1e3 + centre
    index = {int(a): i for i, a in enumerate(swc["n"])}
    par = np.array([index.get(int(p), -1) for p in swc["parent"]])
    dense, kind = [], []
    for i in np.flatnonzero(par >= 0):
        k = int(np.ceil(np.linalg.norm(pts[i] - pts[par[i]]) / 200)) + 1
        dense.append(np.linspace(pts[par[i]], pts[i], k))
        kind.append(np.full(k, int(swc["type"].iat[i])))
    return np.vstack(dense), np.concatenate(kind)


def synapses_near_neurd(synapses: pd.DataFrame, dense: np.ndarray, kind: np.ndarray) -> pd.DataFrame:
    """Synapses (nm) by direction and the SWC type of NEURD's skeleton within 5 µm (0: farther)."""
    d, k = cKDTree(dense).query(synapses[["x", "y", "z"]].to_numpy(float))
    near = np.where(d <= TOL, kind[k], 0)
    names = {0: "beyond NEURD", 1: "NEURD soma", 2: "NEURD axon", 3: "NEURD dendrite", 4: "NEURD apical"}
    return pd.crosstab(synapses["direction"], pd.Series([names.get(int(x), str(x)) for x in near], name="near"))


def pieces_beyond(neuron, dense: np.ndarray, min_cable_um: float = 2.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Connected pieces of ``neuron``'s skeleton farther than 5 µm from NEURD's points.

    Returns the table (one row per piece of at least ``min_cable_um``) and each piece's root node.
    """
    sk = neuron.skeleton
    far = cKDTree(dense).query(sk.vertices)[0] > TOL
    far[sk.soma_nodes] = False
    has = np.flatnonzero((sk.parent >= 0) & far)
    has = has[far[sk.parent[has]]]
    g = sparse.coo_matrix((np.ones(len(has)), (has, sk.parent[has])), shape=(sk.n_nodes,) * 2)
    _, comp = connected_components(g, directed=False)
    comp = np.where(far, comp, -1)
    L = sk.edge_lengths
    label = neuron.branches["compartment"].reindex(neuron.node_branch).to_numpy()
    width = 2 * np.asarray(sk.radius, float)
    path = path_from_soma(sk, [s.radius for s in neuron.somas])
    syn = neuron.synapses
    node = syn["node"].to_numpy()
    spines = neuron.spines
    spine_node = spines["node"].to_numpy() if spines is not None and "node" in spines.columns else np.empty(0)
    tips = sk.children_count() == 0
    rows, roots = [], []
    for c in np.unique(comp[comp >= 0]):
        nodes = np.flatnonzero(comp == c)
        cable = L[nodes].sum() / 1e3
        if cable < min_cable_um:
            continue
        root = int(nodes[~np.isin(sk.parent[nodes], nodes)][0])
        par = int(sk.parent[root])
        on = np.isin(node, nodes)
        rows.append(dict(cable_um=round(cable, 1), axon_share=round(float(np.average(label[nodes] == "axon",
                                                                                       weights=L[nodes] + 1e-9)), 2),
                         width_nm=round(float(np.nanmedian(width[nodes]))), joins_at_um=round(path[root] / 1e3, 1),
                         joins=label[par] if par >= 0 else "-",
                         host_width_nm=round(float(width[par])) if par >= 0 and np.isfinite(width[par]) else np.nan,
                         n_pre=int((on & (syn["direction"] == "pre")).sum()),
                         n_post=int((on & (syn["direction"] == "post")).sum()),
                         spines=int(np.isin(spine_node, nodes).sum()), tips=int(tips[nodes].sum())))
        roots.append(root)
    table = pd.DataFrame(rows)
    order = np.argsort(-table["cable_um"].to_numpy(), kind="stable") if len(table) else np.empty(0, int)
    return table.iloc[order].reset_index(drop=True), np.asarray(roots, np.int64)[order]


def cut_frontier(neuron, dense: np.ndarray, roots: np.ndarray) -> pd.DataFrame:
    """Every combination of cutting the pieces rooted at ``roots`` (with their subtrees): own cable
    within 5 µm of NEURD and share of the kept presynaptic sites on axon (labels as they are).

    Returns the Pareto front: for each own-near share, the best pre-on-axon share reachable.
    """
    sk = neuron.skeleton
    order = sk.topological_order().astype(np.int64)
    near = cKDTree(dense).query(sk.vertices)[0] <= TOL
    L = sk.edge_lengths
    member = np.zeros(sk.n_nodes, np.int64)  # bit i: the node is below piece i's root
    for i, r in enumerate(roots):
        top = np.zeros(sk.n_nodes, bool)
        top[r] = True
        member |= mark_subtree(order, sk.parent, top).astype(np.int64) << i
    syn = neuron.synapses
    pre = syn[syn["direction"] == "pre"]
    pre_member = member[pre["node"].to_numpy()]
    pre_axon = (pre["compartment"] == "axon").to_numpy()
    atoms, inverse = np.unique(member, return_inverse=True)  # nodes grouped by the pieces above them
    cable_near = np.bincount(inverse, weights=L * near, minlength=len(atoms))
    cable_all = np.bincount(inverse, weights=L, minlength=len(atoms))
    masks = np.arange(1 << len(roots), dtype=np.int64)
    keep = (atoms[None, :] & masks[:, None]) == 0
    own = (keep @ cable_near) / (keep @ cable_all)
    pre_atom = np.searchsorted(atoms, pre_member)
    kept_pre = keep[:, pre_atom]
    n_pre = kept_pre.sum(1)
    on_axon = (kept_pre & pre_axon).sum(1) / np.maximum(n_pre, 1)
    table = pd.DataFrame({"own_near": own, "pre_on_axon": on_axon, "n_pre": n_pre,
                          "cable_um": keep @ cable_all / 1e3}).sort_values(["own_near", "pre_on_axon"], ascending=False)
    front = table[table["pre_on_axon"] > table["pre_on_axon"].cummax().shift(fill_value=-1.0)]
    return front.reset_index(drop=True)


def figure(neuron, dense: np.ndarray, kind: np.ndarray, path: str) -> None:
    """Our neuron's skeleton coloured by near NEURD / beyond NEURD (axon, dendrite), NEURD's skeleton
    on top, presynaptic sites as dots; xy and xz views, µm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    sk = neuron.skeleton
    far = cKDTree(dense).query(sk.vertices)[0] > TOL
    label = neuron.branches["compartment"].reindex(neuron.node_branch).to_numpy()
    has = np.flatnonzero(sk.parent >= 0)
    colour = np.where(~far[has], "0.6", np.where(label[has] == "axon", "tab:red", "tab:blue"))
    pre = neuron.synapses[neuron.synapses["direction"] == "pre"][["x", "y", "z"]].to_numpy(float)
    fig, axes = plt.subplots(1, 2, figsize=(16, 8))
    for ax, (i, j) in zip(axes, ((0, 1), (0, 2))):
        seg = np.stack([sk.vertices[has][:, [i, j]], sk.vertices[sk.parent[has]][:, [i, j]]], axis=1) / 1e3
        ax.add_collection(LineCollection(seg, colors=colour, linewidths=1.2))
        ax.scatter(dense[:, i] / 1e3, dense[:, j] / 1e3, s=0.3, c=np.where(kind == 2, "k", "tab:green"), alpha=0.5)
        ax.scatter(pre[:, i] / 1e3, pre[:, j] / 1e3, s=18, marker="o", facecolors="none", edgecolors="m")
        ax.set_aspect("equal")
        ax.autoscale()
        ax.set_xlabel("xyz"[i] + " (µm)")
        ax.set_ylabel("xyz"[j] + " (µm)")
    axes[0].set_title("ours near NEURD (grey), beyond NEURD: axon (red) / dendrite (blue)\n"
                      "NEURD: dendrite (green dots), axon (black dots); presynaptic sites (magenta)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
