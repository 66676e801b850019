"""Sort-based set operations and table look-ups on integer arrays (plain numpy, no neurograph imports).

NumPy 2.3+ answers ``np.unique(a)`` for integers without ``return_inverse`` with a hash table,
which on the millions of vertex, edge and cell keys of a full-resolution neuron mesh is ~100x
slower than sorting (6.3 s against 0.05 s for 4 million int64 keys on this project's machine),
and ``np.isin`` goes through it too. These helpers sort instead; the answers are the same.
:func:`lookup` maps integer keys (branch ids of nodes, faces, synapses) through a dict
in one fancy index instead of a ``dict.get`` per element.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np


def unique(a: np.ndarray) -> np.ndarray:
    """Sorted unique values of a 1-D array (what ``np.unique(a)`` returns).

    Parameters
    ----------
    a : array-like
        Values (any sortable dtype; flattened).

    Returns
    -------
    (k,) ndarray
        The distinct values in increasing order.
    """
    s = np.sort(np.asarray(a).ravel())
    if len(s) < 2:
        return s
    keep = np.empty(len(s), bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def isin(a: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Boolean mask: which elements of ``a`` occur in ``values`` (``np.isin(a, values)``).

    Parameters
    ----------
    a : array-like
        Elements to test (any shape).
    values : array-like
        The set (flattened).

    Returns
    -------
    bool ndarray
        Shape of ``a``.
    """
    a = np.asarray(a)
    s = unique(values)
    if len(s) == 0:
        return np.zeros(a.shape, bool)
    pos = np.minimum(np.searchsorted(s, a), len(s) - 1)
    return s[pos] == a


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a 2-D integer array and the row each input row became
    (``np.unique(rows, axis=0, return_inverse=True)``, by sorting one key per row).

    Parameters
    ----------
    rows : (n, d) int ndarray
        Non-negative after subtracting the column minima, and with a product of column
        ranges below 2**63 (cell indices, vertex ids).

    Returns
    -------
    unique : (k, d) int64 ndarray
        Distinct rows in lexicographic order.
    inverse : (n,) int64 ndarray
        Index into ``unique`` of every input row.
    """
    rows = np.asarray(rows, np.int64)
    if rows.ndim != 2 or len(rows) == 0:
        return np.unique(rows, axis=0, return_inverse=True)
    lo = rows.min(axis=0)
    span = rows.max(axis=0) - lo + 1
    if float(np.prod(span.astype(float))) >= 2.0 ** 62:
        u, inv = np.unique(rows, axis=0, return_inverse=True)
        return u, inv.ravel()
    key = np.zeros(len(rows), np.int64)
    for c in range(rows.shape[1]):  # mixed radix, first column most significant
        key = key * span[c] + (rows[:, c] - lo[c])
    ukey, inv = np.unique(key, return_inverse=True)  # with an inverse NumPy sorts
    out = np.empty((len(ukey), rows.shape[1]), np.int64)
    rest = ukey
    for c in range(rows.shape[1] - 1, -1, -1):
        out[:, c] = rest % span[c] + lo[c]
        rest = rest // span[c]
    return out, inv.ravel()


def lookup(keys: np.ndarray, table: Mapping[int, Any], default: Any, dtype: Any = object) -> np.ndarray:
    """``table.get(key, default)`` for every integer key, by one fancy index.

    Parameters
    ----------
    keys : array-like of int
        Keys to look up (any shape; e.g. the branch id of every synapse, ``-1`` for none).
        Float keys must hold whole numbers; NaN counts as a missing key.
    table : mapping of int to value
        Values of the non-negative keys (e.g. branch id -> compartment label); negative keys
        in it are ignored.
    default : any
        Value of negative keys, NaN keys and keys not in ``table`` (any object, also a tuple).
    dtype : numpy dtype, default object
        Of the answer (object keeps the mapping's values as they are, e.g. strings).

    Returns
    -------
    ndarray
        Shape of ``keys``.

    Raises
    ------
    ValueError
        Float keys that are not whole numbers.
    """
    keys = np.asarray(keys)
    missing = np.zeros(keys.shape, bool)
    if keys.dtype.kind == "f":
        missing = ~np.isfinite(keys)
        if (keys[~missing] != np.round(keys[~missing])).any():
            raise ValueError("lookup keys must be whole numbers")
        keys = np.where(missing, -1, keys)
    keys = keys.astype(np.int64)
    known = [(int(k), v) for k, v in table.items() if int(k) >= 0]
    ids = np.array([k for k, _ in known], np.int64)
    values = _as_array([v for _, v in known], dtype)
    if len(ids) and ids.max() > 4 * len(ids) + 1024:  # sparse ids: search a sorted list instead
        order = np.argsort(ids, kind="stable")
        ids, values = ids[order], values[order]
        at = np.clip(np.searchsorted(ids, keys), 0, len(ids) - 1)
        hit = (ids[at] == keys) & (keys >= 0) & ~missing
        out = _as_array([default] * keys.size, dtype).reshape(keys.shape)
        out[hit] = values[at[hit]]
        return out
    size = int(ids.max()) + 1 if len(ids) else 0
    lut = _as_array([default] * (size + 1), dtype)  # the spare last slot holds the default
    lut[ids] = values
    return lut[np.where((keys >= 0) & (keys < size) & ~missing, keys, size)]


def _as_array(values: list, dtype: Any) -> np.ndarray:
    """A 1-d array of ``values``; for object dtype element by element (no nesting of sequences)."""
    if np.dtype(dtype) != object:
        return np.asarray(values, dtype)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
