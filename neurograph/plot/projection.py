"""2D projections of a neuron's mesh and skeleton (matplotlib)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import InputError
from ..skeleton.tree import topological_order
from .colors import node_colors
from .raster import draw_mesh


def unbranched_lines(parent: np.ndarray, group: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The skeleton's edges as polylines: each a chain of nodes of one ``group`` (branch), from
    its first node's parent out to its last node.

    One path per unbranched stretch instead of one per edge: matplotlib builds a ``Path`` per
    line, and a FAFB skeleton's ~10k edges took most of a QC picture's time.

    Parameters
    ----------
    parent : (n,) int ndarray
        Parent of each node, negative for roots.
    group : (n,) int ndarray
        Branch of each node (the colour of the edge to its parent).

    Returns
    -------
    lines : list of int ndarrays
        Node ids of each polyline (at least two); together they hold every edge once.
    group : (k,) int ndarray
        ``group`` of each polyline's nodes (but its first, the parent it starts from).
    """
    parent, group = np.asarray(parent), np.asarray(group)
    if not (parent >= 0).any():  # a single node, or roots only: nothing to draw
        return [], group[:0]
    rank = np.empty(len(parent), np.int64)
    rank[topological_order(parent)] = np.arange(len(parent))
    child = np.flatnonzero(parent >= 0)
    child = child[np.lexsort((rank[child], group[child]))]  # by group, then parents before children
    # a new line wherever the group changes or the next node does not hang from the one before
    start = np.r_[True, (group[child[1:]] != group[child[:-1]]) | (parent[child[1:]] != child[:-1])]
    first = np.flatnonzero(start)
    pieces = np.split(child, first[1:])
    return [np.r_[parent[p[0]], p] for p in pieces], group[child[first]]


_AXES = {"xy": (0, 1), "xz": (0, 2), "yz": (1, 2)}


def view_basis(neuron, view: str | Sequence[float]) -> tuple[np.ndarray, tuple[str, str]]:
    """(3, 2) projection matrix and axis labels for a view.

    ``view`` is ``"xy"``, ``"xz"``, ``"yz"``, ``"pca"`` (the skeleton's two main axes: the
    same picture whatever the neuron's orientation in its volume) or a viewing direction
    ``(dx, dy, dz)``.

    Parameters
    ----------
    neuron : Neuron
        Neuron whose skeleton gives the ``"pca"`` axes.
    view : str or sequence of 3 float
        Named view or viewing direction (any length; normalised).

    Returns
    -------
    basis : (3, 2) float ndarray
        Unit vectors of the two screen axes (points @ basis projects them, keeping their unit).
    labels : (str, str)
        Axis names: ``("x", "y")`` etc., ``("PC1", "PC2")`` or ``("u", "v")``.

    Raises
    ------
    InputError
        An unknown view name.
    """
    if isinstance(view, str) and view in _AXES:
        i, j = _AXES[view]
        basis = np.zeros((3, 2))
        basis[i, 0] = basis[j, 1] = 1.0
        return basis, (view[0], view[1])
    if isinstance(view, str) and view == "pca":
        pts = neuron.skeleton.vertices - neuron.skeleton.vertices.mean(axis=0)
        if len(pts) >= 3:
            _, _, vt = np.linalg.svd(pts, full_matrices=False)
        else:  # one or two nodes: any plane through them
            _, _, vt = np.linalg.svd(np.vstack([pts, np.eye(3) * 1e-9]), full_matrices=False)
        return vt[:2].T, ("PC1", "PC2")
    if isinstance(view, str):
        raise InputError(f"unknown view {view!r}: use 'xy', 'xz', 'yz', 'pca' or a direction (dx, dy, dz)")
    d = np.asarray(view, float)
    d = d / np.linalg.norm(d)
    u = np.cross(d, [0.0, 0.0, 1.0] if abs(d[2]) < 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    return np.column_stack([u, np.cross(d, u)]), ("u", "v")


def scale_bar(ax, pts: np.ndarray) -> None:
    span = max(np.ptp(pts[:, 0]), 1e-3)
    bar = 10 ** np.floor(np.log10(max(span / 5, 1e-3)))
    x0, y0 = ax.get_xlim()[0] + 0.05 * span, ax.get_ylim()[0] + 0.05 * max(np.ptp(pts[:, 1]), 1e-3)
    ax.plot([x0, x0 + bar], [y0, y0], color="black", lw=3)
    ax.annotate(f"{bar:g} µm", (x0 + bar / 2, y0), xytext=(0, 4), textcoords="offset points", ha="center",
                va="bottom")


def _table_points(table, prefix: str = "") -> np.ndarray | None:
    cols = [f"{prefix}{c}" for c in "xyz"]
    if table is None or len(table) == 0 or not set(cols) <= set(table.columns):
        return None
    return table[cols].to_numpy(float)


def plot_neuron(neuron, view: str | Sequence[float] = "xy", color_by: str = "branch", ax=None,
                mesh: bool = True, spines: bool = True, synapses: bool = True, max_faces: int = 300_000,
                title: str | None = None, raster: bool = True):
    """Project a neuron onto a plane, coloured by branch, limb, compartment or any branch column.

    Parameters
    ----------
    neuron : Neuron
    view : {"xy", "xz", "yz", "pca"} or (3,) float, default "xy"
        Plane to project on, or a viewing direction (see :func:`view_basis`).
    color_by : str, default "branch"
        ``"branch"``, ``"limb"``, ``"compartment"`` or any numeric column of
        ``neuron.branches`` (e.g. ``"width_median"``, ``"spine_density"``).
    ax : matplotlib Axes, optional
    mesh : bool, default True
        Draw the mesh (when there is one); else the skeleton.
    spines, synapses : bool, default True
        Mark spines (``neuron.spines``) and synapses (``neuron.synapses``, pre ▲ / post ●)
        when the neuron has them.
    max_faces : int
        With ``raster=False``, larger meshes are drawn from a random subset of faces.
    title : str, optional
    raster : bool, default True
        Draw the mesh as one image (:func:`neurograph.plot.raster.draw_mesh`): every face,
        nearest the viewer on top, shaded by how squarely it faces the viewer (not when
        colouring by a numeric column: a colour map's lightness is its value), fast at any
        size. False: one polygon per face (vector output for SVG/PDF; slow beyond ~100k faces).

    Returns
    -------
    matplotlib.figure.Figure
        Axes in µm, somata circled, a legend or colour bar, and a scale bar.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.lines import Line2D

    basis, labels = view_basis(neuron, view)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 8))
    colors, legend = node_colors(neuron, color_by)
    sk = neuron.skeleton
    if mesh and neuron.mesh is not None and neuron.face_branch is not None and raster:
        # a colour map's lightness is its value: no shading on it
        draw_mesh(ax, np.asarray(neuron.mesh.vertices) / 1e3, np.asarray(neuron.mesh.faces),
                  colors[neuron.face_branch], basis, shade=not (legend and "cmap" in legend))
    elif mesh and neuron.mesh is not None and neuron.face_branch is not None:
        faces = np.arange(len(neuron.mesh.faces))
        if len(faces) > max_faces:
            faces = np.random.default_rng(0).choice(faces, max_faces, replace=False)
        tris = (np.asarray(neuron.mesh.vertices) @ basis / 1e3)[np.asarray(neuron.mesh.faces)[faces]]
        ax.add_collection(PolyCollection(tris, facecolors=colors[neuron.face_branch[faces]], edgecolors="none"))
    else:
        lines, branch = unbranched_lines(sk.parent, neuron.node_branch)
        xy = sk.vertices @ basis / 1e3
        ax.add_collection(LineCollection([xy[line] for line in lines], colors=colors[branch], linewidths=1.2))
    pts = sk.vertices @ basis / 1e3
    for s in neuron.somas:
        c = s.center @ basis / 1e3
        ax.add_patch(plt.Circle(tuple(c), s.radius / 1e3, fill=False, color="black", lw=1.5))
    handles = []
    spine_table = getattr(neuron, "spines", None)
    sp = _table_points(spine_table) if spines else None
    if sp is None and spines:
        sp = _table_points(spine_table, "base_")
    if sp is not None:
        q = sp @ basis / 1e3
        ax.scatter(q[:, 0], q[:, 1], s=4, c="gold", edgecolors="none", zorder=3)
        handles.append(Line2D([], [], marker="o", ls="", color="gold", label=f"spines ({len(sp)})"))
    syn = getattr(neuron, "synapses", None) if synapses else None
    syn_pts = _table_points(syn)
    if syn_pts is not None and "direction" in syn.columns:
        q = syn_pts @ basis / 1e3
        for direction, marker, color in (("pre", "^", "black"), ("post", "o", "tab:orange")):  # axon is blue
            m = (syn["direction"] == direction).to_numpy()
            if m.any():
                ax.scatter(q[m, 0], q[m, 1], s=10 if direction == "pre" else 3, marker=marker, c=color,
                           edgecolors="none", alpha=1.0 if direction == "pre" else 0.6, zorder=4)
                handles.append(Line2D([], [], marker=marker, ls="", color=color, label=f"{direction} ({m.sum()})"))
    if legend and "cmap" in legend:
        sm = plt.cm.ScalarMappable(cmap=legend["cmap"], norm=plt.Normalize(legend["vmin"], legend["vmax"]))
        ax.figure.colorbar(sm, ax=ax, shrink=0.6, label=color_by)
    elif legend:
        handles += [Line2D([], [], marker="s", ls="", color=c, label=k) for k, c in legend.items()]
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.8)
    pad = 5.0
    ax.set_xlim(pts[:, 0].min() - pad, pts[:, 0].max() + pad)
    ax.set_ylim(pts[:, 1].min() - pad, pts[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{labels[0]} (µm)")
    ax.set_ylabel(f"{labels[1]} (µm)")
    scale_bar(ax, pts)
    ax.set_title(title or f"{neuron.name}: coloured by {color_by}")
    return ax.figure
