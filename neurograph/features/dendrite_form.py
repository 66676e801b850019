"""The form of a cortical neuron's dendrites in its own frame: what tells interneuron classes and
layer-5 projection classes apart when soma depth is not known.

The literature separates the classes that the ``cortical`` and ``neurites`` groups confuse by the
layout of the dendrites around the soma and by their calibre, not by where the cell sits:

- **Sst (Martinotti) vs Pvalb (basket)** interneurons (Markram et al. 2004, Nat Rev Neurosci 5:793;
  Gouwens et al. 2019, Nat Neurosci 22:1182; Gouwens et al. 2020, Cell 183:935): basket cells have
  a round, multipolar dendritic field centred on the soma, with several dendrites of similar size
  that branch close to the soma; Martinotti cells have bitufted or vertically elongated fields,
  often dominated by one or two dendrites, with longer, thinner and more sparsely branched
  dendrites and the axon leaving towards the pia from the top of the soma or a dendrite.
- **Rbp4 (L5 extratelencephalic, thick-tufted) vs Rorb (L4/L5 intratelencephalic, slender-tufted)**
  pyramidal cells (Kim et al. 2015, Neuron 88:1253; Gouwens et al. 2019): ET cells have a thick
  apical trunk, a large, branched tuft and more basal dendrites than IT cells of the same layer.

Every feature here is measured in the frame of :func:`neurograph.features.cortical.frame` (the
apical axis, or for a cell without an apical dendrite the first principal axis of its dendrites)
and is free of the file's orientation and origin: distances, counts, angles and ratios from the
soma centre or along the tree. Features whose sign would depend on how an aspiny cell's axis is
pointed (towards its axon, or for a dendrite-only reconstruction its heavier dendrite side) are
folded to be sign-free. Calibre features use ratios of the cell's own radii, so a lab's radius
convention (or its estimation bias) cancels. Everything is NaN when its compartment is missing
(no dendrites, no apical dendrite, no radii, no axon at all).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..graph.branch_table import DIRECTION_OFFSET, DIRECTION_SPAN
from ..skeleton.tree import root_labels
from .context import NeuronContext
from .cortical import APICAL, AXON, BASAL, apical_tree, frame
from .kernels import binned_cable
from .neurites import arbor, descend
from .registry import register

NAN = float("nan")
STEM_SPAN_UM = 10.0            # µm of path down a stem that gives its direction
MAJOR_STEM_SHARE = 0.10        # a stem holding this share of the dendrite cable is a major dendrite
BRANCH_PATH_EDGES_UM = np.array([0.0, 50.0, 150.0, np.inf])  # path from the soma surface
TRUNK_RADIUS_PATH_UM = (5.0, 100.0)  # the apical trunk's calibre is measured over this path
PROXIMAL_UM = 20.0             # µm of path from the soma surface: proximal basal dendrite
AXON_START_UM = (5.0, 30.0)    # µm of axon path from its origin that gives its initial direction


# --- field and stems ----------------------------------------------------------------------------

@register("dendrite_field", "", "dendrites in the cell's own frame: distance from the soma centre to the "
          "dendrite cable's centroid over the cable's mean distance from the soma centre (0: soma at the centre of "
          "its field), the height asymmetry of the cable along the cell's axis (|sum of length x height| / sum "
          "of length x |height|: 0 balanced about the soma, 1 all on one side), the aspect of the field (rms "
          "height along the axis over rms distance from it: > 1 vertically elongated) and the orientation order "
          "of the primary dendrites to the axis (mean of (3 cos² - 1) / 2 of their directions 10 µm out: 1 all "
          "along it either way, as a bitufted cell's; 0 spread in 3-D; -0.5 all across it); moments, not "
          "quantiles, so that they change smoothly with the cell", group="dendrite_form",
          columns=["dendrite_centroid_offset", "dendrite_height_asymmetry", "dendrite_aspect", "stem_axial_order"])
def dendrite_field(ctx: NeuronContext) -> np.ndarray:
    fr = frame(ctx)
    a = arbor(ctx, "dendrite")
    if a is None or fr.axis_from == "none":
        return np.full(4, NAN)
    m = a.seg
    w = ctx.seg_length[m]
    centroid = (ctx.seg_mid[m] * w[:, None]).sum(0) / w.sum()
    r = 0.5 * (ctx.seg_radial0[m] + ctx.seg_radial1[m])
    hm = 0.5 * (fr.h0[m] + fr.h1[m])
    u = ctx.vertices[descend(ctx, a, STEM_SPAN_UM * 1e3)] - ctx.reference
    norm = np.linalg.norm(u, axis=1)
    cos = np.abs(u[norm > 0] @ fr.axis) / norm[norm > 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.array([np.linalg.norm(centroid - ctx.reference) / (w @ r / w.sum()),
                         abs(w @ hm) / (w @ np.abs(hm)), np.sqrt((w @ hm ** 2) / (w @ fr.lateral[m] ** 2)),
                         (1.5 * cos ** 2 - 0.5).mean() if len(cos) else NAN])


def _stem_of(ctx: NeuronContext, stems: np.ndarray) -> np.ndarray:
    """The stem every node hangs from (its own index when it is none of ``stems``' subtrees)."""
    cut = ctx.parent.copy()
    cut[stems] = -1
    return root_labels(ctx.order, cut)


@register("dendrite_stem_balance", "", "how the dendrite cable is shared among the primary dendrites: the "
          "largest one's share, the number holding >= 10 % of it (major dendrites) and the normalised entropy "
          "of the shares (1: all equal; 0 with one dendrite)", group="dendrite_form",
          columns=["stem_share_max", "major_stems", "stem_share_entropy"])
def dendrite_stem_balance(ctx: NeuronContext) -> np.ndarray:
    a = arbor(ctx, "dendrite")
    if a is None:
        return np.full(3, NAN)
    stem = _stem_of(ctx, a.stems)[ctx.seg]
    share = np.bincount(stem[a.seg], weights=ctx.seg_length[a.seg], minlength=ctx.n)[a.stems] / a.cable
    p = share[share > 0]
    entropy = float(-(p * np.log(p)).sum() / np.log(len(p))) if len(p) > 1 else 0.0
    return np.array([share.max(), float((share >= MAJOR_STEM_SHARE).sum()), entropy])


# --- branching ----------------------------------------------------------------------------------

@njit(cache=True)
def _run_ends(order: np.ndarray, parent: np.ndarray, inside: np.ndarray, kids: np.ndarray) -> np.ndarray:
    """For every compartment node, the first node at or below it that is a branch point or a tip
    (the end of its unbranched run)."""
    n = parent.shape[0]
    only = np.full(n, -1, np.int64)
    for v in range(n):
        p = parent[v]
        if inside[v] and p >= 0 and inside[p] and kids[p] == 1:
            only[p] = v
    end = np.arange(n)
    for k in range(order.shape[0] - 1, -1, -1):
        v = order[k]
        if inside[v] and kids[v] == 1 and only[v] >= 0:
            end[v] = end[only[v]]
    return end


@njit(cache=True)
def _bifurcation_angles(parent: np.ndarray, inside: np.ndarray, kids: np.ndarray, end: np.ndarray,
                        vertices: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """(k, 2) angles (rad) at every bifurcation of the compartment between its first two children:
    local (between ``direction`` of the branches they start: unit vectors per node, zero where
    unknown) and remote (from the fork to the end of each child's run)."""
    n = parent.shape[0]
    only = np.full(n, -1, np.int64)
    first = np.full(n, -1, np.int64)
    second = np.full(n, -1, np.int64)
    for v in range(n):
        p = parent[v]
        if inside[v] and p >= 0 and inside[p]:
            if kids[p] == 1:
                only[p] = v
            elif first[p] < 0:
                first[p] = v
            elif second[p] < 0:
                second[p] = v
    out = np.full((n, 2), np.nan)
    m = 0
    for b in range(n):
        if second[b] < 0:
            continue
        x = vertices[b]
        for j in range(2):
            if j == 0:
                u, w = direction[first[b]], direction[second[b]]
            else:
                u, w = vertices[end[first[b]]] - x, vertices[end[second[b]]] - x
            nu, nw = np.sqrt((u * u).sum()), np.sqrt((w * w).sum())
            if nu > 0 and nw > 0:
                out[m, j] = np.arccos(min(1.0, max(-1.0, (u * w).sum() / (nu * nw))))
        m += 1
    return out[:m]


@register("dendrite_bifurcations", "deg", "dendrites: median local bifurcation angle (between the two children's "
          f"directions over {DIRECTION_SPAN / 1e3:g} µm from {DIRECTION_OFFSET / 1e3:g} µm past the fork, as "
          "bif_angle_*) and median remote angle (from the fork to the ends of the children's unbranched runs)",
          group="dendrite_form", columns=["dendrite_bif_angle_local", "dendrite_bif_angle_remote"])
def dendrite_bifurcations(ctx: NeuronContext) -> np.ndarray:
    a = arbor(ctx, "dendrite")
    if a is None or not len(a.bps):
        return np.full(2, NAN)
    end = _run_ends(ctx.order, ctx.parent, a.inside, a.kids)
    direction = ctx.direction_vectors[np.asarray(ctx.neuron.node_branch, np.int64)]
    ang = _bifurcation_angles(ctx.parent, a.inside, a.kids, end, ctx.vertices, direction)
    return np.degrees(np.nanmedian(ang, axis=0)) if np.isfinite(ang).any() else np.full(2, NAN)


@register("dendrite_branching_profile", "1/mm", "dendrites: branch points per mm of dendrite cable within 0-50, "
          "50-150 and beyond 150 µm of path from the soma surface (where along the dendrites they branch; NaN "
          "where there is no cable)", group="dendrite_form",
          columns=["dendrite_branching_0_50um", "dendrite_branching_50_150um", "dendrite_branching_150um_plus"])
def dendrite_branching_profile(ctx: NeuronContext) -> np.ndarray:
    a = arbor(ctx, "dendrite")
    if a is None:
        return np.full(3, NAN)
    edges = BRANCH_PATH_EDGES_UM * 1e3
    cable = binned_cable(ctx.seg_path0[a.seg], ctx.seg_path1[a.seg], ctx.seg_length[a.seg], edges)
    bps = np.histogram(ctx.node_path[a.bps], edges)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cable > 0, bps / (cable / 1e6), NAN)


# --- apical trunk, tuft and basal dendrites -----------------------------------------------------

def _tree_counts(ctx: NeuronContext, mask: np.ndarray) -> tuple[float, float]:
    """Tips and branch points among the nodes of ``mask`` (children counted within it)."""
    par = ctx.parent
    child = np.flatnonzero(mask & (par >= 0))
    child = child[mask[par[child]]]
    kids = np.bincount(par[child], minlength=ctx.n)
    return float((mask & (kids == 0)).sum()), float((mask & (kids >= 2)).sum())


@register("apical_branching", "", "apical tuft tips and branch points, tips on the oblique dendrites, and basal "
          "dendrites: primary basal dendrites and basal tips (0 for the apical counts without an apical "
          "dendrite)", group="dendrite_form",
          columns=["tuft_tips", "tuft_branch_points", "oblique_tips", "basal_stems", "basal_tips"])
def apical_branching(ctx: NeuronContext) -> np.ndarray:
    fr = frame(ctx)
    if fr.axis_from == "none":
        return np.full(5, NAN)
    tree = apical_tree(ctx)
    tuft_tips, tuft_bps = _tree_counts(ctx, tree["tuft"])
    oblique_tips = 0.0
    if len(tree["obliques"]):
        stem = _stem_of(ctx, tree["obliques"])
        oblique_tips = _tree_counts(ctx, np.isin(stem, tree["obliques"]) & (fr.codes == APICAL))[0]
    basal = (fr.codes == BASAL) & ~ctx.is_soma
    par = ctx.parent
    basal_stems = float((basal & ((par < 0) | ~basal[np.maximum(par, 0)])).sum())
    return np.array([tuft_tips, tuft_bps, oblique_tips, basal_stems, _tree_counts(ctx, basal)[0]])


@register("apical_calibre", "", "apical trunk calibre: median radius of the trunk 5-100 µm from the soma surface "
          "over the median radius of the basal dendrites within 20 µm of it, and over the soma radius (ratios of "
          "the cell's own radii: a lab's radius convention cancels; NaN without an apical trunk)",
          requires=("radii", "soma"), group="dendrite_form", columns=["trunk_basal_radius_ratio", "trunk_soma_radius_ratio"])
def apical_calibre(ctx: NeuronContext) -> np.ndarray:
    fr = frame(ctx)
    trunk = apical_tree(ctx)["trunk"] if fr.axis_from == "apical" else np.zeros(0, np.int64)
    path = ctx.node_path[trunk] - ctx.node_path[trunk[0]] if len(trunk) else np.zeros(0)
    lo, hi = TRUNK_RADIUS_PATH_UM
    r_trunk = ctx.radius[trunk[(path >= lo * 1e3) & (path <= hi * 1e3)]]
    basal = (fr.codes == BASAL) & ~ctx.is_soma & (ctx.node_path <= PROXIMAL_UM * 1e3)
    r_basal = ctx.radius[basal]
    r_trunk, r_basal = r_trunk[r_trunk > 0], r_basal[r_basal > 0]
    if not len(r_trunk):
        return np.full(2, NAN)
    t = float(np.median(r_trunk))
    soma_r = float(ctx.somas[0].radius) if len(ctx.somas) else NAN
    return np.array([t / np.median(r_basal) if len(r_basal) else NAN, t / soma_r if soma_r > 0 else NAN])


# --- where the axon leaves ----------------------------------------------------------------------

def _initial_axon(ctx: NeuronContext) -> np.ndarray:
    """Path from the soma surface to where the main axon leaves (nm; 0 from the soma), and the
    unit direction of its first :data:`AXON_START_UM` µm (NaN without an axon or dendrites)."""
    cached = ctx.__dict__.get("_initial_axon")
    if cached is not None:
        return cached
    fr = frame(ctx)
    ax = (fr.codes == AXON) & ~ctx.is_soma
    par = ctx.parent
    starts = np.flatnonzero(ax & (par >= 0) & ~ax[np.maximum(par, 0)])
    out = np.full(4, NAN)
    if len(starts) and fr.axis_from != "none":
        stem = _stem_of(ctx, starts)
        below = np.bincount(stem[ctx.seg], weights=ctx.seg_length * ax[ctx.seg], minlength=ctx.n)[starts]
        s = int(starts[np.argmax(below)])  # the axon with the most cable (the main one)
        out[0] = 0.0 if ctx.is_soma[par[s]] else ctx.node_path[par[s]]
        rel = ctx.node_path - ctx.node_path[s]
        lo, hi = AXON_START_UM
        own = np.flatnonzero((stem == s) & (rel >= lo * 1e3) & (rel <= hi * 1e3))
        if len(own):
            d = ctx.vertices[own[np.argmax(rel[own])]] - ctx.vertices[own[np.argmin(rel[own])]]
            if np.linalg.norm(d) > 0:
                out[1:] = d / np.linalg.norm(d)
    ctx.__dict__["_initial_axon"] = out
    return out


@register("initial_axon_origin", "µm", "path from the soma surface to where the main axon leaves a dendrite (0: it "
          "leaves the soma); known also for a dendrite-only reconstruction, which keeps the start of the axon; NaN "
          "without any axon", group="dendrite_form", columns=["initial_axon_origin_path"])
def initial_axon_origin(ctx: NeuronContext) -> float:
    return float(_initial_axon(ctx)[0] / 1e3)


@register("initial_axon_direction", "", f"direction of the main axon's first {AXON_START_UM[0]:g}-"
          f"{AXON_START_UM[1]:g} µm of path: |cosine| with the cell's axis, and cosine with the direction from the "
          "soma centre to the dendrite cable's centroid (-1: it leaves opposite the dendrites; NaN when the centroid is "
          "within 1 µm of the soma centre); NaN without any axon",
          group="dendrite_form", columns=["initial_axon_alignment", "initial_axon_vs_dendrites"])
def initial_axon_direction(ctx: NeuronContext) -> np.ndarray:
    d = _initial_axon(ctx)[1:]
    a = arbor(ctx, "dendrite")
    if not np.isfinite(d).all() or a is None:
        return np.full(2, NAN)
    w = ctx.seg_length[a.seg]
    c = (ctx.seg_mid[a.seg] * w[:, None]).sum(0) / w.sum() - ctx.reference
    nc = np.linalg.norm(c)  # a field centred within 1 µm of the soma centre points nowhere
    return np.array([abs(d @ frame(ctx).axis), d @ c / nc if nc >= 1e3 else NAN])
