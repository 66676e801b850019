"""Perisomatic features per soma (after Elabbady et al. 2022, MICrONS soma/nucleus features).

:func:`soma_features` returns one row per soma: size and shape of the soma surface, the
primary neurites leaving it, the somatic synapses and the synapses in path-distance shells
around it, and the soma's depth along a user-given axis. Lengths in µm, areas in µm²,
volumes in µm³, widths in nm.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import check_direction, renamed_parameters
from ..skeleton.tree import path_from_soma, root_labels

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..graph import Neuron

#: name -> (unit, description)
SOMA_COLUMNS: dict[str, tuple[str, str]] = {
    "volume": ("µm³", "volume enclosed by the soma surface (cones from the centre to its faces; "
                      "the openings where neurites leave are closed through the centre)"),
    "area": ("µm²", "area of the soma's mesh faces"),
    "area_volume_ratio": ("1/µm", "area / volume"),
    "sphericity": ("", "pi^(1/3) (6 V)^(2/3) / A: 1 for a sphere, less for any other shape"),
    "equivalent_radius": ("µm", "radius of the sphere of the same volume"),
    "radius": ("µm", "median distance from the centre to the soma membrane (soma detection)"),
    "n_primary_neurites": ("", "branches leaving the soma"),
    "primary_width_mean": ("nm", "mean base width of the primary neurites (first 1-5 µm)"),
    "primary_width_max": ("nm", "largest base width"),
    "primary_widths": ("nm", "base widths of all primary neurites, ';'-separated, largest first"),
    "n_somatic_synapses": ("", "synapses mapped to the soma surface"),
    "n_somatic_post": ("", "postsynaptic sites on the soma surface"),
    "somatic_synapse_density": ("1/µm²", "somatic synapses per µm² of soma surface"),
    "n_syn_0_15um": ("", "synapses (pre+post) 0-15 µm path distance from the soma surface, excl. somatic"),
    "n_syn_15_30um": ("", "synapses 15-30 µm path distance"),
    "n_syn_30_60um": ("", "synapses 30-60 µm path distance"),
    "n_post_0_15um": ("", "postsynaptic sites 0-15 µm path distance"),
    "n_post_15_30um": ("", "postsynaptic sites 15-30 µm"),
    "n_post_30_60um": ("", "postsynaptic sites 30-60 µm"),
    "depth": ("µm", "soma centre along the depth axis (minus the depth origin)"),
    "x": ("µm", "soma centre"), "y": ("µm", "soma centre"), "z": ("µm", "soma centre"),
}

SHELLS_UM = ((0.0, 15.0), (15.0, 30.0), (30.0, 60.0))
BASE_SPAN_NM = (1000.0, 5000.0)  # path distance window from the soma surface for base widths


def _soma_geometry(mesh, faces: np.ndarray, center: np.ndarray) -> tuple[float, float]:
    """Volume (nm³) and area (nm²) of a soma surface patch seen from its centre."""
    if mesh is None or faces is None or len(faces) == 0:
        return np.nan, np.nan
    tri = np.asarray(mesh.vertices)[np.asarray(mesh.faces)[faces]] - center
    # each face's cone to the centre; absolute values make it independent of face orientation
    vol = np.abs(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2]))).sum() / 6.0
    area = float(np.asarray(mesh.area_faces)[faces].sum())
    return float(vol), area


def _base_widths(neuron, soma_id: int, node_path: np.ndarray) -> list[float]:
    """Base width (nm) of every primary neurite of a soma: 2 x median radius of its nodes
    1-5 µm from the soma surface (the whole first branch when it is shorter)."""
    sk = neuron.skeleton
    widths = []
    for b in sorted(neuron.graph.successors(soma_id)):
        nodes = np.flatnonzero(neuron.node_branch == b)
        if not len(nodes):
            continue
        r = sk.radius[nodes]
        p = node_path[nodes]
        pick = (p >= BASE_SPAN_NM[0]) & (p <= BASE_SPAN_NM[1]) & np.isfinite(r) & (r > 0)
        if pick.sum() < 2:
            pick = np.isfinite(r) & (r > 0)
        if pick.any():
            widths.append(float(2 * np.median(r[pick])))
        else:
            w = neuron.graph.nodes[b].get("width_median", np.nan)
            widths.append(float(w))
    return sorted(widths, reverse=True)


@renamed_parameters(depth_origin="depth_origin_um")
def soma_features(neuron: Neuron, synapses: pd.DataFrame | None = None, depth_axis=(0.0, 1.0, 0.0),
                  depth_origin_um: float = 0.0) -> pd.DataFrame:
    """Perisomatic features of every soma of a neuron.

    Parameters
    ----------
    neuron : Neuron
    synapses : pandas.DataFrame, optional
        A mapped synapse table (:meth:`Neuron.map_synapses`); defaults to ``neuron.synapses``.
        Without synapses the synapse columns are NaN.
    depth_axis : (3,) floats, default (0, 1, 0)
        Direction along which depth is measured (normalised here). MICrONS and most EM
        volumes have the cortical depth (pia -> white matter) along +y.
    depth_origin_um : float, default 0
        Depth (µm along the axis) subtracted, e.g. the pia surface position.

    Returns
    -------
    pandas.DataFrame
        One row per soma (index ``soma``), columns :data:`SOMA_COLUMNS`.

    Raises
    ------
    InputError
        A ``depth_axis`` that is not a non-zero finite direction.
    """
    axis = check_direction(depth_axis, "depth_axis")  # a zero axis gave NaN depths without a word
    if synapses is None:
        synapses = getattr(neuron, "synapses", None)
    node_path = path_from_soma(neuron.skeleton, [s.radius for s in neuron.somas]) if len(neuron.somas) else None
    root = _root_soma(neuron) if len(neuron.somas) else None
    rows = []
    for i, s in enumerate(neuron.somas):
        vol, area = _soma_geometry(neuron.mesh, s.faces, np.asarray(s.center, float))
        vol_um, area_um = vol / 1e9, area / 1e6
        widths = _base_widths(neuron, i, node_path)
        row = {"volume": vol_um, "area": area_um,
               "area_volume_ratio": area_um / vol_um if vol_um > 0 else np.nan,
               "sphericity": (np.pi ** (1 / 3) * (6 * vol_um) ** (2 / 3) / area_um) if area_um > 0 else np.nan,
               "equivalent_radius": (3 * vol_um / (4 * np.pi)) ** (1 / 3) if vol_um > 0 else np.nan,
               "radius": s.radius / 1e3, "n_primary_neurites": neuron.graph.out_degree(i),
               "primary_width_mean": float(np.mean(widths)) if widths else np.nan,
               "primary_width_max": float(np.max(widths)) if widths else np.nan,
               "primary_widths": ";".join(f"{w:.0f}" for w in widths),
               "depth": float(np.asarray(s.center) @ axis / 1e3 - depth_origin_um),
               "x": s.center[0] / 1e3, "y": s.center[1] / 1e3, "z": s.center[2] / 1e3}
        if synapses is not None and len(synapses) and "mapped" in synapses.columns:
            ok = synapses["mapped"].to_numpy(bool)
            post = synapses["direction"].to_numpy() == "post"
            somatic = ok & (synapses["soma"].to_numpy() == i)
            row["n_somatic_synapses"] = int(somatic.sum())
            row["n_somatic_post"] = int((somatic & post).sum())
            row["somatic_synapse_density"] = somatic.sum() / area_um if area_um > 0 else np.nan
            node = synapses["node"].to_numpy()
            mine = ok & ~somatic & (node >= 0)
            mine[mine] = root[node[mine]] == i
            path = synapses["path_to_soma"].to_numpy(float)
            for lo, hi in SHELLS_UM:
                inside = mine & (path >= lo) & (path < hi)
                row[f"n_syn_{lo:.0f}_{hi:.0f}um"] = int(inside.sum())
                row[f"n_post_{lo:.0f}_{hi:.0f}um"] = int((inside & post).sum())
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(SOMA_COLUMNS))
    table.index.name = "soma"
    return table


def _root_soma(neuron) -> np.ndarray:
    """Soma id (0..k-1) whose tree every skeleton node belongs to (-1 for soma-less trees)."""
    sk = neuron.skeleton
    roots = root_labels(sk.topological_order().astype(np.int64), sk.parent)
    soma_of = np.full(sk.n_nodes, -1, np.int64)
    soma_of[sk.soma_nodes] = np.arange(len(sk.soma_nodes))
    return soma_of[roots]


def soma_summary(table: pd.DataFrame) -> dict:
    """Summary columns (``soma_<feature>``) of the largest soma (by volume, else radius).

    Parameters
    ----------
    table : pandas.DataFrame or None
        One row per soma, from :func:`soma_features` (units in :data:`SOMA_COLUMNS`).

    Returns
    -------
    dict
        ``soma_<column>`` for every column of the largest soma's row except ``x, y, z``,
        ``radius`` and ``primary_widths``, in the units of :data:`SOMA_COLUMNS`; empty when
        ``table`` is None or empty.
    """
    if table is None or not len(table):
        return {}
    key = table["volume"].fillna(-1) if table["volume"].notna().any() else table["radius"]
    row = table.loc[key.idxmax()]
    skip = {"x", "y", "z", "primary_widths", "radius"}
    return {f"soma_{k}": row[k] for k in table.columns if k not in skip}
