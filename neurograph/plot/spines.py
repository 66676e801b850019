"""Picture of detected spines: the mesh shaded, shaft grey, each spine its own colour."""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError


def plot_spines(neuron, path: str | os.PathLike | None = None, max_faces: int = 400_000, title: str | None = None,
                centre: np.ndarray | None = None, half_width: float = 10_000.0):
    """Mesh projected on its two main planes (PC1-PC2 and PC1-PC3), spines coloured.

    Faces are drawn back to front with Lambert shading; shaft faces grey, each spine one
    colour, and spine bases marked. Axes in µm.

    Parameters
    ----------
    neuron : Neuron
        After :func:`neurograph.detect_spines` (``neuron.face_spine``).
    path : path, optional
        Write a PNG there.
    max_faces : int, default 400000
        Larger meshes are drawn with a random subset of their shaft faces.
    title : str, optional
    centre : (3,) float, optional
        Only draw faces within ``half_width`` nm (a cube) of this point (nm).
    half_width : float, default 10000

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    if neuron.mesh is None or getattr(neuron, "face_spine", None) is None:
        raise InputError("plot_spines needs a neuron with a mesh after detect_spines")
    verts = np.asarray(neuron.mesh.vertices, float) / 1e3
    faces = np.asarray(neuron.mesh.faces)
    fs = np.asarray(neuron.face_spine)
    keep = np.arange(len(faces))
    if centre is not None:
        inside = np.all(np.abs(verts[faces].mean(axis=1) - np.asarray(centre, float) / 1e3) <= half_width / 1e3, axis=1)
        keep = np.flatnonzero(inside)
        if not len(keep):
            raise InputError("no mesh faces within half_width of centre")
    if len(faces) > max_faces:
        rng = np.random.default_rng(0)
        shaft = np.flatnonzero(fs < 0)
        keep = np.concatenate([np.flatnonzero(fs >= 0),
                               rng.choice(shaft, max(0, max_faces - int((fs >= 0).sum())), replace=False)])
    mid = verts[faces[keep]].reshape(-1, 3).mean(axis=0)
    _, _, vt = np.linalg.svd(verts[faces[keep]].mean(axis=1) - mid, full_matrices=False)
    tri = verts[faces[keep]] - mid
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    n_sp = int(fs.max()) + 1 if (fs >= 0).any() else 0
    palette = plt.get_cmap("tab20")(np.arange(max(n_sp, 1)) % 20)[:, :3]
    base_rgb = np.where((fs[keep] >= 0)[:, None], palette[np.maximum(fs[keep], 0) % len(palette)], 0.72)
    fig, axes = plt.subplots(1, 2, figsize=(14, 7))
    spines = getattr(neuron, "spines", None)
    for ax, (i, j, k) in zip(axes, ((0, 1, 2), (0, 2, 1))):
        view = vt[[i, j]].T
        depth_axis = vt[k]
        depth = tri.mean(axis=1) @ depth_axis
        order = np.argsort(depth)
        shade = 0.35 + 0.65 * np.abs(normal @ depth_axis)
        polys = (tri @ view)[order]
        colours = np.clip(base_rgb[order] * shade[order, None], 0, 1)
        ax.add_collection(PolyCollection(polys, facecolors=colours, edgecolors="none"))
        if spines is not None and len(spines):
            shown = np.unique(fs[keep][fs[keep] >= 0])
            b = (spines.loc[spines.index.isin(shown), ["base_x", "base_y", "base_z"]].to_numpy(float) / 1e3
                 - mid) @ view
            ax.scatter(b[:, 0], b[:, 1], s=12, c="black", marker="x", zorder=5, label="spine base")
            ax.legend(loc="upper right")
        pts = (tri @ view).reshape(-1, 2)
        ax.set_xlim(pts[:, 0].min(), pts[:, 0].max())
        ax.set_ylim(pts[:, 1].min(), pts[:, 1].max())
        ax.set_aspect("equal")
        ax.set_xlabel(f"PC{i + 1} (µm)")
        ax.set_ylabel(f"PC{j + 1} (µm)")
    length = float(neuron.branches["length"].sum()) if len(neuron.branches) else 0.0
    n = len(spines) if spines is not None else 0
    fig.suptitle(title or f"{neuron.name}: {n} spines on {length:.1f} µm "
                 f"({n / length if length else float('nan'):.2f} per µm)")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
