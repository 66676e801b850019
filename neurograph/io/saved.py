"""The saved-neuron format: one zip archive of open formats, no pickles.

Members
-------
``meta.json``
    Format version, name, units (always nm), somata (centre, radius), repair report,
    and any scalar metadata.
``arrays.npz``
    Plain numeric arrays (``np.savez``, loaded with ``allow_pickle=False``): mesh
    vertices/faces, skeleton vertices/parent/radius/node_type/vertex_map, soma face
    lists (``soma_faces_<i>``), ``face_branch``, ``node_branch``.
``graph.json``
    The branch graph as networkx node-link JSON (node attributes are scalars).
``branches.parquet``, ``synapses.parquet``, ``spines.parquet`` ...
    The per-branch feature table and, when present, the synapse, spine and cut tables, as
    Parquet (``pandas.read_parquet`` reads them without neurograph): numbers, text, booleans and
    nullable integers keep their type, a user's too (18-digit partner ids with a missing value,
    text ids such as ``"007"``); Python objects in a column come back as Arrow holds them (a dict
    as a struct, ``NaN`` in a column of objects as ``None``).
    A table Arrow cannot hold (mixed Python objects in a column) is written as ``<name>.csv``.
    Archives of format version 1 hold every table as CSV; they are still read.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import networkx as nx
import numpy as np
import pandas as pd

from ..errors import FormatError
from .paths import atomic_target

FORMAT = "neurograph-neuron"
VERSION = 2  # 2: tables as Parquet (1: CSV, still read)


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot store {type(obj).__name__} in JSON")


def write_archive(path: str | os.PathLike, meta: dict, arrays: dict[str, np.ndarray],
                  graph: nx.DiGraph, tables: dict[str, pd.DataFrame | None]) -> None:
    """Write a neuron archive atomically (temporary file, then rename).

    Parameters
    ----------
    path : str or os.PathLike
        Output ``.zip`` file (replaced if it exists).
    meta : dict
        JSON-able metadata for ``meta.json`` (numpy scalars and arrays are converted); the
        format name and version are added.
    arrays : dict of str to ndarray
        Numeric arrays for ``arrays.npz`` (coordinates in nm); None values are skipped.
    graph : networkx.DiGraph
        Branch graph, stored as node-link JSON in ``graph.json``.
    tables : dict of str to pandas.DataFrame or None
        Each table (None skipped) becomes ``<name>.parquet`` (``<name>.csv`` if Arrow cannot hold it).

    Returns
    -------
    None
    """
    path = os.fspath(path)
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items() if v is not None})
    with atomic_target(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.json", json.dumps({"format": FORMAT, "version": VERSION, **meta},
                                            default=_json_default, indent=1))
        zf.writestr("arrays.npz", buf.getvalue())
        zf.writestr("graph.json", json.dumps(nx.node_link_data(graph, edges="edges"), default=_json_default))
        for name, table in tables.items():
            if table is not None:
                zf.writestr(*_table_bytes(name, table))


def _table_bytes(name: str, table: pd.DataFrame) -> tuple[str, bytes]:
    """Archive member name and content of one table: Parquet (types kept), or CSV for a table
    Arrow cannot hold."""
    import pyarrow as pa

    buf = io.BytesIO()
    try:
        table.to_parquet(buf)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):  # mixed Python objects, ints > 2**63
        return f"{name}.csv", table.to_csv().encode()
    return f"{name}.parquet", buf.getvalue()


def read_archive(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray], nx.DiGraph, dict[str, pd.DataFrame]]:
    """Read an archive written by :func:`write_archive`: meta, arrays, graph and tables.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.neuron.zip`` archive.

    Returns
    -------
    meta : dict
        Contents of ``meta.json``.
    arrays : dict of str to ndarray
        Contents of ``arrays.npz`` (nm).
    graph : networkx.DiGraph
        The branch graph.
    tables : dict of str to pandas.DataFrame
        Every ``<name>.parquet`` (or ``<name>.csv``) member, by name.

    Raises
    ------
    FormatError
        No file at ``path``, not a readable archive (truncated, arrays needing pickles, member
        names with folders such as ``../x``), another format, or a newer format version.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FormatError(f"no saved neuron at {path}")
    try:
        with zipfile.ZipFile(path) as zf:
            unsafe = [n for n in zf.namelist() if "/" in n or "\\" in n or n.startswith(".") or ":" in n]
            if unsafe:
                raise FormatError(f"{path} holds members with folder or parent-folder names ({unsafe[0]!r}): "
                                  "not a neurograph archive (neurograph writes flat member names); not read")
            meta = json.loads(zf.read("meta.json"))
            with np.load(io.BytesIO(zf.read("arrays.npz")), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            graph = nx.node_link_graph(json.loads(zf.read("graph.json")), directed=True, edges="edges")
            tables = {name[:-4]: pd.read_csv(io.BytesIO(zf.read(name)), index_col=0)
                      for name in zf.namelist() if name.endswith(".csv")}
            tables.update({name[:-8]: pd.read_parquet(io.BytesIO(zf.read(name)))
                           for name in zf.namelist() if name.endswith(".parquet")})
    except FormatError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, TypeError, nx.NetworkXError) as exc:
        raise FormatError(f"{path} is not a readable neurograph archive ({type(exc).__name__}: {exc})") from exc
    if meta.get("format") != FORMAT:
        raise FormatError(f"{path} is not a neurograph neuron archive (format={meta.get('format')!r})")
    if meta.get("version", 0) > VERSION:
        raise FormatError(f"{path} was written by a newer neurograph (format version {meta['version']}); upgrade")
    return meta, arrays, graph, tables
