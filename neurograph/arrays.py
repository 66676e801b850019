"""Sort-based set operations and table look-ups on integer arrays (numpy and Numba, no neurograph imports).

NumPy 2.3+ answers ``np.unique(a)`` for integers without ``return_inverse`` with a hash table,
which on the millions of vertex, edge and cell keys of a full-resolution neuron mesh is ~100x
slower than sorting (6.3 s against 0.05 s for 4 million int64 keys on this project's machine),
and ``np.isin`` goes through it too. These helpers sort instead; the answers are the same.
:func:`lookup` maps integer keys (branch ids of nodes, faces, synapses) through a dict
by one ``searchsorted`` instead of a ``dict.get`` per element. :func:`group_order` groups items
by a small integer key in linear time (a counting sort), for the CSR layouts of every step, and
:func:`small_unique` numbers the distinct values of such keys the same way.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from numba import njit


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


def small_unique(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for integers in ``[0, n)``, in linear time
    (a mark per possible value, then a running count) instead of a sort; both results int64 and
    1-D whatever the input's integer type and shape.

    Parameters
    ----------
    values : (k,) int ndarray
        Values in ``[0, n)`` (a ValueError otherwise; a TypeError for non-integers).
    n : int
        Upper bound of the values; the work is linear in ``k + n``.

    Returns
    -------
    unique : (u,) int64 ndarray
        The distinct values in increasing order.
    inverse : (k,) int64 ndarray
        Index into ``unique`` of every value.
    """
    values = np.asarray(values).ravel()
    if values.dtype.kind not in "iu":  # a bool array would index as a mask
        raise TypeError(f"values must be integers, got {values.dtype}")
    if len(values) and (values.min() < 0 or values.max() >= n):
        raise ValueError(f"values must lie in [0, {n}), found [{values.min()}, {values.max()}]")
    present = np.zeros(n, bool)
    present[values] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present), rank[values]


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
    """``table.get(key, default)`` for every integer key, by one search of the sorted keys.

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
    if keys.dtype.kind == "f":
        finite = np.isfinite(keys)
        if (keys[finite] != np.round(keys[finite])).any():
            raise ValueError("lookup keys must be whole numbers")
        keys = np.where(finite, keys, -1)  # NaN: no key, the default
    keys = keys.astype(np.int64)
    known = sorted(((int(k), v) for k, v in table.items() if int(k) >= 0), key=lambda kv: kv[0])
    ids = np.array([k for k, _ in known], np.int64)
    vals = [v for _, v in known]
    values = _objects(vals) if np.dtype(dtype) == object else np.asarray(vals, dtype)
    out = np.empty(keys.shape, dtype)
    out.fill(default)  # fill, not np.full: a sequence default stays one object
    if len(ids):
        at = np.minimum(np.searchsorted(ids, keys), len(ids) - 1)
        hit = ids[at] == keys
        out[hit] = values[at[hit]]
    return out


def _objects(values: list) -> np.ndarray:
    """A 1-d object array of ``values``, element by element (no nesting of sequences)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@njit(cache=True)
def group_order(groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Items sorted by group, stably: a counting sort, linear in the items (the same
    ``order`` as ``np.argsort(groups, kind="stable")``; ``ptr`` as ``np.searchsorted`` of the
    sorted groups). Groups must lie in ``[0, n_groups)`` (a ValueError otherwise).

    Returns
    -------
    ptr : (n_groups + 1,) int64 ndarray
        Items of group ``g`` are ``order[ptr[g]:ptr[g + 1]]``.
    order : (k,) int64 ndarray
    """
    ptr = np.zeros(n_groups + 1, np.int64)
    for i in range(groups.shape[0]):
        g = groups[i]
        if g < 0 or g >= n_groups:
            raise ValueError("group_order: a group outside [0, n_groups)")
        ptr[g + 1] += 1
    for g in range(n_groups):
        ptr[g + 1] += ptr[g]
    fill = ptr[:n_groups].copy()
    order = np.empty(groups.shape[0], np.int64)
    for i in range(groups.shape[0]):
        g = groups[i]
        order[fill[g]] = i
        fill[g] += 1
    return ptr, order
