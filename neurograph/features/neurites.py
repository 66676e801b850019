"""Morphometrics of the dendrites and of the axon, each measured on its own.

Whole-neuron features mix the two: on a cell with a full axon reconstruction, the axon holds most
of the cable, tips and branch points, so whole-neuron numbers describe the axon, and the same cell
traced dendrite-only (a stub of axon) looks like another cell. The features here are computed per
compartment: ``dendrite_*`` on the basal and apical dendrites together, ``axon_*`` on the axon
(NaN with less than :data:`~neurograph.features.cortical.MIN_AXON_UM` of axon). The compartments
are those of :func:`neurograph.features.cortical.frame` (the SWC types, or
:func:`neurograph.label_compartments` on a copy when the file has none).

They are the descriptors the cortical cell-type literature measures per compartment (Gouwens et al.
2019, Nat Neurosci 22:1182; Scala et al. 2021, Nature 598:144): number of primary dendrites, tips and
branch points, branch order, terminal and internal branch lengths, tortuosity, radial extent, the
polarity of the stems (unipolar, bipolar, multipolar), the elongation of the arbor, cable in radial
shells, and the persistence barcode of the tree with the radial distance from the soma centre as
the filtration (Kanari et al. 2018, Neuroinformatics 16:3, *topological morphology descriptor*):
every tip starts a bar at its radial distance; at each branch point the bars of the children
below it meet and all but the farthest-reaching one end there (the elder rule). Bars are
summarised by the quantiles of their lengths and ends, their number, and the persistence entropy.

Everything is a distance, a count or an angle measured from the soma centre or along the tree:
invariant to rotation and mirroring, and computed on the canonical form (side arms < 10 µm
pruned, 1 µm spacing), so tracing density does not enter.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .context import NeuronContext
from .cortical import APICAL, AXON, BASAL, frame
from ..skeleton.tree import root_labels
from .kernels import binned_cable, weighted_quantiles
from .registry import register

NAN = float("nan")
SHELL_EDGES_UM = np.array([0.0, 25.0, 50.0, 100.0, 200.0, 400.0])  # radial shells from the soma centre
SHELLS = [f"shell_{int(a)}_{int(b)}um" for a, b in zip(SHELL_EDGES_UM[:-1], SHELL_EDGES_UM[1:])]
QS = np.array([0.1, 0.5, 0.9])
COMPARTMENTS = {"dendrite": (BASAL, APICAL), "axon": (AXON,)}


# --- one pass over the tree ----------------------------------------------------------------

@njit(cache=True)
def _tree_pass(order: np.ndarray, parent: np.ndarray, inside: np.ndarray, node_path: np.ndarray):
    """Per node of the compartment (``inside``): number of children inside, branch order (branch
    points passed from the stem) and path length at the start of its branch (the last branch point
    or the stem's start, nm)."""
    n = parent.shape[0]
    kids = np.zeros(n, np.int64)
    for v in range(n):
        if inside[v] and parent[v] >= 0 and inside[parent[v]]:
            kids[parent[v]] += 1
    border = np.zeros(n, np.int64)
    anchor = np.zeros(n)
    for k in range(order.shape[0]):
        v = order[k]
        p = parent[v]
        if not inside[v]:
            continue
        if p < 0 or not inside[p]:  # a stem
            anchor[v] = node_path[p] if p >= 0 else node_path[v]
        elif kids[p] >= 2:
            anchor[v] = node_path[p]
            border[v] = border[p] + 1
        else:
            anchor[v] = anchor[p]
            border[v] = border[p]
    return kids, border, anchor


@njit(cache=True)
def _subtree_max(order: np.ndarray, parent: np.ndarray, inside: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Greatest ``values`` at or below every compartment node (-inf outside the compartment)."""
    out = np.where(inside, values, -np.inf)
    for k in range(order.shape[0] - 1, -1, -1):
        v = order[k]
        p = parent[v]
        if inside[v] and p >= 0 and inside[p] and out[v] > out[p]:
            out[p] = out[v]
    return out


@njit(cache=True)
def _barcode(order: np.ndarray, parent: np.ndarray, inside: np.ndarray, kids: np.ndarray, reach: np.ndarray,
             f: np.ndarray) -> np.ndarray:
    """Persistence barcode (elder rule) of the compartment for the filtration ``f`` (per node):
    rows (birth, death), birth = the greatest ``f`` of the tips below the bar's branch (``reach``,
    from :func:`_subtree_max`), death = ``f`` at the branch point where it meets a bar reaching farther
    (at the stem's start for the bar of each stem that survives to the soma)."""
    n = parent.shape[0]
    best = np.full(n, -1, np.int64)  # the child below each branch point that reaches farthest
    for v in range(n):
        p = parent[v]
        if inside[v] and p >= 0 and inside[p] and kids[p] >= 2:
            if best[p] < 0 or reach[v] > reach[best[p]]:
                best[p] = v
    bars = np.empty((n, 2))
    m = 0
    for k in range(order.shape[0]):
        v = order[k]
        p = parent[v]
        if not inside[v]:
            continue
        if p < 0 or not inside[p]:
            bars[m, 0], bars[m, 1] = reach[v], f[p] if p >= 0 else f[v]
            m += 1
        elif kids[p] >= 2 and best[p] != v:
            bars[m, 0], bars[m, 1] = reach[v], f[p]
            m += 1
    return bars[:m]


class Arbor:
    """The compartment's nodes, segments and tree pass, built once per context and compartment."""

    def __init__(self, ctx: NeuronContext, codes: tuple[int, ...]) -> None:
        self._ctx = ctx
        fr = frame(ctx)
        self.inside = np.isin(fr.codes, codes) & ~ctx.is_soma
        self.seg = self.inside[ctx.seg]
        self.cable = float(ctx.seg_length[self.seg].sum())
        self.kids, self.branch_order, self.anchor = _tree_pass(ctx.order, ctx.parent, self.inside, ctx.node_path)
        self.reach = self._tip_max(ctx.node_radial)
        par = ctx.parent
        self.stems = np.flatnonzero(self.inside & ((par < 0) | ~self.inside[np.maximum(par, 0)]))
        self.tips = np.flatnonzero(self.inside & (self.kids == 0))
        self.bps = np.flatnonzero(self.inside & (self.kids >= 2))

    def _tip_max(self, f: np.ndarray) -> np.ndarray:
        """Greatest ``f`` over the tips below every node (the value a bar is born at)."""
        ctx = self._ctx
        return _subtree_max(ctx.order, ctx.parent, self.inside, np.where(self.kids == 0, f, -np.inf))

    def barcode(self, filtration: str = "radial") -> np.ndarray:
        """(k, 2) float ndarray: the persistence bars (birth, death), nm, for the ``"radial"``
        distance from the soma centre or the ``"path"`` length from the soma surface."""
        cache = self.__dict__.setdefault("_bars", {})
        if filtration not in cache:
            ctx = self._ctx
            f = ctx.node_radial if filtration == "radial" else ctx.node_path
            reach = self.reach if filtration == "radial" else self._tip_max(f)
            cache[filtration] = _barcode(ctx.order, ctx.parent, self.inside, self.kids, reach, f)
        return cache[filtration]


def arbor(ctx: NeuronContext, name: str) -> Arbor | None:
    """The :class:`Arbor` of ``"dendrite"`` or ``"axon"`` (cached on the context); None when it is
    absent (axon: less than the minimum axon cable; dendrite: no dendrite cable)."""
    cache = ctx.__dict__.setdefault("_neurite_arbors", {})
    if name not in cache:
        a = Arbor(ctx, COMPARTMENTS[name])
        ok = frame(ctx).has_axon if name == "axon" else a.cable > 0 and len(a.tips) > 0
        cache[name] = a if ok else None
    return cache[name]


# --- the features (one function per kind, registered for both compartments) --------------------

def _counts(ctx: NeuronContext, a: Arbor) -> np.ndarray:
    return np.array([len(a.stems), len(a.tips), len(a.bps), a.branch_order[a.tips].max(), a.branch_order[a.tips].mean()])


def _cable(ctx: NeuronContext, a: Arbor) -> np.ndarray:
    term = (ctx.node_path[a.tips] - a.anchor[a.tips]) / 1e3
    inner = (ctx.node_path[a.bps] - a.anchor[a.bps]) / 1e3
    tq = np.quantile(term, [0.5, 0.9])
    w = ctx.seg_length[a.seg]
    r = 0.5 * (ctx.seg_radial0[a.seg] + ctx.seg_radial1[a.seg])
    rq = weighted_quantiles(r, w, np.array([0.5, 0.95])) / 1e3
    return np.array([a.cable / 1e3, tq[0], tq[1], np.median(inner) if len(inner) else NAN, rq[0], rq[1],
                     ctx.node_path[a.tips].max() / 1e3])


def _shape(ctx: NeuronContext, a: Arbor) -> np.ndarray:
    """Stem polarity and alignment, elongation of the cable, cable in the double cone of its main
    axis, tip tortuosity."""
    u = ctx.vertices[descend(ctx, a, 10_000.0)] - ctx.reference
    norm = np.linalg.norm(u, axis=1)
    u = u[norm > 0] / norm[norm > 0, None]
    resultant = float(np.linalg.norm(u.mean(0))) if len(u) else NAN
    alignment = float(np.linalg.eigvalsh(u.T @ u / len(u))[-1]) if len(u) else NAN
    w = ctx.seg_length[a.seg]
    x = ctx.seg_mid[a.seg] - ctx.reference
    xc = x - (x * w[:, None]).sum(0) / w.sum()
    vals, vecs = np.linalg.eigh((xc * w[:, None]).T @ xc / w.sum())
    sd = np.sqrt(np.maximum(vals[::-1], 0.0))
    cos = np.abs(x @ vecs[:, -1]) / np.maximum(np.linalg.norm(x, axis=1), 1e-9)
    cone = float(w[cos >= np.cos(np.radians(30.0))].sum() / w.sum())
    d = ctx.seg_end[a.seg] - ctx.seg_start[a.seg]
    d = d / np.maximum(np.linalg.norm(d, axis=1), 1e-9)[:, None]
    order_main = float((w * 1.5 * (d @ vecs[:, -1]) ** 2).sum() / w.sum() - 0.5)
    order_apical = float((w * 1.5 * (d @ frame(ctx).axis) ** 2).sum() / w.sum() - 0.5)
    soma_r = float(ctx.somas[0].radius) if len(ctx.somas) else 0.0  # paths start on the soma surface
    straight = np.maximum(ctx.node_radial[a.tips] - soma_r, 1e3)  # >= 1 µm
    detour = float(np.median(ctx.node_path[a.tips] / straight))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.array([resultant, alignment, sd[1] / sd[0], sd[2] / sd[0], cone, detour, order_main, order_apical])


def descend(ctx: NeuronContext, a: Arbor, span: float) -> np.ndarray:
    """For each stem, the node ``span`` nm of path down its farthest-reaching children (or its last)."""
    heavy = _heaviest_child(ctx, a)
    out = a.stems.copy()
    for i, v0 in enumerate(a.stems):  # a few stems, ~span / spacing steps each
        v = v0
        while heavy[v] >= 0 and ctx.node_path[v] - ctx.node_path[v0] < span:
            v = heavy[v]
        out[i] = v
    return out


def _heaviest_child(ctx: NeuronContext, a: Arbor) -> np.ndarray:
    """The child of every compartment node that reaches farthest from the soma (-1 at tips)."""
    par = ctx.parent
    v = np.flatnonzero(a.inside & (par >= 0))
    v = v[a.inside[par[v]]]
    out = np.full(ctx.n, -1, np.int64)
    o = np.lexsort((a.reach[v], par[v]))  # by parent, then reach: the farthest child is written last
    out[par[v][o]] = v[o]
    return out


def _shells(ctx: NeuronContext, a: Arbor) -> np.ndarray:
    c = binned_cable(ctx.seg_radial0[a.seg], ctx.seg_radial1[a.seg], ctx.seg_length[a.seg], SHELL_EDGES_UM * 1e3)
    return c / 1e3


def _persistence(ctx: NeuronContext, a: Arbor, filtration: str = "radial") -> np.ndarray:
    bars = a.barcode(filtration) / 1e3
    length = np.maximum(bars[:, 0] - bars[:, 1], 0.0)
    if not len(bars) or not length.sum() > 0:
        return np.full(8, NAN)
    lq = np.quantile(length, QS)
    dq = np.quantile(bars[:, 1], [0.5, 0.9])
    bq = np.quantile(bars[:, 0], [0.1, 0.5])
    return np.array([*lq, length.max(), dq[0], dq[1], bq[0], bq[1]])


def _persistence_path(ctx: NeuronContext, a: Arbor) -> np.ndarray:
    return _persistence(ctx, a, "path")


def _entropy(ctx: NeuronContext, a: Arbor) -> float:
    bars = a.barcode()
    length = bars[:, 0] - bars[:, 1]
    p = length[length > 0] / length[length > 0].sum() if (length > 0).any() else np.zeros(0)
    return float(-(p * np.log(p)).sum() / np.log(len(p))) if len(p) > 1 else NAN


def _radii(ctx: NeuronContext, a: Arbor) -> np.ndarray:
    """Cable-weighted median radius within 20 µm of path from the stems, beyond 100 µm, and their ratio."""
    r = ctx.radius[ctx.seg]
    w = ctx.seg_length * a.seg * (np.isfinite(r) & (r > 0))
    cut = ctx.parent.copy()
    cut[a.stems] = -1
    stem = root_labels(ctx.order, cut)[ctx.seg]  # the stem of every compartment segment
    rel = ctx.seg_path1 - ctx.node_path[np.maximum(ctx.parent[stem], 0)]
    near = weighted_quantiles(r, w * (rel <= 20e3), np.array([0.5]))[0]
    far = weighted_quantiles(r, w * (rel > 100e3), np.array([0.5]))[0]
    return np.array([near, far, far / near if near > 0 else NAN])


#: kind -> (function, unit, description ({c}: the compartment), columns, scale-free, extra inputs)
KINDS = {
    "counts": (_counts, "", "{c}: primary neurites leaving the soma (stems), tips, branch points, and the maximum and "
               "mean branch order of the tips", ["stems", "tips", "branch_points", "max_order", "mean_tip_order"],
               False, ()),
    "lengths": (_cable, "µm", "{c}: cable, median and 90th percentile terminal branch length (tip to its last branch "
                "point), median internal branch length, radial distance from the soma centre within which 50 and "
                "95 % of the cable lies, and the longest path from the soma surface to a tip",
                ["cable", "terminal_q50", "terminal_q90", "internal_q50", "radial_q50", "radial_q95", "path_max"],
                False, ()),
    "shape": (_shape, "", "{c}: stem polarity (length of the mean unit direction of the stems, 10 µm out: 1 one-sided, "
              "0 balanced), stem alignment (largest eigenvalue of their orientation tensor: 1 bipolar or one-sided, "
              "1/3 spread in 3-D), cable elongation (second and third / first principal standard deviation), the "
              "fraction of the cable within 30° of its main axis on either side of the soma (bipolar arbors) and the "
              "median tip tortuosity (path / radial distance from the soma surface); the orientation order of its "
              "segments (cable-weighted mean of (3 cos² - 1) / 2 of their angle to the cable's main axis and to the "
              "cortical apical axis: 1 all parallel, 0 random, -0.5 all across)",
              ["stem_polarity", "stem_alignment", "sd2_over_sd1", "sd3_over_sd1", "axial_fraction", "tortuosity",
               "segment_order_main", "segment_order_apical"],
              True, ()),
    "shells": (_shells, "µm", "{c}: cable in radial shells around the soma centre (the last holds the cable beyond)",
               SHELLS, False, ()),
    "persistence": (_persistence, "µm", "{c}: persistence barcode of the radial distance from the soma centre "
                    "(topological morphology descriptor, elder rule): 10th, 50th, 90th percentile and maximum bar "
                    "length, median and 90th percentile of the radial distance where bars end (branch points), 10th "
                    "and 50th percentile of where they start (tips)",
                    ["bar_q10", "bar_q50", "bar_q90", "bar_max", "bar_end_q50", "bar_end_q90", "bar_start_q10",
                     "bar_start_q50"], False, ()),
    "path_persistence": (_persistence_path, "µm", "{c}: the same barcode statistics with the path length from the "
                         "soma surface as the filtration",
                         ["pbar_q10", "pbar_q50", "pbar_q90", "pbar_max", "pbar_end_q50", "pbar_end_q90",
                          "pbar_start_q10", "pbar_start_q50"], False, ()),
    "bar_entropy": (_entropy, "", "{c}: normalised persistence entropy of the same barcode (0: one bar holds all "
                    "the persistence, 1: all bars equally long)", ["bar_entropy"], True, ()),
    "radii": (_radii, "nm", "{c}: cable-weighted median radius within 20 µm of path from the soma and beyond 100 µm, "
              "and their ratio (the taper; a ratio in nm/nm)", ["radius_proximal", "radius_distal", "taper"], False,
              ("radii",)),
}


def _make(fn, name: str, n_columns: int):
    def feature(ctx: NeuronContext) -> np.ndarray:
        a = arbor(ctx, name)
        return np.atleast_1d(fn(ctx, a)) if a is not None else np.full(n_columns, NAN)
    return feature


for _comp in COMPARTMENTS:
    for _kind, (_fn, _unit, _desc, _cols, _free, _req) in KINDS.items():
        _note = "" if _comp == "dendrite" else " (NaN with too little axon: a dendrite-only reconstruction)"
        _cols = [f"{_comp}_arbor_{c}" for c in _cols]
        register(f"{_comp}_arbor_{_kind}", _unit,
                 _desc.format(c="dendrites (basal + apical)" if _comp == "dendrite" else "axon") + _note,
                 group="neurites", requires=("skeleton",) + _req, scale_free=_free, columns=_cols)(
            _make(_fn, _comp, len(_cols)))
