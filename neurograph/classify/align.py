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

Each new neuron is compared with the reference neurons most like it in shape (the registered
scale-free columns: counts, fractions, angles, normalised profiles), so that the estimate does not
depend on which types the new table holds: a few neurons of one type are measured against the
same kind of neuron, not against the average of the training set (``neighbours=None``, the
earlier estimate, compares whole-table medians and needs a similar mix of types: five hemibrain
DA1 lPNs against the FAFB PNs read 0.69-0.72, because lPNs are smaller than the average PN).
Off by default; nothing else calls it.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from ..errors import DataWarning, InputError, check_number
from ..features.registry import feature_table

#: units of the columns that scale with the tissue as a length
LENGTH_UNITS = ("µm", "nm")
#: fewer neurons than this in the new table (``neighbours=None``): warn that the mix of types decides
MIN_NEURONS = 50
#: fewer neurons than this in the new table (matched by shape): warn that single neurons decide
MIN_MATCHED = 10
#: reference neurons each new neuron is measured against (nearest in shape)
NEIGHBOURS = 10
#: fewest usable length columns
MIN_COLUMNS = 10
#: columns measured in a fixed window (cable within 30 µm, backbone radius at 40 µm, shells,
#: profiles), which do not grow with the tissue: left out
FIXED_WINDOW = re.compile(r"(_m?\d+(_m?\d+)?um$)|(_\d+um_)|(_profile_)|(_shell_)")


def estimate_scale(features: pd.DataFrame, reference: pd.DataFrame, min_positive: float = 0.9,
                   neighbours: int | None = NEIGHBOURS) -> float:
    """How much larger (> 1) or smaller the neurons of ``features`` are than those of ``reference``.

    Over the registered length columns (unit µm or nm; not the ``position`` group, which holds
    coordinates, nor columns measured in a fixed window, :data:`FIXED_WINDOW`) that are finite and
    > 0 in at least ``min_positive`` of the rows of both tables: each new neuron's log size
    relative to its ``neighbours`` nearest reference neurons in shape (the median over the length
    columns of the log ratio of its value to their median; nearest in the registered scale-free
    columns, each centred on the reference's median and divided by its interquartile range), and
    the median over the new neurons, as a factor. With ``neighbours=None``, the median over the
    length columns of the log ratio of the two tables' column medians.

    Parameters
    ----------
    features : pandas.DataFrame
        Neuron features of the new dataset (:func:`neurograph.neuron_features`).
    reference : pandas.DataFrame
        The same columns for the dataset the classifier was trained on.
    min_positive : float, default 0.9
        A column is used only where this fraction of the rows of each table is finite and > 0
        (and, for the shape, finite in this fraction of the reference's rows).
    neighbours : int or None, default 10
        Reference neurons each new neuron is measured against (all of them when the reference is
        smaller). ``None``: whole-table medians, for two tables with a similar mix of types.

    Returns
    -------
    float
        Linear scale factor (dimensionless). Features of ``perturb.scale(neuron, 1 / factor)``
        are on the reference's scale.

    Raises
    ------
    InputError
        Not two DataFrames, duplicated column names, ``min_positive`` not in (0, 1],
        ``neighbours`` not a positive whole number or None, fewer than :data:`MIN_COLUMNS` usable
        length columns, or (with ``neighbours``) fewer than :data:`MIN_COLUMNS` usable scale-free
        columns or no new neuron with a length value.

    Warns
    -----
    DataWarning
        ``features`` holds fewer than :data:`MIN_NEURONS` neurons (:data:`MIN_MATCHED` with
        ``neighbours``): the estimate then follows the types present (or, per neuron, its own
        size) more than the tissue.
    """
    if not isinstance(features, pd.DataFrame) or not isinstance(reference, pd.DataFrame):
        raise InputError("estimate_scale needs two feature DataFrames (neurograph.neuron_features), got "
                         f"{type(features).__name__} and {type(reference).__name__}")
    if not (isinstance(min_positive, (int, float)) and 0 < min_positive <= 1):
        raise InputError(f"min_positive must be a fraction in (0, 1], got {min_positive!r}")
    if neighbours is not None:
        neighbours = int(check_number(neighbours, "neighbours", positive=True, integer=True))
    for name, table in (("features", features), ("reference", reference)):
        if table.columns.duplicated().any():
            raise InputError(f"{name} has duplicated columns {sorted(set(table.columns[table.columns.duplicated()]))}")
    registry = feature_table()
    units, group = registry["unit"], registry["group"]
    shared = features.columns.intersection(reference.columns)
    cols = [c for c in shared
            if units.get(c) in LENGTH_UNITS and group.get(c) != "position" and not FIXED_WINDOW.search(str(c))]
    new, ref = (_numeric(t, cols) for t in (features, reference))
    new, ref = (t.where(t > 0) for t in (new, ref))  # lengths: finite and > 0
    cols = [c for c in cols if new[c].notna().mean() >= min_positive and ref[c].notna().mean() >= min_positive]
    if len(cols) < MIN_COLUMNS:
        raise InputError(f"estimate_scale found {len(cols)} length columns (µm or nm, not in a fixed window) with "
                         f"finite values > 0 in both tables, needs {MIN_COLUMNS}; pass tables of "
                         "neurograph.neuron_features with the default groups")
    least = MIN_NEURONS if neighbours is None else MIN_MATCHED
    if len(features) < least:
        what = ("a similar mix of cell types" if neighbours is None
                else "several neurons: each one's own size relative to its kind scatters by ~8 %")
        warnings.warn(f"estimate_scale on {len(features)} neurons: the estimate assumes {what}; with fewer than "
                      f"{least} neurons it measures the neurons present rather than the tissue", DataWarning, stacklevel=2)
    if neighbours is None:
        ratio = np.log(new[cols].median() / ref[cols].median())
        return float(np.exp(np.nanmedian(ratio.to_numpy(float))))
    nearest = _nearest_in_shape(features, reference, shared, min_positive, neighbours)
    ref_len, new_len = ref[cols].to_numpy(float), new[cols].to_numpy(float)
    per_neuron = np.empty(len(new_len))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: columns a neighbourhood lacks
        for i in range(0, len(new_len), 4096):  # blocks: (neurons, neighbours, columns) stays small
            typical = np.nanmedian(ref_len[nearest[i:i + 4096]], axis=1)  # (neurons, columns)
            per_neuron[i:i + 4096] = np.nanmedian(np.log(new_len[i:i + 4096] / typical), axis=1)
    if not np.isfinite(per_neuron).any():
        raise InputError("estimate_scale found no new neuron with a length value its reference neighbours also have")
    return float(np.exp(np.nanmedian(per_neuron)))


def _numeric(table: pd.DataFrame, cols: list) -> pd.DataFrame:
    """``table[cols]`` as floats, NaN where not a finite number."""
    out = table[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    return out.where(np.isfinite(out))


def _nearest_in_shape(features: pd.DataFrame, reference: pd.DataFrame, shared: pd.Index, min_positive: float,
                      k: int) -> np.ndarray:
    """Row indices (into ``reference``) of the ``k`` reference neurons nearest each new neuron in the
    registered scale-free columns, each centred on the reference's median and divided by its
    interquartile range (clipped to ±5: one odd value must not decide; NaN counts as the median)."""
    registry = feature_table()
    free = [c for c in shared if bool(registry["scale_free"].get(c, False)) and registry["group"].get(c) != "position"]
    ref, new = _numeric(reference, free), _numeric(features, free)
    centre = ref.median()
    spread = ref.quantile(0.75) - ref.quantile(0.25)
    free = [c for c in free if ref[c].notna().mean() >= min_positive and spread[c] > 0]
    if len(free) < MIN_COLUMNS:
        raise InputError(f"estimate_scale found {len(free)} scale-free columns (counts, fractions, angles) that vary "
                         f"over the reference, needs {MIN_COLUMNS} to match neurons by shape; pass tables of "
                         "neurograph.neuron_features with the default groups, or neighbours=None")
    a, b = (((t[free] - centre[free]) / spread[free]).clip(-5, 5).fillna(0.0).to_numpy(float) for t in (ref, new))
    k = min(k, len(a))
    tree = NearestNeighbors(n_neighbors=k).fit(a)
    return tree.kneighbors(b, return_distance=False)
