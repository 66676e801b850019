"""navis neurons -> plain tables in nanometres (the units taken from navis' own metadata).

`navis <https://navis-org.github.io/navis/>`_ keeps the unit of every neuron in ``x.units``
(a pint quantity such as ``8 nanometer`` for hemibrain data or ``1 micrometer``). The
readers here convert coordinates and radii with it; a neuron without a length unit is
refused unless the caller says how many nm one unit is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, check_number


def navis_module():
    """Import navis, with a clear error when it is missing."""
    try:
        import navis
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError("navis conversion needs navis: pip install navis") from exc
    return navis


def unit_scale(x: Any, nm_per_unit: float | None = None) -> float:
    """nm per coordinate unit of a navis neuron, from ``x.units``.

    Parameters
    ----------
    x : navis.TreeNeuron or navis.MeshNeuron
    nm_per_unit : float, optional
        Override (for neurons whose ``units`` are missing or dimensionless).

    Returns
    -------
    float

    Raises
    ------
    InputError
        The neuron has no length unit (and no override), or a non-isotropic unit.
    """
    if nm_per_unit is not None:
        return check_number(nm_per_unit, "nm_per_unit", positive=True)
    units = getattr(x, "units", None)
    try:
        value = float(units.to("nm").magnitude)
    except Exception as exc:
        raise InputError(f"navis neuron {getattr(x, 'name', '')!r} has no length unit (units={units!r}); set "
                         "x.units (e.g. '8 nm' for hemibrain voxels) or pass nm_per_unit=") from exc
    if np.ndim(value) != 0 or not (np.isfinite(value) and value > 0):
        raise InputError(f"navis neuron units {units!r} are not one positive length; pass nm_per_unit=")
    return value


def tree_table(x: Any, nm_per_unit: float | None = None) -> tuple[pd.DataFrame, dict]:
    """A navis ``TreeNeuron`` as an SWC-like table in nm.

    Parameters
    ----------
    x : navis.TreeNeuron
    nm_per_unit : float, optional
        Override of ``x.units``.

    Returns
    -------
    table : pandas.DataFrame
        ``node_id, parent_id, type, x, y, z, radius`` (nm; radius NaN where navis has none
        or ``<= 0``). ``type`` is the SWC ``label`` column (0 where absent) and 1 at the navis
        soma node(s); other node columns (e.g. ``compartment``) are kept.
    meta : dict
        ``nm_per_unit``, ``units`` (text), ``name``, ``id``.
    """
    scale = unit_scale(x, nm_per_unit)
    nodes = x.nodes
    table = pd.DataFrame({"node_id": nodes["node_id"].to_numpy(np.int64),
                          "parent_id": nodes["parent_id"].to_numpy(np.int64)})
    label = pd.to_numeric(nodes["label"], errors="coerce") if "label" in nodes.columns else None
    table["type"] = np.zeros(len(nodes), np.int64) if label is None else label.fillna(0).to_numpy(np.int64)
    soma = getattr(x, "soma", None)
    if soma is not None:
        soma_ids = np.atleast_1d(np.asarray(soma)).astype(np.int64)
        table.loc[table["node_id"].isin(soma_ids), "type"] = 1
    for c in "xyz":
        table[c] = nodes[c].to_numpy(float) * scale
    radius = nodes["radius"].to_numpy(float) * scale if "radius" in nodes.columns else np.full(len(nodes), np.nan)
    table["radius"] = np.where(radius > 0, radius, np.nan)
    for c in nodes.columns:
        if c not in table.columns and c not in ("label", "type"):
            table[c] = nodes[c].to_numpy()
    return table, {"nm_per_unit": scale, "units": str(getattr(x, "units", "")), "name": str(getattr(x, "name", "")),
                   "id": getattr(x, "id", None)}


def connector_table(x: Any, nm_per_unit: float | None = None) -> pd.DataFrame | None:
    """The connectors (synapses) of a navis neuron as a synapse table in nm.

    Parameters
    ----------
    x : navis.TreeNeuron or navis.MeshNeuron
    nm_per_unit : float, optional
        Override of ``x.units``.

    Returns
    -------
    pandas.DataFrame or None
        ``id, x, y, z, direction`` (``pre``/``post``; CATMAID codes 0 = pre, 1 = post are
        translated), for :func:`neurograph.load_synapses`, and ``node_id`` when navis ties
        connectors to nodes; None without connectors.
    """
    con = getattr(x, "connectors", None)
    if con is None or not len(con):
        return None
    scale = unit_scale(x, nm_per_unit)
    kind = con["type"]
    if pd.api.types.is_numeric_dtype(kind):
        direction = kind.map({0: "pre", 1: "post"})
    else:
        direction = kind.astype(str).str.lower().map(lambda t: "pre" if t.startswith("pre") else
                                                     ("post" if t.startswith("post") else None))
    keep = direction.notna().to_numpy()
    ids = con["connector_id"].to_numpy() if "connector_id" in con.columns else np.arange(len(con))
    out = pd.DataFrame({"id": ids[keep], "x": con["x"].to_numpy(float)[keep] * scale,
                        "y": con["y"].to_numpy(float)[keep] * scale, "z": con["z"].to_numpy(float)[keep] * scale,
                        "direction": direction[keep].to_numpy()})
    if "node_id" in con.columns:
        out["node_id"] = con["node_id"].to_numpy()[keep]
    out.attrs["units"] = "nm"
    return out


def mesh_arrays(x: Any, nm_per_unit: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (nm) and faces of a navis ``MeshNeuron``.

    Parameters
    ----------
    x : navis.MeshNeuron
    nm_per_unit : float, optional
        Override of ``x.units``.

    Returns
    -------
    vertices : (n, 3) float64 ndarray, nm
    faces : (m, 3) int64 ndarray
    """
    scale = unit_scale(x, nm_per_unit)
    return np.asarray(x.vertices, float) * scale, np.asarray(x.faces, np.int64)
