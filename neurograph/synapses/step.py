"""The synapse step: :func:`map_synapses` puts a synapse table on a neuron."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..graph.annotations import register_annotation
from ..io.synapses import load_synapses
from .mapping import assign_synapses, branch_synapse_counts


def map_synapses(neuron, table, voxel_size: float | tuple | None = None, columns: dict | None = None,
                 tolerance: float = 1000.0, centerline_tolerance: float | None = None, inplace: bool = False,
                 dataset: str | None = None):
    """Assign synapses to the nearest mesh surface -> branch, spine (head/neck) or soma.

    Parameters
    ----------
    neuron : Neuron
        With a mesh (or a skeleton: nearest node surface / centre line).
    table : path, pandas.DataFrame or dict
        Synapse table (see :func:`neurograph.load_synapses`); an already loaded table
        (``x, y, z`` nm and ``direction``) is used as is.
    voxel_size : float or (3,) floats, optional
        nm per coordinate unit of ``table``: 1 for nm, (4, 4, 40) for MICrONS voxels, 8 for hemibrain.
        Required unless ``dataset`` gives it or ``table`` comes from :func:`neurograph.load_synapses`
        (which says it is in nm); there is no default unit.
    columns : dict, optional
        Explicit column names (``direction, x, y, z, id``).
    tolerance : float, default 1000
        Synapses farther than this (nm) from the mesh are kept with ``mapped=False``.
    centerline_tolerance : float, optional
        Skeletons without radii: the largest distance (nm) from the centre line
        (default :data:`neurograph.synapses.mapping.CENTERLINE_TOLERANCE`, 5000).
    inplace : bool, default False
        Change ``neuron`` itself (and return it) instead of returning a new Neuron.
    dataset : str, optional
        Dataset profile whose synapse voxel size (and column names) apply when not given
        (:func:`neurograph.load_synapses`).

    Returns
    -------
    Neuron
        With ``synapses`` (one row per synapse, :data:`~neurograph.synapses.SYNAPSE_COLUMNS`),
        ``synapse_report``, and per-branch ``n_pre, n_post, n_post_spine, pre_per_um,
        post_per_um`` in ``branches``; a labelled neuron's synapses get their ``compartment``.
    """
    loaded = isinstance(table, pd.DataFrame) and {"x", "y", "z", "direction"} <= set(table.columns) \
        and table.attrs.get("units") == "nm" and columns is None \
        and (voxel_size is None or np.all(np.asarray(voxel_size, float) == 1.0))
    syn = table if loaded else load_synapses(table, voxel_size=voxel_size, columns=columns, dataset=dataset)
    extra = {} if centerline_tolerance is None else {"centerline_tolerance": centerline_tolerance}
    out = neuron if inplace else neuron.copy()
    out.synapses, out.synapse_report = assign_synapses(out, syn, tolerance=tolerance, **extra)
    n_ids = int(out.node_branch.max()) + 1
    counts = branch_synapse_counts(out.synapses, out.branches, n_ids)
    out.set_branch_values({b: {k: float(v) if k.endswith("_um") else int(v) for k, v in row.items()}
                           for b, row in zip(counts.index, counts.to_dict("records"))})
    labels = {b: d.get("compartment") for b, d in out.graph.nodes(data=True) if d.get("compartment")}
    if labels:
        b = out.synapses["branch"].to_numpy()
        out.synapses["compartment"] = [labels.get(int(x), "unmapped") if x >= 0 else "unmapped" for x in b]
    return out


def _remap(new, old) -> None:
    """Map ``old``'s synapses onto ``new`` from their positions (nm), with the same tolerance."""
    if old.synapses is not None:
        tolerance = float(old.synapse_report.get("tolerance_nm", 1000.0))
        extra = {}
        if "centerline_tolerance_nm" in old.synapse_report:
            extra["centerline_tolerance"] = float(old.synapse_report["centerline_tolerance_nm"])
        map_synapses(new, old.synapses, voxel_size=1.0, tolerance=tolerance, inplace=True, **extra)
    elif new is not old:
        new.synapses, new.synapse_report = None, {}


register_annotation("synapses", 10, _remap)
