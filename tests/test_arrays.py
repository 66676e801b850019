"""neurograph.arrays: the sort-based set operations give what numpy's give."""

import numpy as np
import pytest

from neurograph.arrays import isin, unique, unique_rows


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
