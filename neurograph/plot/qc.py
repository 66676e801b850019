"""A small per-neuron quality-control picture."""

from __future__ import annotations

import os

from ..features.summary import neuron_summary
from .dendrogram import plot_dendrogram
from .projection import plot_neuron


def qc_figure(neuron, path: str | os.PathLike | None = None, dpi: int = 90):
    """Mesh (or skeleton) coloured by compartment when labelled (else by branch), with
    somata, spines and synapses marked, from the top (xy) and along the neuron's main axes
    (pca), beside its dendrogram.

    Parameters
    ----------
    neuron : Neuron
    path : str or PathLike, optional
        Write the picture (PNG or SVG by the suffix).
    dpi : int, default 90

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    color_by = "compartment" if "compartment" in neuron.branches.columns else "branch"
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.5))
    plot_neuron(neuron, "xy", color_by, ax=axes[0], title="xy")
    plot_neuron(neuron, "pca", color_by, ax=axes[1], title="main axes (PCA)")
    plot_dendrogram(neuron, color_by, ax=axes[2], title="dendrogram")
    s = neuron_summary(neuron).iloc[0]
    fig.suptitle(f"{neuron.name}: {neuron.n_somas} soma(s), {s['n_branches']:.0f} branches, "
                 f"{s['total_length']:.0f} µm of cable", wrap=True)  # fixed margins: a long name wraps
    # fixed margins: tight_layout and bbox_inches="tight" each lay out every tick label again
    # (about 40 % of a skeleton's picture)
    fig.subplots_adjust(left=0.045, right=0.99, bottom=0.11, top=0.88, wspace=0.2)
    if path is not None:
        fig.savefig(os.fspath(path), dpi=dpi)
    return fig
