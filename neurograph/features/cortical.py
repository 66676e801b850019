"""Cortical features: apical dendrite, tuft, obliques, basal vs apical cable, and where the axon
and dendrites lie along the neuron's own apical axis.

Everything is measured in a frame the neuron gives itself, never in the file's coordinates:

- **compartments**: the skeleton's SWC types (2 axon, 3 basal dendrite, 4 apical dendrite) when
  the file has them, as curated reconstructions (Allen Cell Types, NeuroMorpho.Org) do; otherwise
  :func:`neurograph.label_compartments` (geometry, or synapses when mapped) is run on a copy of the
  neuron. :attr:`CorticalFrame.source` says which (not a feature: it describes the data, not the cell).
  A neuron without a soma is labelled on its canonical form from a stand-in point soma at the
  estimated soma end (the root of its largest tree), and keeps the labels only where an axon was
  found from synapses or by the insect rule (:func:`_labels`); the soma centre below is then that root.
- **apical axis**: from the soma centre towards the cable-weighted centre of the apical dendrite
  (when it has >= :data:`MIN_APICAL_UM` of cable); without an apical dendrite, the first principal
  axis of the dendrites, pointing to the side of the soma that holds more axon (more dendrite without
  an axon): the side of an interneuron's ascending or descending axon. ``height`` below is the
  signed distance along this axis from the soma centre (positive: towards the apical side, i.e.
  the pia for an upright pyramidal cell), ``lateral`` the distance from the axis.
- **trunk and tuft**: the apical trunk follows, from where the apical dendrite leaves the soma,
  the child with the most apical cable below it, up to the *main bifurcation*: the first trunk
  node whose second-heaviest child carries >= :data:`TUFT_SPLIT` of the apical cable. The tuft is
  the apical cable beyond it; oblique dendrites are the side branches of the trunk before it.
- **axon**: axon features are NaN when the neuron has less than :data:`MIN_AXON_UM` of axon
  (dendrite-only reconstructions keep only a stub of the axon).

Heights, lateral distances, path lengths and cable fractions do not change when the neuron is
rotated or mirrored; the features are computed on the canonical form
(:func:`neurograph.canonical`: side arms < 10 µm pruned, 1 µm spacing), so node spacing and tracing
density do not enter either.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..codes import SWC_TYPE
from ..compartments import label_compartments
from ..datasets import get_profile
from ..errors import InputError
from ..graph.neuron import decompose
from ..mesh.soma import Soma
from ..skeleton import Skeleton
from ..skeleton.tree import root_labels, subtree_sum, topological_order
from .context import NeuronContext
from .kernels import binned_cable, weighted_quantiles
from .registry import register

NAN = float("nan")
MIN_APICAL_UM = 20.0   # µm of apical cable needed to take the axis from the apical dendrite
MIN_AXON_UM = 500.0    # µm: less axon is a stub (dendrite-only reconstruction), not an axon arbor
TUFT_SPLIT = 0.15      # a trunk child carrying this fraction of the apical cable starts the tuft
PROFILE_EDGES_UM = np.arange(-400.0, 901.0, 100.0)  # soma-centred height bins along the apical axis
EXTENT_QS = np.array([0.05, 0.5, 0.95])

AXON, BASAL, APICAL = SWC_TYPE["axon"], SWC_TYPE["basal"], SWC_TYPE["apical"]


def _bin_name(lo: float, hi: float) -> str:
    def s(v: float) -> str:
        return f"m{-int(v)}" if v < 0 else f"{int(v)}"
    return f"{s(lo)}_{s(hi)}um"


PROFILE_BINS = [_bin_name(a, b) for a, b in zip(PROFILE_EDGES_UM[:-1], PROFILE_EDGES_UM[1:])]


# --- the frame ----------------------------------------------------------------------------

def _labels(ctx: NeuronContext) -> tuple[np.ndarray, float]:
    """Compartment code per node (2 axon, 3 basal, 4 apical, 0 other) and the source
    (1.0: the file's SWC types, 0.0: :func:`neurograph.label_compartments` on a copy).

    A neuron without a soma (it lies outside the volume, or was not reconstructed) is labelled
    on its canonical form only, with a stand-in point soma (radius 0) at the root of its largest
    tree: there the canonical form put the estimated soma end
    (:func:`neurograph.skeleton.resample.root_at_soma_end`); see :func:`_kept_trees` for which of
    those labels are kept. Not for a neuron whose dataset profile (``settings["dataset"]``) labels
    vertebrate compartments (MICrONS, H01, NeuroMorpho): there a soma-less piece is an orphan
    fragment. As given, its root is wherever the file put it, so the raw form of a
    soma-less neuron (radius, mesh and synapse columns per compartment) keeps no labels."""
    codes = ctx.compartment
    if np.any(codes[~ctx.is_soma] > 0):
        return codes, 1.0
    sk = ctx.neuron.skeleton
    somas, soma_nodes = ctx.somas, sk.soma_nodes.copy()
    if not len(somas):
        if not ctx.canonical or sk.n_nodes < 2 or _vertebrate_dataset(ctx.neuron):
            return codes, 0.0  # a soma-less piece of a vertebrate dataset: an orphan fragment, no guess
        somas = [Soma(center=ctx.reference.copy(), radius=0.0, faces=np.empty(0, np.int64))]
        soma_nodes = np.array([ctx.reference_node], np.int64)
    copy = decompose(Skeleton(sk.vertices.copy(), sk.parent.copy(), sk.radius.copy(), None, soma_nodes),
                     somas, None, name=ctx.name)
    syn = getattr(ctx.neuron, "synapses", None)
    if syn is not None and len(syn):
        copy.synapses = syn.copy()
    label_compartments(copy, apical="auto", inplace=True)  # a throw-away copy: no second copy
    types = np.asarray(copy.skeleton.node_type, np.int64)
    labels = np.where(np.isin(types, [AXON, BASAL, APICAL]), types, 0)
    if not len(ctx.somas):
        labels = np.where(_kept_trees(copy, types), labels, 0)
    return labels, 0.0


def _vertebrate_dataset(neuron) -> bool:
    """Whether the neuron's dataset profile (``settings["dataset"]``) labels vertebrate
    compartments; False for an insect profile, none, or a name not in the profile table."""
    try:
        profile = get_profile(getattr(neuron, "settings", {}).get("dataset"))
    except InputError:  # a user's own profile: not known here
        return False
    return profile is not None and profile.compartments != "insect"


def _kept_trees(copy, types: np.ndarray) -> np.ndarray:
    """Per node of a soma-less neuron labelled from a stand-in soma: whether its tree keeps the
    labels. A tree keeps them when an axon was found on it from synapses, or by the insect rule
    (:mod:`neurograph.compartments.insect`: two arbors joined by a long unbranched tract; the
    axon is the arbor beyond the tract, away from the stand-in soma, so a wrong soma-end
    estimate swaps the two). Any other tree (a fragment of a multipolar cell, whose ends say
    nothing about what it is; a local neuron without a tract) keeps no labels."""
    sk = copy.skeleton
    tree = root_labels(topological_order(sk.parent), sk.parent)
    if len(copy.branches) == 0 or "compartment_method" not in copy.branches.columns:
        return np.zeros(sk.n_nodes, bool)
    method = copy.branches["compartment_method"].astype(str).reindex(np.asarray(copy.node_branch)).to_numpy()
    trusted = np.isin(method, ["synapses", "geometry-insect"]) & (types == AXON)
    good = np.zeros(sk.n_nodes, bool)
    good[np.unique(tree[trusted])] = True
    return good[tree]


def _principal(ctx: NeuronContext, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal axes (columns, largest last) and variances (nm²) of the cable of the ``mask``
    segments (exact second moment of uniformly dense segments)."""
    w = ctx.seg_length[mask]
    mid = ctx.seg_mid[mask]
    d = ctx.seg_end[mask] - ctx.seg_start[mask]
    x = mid - (mid * w[:, None]).sum(0) / w.sum()
    vals, vecs = np.linalg.eigh(((x * w[:, None]).T @ x + (d * w[:, None]).T @ d / 12.0) / w.sum())
    return vecs, np.maximum(vals, 0.0)


def _dendrite_axis(ctx: NeuronContext, dend: np.ndarray, side: np.ndarray) -> np.ndarray:
    """First principal axis of the dendrite segments, pointing to the side of the soma that
    holds more of the ``side`` segments' cable."""
    axis = _principal(ctx, dend)[0][:, -1]
    return -axis if (ctx.seg_mid[side] - ctx.reference) @ axis @ ctx.seg_length[side] < 0 else axis


class CorticalFrame:
    """Compartments, apical axis and per-segment heights of one neuron (nm), built once.

    Attributes
    ----------
    codes : (n,) int ndarray
        Compartment per node (2 axon, 3 basal, 4 apical, 0 soma or unknown).
    source : float
        1.0 when the codes are the file's SWC types, 0.0 when from the labeller.
    axis : (3,) float ndarray
        Unit apical axis (NaN without dendrites).
    seg_code : (m,) int ndarray
        Compartment of every segment (of its child node).
    h0, h1 : (m,) float ndarrays
        Height of each segment's ends along the axis from the soma centre (without a soma: the
        root of the largest tree), nm.
    lateral : (m,) float ndarray
        Distance of each segment's midpoint from the axis, nm.
    """

    def __init__(self, ctx: NeuronContext) -> None:
        self.codes, self.source = _labels(ctx)
        self.seg_code = self.codes[ctx.seg]
        length = ctx.seg_length
        apical = self.seg_code == APICAL
        dend = apical | (self.seg_code == BASAL)
        self.cable = {c: float(length[self.seg_code == c].sum()) for c in (AXON, BASAL, APICAL)}
        if self.cable[APICAL] >= MIN_APICAL_UM * 1e3:
            v = ((ctx.seg_mid[apical] - ctx.reference) * length[apical, None]).sum(0)
            self.axis = v / np.linalg.norm(v)
            self.axis_from = "apical"
        elif length[dend].sum() > 0 and dend.sum() >= 2:
            self.axis = _dendrite_axis(ctx, dend, self.seg_code == AXON if self.has_axon else dend)
            self.axis_from = "dendrites"
        else:
            self.axis = np.full(3, np.nan)
            self.axis_from = "none"
        self.h0 = (ctx.seg_start - ctx.reference) @ self.axis
        self.h1 = (ctx.seg_end - ctx.reference) @ self.axis
        rel = ctx.seg_mid - ctx.reference
        self.lateral = np.linalg.norm(rel - np.outer(rel @ self.axis, self.axis), axis=1)
        self.node_h = (ctx.vertices - ctx.reference) @ self.axis

    def mask(self, code: int | None) -> np.ndarray:
        """Segments of one compartment (``None``: both dendrites)."""
        if code is None:
            return (self.seg_code == BASAL) | (self.seg_code == APICAL)
        return self.seg_code == code

    @property
    def has_axon(self) -> bool:
        return self.cable[AXON] >= MIN_AXON_UM * 1e3

    @property
    def axon_measurable(self) -> bool:
        """Enough axon, and dendrites to give the axis it is measured along."""
        return self.has_axon and self.axis_from != "none"


def frame(ctx: NeuronContext) -> CorticalFrame:
    """The :class:`CorticalFrame` of a context (computed once and cached on it)."""
    cached = ctx.__dict__.get("_cortical_frame")
    if cached is None:
        cached = ctx.__dict__["_cortical_frame"] = CorticalFrame(ctx)
    return cached


# --- apical trunk and tuft ------------------------------------------------------------------

@njit(cache=True)
def _trunk(start: int, ptr: np.ndarray, kids: np.ndarray, below: np.ndarray, split: float):
    """Follow the heaviest child from ``start``; stop at a tip or at the first node whose
    second-heaviest child carries >= ``split``. Returns the trunk nodes and that node (-1: none)."""
    path = np.empty(below.shape[0], np.int64)
    n = 0
    v = start
    while True:
        path[n] = v
        n += 1
        best, best_w, second_w = -1, -1.0, -1.0
        for j in range(ptr[v], ptr[v + 1]):
            w = below[kids[j]]
            if w > best_w:
                second_w = best_w
                best, best_w = kids[j], w
            elif w > second_w:
                second_w = w
        if best < 0 or best_w <= 0:
            return path[:n], -1
        if second_w >= split:
            return path[:n], v
        v = best


def apical_tree(ctx: NeuronContext) -> dict:
    """Trunk nodes, main bifurcation (-1: none), tuft nodes and oblique roots of the apical dendrite."""
    cached = ctx.__dict__.get("_cortical_apical")
    if cached is not None:
        return cached
    fr = frame(ctx)
    is_ap = fr.codes == APICAL
    out = {"trunk": np.zeros(0, np.int64), "bif": -1, "tuft": np.zeros(ctx.n, bool), "obliques": np.zeros(0, np.int64)}
    if fr.axis_from == "apical":
        edge = np.zeros(ctx.n)
        edge[ctx.seg] = ctx.seg_length
        below = subtree_sum(ctx.order, ctx.parent, edge * is_ap)
        starts = np.flatnonzero(is_ap & ((ctx.parent < 0) | ~is_ap[np.maximum(ctx.parent, 0)]))
        start = int(starts[np.argmax(below[starts])])
        has_par = ctx.parent >= 0
        kids = np.flatnonzero(has_par)[np.argsort(ctx.parent[has_par], kind="stable")]
        ptr = np.searchsorted(ctx.parent[kids], np.arange(ctx.n + 1))
        trunk, bif = _trunk(start, ptr, kids, below * is_ap, TUFT_SPLIT * fr.cable[APICAL])
        on_trunk = np.zeros(ctx.n, bool)
        on_trunk[trunk] = True
        pre = trunk if bif < 0 else trunk[:-1]
        side = kids[np.isin(ctx.parent[kids], pre) & ~on_trunk[kids] & is_ap[kids]]
        out["trunk"], out["bif"], out["obliques"] = trunk, bif, side[below[side] > 0]
        if bif >= 0:
            top = kids[ptr[bif]:ptr[bif + 1]]
            top = top[is_ap[top]]
            cut = ctx.parent.copy()
            cut[top] = -1  # the tuft: the apical nodes below the main bifurcation's children
            out["tuft"] = np.isin(root_labels(ctx.order, cut), top) & is_ap
    ctx.__dict__["_cortical_apical"] = out
    return out


# --- features: compartments and apical dendrite ------------------------------------------------

@register("apical_basal_cable", "µm", "apical and basal dendrite cable", group="cortical",
          columns=["apical_dendrite_cable", "basal_dendrite_cable"])
def apical_basal_cable(ctx: NeuronContext) -> np.ndarray:
    fr = frame(ctx)
    return np.array([fr.cable[APICAL], fr.cable[BASAL]]) / 1e3


@register("apical_fraction", "", "apical / (apical + basal) dendrite cable", group="cortical")
def apical_fraction(ctx: NeuronContext) -> float:
    fr = frame(ctx)
    total = fr.cable[APICAL] + fr.cable[BASAL]
    return fr.cable[APICAL] / total if total > 0 else NAN


@register("apical_reach", "µm", "apical dendrite: greatest height above the soma along the apical axis and "
          "longest path from the soma surface to an apical tip (0 without an apical dendrite)", group="cortical",
          columns=["apical_height", "apical_path_max"])
def apical_reach(ctx: NeuronContext) -> np.ndarray:
    fr = frame(ctx)
    if fr.axis_from != "apical":
        return np.zeros(2)
    ap = fr.codes == APICAL
    return np.array([max(fr.node_h[ap].max(), 0.0), ctx.node_path[ap].max()]) / 1e3


@register("apical_trunk", "µm", "apical trunk: path length from the soma surface to the main bifurcation and "
          f"its height along the apical axis (NaN without a main bifurcation: no child carrying >= "
          f"{TUFT_SPLIT:.0%} of the apical cable)", group="cortical",
          columns=["trunk_path", "bifurcation_height"])
def apical_trunk(ctx: NeuronContext) -> np.ndarray:
    bif = apical_tree(ctx)["bif"]
    if bif < 0:
        return np.full(2, NAN)
    return np.array([ctx.node_path[bif], frame(ctx).node_h[bif]]) / 1e3


@register("tuft", "µm", "apical tuft (apical cable beyond the main bifurcation): cable, width (twice the rms "
          "distance of its cable from its own centre across the axis) and height span (5-95 % of its cable along "
          "the axis); 0, NaN, NaN without a tuft", group="cortical",
          columns=["tuft_cable", "tuft_width", "tuft_span"])
def tuft(ctx: NeuronContext) -> np.ndarray:
    fr = frame(ctx)
    in_tuft = apical_tree(ctx)["tuft"][ctx.seg]
    w = ctx.seg_length[in_tuft]
    if not w.sum() > 0:
        return np.array([0.0, NAN, NAN])
    mid = ctx.seg_mid[in_tuft]
    x = mid - (mid * w[:, None]).sum(0) / w.sum()
    across = x - np.outer(x @ fr.axis, fr.axis)
    width = 2.0 * np.sqrt(((across ** 2).sum(1) * w).sum() / w.sum())
    h = 0.5 * (fr.h0[in_tuft] + fr.h1[in_tuft])
    q = weighted_quantiles(h, w, np.array([0.05, 0.95]))
    return np.array([w.sum(), width, q[1] - q[0]]) / 1e3


@register("tuft_fraction", "", "fraction of the apical cable in the tuft (0 without a tuft)", group="cortical")
def tuft_fraction(ctx: NeuronContext) -> float:
    fr = frame(ctx)
    if fr.axis_from != "apical":
        return NAN
    return float(ctx.seg_length[apical_tree(ctx)["tuft"][ctx.seg]].sum() / fr.cable[APICAL])


@register("n_obliques", "", "oblique dendrites: side branches of the apical trunk before the main bifurcation",
          group="cortical")
def n_obliques(ctx: NeuronContext) -> float:
    return float(len(apical_tree(ctx)["obliques"])) if frame(ctx).axis_from == "apical" else 0.0


@register("oblique_fraction", "", "fraction of the apical cable in oblique dendrites", group="cortical")
def oblique_fraction(ctx: NeuronContext) -> float:
    fr = frame(ctx)
    if fr.axis_from != "apical":
        return NAN
    roots = apical_tree(ctx)["obliques"]
    if not len(roots):
        return 0.0
    edge = np.zeros(ctx.n)
    edge[ctx.seg] = ctx.seg_length
    below = subtree_sum(ctx.order, ctx.parent, edge * (fr.codes == APICAL))
    return float(below[roots].sum() / fr.cable[APICAL])


# --- features: where the cable lies along the axis ---------------------------------------------

def _extent(ctx: NeuronContext, code: int | None) -> np.ndarray:
    fr = frame(ctx)
    m = fr.mask(code)
    w = ctx.seg_length[m]
    if not w.sum() > 0 or (code == AXON and not fr.axon_measurable):
        return np.full(5, NAN)
    h = weighted_quantiles(0.5 * (fr.h0[m] + fr.h1[m]), w, EXTENT_QS)
    lat = weighted_quantiles(fr.lateral[m], w, EXTENT_QS[1:])
    return np.r_[h, lat] / 1e3


@register("dendrite_extent", "µm", "dendrites (basal and apical): height along the apical axis from the soma "
          "centre below which 5, 50 and 95 % of the cable lies, and distance from the axis within which 50 and "
          "95 % lies", group="cortical",
          columns=["dendrite_height_q05", "dendrite_height_q50", "dendrite_height_q95",
                   "dendrite_lateral_q50", "dendrite_lateral_q95"])
def dendrite_extent(ctx: NeuronContext) -> np.ndarray:
    return _extent(ctx, None)


@register("axon_extent", "µm", "axon: the same heights and lateral distances as dendrite_extent (NaN with less "
          f"than {MIN_AXON_UM:g} µm of axon)", group="cortical",
          columns=["axon_height_q05", "axon_height_q50", "axon_height_q95", "axon_lateral_q50", "axon_lateral_q95"])
def axon_extent(ctx: NeuronContext) -> np.ndarray:
    return _extent(ctx, AXON)


def _axon_split(ctx: NeuronContext, lo: float, hi: float) -> np.ndarray:
    """Fractions of the axon cable below ``lo``, between, and above ``hi`` (heights, nm)."""
    fr = frame(ctx)
    m = fr.mask(AXON)
    cab = binned_cable(fr.h0[m], fr.h1[m], ctx.seg_length[m], np.array([-np.inf, lo, hi, np.inf]))
    return cab / cab.sum()


@register("axon_vs_dendrites", "", "fractions of the axon cable below, within and above the dendrites' height "
          "span along the apical axis (5-95 % of the dendrite cable), i.e. descending, local and ascending axon; NaN "
          f"with less than {MIN_AXON_UM:g} µm of axon", group="cortical",
          columns=["axon_below_dendrites", "axon_within_dendrites", "axon_above_dendrites"])
def axon_vs_dendrites(ctx: NeuronContext) -> np.ndarray:
    fr = frame(ctx)
    d = fr.mask(None)
    if not fr.axon_measurable or not ctx.seg_length[d].sum() > 0:
        return np.full(3, NAN)
    q = weighted_quantiles(0.5 * (fr.h0[d] + fr.h1[d]), ctx.seg_length[d], np.array([0.05, 0.95]))
    return _axon_split(ctx, q[0], q[1])


@register("axon_above_soma", "", "fraction of the axon cable on the apical side of the soma (height > 0); NaN "
          f"with less than {MIN_AXON_UM:g} µm of axon", group="cortical")
def axon_above_soma(ctx: NeuronContext) -> float:
    if not frame(ctx).axon_measurable:
        return NAN
    return float(_axon_split(ctx, 0.0, 0.0)[2])


@register("axon_lateral_overlap", "", "fraction of the axon cable within the dendrites' lateral reach (95 % of "
          "the dendrite cable's distance from the axis); NaN with less than "
          f"{MIN_AXON_UM:g} µm of axon", group="cortical")
def axon_lateral_overlap(ctx: NeuronContext) -> float:
    fr = frame(ctx)
    d, a = fr.mask(None), fr.mask(AXON)
    if not fr.axon_measurable or not ctx.seg_length[d].sum() > 0:
        return NAN
    reach = weighted_quantiles(fr.lateral[d], ctx.seg_length[d], np.array([0.95]))[0]
    w = ctx.seg_length[a]
    return float(w[fr.lateral[a] <= reach].sum() / w.sum())


@register("axon_dendrite_ratio_all", "", "axon cable / dendrite cable (NaN with less than "
          f"{MIN_AXON_UM:g} µm of axon)", group="cortical")
def axon_dendrite_ratio_all(ctx: NeuronContext) -> float:
    fr = frame(ctx)
    dend = fr.cable[BASAL] + fr.cable[APICAL]
    return fr.cable[AXON] / dend if fr.axon_measurable and dend > 0 else NAN


@register("axon_shape", "", "axon: |cosine| between its first principal axis and the apical axis, and its "
          "elongation (standard deviation along its first / second principal axis); NaN with less than "
          f"{MIN_AXON_UM:g} µm of axon", group="cortical", columns=["axon_axis_alignment", "axon_elongation"])
def axon_shape(ctx: NeuronContext) -> np.ndarray:
    fr = frame(ctx)
    if not fr.axon_measurable:
        return np.full(2, NAN)
    vecs, var = _principal(ctx, fr.mask(AXON))
    return np.array([abs(vecs[:, -1] @ fr.axis), np.sqrt(var[-1] / var[-2]) if var[-2] > 0 else NAN])


def _profile(ctx: NeuronContext, code: int | None) -> np.ndarray:
    fr = frame(ctx)
    m = fr.mask(code)
    w = ctx.seg_length[m]
    if not w.sum() > 0 or (code == AXON and not fr.axon_measurable):
        return np.full(len(PROFILE_BINS), NAN)
    return binned_cable(fr.h0[m], fr.h1[m], w, PROFILE_EDGES_UM * 1e3) / w.sum()


@register("dendrite_profile", "", "fraction of the dendrite cable in 100 µm height bins along the apical axis, "
          "soma-centred (the first and last bins also hold the cable beyond them)", group="cortical", scale_free=False,
          columns=[f"dendrite_profile_{b}" for b in PROFILE_BINS])
def dendrite_profile(ctx: NeuronContext) -> np.ndarray:
    return _profile(ctx, None)


@register("axon_profile", "", "fraction of the axon cable in the same height bins as dendrite_profile (NaN "
          f"with less than {MIN_AXON_UM:g} µm of axon)", group="cortical", scale_free=False,
          columns=[f"axon_profile_{b}" for b in PROFILE_BINS])
def axon_profile(ctx: NeuronContext) -> np.ndarray:
    return _profile(ctx, AXON)
