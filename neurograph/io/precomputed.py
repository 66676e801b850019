"""Neuroglancer "precomputed" layers: read meshes and skeletons (writing: :mod:`.precomputed_write`).

Connectomes (MICrONS, H01, FlyWire, hemibrain) publish their segmentations as precomputed
layers: a folder (local, ``gs://``, ``s3://``, ``https://``) with an ``info`` JSON file and
mesh / skeleton sub-layers named in it. This module reads and writes them through
`cloud-volume <https://github.com/seung-lab/cloud-volume>`_ (optional extra
``pip install neurograph[cloud]``), so every layout cloud-volume knows is supported: legacy
meshes (``<id>:0`` manifests and fragments), multi-resolution Draco meshes (sharded or not)
and skeletons (sharded or not) with their vertex attributes.

Units. The precomputed format is defined in nanometres: the ``resolution`` of a scale is in
nm per voxel, legacy mesh vertices are in nm, and multi-resolution meshes and skeletons carry
a ``transform`` in their ``info`` that maps stored coordinates to nm (cloud-volume applies
it). Nothing is guessed: every coordinate returned here is in nm as the layer's ``info``
defines it, and the reader reports the ``info`` values it used.

Multi-resolution meshes are Draco-quantised by their writer (e.g. igneous'
``create_sharded_multires_mesh_from_unsharded_tasks``, used in the tests): they match the
source mesh to the quantisation step (a few nm), not bit for bit, and their octree chunks
split faces at chunk borders; legacy meshes are read exactly as stored.

Sources. ``precomputed://gs://bucket/seg``, ``gs://bucket/seg``, ``https://host/seg``,
``file:///data/seg``, ``precomputed://file:///data/seg`` or a local folder path holding an
``info`` file.

Failures. A segment that is not in the layer raises :class:`~neurograph.errors.InputError`;
a file that cannot be decoded raises :class:`~neurograph.errors.FormatError`; transient read
failures (connection resets, timeouts, HTTP 429/5xx) are retried with exponential backoff and,
when they persist, raise :class:`~neurograph.errors.SourceError`.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Mapping

import numpy as np

from ..codes import COMPARTMENT_CODES, SWC_OF_CODE  # noqa: F401  (also read from here)
from ..errors import FormatError, InputError, SourceError

#: URL schemes that name a precomputed layer (after an optional ``precomputed://`` prefix)
SCHEMES = ("precomputed://", "graphene://", "gs://", "s3://", "https://", "http://", "file://")
#: compartment label -> integer code of the ``compartment`` skeleton vertex attribute
#: vertex attributes neurograph writes into its skeletons: id -> (data type, meaning)
VERTEX_ATTRIBUTES = {
    "radius": ("float32", "skeleton radius at the vertex, nm (NaN written as 0)"),
    "vertex_types": ("uint8", "SWC type: 0 undefined, 1 soma, 2 axon, 3 (basal) dendrite, 4 apical"),
    "compartment": ("uint8", "compartment code, COMPARTMENT_CODES"),
    "branch": ("int32", "branch (graph node) id of the vertex; soma nodes are 0..n_somas-1"),
    "spine": ("uint16", "number of dendritic spines whose base is at this vertex"),
}
_MISSING_HINTS = ("missing", "do not exist", "does not exist", "not found", "no such")
_TRANSIENT_NAMES = {"ServiceUnavailable", "TooManyRequests", "InternalServerError", "GatewayTimeout", "BadGateway",
                    "DeadlineExceeded", "ConnectTimeout", "ReadTimeout", "ProtocolError", "RemoteDisconnected",
                    "IncompleteRead", "ChunkedEncodingError", "ConnectionError", "Timeout"}


def is_precomputed_source(source: Any) -> bool:
    """Whether ``source`` names a precomputed layer.

    Parameters
    ----------
    source : any
        A string with one of :data:`SCHEMES`, or a local folder holding an ``info`` file.

    Returns
    -------
    bool
    """
    if not isinstance(source, (str, os.PathLike)):
        return False
    text = os.fspath(source)
    if text.startswith(SCHEMES):
        return True
    return os.path.isdir(text) and os.path.isfile(os.path.join(text, "info"))


def layer_url(source: str | os.PathLike) -> str:
    """The cloud-volume path of a layer: ``precomputed://`` dropped, local folders as ``file://``.

    Parameters
    ----------
    source : str or PathLike
        Layer address (see the module docstring).

    Returns
    -------
    str
    """
    text = os.fspath(source)
    if text.startswith("precomputed://"):
        text = text[len("precomputed://"):]
    if "://" not in text:
        text = "file://" + os.path.abspath(os.path.expanduser(text))
    return text


def cloudvolume_module() -> Any:
    """The ``cloudvolume`` module (an optional dependency, imported on first use).

    Returns
    -------
    module
        ``cloudvolume``.

    Raises
    ------
    InputError
        cloud-volume is not installed: the message says what to install.
    """
    try:
        import cloudvolume
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError("reading or writing Neuroglancer precomputed layers needs cloud-volume: "
                         "pip install 'neurograph[cloud]' (or pip install cloud-volume)") from exc
    return cloudvolume


def is_transient(exc: BaseException) -> bool:
    """Whether a read failure is worth retrying (network trouble, throttling, server errors).

    Parameters
    ----------
    exc : BaseException

    Returns
    -------
    bool
        True for connection errors, timeouts and HTTP 408/429/5xx; False for missing files,
        decoding errors and neurograph's own errors.
    """
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, InputError)):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    names = {c.__name__ for c in type(exc).__mro__}
    if names & _TRANSIENT_NAMES:
        return True
    status = getattr(getattr(exc, "response", None), "status_code", None) or getattr(exc, "code", None)
    if isinstance(status, int) and (status in (408, 429) or 500 <= status < 600):
        return True
    return isinstance(exc, OSError) and type(exc).__module__.split(".")[0] in ("requests", "urllib3", "http")


def with_retries(func: Callable[[], Any], what: str, retries: int = 3, backoff: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> Any:
    """Call ``func``; retry transient failures (:func:`is_transient`) with exponential backoff.

    Parameters
    ----------
    func : callable()
        The read.
    what : str
        What is read, for the error message.
    retries : int, default 3
        Retries after the first attempt.
    backoff : float, default 1.0
        Seconds before the first retry; doubled each time (capped at 30 s).
    sleep : callable(seconds), default time.sleep

    Returns
    -------
    any
        What ``func`` returns.

    Raises
    ------
    SourceError
        The read still failed with a transient error after ``retries`` retries.
    Exception
        Any non-transient error of ``func``, unchanged.
    """
    attempt = 0
    while True:
        try:
            return func()
        except Exception as exc:
            if not is_transient(exc):
                raise
            if attempt >= retries:
                raise SourceError(f"{what}: still failing after {attempt + 1} attempts "
                                  f"({type(exc).__name__}: {exc}); check the network or the server, "
                                  "then re-run (a batch re-runs failed neurons with --retry-failed)") from exc
            sleep(min(backoff * 2 ** attempt, 30.0))
            attempt += 1


def open_layer(source: str | os.PathLike, retries: int = 3, backoff: float = 1.0, use_https: bool = True):
    """Open a precomputed layer with cloud-volume (reads its ``info``).

    Parameters
    ----------
    source : str or PathLike
        Layer address (module docstring).
    retries, backoff
        As in :func:`with_retries`.
    use_https : bool, default True
        Read ``gs://`` / ``s3://`` layers anonymously over HTTPS (public connectome data);
        False uses your cloud credentials.

    Returns
    -------
    cloudvolume.CloudVolume

    Raises
    ------
    InputError
        No layer (no ``info``) at ``source``, or cloud-volume is not installed.
    """
    cv = cloudvolume_module()
    url = layer_url(source)

    def _open():
        return cv.CloudVolume(url, progress=False, use_https=use_https, fill_missing=False)

    try:
        return with_retries(_open, f"opening {url}", retries, backoff)
    except SourceError:
        raise
    except Exception as exc:
        raise InputError(f"{source}: not a readable precomputed layer ({type(exc).__name__}: {exc}); it needs "
                         "an 'info' file (pass the layer folder, e.g. precomputed://gs://bucket/seg)") from exc


def segment_id_of(segment_id: Any) -> int:
    """``segment_id`` as a Python int, or an InputError unless it is an unsigned 64-bit integer.

    Parameters
    ----------
    segment_id : int-like
        A segment id as given (int, numpy integer, numeric string).

    Returns
    -------
    int

    Raises
    ------
    InputError
        Not an integer, or outside [0, 2**64).
    """
    try:
        value = int(segment_id)
    except (TypeError, ValueError) as exc:
        raise InputError(f"segment_id must be an integer (uint64), got {segment_id!r}") from exc
    if value < 0 or value >= 2**64:
        raise InputError(f"segment_id must be an unsigned 64-bit integer, got {segment_id!r}")
    return value


def _fail(exc: Exception, what: str, layer: str) -> Exception:
    """The neurograph error for a failed read (missing segment vs undecodable data)."""
    if isinstance(exc, (InputError, SourceError)):
        return exc
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(exc).__name__}: {exc}").strip()
    if any(h in text.lower() for h in _MISSING_HINTS) or type(exc).__name__ == "MeshMissingError":
        return InputError(f"{what} is not in the layer {layer} ({text.splitlines()[0][:200]}); check the id "
                          "and the layer (is it the right materialisation version?)")
    return FormatError(f"{what} in {layer} could not be decoded ({' '.join(text.split())[:300]}); the "
                       "file is corrupt or truncated: re-download or re-generate it")


def _stable_merge(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge bit-identical vertices, keeping the first occurrences in their order."""
    _, first, inverse = np.unique(vertices, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return vertices[first[order]], rank[inverse.ravel()][faces]


def layer_info(cv) -> dict:
    """The units-relevant parts of an opened layer's ``info`` (resolution nm, mesh type, transforms).

    Parameters
    ----------
    cv : cloudvolume.CloudVolume

    Returns
    -------
    dict
        ``resolution_nm`` (nm per voxel of scale 0), ``mesh`` and ``skeletons`` (sub-layer
        names or None), ``mesh_type`` (``@type`` of the mesh info), ``sharded`` (mesh).
    """
    info = cv.info
    out = {"resolution_nm": [float(r) for r in info["scales"][0]["resolution"]],
           "mesh": info.get("mesh"), "skeletons": info.get("skeletons"), "mesh_type": None, "sharded": False}
    if out["mesh"]:
        meta = cv.mesh.meta.info or {}
        out["mesh_type"] = meta.get("@type", "neuroglancer_legacy_mesh")
        out["sharded"] = bool(meta.get("sharding"))
        if "transform" in meta:
            out["mesh_transform"] = [float(t) for t in meta["transform"]]
    return out


def read_mesh(source: Any, segment_id: Any, lod: int = 0, retries: int = 3, backoff: float = 1.0,
              layer=None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read one segment's mesh from a precomputed layer, in nm.

    Parameters
    ----------
    source : str or PathLike
        Layer address (module docstring).
    segment_id : int
        Segment id (uint64).
    lod : int, default 0
        Level of detail of a multi-resolution mesh (0 = finest); ignored for legacy meshes.
    retries, backoff
        Transient failures (:func:`with_retries`).
    layer : cloudvolume.CloudVolume, optional
        An already opened layer (saves re-reading ``info``).

    Returns
    -------
    vertices : (n, 3) float64 ndarray
        nm, as the layer defines them (legacy meshes store nm; multi-resolution meshes are
        mapped to nm by their ``info`` transform). Fragments are concatenated in stored
        order; the chunks of a multi-resolution mesh have their bit-identical boundary
        vertices merged.
    faces : (m, 3) int64 ndarray
    meta : dict
        :func:`layer_info` plus ``source``, ``segment_id``, ``lod``.

    Raises
    ------
    InputError
        The layer has no meshes, or the segment is not in it.
    FormatError
        The mesh data cannot be decoded (corrupt or truncated file).
    SourceError
        Transient read failures that persisted.
    """
    sid = segment_id_of(segment_id)
    cv = layer if layer is not None else open_layer(source, retries, backoff)
    meta = layer_info(cv)
    if not meta["mesh"]:
        raise InputError(f"{source}: the layer has no meshes (no 'mesh' key in its info)")
    multires = meta["mesh_type"] == "neuroglancer_multilod_draco"
    what = f"mesh of segment {sid}"

    def _get():
        if multires:
            return cv.mesh.get([sid], lod=lod)
        return cv.mesh.get([sid], remove_duplicate_vertices=False, fuse=True)

    try:
        got = with_retries(_get, f"reading the {what} from {source}", retries, backoff)
    except Exception as exc:
        raise _fail(exc, what, str(source)) from exc
    mesh = got.get(sid) if isinstance(got, Mapping) else got
    if isinstance(mesh, list):
        mesh = mesh[0] if len(mesh) == 1 else None
    if mesh is None or len(mesh.faces) == 0:
        raise InputError(f"{what} is not in the layer {source} (no fragments found)")
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64).reshape(-1, 3)
    if multires:
        vertices, faces = _stable_merge(vertices, faces)
    meta.update(source=str(source), segment_id=sid, lod=int(lod) if multires else 0)
    return vertices, faces, meta


def read_skeleton(source: Any, segment_id: Any, retries: int = 3, backoff: float = 1.0,
                  layer=None) -> dict:
    """Read one segment's skeleton from a precomputed layer, in nm.

    Parameters
    ----------
    source : str or PathLike
        Layer address (module docstring); its ``info`` names a ``skeletons`` sub-layer.
    segment_id : int
        Segment id (uint64).
    retries, backoff
        Transient failures (:func:`with_retries`).
    layer : cloudvolume.CloudVolume, optional
        An already opened layer.

    Returns
    -------
    dict
        ``vertices`` (n, 3) float64 nm (the skeleton ``info`` transform applied), ``edges``
        (k, 2) int64, ``attributes`` (vertex attribute id -> (n,) or (n, c) array, as listed
        in the skeleton ``info``), ``info`` (the skeleton ``info``), ``source``, ``segment_id``.

    Raises
    ------
    InputError
        No skeletons in the layer, or the segment has none.
    FormatError
        The skeleton cannot be decoded.
    SourceError
        Transient read failures that persisted.
    """
    sid = segment_id_of(segment_id)
    cv = layer if layer is not None else open_layer(source, retries, backoff)
    if not cv.info.get("skeletons"):
        raise InputError(f"{source}: the layer has no skeletons (no 'skeletons' key in its info)")
    what = f"skeleton of segment {sid}"
    try:
        skel = with_retries(lambda: cv.skeleton.get(sid), f"reading the {what} from {source}", retries, backoff)
    except Exception as exc:
        raise _fail(exc, what, str(source)) from exc
    info = dict(cv.skeleton.meta.info or {})
    attributes = {}
    for attr in info.get("vertex_attributes") or []:
        name = attr["id"]
        value = getattr(skel, name, None)
        if value is None and name == "radius":
            value = getattr(skel, "radii", None)
        if value is not None:
            attributes[name] = np.asarray(value)
    vertices = np.asarray(skel.vertices, dtype=np.float64)
    if len(vertices) == 0:
        raise InputError(f"{what} in {source} has no vertices")
    return {"vertices": vertices, "edges": np.asarray(skel.edges, dtype=np.int64).reshape(-1, 2),
            "attributes": attributes, "info": info, "source": str(source), "segment_id": sid}
