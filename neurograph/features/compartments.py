"""Perisomatic features, per-compartment aggregates, synapse / spine densities and mesh widths.

Inputs that a skeleton alone does not have are read from the neuron when present:

- compartments: SWC types 2 axon, 3 dendrite, 4 apical of the skeleton nodes (from the SWC
  file, or set by :func:`neurograph.label_compartments`);
- synapses: ``neuron.synapses`` (:meth:`Neuron.map_synapses`), a table with ``x, y, z`` in nm
  and ``direction`` (``"pre"``/``"post"``), optionally ``node`` (skeleton node index);
- spines: ``neuron.spines`` (one row per spine) or an ``n_spines`` column in ``neuron.branches``;
- mesh: ``neuron.mesh`` and the mesh-based branch widths.

Without them these features are NaN.
"""

from __future__ import annotations

import numpy as np

from .context import COMPARTMENT_TYPES, NeuronContext
from ..stats import safe_div
from .kernels import binned_cable
from .morphology import wquant
from .registry import register

NAN = float("nan")
PERISOMATIC_UM = 15.0  # synapses within soma radius + this many µm are perisomatic


# --- perisomatic ---------------------------------------------------------------------------

@register("soma_radius", "µm", "radius of the largest soma", group="perisomatic", requires=["soma"])
def soma_radius(ctx: NeuronContext) -> float:
    r = max((s.radius for s in ctx.somas), default=0.0)
    return r / 1e3 if r > 0 else NAN


@register("cable_near_soma", "µm", "cable within 10 µm and within 30 µm of the soma centre (or root)",
          group="perisomatic", columns=["cable_within_10um", "cable_within_30um"])
def cable_near_soma(ctx: NeuronContext) -> np.ndarray:
    edges = np.array([0.0, 10e3, 30e3, 1e300])
    cab = binned_cable(ctx.seg_radial0, ctx.seg_radial1, ctx.seg_length, edges)
    return np.array([cab[0], cab[0] + cab[1]]) / 1e3


@register("branch_points_near_soma", "", "branch points within 30 µm of the soma centre (or root)",
          group="perisomatic")
def branch_points_near_soma(ctx: NeuronContext) -> float:
    return float((ctx.node_radial[ctx.branch_points] <= 30e3).sum())


@register("primary_neurite", "µm", "path length and straight distance from the soma surface (or root) to the "
          "first branch point of the stem with the most cable", group="perisomatic",
          columns=["first_branch_path", "first_branch_distance"])
def primary_neurite(ctx: NeuronContext) -> np.ndarray:
    node = ctx.first_branch_node()
    if node < 0:
        return np.full(2, NAN)
    r = max((s.radius for s in ctx.somas), default=0.0)
    return np.array([ctx.node_path[node], max(ctx.node_radial[node] - r, 0.0)]) / 1e3


@register("primary_neurite_detour", "", "path / straight distance of the primary neurite to its first branch point",
          group="perisomatic")
def primary_neurite_detour(ctx: NeuronContext) -> float:
    path, dist = primary_neurite(ctx)
    return safe_div(path, dist)


@register("stem_angle", "deg", "mean angle between the directions in which the stems leave the soma "
          "(first 5 µm; needs >= 2 stems)", group="perisomatic", requires=["soma"])
def stem_angle(ctx: NeuronContext) -> float:
    b = ctx.branches
    stems = b.index[b["branch_order"] == 1].to_numpy()
    if len(stems) < 2:
        return NAN
    vec = ctx.direction_vectors[stems]
    vec = vec[np.abs(vec).sum(1) > 0]
    if len(vec) < 2:
        return NAN
    cos = np.clip(vec @ vec.T, -1, 1)
    iu = np.triu_indices(len(vec), 1)
    return float(np.degrees(np.arccos(cos[iu])).mean())


# --- compartments --------------------------------------------------------------------------

def _compartment_stats(ctx: NeuronContext, code: int) -> np.ndarray:
    comp = ctx.compartment
    seg_in = comp[ctx.seg] == code
    length = ctx.seg_length[seg_in].sum() / 1e3
    is_in = comp == code
    tips = float(is_in[ctx.tips].sum())
    bps = float(is_in[ctx.branch_points].sum())
    return np.array([length, tips, bps])


for _name, _code in COMPARTMENT_TYPES.items():
    def _make(code: int = _code):
        def f(ctx: NeuronContext) -> np.ndarray:
            return _compartment_stats(ctx, code)
        return f

    register(f"{_name}_cable", "", f"{_name}: cable length (µm), tips, branch points (from compartment labels)",
             group="compartments", requires=["compartments"], scale_free=False,
             columns=[f"{_name}_length", f"{_name}_tips", f"{_name}_branch_points"])(_make())

    def _make_r(code: int = _code):
        def f(ctx: NeuronContext) -> float:
            m = ctx.compartment[ctx.seg] == code
            return float(wquant(ctx.radius[ctx.seg][m], ctx.seg_length[m], np.array([0.5]))[0])
        return f

    register(f"{_name}_radius", "nm", f"cable-weighted median radius of the {_name}", group="compartments",
             requires=["compartments", "radii"])(_make_r())


@register("axon_dendrite_ratio", "", "axon cable / dendrite (basal + apical) cable", group="compartments",
          requires=["compartments"])
def axon_dendrite_ratio(ctx: NeuronContext) -> float:
    comp = ctx.compartment[ctx.seg]
    return safe_div(ctx.seg_length[comp == 2].sum(), ctx.seg_length[(comp == 3) | (comp == 4)].sum())


# --- synapses ------------------------------------------------------------------------------

def _synapse_nodes(ctx: NeuronContext) -> tuple[np.ndarray, np.ndarray]:
    """Skeleton node (nearest, unless the table has ``node``) and direction (pre/post) per synapse;
    the direction of a synapse left unmapped by :func:`neurograph.map_synapses` is ``""`` (counted
    nowhere, as in the neuron summary)."""
    syn = ctx.neuron.synapses
    nodes = syn["node"].to_numpy(np.int64, copy=True) if "node" in syn.columns else np.full(len(syn), -1, np.int64)
    bad = (nodes < 0) | (nodes >= ctx.n)
    if bad.any():
        from scipy.spatial import cKDTree

        nodes[bad] = cKDTree(ctx.vertices).query(syn.loc[bad, ["x", "y", "z"]].to_numpy(float))[1]
    col = "direction" if "direction" in syn.columns else "prepost" if "prepost" in syn.columns else None
    kind = syn[col].astype(str).str.lower().str.replace("syn", "", regex=False).to_numpy() if col \
        else np.full(len(syn), "")
    if "mapped" in syn.columns:  # synapses beyond the mapping tolerance are not on this neuron
        kind = np.where(syn["mapped"].to_numpy(bool), kind, "")
    return nodes, kind


@register("synapse_density", "1/µm", "presynapses and postsynapses per µm of cable", group="synapses",
          requires=["synapses"], columns=["pre_per_um", "post_per_um"])
def synapse_density(ctx: NeuronContext) -> np.ndarray:
    _, kind = _synapse_nodes(ctx)
    cable = ctx.total_length / 1e3
    return np.array([safe_div((kind == "pre").sum(), cable), safe_div((kind == "post").sum(), cable)])


@register("synapse_density_compartment", "1/µm", "presynapses per µm of axon and postsynapses per µm of dendrite",
          group="synapses", requires=["synapses", "compartments"], columns=["axon_pre_per_um", "dendrite_post_per_um"])
def synapse_density_compartment(ctx: NeuronContext) -> np.ndarray:
    nodes, kind = _synapse_nodes(ctx)
    comp = ctx.compartment
    seg_c = comp[ctx.seg]
    axon = ctx.seg_length[seg_c == 2].sum() / 1e3
    dend = ctx.seg_length[(seg_c == 3) | (seg_c == 4)].sum() / 1e3
    pre_ax = ((kind == "pre") & (comp[nodes] == 2)).sum()
    post_de = ((kind == "post") & np.isin(comp[nodes], [3, 4])).sum()
    return np.array([safe_div(pre_ax, axon), safe_div(post_de, dend)])


@register("perisomatic_synapse_fraction", "", f"fraction of postsynapses within soma radius + {PERISOMATIC_UM:g} µm "
          "of the soma centre", group="synapses", requires=["synapses", "soma"])
def perisomatic_synapse_fraction(ctx: NeuronContext) -> float:
    syn = ctx.neuron.synapses
    _, kind = _synapse_nodes(ctx)
    post = kind == "post"
    if not post.any():
        return NAN
    d = np.linalg.norm(syn[["x", "y", "z"]].to_numpy(float)[post] - ctx.reference, axis=1)
    limit = max(s.radius for s in ctx.somas) + PERISOMATIC_UM * 1e3
    return float((d <= limit).mean())


# --- spines --------------------------------------------------------------------------------

@register("spine_density", "1/µm", "spines per µm of dendrite (of all cable without compartment labels)",
          group="spines", requires=["spines"])
def spine_density(ctx: NeuronContext) -> float:
    spines = getattr(ctx.neuron, "spines", None)
    n = len(spines) if spines is not None else float(np.nansum(ctx.branches["n_spines"].to_numpy(float)))
    if "compartments" in ctx.available:
        c = ctx.compartment[ctx.seg]
        cable = ctx.seg_length[(c == 3) | (c == 4)].sum()
    else:
        cable = ctx.total_length
    return safe_div(n, cable / 1e3)


# --- mesh ----------------------------------------------------------------------------------

@register("mesh_area_per_length", "µm²/µm", "mesh surface area per µm of cable", group="mesh", requires=["mesh"],
          scale_free=False)
def mesh_area_per_length(ctx: NeuronContext) -> float:
    return safe_div(float(ctx.neuron.mesh.area) / 1e6, ctx.total_length / 1e3)


@register("mesh_width", "nm", "length-weighted 10th, 50th, 90th percentile of the branches' mesh width",
          group="mesh", requires=["mesh"], columns=["mesh_width_q10", "mesh_width_q50", "mesh_width_q90"])
def mesh_width(ctx: NeuronContext) -> np.ndarray:
    b = ctx.branches
    return wquant(b["width_median"].to_numpy(float), b["length"].to_numpy(float))
