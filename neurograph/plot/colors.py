"""Colours for the graph nodes (somata and branches) of a neuron, shared by every plot."""

from __future__ import annotations

import numpy as np

from ..codes import COMPARTMENT_COLORS
from ..errors import InputError

SOMA_COLOR = COMPARTMENT_COLORS["soma"]
CATEGORICAL = ("branch", "limb")


def node_values(neuron, color_by: str) -> tuple[np.ndarray, bool]:
    """Value per graph node (soma ids first) of ``color_by`` and whether it is categorical.

    ``color_by`` is ``"branch"``, ``"limb"``, ``"compartment"`` or any column of
    ``neuron.branches``; somata get NaN (or "soma").

    Parameters
    ----------
    neuron : Neuron
        Neuron with its ``branches`` table (lengths µm, widths nm).
    color_by : str
        ``"branch"`` (the branch id) or a column of ``neuron.branches``.

    Returns
    -------
    values : (n_ids,) ndarray
        Float values in the column's unit, or strings (object) for a text column.
    categorical : bool
        True for branch ids, text columns and the categorical numeric columns.

    Raises
    ------
    InputError
        ``color_by`` is neither ``"branch"`` nor a column of ``neuron.branches``.
    """
    branches = neuron.branches
    n_ids = int(neuron.node_branch.max()) + 1
    if color_by == "branch":
        values = np.full(n_ids, np.nan)
        values[branches.index] = branches.index
        return values, True
    if color_by not in branches.columns:
        raise InputError(f"cannot colour by {color_by!r}: not 'branch' nor a column of neuron.branches "
                       f"({', '.join(map(str, branches.columns))})")
    column = branches[color_by]
    if column.dtype == object or str(column.dtype) in ("string", "category", "str"):
        values = np.full(n_ids, "soma", dtype=object)
        values[branches.index] = column.astype(str).to_numpy()
        return values, True
    values = np.full(n_ids, np.nan)
    values[branches.index] = column.to_numpy(float)
    return values, color_by in CATEGORICAL


def node_colors(neuron, color_by: str = "branch", cmap: str = "viridis") -> tuple[np.ndarray, dict]:
    """RGBA per graph node and a legend for ``color_by``.

    Parameters
    ----------
    neuron : Neuron
        Neuron to colour.
    color_by : str, default "branch"
        ``"branch"`` or a column of ``neuron.branches`` (see :func:`node_values`).
    cmap : str, default "viridis"
        Matplotlib colormap for a numeric column (scaled to its 2nd-98th percentile).

    Returns
    -------
    colors : (n_ids, 4) float ndarray
        RGBA per graph node; somata in the soma colour.
    legend : dict
        ``{label: rgba}`` for a text column, ``{"vmin": lo, "vmax": hi, "cmap": cmap}`` (in the
        column's unit) for a numeric column, ``{}`` for branch ids and other categorical numbers.

    Raises
    ------
    InputError
        ``color_by`` is neither ``"branch"`` nor a column of ``neuron.branches``.
    """
    import matplotlib.pyplot as plt

    values, categorical = node_values(neuron, color_by)
    if values.dtype == object:
        labels = sorted(set(values) - {"soma"})
        palette = plt.get_cmap("tab10")
        lut = {lab: COMPARTMENT_COLORS.get(lab, palette(k % 10)) for k, lab in enumerate(labels)}
        lut["soma"] = SOMA_COLOR
        colors = np.array([lut[v] for v in values], float)
        return colors, lut
    if categorical:
        colors = plt.get_cmap("tab20")((np.nan_to_num(values) % 20) / 19.0)
        colors[: neuron.n_somas] = SOMA_COLOR
        return colors, {}
    finite = np.isfinite(values)
    lo, hi = np.nanpercentile(values, [2, 98]) if finite.any() else (0.0, 1.0)
    norm = np.clip((values - lo) / max(hi - lo, 1e-12), 0, 1)
    colors = plt.get_cmap(cmap)(np.where(finite, norm, 0.0))
    colors[~finite] = COMPARTMENT_COLORS["unknown"]
    colors[: neuron.n_somas] = SOMA_COLOR
    return colors, {"vmin": float(lo), "vmax": float(hi), "cmap": cmap}
