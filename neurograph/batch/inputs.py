"""Batch inputs: folders, globs, single files and manifest CSVs -> a list of :class:`Task`.

A manifest is a CSV with one row per neuron and the columns

``path`` (required unless ``source`` and ``segment_id`` are given)
    Mesh (``.ply .obj .off .stl``) or ``.swc`` file; relative paths are relative to the
    manifest's folder.
``source``, ``segment_id`` (optional, together)
    A Neuroglancer precomputed layer (``precomputed://gs://...``, ``file:///...``, a local
    layer folder; relative folders are relative to the manifest's folder) and the segment
    to extract from it (fetched in the worker; ``id`` defaults to the segment id).
``id`` (optional)
    Neuron id, defaults to the file stem. Must be a safe file name (letters, digits,
    ``. _ -``, at most 200 characters, not starting with ``.``).
``synapses`` (optional)
    Synapse table of the neuron (path, relative like ``path``), mapped onto the mesh with
    ``Neuron.map_synapses``.
``synapse_voxel_size`` (optional)
    nm per coordinate unit of the synapse table (``4 4 40`` for MICrONS); default 1 (nm).
``voxel_size`` (optional)
    nm per file unit: one number or three separated by spaces, ``x`` or ``;`` (``4 4 40``).
``units`` (optional)
    Units of an SWC file (``nm``, ``um`` or ``voxel``, see :func:`neurograph.load_swc`).
``label`` (optional)
    Any label (e.g. a cell type), copied to the ``neurons`` table.
``dataset`` (optional)
    Dataset profile of the neuron (``microns``, ``hemibrain``, ``fafb``, ...; see
    :mod:`neurograph.datasets`): its voxel sizes, SWC units, spine and compartment settings
    fill what the row and the run do not give.

Other columns are ignored.
"""

from __future__ import annotations

import glob
import math
import os
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import pandas as pd

from ..datasets import get_profile
from ..errors import InputError
from ..io.meshes import MESH_SUFFIXES
from ..io.paths import read_text_table

SWC_SUFFIXES = (".swc",)
INPUT_SUFFIXES = MESH_SUFFIXES + SWC_SUFFIXES
_SAFE_ID = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9._\-]{0,199}$")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._\-]")


@dataclass(frozen=True)
class Task:
    """One neuron to extract.

    Attributes
    ----------
    id : str
        Safe file name; the key of every output row and file.
    path : str
        Absolute path of the mesh or SWC file.
    kind : {"mesh", "swc"}
    voxel_size : float or tuple of 3 floats or None
        nm per file unit; None: the run's default.
    units : str or None
        SWC units (``nm``, ``um``, ``voxel``); None: the run's default.
    synapses : str or None
        Absolute path of a synapse table.
    label : str or None
    synapse_voxel_size : float or tuple of 3 floats or None
        nm per synapse-table unit; None: the profile's, else 1 (nm).
    segment_id : int or None
        Segment of the precomputed layer ``path`` (``kind="precomputed"``); units come from
        the layer's ``info``.
    dataset : str or None
        Dataset profile name (:mod:`neurograph.datasets`); None: the run's.
    """

    id: str
    path: str
    kind: str
    voxel_size: float | tuple[float, float, float] | None = None
    units: str | None = None
    synapses: str | None = None
    label: str | None = None
    synapse_voxel_size: float | tuple[float, float, float] | None = None
    segment_id: int | None = None
    dataset: str | None = None


def is_safe_id(neuron_id: str) -> bool:
    """Whether ``neuron_id`` can be used as a file name on every platform.

    Parameters
    ----------
    neuron_id : str
        Candidate id.

    Returns
    -------
    bool
        True for 1-200 letters, digits, ``. _ -``, not starting with ``.``.
    """
    return bool(_SAFE_ID.match(neuron_id)) and neuron_id not in (".", "..")


def safe_id(stem: str) -> str:
    """A safe id from a file stem.

    Parameters
    ----------
    stem : str
        File name without its suffix.

    Returns
    -------
    str
        ``stem`` with unsafe characters replaced by ``_``, leading dots dropped, cut to 200
        characters; ``"neuron"`` if nothing is left.
    """
    out = _UNSAFE_CHARS.sub("_", stem).lstrip(".")[:200]
    return out or "neuron"


def _kind(path: str) -> str:
    return "swc" if path.lower().endswith(SWC_SUFFIXES) else "mesh"


def _parse_voxel(value: Any, where: str) -> float | tuple[float, float, float] | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    parts = [p for p in re.split(r"[\s;xX,]+", str(value).strip()) if p]
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) == 1:
        return nums[0]
    if len(nums) == 3:
        return (nums[0], nums[1], nums[2])
    raise InputError(f"{where}: voxel_size {value!r} is not one number or three (e.g. '4 4 40')")


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def read_manifest(path: str | os.PathLike) -> list[Task]:
    """Read a manifest CSV (columns described in :mod:`neurograph.batch.inputs`).

    Parameters
    ----------
    path : str or PathLike
        The manifest; relative paths in it are relative to its folder.

    Returns
    -------
    list of Task
        One per row, in file order.

    Raises
    ------
    InputError
        Missing or unreadable file, no ``path`` column, empty paths, unsafe ids, bad voxel sizes.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"manifest not found: {path}")
    dtype = {c: str for c in ("id", "label", "units", "voxel_size", "path", "synapses", "synapse_voxel_size",
                              "source", "segment_id", "dataset")}
    try:
        table = read_text_table(path, dtype=dtype)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: not a readable CSV manifest ({type(exc).__name__}: {exc})") from exc
    table.columns = [str(c).strip().lower() for c in table.columns]
    layered = {"source", "segment_id"} <= set(table.columns)
    if "path" not in table.columns and not layered:
        raise InputError(f"{path}: a manifest needs a 'path' column, or 'source' and 'segment_id' columns "
                         f"(found {list(table.columns)}); optional columns: id, synapses, synapse_voxel_size, "
                         "voxel_size, units, label, dataset")
    base = os.path.dirname(os.path.abspath(path))
    tasks = []
    for row_no, row in enumerate(table.to_dict("records"), start=2):
        where = f"{path}, line {row_no}"
        if layered and _text(row.get("segment_id")) is not None:
            tasks.append(_layer_task(row, base, where))
            continue
        file = _text(row.get("path"))
        if file is None:
            raise InputError(f"{where}: empty path")
        file = os.path.normpath(os.path.join(base, os.path.expanduser(file)))
        neuron_id = _text(row.get("id")) or safe_id(os.path.splitext(os.path.basename(file))[0])
        if not is_safe_id(neuron_id):
            raise InputError(f"{where}: id {neuron_id!r} is not a safe file name; use letters, digits, "
                             "'.', '_' and '-' only (at most 200 characters, not starting with '.')")
        synapses = _text(row.get("synapses"))
        if synapses is not None:
            synapses = os.path.normpath(os.path.join(base, os.path.expanduser(synapses)))
        tasks.append(Task(neuron_id, file, _kind(file), _parse_voxel(row.get("voxel_size"), where),
                          _text(row.get("units")), synapses, _text(row.get("label")),
                          _parse_voxel(row.get("synapse_voxel_size"), where), dataset=_dataset(row, where)))
    return tasks


def _segment_ids(values: Iterable[Any], where: str) -> list[int]:
    out = []
    for v in values:
        text = str(v).strip()
        try:
            value = int(text)
        except ValueError:
            raise InputError(f"{where}: segment id {v!r} is not an integer") from None
        if not 0 <= value < 2**64:
            raise InputError(f"{where}: segment id {v!r} is not an unsigned 64-bit integer")
        out.append(value)
    return out


def read_ids(path: str | os.PathLike) -> list[int]:
    """Read segment ids from a text file: one per line, or separated by spaces or commas; ``#`` comments.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    list of int
        In file order.

    Raises
    ------
    InputError
        Missing file, non-integer ids, or no ids.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"segment id file not found: {path}")
    with open(path) as f:
        words = [w for line in f for w in re.split(r"[\s,;]+", line.split("#")[0]) if w]
    if not words:
        raise InputError(f"{path}: no segment ids")
    return _segment_ids(words, path)


def _layer_task(row: dict, base: str, where: str) -> Task:
    from ..io.precomputed import SCHEMES

    source = _text(row.get("source"))
    if source is None:
        raise InputError(f"{where}: a segment_id needs a source (a precomputed layer)")
    if not source.startswith(SCHEMES):
        source = os.path.normpath(os.path.join(base, os.path.expanduser(source)))
    (sid,) = _segment_ids([row.get("segment_id")], where)
    neuron_id = _text(row.get("id")) or str(sid)
    if not is_safe_id(neuron_id):
        raise InputError(f"{where}: id {neuron_id!r} is not a safe file name")
    synapses = _text(row.get("synapses"))
    if synapses is not None:
        synapses = os.path.normpath(os.path.join(base, os.path.expanduser(synapses)))
    return Task(neuron_id, source, "precomputed", None, None, synapses, _text(row.get("label")),
                _parse_voxel(row.get("synapse_voxel_size"), where), segment_id=sid, dataset=_dataset(row, where))


def _dataset(row: dict, where: str) -> str | None:
    """The manifest row's dataset profile name (checked), or None."""
    dataset = _text(row.get("dataset"))
    if dataset is None:
        return None
    try:
        return get_profile(dataset).name
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def _files_of(item: str) -> list[str]:
    if os.path.isdir(item):
        names = sorted(n for n in os.listdir(item)
                       if not n.startswith(".") and n.lower().endswith(INPUT_SUFFIXES))
        return [os.path.join(item, n) for n in names]
    if glob.has_magic(item):
        return sorted(p for p in glob.glob(item) if os.path.isfile(p))
    return [item]


def resolve_inputs(inputs: str | os.PathLike | Task | Iterable[str | os.PathLike | Task],
                   segment_ids: Iterable[int] | str | os.PathLike | None = None) -> list[Task]:
    """Turn folders, globs, files, manifests and precomputed layers into tasks, in a stable order.

    Parameters
    ----------
    inputs : path, glob, manifest ``.csv``, layer address, :class:`Task`, or a list of them
        A folder contributes its mesh and SWC files (not recursive, hidden files skipped); a
        glob every file it matches; a ``.csv`` file is read as a manifest; a Neuroglancer
        precomputed layer (``precomputed://...``, ``gs://...``, ``file://...``, a local
        folder with an ``info`` file) one task per id of ``segment_ids``; any other file is
        one neuron (an unsupported format is reported per neuron, in ``errors``).
    segment_ids : iterable of int, or path of an id file, optional
        Segments to extract from the layer inputs (:func:`read_ids` for a file).

    Returns
    -------
    list of Task

    Raises
    ------
    InputError
        Nothing found, a path that does not exist, or two neurons with the same id.
    """
    from ..io.precomputed import is_precomputed_source

    items: Sequence[Any] = [inputs] if isinstance(inputs, (str, os.PathLike, Task)) else list(inputs)
    if isinstance(segment_ids, (str, os.PathLike)):
        segment_ids = read_ids(segment_ids)
    tasks: list[Task] = []
    for item in items:
        if isinstance(item, Task):
            tasks.append(item)
            continue
        item = os.path.expanduser(os.fspath(item))
        if is_precomputed_source(item):
            if segment_ids is None:
                raise InputError(f"{item} is a precomputed layer: say which segments to extract (--ids FILE, "
                                 "segment_ids=[...], or a manifest with source and segment_id columns)")
            source = item if "://" in item else os.path.abspath(item)
            tasks.extend(Task(str(s), source, "precomputed", segment_id=s)
                         for s in _segment_ids(segment_ids, "segment_ids"))
            continue
        if not glob.has_magic(item) and not os.path.exists(item):
            raise InputError(f"input not found: {item}")
        files = _files_of(item)
        if not files:
            raise InputError(f"no mesh or SWC files ({', '.join(INPUT_SUFFIXES)}) in {item}")
        for file in files:
            if file.lower().endswith(".csv"):
                tasks.extend(read_manifest(file))
            else:
                file = os.path.abspath(file)
                tasks.append(Task(safe_id(os.path.splitext(os.path.basename(file))[0]), file, _kind(file)))
    if not tasks:
        raise InputError("no inputs given")
    seen: dict[str, str] = {}
    clashes = []
    for t in tasks:
        if t.id in seen and seen[t.id] != t.path:
            clashes.append(f"{t.id!r} ({seen[t.id]} and {t.path})")
        seen.setdefault(t.id, t.path)
    if clashes:
        raise InputError(f"{len(clashes)} neuron id(s) used twice: {'; '.join(clashes[:5])}. Give each "
                         "neuron a unique id (a manifest CSV with an 'id' column)")
    unique: dict[str, Task] = {}
    for t in tasks:
        unique.setdefault(t.id, t)
    return list(unique.values())
