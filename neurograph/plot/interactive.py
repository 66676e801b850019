"""Interactive 3D view (plotly), saved as one standalone HTML file."""

from __future__ import annotations

import os

import numpy as np

from ..errors import NeurographError
from .colors import node_colors


def _rgb(c) -> str:
    return f"rgb({int(255 * c[0])},{int(255 * c[1])},{int(255 * c[2])})"


def plot_3d(neuron, color_by: str = "branch", max_faces: int = 200_000, path: str | os.PathLike | None = None,
            opacity: float = 1.0):
    """Interactive 3D view of the mesh (or skeleton), somata, spines and synapses.

    Parameters
    ----------
    neuron : Neuron
    color_by : str, default "branch"
        As in :func:`neurograph.plot.plot_neuron`.
    max_faces : int, default 200000
        Larger meshes are drawn from a random subset of faces.
    path : str or PathLike, optional
        Write a standalone HTML file (plotly.js embedded, opens offline).
    opacity : float, default 1.0

    Returns
    -------
    plotly.graph_objects.Figure
        Coordinates in µm.
    """
    try:
        import plotly.graph_objects as go
    except ImportError as exc:  # pragma: no cover - plotly is in the default install
        raise NeurographError("plot_3d needs plotly: pip install plotly") from exc
    colors, _ = node_colors(neuron, color_by)
    traces = []
    if neuron.mesh is not None and neuron.face_branch is not None:
        v = np.asarray(neuron.mesh.vertices) / 1e3
        f = np.asarray(neuron.mesh.faces)
        face_color = colors[neuron.face_branch]
        if len(f) > max_faces:
            keep = np.random.default_rng(0).choice(len(f), max_faces, replace=False)
            f, face_color = f[keep], face_color[keep]
        traces.append(go.Mesh3d(x=v[:, 0], y=v[:, 1], z=v[:, 2], i=f[:, 0], j=f[:, 1], k=f[:, 2],
                                facecolor=[_rgb(c) for c in face_color], opacity=opacity, flatshading=True,
                                name="mesh", hoverinfo="skip"))
    else:
        sk = neuron.skeleton
        has = np.flatnonzero(sk.parent >= 0)
        xyz = sk.vertices / 1e3
        for b in np.unique(neuron.node_branch[has]):
            nodes = has[neuron.node_branch[has] == b]
            seg = np.full((3 * len(nodes), 3), np.nan)
            seg[0::3], seg[1::3] = xyz[nodes], xyz[sk.parent[nodes]]
            traces.append(go.Scatter3d(x=seg[:, 0], y=seg[:, 1], z=seg[:, 2], mode="lines",
                                       line=dict(color=_rgb(colors[b]), width=3), name=f"branch {b}",
                                       showlegend=False))
    for i, s in enumerate(neuron.somas):
        c = s.center / 1e3
        traces.append(go.Scatter3d(x=[c[0]], y=[c[1]], z=[c[2]], mode="markers", name=f"soma {i}",
                                   marker=dict(size=8, color="black"),
                                   text=[f"soma {i}: radius {s.radius / 1e3:.2f} µm"]))
    spines = getattr(neuron, "spines", None)
    if spines is not None and len(spines):
        cols = [c for c in ("x", "y", "z") if c in spines.columns] or []
        if len(cols) < 3:
            cols = [c for c in ("base_x", "base_y", "base_z") if c in spines.columns]
        if len(cols) == 3:
            p = spines[cols].to_numpy(float) / 1e3
            traces.append(go.Scatter3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], mode="markers", name="spines",
                                       marker=dict(size=2, color="gold")))
    syn = getattr(neuron, "synapses", None)
    if syn is not None and len(syn) and {"x", "y", "z", "direction"} <= set(syn.columns):
        for direction, color in (("pre", "black"), ("post", "darkorange")):
            m = syn[syn["direction"] == direction]
            if len(m):
                p = m[["x", "y", "z"]].to_numpy(float) / 1e3
                traces.append(go.Scatter3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], mode="markers",
                                           name=f"{direction} synapses", marker=dict(size=3, color=color)))
    fig = go.Figure(traces)
    fig.update_layout(title=f"{neuron.name}: coloured by {color_by}",
                      scene=dict(aspectmode="data", xaxis_title="x (µm)", yaxis_title="y (µm)",
                                 zaxis_title="z (µm)"), margin=dict(l=0, r=0, t=40, b=0))
    if path is not None:
        fig.write_html(os.fspath(path), include_plotlyjs=True)
    return fig
