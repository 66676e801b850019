"""Read and write SWC files.

:func:`read_swc` parses the SWC files met in practice (comment lines anywhere, an
uncommented header line such as ``n type x y z radius parent``, blank lines, trailing
comments, extra columns, comma separators, ``0`` as the parent of a root, several roots,
radius ``-1``, ``0``, NaN, missing or one constant placeholder value for "unknown") into a table in **nanometres**. Building a tree out of
the table (somata, rerooting) is one layer up, in :func:`neurograph.load_swc`.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import FormatError, InputError
from .meshes import scale_vector

SWC_COLUMNS = ["node_id", "type", "x", "y", "z", "radius", "parent_id"]

#: accepted spellings of ``units`` -> nm per unit (``"voxel"`` takes ``voxel_size``)
UNIT_SCALE: dict[str, float] = {"nm": 1.0, "um": 1e3, "µm": 1e3, "μm": 1e3, "micron": 1e3, "microns": 1e3}

_SPLIT = re.compile(r"[\s,]+")
#: a comma between digits inside one whitespace-separated field: "0,5"
_DECIMAL_COMMA = re.compile(r"\d,\d")


def swc_scale(units: str, voxel_size: float | Sequence[float] | None = None) -> np.ndarray:
    """nm per SWC coordinate unit along x, y, z.

    Parameters
    ----------
    units : {"nm", "um", "µm", "voxel"}
        Units of the file's coordinates and radii.
    voxel_size : float or (3,) floats, optional
        nm per voxel; required with ``units="voxel"`` and only allowed with it.

    Returns
    -------
    (3,) float ndarray
    """
    if not isinstance(units, str):
        raise InputError(f"units must be a string ('nm', 'um' or 'voxel'), got {units!r}")
    key = units.strip().lower().replace("µ", "u").replace("μ", "u")
    if key in ("voxel", "voxels", "vx"):
        if voxel_size is None:
            raise InputError("units='voxel' needs voxel_size (nm per voxel, e.g. 8 for hemibrain, "
                             "or (4, 4, 40) for MICrONS)")
        return scale_vector(voxel_size, InputError)
    if voxel_size is not None:
        raise InputError(f"voxel_size is only used with units='voxel' (got units={units!r}); "
                         "drop voxel_size or pass units='voxel'")
    if key not in ("nm", "um", "micron", "microns"):
        raise InputError(f"unknown SWC units {units!r}: use 'nm' (EM skeletons: FAFB, MICrONS, FlyWire), "
                         "'um' (most light-microscopy files, NeuroMorpho.Org) or 'voxel' with voxel_size")
    return np.full(3, 1.0 if key == "nm" else 1e3)


def _data_lines(text: str, path: str) -> tuple[list[str], list[int]]:
    """Non-comment lines (inline comments cut) and their 1-based line numbers; drops one
    leading header line that is not numeric."""
    lines, numbers = [], []
    for k, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
            numbers.append(k)
    if lines:
        first = _SPLIT.split(lines[0])[0]
        try:
            float(first)
        except ValueError:  # e.g. "n type x y z radius parent" without '#'
            lines, numbers = lines[1:], numbers[1:]
    return lines, numbers


def _parse(lines: list[str], numbers: list[int], path: str) -> np.ndarray:
    """The first 7 fields of every line as floats, with line-numbered errors."""
    if not any("," in ln for ln in lines):  # fast path: pandas' C parser
        try:
            rows = pd.read_csv(io.StringIO("\n".join(lines)), sep=r"\s+", header=None, dtype=float,
                               engine="c").to_numpy()
            if rows.shape[1] == 6 and np.isfinite(rows).all():  # no radius column
                return np.insert(rows, 5, np.nan, axis=1)
            if rows.shape[1] >= 7 and np.isfinite(np.delete(rows[:, :7], 5, axis=1)).all():
                return rows[:, :7]
        except (ValueError, pd.errors.ParserError):
            pass  # the slow path below finds and names the bad line
    for k, ln in enumerate(lines):
        words = ln.split()
        if len(words) >= 6 and any(_DECIMAL_COMMA.search(w) for w in words[:7]):  # extra columns are the user's
            raise FormatError(f"{path}, line {numbers[k]}: a comma inside a number of a space-separated line "
                              f"({ln[:80]!r}): decimal commas (a European-locale export)? SWC numbers use a "
                              "decimal point; convert the file (e.g. replace ',' by '.')")
    parts = [_SPLIT.split(ln) for ln in lines]
    if all(len(p) == 6 for p in parts):  # "id type x y z parent": no radius column
        parts = [p[:5] + ["nan", p[5]] for p in parts]
    for k, p in enumerate(parts):
        if len(p) < 7:
            raise FormatError(f"{path}, line {numbers[k]}: {len(p)} fields where SWC needs 7 "
                              f"(id type x y z radius parent): {lines[k][:80]!r}")
    try:
        rows = np.array([p[:7] for p in parts], dtype=float)
    except ValueError:
        rows = np.full((len(parts), 7), np.nan)
        for k, p in enumerate(parts):
            try:
                rows[k] = [float(v) for v in p[:7]]
            except ValueError:
                raise FormatError(f"{path}, line {numbers[k]}: non-numeric value in {lines[k][:80]!r}; "
                                  "SWC lines are 'id type x y z radius parent'") from None
    bad = ~np.isfinite(rows)
    bad[:, 5] = False  # radius NaN is "unknown"; other fields must be numbers
    if bad.any():
        k = int(np.flatnonzero(bad.any(axis=1))[0])
        raise FormatError(f"{path}, line {numbers[k]}: NaN or infinite value in {lines[k][:80]!r}")
    return rows


def _known_radii(radius: np.ndarray, is_soma: np.ndarray, path: str) -> np.ndarray:
    """Radii with the "unknown" ones NaN: ``<= 0``, NaN, a missing column, and a value shared
    by every non-soma node (a placeholder written by tools that have no radii, e.g. the
    CAVE skeleton service). Warns when no non-soma node keeps a radius."""
    radius = np.where(radius > 0, radius, np.nan)  # -1, 0 (and NaN) mean "unknown"
    rest = radius[~is_soma]
    known = rest[np.isfinite(rest)]
    if len(rest) >= 3 and len(known) == len(rest) and np.all(known == known[0]):
        radius[radius == known[0]] = np.nan
        why = f"every non-soma node has radius {known[0]:g} (a placeholder)"
    else:
        why = "the radius column is missing, 0, -1 or NaN"
    if len(rest) and not np.isfinite(radius[~is_soma]).any():
        warnings.warn(f"{path}: no radii ({why}); the skeleton is treated as radius-less: widths are NaN, "
                      "label_compartments finds the axon from synapses and the apical dendrite from the pia "
                      "direction (pia=...), and synapses map within a centre-line tolerance",
                      stacklevel=3)
    return radius


def read_swc(path: str | os.PathLike, units: str, voxel_size: float | Sequence[float] | None = None) -> pd.DataFrame:
    """Read an SWC file into a table in nanometres.

    Parameters
    ----------
    path : str or PathLike
        The ``.swc`` file.
    units : {"nm", "um", "µm", "voxel"}
        Units of the file's coordinates and radii. There is no default on purpose: the
        SWC format does not say. EM skeletons from CATMAID/FAFB, FlyWire and MICrONS are
        usually in nm, NeuroMorpho.Org and most light-microscopy files in µm, hemibrain
        (neuPrint, navis example data) in 8 nm voxels (``units="voxel", voxel_size=8``).
    voxel_size : float or (3,) floats, optional
        nm per voxel along x, y, z, with ``units="voxel"``. Radii are scaled by the
        geometric mean of the three.

    Returns
    -------
    pandas.DataFrame
        Columns ``node_id`` (int), ``type`` (int, SWC structure type), ``x, y, z`` (nm),
        ``radius`` (nm, NaN where unknown: ``<= 0``, NaN, no radius column (6-field lines
        ``id type x y z parent``), or one value shared by every non-soma node, a placeholder;
        a file left without any radius warns: it is radius-less) and ``parent_id``
        (int, ``-1`` for roots; a parent of ``0`` when there is no node 0 also marks a
        root). Rows keep the file order. ``table.attrs`` holds ``path``, ``units`` and the
        header comment lines.

    Raises
    ------
    FormatError
        Missing or empty file, lines with fewer than 7 fields or non-numeric values, decimal
        commas (``0,5`` in a space-separated line), duplicate node ids, parents that are not in
        the file, a node that is its own parent.
    InputError
        Unknown ``units`` or a bad ``voxel_size``.
    """
    scale = swc_scale(units, voxel_size)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FormatError(f"SWC file not found: {path}")
    with open(path, encoding="utf-8-sig", errors="replace") as fh:  # -sig: a byte-order mark is not data
        text = fh.read()
    lines, numbers = _data_lines(text, path)
    if not lines:
        raise FormatError(f"{path}: no SWC node lines (empty file, or only comments)")
    rows = _parse(lines, numbers, path)
    ids, parents = rows[:, 0], rows[:, 6]
    if np.any(ids != np.round(ids)) or np.any(parents != np.round(parents)):
        raise FormatError(f"{path}: node and parent ids must be integers")
    ids, parents = ids.astype(np.int64), parents.astype(np.int64)
    uniq, counts = np.unique(ids, return_counts=True)
    if np.any(counts > 1):
        dup = uniq[counts > 1]
        raise FormatError(f"{path}: {len(dup)} node id(s) appear more than once (first: {dup[0]}); "
                          "every SWC node needs its own id")
    has_zero = bool(np.any(ids == 0))
    is_root = (parents < 0) | ((parents == 0) & (not has_zero))
    parents = np.where(is_root, -1, parents)
    missing = ~is_root & ~np.isin(parents, ids)
    if missing.any():
        k = int(np.flatnonzero(missing)[0])
        raise FormatError(f"{path}: {int(missing.sum())} node(s) name a parent that is not in the file "
                          f"(line {numbers[k]}: node {ids[k]} -> parent {parents[k]}); the file is "
                          "truncated or not a single SWC")
    selfloop = parents == ids
    if selfloop.any():
        k = int(np.flatnonzero(selfloop)[0])
        raise FormatError(f"{path}, line {numbers[k]}: node {ids[k]} is its own parent")
    radius = _known_radii(rows[:, 5], rows[:, 1] == 1, path)
    table = pd.DataFrame({
        "node_id": ids, "type": rows[:, 1].astype(np.int64),
        "x": rows[:, 2] * scale[0], "y": rows[:, 3] * scale[1], "z": rows[:, 4] * scale[2],
        "radius": radius * float(np.prod(scale) ** (1 / 3)), "parent_id": parents,
    })
    table.attrs.update(path=path, units=units,
                       header=[ln.lstrip("# ").rstrip() for ln in text.splitlines() if ln.lstrip().startswith("#")][:50])
    return table


def write_swc(table: pd.DataFrame, path: str | os.PathLike, header: str = "") -> None:
    """Write an SWC table (``node_id, type, x, y, z, radius, parent_id``) to ``path``.

    Parameters
    ----------
    table : pandas.DataFrame
        E.g. from :meth:`neurograph.Skeleton.to_swc`; units are whatever the table holds
        (neurograph writes µm by default and says so in the header).
    path : str or PathLike
        Output file (overwritten).
    header : str
        Comment lines to put first (``#`` is added).

    Returns
    -------
    None

    Raises
    ------
    InputError
        A table without the seven SWC columns, or with NaN or infinite coordinates (which
        would be written as empty fields: a file no SWC reader takes).
    """
    cols = ["node_id", "type", "x", "y", "z", "radius", "parent_id"]
    missing = [c for c in cols if c not in getattr(table, "columns", [])]
    if missing:
        raise InputError(f"an SWC table needs the columns {', '.join(cols)}; missing: {', '.join(missing)} "
                         "(Skeleton.to_swc gives such a table)")
    xyz = table[["x", "y", "z"]].to_numpy(float)
    if not np.isfinite(xyz).all():
        bad = int((~np.isfinite(xyz).all(axis=1)).sum())
        raise InputError(f"{bad} SWC node(s) have NaN or infinite coordinates; fix or drop them before writing")
    with open(path, "w") as fh:
        for line in header.splitlines():
            fh.write(f"# {line}\n")
        fh.write("# " + " ".join(cols) + "\n")
        table[cols].to_csv(fh, sep=" ", header=False, index=False, float_format="%.4f")
