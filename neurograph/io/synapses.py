"""Synapse tables: read CSV / Parquet / DataFrames into one normalised table in nm.

The normalised table has one row per synapse and the columns

``x, y, z``
    Position in nm.
``direction``
    ``"pre"`` (the neuron is presynaptic: an output site) or ``"post"`` (an input site).
``prepost``
    The same values (the name some feature code reads).
``synapse_id``
    The table's own id column when it has one, else the row number.

plus any other columns of the input (partner ids, sizes, confidences) unchanged.

Column names are recognised automatically for the common layouts:

- MICrONS / CAVE: ``prepost`` (``presyn``/``postsyn``), ``synapse_x/y/z`` in voxels of
  4 x 4 x 40 nm (``voxel_size=(4, 4, 40)``), ``synapse_id``;
- navis / neuPrint / hemibrain connectors: ``type`` (``pre``/``post``), ``x, y, z`` in 8 nm voxels
  (``voxel_size=8``), ``connector_id``;
- anything else through ``columns={"direction": ..., "x": ..., "y": ..., "z": ...}``.
"""

from __future__ import annotations

import os
import warnings
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..datasets import get_profile, synapse_columns_for
from ..errors import DataWarning, InputError
from .paths import read_text_table
from .units import resolve_unit

#: candidate column names, in order of preference
DIRECTION_NAMES = ("direction", "prepost", "pre_post", "type", "kind", "relation", "syn_type")
XYZ_NAMES = (("x", "y", "z"), ("synapse_x", "synapse_y", "synapse_z"), ("ctr_pt_position_x", "ctr_pt_position_y",
             "ctr_pt_position_z"), ("pos_x", "pos_y", "pos_z"), ("X", "Y", "Z"))
ID_NAMES = ("synapse_id", "connector_id", "id")
_PRE = {"pre", "presyn", "presynaptic", "presynapse", "output", "outgoing", "out", "0"}
_POST = {"post", "postsyn", "postsynaptic", "postsynapse", "input", "incoming", "in", "1"}


def _read(table) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table.copy()
    if isinstance(table, (str, os.PathLike)):
        path = os.fspath(table)
        if not os.path.exists(path):
            raise InputError(f"synapse table {path} does not exist")
        lower = path.lower()
        try:
            if lower.endswith((".parquet", ".pq")):
                return pd.read_parquet(path)
            if lower.endswith((".feather", ".ftr")):
                return pd.read_feather(path)
            sep = "\t" if lower.endswith((".tsv", ".tab")) else ","
            return read_text_table(path, sep=sep)
        except (ValueError, OSError, ImportError) as exc:
            raise InputError(f"cannot read synapse table {path}: {exc}; give a CSV, TSV or Parquet file") from exc
    if isinstance(table, Mapping):
        try:
            return pd.DataFrame(dict(table))
        except (ValueError, TypeError) as exc:
            raise InputError(f"a dict of synapse columns must hold columns of one length: {exc}") from None
    raise InputError(f"a synapse table must be a path, a pandas DataFrame or a dict of columns, "
                     f"not {type(table).__name__}")


def _find(df: pd.DataFrame, names: Sequence[str]) -> str | None:
    lower = {str(c).lower(): c for c in df.columns}
    for n in names:
        if n in df.columns:
            return n
        if n.lower() in lower:
            return lower[n.lower()]
    return None


def _directions(values: pd.Series, column: str) -> np.ndarray:
    text = values.astype(str).str.strip().str.lower()
    out = np.full(len(text), "", dtype=object)
    out[text.isin(_PRE).to_numpy()] = "pre"
    out[text.isin(_POST).to_numpy()] = "post"
    bad = out == ""
    if bad.any():
        examples = sorted(set(text[bad].tolist()))[:5]
        raise InputError(f"synapse column {column!r} has {int(bad.sum())} values that are neither pre nor post "
                         f"(e.g. {examples}); use pre/presyn/0 for outputs and post/postsyn/1 for inputs")
    return out.astype(str)


def synapse_voxel_size(table, voxel_size: float | Sequence[float] | None = None, dataset: str | None = None,
                       parameter: str = "voxel_size") -> float | Sequence[float]:
    """nm per coordinate unit of a synapse table: ``voxel_size``, else the table's own, else the profile's.

    Parameters
    ----------
    table : path, pandas.DataFrame or dict of columns
        A DataFrame whose ``attrs['units']`` is ``'nm'`` (made by :func:`load_synapses`) is in nm.
    voxel_size : float or (3,) floats, optional
        As given by the caller (wins over the rest).
    dataset : str or DatasetProfile, optional
        Dataset profile whose ``synapse_voxel_size`` applies to a table without a unit of its own.
    parameter : str, default "voxel_size"
        The caller's name for ``voxel_size``, for the message.

    Returns
    -------
    float or (3,) floats
        nm per table unit (:func:`~neurograph.io.units.resolve_unit`).

    Raises
    ------
    UnitsError
        No voxel size, no ``attrs['units']`` and no dataset: the message says what to pass.
    """
    own = 1.0 if isinstance(table, pd.DataFrame) and table.attrs.get("units") == "nm" else None  # load_synapses'
    return resolve_unit(voxel_size, own, dataset, "synapse_voxel_size", "synapse table", "synapses", parameter)


def load_synapses(table, voxel_size: float | Sequence[float] | None = None,
                  columns: Mapping[str, str] | None = None, dataset: str | None = None) -> pd.DataFrame:
    """Read a synapse table and normalise it: positions in nm, ``direction`` pre/post.

    Parameters
    ----------
    table : path, pandas.DataFrame or dict of columns
        CSV/TSV/Parquet file or table with one row per synapse.
    voxel_size : float or (3,) floats
        nm per coordinate unit (required unless ``dataset`` gives it or ``table`` is a table
        this function made, whose ``attrs['units']`` is ``'nm'``; there is no default unit):
        1 for tables in nm, ``(4, 4, 40)`` for MICrONS synapse tables in voxels, 8 for
        hemibrain / navis connectors.
    columns : dict, optional
        Explicit column names for ``"direction"``, ``"x"``, ``"y"``, ``"z"`` and ``"id"``
        (the others are found automatically, see the module docstring).
    dataset : str, optional
        Dataset profile (:mod:`neurograph.datasets`): its synapse voxel size, and its column
        names when the table has them, apply where ``voxel_size`` / ``columns`` are not given.

    Returns
    -------
    pandas.DataFrame
        ``synapse_id, direction, prepost, x, y, z`` (nm) first, then the other input columns.

    Raises
    ------
    UnitsError
        No ``voxel_size``, no ``dataset`` and no ``attrs['units']``: the message says what to pass.
    InputError
        Missing or ambiguous columns, unknown direction values, NaN/inf coordinates, a bad
        voxel size or an empty table.

    Warns
    -----
    DataWarning
        Rows that repeat a synapse id: each row still counts as one synapse.
    """
    voxel_size = synapse_voxel_size(table, voxel_size, dataset)
    if columns is None and dataset is not None:
        columns = synapse_columns_for(get_profile(dataset), table)
    df = _read(table)
    if columns is not None and not isinstance(columns, dict):
        raise InputError(f"columns= must be a dict such as {{'x': 'pre_x', 'direction': 'prepost'}}, got {columns!r}")
    columns = dict(columns or {})
    unknown = set(columns) - {"direction", "x", "y", "z", "id"}
    if unknown:
        raise InputError(f"unknown keys {sorted(unknown)} in columns=; use direction, x, y, z, id")
    for key, name in columns.items():
        if name not in df.columns:
            raise InputError(f"columns={{{key!r}: {name!r}}}: the table has no column {name!r} "
                             f"(it has {', '.join(map(str, df.columns))})")
    dcol = columns.get("direction") or _find(df, DIRECTION_NAMES)
    if dcol is None:
        raise InputError(f"the synapse table has no pre/post column (looked for {', '.join(DIRECTION_NAMES)}; "
                         f"it has {', '.join(map(str, df.columns))}); pass columns={{'direction': NAME}}")
    if all(k in columns for k in "xyz"):
        xyz = [columns["x"], columns["y"], columns["z"]]
    else:
        xyz = next((list(t) for t in XYZ_NAMES if all(_find(df, [c]) for c in t)), None)
        if xyz is None:
            raise InputError(f"the synapse table has no x/y/z columns (looked for {XYZ_NAMES}; it has "
                             f"{', '.join(map(str, df.columns))}); pass columns={{'x': ..., 'y': ..., 'z': ...}}")
        xyz = [_find(df, [c]) for c in xyz]
    try:
        voxel = np.asarray(voxel_size, dtype=float).ravel()
    except (TypeError, ValueError):
        voxel = np.empty(0)
    if voxel.size not in (1, 3) or not np.all(np.isfinite(voxel)) or np.any(voxel <= 0):
        raise InputError(f"voxel_size must be one positive number or three (nm per unit), not {voxel_size!r}")
    try:
        pos = df[xyz].to_numpy(dtype=float) * np.broadcast_to(voxel, (3,))
    except (TypeError, ValueError) as exc:
        raise InputError(f"synapse coordinates {xyz} are not numeric: {exc}") from exc
    bad = ~np.isfinite(pos).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise InputError(f"{int(bad.sum())} synapses have NaN or infinite coordinates (rows {rows}...); "
                         f"drop or fix them before loading")
    if len(df) == 0:
        raise InputError("the synapse table is empty")
    direction = _directions(df[dcol], dcol)
    idcol = columns.get("id") or _find(df, ID_NAMES)
    ids = df[idcol].to_numpy() if idcol is not None else np.arange(len(df))
    if idcol is not None:
        repeated = df[idcol][df[idcol].duplicated() & df[idcol].notna()]
        if len(repeated):
            first = repeated.iloc[0].item() if hasattr(repeated.iloc[0], "item") else repeated.iloc[0]
            warnings.warn(f"{len(repeated)} synapse row(s) repeat an id of column {idcol!r} (first: "
                          f"{first!r}); each row counts as one synapse (a table concatenated twice, or "
                          "one row per partner of a polyadic synapse?): if each id is one synapse, drop the copies "
                          f"first (table.drop_duplicates({idcol!r}))", DataWarning, stacklevel=2)
    rest = df.drop(columns=[c for c in [dcol, *xyz, idcol] if c is not None])
    rest = rest.loc[:, [not str(c).startswith("Unnamed") for c in rest.columns]]
    rest = rest.drop(columns=[c for c in ("x", "y", "z", "direction", "prepost", "synapse_id") if c in rest.columns])
    out = pd.DataFrame({"synapse_id": ids, "direction": direction, "prepost": direction,
                        "x": pos[:, 0], "y": pos[:, 1], "z": pos[:, 2]})
    out = pd.concat([out, rest.reset_index(drop=True)], axis=1)
    out.index.name = "synapse"
    out.attrs["units"] = "nm"
    return out
