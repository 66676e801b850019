"""Write Neuroglancer precomputed layers: skeletons with vertex attributes, legacy meshes, names.

The writing half of :mod:`neurograph.io.precomputed` (which documents the format, units and
compartment codes): a local layer is created once (:func:`create_layer`), segments are added
with cloud-volume's own writer (:func:`write_segment`), and the layer is finished with its
segment names (:func:`update_segment_names`) and bounds (:func:`fit_bounds`). Coordinates
are nm.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np

from ..codes import COMPARTMENT_CODES
from ..errors import InputError
from .paths import atomic_write_bytes
from .precomputed import (
    VERTEX_ATTRIBUTES,
    cloudvolume_module,
    segment_id_of,
    open_layer,
)


def create_layer(folder: str | os.PathLike, bounds_nm: Sequence[Sequence[float]] | None = None, mesh: bool = True,
                 attributes: Mapping[str, str] | None = None, resolution_nm: Sequence[float] = (1.0, 1.0, 1.0)):
    """Create (or open) a local precomputed segmentation layer holding skeletons and meshes.

    The top ``info`` describes an (empty) uint64 segmentation volume covering ``bounds_nm``,
    so cloud-volume and Neuroglancer open the folder as a layer; ``skeletons/info`` lists the
    vertex attributes; ``mesh/info`` declares legacy meshes. Coordinates are nm (identity
    skeleton transform).

    Parameters
    ----------
    folder : str or PathLike
        Output folder (created). An existing layer is opened as it is (its bounds are
        set afterwards with :func:`fit_bounds`).
    bounds_nm : (2, 3) floats, optional
        Lower and upper corner of the data, nm; default +-2**30 nm (to be fitted later).
    mesh : bool, default True
        Declare a ``mesh`` sub-layer.
    attributes : mapping of str to str, optional
        Vertex attribute id -> data type; default :data:`VERTEX_ATTRIBUTES`.
    resolution_nm : (3,) floats, default (1, 1, 1)
        nm per voxel of the declared volume.

    Returns
    -------
    cloudvolume.CloudVolume
    """
    cvmod = cloudvolume_module()
    folder = os.path.abspath(os.fspath(folder))
    url = "file://" + folder
    if os.path.isfile(os.path.join(folder, "info")):
        return cvmod.CloudVolume(url, progress=False)
    if bounds_nm is None:
        bounds_nm = (np.full(3, -2.0**30), np.full(3, 2.0**30))
    res = np.asarray(resolution_nm, float)
    lo = np.floor(np.asarray(bounds_nm[0], float) / res).astype(np.int64)
    hi = np.ceil(np.asarray(bounds_nm[1], float) / res).astype(np.int64) + 1
    info = cvmod.CloudVolume.create_new_info(
        num_channels=1, layer_type="segmentation", data_type="uint64", encoding="raw",
        resolution=res.tolist(), voxel_offset=lo.tolist(), volume_size=(hi - lo).tolist(),
        chunk_size=[64, 64, 64], skeletons="skeletons", mesh="mesh" if mesh else None)
    if not mesh:
        info.pop("mesh", None)
    os.makedirs(folder, exist_ok=True)
    cv = cvmod.CloudVolume(url, info=info, progress=False)
    cv.commit_info()
    attrs = dict(attributes or {k: v[0] for k, v in VERTEX_ATTRIBUTES.items()})
    cv.skeleton.meta.info["vertex_attributes"] = [{"id": k, "data_type": t, "num_components": 1}
                                                   for k, t in attrs.items()]
    cv.skeleton.meta.info["neurograph_compartment_codes"] = COMPARTMENT_CODES
    cv.skeleton.meta.commit_info()
    if mesh:
        cv.mesh.meta.commit_info()
    return cvmod.CloudVolume(url, progress=False)


def write_segment(cv, segment_id: int, vertices: np.ndarray, edges: np.ndarray,
                  attributes: Mapping[str, np.ndarray], mesh: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Write one segment's skeleton (and mesh) into a layer made by :func:`create_layer`.

    Parameters
    ----------
    cv : cloudvolume.CloudVolume
        From :func:`create_layer`.
    segment_id : int
        uint64 id.
    vertices : (n, 3) floats
        Skeleton vertices, nm (stored as float32).
    edges : (k, 2) ints
        Skeleton edges (vertex indices).
    attributes : mapping of str to (n,) arrays
        Every vertex attribute declared in the layer's skeleton ``info``.
    mesh : (vertices nm, faces), optional
        Written as a legacy mesh (one fragment, gzip-compressed).
    """
    cvmod = cloudvolume_module()
    sid = segment_id_of(segment_id)
    declared = cv.skeleton.meta.info.get("vertex_attributes") or []
    missing = [a["id"] for a in declared if a["id"] not in attributes]
    if missing:
        raise InputError(f"segment {sid}: vertex attributes {missing} are declared in the layer but not given")
    extra = [dict(a) for a in declared]
    skel = cvmod.Skeleton(np.asarray(vertices, np.float32), np.asarray(edges, np.uint32).reshape(-1, 2),
                          radii=np.asarray(attributes.get("radius", np.zeros(len(vertices))), np.float32),
                          vertex_types=np.asarray(attributes.get("vertex_types", np.zeros(len(vertices))), np.uint8),
                          segid=sid, extra_attributes=extra)
    for a in declared:
        if a["id"] not in ("radius", "vertex_types"):
            setattr(skel, a["id"], np.asarray(attributes[a["id"]], dtype=a["data_type"]))
    cv.skeleton.upload(skel)
    if mesh is not None:
        cv.mesh.put(cvmod.Mesh(np.asarray(mesh[0], np.float32), np.asarray(mesh[1], np.uint32), segid=sid),
                    compress=True)


def skeleton_bounds(folder: str | os.PathLike, segment_ids: Sequence[int]) -> np.ndarray | None:
    """Lower and upper corner (nm) of the skeletons of ``segment_ids`` in a local layer.

    Parameters
    ----------
    folder : str or PathLike
        Layer folder.
    segment_ids : sequence of int

    Returns
    -------
    (2, 3) float ndarray or None
        None when none of the skeletons can be read.
    """
    cv = open_layer(folder, retries=0)
    lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
    for sid in segment_ids:
        try:
            v = np.asarray(cv.skeleton.get(int(sid)).vertices, float)
        except Exception:  # a segment without skeleton: nothing to bound
            continue
        if len(v):
            lo, hi = np.minimum(lo, v.min(axis=0)), np.maximum(hi, v.max(axis=0))
    return None if not np.all(np.isfinite(lo)) else np.vstack([lo, hi])


def update_segment_names(folder: str | os.PathLike, names: Mapping[int, str]) -> dict[int, str]:
    """Add segment names to a local layer's segment properties (shown by Neuroglancer).

    Writes ``segment_properties/info`` (``neuroglancer_segment_properties``, one ``label``
    property) and names it in the layer ``info``; names already listed are kept.

    Parameters
    ----------
    folder : str or PathLike
        Layer folder made by :func:`create_layer`.
    names : mapping of int to str
        Segment id -> neuron name.

    Returns
    -------
    dict of int to str
        Every segment name now listed, sorted by id.
    """
    import json

    folder = os.path.abspath(os.fspath(folder))
    props = os.path.join(folder, "segment_properties", "info")
    listed: dict[int, str] = {}
    if os.path.isfile(props):
        with open(props) as f:
            old = json.load(f)["inline"]
        values = next((p["values"] for p in old["properties"] if p["id"] == "label"), [])
        listed = {int(i): str(v) for i, v in zip(old["ids"], values)}
    listed.update({int(k): str(v) for k, v in names.items()})
    listed = dict(sorted(listed.items()))
    os.makedirs(os.path.dirname(props), exist_ok=True)
    info = {"@type": "neuroglancer_segment_properties",
            "inline": {"ids": [str(k) for k in listed],
                       "properties": [{"id": "label", "type": "label", "values": list(listed.values())}]}}
    _write_json(props, info)
    top = os.path.join(folder, "info")
    with open(top) as f:
        layer = json.load(f)
    if layer.get("segment_properties") != "segment_properties":
        layer["segment_properties"] = "segment_properties"
        _write_json(top, layer)
    return listed


def fit_bounds(folder: str | os.PathLike, bounds_nm: np.ndarray) -> None:
    """Set the declared volume of a local layer to cover ``bounds_nm`` exactly (nm, (2, 3)).

    Parameters
    ----------
    folder : str or PathLike
        Layer folder made by :func:`create_layer`.
    bounds_nm : (2, 3) floats
        Lower and upper corner, nm.
    """
    import json

    top = os.path.join(os.path.abspath(os.fspath(folder)), "info")
    with open(top) as f:
        layer = json.load(f)
    scale = layer["scales"][0]
    res = np.asarray(scale["resolution"], float)
    lo = np.floor(np.asarray(bounds_nm[0], float) / res).astype(np.int64)
    hi = np.ceil(np.asarray(bounds_nm[1], float) / res).astype(np.int64) + 1
    scale["voxel_offset"], scale["size"] = lo.tolist(), (hi - lo).tolist()
    _write_json(top, layer)


def _write_json(path: str, data: dict) -> None:
    """Write JSON atomically (a reader never sees half a file)."""
    import json

    atomic_write_bytes(path, json.dumps(data, indent=1).encode())
