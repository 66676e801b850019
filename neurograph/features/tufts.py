"""Tuft features: how much of the cable is packed into one spot at the scale of a glomerulus.

A uniglomerular olfactory projection neuron puts its dendrites into one dense tuft filling one
glomerulus (~10-30 µm across); a multiglomerular one spreads sparser dendrites over several (Bates et
al. 2020, Curr Biol 30:3183). What separates the two is cable *density* in space at that scale, which
the canonical form keeps: pruning side arms < 10 µm and resampling at 1 µm (:func:`neurograph.canonical`)
remove a tracing style's twigs and node spacing but hardly change how much cable lies in a 10 µm ball.
Every value is a cable length, or a ratio of two, inside balls around points of the skeleton: free of
rotation and mirroring. No compartment labels are used (the geometric axon/dendrite split is unreliable
on insect neurons); the tuft region is the cable near the tips of arbor 1, the tip cluster nearest the
soma along the path (:mod:`.arbors`; the antennal-lobe dendrites of a projection neuron).

Lengths are physical (µm), not scaled by the neuron's size: a glomerulus does not grow with the
projection neuron's axon.

The group is opt-in (``ng.neuron_features(neurons, groups=[..., "tufts"])``): on FAFB its columns are
the best single uPN/mPN separators (ROC AUC up to 0.93) and keep their ranks under every perturbation
of :mod:`neurograph.perturb`, but the default classifier scores the same with or without them
(``benchmarks/tufts.py``, issue #11).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .arbors import tip_arbors
from .context import NeuronContext
from .registry import register

NAN = float("nan")
BALL_UM = 10.0        # µm: radius of the ball a glomerular tuft fills
SURROUND_UM = 40.0    # µm: the neighbourhood the ball's cable is compared with
REGION_UM = 15.0      # µm: cable this close to a tip of arbor 1 is its tuft region
DENSE_BALL_UM = 5.0   # µm: radius of the local density ball
DENSE_CABLE_UM = 20.0  # µm of cable in a 5 µm ball: twice a straight neurite passing through it


def ball_cable(points: np.ndarray, cable: np.ndarray, radius_um: float) -> np.ndarray:
    """Cable within ``radius_um`` µm of every point (the point's own cable included).

    Parameters
    ----------
    points : (m, 3) float ndarray
        Segment midpoints, nm.
    cable : (m,) float ndarray
        Cable length of each segment, µm.
    radius_um : float
        Ball radius, µm.

    Returns
    -------
    (m,) float ndarray
        µm of cable whose segment midpoint lies within the ball around each point.
    """
    out = cable.astype(float).copy()
    if len(points) < 2:
        return out
    pairs = cKDTree(points).query_pairs(radius_um * 1e3, output_type="ndarray")
    if len(pairs):
        out += np.bincount(pairs[:, 0], weights=cable[pairs[:, 1]], minlength=len(points))
        out += np.bincount(pairs[:, 1], weights=cable[pairs[:, 0]], minlength=len(points))
    return out


def _densest_ball(ctx: NeuronContext, points: np.ndarray, cable: np.ndarray) -> tuple[float, float]:
    """Fraction of ``cable`` in the densest :data:`BALL_UM` ball around one of ``points``, and that
    ball's cable over all of the neuron's cable within :data:`SURROUND_UM` of the same centre."""
    if len(points) == 0 or cable.sum() <= 0:
        return NAN, NAN
    inside = ball_cable(points, cable, BALL_UM)
    k = int(np.argmax(inside))
    near = np.linalg.norm(ctx.seg_mid - points[k], axis=1) <= SURROUND_UM * 1e3
    return float(inside[k] / cable.sum()), float(inside[k] / (ctx.seg_length[near].sum() / 1e3))


@register("densest_ball", "", f"fraction of all cable within {BALL_UM:g} µm of the densest point of the "
          f"cable, and that cable over the cable within {SURROUND_UM:g} µm of the same point (one "
          "glomerulus-sized tuft: high, a sparse arbor: low)", group="tufts",
          columns=["densest_ball_fraction", "densest_ball_concentration"])
def densest_ball(ctx: NeuronContext) -> np.ndarray:
    return np.array(_densest_ball(ctx, ctx.seg_mid, ctx.seg_length / 1e3))


def _tuft(ctx: NeuronContext) -> np.ndarray:
    """Arbor 1's tuft region, computed once per context: dense fraction, top dense cluster, median
    local density (µm), densest-ball fraction and concentration (NaN without an arbor)."""
    cached = ctx.__dict__.get("_tuft")
    if cached is not None:
        return cached
    out = np.full(5, NAN)
    arbors = tip_arbors(ctx)
    if arbors:
        gap, _ = cKDTree(ctx.vertices[arbors[0]["tips"]]).query(ctx.seg_mid, distance_upper_bound=REGION_UM * 1e3)
        region = np.isfinite(gap)
        points, cable = ctx.seg_mid[region], ctx.seg_length[region] / 1e3
        total = cable.sum()
        if total > 0:
            local = ball_cable(points, cable, DENSE_BALL_UM)
            dense = local >= DENSE_CABLE_UM
            top = 0.0
            if dense.any():
                pairs = cKDTree(points[dense]).query_pairs(DENSE_BALL_UM * 1e3, output_type="ndarray")
                m = int(dense.sum())
                adj = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
                n, labels = connected_components(adj, directed=False)
                top = float(np.bincount(labels, weights=cable[dense], minlength=n).max() / total)
            order = np.argsort(local, kind="stable")
            median = float(local[order][np.searchsorted(np.cumsum(cable[order]), 0.5 * total)])
            out = np.array([cable[dense].sum() / total, top, median, *_densest_ball(ctx, points, cable)])
    ctx.__dict__["_tuft"] = out
    return out


@register("arbor1_tuft", "", f"arbor 1's tuft region (cable within {REGION_UM:g} µm of its tips): fraction "
          f"of its cable in dense spots (>= {DENSE_CABLE_UM:g} µm of cable within {DENSE_BALL_UM:g} µm), "
          f"fraction in the largest dense cluster (dense spots linked within {DENSE_BALL_UM:g} µm), fraction in "
          f"its densest {BALL_UM:g} µm ball and that ball's cable over all cable within {SURROUND_UM:g} µm",
          group="tufts", columns=["arbor1_dense_fraction", "arbor1_top_tuft", "arbor1_ball_fraction",
                                   "arbor1_ball_concentration"])
def arbor1_tuft(ctx: NeuronContext) -> np.ndarray:
    return _tuft(ctx)[[0, 1, 3, 4]]


@register("arbor1_density_q50", "µm", f"cable-weighted median, over arbor 1's tuft region, of the cable within "
          f"{DENSE_BALL_UM:g} µm of a point (a straight neurite: {2 * DENSE_BALL_UM:g} µm)", group="tufts")
def arbor1_density_q50(ctx: NeuronContext) -> float:
    return float(_tuft(ctx)[2])
