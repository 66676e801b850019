"""Small robust statistics shared by every layer (plain numpy, no neurograph imports)."""

from __future__ import annotations

import numpy as np


def finite_median(values) -> float:
    """Median of the finite values, NaN (quietly) when there are none.

    Parameters
    ----------
    values : array-like of float

    Returns
    -------
    float
    """
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if len(v) else np.nan


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted median of the finite values with positive weight (NaN when there are none).

    Parameters
    ----------
    values, weights : (n,) float ndarray
        Values (any unit) and their weights (e.g. cable length, nm).

    Returns
    -------
    float
        In the unit of ``values``.
    """
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return float("nan")
    v, w = values[ok], weights[ok]
    order = np.argsort(v)
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, cum[-1] / 2)])


def safe_div(a: float, b: float) -> float:
    """``a / b``, NaN when ``b`` is 0 or not finite."""
    return float(a) / float(b) if b and np.isfinite(b) else float("nan")
