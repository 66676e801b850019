"""Arbor features: the neuron's terminal arbors found as spatial clusters of its tips.

Tips closer than :data:`LINK_UM` to each other (single linkage) form one arbor; arbors
holding at least :data:`MIN_TIP_FRACTION` of the tips are kept and ordered by the median
path length from the soma to their tips (for an insect projection neuron: antennal-lobe
dendrites, then calyx and lateral-horn boutons). Their sizes, spreads and the distances
between soma and arbor centres (a configuration that does not change when the neuron is
rotated or reflected) describe the projection pattern without brain-space coordinates. The
soma and first branch point are also given in a frame built from the arbors themselves
(rotation-free, but chiral: mirror-image neurons flip the sign of its z axis).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .context import NeuronContext
from .registry import register

NAN = float("nan")
LINK_UM = 25.0          # µm: tips closer than this belong to the same arbor
FINE_LINK_UM = 5.0      # µm: the same at the scale of one glomerulus / bouton cluster
MIN_TIP_FRACTION = 0.05
N_ARBORS = 3


def _link(points: np.ndarray, link_um: float) -> tuple[int, np.ndarray]:
    """Single-linkage clusters of points (nm) closer than ``link_um`` µm: count and labels."""
    pairs = cKDTree(points).query_pairs(link_um * 1e3, output_type="ndarray")
    adj = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(points),) * 2)
    return connected_components(adj, directed=False)


def tip_arbors(ctx: NeuronContext, link_um: float = LINK_UM) -> list[dict]:
    """Arbors ordered by path distance, as dicts: ``n``, ``frac`` (of tips), ``centre`` (nm),
    ``rg`` (nm), ``sd`` (3 principal standard deviations of the tips, nm), ``path`` (nm)."""
    cache = ctx.__dict__.setdefault("_arbor_cache", {})
    if link_um in cache:
        return cache[link_um]
    tips = ctx.tips
    out: list[dict] = []
    if len(tips) >= 2:
        pts = ctx.vertices[tips]
        n, labels = _link(pts, link_um)
        counts = np.bincount(labels, minlength=n)
        for c in np.flatnonzero(counts >= max(2, MIN_TIP_FRACTION * len(tips))):
            members = labels == c
            p = pts[members]
            centre = p.mean(axis=0)
            sd = np.linalg.svd(p - centre, compute_uv=False) / np.sqrt(len(p))
            out.append({"n": int(members.sum()), "frac": members.mean(), "centre": centre, "tips": tips[members],
                        "rg": float(np.sqrt(((p - centre) ** 2).sum(1).mean())),
                        "sd": np.pad(sd, (0, 3 - len(sd)))[:3],
                        "path": float(np.median(ctx.node_path[tips[members]]))})
        out.sort(key=lambda a: a["path"])
    cache[link_um] = out
    return out


@register("n_arbors", "", f"terminal arbors: clusters of tips (linked within {LINK_UM:g} µm) holding >= "
          f"{MIN_TIP_FRACTION:.0%} of the tips", group="arbors")
def n_arbors(ctx: NeuronContext) -> float:
    return float(len(tip_arbors(ctx)))


def _cols(stem: str) -> list[str]:
    return [f"arbor{k + 1}_{stem}" for k in range(N_ARBORS)]


def _per_arbor(ctx: NeuronContext, value) -> np.ndarray:
    arbors = tip_arbors(ctx)[:N_ARBORS]
    out = np.full(N_ARBORS, NAN)
    for k, a in enumerate(arbors):
        out[k] = value(a)
    return out


@register("arbor_tip_fraction", "", "fraction of all tips in arbors 1-3 (ordered by path distance from the soma)",
          group="arbors", columns=_cols("tip_fraction"))
def arbor_tip_fraction(ctx: NeuronContext) -> np.ndarray:
    return _per_arbor(ctx, lambda a: a["frac"])


@register("arbor_spread", "µm", "radius of gyration of the tips of arbors 1-3", group="arbors",
          columns=_cols("spread"))
def arbor_spread(ctx: NeuronContext) -> np.ndarray:
    return _per_arbor(ctx, lambda a: a["rg"] / 1e3)


@register("arbor1_shape", "µm", "standard deviations of arbor 1's tips along its own principal axes",
          group="arbors", columns=["arbor1_sd1", "arbor1_sd2", "arbor1_sd3"])
def arbor1_shape(ctx: NeuronContext) -> np.ndarray:
    arbors = tip_arbors(ctx)
    return arbors[0]["sd"] / 1e3 if arbors else np.full(3, NAN)


@register("fine_arbor1", "", f"fine scale ({FINE_LINK_UM:g} µm linkage): number of tip clusters with >= "
          f"{MIN_TIP_FRACTION:.0%} of the tips, fraction of the tips and spread (µm) of the one nearest the soma "
          "along the path", group="arbors", scale_free=False,
          columns=["n_fine_arbors", "fine_arbor1_tip_fraction", "fine_arbor1_spread"])
def fine_arbor1(ctx: NeuronContext) -> np.ndarray:
    arbors = tip_arbors(ctx, FINE_LINK_UM)
    if not arbors:
        return np.array([0.0, NAN, NAN])
    return np.array([len(arbors), arbors[0]["frac"], arbors[0]["rg"] / 1e3])


SUB_LINKS_UM = (3.0, 5.0, 8.0)


@register("arbor1_substructure", "", "arbor 1 split again at 3, 5 and 8 µm linkage: fraction of its tips in the "
          "largest sub-cluster, and the entropy (nats) of the sub-cluster sizes (one glomerulus-like tuft: "
          "1 and 0)", group="arbors",
          columns=[f"arbor1_top_cluster_{int(u)}um" for u in SUB_LINKS_UM]
          + [f"arbor1_cluster_entropy_{int(u)}um" for u in SUB_LINKS_UM])
def arbor1_substructure(ctx: NeuronContext) -> np.ndarray:
    arbors = tip_arbors(ctx)
    if not arbors:
        return np.full(2 * len(SUB_LINKS_UM), NAN)
    pts = ctx.vertices[arbors[0]["tips"]]
    top, ent = [], []
    for link in SUB_LINKS_UM:
        frac = np.bincount(_link(pts, link)[1]) / len(pts)
        top.append(frac.max())
        ent.append(float(-(frac * np.log(frac)).sum()))
    return np.array(top + ent)


@register("arbor_path", "µm", "median path length from the soma to the tips of arbors 1-3", group="arbors",
          columns=_cols("path"))
def arbor_path(ctx: NeuronContext) -> np.ndarray:
    return _per_arbor(ctx, lambda a: a["path"] / 1e3)


@register("arbor_distance", "µm", "distance from the soma centre (or root) to the centres of arbors 1-3",
          group="arbors", columns=_cols("distance"))
def arbor_distance(ctx: NeuronContext) -> np.ndarray:
    return _per_arbor(ctx, lambda a: float(np.linalg.norm(a["centre"] - ctx.reference)) / 1e3)


@register("arbor_detour", "", "path / Euclidean distance from the soma to arbors 1-3", group="arbors",
          columns=_cols("detour"))
def arbor_detour(ctx: NeuronContext) -> np.ndarray:
    def f(a):
        d = float(np.linalg.norm(a["centre"] - ctx.reference))
        return a["path"] / d if d > 0 else NAN
    return _per_arbor(ctx, f)


@register("arbor_separation", "µm", "distances between the centres of arbors 1-2, 1-3 and 2-3", group="arbors",
          columns=["arbor12_distance", "arbor13_distance", "arbor23_distance"])
def arbor_separation(ctx: NeuronContext) -> np.ndarray:
    arbors = tip_arbors(ctx)[:N_ARBORS]
    out = np.full(3, NAN)
    for k, (i, j) in enumerate([(0, 1), (0, 2), (1, 2)]):
        if j < len(arbors):
            out[k] = np.linalg.norm(arbors[i]["centre"] - arbors[j]["centre"]) / 1e3
    return out


@register("arbor_angles", "deg", "angle at arbor 1 between the soma and arbor 2, and at the soma between "
          "arbors 1 and 2", group="arbors", columns=["angle_soma_arbor1_arbor2", "angle_arbor1_soma_arbor2"])
def arbor_angles(ctx: NeuronContext) -> np.ndarray:
    arbors = tip_arbors(ctx)
    if len(arbors) < 2:
        return np.full(2, NAN)
    s, a1, a2 = ctx.reference, arbors[0]["centre"], arbors[1]["centre"]

    def angle(at, p, q):
        u, v = p - at, q - at
        nu, nv = np.linalg.norm(u), np.linalg.norm(v)
        return float(np.degrees(np.arccos(np.clip(u @ v / (nu * nv), -1, 1)))) if nu > 0 and nv > 0 else NAN

    return np.array([angle(a1, s, a2), angle(s, a1, a2)])


@register("backbone_to_arbor1", "µm", "distance from the centre of arbor 1 to the backbone (path from the soma to "
          "the farthest tip) at 10, 20, ..., 100 µm of path: how the primary neurite approaches the first arbor",
          group="arbors", columns=[f"backbone_arbor1_{int(u)}um" for u in range(10, 110, 10)])
def backbone_to_arbor1(ctx: NeuronContext) -> np.ndarray:
    arbors = tip_arbors(ctx)
    if not arbors or not len(ctx.main_path[0]):
        return np.full(10, NAN)
    at = 1e4 * np.arange(1, 11)
    return np.linalg.norm(ctx.main_path_points(at) - arbors[0]["centre"], axis=1) / 1e3


def _arbor_frame(ctx: NeuronContext) -> np.ndarray | None:
    """Right-handed frame of the neuron's own layout (rows x, y, z): x from arbor 1 (nearest the soma
    along the path) to the last arbor, y towards the cable centroid; None with < 2 arbors."""
    arbors = tip_arbors(ctx)
    if len(arbors) < 2:
        return None
    x = arbors[-1]["centre"] - arbors[0]["centre"]
    y = ctx.centroid - arbors[0]["centre"]
    nx = np.linalg.norm(x)
    if nx == 0:
        return None
    x = x / nx
    y = y - x * (y @ x)
    ny = np.linalg.norm(y)
    if ny == 0:
        return None
    y = y / ny
    return np.vstack([x, y, np.cross(x, y)])


def _in_frame(ctx: NeuronContext, point: np.ndarray | None) -> np.ndarray:
    frame = _arbor_frame(ctx)
    if frame is None or point is None:
        return np.full(3, NAN)
    out = frame @ (point - tip_arbors(ctx)[0]["centre"]) / 1e3
    out[2] = abs(out[2])  # distance from the x-y plane: the same for a mirror-image neuron
    return out


@register("soma_in_arbor_frame", "µm", "soma centre in the neuron's arbor frame: origin arbor 1, x towards the "
          "last arbor, y towards the cable centroid, z = |distance along x × y| (free of rotation and of mirroring: "
          "the same for the neuron's mirror image, e.g. from the other hemisphere or a left-handed template)",
          group="arbors",
          columns=["soma_frame_x", "soma_frame_y", "soma_frame_z"])
def soma_in_arbor_frame(ctx: NeuronContext) -> np.ndarray:
    return _in_frame(ctx, ctx.reference)


@register("first_branch_in_arbor_frame", "µm", "first branch point of the main stem in the arbor frame "
          "(see soma_in_arbor_frame)", group="arbors",
          columns=["first_branch_frame_x", "first_branch_frame_y", "first_branch_frame_z"])
def first_branch_in_arbor_frame(ctx: NeuronContext) -> np.ndarray:
    node = ctx.first_branch_node()
    return _in_frame(ctx, ctx.vertices[node] if node >= 0 else None)


@register("centroid_in_arbor_frame", "µm", "cable centroid in the arbor frame (x, y; z is 0 by construction)",
          group="arbors", columns=["centroid_frame_x", "centroid_frame_y"])
def centroid_in_arbor_frame(ctx: NeuronContext) -> np.ndarray:
    return _in_frame(ctx, ctx.centroid)[:2]
