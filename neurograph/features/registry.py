"""The registry of neuron-level features: one entry per feature function.

A feature is a function of a :class:`~neurograph.features.context.NeuronContext` that
returns one number, or an array for a feature with several columns (a profile). It is
registered with its column name(s), unit, description and the inputs it needs::

    @register("tips_per_mm", unit="1/mm", requires={"skeleton"}, group="morphology",
              description="terminal tips per mm of cable")
    def tips_per_mm(ctx):
        return len(ctx.tips) / (ctx.total_length / 1e6)   # total_length is in nm

Adding a feature is that function plus its decorator (the registry entry) in one of the
feature modules (:mod:`.morphology`, :mod:`.sholl`, :mod:`.arbors`, :mod:`.compartments`,
:mod:`.position`).
When an input is missing (a mesh for an SWC neuron, radii, synapses, compartment labels)
the feature is NaN: never invented. :func:`feature_table` lists every column with its unit.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable, Sequence

import pandas as pd

#: inputs a feature can need (``skeleton`` is always there)
INPUTS = frozenset({"skeleton", "soma", "radii", "mesh", "synapses", "spines", "compartments"})

#: feature groups computed by default; ``position`` (brain-space coordinates) and ``dendrite_form``
#: (dendrite field shape in the cell's own frame, issue #17: it did not improve layer or Cre-line
#: classification on both halves of the Allen cells, and moved FAFB lineage at seed 0 by one neuron
#: under resampling and radii perturbations; see docs/cortex.md) and ``tufts`` (cable density at glomerulus scale,
#: issue #11: the best single uPN/mPN columns, but no gain in the default FAFB classifiers over 10 fold
#: seeds; see docs/transfer.md) are opt-in
DEFAULT_GROUPS = ("morphology", "branches", "sholl", "arbors", "radii", "perisomatic", "compartments", "mesh",
                  "synapses", "spines", "cortical", "neurites")
ALL_GROUPS = DEFAULT_GROUPS + ("position", "dendrite_form", "tufts")

#: inputs tied to the nodes of the neuron as given: a feature needing one is computed on the raw
#: form; every other feature (skeleton shape, soma position) on the canonical form: the healed tree
#: with side arms < 10 µm pruned and the cable resampled every 1 µm (:func:`neurograph.canonical`), the
#: same whatever the reconstruction's twig density or node spacing
RAW_INPUTS = frozenset({"radii", "mesh", "synapses", "spines", "compartments"})


@dataclass(frozen=True)
class Feature:
    """One registered neuron-level feature.

    Attributes
    ----------
    name : str
        Registry key (and the column name for a single-column feature).
    columns : tuple of str
        Output column names (one for a scalar feature, several for a profile).
    unit : str
        Unit of every column (``""`` for counts and scale-free ratios).
    description : str
    requires : frozenset of str
        Inputs from :data:`INPUTS`; the feature is NaN when one is missing.
    group : str
        One of :data:`ALL_GROUPS`.
    scale_free : bool
        True when the value does not change if the neuron is uniformly scaled.
    form : str
        ``"canonical"`` or ``"raw"``: the form of the neuron the feature is computed on
        (``"raw"`` when it needs one of :data:`RAW_INPUTS`).
    func : callable(NeuronContext) -> float or array
    """

    name: str
    columns: tuple[str, ...]
    unit: str
    description: str
    requires: frozenset
    group: str
    scale_free: bool
    func: Callable = field(repr=False, compare=False)
    form: str = "raw"


#: name -> Feature, in registration order
FEATURES: dict[str, Feature] = {}


def register(name: str, unit: str, description: str, requires: Sequence[str] = ("skeleton",),
             group: str = "morphology", columns: Sequence[str] | None = None,
             scale_free: bool | None = None) -> Callable[[Callable], Callable]:
    """Decorator that adds a feature function to :data:`FEATURES`.

    Parameters
    ----------
    name : str
        Unique feature name.
    unit : str
        Unit of the value(s): ``"µm"``, ``"nm"``, ``"µm²"``, ``"1/mm"``, ``"deg"``, ``""``.
    description : str
        What is measured, in one sentence.
    requires : sequence of str
        Inputs from :data:`INPUTS`.
    group : str
        Feature group (:data:`ALL_GROUPS`).
    columns : sequence of str, optional
        Column names for a multi-column feature; the function then returns an array of
        that length.
    scale_free : bool, optional
        Defaults to True for an empty unit or ``"deg"``.

    Returns
    -------
    callable
        Decorator returning the feature function itself; a function without a docstring is
        given a generated numpydoc one (description, unit, columns and needed inputs).
    """
    req = frozenset(requires) | {"skeleton"}
    unknown = req - INPUTS
    if unknown:
        raise ValueError(f"feature {name!r}: unknown inputs {sorted(unknown)}; use {sorted(INPUTS)}")
    if group not in ALL_GROUPS:
        raise ValueError(f"feature {name!r}: unknown group {group!r}; use one of {ALL_GROUPS}")

    def wrap(func: Callable) -> Callable:
        if name in FEATURES:
            raise ValueError(f"feature {name!r} is registered twice")
        cols = tuple(columns) if columns is not None else (name,)
        free = scale_free if scale_free is not None else unit in ("", "deg")
        FEATURES[name] = Feature(name, cols, unit, description, req, group, free, func, "raw" if req & RAW_INPUTS else "canonical")
        if not func.__doc__:
            func.__doc__ = _feature_doc(FEATURES[name], func)
        return func

    return wrap


def _feature_doc(feature: Feature, func: Callable) -> str:
    """A numpydoc docstring for a registered feature function that has none."""
    params = list(inspect.signature(func).parameters)
    arg = params[0] if params else "ctx"
    unit = {"": "no unit: a count or a ratio", "deg": "degrees"}.get(feature.unit, feature.unit)
    needs = ", ".join(sorted(feature.requires))
    summary = feature.description[:1].upper() + feature.description[1:]
    if not summary.endswith("."):
        summary += "."
    if len(feature.columns) == 1:
        returns = f"float\n    The value of column ``{feature.columns[0]}``, {unit}."
    else:
        cols = feature.columns
        returns = (f"(n,) float ndarray\n    One value per column, n = {len(cols)} "
                   f"(``{cols[0]}`` ... ``{cols[-1]}``), {unit}.")
    return (f"{summary}\n\n"
            f"Registered feature ``{feature.name}`` (group ``{feature.group}``, unit "
            f"``{feature.unit or '-'}``{', scale-free' if feature.scale_free else ''}, computed on the "
            f"{feature.form} form of the neuron); "
            f"this docstring is generated by :func:`neurograph.features.registry.register`.\n\n"
            f"Parameters\n----------\n"
            f"{arg} : NeuronContext\n"
            f"    Derived arrays of one neuron (:class:`~neurograph.features.context.NeuronContext`, nm).\n\n"
            f"Returns\n-------\n{returns}\n\n"
            f"Notes\n-----\n"
            f"Needs the inputs: {needs}. When one is missing, :func:`neurograph.neuron_features` "
            f"reports NaN without calling this function.\n")


def feature_table(groups: Sequence[str] | None = None) -> pd.DataFrame:
    """Every feature column with its unit, description, inputs and group.

    Parameters
    ----------
    groups : sequence of str, optional
        Restrict to these groups (default: all, including ``position``).

    Returns
    -------
    pandas.DataFrame
        Index ``column``; columns ``feature, unit, description, requires, group, scale_free,
        form`` (``canonical`` or ``raw``: the form of the neuron the column is computed on).
    """
    from . import vector  # noqa: F401  (imports the feature modules, filling the registry)

    rows = []
    for f in FEATURES.values():
        if groups is not None and f.group not in groups:
            continue
        for col in f.columns:
            rows.append({"column": col, "feature": f.name, "unit": f.unit, "description": f.description,
                         "requires": ",".join(sorted(f.requires)), "group": f.group,
                         "scale_free": f.scale_free, "form": f.form})
    return pd.DataFrame(rows).set_index("column")
