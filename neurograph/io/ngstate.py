"""Neuroglancer viewer states (JSON) for layers written by :mod:`neurograph.io.precomputed`.

The state opens the layer as one segmentation layer with the chosen segments visible, in
nm, 3-D view, skeletons coloured by their ``compartment`` vertex attribute through a
skeleton shader. It is built with the ``neuroglancer`` package when it is installed
(``neuroglancer.ViewerState``), otherwise as the same documented JSON by hand.

Neuroglancer reads layers over HTTP(S) or from cloud buckets, not from ``file://``: serve
the layer folder (e.g. ``npx http-server LAYER -p 9000 --cors``, or neuroglancer's
``cors_webserver.py``) and pass ``url="precomputed://http://localhost:9000"``; paste the
state into the viewer (``File > Import`` / the JSON state editor) or append it to the
viewer URL after ``#!``.
"""

from __future__ import annotations

import json
import os
from typing import Mapping, Sequence

import numpy as np

from .paths import atomic_write_bytes
from ..codes import COMPARTMENT_CODES


def compartment_shader(colors: Mapping[str, Sequence[float]]) -> str:
    """A Neuroglancer skeleton shader colouring vertices by their ``compartment`` code.

    Parameters
    ----------
    colors : mapping of str to (3,) or (4,) floats
        Compartment label -> RGB(A) in 0-1 (labels of :data:`~neurograph.io.precomputed.COMPARTMENT_CODES`).

    Returns
    -------
    str
        GLSL source for the layer's ``skeletonShader``.
    """
    lines = ["// neurograph: skeleton coloured by compartment (vertex attribute 'compartment')",
             "void main() {", "  int c = int(compartment + 0.5);", "  vec3 rgb = vec3(0.6, 0.6, 0.6);"]
    for label, code in COMPARTMENT_CODES.items():
        if label in colors and code > 0:
            r, g, b = (float(v) for v in list(colors[label])[:3])
            lines.append(f"  if (c == {code}) rgb = vec3({r:.3f}, {g:.3f}, {b:.3f});  // {label}")
    lines += ["  emitRGB(rgb);", "}"]
    return "\n".join(lines)


def viewer_state(url: str, segments: Mapping[int, str], position_nm: Sequence[float],
                 colors: Mapping[str, Sequence[float]], mesh: bool = True, name: str = "neurograph") -> dict:
    """The Neuroglancer state (a JSON-able dict) showing segments of a layer.

    Parameters
    ----------
    url : str
        Layer source, e.g. ``precomputed://http://localhost:9000`` or ``precomputed://gs://...``.
    segments : mapping of int to str
        Segment ids to show (names are in the layer's segment properties).
    position_nm : (3,) floats
        Centre of the view, nm.
    colors : mapping of str to RGB(A)
        Compartment colours for :func:`compartment_shader`.
    mesh : bool, default True
        Show meshes (semi-transparent) besides the skeletons.
    name : str, default "neurograph"
        Layer name.

    Returns
    -------
    dict
        Neuroglancer state: ``dimensions`` (x, y, z in nm), ``position``, one segmentation
        ``layer`` with ``segments``, ``skeletonShader`` and ``objectAlpha``, ``layout`` 3d.
    """
    shader = compartment_shader(colors)
    ids = [str(int(s)) for s in segments]
    try:
        import neuroglancer
    except ImportError:
        neuroglancer = None
    if neuroglancer is not None:
        state = neuroglancer.ViewerState()
        state.dimensions = neuroglancer.CoordinateSpace(names=["x", "y", "z"], units="nm", scales=[1, 1, 1])
        state.position = [float(p) for p in position_nm]
        state.layers.append(name=name, layer=neuroglancer.SegmentationLayer(
            source=url, segments=[int(s) for s in ids], skeleton_shader=shader,
            object_alpha=0.35 if mesh else 0.0))
        state.layout = "3d"
        state.projection_scale = 500000
        return state.to_json()
    return {"dimensions": {"x": [1e-9, "m"], "y": [1e-9, "m"], "z": [1e-9, "m"]},
            "position": [float(p) for p in position_nm],
            "layers": [{"type": "segmentation", "source": url, "segments": ids, "skeletonShader": shader,
                        "objectAlpha": 0.35 if mesh else 0.0, "name": name}],
            "layout": "3d", "projectionScale": 500000}


def write_state(folder: str | os.PathLike, segments: Mapping[int, str], position_nm: Sequence[float],
                colors: Mapping[str, Sequence[float]], mesh: bool = True, url: str | None = None,
                filename: str = "neuroglancer_state.json") -> str:
    """Write :func:`viewer_state` as ``<folder>/<filename>``.

    Parameters
    ----------
    folder : str or PathLike
        Layer folder.
    segments, position_nm, colors, mesh
        As in :func:`viewer_state`.
    url : str, optional
        Layer source in the state; default ``precomputed://file://<folder>`` (replace it by
        the address where the folder is served, see the module docstring).
    filename : str, default "neuroglancer_state.json"

    Returns
    -------
    str
        Path of the state file.
    """
    folder = os.path.abspath(os.fspath(folder))
    url = url or f"precomputed://file://{folder}"
    state = viewer_state(url, segments, np.asarray(position_nm, float), colors, mesh=mesh)
    path = os.path.join(folder, filename)
    atomic_write_bytes(path, json.dumps(state, indent=1).encode())
    return path
