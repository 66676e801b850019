"""Paths: checks of the outputs given on the command line (before any work is done), atomic
writes (a reader never sees half a file), and text tables read whatever tool wrote them."""

from __future__ import annotations

import os
import re
import uuid
from contextlib import contextmanager
from typing import Iterator, Sequence

from ..errors import InputError


def check_output_file(path: str) -> None:
    """Refuse an output file path that is an existing folder (a clear error, not IsADirectoryError).

    Parameters
    ----------
    path : str
        Output file about to be written.

    Raises
    ------
    InputError
        ``path`` is a folder, or its parent is an existing file.
    """
    if os.path.isdir(path):
        raise InputError(f"-o {path} is a folder; give a file name such as {os.path.join(path, 'features.parquet')}")
    parent = os.path.dirname(os.path.abspath(path))
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if parent and not os.path.isdir(parent):
        raise InputError(f"-o {path}: {parent} is a file, not a folder")


def check_output_folder(path: str) -> None:
    """Refuse an output folder path that is an existing file.

    Parameters
    ----------
    path : str
        Output folder about to be created or filled.

    Raises
    ------
    InputError
        ``path`` (or one of its parents) is an existing file.
    """
    probe = os.path.abspath(path)
    while probe and not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if probe and not os.path.isdir(probe):
        raise InputError(f"-o {path}: {probe} is an existing file; the output must be a folder: give a new "
                         "or existing folder name")


def voxel_arg(values: Sequence[float] | None, flag: str) -> float | list[float] | None:
    """A voxel size given on the command line: one number or three, each positive and finite.

    Parameters
    ----------
    values : list of float or None
        The values after the flag (``nargs="+"``).
    flag : str
        The flag's name, for the message.

    Returns
    -------
    float, list of 3 floats or None
        One value as a float, three as a list (nm per unit along x, y, z); None for None.

    Raises
    ------
    InputError
        Two or more than three values, or a value that is not positive and finite.
    """
    if values is None:
        return None
    values = [float(v) for v in values]
    if len(values) not in (1, 3):
        raise InputError(f"{flag} takes one number (isotropic) or three (x y z, e.g. 4 4 40), got {len(values)}: "
                         f"{' '.join(f'{v:g}' for v in values)}")
    if not all(v > 0 and v < float("inf") for v in values):
        raise InputError(f"{flag} must be positive and finite (nm per unit), got {' '.join(f'{v:g}' for v in values)}")
    return values[0] if len(values) == 1 else values


def temporary_name(path: str) -> str:
    """The name (str) under which ``path`` (str, the file to be written) is written before it is
    renamed into place: ``<folder>/.<name>.<pid>-<8 hex>.tmp``, hidden, unique per process and
    call, and recognised by :func:`is_temporary`."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


#: a temporary file of :func:`temporary_name`, or ``<name>.tmp-<pid>`` (the name of earlier versions)
_TEMPORARY = re.compile(r"(^\..*\.\d+-[0-9a-f]{8}\.tmp$)|(\.tmp-\d+$)")


def is_temporary(name: str) -> bool:
    """Whether a file name is a temporary file neurograph writes.

    Parameters
    ----------
    name : str
        A file name (no folder).

    Returns
    -------
    bool
        True for :func:`temporary_name`'s names and ``<name>.tmp-<pid>`` (earlier versions'); not
        for a user's name that merely contains ``.tmp-`` (batch ids may).
    """
    return bool(_TEMPORARY.search(name))


@contextmanager
def atomic_target(path: str) -> Iterator[str]:
    """A temporary file name (:func:`temporary_name`) to write ``path`` through: renamed onto
    ``path`` when the block ends, removed when it raises (a full disk or an interrupt leaves no
    partial file behind).

    Parameters
    ----------
    path : str
        Destination file; its folder must exist. An existing file is replaced.

    Yields
    ------
    str
        The name to write to.
    """
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and ``os.replace``.

    Parameters
    ----------
    path : str
        Destination file; its folder must exist. An existing file is replaced.
    data : bytes
        File content.
    """
    with atomic_target(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def read_text_table(path: str, **kwargs):
    """``pandas.read_csv(path, **kwargs)``, in UTF-8 or, failing that, Latin-1 / cp1252 (what Excel
    and older tools write).

    Parameters
    ----------
    path : str
        A CSV or TSV file.
    **kwargs
        Passed to :func:`pandas.read_csv` (``sep``, ``index_col``, ``dtype`` ...).

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    try:
        return pd.read_csv(path, **kwargs)
    except UnicodeDecodeError:
        return pd.read_csv(path, encoding="latin-1", **kwargs)
