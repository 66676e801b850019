"""neurograph.arrays: the sort-based set operations give what numpy's give; lookup is dict.get per key."""

import numpy as np
import pytest

from neurograph.arrays import isin, lookup, small_unique, unique, unique_rows


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64])
def test_unique_and_isin_match_numpy(dtype):
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 5000):
        a = rng.integers(-50, 50, n).astype(dtype)
        v = rng.integers(-60, 60, n // 2 + 1).astype(dtype)
        np.testing.assert_array_equal(unique(a), np.unique(a))
        np.testing.assert_array_equal(isin(a, v), np.isin(a, v))


def test_unique_rows_inverse_rebuilds_the_input():
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 5, (400, 3))
    uniq, inverse = unique_rows(rows)
    np.testing.assert_array_equal(uniq[inverse], rows)
    assert len(uniq) == len(np.unique(rows, axis=0))
    assert len({tuple(r) for r in uniq}) == len(uniq)


def test_lookup_is_dict_get_with_negative_and_unknown_keys_the_default():
    names = {0: "soma", 2: "axon", 5: "dendrite", -1: "never"}  # negative keys in the table are ignored
    keys = np.array([-1, 0, 1, 2, 5, 6, 10**9, -7])
    got = lookup(keys, names, "unmapped")
    assert got.dtype == object
    assert got.tolist() == ["unmapped", "soma", "unmapped", "axon", "dendrite", "unmapped", "unmapped", "unmapped"]
    assert lookup(keys.reshape(2, 4), names, "").shape == (2, 4)
    assert lookup(np.array([], np.int64), names, "").shape == (0,)
    assert lookup(np.array([0, 3]), {}, "x").tolist() == ["x", "x"]
    np.testing.assert_array_equal(lookup(np.array([2, 4, -1]), {2: 7, 3: 1}, 0, dtype=np.uint8),
                                  np.array([7, 0, 0], np.uint8))


def test_lookup_keeps_sequence_values_whole():
    got = lookup(np.array([1, 0]), {0: (1, 2), 1: (3, 4)}, None)
    assert got.tolist() == [(3, 4), (1, 2)]


def test_lookup_edge_cases_match_dict_get():
    table = {0: "a", 3: "c", -2: "ignored"}
    keys = [3, 0, -1, -2, 7]
    assert list(lookup(keys, table, "u")) == [table.get(k, "u") if k >= 0 else "u" for k in keys]
    assert lookup([1], {0: "a"}, (1, 2))[0] == (1, 2)  # a sequence default stays one object
    far = {10 ** 11: "far", 2: "b"}  # sparse ids: no table of 10**11 slots
    assert list(lookup([10 ** 11, 2, 5, -1], far, "u")) == ["far", "b", "u", "u"]
    assert list(lookup(np.array([1.0, np.nan, 0.0]), {0: "a", 1: "b"}, "u")) == ["b", "u", "a"]
    with pytest.raises(ValueError):
        lookup(np.array([0.5]), {0: "a"}, "u")
    assert lookup(np.array([[0, 3], [9, -1]]), table, None).shape == (2, 2)
    assert lookup(np.array([], np.int64), {}, "x").shape == (0,)


@pytest.mark.parametrize("n", [1, 7, 5000])
def test_small_unique_is_numpys_unique_with_inverse(n):
    rng = np.random.default_rng(n)
    for values in (rng.integers(0, n, size=3 * n), rng.integers(0, n, size=max(1, n // 3)).astype(np.int32),
                   np.empty(0, np.int64)):
        got, want = small_unique(values, n), np.unique(values, return_inverse=True)
        assert all(np.array_equal(a, b) and a.dtype == np.int64 for a, b in zip(got, want))


def test_small_unique_refuses_values_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        small_unique(np.array([0, 4]), 4)
    with pytest.raises(ValueError):
        small_unique(np.array([-1, 2]), 4)
    with pytest.raises(TypeError):  # a bool array would index as a mask
        small_unique(np.array([True, False]), 2)
