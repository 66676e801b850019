"""Picture of a merge split into its cells, with the cuts marked."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .projection import scale_bar, view_basis
from .raster import draw_mesh

PART_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink")


def plot_split(parts: Sequence, view: str | Sequence[float] = "xy", ax=None, max_faces: int = 200_000,
               title: str | None = None, raster: bool = True):
    """Draw the neurons a merge was divided into, one colour each, with their cuts.

    Parameters
    ----------
    parts : sequence of Neuron
        From :func:`neurograph.split_somas` (and :func:`neurograph.proofread`), nm.
    view : {"xy", "xz", "yz", "pca"} or (3,) float, default "xy"
        Projection plane (see :func:`neurograph.plot.projection.view_basis`).
    ax : matplotlib Axes, optional
    max_faces : int, default 200000
        With ``raster=False``, larger meshes are drawn from a random subset of faces.
    title : str, optional
    raster : bool, default True
        Draw the meshes as one shaded image, nearest face on top (as
        :func:`neurograph.plot.plot_neuron` does); False: one translucent polygon per face.

    Returns
    -------
    matplotlib.figure.Figure
        Axes in µm; somata circled; soma-split cuts as red crosses, proofreading cuts as
        black crosses, flags as open circles; the legend gives each part's cable and each
        cut reason's count.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D

    basis, labels = view_basis(parts[0], view)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 8))
    handles, all_pts, meshes = [], [], []
    for i, part in enumerate(parts):
        color = PART_COLORS[i % len(PART_COLORS)]
        sk = part.skeleton
        if part.mesh is not None and raster:
            meshes.append((np.asarray(part.mesh.vertices) / 1e3, np.asarray(part.mesh.faces), to_rgba(color)))
        elif part.mesh is not None:
            faces = np.arange(len(part.mesh.faces))
            if len(faces) > max_faces:
                faces = np.random.default_rng(0).choice(faces, max_faces, replace=False)
            tris = (np.asarray(part.mesh.vertices) @ basis / 1e3)[np.asarray(part.mesh.faces)[faces]]
            ax.add_collection(PolyCollection(tris, facecolors=color, edgecolors="none", alpha=0.6))
        else:
            has = np.flatnonzero(sk.parent >= 0)
            xy = sk.vertices @ basis / 1e3
            ax.add_collection(LineCollection(np.stack([xy[has], xy[sk.parent[has]]], axis=1), colors=color))
        all_pts.append(sk.vertices @ basis / 1e3)
        for s in part.somas:
            c = s.center @ basis / 1e3
            ax.add_patch(plt.Circle(tuple(c), s.radius / 1e3, fill=False, color="black", lw=1.5))
        handles.append(Line2D([], [], marker="s", ls="", color=color,
                              label=f"{part.name} ({sk.cable_length / 1e3:.0f} µm)"))
    if meshes:  # one image for all parts: where they overlap, the nearer is drawn
        offsets = np.cumsum([0] + [len(v) for v, _, _ in meshes])
        draw_mesh(ax, np.vstack([v for v, _, _ in meshes]), np.vstack([f + o for (_, f, _), o in zip(meshes, offsets)]),
                  np.repeat([c for _, _, c in meshes], [len(f) for _, f, _ in meshes], axis=0), basis)
    cuts = [p.cuts for p in parts if getattr(p, "cuts", None) is not None and len(p.cuts)]
    if cuts:
        import pandas as pd

        table = pd.concat(cuts, ignore_index=True).drop_duplicates(subset=["x", "y", "z", "reason"])
        q = table[["x", "y", "z"]].to_numpy(float) @ basis / 1e3
        split = (table["rule"] == "split").to_numpy()
        flag = (table["action"] == "flag").to_numpy()
        for mask, marker, color, size, what in ((split, "X", "red", 90, "soma split"),
                                                (~split & ~flag, "x", "black", 50, "proofread cut"),
                                                (flag, "o", "none", 50, "flag")):
            if mask.any():
                ax.scatter(q[mask, 0], q[mask, 1], marker=marker, s=size, c=color if color != "none" else "none",
                           edgecolors="black" if color == "none" else None, zorder=5, linewidths=1.5)
                reasons = table.loc[mask, "rule" if what != "soma split" else "reason"].value_counts()
                handles.append(Line2D([], [], marker=marker, ls="", color="red" if what == "soma split" else "black",
                                      mfc="none" if what == "flag" else None,
                                      label=f"{what}: " + ", ".join(f"{k} {v}" for k, v in reasons.items())))
    pts = np.vstack(all_pts)
    ax.set_xlim(pts[:, 0].min() - 5, pts[:, 0].max() + 5)
    ax.set_ylim(pts[:, 1].min() - 5, pts[:, 1].max() + 5)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{labels[0]} (µm)")
    ax.set_ylabel(f"{labels[1]} (µm)")
    scale_bar(ax, pts)
    ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.85)
    ax.set_title(title or f"split into {len(parts)} neurons")
    return ax.figure
