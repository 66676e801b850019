""":class:`Neuron` <-> navis and Neuroglancer precomputed layers.

- :func:`to_navis`: ``TreeNeuron`` (node labels ``compartment`` and ``branch``, synapses as
  connectors, units set) and ``MeshNeuron`` (the way in, which runs the pipeline on meshes, is
  :func:`neurograph.pipeline.from_navis`).
- :func:`load_skeleton`: a precomputed skeleton as a Neuron (the sibling of
  :func:`neurograph.load_swc`), its ``compartment`` vertex attribute read back as labels.
- :func:`to_precomputed`: skeleton with vertex attributes (radius, compartment, branch,
  spine) and the repaired mesh into a precomputed layer, plus a Neuroglancer state.

Everything is in nm; the units of the outside object are taken from its own metadata
(navis ``x.units``, the precomputed ``info``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from ..codes import COMPARTMENT_COLORS
from ..errors import InputError
from ..io import precomputed as pc
from ..io import precomputed_write as pw
from ..io.navis import navis_module
from ..skeleton.heal import reroot
from .labels import (
    apply_node_labels,
    decode_compartments,
    node_compartments,
    swc_rows_to_nodes,
    vertex_attributes,
)
from .neuron import Neuron, decompose
from .swc import swc_skeleton


def neuron_from_table(table: pd.DataFrame, name: str, report: dict, labels: np.ndarray | None,
                       method: str) -> Neuron:
    """Skeleton table (nm) -> Neuron; ``labels`` per table row become compartment labels."""
    skeleton, somas = swc_skeleton(table, name=name)
    neuron = decompose(skeleton, somas, None, name=name)
    neuron.repair_report = report
    if labels is not None:
        rows = swc_rows_to_nodes(table["type"].to_numpy(), skeleton)
        node_labels = np.full(skeleton.n_nodes, "unknown", dtype=object)
        node_labels[rows[rows >= 0]] = np.asarray(labels, dtype=object)[rows >= 0]
        node_labels[skeleton.soma_nodes] = "soma"
        apply_node_labels(neuron, node_labels, method)
    return neuron


def to_navis(neuron: Neuron, kind: str = "tree"):
    """The neuron as a navis neuron in nm (``units='nm'``).

    Parameters
    ----------
    neuron : Neuron
    kind : {"tree", "mesh"}, default "tree"
        ``tree``: a ``TreeNeuron`` from the skeleton (SWC ``label``; node columns
        ``compartment`` and ``branch``; soma set; synapses as ``connectors`` with ``type``
        pre/post and ``compartment``, attached to their skeleton node; synapses that were not
        mapped onto the neuron are left out). ``mesh``: a ``MeshNeuron`` of the repaired mesh
        (all synapses as connectors).

    Returns
    -------
    navis.TreeNeuron or navis.MeshNeuron

    Raises
    ------
    InputError
        ``kind='mesh'`` for a neuron without a mesh, or an unknown kind.
    """
    navis = navis_module()
    if kind == "tree":
        out = neuron.skeleton.to_navis(name=neuron.name)
        order = neuron.skeleton.topological_order()
        out.nodes["compartment"] = node_compartments(neuron)[order]
        out.nodes["branch"] = neuron.node_branch[order]
        new_id = np.empty(neuron.skeleton.n_nodes, np.int64)
        new_id[order] = np.arange(1, neuron.skeleton.n_nodes + 1)
    elif kind == "mesh":
        if neuron.mesh is None:
            raise InputError(f"{neuron.name}: no mesh to convert (a skeleton neuron); use kind='tree'")
        out = navis.MeshNeuron((np.asarray(neuron.mesh.vertices), np.asarray(neuron.mesh.faces)), units="nm",
                               name=neuron.name)
        new_id = None
    else:
        raise InputError(f"kind must be 'tree' or 'mesh', got {kind!r}")
    syn = neuron.synapses
    if syn is not None and len(syn):
        con = pd.DataFrame({"connector_id": syn["synapse_id"].to_numpy(), "x": syn["x"].to_numpy(float),
                            "y": syn["y"].to_numpy(float), "z": syn["z"].to_numpy(float),
                            "type": syn["direction"].astype(str).to_numpy()})
        if "compartment" in syn.columns:
            con["compartment"] = syn["compartment"].to_numpy()
        if new_id is not None:  # a TreeNeuron's connectors sit on nodes: unmapped synapses are left out
            node = syn["node"].to_numpy(np.int64) if "node" in syn.columns else np.full(len(syn), -1)
            con.insert(1, "node_id", np.where(node >= 0, new_id[np.maximum(node, 0)], -1))
            con = con[node >= 0].reset_index(drop=True)
        out.connectors = con
    return out


def load_skeleton(source: Any, segment_id: Any, name: str | None = None, retries: int = 3) -> Neuron:
    """Load a precomputed skeleton as a :class:`Neuron` (branches and features, no mesh).

    The sibling of :func:`neurograph.load_swc` for Neuroglancer layers: coordinates are nm
    as the layer's skeleton ``info`` (its ``transform``) defines them, radii from the
    ``radius`` vertex attribute (nm; 0 = unknown), SWC types from ``vertex_types``. A
    ``compartment`` attribute (written by :func:`to_precomputed`) restores the compartment
    labels. Trees are rooted at their soma vertex (type 1) where they have one.

    Parameters
    ----------
    source : str or PathLike
        Layer address (``precomputed://gs://...``, ``file:///...``, a local folder).
    segment_id : int
        Segment id.
    name : str, optional
        Defaults to the segment id.
    retries : int, default 3
        Retries of transient read failures.

    Returns
    -------
    Neuron
        In nm, ``mesh=None``; ``repair_report`` records the source and the skeleton ``info``.

    Raises
    ------
    InputError
        No skeletons in the layer, or no skeleton for the segment.
    FormatError
        Undecodable skeleton data.
    SourceError
        Reads that kept failing.
    """
    data = pc.read_skeleton(source, segment_id, retries=retries)
    attrs = data["attributes"]
    n = len(data["vertices"])
    if "compartment" in attrs:
        types = pc.SWC_OF_CODE[np.clip(attrs["compartment"].astype(np.int64).ravel(), 0, len(pc.SWC_OF_CODE) - 1)]
    elif "vertex_types" in attrs:
        types = attrs["vertex_types"].astype(np.int64).ravel()
    else:
        types = np.zeros(n, np.int64)
    e = np.asarray(data["edges"], np.int64).reshape(-1, 2)
    parent = reroot(n, e[:, 0], e[:, 1], np.flatnonzero(types == 1))
    radius = attrs.get("radius", np.zeros(n)).astype(float).ravel()
    table = pd.DataFrame({"node_id": np.arange(n), "parent_id": parent, "type": types.astype(np.int64),
                          "x": data["vertices"][:, 0], "y": data["vertices"][:, 1], "z": data["vertices"][:, 2],
                          "radius": np.where(radius > 0, radius, np.nan)})
    labels = decode_compartments(attrs["compartment"]) if "compartment" in attrs else None
    report = {"source": "precomputed", "layer": str(source), "segment_id": data["segment_id"],
              "skeleton_info": data["info"]}
    return neuron_from_table(table, name or str(data["segment_id"]), report, labels, "precomputed")


def segment_id_of(name: str) -> int:
    """The uint64 segment id a neuron is written under.

    Parameters
    ----------
    name : str
        Neuron name.

    Returns
    -------
    int
        The name itself when it is a decimal integer below 2**64 (connectome segment ids);
        otherwise a stable 63-bit hash of it (BLAKE2b), listed with the name in the layer's
        segment properties.
    """
    text = str(name)
    if text.isdigit() and int(text) < 2**64:
        return int(text)
    import hashlib

    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") & (2**63 - 1)


def write_neuron(layer, neuron: Neuron, segment_id: int, mesh: bool = True) -> bool:
    """Write one neuron's skeleton (with vertex attributes) and mesh into an opened layer.

    Parameters
    ----------
    layer : cloudvolume.CloudVolume
        From :func:`neurograph.io.precomputed.create_layer`.
    neuron : Neuron
    segment_id : int
    mesh : bool, default True
        Also write the repaired mesh when the neuron has one.

    Returns
    -------
    bool
        Whether a mesh was written.
    """
    sk = neuron.skeleton
    child = np.flatnonzero(sk.parent >= 0)
    write_mesh = bool(mesh) and neuron.mesh is not None
    pw.write_segment(layer, segment_id, sk.vertices, np.column_stack([child, sk.parent[child]]),
                     vertex_attributes(neuron),
                     (np.asarray(neuron.mesh.vertices), np.asarray(neuron.mesh.faces)) if write_mesh else None)
    return write_mesh


def finish_layer(folder: str | os.PathLike, names: dict[int, str], mesh: bool = True, url: str | None = None) -> str:
    """Fit a layer's bounds to its skeletons, list segment names and write the Neuroglancer state.

    Parameters
    ----------
    folder : str or PathLike
        Layer folder.
    names : dict of int to str
        Segment id -> neuron name of the segments written (added to those listed before).
    mesh : bool, default True
        Show meshes in the state.
    url : str, optional
        Layer address in the state (:func:`neurograph.io.ngstate.write_state`).

    Returns
    -------
    str
        Path of ``neuroglancer_state.json``.
    """
    from ..io.ngstate import write_state

    listed = pw.update_segment_names(folder, names)
    bounds = pw.skeleton_bounds(folder, list(listed))
    if bounds is not None:
        pw.fit_bounds(folder, bounds)
    centre = bounds.mean(axis=0) if bounds is not None else np.zeros(3)
    return write_state(folder, listed, centre, COMPARTMENT_COLORS, mesh=mesh, url=url)


def to_precomputed(neuron: Neuron, folder: str | os.PathLike, segment_id: int | None = None, mesh: bool = True,
                   state: bool = True, url: str | None = None) -> dict:
    """Write the neuron into a Neuroglancer precomputed layer (and a viewer state).

    Parameters
    ----------
    neuron : Neuron
    folder : str or PathLike
        Layer folder; created, or extended when it already holds a layer (several neurons
        can share one layer).
    segment_id : int, optional
        Default :func:`segment_id_of` the neuron's name.
    mesh : bool, default True
        Also write the repaired mesh (legacy mesh format, nm) when the neuron has one.
    state : bool, default True
        Also list the segment's name, fit the layer bounds and write
        ``<folder>/neuroglancer_state.json`` showing every segment of the layer, skeletons
        coloured by compartment (:func:`finish_layer`).
    url : str, optional
        Layer address written in the state (default ``precomputed://file://<folder>``).

    Returns
    -------
    dict
        ``layer`` (folder), ``segment_id``, ``mesh`` (written or not), ``state`` (path or None).
    """
    sid = segment_id_of(neuron.name) if segment_id is None else int(segment_id)
    layer = pw.create_layer(folder)
    wrote_mesh = write_neuron(layer, neuron, sid, mesh)
    path = finish_layer(folder, {sid: neuron.name}, mesh=wrote_mesh, url=url) if state else None
    return {"layer": os.path.abspath(os.fspath(folder)), "segment_id": sid, "mesh": wrote_mesh, "state": path}
