"""Dendrogram of the branch graph: path distance from the soma against leaf order."""

from __future__ import annotations

import numpy as np

from .colors import node_colors


def dendrogram_layout(neuron) -> dict[int, tuple[float, float, float]]:
    """Dendrogram coordinates of every branch.

    x is the path length from the soma surface in µm; y is the branch's place in a
    depth-first leaf order (parents centred over their children, a gap between limbs).

    Parameters
    ----------
    neuron : Neuron
        Neuron with ``branches`` (``path_to_soma``, ``length`` in µm, ``parent``, ``limb``)
        and its branch ``graph``.

    Returns
    -------
    dict of int to (float, float, float)
        ``{branch: (x_start, x_end, y)}``, x in µm.
    """
    branches = neuron.branches
    graph = neuron.graph
    start = branches["path_to_soma"].to_dict()
    length = branches["length"].to_dict()
    y: dict[int, float] = {}
    next_leaf = [0.0]
    roots = [b for b in branches.index if branches.at[b, "parent"] < neuron.n_somas]

    def place(b: int) -> float:
        kids = sorted(c for c in graph.successors(b) if c in start)
        if not kids:
            y[b] = next_leaf[0]
            next_leaf[0] += 1.0
        else:
            y[b] = float(np.mean([place(c) for c in kids]))
        return y[b]

    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(branches) + 100))
    try:
        for r in sorted(roots, key=lambda r: branches.at[r, "limb"]):
            place(r)
            next_leaf[0] += 1.0  # a gap between limbs
    finally:
        sys.setrecursionlimit(limit)
    return {b: (start[b], start[b] + length[b], y[b]) for b in y}


def plot_dendrogram(neuron, color_by: str = "branch", ax=None, title: str | None = None):
    """Draw the branch graph as a dendrogram.

    Parameters
    ----------
    neuron : Neuron
    color_by : str, default "branch"
        As in :func:`neurograph.plot.plot_neuron`.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        x: path distance from the soma surface (µm); one row per leaf; vertical lines join
        a parent's end to its children.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    layout = dendrogram_layout(neuron)
    colors, legend = node_colors(neuron, color_by)
    if ax is None:
        n_leaves = sum(1 for b in layout if neuron.graph.out_degree(b) == 0)
        _, ax = plt.subplots(figsize=(9, min(3 + 0.06 * n_leaves, 40)))
    segs, cols = [], []
    for b, (x0, x1, y) in layout.items():
        segs.append([(x0, y), (x1, y)])
        cols.append(colors[b])
        kids = [layout[c] for c in neuron.graph.successors(b) if c in layout]
        if kids:
            ys = [k[2] for k in kids] + [y]
            segs.append([(x1, min(ys)), (x1, max(ys))])
            cols.append(colors[b])
    ax.add_collection(LineCollection(segs, colors=cols, linewidths=1.5))
    if layout:
        xs = np.array([v[1] for v in layout.values()])
        ys = np.array([v[2] for v in layout.values()])
        ax.set_xlim(-0.02 * xs.max() - 1, xs.max() * 1.03 + 1)
        ax.set_ylim(-1, ys.max() + 1)
    ax.scatter([0] * neuron.n_somas, [0] * neuron.n_somas, s=0)  # keep the origin visible
    ax.set_xlabel("path distance from the soma (µm)")
    ax.set_yticks([])
    if legend and "cmap" not in legend:
        from matplotlib.lines import Line2D

        ax.legend(handles=[Line2D([], [], color=c, lw=3, label=k) for k, c in legend.items() if k != "soma"],
                  fontsize=8, loc="lower right")
    ax.set_title(title or f"{neuron.name}: dendrogram, coloured by {color_by}")
    return ax.figure

