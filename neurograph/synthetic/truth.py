"""Ground truth of synthetic neurons: synapses with known placement, the compartment of any
point, the true skeleton, and labelled skeleton edges (all nm)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..codes import SWC_TYPE
from ..skeleton import Skeleton
from ..skeleton.resample import resample
from .cells import SyntheticNeuron, perpendicular, unit_vector


def sample_synapses(cell: SyntheticNeuron, seed: int = 0, pre_per_um: float = 0.2, post_per_um: float = 0.3,
                    spine_fraction: float = 0.8, n_soma: int = 10) -> pd.DataFrame:
    """Synapses with known placement on a synthetic neuron (additive helper; nm).

    Presynaptic sites sit on the axon surface, postsynaptic sites on the dendrite surface, on
    spine tips (a ``spine_fraction`` of the spines) and on the soma surface.

    Parameters
    ----------
    cell : SyntheticNeuron
    seed : int
    pre_per_um, post_per_um : float
        Mean sites per µm of axon and of dendrite shaft.
    spine_fraction : float
        Fraction of spines carrying one postsynaptic site on the head.
    n_soma : int
        Postsynaptic sites on the soma (none for fragments).

    Returns
    -------
    pandas.DataFrame
        ``x, y, z`` (nm), ``direction`` (pre/post), truth ``branch`` (-1 soma), ``compartment``
        (``axon``/``dendrite``/``apical``/``soma``), ``on_spine``.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for b, path in enumerate(cell.paths):
        comp = cell.branches["compartment"].iat[b]
        seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
        s = np.concatenate([[0], np.cumsum(seg)])
        rate = pre_per_um if comp == "axon" else post_per_um
        r0, r1 = cell.branches["radius_start"].iat[b], cell.branches["radius_end"].iat[b]
        for t in rng.uniform(0, s[-1], rng.poisson(rate * s[-1] / 1000)):
            k = min(max(int(np.searchsorted(s, t)), 1), len(s) - 1)
            axis_pt = np.array([np.interp(t, s, path[:, c]) for c in range(3)])
            u = perpendicular(unit_vector(path[k] - path[k - 1]), rng)
            r = float(np.interp(t, [0, s[-1]], [r0, r1]))
            if cell.soma_center is not None and np.linalg.norm(axis_pt + r * u - cell.soma_center) < cell.soma_radius:
                continue  # buried in the soma
            rows.append((*(axis_pt + r * u), "pre" if comp == "axon" else "post", b, comp, False))
    for i, sp in cell.spines.iterrows():
        if rng.random() < spine_fraction:
            tip = sp[["tip_x", "tip_y", "tip_z"]].to_numpy(float)
            rows.append((*tip, "post", int(sp["branch"]), cell.branches["compartment"].iat[int(sp["branch"])], True))
    if cell.soma_center is not None:
        for _ in range(n_soma):
            d = unit_vector(rng.normal(size=3))
            rows.append((*(cell.soma_center + cell.soma_radius * d), "post", -1, "soma", False))
    table = pd.DataFrame(rows, columns=["x", "y", "z", "direction", "branch", "compartment", "on_spine"])
    table.attrs["units"] = "nm"  # positions in nm: map_synapses takes it without a voxel size
    return table


def truth_compartments(cell: SyntheticNeuron, points: np.ndarray) -> np.ndarray:
    """Truth compartment of the branch axis nearest to each point.

    Parameters
    ----------
    cell : SyntheticNeuron
        Synthetic neuron with its branch axes (``paths``, nm) and their ``compartment`` labels.
    points : (k, 3) float ndarray
        Query points, nm (matched to axis samples every 100 nm).

    Returns
    -------
    (k,) object ndarray
        ``"axon"``, ``"dendrite"``, ``"apical"`` or ``"primary"`` (the nearest branch's label), or ``"soma"``
        for points within the soma radius of its centre.
    """
    pts, lab = [], []
    for b, path in enumerate(cell.paths):
        seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
        s = np.concatenate([[0], np.cumsum(seg)])
        t = np.arange(0, s[-1] + 1e-9, 100.0)
        pts.append(np.column_stack([np.interp(t, s, path[:, k]) for k in range(3)]))
        lab.append(np.full(len(t), b))
    _, idx = cKDTree(np.vstack(pts)).query(np.asarray(points, float))
    out = cell.branches["compartment"].to_numpy()[np.concatenate(lab)[idx]].astype(object)
    if cell.soma_center is not None:
        out[np.linalg.norm(np.asarray(points, float) - cell.soma_center, axis=1) < cell.soma_radius] = "soma"
    return out


def truth_skeleton(cell: SyntheticNeuron, radii: bool = True, spacing: float | None = None,
                   jitter: float = 0.0, seed: int = 0):
    """The neuron's true centre-line skeleton (nm), as an SWC exporter would write it.

    One soma node at the soma centre (radius = soma radius), then every branch axis; node
    types are the true compartments (SWC 1 soma, 2 axon, 3 dendrite, 4 apical). With
    ``radii=False`` every radius is NaN (written as 0 by :meth:`Skeleton.to_swc`): the
    skeletons of the CAVE skeleton service / pcg_skel look like this, sampled every ~2 µm.

    Parameters
    ----------
    cell : SyntheticNeuron
    radii : bool, default True
        Keep the true radii (branch radii interpolated along the branch, soma radius).
    spacing : float, optional
        Resample every unbranched run to about this node spacing (nm), see
        :func:`neurograph.skeleton.resample.resample` (``keep_soma_edges=True``).
    jitter : float, default 0
        Move every non-soma node by a random offset of this fraction of its true radius
        (per axis, normal), like level-2 chunk centroids that sit off the centre line.
    seed : int
        For the jitter.

    Returns
    -------
    neurograph.Skeleton
    """

    has_soma = cell.soma_center is not None
    verts = [cell.soma_center[None, :]] if has_soma else []
    rad = [np.array([cell.soma_radius])] if has_soma else []
    types = [np.array([1])] if has_soma else []
    parent = [np.array([-1])] if has_soma else []
    end_node, n = {}, int(has_soma)
    for b, path in enumerate(cell.paths):
        row = cell.branches.iloc[b]
        seg = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
        r = np.interp(seg, [0.0, seg[-1]], [row["radius_start"], row["radius_end"]])
        top = int(row["parent"])
        pts, r = (path, r) if top < 0 else (path[1:], r[1:])  # a child starts at its parent's end
        first_parent = end_node[top] if top >= 0 else (0 if has_soma else -1)
        ids = n + np.arange(len(pts))
        verts.append(pts)
        rad.append(r)
        types.append(np.full(len(pts), SWC_TYPE.get(row["compartment"], 0)))  # 0: a unipolar primary neurite
        parent.append(np.concatenate([[first_parent], ids[:-1]]))
        end_node[b] = int(ids[-1])
        n += len(pts)
    sk = Skeleton(np.vstack(verts), np.concatenate(parent), np.concatenate(rad).astype(float), None,
                  np.arange(int(has_soma), dtype=np.int64), np.concatenate(types).astype(np.int8))
    if spacing is not None:
        sk = resample(sk, spacing, keep_soma_edges=True)
    if jitter > 0:
        rng = np.random.default_rng(seed)
        move = np.ones(sk.n_nodes, bool)
        move[sk.soma_nodes] = False
        sk.vertices[move] += rng.normal(size=(int(move.sum()), 3)) * jitter * sk.radius[move, None]
    if not radii:
        sk.radius = np.full(sk.n_nodes, np.nan)
    return sk


def labelled_edges(neuron) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every skeleton edge of a labelled neuron, to score it against :func:`truth_compartments`.

    Parameters
    ----------
    neuron : Neuron
        After :func:`neurograph.label_compartments` (``skeleton.node_type`` set).

    Returns
    -------
    midpoints : (k, 3) float ndarray
        nm, one per non-root skeleton node (its edge to the parent).
    lengths : (k,) float ndarray
        nm.
    labels : (k,) object ndarray
        ``soma``, ``axon``, ``dendrite`` (apical and basal dendrites included) or ``?``.
    """
    sk = neuron.skeleton
    has = np.flatnonzero(sk.parent >= 0)
    mid = 0.5 * (sk.vertices[has] + sk.vertices[sk.parent[has]])
    length = np.linalg.norm(sk.vertices[has] - sk.vertices[sk.parent[has]], axis=1)
    names = {1: "soma", 2: "axon", 3: "dendrite", 4: "dendrite"}
    return mid, length, np.array([names.get(int(c), "?") for c in sk.node_type[has]], dtype=object)
