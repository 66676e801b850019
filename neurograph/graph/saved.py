"""Saving and loading a :class:`~neurograph.graph.neuron.Neuron`: the reader and the writer
of the ``.neuron.zip`` archive (the zip layout itself: :mod:`neurograph.io.saved`)."""

from __future__ import annotations

import os

import numpy as np
import trimesh

from ..errors import FormatError, SkeletonError
from ..io.meshes import validate_arrays
from ..io.saved import read_archive, write_archive
from ..mesh.soma import Soma, check_somas
from ..skeleton import Skeleton
from ..skeleton.skeleton import check_skeleton
from .neuron import Neuron


def save_neuron(neuron, path: str | os.PathLike) -> None:
    """Save a neuron to a zip archive of JSON, NPZ and Parquet (format in :mod:`neurograph.io.saved`).

    Parameters
    ----------
    neuron : Neuron
    path : str or os.PathLike
        Output file, conventionally ``<name>.neuron.zip`` (replaced if it exists). Coordinates
        are stored in nm.

    Returns
    -------
    None
    """
    arrays = {"skeleton_vertices": neuron.skeleton.vertices, "skeleton_parent": neuron.skeleton.parent,
              "skeleton_radius": neuron.skeleton.radius, "skeleton_node_type": neuron.skeleton.node_type,
              "soma_nodes": neuron.skeleton.soma_nodes, "node_branch": neuron.node_branch}
    if neuron.skeleton.vertex_map is not None:
        arrays["vertex_map"] = neuron.skeleton.vertex_map
    if neuron.mesh is not None:
        arrays.update(mesh_vertices=np.asarray(neuron.mesh.vertices), mesh_faces=np.asarray(neuron.mesh.faces),
                      face_branch=neuron.face_branch)
    for i, s in enumerate(neuron.somas):
        arrays[f"soma_faces_{i}"] = s.faces
    meta = {"name": neuron.name, "units": "nm", "repair_report": neuron.repair_report,
            "somas": [{"center": s.center, "radius": s.radius, "area_density": s.area_density}
                      for s in neuron.somas]}
    if neuron.face_compartment is not None:
        arrays["face_compartment"] = neuron.face_compartment
    meta["synapse_report"] = neuron.synapse_report
    meta["settings"] = neuron.settings
    if neuron.face_spine is not None:
        arrays["face_spine"] = neuron.face_spine
    if neuron.shaft_radius is not None:
        arrays["shaft_radius"] = neuron.shaft_radius
    write_archive(path, meta, arrays, neuron.graph,
                  {"branches": neuron.branches, "synapses": neuron.synapses, "spines": neuron.spines,
                   "cuts": neuron.cuts})


def load_neuron(path: str | os.PathLike) -> Neuron:
    """Load a neuron saved with :func:`save_neuron` (``Neuron.save``).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.neuron.zip`` archive.

    Returns
    -------
    Neuron
        The saved neuron, coordinates in nm.

    Raises
    ------
    FormatError
        No file at ``path``, or not a readable neurograph neuron archive.
    """
    meta, a, graph, tables = read_archive(path)
    try:
        return _from_archive(meta, a, graph, tables)
    except (KeyError, ValueError, TypeError, IndexError, AttributeError, SkeletonError) as exc:
        raise FormatError(f"{os.fspath(path)}: the archive lacks or garbles a part of a saved neuron "
                          f"({type(exc).__name__}: {exc}); it is damaged or was not written by Neuron.save: "
                          "extract and save the neuron again") from exc

def _from_archive(meta: dict, a: dict, graph, tables: dict) -> Neuron:
    somas = [Soma(np.asarray(s["center"]), float(s["radius"]), a.get(f"soma_faces_{i}", np.empty(0, np.int64)),
                  float(s.get("area_density", 0.0))) for i, s in enumerate(meta["somas"])]
    skeleton = Skeleton(a["skeleton_vertices"], a["skeleton_parent"], a["skeleton_radius"],
                        a.get("vertex_map"), a["soma_nodes"], a["skeleton_node_type"])
    mesh = None
    if "mesh_vertices" in a:
        mesh = trimesh.Trimesh(a["mesh_vertices"], a["mesh_faces"], process=False)
    synapses = tables.get("synapses")
    if synapses is not None:
        for col in ("compartment", "spine_part"):
            if col in synapses.columns:
                synapses[col] = synapses[col].astype(object).where(synapses[col].notna(), "").astype(str)
    neuron = Neuron(meta["name"], skeleton, somas, graph, a["node_branch"], mesh, a.get("face_branch"),
                    meta.get("repair_report", {}), synapses, meta.get("synapse_report", {}),
                    a.get("face_compartment"), tables.get("spines"), a.get("face_spine"),
                    a.get("shaft_radius"), settings=meta.get("settings", {}), cuts=tables.get("cuts"))
    _check_loaded(neuron)
    return neuron


def _check_loaded(neuron: Neuron) -> None:
    """Refuse (ValueError, SkeletonError or MeshError; :func:`load` makes them a FormatError) arrays
    that do not fit together: the steps' Numba kernels index with them unchecked."""
    mesh, sk = neuron.mesh, neuron.skeleton
    n_faces = None if mesh is None else len(mesh.faces)
    if mesh is not None:
        validate_arrays(mesh.vertices, mesh.faces)
    check_skeleton(sk, None if mesh is None or sk.vertex_map is None else len(mesh.vertices))
    check_somas(neuron.somas, n_faces, point=True)
    n_ids = neuron.graph.number_of_nodes()

    def fits(name: str, arr, length: int | None, low: int, high: int) -> None:
        if arr is None or length is None:
            return
        arr = np.asarray(arr)
        if arr.shape != (length,):
            raise ValueError(f"{name} has shape {arr.shape}, expected ({length},)")
        if length and (arr.min() < low or arr.max() >= high):
            raise ValueError(f"{name} holds values outside [{low}, {high - 1}]")

    fits("node_branch", neuron.node_branch, sk.n_nodes, 0, n_ids)
    fits("face_branch", neuron.face_branch, n_faces, -1, n_ids)
    spines = neuron.spines
    fits("face_spine", neuron.face_spine, n_faces, -1, int(spines.index.max()) + 1 if spines is not None and len(spines) else 0)
    fits("face_compartment", neuron.face_compartment, n_faces, -128, 128)
    if neuron.shaft_radius is not None and np.shape(neuron.shaft_radius) != (sk.n_nodes,):
        raise ValueError(f"shaft_radius has shape {np.shape(neuron.shaft_radius)}, expected ({sk.n_nodes},)")


def load(path: str | os.PathLike) -> Neuron:
    return load_neuron(path)


load.__doc__ = load_neuron.__doc__  # the same call: one text
