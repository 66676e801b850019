"""Neuron-level summary: one row per neuron."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: name -> (unit, description)
SUMMARY_COLUMNS: dict[str, tuple[str, str]] = {
    "n_somas": ("", "number of somata found"),
    "soma_radius": ("µm", "radius of the largest soma (NaN without a soma or when unknown)"),
    "n_limbs": ("", "number of primary neurites (subtrees leaving a soma)"),
    "n_branches": ("", "number of branches"),
    "n_branch_points": ("", "number of branches with children"),
    "n_leaves": ("", "number of terminal branches"),
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
    "extent_pc1": ("µm", "extent along the first principal axis of the skeleton (orientation-free)"),
    "extent_pc2": ("µm", "extent along the second principal axis"),
    "extent_pc3": ("µm", "extent along the third principal axis"),
}


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return float("nan")
    v, w = values[ok], weights[ok]
    order = np.argsort(v)
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, cum[-1] / 2)])


def neuron_summary(branches: pd.DataFrame, skeleton_vertices: np.ndarray, somas: list,
                   mesh_area_um2: float = float("nan")) -> dict:
    """Summary features of one neuron (see :data:`SUMMARY_COLUMNS` for units).

    Parameters
    ----------
    branches : pandas.DataFrame
        Branch table (lengths µm, volumes µm³, widths nm) with ``limb``, ``n_children``,
        ``length``, ``path_to_soma``, ``branch_order``, ``strahler``, ``volume`` and
        ``width_median`` columns.
    skeleton_vertices : (n, 3) float ndarray
        Skeleton node coordinates in nm (for the bounding box and principal extents).
    somas : list of Soma
        Detected somata; their radius is in nm (0 = unknown).
    mesh_area_um2 : float, optional
        Mesh surface area in µm² (NaN without a mesh).

    Returns
    -------
    dict of str to float or int
        The :data:`SUMMARY_COLUMNS`: lengths and extents in µm, ``mesh_area`` µm²,
        ``total_volume`` µm³, ``width_median`` nm (length-weighted), counts.
    """
    pts = np.asarray(skeleton_vertices, dtype=float) / 1e3
    extent = np.ptp(pts, axis=0) if len(pts) else np.full(3, np.nan)
    if len(pts) >= 3:
        centered = pts - pts.mean(axis=0)
        _, _, vt = np.linalg.svd(centered, full_matrices=False)
        proj = centered @ vt.T
        pc = np.ptp(proj, axis=0)
        pc = np.pad(pc, (0, 3 - len(pc)), constant_values=0.0)
    else:
        pc = np.full(3, np.nan)
    has_rows = len(branches) > 0
    ends = branches["path_to_soma"] + branches["length"] if has_rows else pd.Series(dtype=float)
    return {
        "n_somas": len(somas),
        "soma_radius": max((s.radius for s in somas if s.radius > 0), default=np.nan) / 1e3,  # 0: unknown (SWC)
        "n_limbs": int(branches["limb"].nunique()) if has_rows else 0,
        "n_branches": int(len(branches)),
        "n_branch_points": int((branches["n_children"] > 0).sum()) if has_rows else 0,
        "n_leaves": int((branches["n_children"] == 0).sum()) if has_rows else 0,
        "total_length": float(branches["length"].sum()) if has_rows else 0.0,
        "max_path_length": float(ends.max()) if has_rows else 0.0,
        "max_branch_order": int(branches["branch_order"].max()) if has_rows else 0,
        "max_strahler": int(branches["strahler"].max()) if has_rows else 0,
        "mesh_area": float(mesh_area_um2),
        "total_volume": float(branches["volume"].sum()) if has_rows else 0.0,
        "width_median": _weighted_median(branches["width_median"].to_numpy(float), branches["length"].to_numpy(float))
        if has_rows else float("nan"),
        "bbox_x": float(extent[0]), "bbox_y": float(extent[1]), "bbox_z": float(extent[2]),
        "extent_pc1": float(pc[0]), "extent_pc2": float(pc[1]), "extent_pc3": float(pc[2]),
    }
