"""The outputs of one finished neuron in a batch run: its table rows (``neurons``, ``branches``,
``spines``, ``synapses``), its QC picture and its precomputed skeleton."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .inputs import Task


def with_neuron(table: pd.DataFrame, neuron_id: str) -> pd.DataFrame:
    """``table`` with its index as columns (when named) and a first column ``neuron``."""
    table = table.copy()
    if table.index.name is not None or not isinstance(table.index, pd.RangeIndex):
        named = table.index.name is not None
        table = table.reset_index(drop=not named)
    table = table.drop(columns=["neuron"], errors="ignore")
    table.insert(0, "neuron", neuron_id)
    return table.reset_index(drop=True)


def neurons_row(neuron: Any, task: Task) -> pd.DataFrame:
    """The ``neurons`` row of one neuron.

    Parameters
    ----------
    neuron : Neuron
        The extracted (or SWC-loaded) neuron.
    task : Task
        Its task; gives ``neuron`` (id), ``label``, ``path`` and ``kind``.

    Returns
    -------
    pandas.DataFrame
        One row: ``neuron, label, path, kind``, the feature vector of
        :func:`neurograph.neuron_features` (default groups; the columns a classifier trained on
        ``neuron_features`` expects, units in :func:`neurograph.feature_table`), then the
        ``Neuron.summary`` columns that the feature vector does not have (``n_somas, n_branches,
        mesh_area, bbox_x, ...``; a name in both holds the feature's value), and last ``dataset``
        (profile name, ``""`` without one) and ``settings`` (JSON of ``Neuron.settings``: the final
        extraction values).
    """
    from ..features.summary import neuron_summary
    from ..features.vector import neuron_features

    features = neuron_features(neuron).reset_index(drop=True)
    summary = neuron_summary(neuron).reset_index(drop=True)
    extra = summary.drop(columns=[c for c in summary.columns if c in features.columns or c == "neuron"])
    import json

    settings = dict(getattr(neuron, "settings", None) or {})
    meta = pd.DataFrame({"neuron": [task.id], "label": [task.label], "path": [task.path], "kind": [task.kind]})
    made = pd.DataFrame({"dataset": [settings.get("dataset") or ""],
                         "settings": [json.dumps(settings, default=str, sort_keys=True)]})
    features = features.drop(columns=[c for c in meta.columns if c in features.columns])
    extra = extra.drop(columns=[c for c in made.columns if c in extra.columns])
    return pd.concat([meta, features, extra, made], axis=1)


def neuron_tables(neuron: Any, task: Task) -> dict[str, pd.DataFrame]:
    """The batch tables of one neuron.

    Parameters
    ----------
    neuron : Neuron
        The extracted (or SWC-loaded) neuron.
    task : Task
        Its task (``task.id`` fills the ``neuron`` columns).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``neurons`` (one row, :func:`neurons_row`), ``branches`` and, when the Neuron has
        them, ``spines`` and ``synapses``; every table starts with a ``neuron`` column.
    """
    tables = {"neurons": neurons_row(neuron, task), "branches": with_neuron(neuron.branches, task.id)}
    for name in ("spines", "synapses"):
        table = getattr(neuron, name, None)
        if isinstance(table, pd.DataFrame):
            tables[name] = with_neuron(table, task.id)
    return tables


def write_precomputed(parts: list, task: Task, options: dict) -> None:
    """Write the neurons' skeletons (and meshes) into the run's precomputed layer (made by the
    runner): a task's one neuron under its segment id, the parts of a split segment each under
    the id of its own name (``<segment>_<soma>``)."""
    from ..graph.interop import segment_id_of, write_neuron
    from ..io.precomputed import open_layer

    layer = open_layer(options["precomputed"], retries=0)
    for part in parts:
        if len(parts) > 1:
            sid = segment_id_of(part.name)
        else:
            sid = task.segment_id if task.segment_id is not None else segment_id_of(task.id)
        write_neuron(layer, part, sid, mesh=options.get("precomputed_mesh", True))


def split_tables(parts: list, task: Task) -> dict[str, pd.DataFrame]:
    """The batch tables of the neurons a segment was split into (one per soma).

    Parameters
    ----------
    parts : list of Neuron
        From ``extract(..., split=True)``, named ``<segment>_<soma>``.
    task : Task
        The segment's task.

    Returns
    -------
    dict of str to pandas.DataFrame
        As :func:`neuron_tables`, rows of every part concatenated (``neuron`` = the part's id);
        ``neurons`` gains ``segment``, ``soma``, ``n_cuts`` and ``cut_reasons`` (``;``-joined).
    """
    import dataclasses

    out: dict[str, list] = {}
    for i, part in enumerate(parts):
        sub = dataclasses.replace(task, id=part.name)
        tables = neuron_tables(part, sub)
        cuts = part.cuts if isinstance(part.cuts, pd.DataFrame) else pd.DataFrame(columns=["reason"])
        row = tables["neurons"]
        row.insert(1, "segment", task.id)
        row.insert(2, "soma", i if part.somas else -1)
        row["n_cuts"] = len(cuts)
        row["cut_reasons"] = ";".join(sorted(set(cuts["reason"].astype(str))))
        for name, table in tables.items():
            out.setdefault(name, []).append(table)
    return {name: pd.concat(tables, ignore_index=True) for name, tables in out.items()}


def qc_png(neuron: Any) -> bytes:
    """The QC picture of a neuron (:func:`neurograph.plot.qc_figure`) as PNG bytes."""
    import io

    import matplotlib

    matplotlib.use("Agg")  # worker processes have no display
    import matplotlib.pyplot as plt

    from ..plot import qc_figure

    fig = qc_figure(neuron)
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=72)
    finally:
        plt.close(fig)
    return buffer.getvalue()
