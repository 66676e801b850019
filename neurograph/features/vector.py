"""``neuron_features``: one row of registered features per neuron."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from . import arbors, compartments, cortical, dendrite_form, morphology, neurites, position, sholl, tufts  # noqa: F401  (register the features)
from .context import NeuronContext
from .registry import ALL_GROUPS, DEFAULT_GROUPS, FEATURES, Feature

if TYPE_CHECKING:  # pragma: no cover
    from ..graph import Neuron


def _selected(groups: Sequence[str] | None) -> list[Feature]:
    groups = tuple(DEFAULT_GROUPS if groups is None else groups)
    unknown = set(groups) - set(ALL_GROUPS)
    if unknown:
        raise InputError(f"unknown feature group(s) {sorted(unknown)}; choose from {list(ALL_GROUPS)}")
    return [f for f in FEATURES.values() if f.group in groups]


FORMS = ("canonical", "raw")


def _contexts(neuron: "Neuron", features: list[Feature], form: str) -> dict[str, NeuronContext]:
    """One context per form the selected features need (the canonical form is built once)."""
    if form not in FORMS:
        raise InputError(f"form must be one of {FORMS}, got {form!r}")
    canonical_too = form == "canonical" and any(f.form == "canonical" for f in features)
    ctx = {}
    if not canonical_too or any(f.form == "raw" for f in features):  # built only when a feature needs it
        ctx["raw"] = ctx["canonical"] = NeuronContext(neuron)
    if canonical_too:
        from ..graph.heal import canonical  # features sit above graph; imported late (graph imports features)

        ctx["canonical"] = NeuronContext(canonical(neuron), canonical=True)
    return ctx


def feature_row(neuron: "Neuron", groups: Sequence[str] | None = None, form: str = "canonical",
                features: Sequence[str] | None = None) -> dict[str, float]:
    """The registered features of one neuron as ``{column: value}`` (units: :func:`feature_table`).

    Parameters
    ----------
    neuron : Neuron
        From :func:`neurograph.extract`, :func:`neurograph.load_swc` or :func:`neurograph.decompose`.
    groups : sequence of str, optional
        Feature groups (:data:`~neurograph.features.registry.ALL_GROUPS`); default
        :data:`~neurograph.features.registry.DEFAULT_GROUPS` (every group except the opt-in
        ``"position"``, ``"dendrite_form"`` and ``"tufts"``).
    form : {"canonical", "raw"}
        ``"canonical"`` (default): each feature is computed on the form of the neuron its
        registry entry names (``feature_table()["form"]``): skeleton shape on
        :func:`neurograph.canonical` (short side arms pruned, resampled at a fixed spacing),
        inputs tied to the raw nodes (radii, mesh, synapses, spines, compartments) on the
        neuron as given. ``"raw"``: everything on the neuron as given.
    features : sequence of str, optional
        Only these registered features (names of :data:`~neurograph.features.registry.FEATURES`,
        any group); default every feature of ``groups``.

    Returns
    -------
    dict of str to float
        One value per feature column, in the column's registered unit (lengths µm, widths
        nm, angles degrees); NaN for features whose inputs are missing.

    Raises
    ------
    InputError
        ``neuron`` is not a neurograph Neuron, or a group or feature is unknown.
    """
    if not hasattr(neuron, "skeleton") or not hasattr(neuron, "node_branch"):
        raise InputError(f"neuron_features needs neurograph Neuron objects (from neurograph.extract, "
                         f"neurograph.load_swc or neurograph.decompose), got {type(neuron).__name__}")
    if features is None:
        selected = _selected(groups)
    else:
        unknown = [name for name in features if name not in FEATURES]
        if unknown:
            raise InputError(f"unknown feature(s) {unknown}; see neurograph.feature_table()")
        selected = [FEATURES[name] for name in features]
    contexts = _contexts(neuron, selected, form)
    row: dict[str, float] = {}
    for f in selected:
        ctx = contexts[f.form]
        if not f.requires <= ctx.available:
            values = np.full(len(f.columns), np.nan)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                try:
                    values = np.atleast_1d(np.asarray(f.func(ctx), dtype=float))
                except Exception as exc:  # name the feature in the traceback
                    raise RuntimeError(f"feature {f.name!r} failed on neuron {neuron.name!r}: {exc}") from exc
            if values.shape != (len(f.columns),):
                raise RuntimeError(f"feature {f.name!r} returned {values.shape[0]} values for "
                                   f"{len(f.columns)} columns")
        row.update(zip(f.columns, values.tolist()))
    return row


def neuron_features(neurons: "Neuron | Iterable[Neuron]", groups: Sequence[str] | None = None,
                    progress: Callable[[str, float], None] | None = None, form: str = "canonical") -> pd.DataFrame:
    """Neuron-level feature vectors: one row per neuron.

    Parameters
    ----------
    neurons : Neuron or iterable of Neuron
        From meshes (:func:`neurograph.extract`) or SWCs (:func:`neurograph.load_swc`).
    groups : sequence of str, optional
        Feature groups to compute (:data:`neurograph.features.registry.ALL_GROUPS`).
        Default: every group except ``"position"`` (brain-space coordinates, which depend
        on the dataset's frame).
    progress : callable(name, seconds), optional
        Called after each neuron with its name and wall time.
    form : {"canonical", "raw"}
        The form of the neuron skeleton features are computed on; see :func:`feature_row`.
        Heal fragmented neurons first (:func:`neurograph.heal`, or ``load_swc(..., heal=True)``):
        features of a neuron in pieces describe its pieces.

    Returns
    -------
    pandas.DataFrame
        Index ``neuron`` (names), one column per registered feature column; the unit and
        meaning of every column is in :func:`neurograph.features.feature_table`. Lengths
        in µm, radii and widths in nm. Features whose input is missing (mesh, radii,
        synapses, spines, compartment labels) are NaN.
    """
    if hasattr(neurons, "skeleton"):
        neurons = [neurons]
    rows, names = [], []
    for neuron in neurons:
        t0 = time.perf_counter()
        rows.append(feature_row(neuron, groups, form))
        names.append(getattr(neuron, "name", str(len(names))))
        if progress is not None:
            progress(names[-1], time.perf_counter() - t0)
    columns = [c for f in _selected(groups) for c in f.columns]
    return pd.DataFrame(rows, index=pd.Index(names, name="neuron"), columns=columns)
