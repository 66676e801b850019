"""Neuron-level morphology features: size, topology, shape (orientation-free), branches, radii.

Every function takes a :class:`~neurograph.features.context.NeuronContext` (nm) and is
registered with its unit in :mod:`neurograph.features.registry`. None uses raw x/y/z
extents (orientation) or node counts (reconstruction density).
"""

from __future__ import annotations

import numpy as np

from .context import NeuronContext
from ..skeleton.tree import subtree_sum
from ..stats import safe_div
from .kernels import weighted_quantiles
from .registry import register

NAN = float("nan")
QS = np.array([0.1, 0.5, 0.9])


def wquant(values: np.ndarray, weights: np.ndarray, qs: np.ndarray = QS) -> np.ndarray:
    """Weighted quantiles ``qs`` of the finite values with positive weight (NaN when none)."""
    ok = np.isfinite(values) & np.isfinite(weights) & (weights > 0)
    if not ok.any():
        return np.full(len(qs), NAN)
    return weighted_quantiles(values[ok].astype(float), weights[ok].astype(float), qs.astype(float))


# --- size and topology -------------------------------------------------------------------

@register("total_length", "µm", "total cable length (soma interior excluded)")
def total_length(ctx: NeuronContext) -> float:
    return ctx.total_length / 1e3


@register("n_stems", "", "primary neurites: subtrees leaving a soma (trees, without a soma)")
def n_stems(ctx: NeuronContext) -> float:
    if len(ctx.soma_nodes):
        return float(np.isin(ctx.parent, ctx.soma_nodes).sum() + (ctx.parent < 0).sum() - len(ctx.soma_nodes))
    return float((ctx.parent < 0).sum())


@register("n_tips", "", "terminal tips (leaf nodes)")
def n_tips(ctx: NeuronContext) -> float:
    return float(len(ctx.tips))


@register("n_branch_points", "", "branch points (nodes with two or more children, somata excluded)")
def n_branch_points(ctx: NeuronContext) -> float:
    return float(len(ctx.branch_points))


@register("tips_per_mm", "1/mm", "terminal tips per mm of cable")
def tips_per_mm(ctx: NeuronContext) -> float:
    return safe_div(len(ctx.tips), ctx.total_length / 1e6)


@register("max_path_length", "µm", "longest path from the soma surface (or root) to a node")
def max_path_length(ctx: NeuronContext) -> float:
    return float(ctx.node_path.max()) / 1e3 if ctx.n else NAN


@register("max_radial_distance", "µm", "largest Euclidean distance of a node from the soma centre (or root)")
def max_radial_distance(ctx: NeuronContext) -> float:
    return float(ctx.node_radial.max()) / 1e3 if ctx.n else NAN


@register("tip_path", "µm", "10th, 50th, 90th percentile of the path length from soma to the tips",
          columns=["tip_path_q10", "tip_path_q50", "tip_path_q90"])
def tip_path(ctx: NeuronContext) -> np.ndarray:
    return np.quantile(ctx.node_path[ctx.tips], QS) / 1e3 if len(ctx.tips) else np.full(3, NAN)


@register("tip_radial", "µm", "10th, 50th, 90th percentile of the Euclidean tip distance from the soma",
          columns=["tip_radial_q10", "tip_radial_q50", "tip_radial_q90"])
def tip_radial(ctx: NeuronContext) -> np.ndarray:
    return np.quantile(ctx.node_radial[ctx.tips], QS) / 1e3 if len(ctx.tips) else np.full(3, NAN)


@register("tip_path_rel", "", "10th and 50th percentile of tip path length / longest path",
          columns=["tip_path_rel_q10", "tip_path_rel_q50"])
def tip_path_rel(ctx: NeuronContext) -> np.ndarray:
    m = ctx.node_path.max() if ctx.n else 0.0
    if not len(ctx.tips) or m <= 0:
        return np.full(2, NAN)
    return np.quantile(ctx.node_path[ctx.tips] / m, [0.1, 0.5])


@register("tip_detour", "", "10th, 50th, 90th percentile over tips of path length / Euclidean distance "
          "from the soma (global tortuosity)", columns=["tip_detour_q10", "tip_detour_q50", "tip_detour_q90"])
def tip_detour(ctx: NeuronContext) -> np.ndarray:
    r = ctx.node_radial[ctx.tips]
    ok = r > 0
    if not ok.any():
        return np.full(3, NAN)
    return np.quantile(ctx.node_path[ctx.tips][ok] / r[ok], QS)


@register("radius_of_gyration", "µm", "cable-weighted RMS distance from the cable centroid")
def radius_of_gyration(ctx: NeuronContext) -> float:
    w = ctx.seg_length
    if w.sum() <= 0:
        return NAN
    return float(np.sqrt(np.sum(ctx.pca[1] ** 2))) / 1e3  # exact for straight segments


@register("soma_to_centroid", "µm", "distance from the soma centre (or root) to the cable centroid")
def soma_to_centroid(ctx: NeuronContext) -> float:
    return float(np.linalg.norm(ctx.centroid - ctx.reference)) / 1e3


@register("soma_to_centroid_rel", "", "soma-to-centroid distance / radius of gyration")
def soma_to_centroid_rel(ctx: NeuronContext) -> float:
    return safe_div(soma_to_centroid(ctx), radius_of_gyration(ctx))


# --- orientation-free shape (cable-weighted PCA) -----------------------------------------

@register("pca_sd", "µm", "cable-weighted standard deviation along the 1st/2nd/3rd principal axis",
          columns=["sd_pc1", "sd_pc2", "sd_pc3"])
def pca_sd(ctx: NeuronContext) -> np.ndarray:
    return ctx.pca[1] / 1e3


@register("pca_extent", "µm", "extent of the skeleton along the 1st/2nd/3rd principal axis",
          columns=["extent_pc1", "extent_pc2", "extent_pc3"])
def pca_extent(ctx: NeuronContext) -> np.ndarray:
    axes, _ = ctx.pca
    proj = (ctx.vertices - ctx.centroid) @ axes.T
    return np.ptp(proj, axis=0) / 1e3 if ctx.n else np.full(3, NAN)


@register("pca_ratios", "", "shape ratios of the principal standard deviations: pc2/pc1, pc3/pc1, pc3/pc2",
          columns=["pc2_over_pc1", "pc3_over_pc1", "pc3_over_pc2"])
def pca_ratios(ctx: NeuronContext) -> np.ndarray:
    s = ctx.pca[1]
    return np.array([safe_div(s[1], s[0]), safe_div(s[2], s[0]), safe_div(s[2], s[1])])


@register("soma_pca", "", "soma position in the neuron's own principal frame, in standard deviations "
          "(axes signed by the cable's skew)", columns=["soma_pc1", "soma_pc2", "soma_pc3"])
def soma_pca(ctx: NeuronContext) -> np.ndarray:
    axes, sd = ctx.pca
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ctx.reference - ctx.centroid) @ axes.T) / sd


@register("pca_skew", "", "skewness of the cable along each principal axis (>= 0 by the sign convention)",
          columns=["skew_pc1", "skew_pc2", "skew_pc3"])
def pca_skew(ctx: NeuronContext) -> np.ndarray:
    axes, sd = ctx.pca
    w = ctx.seg_length
    if w.sum() <= 0:
        return np.full(3, NAN)
    proj = (ctx.seg_mid - ctx.centroid) @ axes.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return (proj ** 3 * w[:, None]).sum(0) / w.sum() / sd ** 3


def _axis_profile(ctx: NeuronContext, axis: int, n_bins: int) -> np.ndarray:
    axes, sd = ctx.pca
    w = ctx.seg_length
    if w.sum() <= 0:
        return np.full(n_bins, NAN)
    proj = (ctx.seg_mid - ctx.centroid) @ axes[axis]
    lo, hi = proj.min(), proj.max()
    if hi <= lo:
        return np.full(n_bins, NAN)
    hist, _ = np.histogram(proj, bins=np.linspace(lo, hi, n_bins + 1), weights=w)
    return hist / w.sum()


@register("pc1_profile", "", "fraction of cable in 10 equal bins along the first principal axis",
          columns=[f"pc1_profile_{k}" for k in range(10)])
def pc1_profile(ctx: NeuronContext) -> np.ndarray:
    return _axis_profile(ctx, 0, 10)


@register("pc2_profile", "", "fraction of cable in 5 equal bins along the second principal axis",
          columns=[f"pc2_profile_{k}" for k in range(5)])
def pc2_profile(ctx: NeuronContext) -> np.ndarray:
    return _axis_profile(ctx, 1, 5)


@register("pc3_profile", "", "fraction of cable in 5 equal bins along the third principal axis",
          columns=[f"pc3_profile_{k}" for k in range(5)])
def pc3_profile(ctx: NeuronContext) -> np.ndarray:
    return _axis_profile(ctx, 2, 5)


# --- backbone: the path from the soma to the farthest tip (orientation-free trajectory) -------

N_BACKBONE = 8                                           # points along the backbone (+ the soma)
BACKBONE_PAIRS = [(i, j) for i in range(N_BACKBONE + 1) for j in range(i + 1, N_BACKBONE + 1)]
BACKBONE_NEAR_UM = 10.0 * np.arange(1, 11)               # 10, 20, ..., 100 µm of path


@register("backbone_shape", "", f"distances between the soma centre (0) and {N_BACKBONE} points at 1/{N_BACKBONE}, "
          f"2/{N_BACKBONE}, ..., 1 of the backbone (the path from the soma to the tip with the longest path), "
          "divided by the backbone's path length: the trajectory's shape up to rotation and reflection",
          columns=[f"backbone_d{i}_{j}" for i, j in BACKBONE_PAIRS])
def backbone_shape(ctx: NeuronContext) -> np.ndarray:
    path, _ = ctx.main_path
    if not len(path) or path[-1] <= 0:
        return np.full(len(BACKBONE_PAIRS), NAN)
    pts = np.vstack([ctx.reference, ctx.main_path_points(path[-1] * np.arange(1, N_BACKBONE + 1) / N_BACKBONE)])
    i, j = np.array(BACKBONE_PAIRS).T
    return np.linalg.norm(pts[i] - pts[j], axis=1) / path[-1]


@register("backbone_straightness", "", "chord / path length of the backbone in 10 equal pieces, soma end first",
          columns=[f"backbone_straightness_{k}" for k in range(10)])
def backbone_straightness(ctx: NeuronContext) -> np.ndarray:
    path, _ = ctx.main_path
    if not len(path) or path[-1] <= 0:
        return np.full(10, NAN)
    pts = ctx.main_path_points(path[-1] * np.linspace(0.0, 1.0, 11))
    return np.linalg.norm(np.diff(pts, axis=0), axis=1) / (path[-1] / 10)


@register("backbone_near_soma", "µm", "distance from the soma centre (or root) of the backbone at 10, 20, ..., "
          "100 µm of path (the primary neurite's course)",
          columns=[f"backbone_r_{int(u)}um" for u in BACKBONE_NEAR_UM])
def backbone_near_soma(ctx: NeuronContext) -> np.ndarray:
    if not len(ctx.main_path[0]):
        return np.full(len(BACKBONE_NEAR_UM), NAN)
    return np.linalg.norm(ctx.main_path_points(BACKBONE_NEAR_UM * 1e3) - ctx.reference, axis=1) / 1e3


# --- branches ------------------------------------------------------------------------------

@register("branch_length", "µm", "10th, 50th, 90th percentile and mean of branch length", group="branches",
          columns=["branch_length_q10", "branch_length_q50", "branch_length_q90", "branch_length_mean"])
def branch_length(ctx: NeuronContext) -> np.ndarray:
    length = ctx.branches["length"].to_numpy(float)
    if not len(length):
        return np.full(4, NAN)
    return np.append(np.quantile(length, QS), length.mean())


@register("branch_length_cv", "", "coefficient of variation of branch length", group="branches")
def branch_length_cv(ctx: NeuronContext) -> float:
    length = ctx.branches["length"].to_numpy(float)
    return safe_div(length.std(), length.mean()) if len(length) else NAN


@register("terminal_branch_length", "µm", "mean length of terminal and of internal branches", group="branches",
          columns=["terminal_branch_length", "internal_branch_length"])
def terminal_branch_length(ctx: NeuronContext) -> np.ndarray:
    b = ctx.branches
    term = b["n_children"].to_numpy() == 0
    length = b["length"].to_numpy(float)
    return np.array([length[term].mean() if term.any() else NAN, length[~term].mean() if (~term).any() else NAN])


@register("terminal_internal_ratio", "", "mean terminal / mean internal branch length", group="branches")
def terminal_internal_ratio(ctx: NeuronContext) -> float:
    t, i = terminal_branch_length(ctx)
    return safe_div(t, i)


@register("branch_order", "", "largest branch order, mean and standard deviation of the terminal branches' order",
          group="branches", columns=["max_branch_order", "tip_order_mean", "tip_order_sd"])
def branch_order(ctx: NeuronContext) -> np.ndarray:
    b = ctx.branches
    if not len(b):
        return np.full(3, NAN)
    tips = b.loc[b["n_children"] == 0, "branch_order"].to_numpy(float)
    return np.array([b["branch_order"].max(), tips.mean(), tips.std()], float)


@register("strahler", "", "Strahler order of the neuron and bifurcation ratio (order-1 / order-2 branches)",
          group="branches", columns=["max_strahler", "bifurcation_ratio"])
def strahler(ctx: NeuronContext) -> np.ndarray:
    s = ctx.branches["strahler"].to_numpy()
    if not len(s):
        return np.full(2, NAN)
    return np.array([s.max(), safe_div((s == 1).sum(), (s == 2).sum())], float)


@register("strahler_cable", "", "fraction of cable in branches of Strahler order 1, 2, 3 and >= 4",
          group="branches", columns=["cable_strahler1", "cable_strahler2", "cable_strahler3", "cable_strahler4plus"])
def strahler_cable(ctx: NeuronContext) -> np.ndarray:
    b = ctx.branches
    length, s = b["length"].to_numpy(float), b["strahler"].to_numpy()
    total = length.sum()
    if total <= 0:
        return np.full(4, NAN)
    return np.array([length[s == 1].sum(), length[s == 2].sum(), length[s == 3].sum(), length[s >= 4].sum()]) / total


@register("tortuosity", "", "length-weighted 10th, 50th, 90th percentile and mean of branch tortuosity "
          "(length / chord)", group="branches",
          columns=["tortuosity_q10", "tortuosity_q50", "tortuosity_q90", "tortuosity_mean"])
def tortuosity(ctx: NeuronContext) -> np.ndarray:
    b = ctx.branches
    t, w = b["tortuosity"].to_numpy(float), b["length"].to_numpy(float)
    ok = np.isfinite(t) & (w > 0)
    if not ok.any():
        return np.full(4, NAN)
    return np.append(wquant(t, w), np.average(t[ok], weights=w[ok]))


@register("angle_to_parent", "deg", "median, mean and standard deviation of the angle between a branch "
          "and its parent (its first 5 µm from 2 µm past the branch point, or from its middle when shorter than 4 µm, "
          "against the parent's last 5 µm)", group="branches",
          columns=["parent_angle_median", "parent_angle_mean", "parent_angle_sd"])
def angle_to_parent(ctx: NeuronContext) -> np.ndarray:
    b = ctx.branches
    a = b.loc[b["branch_order"] > 1, "angle_to_parent"].to_numpy(float)
    a = a[np.isfinite(a)]
    return np.array([np.median(a), a.mean(), a.std()]) if len(a) else np.full(3, NAN)


@register("bifurcation_angle", "deg", "median, mean and standard deviation of the remote bifurcation angle "
          "between the two children of a branch point (5 µm of each from 2 µm past the branch point, or from "
          "its middle when shorter than 4 µm)", group="branches",
          columns=["bif_angle_median", "bif_angle_mean", "bif_angle_sd"])
def bifurcation_angle(ctx: NeuronContext) -> np.ndarray:
    b = ctx.branches
    vec = ctx.direction_vectors
    parents = b["parent"].to_numpy()
    ids = b.index.to_numpy()
    ok = parents >= len(ctx.soma_nodes)  # children of branches, not of somata
    if not ok.any():
        return np.full(3, NAN)
    order = np.argsort(parents[ok], kind="stable")
    par, kids = parents[ok][order], ids[ok][order]
    first = np.r_[True, par[1:] != par[:-1]]
    counts = np.diff(np.r_[np.flatnonzero(first), len(par)])
    starts = np.flatnonzero(first)[counts == 2]
    u, v = vec[kids[starts]], vec[kids[starts + 1]]
    good = (np.abs(u).sum(1) > 0) & (np.abs(v).sum(1) > 0)
    if not good.any():
        return np.full(3, NAN)
    ang = np.degrees(np.arccos(np.clip((u[good] * v[good]).sum(1), -1, 1)))
    return np.array([np.median(ang), ang.mean(), ang.std()])


@register("partition_asymmetry", "", "mean topological asymmetry |n1 - n2| / (n1 + n2 - 2) over binary "
          "branch points (n = tips in each subtree)", group="branches")
def partition_asymmetry(ctx: NeuronContext) -> float:
    leaf = ctx.n_children == 0
    tips = subtree_sum(ctx.order, ctx.parent, leaf.astype(np.float64))
    bp = ctx.branch_points[ctx.n_children[ctx.branch_points] == 2]
    if not len(bp):
        return NAN
    kids = ctx.seg[np.argsort(ctx.parent[ctx.seg], kind="stable")]
    kid_par = ctx.parent[kids]
    pos = np.searchsorted(kid_par, bp)
    n1, n2 = tips[kids[pos]].astype(float), tips[kids[pos + 1]].astype(float)
    denom = n1 + n2 - 2
    vals = np.where(denom > 0, np.abs(n1 - n2) / np.where(denom > 0, denom, 1), 0.0)
    return float(vals.mean())


# --- radii (where the skeleton has them) ---------------------------------------------------

def _seg_radius(ctx: NeuronContext) -> np.ndarray:
    return ctx.radius[ctx.seg]


@register("radius_stats", "nm", "cable-weighted 10th, 50th, 90th percentile of the node radius", group="radii",
          requires=["radii"], columns=["radius_q10", "radius_q50", "radius_q90"])
def radius_stats(ctx: NeuronContext) -> np.ndarray:
    return wquant(_seg_radius(ctx), ctx.seg_length)


@register("stem_radius", "nm", "median radius within the first 20 µm of path from the soma", group="radii",
          requires=["radii"])
def stem_radius(ctx: NeuronContext) -> float:
    near = ctx.seg_path1 <= 20000.0
    return float(wquant(_seg_radius(ctx)[near], ctx.seg_length[near], np.array([0.5]))[0])


@register("terminal_radius", "nm", "median radius of the terminal branches' nodes", group="radii",
          requires=["radii"])
def terminal_radius(ctx: NeuronContext) -> float:
    b = ctx.branches
    term = set(b.index[b["n_children"] == 0].tolist())
    nb = np.asarray(ctx.neuron.node_branch)[ctx.seg]
    mask = np.isin(nb, list(term))
    return float(wquant(_seg_radius(ctx)[mask], ctx.seg_length[mask], np.array([0.5]))[0])


@register("radius_taper", "", "terminal radius / stem radius", group="radii", requires=["radii"])
def radius_taper(ctx: NeuronContext) -> float:
    return safe_div(terminal_radius(ctx), stem_radius(ctx))


@register("volume_per_length", "µm²", "skeleton volume (frustums of the radii) per µm of cable", group="radii",
          requires=["radii"])
def volume_per_length(ctx: NeuronContext) -> float:
    r = np.nan_to_num(_seg_radius(ctx))
    pr = np.nan_to_num(ctx.radius[ctx.parent[ctx.seg]])
    pr = np.where(ctx.is_soma[ctx.parent[ctx.seg]], r, pr)
    vol = (np.pi / 3 * ctx.seg_length * (r ** 2 + r * pr + pr ** 2)).sum()
    return safe_div(vol / 1e9, ctx.total_length / 1e3)
