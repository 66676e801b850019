"""Exceptions raised by neurograph.

Every error that neurograph raises on purpose derives from :class:`NeurographError`,
so callers (and the batch runner) can catch library errors separately from bugs.
Messages say what is wrong and what to do about it.
"""

from __future__ import annotations

import math


class NeurographError(Exception):
    """Base class of all neurograph errors."""


class InputError(NeurographError, ValueError):
    """The input (file, array, table) is malformed, empty or in the wrong units."""


class UnitsError(InputError):
    """Coordinates without a unit (every loader needs one: a voxel size, ``units`` or a dataset
    profile), or with numbers implausible for a neuron in the unit given."""


class MeshError(InputError):
    """A mesh is empty, has NaN/inf coordinates, bad face indices or no area."""


class SkeletonError(NeurographError):
    """A skeleton could not be built or is malformed."""


class FormatError(InputError):
    """A saved file is not in the format neurograph expects."""


class SourceError(InputError):
    """A data source (a precomputed layer on disk or in the cloud) could not be read, even after retries."""


class NeurographWarning(UserWarning):
    """Base class of the warnings neurograph issues (a result that is probably not what you want)."""


class DataWarning(NeurographWarning):
    """Part of the input was dropped or guessed; the result is still valid (the message says what)."""


class UnitsWarning(DataWarning):
    """Numbers that are implausible for a neuron in the given units (sizes, radii, spacing)."""


class InsectTwigWarning(NeurographWarning):
    """Spine detection on a mesh without a dataset profile folded what look like insect twigs."""


class NeurographDeprecationWarning(NeurographWarning, FutureWarning):
    """An old name or call that still works for one release: the message names its replacement."""


def deprecated(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new`` (:class:`NeurographDeprecationWarning`)."""
    import warnings

    warnings.warn(f"{old} is deprecated and will be removed in the next release; use {new}",
                  NeurographDeprecationWarning, stacklevel=stacklevel)


def renamed_parameters(**old_to_new: str):
    """Decorator: accept the old names of renamed keyword parameters for one release, with a warning.

    ``@renamed_parameters(proximal="proximal_um")`` maps ``proximal=`` to ``proximal_um=`` and
    issues a :class:`NeurographDeprecationWarning` naming the new parameter; giving both raises
    :class:`InputError`.
    """
    import functools

    def wrap(func):
        @functools.wraps(func)
        def inner(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise InputError(f"{func.__name__}: give {new}= only ({old}= is its old name)")
                    deprecated(f"{func.__name__}({old}=...)", f"{new}=... (the unit is in the name)")
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)
        return inner
    return wrap


def check_number(value, name: str, unit: str = "", positive: bool = False, integer: bool = False,
                 error: type[NeurographError] = InputError) -> float | int:
    """``value`` as a number, or ``error`` saying what ``name`` must be.

    Parameters
    ----------
    value : object
        The argument as given.
    name : str
        The parameter's name, for the message.
    unit : str, optional
        Its unit, for the message (e.g. ``"nm"``).
    positive : bool, default False
        Require ``> 0`` (else ``>= 0``).
    integer : bool, default False
        Require a whole number (returned as ``int``).
    error : NeurographError subclass, default InputError
        What to raise.

    Returns
    -------
    float or int
        The value, finite and within the limits.
    """
    try:
        number = float(value)
        ok = (not isinstance(value, (bool, str, bytes)) and math.isfinite(number) and (number > 0 if positive else number >= 0)
              and (not integer or number == int(number)))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        kind = ("a positive" if positive else "a non-negative") + (" whole number" if integer else " number")
        raise error(f"{name} must be {kind}{' (' + unit + ')' if unit else ''}, got {value!r}")
    return int(number) if integer else number


def check_indices(values, what: str, error: type[NeurographError] = InputError):
    """``values`` as an int64 array of whole numbers, or ``error`` (a plain cast to int64 turns NaN
    into -2**63 and 0.9 into 0, and the Numba kernels would index with them).

    Parameters
    ----------
    values : array-like
        Indices; integer or whole-number float arrays.
    what : str
        What they are, for the message.
    error : NeurographError subclass, default InputError
        What to raise.

    Returns
    -------
    int64 ndarray
        The same shape as ``values``.
    """
    import numpy as np

    try:
        arr = np.asarray(values)
        if arr.size and arr.dtype.kind not in "iu":
            ok = arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.round(arr)).all()
            if not ok:
                raise ValueError(f"{arr.dtype} values that are not whole numbers")
        return arr.astype(np.int64, copy=False)
    except (TypeError, ValueError, OverflowError) as exc:
        raise error(f"{what} must be whole-number indices ({exc})") from None


def check_direction(value, name: str, error: type[NeurographError] = InputError):
    """``value`` as a unit (3,) float array, or ``error`` saying that ``name`` must be a non-zero
    finite direction (x, y, z)."""
    import numpy as np

    try:
        v = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        v = np.full(3, np.nan)
    norm = float(np.linalg.norm(v)) if v.shape == (3,) else 0.0
    if not (np.isfinite(v).all() and norm > 0):
        raise error(f"{name} must be a non-zero direction (x, y, z), got {value!r}")
    return v / norm
