"""The synapse step: :func:`map_synapses` puts a synapse table on a neuron."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..graph.annotations import register_annotation
from ..io.synapses import load_synapses
from .mapping import assign_synapses, branch_synapse_counts


def map_synapses(neuron, table, voxel_size: float | tuple = 1.0, columns: dict | None = None,
                 tolerance: float = 1000.0, centerline_tolerance: float | None = None) -> pd.DataFrame:
    """Assign synapses to the nearest mesh surface -> branch, spine (head/neck) or soma.

    Parameters
    ----------
    neuron : Neuron
        With a mesh (or a skeleton: nearest node surface / centre line).
    table : path, pandas.DataFrame or dict
        Synapse table (see :func:`neurograph.load_synapses`); an already loaded table
        (``x, y, z`` nm and ``direction``) is used as is.
    voxel_size : float or (3,) floats, default 1.0
        nm per coordinate unit of ``table`` ((4, 4, 40) for MICrONS, 8 for hemibrain).
    columns : dict, optional
        Explicit column names (``direction, x, y, z, id``).
    tolerance : float, default 1000
        Synapses farther than this (nm) from the mesh are kept with ``mapped=False``.
    centerline_tolerance : float, optional
        Skeletons without radii: the largest distance (nm) from the centre line
        (default :data:`neurograph.synapses.mapping.CENTERLINE_TOLERANCE`, 5000).

    Returns
    -------
    pandas.DataFrame
        ``neuron.synapses``: one row per synapse. Per-branch ``n_pre, n_post, n_post_spine,
        pre_per_um, post_per_um`` are added to ``neuron.branches``.
    """
    loaded = isinstance(table, pd.DataFrame) and {"x", "y", "z", "direction"} <= set(table.columns) \
        and np.all(np.asarray(voxel_size) == 1.0) and columns is None
    syn = table if loaded else load_synapses(table, voxel_size=voxel_size, columns=columns)
    extra = {} if centerline_tolerance is None else {"centerline_tolerance": centerline_tolerance}
    neuron.synapses, neuron.synapse_report = assign_synapses(neuron, syn, tolerance=tolerance, **extra)
    n_ids = int(neuron.node_branch.max()) + 1
    counts = branch_synapse_counts(neuron.synapses, neuron.branches, n_ids)
    for b, row in zip(counts.index, counts.to_dict("records")):
        if b in neuron.graph:
            neuron.graph.nodes[b].update({k: float(v) if k.endswith("_um") else int(v) for k, v in row.items()})
    labels = {b: d.get("compartment") for b, d in neuron.graph.nodes(data=True) if d.get("compartment")}
    if labels:
        b = neuron.synapses["branch"].to_numpy()
        neuron.synapses["compartment"] = [labels.get(int(x), "unmapped") if x >= 0 else "unmapped" for x in b]
    return neuron.synapses


def _remap(neuron) -> None:
    """Map the neuron's synapses again (same tolerance) after its branch graph changed."""
    if neuron.synapses is not None:
        tolerance = float(neuron.synapse_report.get("tolerance_nm", 1000.0))
        extra = {}
        if "centerline_tolerance_nm" in neuron.synapse_report:
            extra["centerline_tolerance"] = float(neuron.synapse_report["centerline_tolerance_nm"])
        map_synapses(neuron, neuron.synapses, tolerance=tolerance, **extra)


register_annotation("synapses", 10, _remap)
