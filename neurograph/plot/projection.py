"""2D projections of a neuron's mesh (or skeleton) coloured by branch or any branch column."""

from __future__ import annotations

import numpy as np

_AXES = {"xy": (0, 1), "xz": (0, 2), "yz": (1, 2)}


def _branch_colors(values: np.ndarray, categorical: bool):
    import matplotlib.pyplot as plt

    if categorical:
        cmap = plt.get_cmap("tab20")
        return cmap((values % 20) / 19.0)
    finite = np.isfinite(values)
    lo, hi = (np.nanpercentile(values, [2, 98]) if finite.any() else (0.0, 1.0))
    norm = np.clip((values - lo) / max(hi - lo, 1e-12), 0, 1)
    return plt.get_cmap("viridis")(np.where(finite, norm, 0.0))


def plot_neuron(neuron, view: str = "xy", color_by: str = "branch", ax=None, max_faces: int = 300_000):
    """Project a neuron onto a plane, coloured by branch (or a column of ``neuron.branches``).

    Parameters
    ----------
    neuron : Neuron
    view : {"xy", "xz", "yz"}
        Plane to project on.
    color_by : str, default "branch"
        ``"branch"`` or ``"limb"`` (categorical), or any numeric column of ``neuron.branches``.
    ax : matplotlib Axes, optional
    max_faces : int
        Larger meshes are drawn from a random subset of faces.

    Returns
    -------
    matplotlib.figure.Figure
        Axes in µm, somata drawn as circles, with a scale bar.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    i, j = _AXES[view]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 8))
    branches = neuron.branches
    n_ids = int(neuron.node_branch.max()) + 1
    values = np.full(n_ids, np.nan)
    if color_by == "branch":
        values[branches.index] = branches.index
    else:
        values[branches.index] = branches[color_by].to_numpy(float)
    colors = _branch_colors(values, categorical=color_by in ("branch", "limb"))
    colors[: neuron.n_somas] = (0.15, 0.15, 0.15, 1.0)
    if neuron.mesh is not None and neuron.face_branch is not None:
        faces = np.arange(len(neuron.mesh.faces))
        if len(faces) > max_faces:
            faces = np.random.default_rng(0).choice(faces, max_faces, replace=False)
        tris = np.asarray(neuron.mesh.vertices)[np.asarray(neuron.mesh.faces)[faces]][:, :, [i, j]] / 1e3
        ax.add_collection(PolyCollection(tris, facecolors=colors[neuron.face_branch[faces]], edgecolors="none"))
    else:
        sk = neuron.skeleton
        has = np.flatnonzero(sk.parent >= 0)
        for n in has:
            a, b = sk.vertices[n] / 1e3, sk.vertices[sk.parent[n]] / 1e3
            ax.plot([a[i], b[i]], [a[j], b[j]], color=colors[neuron.node_branch[n]], lw=1)
    for s in neuron.somas:
        ax.add_patch(plt.Circle((s.center[i] / 1e3, s.center[j] / 1e3), s.radius / 1e3, fill=False,
                                color="red", lw=1.5))
    pts = neuron.skeleton.vertices / 1e3
    ax.set_xlim(pts[:, i].min() - 5, pts[:, i].max() + 5)
    ax.set_ylim(pts[:, j].min() - 5, pts[:, j].max() + 5)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{view[0]} (µm)")
    ax.set_ylabel(f"{view[1]} (µm)")
    span = np.ptp(pts[:, i])
    bar = 10 ** np.floor(np.log10(max(span / 5, 1e-3)))
    x0, y0 = ax.get_xlim()[0] + 0.05 * span, ax.get_ylim()[0] + 0.05 * np.ptp(pts[:, j])
    ax.plot([x0, x0 + bar], [y0, y0], color="black", lw=3)
    ax.text(x0 + bar / 2, y0, f"{bar:g} µm", ha="center", va="bottom")
    ax.set_title(f"{neuron.name}: coloured by {color_by}")
    return ax.figure
