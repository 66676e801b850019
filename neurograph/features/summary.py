"""Neuron-level summary (:func:`neuron_summary`): one row per neuron, from the branch table
and the annotations (synapses, compartment labels, spines, somata)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..codes import COMPARTMENT_NAMES
from .vector import feature_row
from .morphology import wquant
from .perisomatic import soma_features, soma_summary

#: summary columns that are registered features: computed by the registry (one definition per name),
#: on the neuron as given (``form="raw"``), by these features
FROM_REGISTRY = ("soma_radius", "pca_extent")

#: name -> (unit, description)
SUMMARY_COLUMNS: dict[str, tuple[str, str]] = {
    "n_somas": ("", "number of somata found"),
    "soma_radius": ("µm", "radius of the largest soma (NaN without a soma or when unknown)"),
    "n_limbs": ("", "number of primary neurites (subtrees leaving a soma)"),
    "n_branches": ("", "number of branches"),
    "n_branch_points": ("", "number of branches with children"),
    "n_tips": ("", "number of terminal branches (tips) as reconstructed; the feature vector's n_tips counts "
                   "them on the canonical form"),
    "total_length": ("µm", "sum of branch lengths"),
    "max_path_length": ("µm", "longest path from the soma surface (or root) to a tip"),
    "max_branch_order": ("", "highest branch order"),
    "max_strahler": ("", "Strahler order of the neuron"),
    "mesh_area": ("µm²", "surface area of the repaired mesh"),
    "total_volume": ("µm³", "sum of branch volumes"),
    "width_median": ("nm", "length-weighted median branch width"),
    "bbox_x": ("µm", "bounding-box extent along x (depends on orientation)"),
    "bbox_y": ("µm", "bounding-box extent along y"),
    "bbox_z": ("µm", "bounding-box extent along z"),
    "extent_pc1": ("µm", "extent of the skeleton along the first cable-weighted principal axis (orientation-free; "
                         "the registered feature on the neuron as given)"),
    "extent_pc2": ("µm", "extent along the second principal axis"),
    "extent_pc3": ("µm", "extent along the third principal axis"),
}


def shape_summary(branches: pd.DataFrame, skeleton_vertices: np.ndarray, somas: list,
                  mesh_area_um2: float = float("nan")) -> dict:
    """Summary columns of one neuron from its branch table (see :data:`SUMMARY_COLUMNS` for units).

    The columns that are registered features (``soma_radius``, ``extent_pc1-3``:
    :data:`FROM_REGISTRY`) are not here: :func:`neuron_summary` takes them from the registry.

    Parameters
    ----------
    branches : pandas.DataFrame
        Branch table (lengths µm, volumes µm³, widths nm) with ``limb``, ``n_children``,
        ``length``, ``path_to_soma``, ``branch_order``, ``strahler``, ``volume`` and
        ``width_median`` columns.
    skeleton_vertices : (n, 3) float ndarray
        Skeleton node coordinates in nm (for the bounding box).
    somas : list of Soma
        Detected somata.
    mesh_area_um2 : float, optional
        Mesh surface area in µm² (NaN without a mesh).

    Returns
    -------
    dict of str to float or int
        The :data:`SUMMARY_COLUMNS` but those of :data:`FROM_REGISTRY`: lengths and extents in
        µm, ``mesh_area`` µm², ``total_volume`` µm³, ``width_median`` nm (length-weighted, as
        the ``mesh_width_q50`` feature: the same function), counts.
    """
    pts = np.asarray(skeleton_vertices, dtype=float) / 1e3
    extent = np.ptp(pts, axis=0) if len(pts) else np.full(3, np.nan)
    has_rows = len(branches) > 0
    ends = branches["path_to_soma"] + branches["length"] if has_rows else pd.Series(dtype=float)
    return {
        "n_somas": len(somas),
        "n_limbs": int(branches["limb"].nunique()) if has_rows else 0,
        "n_branches": int(len(branches)),
        "n_branch_points": int((branches["n_children"] > 0).sum()) if has_rows else 0,
        "n_tips": int((branches["n_children"] == 0).sum()) if has_rows else 0,
        "total_length": float(branches["length"].sum()) if has_rows else 0.0,
        "max_path_length": float(ends.max()) if has_rows else 0.0,
        "max_branch_order": int(branches["branch_order"].max()) if has_rows else 0,
        "max_strahler": int(branches["strahler"].max()) if has_rows else 0,
        "mesh_area": float(mesh_area_um2),
        "total_volume": float(branches["volume"].sum()) if has_rows else 0.0,
        "width_median": float(wquant(branches["width_median"].to_numpy(float), branches["length"].to_numpy(float),
                                     np.array([0.5]))[0]) if has_rows else float("nan"),
        "bbox_x": float(extent[0]), "bbox_y": float(extent[1]), "bbox_z": float(extent[2]),
    }


def synapse_summary(table: pd.DataFrame | None, total_length_um: float) -> dict:
    """Neuron totals of a mapped synapse table, with densities per µm of cable.

    Parameters
    ----------
    table : pandas.DataFrame or None
        Mapped synapse table (:func:`map_synapses`).
    total_length_um : float
        Total cable length of the neuron, µm.

    Returns
    -------
    dict
        ``n_synapses, n_pre, n_post, n_unmapped, n_post_spine, n_post_soma`` (counts; all but
        ``n_synapses`` and ``n_unmapped`` count mapped synapses only) and ``pre_per_um``,
        ``post_per_um`` (1/µm, NaN without cable); empty when ``table`` is None.
    """
    if table is None:
        return {}
    ok = table["mapped"].to_numpy(bool)
    pre = table["direction"].to_numpy() == "pre"
    n_pre, n_post = int((ok & pre).sum()), int((ok & ~pre).sum())
    L = total_length_um if total_length_um and total_length_um > 0 else np.nan
    return {"n_synapses": int(len(table)), "n_pre": n_pre, "n_post": n_post, "n_unmapped": int((~ok).sum()),
            "n_post_spine": int((ok & ~pre & table["on_spine"].to_numpy(bool)).sum()),
            "n_post_soma": int((ok & ~pre & (table["soma"].to_numpy() >= 0)).sum()),
            "pre_per_um": n_pre / L, "post_per_um": n_post / L}


def compartment_lengths(neuron) -> dict:
    """Cable length per compartment, in µm, from the branch table.

    Parameters
    ----------
    neuron : Neuron
        Neuron whose ``branches`` table may have a ``compartment`` column (see
        :func:`label_compartments`).

    Returns
    -------
    dict of str to float
        ``axon_length``, ``dendrite_length`` (dendrite + apical + basal), ``apical_length``,
        ``basal_length``, in µm (0 for an absent compartment); empty when the neuron is not
        labelled.
    """
    branches = neuron.branches
    if "compartment" not in branches.columns:
        return {}
    length = branches.groupby("compartment")["length"].sum()
    get = lambda k: float(length.get(k, 0.0))  # noqa: E731
    return {"axon_length": get("axon"), "dendrite_length": get("dendrite") + get("apical") + get("basal"),
            "apical_length": get("apical"), "basal_length": get("basal")}


def spine_summary(neuron) -> dict:
    """Neuron-level spine numbers: counts and densities (per µm), overall and per compartment.

    Per-compartment columns ``n_spines_<name>`` and ``spine_density_<name>`` (spines per µm
    of that compartment's cable) appear once branches carry a ``compartment`` label
    (:func:`neurograph.label_compartments`) or skeleton nodes SWC types 2-4
    (axon/dendrite/apical). Empty when spines were not detected.

    Parameters
    ----------
    neuron : Neuron
        Neuron with ``spines`` (from :func:`neurograph.detect_spines`, or None) and ``branches``
        (lengths µm).

    Returns
    -------
    dict
        ``n_spines``, ``spine_density`` (1/µm), ``spine_volume_density`` (spine volume per
        cable length, µm³/µm) and the per-compartment columns; NaN densities where there is no
        cable.
    """
    sp = getattr(neuron, "spines", None)
    if sp is None:
        return {}
    b = neuron.branches
    total = float(b["length"].sum())
    out = {"n_spines": int(len(sp)), "spine_density": len(sp) / total if total > 0 else float("nan"),
           "spine_volume_density": float(sp["volume"].sum()) / total if total > 0 else float("nan")}
    if "compartment" in b.columns:
        label = b["compartment"].astype(str)
    else:
        types = np.asarray(neuron.skeleton.node_type)
        if not np.isin(types, list(COMPARTMENT_NAMES)).any():
            return out
        mode = pd.Series(types).groupby(neuron.node_branch).agg(lambda s: s.mode().iloc[0])
        label = mode.reindex(b.index).map(COMPARTMENT_NAMES).fillna("undefined").astype(str)
    sp_label = label.reindex(sp["branch"].to_numpy()).to_numpy()
    for name in sorted(set(label)):
        length = float(b["length"][label == name].sum())
        n = int((sp_label == name).sum())
        out[f"n_spines_{name}"] = n
        out[f"spine_density_{name}"] = n / length if length > 0 else float("nan")
    return out


def neuron_summary(neuron) -> pd.DataFrame:
    """One row of neuron-level numbers: shape (:data:`SUMMARY_COLUMNS`), synapses, compartments,
    spines and the largest soma.

    Parameters
    ----------
    neuron : Neuron

    Returns
    -------
    pandas.DataFrame
        One row, index ``neuron`` (the name); lengths µm, areas µm², volumes µm³, widths nm,
        densities per µm (:func:`shape_summary`, :func:`synapse_summary`,
        :func:`compartment_lengths`, :func:`spine_summary`,
        :func:`neurograph.features.perisomatic.soma_summary`).
    """
    area = float(neuron.mesh.area) / 1e6 if neuron.mesh is not None else float("nan")
    row = shape_summary(neuron.branches, neuron.skeleton.vertices, neuron.somas, area)
    row.update(feature_row(neuron, form="raw", features=FROM_REGISTRY))
    row = {**{k: row[k] for k in SUMMARY_COLUMNS}, **row}  # the documented order
    row.update(synapse_summary(neuron.synapses, row["total_length"]))
    row.update(compartment_lengths(neuron))
    row.update(spine_summary(neuron))
    if neuron.somas:
        row.update(soma_summary(soma_features(neuron)))
    return pd.DataFrame([row], index=pd.Index([neuron.name], name="neuron"))
