"""Numba kernels for neuron-level features (loops over skeleton nodes or edges)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def binned_cable(d0: np.ndarray, d1: np.ndarray, length: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Cable length per distance bin, each segment's distance running linearly from ``d0`` to ``d1``.

    Segments beyond the last edge go to the last bin, before the first edge to the first.
    """
    n_bins = edges.shape[0] - 1
    out = np.zeros(n_bins)
    for i in range(d0.shape[0]):
        lo, hi, w = min(d0[i], d1[i]), max(d0[i], d1[i]), length[i]
        if w <= 0:
            continue
        if hi - lo <= 1e-12 * max(1.0, abs(hi)):
            k = np.searchsorted(edges, lo, side="right") - 1
            out[min(max(k, 0), n_bins - 1)] += w
            continue
        span = hi - lo
        if lo < edges[0]:
            out[0] += w * (min(hi, edges[0]) - lo) / span
        if hi > edges[n_bins]:
            out[n_bins - 1] += w * (hi - max(lo, edges[n_bins])) / span
        for k in range(n_bins):
            a, b = max(lo, edges[k]), min(hi, edges[k + 1])
            if b > a:
                out[k] += w * (b - a) / span
    return out


@njit(cache=True)
def sholl_crossings(d0: np.ndarray, d1: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Number of segments crossing each sphere: ``min(d0, d1) < r <= max(d0, d1)``."""
    out = np.zeros(radii.shape[0])
    for i in range(d0.shape[0]):
        lo, hi = min(d0[i], d1[i]), max(d0[i], d1[i])
        for k in range(radii.shape[0]):
            if lo < radii[k] <= hi:
                out[k] += 1
    return out


@njit(cache=True)
def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Quantiles of ``values`` weighted by ``weights`` (NaN when the weights sum to 0)."""
    out = np.full(qs.shape[0], np.nan)
    order = np.argsort(values)
    total = 0.0
    for i in range(weights.shape[0]):
        total += weights[i]
    if total <= 0:
        return out
    cum = 0.0
    k = 0
    for j in range(order.shape[0]):
        cum += weights[order[j]]
        while k < qs.shape[0] and cum >= qs[k] * total:
            out[k] = values[order[j]]
            k += 1
    while k < qs.shape[0]:
        out[k] = values[order[order.shape[0] - 1]]
        k += 1
    return out
