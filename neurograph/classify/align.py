"""The tissue scale of one dataset against another, from their feature tables (opt-in).

Datasets shrink differently in preparation (fixation, dehydration, embedding, imaging), so the
same cell type can measure ~10-20 % longer in one connectome than in another, and a classifier
that leans on lengths calls it another type (``benchmarks/scale_shift.py``: FAFB lineage 0.944
-> 0.807 when the held-out neurons are 1.2x larger). :func:`estimate_scale` measures that factor
from the length columns of two feature tables, without labels; rescale the new neurons by its
inverse (:func:`neurograph.perturb.scale`) and recompute their features before predicting
(``perturb.scale`` keeps skeleton, radii, somata and mesh; synapse, spine and compartment
annotations are not carried over, so map synapses again on the rescaled neuron if the model uses
them).

The estimate assumes both tables hold a similar mix of cell types: on a whole connectome's
neurons of the trained kinds it measures the tissue; on a few neurons of one type it measures
that type against the mix (five hemibrain DA1 lPNs against the FAFB PNs: 0.69-0.72, in the
wrong direction, because lPNs are smaller than the average PN). Off by default; nothing else calls it.
"""

from __future__ import annotations

import re
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
#: columns measured in a fixed window (cable within 30 µm, backbone radius at 40 µm, shells,
#: profiles), which do not grow with the tissue: left out
FIXED_WINDOW = re.compile(r"(_m?\d+(_m?\d+)?um$)|(_\d+um_)|(_profile_)|(_shell_)")


def estimate_scale(features: pd.DataFrame, reference: pd.DataFrame, min_positive: float = 0.9) -> float:
    """How much larger (> 1) or smaller the neurons of ``features`` are than those of ``reference``.

    Over the registered length columns (unit µm or nm; not the ``position`` group, which holds
    coordinates, nor columns measured in a fixed window, :data:`FIXED_WINDOW`) that are finite and
    > 0 in at least ``min_positive`` of the rows of both tables, the median of the log ratios of
    their column medians, as a factor.

    Parameters
    ----------
    features : pandas.DataFrame
        Neuron features of the new dataset (:func:`neurograph.neuron_features`), many neurons of
        the kinds the reference holds.
    reference : pandas.DataFrame
        The same columns for the dataset the classifier was trained on.
    min_positive : float, default 0.9
        A column is used only where this fraction of the rows of each table is finite and > 0.

    Returns
    -------
    float
        Linear scale factor (dimensionless). Features of ``perturb.scale(neuron, 1 / factor)``
        are on the reference's scale.

    Raises
    ------
    InputError
        Not two DataFrames, duplicated column names, ``min_positive`` not in (0, 1], or fewer
        than :data:`MIN_COLUMNS` usable length columns.

    Warns
    -----
    DataWarning
        ``features`` holds fewer than :data:`MIN_NEURONS` neurons: the estimate then follows the
        types present more than the tissue.
    """
    if not isinstance(features, pd.DataFrame) or not isinstance(reference, pd.DataFrame):
        raise InputError("estimate_scale needs two feature DataFrames (neurograph.neuron_features), got "
                         f"{type(features).__name__} and {type(reference).__name__}")
    if not (isinstance(min_positive, (int, float)) and 0 < min_positive <= 1):
        raise InputError(f"min_positive must be a fraction in (0, 1], got {min_positive!r}")
    for name, table in (("features", features), ("reference", reference)):
        if table.columns.duplicated().any():
            raise InputError(f"{name} has duplicated columns {sorted(set(table.columns[table.columns.duplicated()]))}")
    table = feature_table()
    units, group = table["unit"], table["group"]
    cols = [c for c in features.columns.intersection(reference.columns)
            if units.get(c) in LENGTH_UNITS and group.get(c) != "position" and not FIXED_WINDOW.search(str(c))]
    new, ref = (t[cols].apply(pd.to_numeric, errors="coerce").astype(float) for t in (features, reference))
    new, ref = (t.where(np.isfinite(t) & (t > 0)) for t in (new, ref))  # lengths: finite and > 0
    cols = [c for c in cols if new[c].notna().mean() >= min_positive and ref[c].notna().mean() >= min_positive]
    if len(cols) < MIN_COLUMNS:
        raise InputError(f"estimate_scale found {len(cols)} length columns (µm or nm, not in a fixed window) with "
                         f"finite values > 0 in both tables, needs {MIN_COLUMNS}; pass tables of "
                         "neurograph.neuron_features with the default groups")
    if len(features) < MIN_NEURONS:
        warnings.warn(f"estimate_scale on {len(features)} neurons: the estimate assumes the two tables hold a similar "
                      f"mix of cell types; with fewer than {MIN_NEURONS} neurons (or one type) it measures the types "
                      "present rather than the tissue", DataWarning, stacklevel=2)
    ratio = np.log(new[cols].median() / ref[cols].median())
    return float(np.exp(np.nanmedian(ratio.to_numpy(float))))
