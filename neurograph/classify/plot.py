"""Figures for classification results."""

from __future__ import annotations

import numpy as np
import pandas as pd


def plot_confusion(confusion, normalize: bool = True, title: str | None = None, ax=None):
    """Draw a confusion matrix.

    Parameters
    ----------
    confusion : pandas.DataFrame or CVResult
        Counts, rows = true class, columns = predicted (``CVResult.confusion``).
    normalize : bool, default True
        Colour by the fraction of each true class (row); cells show ``count`` and that
        fraction.
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if hasattr(confusion, "confusion"):
        if title is None:
            title = f"balanced accuracy {confusion.balanced_accuracy:.3f}, macro F1 {confusion.macro_f1:.3f}"
        confusion = confusion.confusion
    counts = pd.DataFrame(confusion)
    frac = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    n = len(counts)
    if ax is None:
        size = max(3.5, 0.6 * n + 2)
        fig, ax = plt.subplots(figsize=(size + 1, size))
    else:
        fig = ax.figure
    im = ax.imshow(frac.to_numpy() if normalize else counts.to_numpy(), cmap="Blues",
                   vmin=0, vmax=1 if normalize else None)
    for i in range(n):
        for j in range(counts.shape[1]):
            v = frac.iat[i, j]
            txt = f"{counts.iat[i, j]}\n{v:.2f}" if normalize else f"{counts.iat[i, j]}"
            ax.text(j, i, txt, ha="center", va="center", fontsize=8, color="white" if v > 0.6 else "black")
    ax.set_xticks(range(counts.shape[1]), [str(c) for c in counts.columns], rotation=45, ha="right")
    ax.set_yticks(range(n), [str(c) for c in counts.index])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of true class" if normalize else "count")
    fig.tight_layout()
    return fig
