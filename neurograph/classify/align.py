"""The tissue scale of one dataset against another, from their feature tables (opt-in).

Datasets shrink differently in preparation (fixation, dehydration, embedding, imaging), so the
same cell type can measure ~10-20 % longer in one connectome than in another, and a classifier
that leans on lengths calls it another type (``benchmarks/scale_shift.py``: FAFB lineage 0.942
-> 0.807 when the held-out neurons are 1.2x larger). :func:`estimate_scale` measures that factor
from the length columns of two feature tables, without labels; rescale the new neurons by its
inverse (:func:`neurograph.perturb.scale`) and recompute their features before predicting.

The estimate assumes both tables hold a similar mix of cell types: on a whole connectome's
neurons of the trained kinds it measures the tissue; on a few neurons of one type it measures
that type against the mix (five hemibrain DA1 lPNs against all FAFB PNs: 0.81, in the wrong
direction, because lPNs are smaller than the average PN). Off by default; nothing else calls it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import DataWarning, InputError
from ..features.registry import feature_table

#: units of the columns that scale with the tissue as a length
LENGTH_UNITS = ("µm", "nm")
#: fewer neurons than this in the new table: warn that the mix of types decides the estimate
MIN_NEURONS = 50
#: fewest usable length columns
MIN_COLUMNS = 10


def estimate_scale(features: pd.DataFrame, reference: pd.DataFrame, min_positive: float = 0.9) -> float:
    """How much larger (> 1) or smaller the neurons of ``features`` are than those of ``reference``.

    Over the registered length columns (unit µm or nm) positive in at least ``min_positive`` of
    the rows of both tables, the median of the log ratios of their column medians, as a factor.

    Parameters
    ----------
    features : pandas.DataFrame
        Neuron features of the new dataset (:func:`neurograph.neuron_features`), many neurons of
        the kinds the reference holds.
    reference : pandas.DataFrame
        The same columns for the dataset the classifier was trained on.
    min_positive : float, default 0.9
        A column is used only where this fraction of the rows of each table is > 0.

    Returns
    -------
    float
        Linear scale factor (dimensionless). Features of ``perturb.scale(neuron, 1 / factor)``
        are on the reference's scale.

    Raises
    ------
    InputError
        Not two DataFrames, or fewer than :data:`MIN_COLUMNS` usable length columns.

    Warns
    -----
    DataWarning
        ``features`` holds fewer than :data:`MIN_NEURONS` neurons: the estimate then follows the
        types present more than the tissue.
    """
    if not isinstance(features, pd.DataFrame) or not isinstance(reference, pd.DataFrame):
        raise InputError("estimate_scale needs two feature DataFrames (neurograph.neuron_features), got "
                         f"{type(features).__name__} and {type(reference).__name__}")
    units = feature_table()["unit"]
    cols = [c for c in features.columns.intersection(reference.columns)
            if units.get(c) in LENGTH_UNITS
            and (pd.to_numeric(features[c], errors="coerce") > 0).mean() >= min_positive
            and (pd.to_numeric(reference[c], errors="coerce") > 0).mean() >= min_positive]
    if len(cols) < MIN_COLUMNS:
        raise InputError(f"estimate_scale found {len(cols)} length columns (µm or nm) with values > 0 in both "
                         f"tables, needs {MIN_COLUMNS}; pass tables of neurograph.neuron_features with the "
                         "default groups")
    if len(features) < MIN_NEURONS:
        warnings.warn(f"estimate_scale on {len(features)} neurons: the estimate assumes the two tables hold a similar "
                      f"mix of cell types; with fewer than {MIN_NEURONS} neurons (or one type) it measures the types "
                      "present rather than the tissue", DataWarning, stacklevel=2)
    new = features[cols].apply(pd.to_numeric, errors="coerce")
    ref = reference[cols].apply(pd.to_numeric, errors="coerce")
    ratio = np.log(new.where(new > 0).median() / ref.where(ref > 0).median())
    return float(np.exp(np.nanmedian(ratio.to_numpy(float))))
