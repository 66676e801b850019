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
def direction_nodes(order: np.ndarray, node_branch: np.ndarray, start_path: np.ndarray,
                    node_path: np.ndarray, span: float, n_ids: int) -> np.ndarray:
    """For each branch, the first node at least ``span`` along it from its start (else its last node).

    ``start_path[b]`` is the path length at the start of branch ``b``.
    """
    best = np.full(n_ids, -1, np.int64)
    best_d = np.full(n_ids, np.inf)
    last = np.full(n_ids, -1, np.int64)
    last_d = np.full(n_ids, -np.inf)
    for k in range(order.shape[0]):
        node = order[k]
        b = node_branch[node]
        d = node_path[node] - start_path[b]
        if d >= span and d < best_d[b]:
            best_d[b] = d
            best[b] = node
        if d > last_d[b]:
            last_d[b] = d
            last[b] = node
    for b in range(n_ids):
        if best[b] < 0:
            best[b] = last[b]
    return best


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
