"""Load neuron meshes into nanometres, with clear errors for broken input."""

from __future__ import annotations

import os
import re
import warnings
from typing import Any, Sequence

import numpy as np
import trimesh

from ..errors import MeshError
from .units import check_extent, nm_per_unit, resolve_unit

MESH_SUFFIXES = (".ply", ".obj", ".off", ".stl")


def scale_vector(voxel_size: float | Sequence[float], error: type[Exception] = MeshError) -> np.ndarray:
    """nm per unit along x, y, z from one number or three.

    Parameters
    ----------
    voxel_size : float or (3,) floats
        nm per coordinate unit.
    error : exception type, default MeshError
        Raised (a :class:`~neurograph.errors.InputError` subclass) for a bad value.

    Returns
    -------
    (3,) float ndarray
    """
    try:
        scale = np.broadcast_to(np.asarray(voxel_size, dtype=float), (3,)).copy()
    except (TypeError, ValueError):
        raise error(f"voxel_size must be one number or three (nm per unit along x, y, z), got {voxel_size!r}") \
            from None
    if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise error(f"voxel_size must be positive and finite, got {voxel_size!r}")
    return scale


def _read_file(path: str) -> tuple[np.ndarray, np.ndarray]:
    if not os.path.exists(path):
        raise MeshError(f"mesh file not found: {path}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in MESH_SUFFIXES:
        raise MeshError(f"{path}: unsupported mesh format {suffix!r}; use one of {MESH_SUFFIXES}")
    if os.path.getsize(path) == 0:
        raise MeshError(f"{path}: the file is empty")
    if suffix == ".off":
        fast = _read_plain_off(path)
    elif suffix == ".obj":
        fast = _read_plain_obj(path)
        if fast is None:
            _refuse_zero_based_obj(path)
    else:
        fast = _read_direct(path, suffix)
    if fast is not None:
        return fast
    try:
        loaded = trimesh.load(path, process=False, force="mesh")
    except Exception as exc:  # trimesh raises many types for corrupt files
        raise MeshError(f"{path}: could not be read as a {suffix} mesh ({type(exc).__name__}: {exc}). "
                        "Check that the file is complete and not truncated.") from exc
    if not hasattr(loaded, "faces") or len(getattr(loaded, "faces", [])) == 0:
        raise MeshError(f"{path}: the file holds no triangles (point cloud, empty or truncated file)")
    return np.asarray(loaded.vertices), np.asarray(loaded.faces)


def _read_direct(path: str, suffix: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Vertices and triangles of a PLY or STL file from trimesh's own reader for the format,
    without ``trimesh.load``'s scene around it (a scene built, dumped, copied and hashed: 1.4-1.8 s
    of a 1.3M-face binary PLY against 0.01 s, 3.6 s of an STL against 0.5 s; the same arrays). None
    for another format or anything unusual (no triangles, only quads, a reader error): trimesh.load
    then reads it, with its checks and messages. Mixed polygons come back triangulated, as from
    trimesh.load."""
    from trimesh.exchange import ply, stl

    loader = {".ply": ply.load_ply, ".stl": stl.load_stl}.get(suffix)
    if loader is None:
        return None
    try:
        with open(path, "rb") as fh:
            kwargs = loader(fh, skip_materials=True) if suffix == ".ply" else loader(fh)  # no texture images
        vertices, faces = np.asarray(kwargs["vertices"]), np.asarray(kwargs["faces"])
    except Exception:  # let trimesh.load raise its own, clearer error
        return None
    if vertices.ndim != 2 or vertices.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3 or not len(faces):
        return None
    return vertices, faces


def _numbers(block: bytes, dtype: type) -> np.ndarray | None:
    """The whitespace-separated numbers of ``block`` parsed in C; None at anything else (numpy
    warns and stops there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return np.fromstring(block.decode("ascii"), dtype=dtype, sep=" ")
        except (DeprecationWarning, ValueError, UnicodeDecodeError):
            return None


def _read_plain_obj(path: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Vertices and triangles of a plain OBJ file parsed in C: a header of comments and at most one
    ``o``/``g`` line, then only ``v x y z`` lines, then only ``f a b c`` lines (positive indices,
    every vertex used), as trimesh and navis write them and the hemibrain meshes come. The same
    arrays as trimesh's line-by-line reader, 2-3x faster (1.0-1.2 s against 3.2 s at 1.3M faces).
    None for anything else (normals, texture indices, polygons, several objects, CRLF, unused
    vertices, which trimesh drops): trimesh then reads it."""
    with open(path, "rb") as fh:
        text = fh.read()
    if b"\r" in text:
        return None
    pos_v = 0 if text.startswith(b"v ") else text.find(b"\nv ") + 1
    pos_f = text.find(b"\nf ", pos_v) + 1
    if (pos_v == 0 and not text.startswith(b"v ")) or pos_f <= pos_v:
        return None
    names = [ln for ln in text[:pos_v].split(b"\n") if ln.strip() and not ln.lstrip().startswith(b"#")]
    if len(names) > 1 or any(not ln.startswith((b"o ", b"g ")) for ln in names):
        return None
    v_block, f_block = text[pos_v:pos_f - 1], text[pos_f:].rstrip()
    n_v, n_f = v_block.count(b"\n") + 1, f_block.count(b"\n") + 1
    if v_block.count(b"\nv ") != n_v - 1 or f_block.count(b"\nf ") != n_f - 1:
        return None  # another kind of line among the vertices or the faces
    # a sentinel at each line's start (NaN, 0: never a coordinate or an index here), so that a
    # line with too few numbers and one with too many cannot make up the count together
    vertices = _numbers(v_block.replace(b"v ", b" nan "), np.float64)
    faces = _numbers(f_block.replace(b"f ", b" 0 "), np.int64)
    if vertices is None or faces is None or vertices.size != 4 * n_v or faces.size != 4 * n_f:
        return None
    vertices, faces = vertices.reshape(n_v, 4), faces.reshape(n_f, 4)
    if np.isnan(vertices).sum() != n_v or not np.isnan(vertices[:, 0]).all() or (faces[:, 0] != 0).any():
        return None
    if (faces[:, 1:] == 0).any():
        raise MeshError(_ZERO_BASED.format(path=path))
    vertices, faces = np.ascontiguousarray(vertices[:, 1:]), faces[:, 1:] - 1
    if faces.min() < 0 or faces.max() >= n_v or not np.bincount(faces.ravel(), minlength=n_v).all():
        return None
    return vertices, faces


_ZERO_BASED = ("{path}: a face uses vertex index 0, but OBJ indices start at 1 (a file written with 0-based "
               "indices, e.g. from numpy without +1): every face would join the wrong vertices; write the faces "
               "as index + 1")
#: a field that is 0 or starts with vertex index 0 ("0", "0/1/1", "0//1"); checked for a face line
_ZERO_FIELD = re.compile(rb"[ \t]0(?=[/ \t\r\n]|$)")


def _refuse_zero_based_obj(path: str) -> None:
    """A MeshError for an OBJ file with vertex index 0 on a face line: trimesh would read index 0
    as the last vertex (a negative index) and every face of a 0-based file would be wrong."""
    with open(path, "rb") as fh:
        text = fh.read()
    for match in _ZERO_FIELD.finditer(text):  # rare outside faces: coordinates are written "0.0"
        line = text.rfind(b"\n", 0, match.start()) + 1
        if text[line:line + 2] in (b"f ", b"f\t"):
            raise MeshError(_ZERO_BASED.format(path=path))


def _read_plain_off(path: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Vertices and triangles of a plain ASCII OFF file (no comments, colours or polygons),
    parsed by numpy in one pass: the same arrays as trimesh's line-by-line reader, ~10x
    faster. None for anything else (trimesh then reads it, with its checks)."""
    with open(path, "rb") as fh:
        text = fh.read()
    lines = text.split(b"\n", 2)
    if len(lines) < 3 or lines[0].strip() != b"OFF" or b"#" in text:
        return None
    counts = lines[1].split()
    if len(counts) < 2 or not all(c.isdigit() for c in counts[:2]):
        return None
    n_v, n_f = int(counts[0]), int(counts[1])
    body = lines[2].split(b"\n")
    if len(body) < n_v + n_f or any(ln.strip() for ln in body[n_v + n_f:]):
        return None
    try:
        vertices = np.array(b" ".join(body[:n_v]).split(), dtype=np.float64)
        faces = np.array(b" ".join(body[n_v:n_v + n_f]).split(), dtype=np.int64)
    except ValueError:
        return None
    if vertices.size != 3 * n_v or faces.size != 4 * n_f:
        return None
    faces = faces.reshape(n_f, 4)
    if n_f == 0 or (faces[:, 0] != 3).any() or faces[:, 1:].min() < 0 or faces[:, 1:].max() >= n_v:
        return None
    return vertices.reshape(n_v, 3), np.ascontiguousarray(faces[:, 1:])


def _as_arrays(source: Any) -> tuple[np.ndarray, np.ndarray, str]:
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        vertices, faces = _read_file(path)
        return vertices, faces, os.path.splitext(os.path.basename(path))[0]
    if hasattr(source, "vertices") and hasattr(source, "faces"):
        return np.asarray(source.vertices), np.asarray(source.faces), "mesh"
    if isinstance(source, (tuple, list)) and len(source) == 2:
        return np.asarray(source[0]), np.asarray(source[1]), "mesh"
    raise MeshError(f"cannot read a mesh from {type(source).__name__}: pass a file path "
                    f"({', '.join(MESH_SUFFIXES)}), a trimesh.Trimesh or a (vertices, faces) pair")


def validate_arrays(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check vertex and face arrays and return them as float64 / int64.

    Parameters
    ----------
    vertices : (n, 3) array-like
        Vertex coordinates (any unit; not scaled here).
    faces : (m, 3) array-like
        Triangle vertex indices (integers, or floats with integer values).

    Returns
    -------
    vertices : (n, 3) float64 ndarray
    faces : (m, 3) int64 ndarray

    Raises
    ------
    MeshError
        Empty arrays, wrong shapes, NaN/inf coordinates, face indices out of range or a
        mesh whose faces all have zero area.
    """
    try:
        vertices = np.asarray(vertices, dtype=np.float64)
        faces = np.asarray(faces)
    except (TypeError, ValueError) as exc:
        raise MeshError(f"mesh arrays are not numeric: {exc}") from exc
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise MeshError(f"vertices must be a non-empty (n, 3) array, got shape {vertices.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise MeshError(f"faces must be a non-empty (m, 3) array of triangles, got shape {faces.shape}")
    if not np.issubdtype(faces.dtype, np.integer):
        if not np.all(np.isfinite(faces)) or np.any(faces != np.round(faces)):
            raise MeshError("face indices must be integers")
    faces = faces.astype(np.int64)
    bad = ~np.isfinite(vertices).all(axis=1)
    if bad.any():
        raise MeshError(f"{bad.sum()} of {len(vertices)} vertices have NaN or infinite coordinates; "
                        "fix or drop them before loading")
    check_face_indices(faces, len(vertices))
    if not _any_positive_area(vertices, faces):
        raise MeshError("every face of the mesh has zero area: nothing to analyse")
    return vertices, faces


def check_face_indices(faces: np.ndarray, n_vertices: int) -> None:
    """Refuse a face list that points outside its ``n_vertices`` vertices.

    Parameters
    ----------
    faces : (m, 3) int ndarray
        Triangles (may be empty).
    n_vertices : int
        Number of vertices.

    Raises
    ------
    MeshError
        A face index outside ``[0, n_vertices)``.
    """
    if len(faces) and (faces.min() < 0 or faces.max() >= n_vertices):
        raise MeshError(f"face indices must lie in [0, {n_vertices - 1}], found "
                        f"[{faces.min()}, {faces.max()}]: the face list does not match the vertices")


def _any_positive_area(vertices: np.ndarray, faces: np.ndarray) -> bool:
    """Whether some face has a positive area, in chunks growing from 1024 faces: a mesh with area
    answers from its first faces, without the (m, 3, 3) copy of a mesh of millions."""
    start, size = 0, 1024
    while start < len(faces):
        if np.any(trimesh.triangles.area(vertices[faces[start:start + size]]) > 0):
            return True
        start, size = start + size, size * 4
    return False


def mesh_voxel_size(source: Any, voxel_size: float | Sequence[float] | None = None, dataset: Any = None,
                    what: str | None = None) -> float | Sequence[float]:
    """nm per coordinate unit of a mesh: ``voxel_size``, else the mesh's own unit, else the dataset profile's.

    Parameters
    ----------
    source : path, trimesh.Trimesh or (vertices, faces)
        The mesh (not a precomputed layer, whose ``info`` says its units). A
        :class:`trimesh.Trimesh` whose ``units`` is a length (``"nm"``, ``"um"``, ``"mm"``...;
        :func:`load_mesh` sets ``"nm"`` on what it returns) needs no ``voxel_size``.
    voxel_size : float or (3,) floats, optional
        nm per coordinate unit, as given by the caller (wins over the rest).
    dataset : str or DatasetProfile, optional
        Dataset profile whose ``mesh_voxel_size`` applies to a mesh without a unit of its own.
    what : str, optional
        The input, for the message.

    Returns
    -------
    float or (3,) floats
        nm per mesh unit (:func:`~neurograph.io.units.resolve_unit`).

    Raises
    ------
    UnitsError
        No voxel size, no unit on the mesh object and no dataset: the message says what to pass.
    """
    if what is None:
        what = f"mesh {os.path.basename(os.fspath(source))!r}" if isinstance(source, (str, os.PathLike)) else "mesh"
    return resolve_unit(voxel_size, nm_per_unit(getattr(source, "units", None)), dataset, "mesh_voxel_size", what)


def load_mesh(source: Any, voxel_size: float | Sequence[float] | None = None, segment_id: Any = None,
              lod: int = 0, dataset: str | None = None) -> trimesh.Trimesh:
    """Load a neuron mesh and return it in nanometres.

    Parameters
    ----------
    source : str, os.PathLike, trimesh.Trimesh or (vertices, faces)
        A ``.ply``, ``.obj``, ``.off`` or ``.stl`` file, a mesh object, a pair of arrays, or
        a Neuroglancer precomputed layer (``precomputed://file:///data/seg``,
        ``precomputed://gs://bucket/seg``, ``https://...``, a local folder with an ``info``
        file) together with ``segment_id`` (needs ``pip install neurograph[cloud]``;
        legacy and multi-resolution, sharded or not: :mod:`neurograph.io.precomputed`).
    voxel_size : float or (3,) floats
        Size of one coordinate unit in nanometres (required unless ``dataset`` gives it or
        ``source`` is a :class:`trimesh.Trimesh` whose ``units`` is a length; there is no
        default unit): ``1`` for meshes already in nm (MICrONS, H01, FlyWire), ``8`` for
        hemibrain meshes in 8 nm voxels, ``1000`` for meshes in micrometres, or an anisotropic
        ``(x, y, z)`` voxel size. Not used for a precomputed layer, whose ``info`` defines its
        coordinates in nm (leave it out).
    segment_id : int, optional
        Segment of a precomputed layer (required there, refused for files).
    lod : int, default 0
        Level of detail of a multi-resolution precomputed mesh (0 = finest).
    dataset : str, optional
        Dataset profile (:mod:`neurograph.datasets`) whose mesh voxel size applies when
        ``voxel_size`` is not given (e.g. ``"hemibrain"``: 8 nm voxels, ``"microns"``: nm).

    Warns
    -----
    UnitsWarning
        The mesh spans less than 1 µm or more than 10 mm in nm: the voxel size is probably
        wrong (:mod:`neurograph.io.units`; :func:`neurograph.extract` raises instead).

    Returns
    -------
    trimesh.Trimesh
        The mesh in nm (``mesh.units == "nm"``), not yet repaired (``process=False``: vertices
        and faces keep their order). ``mesh.metadata['name']`` holds the file stem (the segment
        id for a precomputed layer, whose ``info`` values are in ``mesh.metadata['precomputed']``).

    Raises
    ------
    UnitsError
        No ``voxel_size``, no ``dataset`` and no unit on the mesh object: the message says
        what to pass.
    MeshError
        Missing, empty, unreadable or truncated files; NaN/inf coordinates; face indices
        out of range; an OBJ file with vertex index 0 on a face line (OBJ counts from 1);
        meshes whose faces all have zero area; a segment missing from a
        precomputed layer (:class:`InputError`), undecodable layer data (:class:`FormatError`),
        reads that kept failing (:class:`~neurograph.errors.SourceError`).
    """
    from .precomputed import is_precomputed_source, read_mesh

    if is_precomputed_source(source):
        if segment_id is None:
            raise MeshError(f"{source} is a precomputed layer: pass segment_id= (the neuron's segment id)")
        if voxel_size is not None and np.any(np.asarray(voxel_size, dtype=float) != 1.0):
            raise MeshError(f"{source}: a precomputed layer defines its own units (nm, from its info); "
                            f"do not pass voxel_size (got {voxel_size!r})")
        vertices, faces, meta = read_mesh(source, segment_id, lod=lod)
        vertices, faces = validate_arrays(vertices, faces)
        mesh = trimesh.Trimesh(vertices, faces, process=False)
        mesh.metadata.update(name=str(meta["segment_id"]), precomputed=meta, units="nm")
        return mesh
    if segment_id is not None:
        raise MeshError(f"segment_id is only for precomputed layers; {source!r} is not one "
                        "(a layer is a folder with an 'info' file, or a precomputed:// / gs:// / https:// address)")
    voxel_size = mesh_voxel_size(source, voxel_size, dataset)  # before reading: a missing unit fails fast
    vertices, faces, name = _as_arrays(source)
    vertices, faces = validate_arrays(vertices, faces)
    vertices = vertices * scale_vector(voxel_size)
    check_extent(vertices, "mesh", f"mesh {name!r}", error=False)
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    mesh.metadata.update(name=name, units="nm")
    return mesh
