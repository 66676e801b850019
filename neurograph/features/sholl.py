"""Sholl-style profiles and cable distributions over distance from the soma.

Absolute profiles use fixed radii in µm (scale-aware); normalised profiles use radii as
fractions of the neuron's own largest distance and counts / cable as fractions
(scale-free). Crossings are counted on skeleton segments, so resampling a skeleton does not
change them. Distances are from the soma centre (or, without a soma, the root of the
largest tree).
"""

from __future__ import annotations

import numpy as np

from .context import NeuronContext
from .kernels import binned_cable, sholl_crossings, weighted_quantiles
from .registry import register

NAN = float("nan")
SHOLL_STEP_UM = 25.0
SHOLL_RADII_UM = SHOLL_STEP_UM * np.arange(1, 21)        # 25 .. 500 µm
N_NORM = 20                                               # normalised Sholl shells
PATH_STEP_UM = 50.0
PATH_EDGES_UM = PATH_STEP_UM * np.arange(0, 21)           # 0 .. 1000 µm
CABLE_QS = np.array([0.1, 0.25, 0.5, 0.75, 0.9])


def _seg_radial(ctx: NeuronContext) -> tuple[np.ndarray, np.ndarray]:
    return ctx.seg_radial0, ctx.seg_radial1


@register("sholl_abs", "", "Sholl crossings on spheres of radius 25, 50, ..., 500 µm around the soma",
          group="sholl", scale_free=False, columns=[f"sholl_{int(r)}um" for r in SHOLL_RADII_UM])
def sholl_abs(ctx: NeuronContext) -> np.ndarray:
    d0, d1 = _seg_radial(ctx)
    return sholl_crossings(d0, d1, SHOLL_RADII_UM * 1e3)


def _norm_sholl(ctx: NeuronContext) -> tuple[np.ndarray, np.ndarray] | None:
    """Radii (nm) of the 20 normalised Sholl spheres and their crossing counts, computed once
    per neuron (four features use them); None when the neuron has no extent."""
    if "_norm_sholl" not in ctx.__dict__:
        rmax = ctx.node_radial.max() if ctx.n else 0.0
        radii = rmax * (np.arange(1, N_NORM + 1) - 0.5) / N_NORM if rmax > 0 else None
        ctx.__dict__["_norm_sholl"] = None if radii is None else \
            (radii, sholl_crossings(ctx.seg_radial0, ctx.seg_radial1, radii))
    return ctx.__dict__["_norm_sholl"]


@register("sholl_norm", "", "Sholl crossings on 20 spheres at (k - 0.5) / 20 of the largest soma distance, "
          "divided by the largest of the 20 counts", group="sholl",
          columns=[f"sholl_norm_{k:02d}" for k in range(N_NORM)])
def sholl_norm(ctx: NeuronContext) -> np.ndarray:
    sholl = _norm_sholl(ctx)
    if sholl is None:
        return np.full(N_NORM, NAN)
    counts = sholl[1]
    return counts / counts.max() if counts.max() > 0 else np.full(N_NORM, NAN)


@register("sholl_peak", "", "largest number of crossings over the 20 normalised Sholl spheres", group="sholl",
          scale_free=True)
def sholl_peak(ctx: NeuronContext) -> float:
    sholl = _norm_sholl(ctx)
    return NAN if sholl is None else float(sholl[1].max())


@register("sholl_peak_radius", "µm", "radius of the normalised Sholl sphere with the most crossings", group="sholl")
def sholl_peak_radius(ctx: NeuronContext) -> float:
    sholl = _norm_sholl(ctx)
    return NAN if sholl is None else float(sholl[0][np.argmax(sholl[1])]) / 1e3


@register("sholl_peak_radius_rel", "", "the same radius / largest soma distance", group="sholl")
def sholl_peak_radius_rel(ctx: NeuronContext) -> float:
    sholl = _norm_sholl(ctx)
    return NAN if sholl is None else float(sholl[0][np.argmax(sholl[1])] / ctx.node_radial.max())


@register("cable_radial_abs", "µm", "cable length in 25 µm shells of distance from the soma (0-25, ..., "
          "475-500 µm; cable beyond 500 µm goes to the last shell)", group="sholl",
          columns=[f"cable_radial_{int(r - SHOLL_STEP_UM)}um" for r in SHOLL_RADII_UM])
def cable_radial_abs(ctx: NeuronContext) -> np.ndarray:
    edges = np.r_[0.0, SHOLL_RADII_UM] * 1e3
    return binned_cable(*_seg_radial(ctx), ctx.seg_length, edges) / 1e3


@register("cable_radial_norm", "", "fraction of cable in 10 equal shells of distance from the soma, "
          "scaled to the largest distance", group="sholl", columns=[f"cable_radial_norm_{k}" for k in range(10)])
def cable_radial_norm(ctx: NeuronContext) -> np.ndarray:
    return _normalised_profile(ctx, *_seg_radial(ctx), ctx.node_radial)


@register("cable_path_abs", "µm", "cable length in 50 µm bins of path distance from the soma surface "
          "(0-50, ..., 950-1000 µm; beyond goes to the last bin)", group="sholl",
          columns=[f"cable_path_{int(e)}um" for e in PATH_EDGES_UM[:-1]])
def cable_path_abs(ctx: NeuronContext) -> np.ndarray:
    return binned_cable(ctx.seg_path0, ctx.seg_path1, ctx.seg_length, PATH_EDGES_UM * 1e3) / 1e3


@register("cable_path_norm", "", "fraction of cable in 10 equal bins of path distance, scaled to the "
          "longest path", group="sholl", columns=[f"cable_path_norm_{k}" for k in range(10)])
def cable_path_norm(ctx: NeuronContext) -> np.ndarray:
    return _normalised_profile(ctx, ctx.seg_path0, ctx.seg_path1, ctx.node_path)


def _normalised_profile(ctx: NeuronContext, d0: np.ndarray, d1: np.ndarray, node_d: np.ndarray) -> np.ndarray:
    """Fraction of cable in 10 equal bins of a distance (segment ends ``d0``, ``d1``),
    scaled to its largest value over the nodes ``node_d``."""
    dmax = node_d.max() if ctx.n else 0.0
    if dmax <= 0 or ctx.total_length <= 0:
        return np.full(10, NAN)
    return binned_cable(d0, d1, ctx.seg_length, np.linspace(0, dmax, 11)) / ctx.total_length


def _cable_quantiles(d0: np.ndarray, d1: np.ndarray, w: np.ndarray) -> np.ndarray:
    ok = w > 0
    if not ok.any():
        return np.full(len(CABLE_QS), NAN)
    return weighted_quantiles(0.5 * (d0[ok] + d1[ok]), w[ok], CABLE_QS)


@register("cable_radial_quantiles", "µm", "distance from the soma within which 10, 25, 50, 75, 90 % of the "
          "cable lies", group="sholl", columns=[f"cable_radial_q{int(q * 100)}" for q in CABLE_QS])
def cable_radial_quantiles(ctx: NeuronContext) -> np.ndarray:
    return _cable_quantiles(*_seg_radial(ctx), ctx.seg_length) / 1e3


@register("cable_path_quantiles", "µm", "path distance from the soma within which 10, 25, 50, 75, 90 % of "
          "the cable lies", group="sholl", columns=[f"cable_path_q{int(q * 100)}" for q in CABLE_QS])
def cable_path_quantiles(ctx: NeuronContext) -> np.ndarray:
    return _cable_quantiles(ctx.seg_path0, ctx.seg_path1, ctx.seg_length) / 1e3


@register("cable_radial_quantiles_rel", "", "the radial cable quantiles / largest soma distance", group="sholl",
          columns=[f"cable_radial_rel_q{int(q * 100)}" for q in CABLE_QS])
def cable_radial_quantiles_rel(ctx: NeuronContext) -> np.ndarray:
    rmax = ctx.node_radial.max() if ctx.n else 0.0
    return cable_radial_quantiles(ctx) * 1e3 / rmax if rmax > 0 else np.full(len(CABLE_QS), NAN)


@register("cable_path_quantiles_rel", "", "the path cable quantiles / longest path", group="sholl",
          columns=[f"cable_path_rel_q{int(q * 100)}" for q in CABLE_QS])
def cable_path_quantiles_rel(ctx: NeuronContext) -> np.ndarray:
    pmax = ctx.node_path.max() if ctx.n else 0.0
    return cable_path_quantiles(ctx) * 1e3 / pmax if pmax > 0 else np.full(len(CABLE_QS), NAN)
