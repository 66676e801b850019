"""The :class:`Neuron`: core data (mesh, skeleton, somata), the branch graph derived from it, and
the annotations the steps add (synapses, spines, compartment labels, cuts)."""

from __future__ import annotations

import copy
import os

import networkx as nx
import numpy as np
import pandas as pd
import trimesh

from ..errors import InputError, deprecated
from ..mesh.soma import check_somas
from ..skeleton import Skeleton
from ..skeleton.skeleton import check_skeleton
from ..skeleton.kernels import face_owner
from .annotations import carry_annotations, refresh_annotations
from .branch_table import branch_features, branch_table
from .decompose import decompose_skeleton

#: the core of a Neuron: replacing one of these re-derives the branch graph and remaps the annotations
CORE = ("skeleton", "somas", "mesh")
#: derived from the core by :func:`decompose`: never set by the steps, only rebuilt
DERIVED = ("graph", "node_branch", "face_branch")
#: added by the steps; each follows a new branch graph (remapped) or is dropped with a warning
ANNOTATIONS = ("synapses", "synapse_report", "spines", "face_spine", "shaft_radius", "face_compartment", "cuts")


class Neuron:
    """A neuron decomposed into soma(s), limbs and branches.

    Three kinds of data, held apart:

    - **core** (:data:`CORE`): ``skeleton``, ``somas``, ``mesh``. Assigning one (``neuron.skeleton
      = new``) re-derives the branch graph and remaps the annotations onto it
      (:meth:`with_core`); the arrays inside are not to be edited in place.
    - **derived** (:data:`DERIVED`): ``graph``, ``node_branch``, ``face_branch`` and the branch
      table :attr:`branches` (cached; rebuilt when the graph changes, see :meth:`set_branch_values`).
    - **annotations** (:data:`ANNOTATIONS`): synapses, spines, compartment labels (in the graph,
      ``skeleton.node_type`` and ``face_compartment``) and cuts, added by the steps
      (:func:`neurograph.map_synapses`, :func:`neurograph.detect_spines`,
      :func:`neurograph.label_compartments`, :func:`neurograph.split_somas`, ...). A step
      returns a new Neuron (``inplace=False``, the default) and leaves its input as it was.

    Attributes
    ----------
    name : str
    skeleton : Skeleton
        In nm.
    somas : list of Soma
    graph : networkx.DiGraph
        Nodes ``0..n_somas-1`` are somata (``kind='soma'``), the rest branches
        (``kind='branch'``) carrying the features of :data:`neurograph.features.BRANCH_COLUMNS`;
        edges run parent -> child.
    node_branch : (n_skeleton_nodes,) int ndarray
        Graph node (soma or branch) of every skeleton node.
    mesh : trimesh.Trimesh or None
        The repaired mesh in nm (None for skeleton input).
    face_branch : (n_faces,) int ndarray or None
        Graph node of every mesh face: each face belongs to exactly one branch or soma.
    repair_report : dict
    synapses : pandas.DataFrame or None
        One row per synapse after :func:`neurograph.map_synapses`.
    synapse_report : dict
    face_compartment : (n_faces,) int8 ndarray or None
        SWC code of every mesh face after :func:`neurograph.label_compartments`.
    spines : pandas.DataFrame or None
        One row per dendritic spine after :func:`neurograph.detect_spines` (columns
        :data:`neurograph.spines.SPINE_COLUMNS`); None when not detected.
    face_spine : (n_faces,) int ndarray or None
        Spine id of every mesh face, -1 on the shaft.
    shaft_radius : (n_skeleton_nodes,) float ndarray or None
        Local shaft radius in nm with spines excluded (NaN at somata).
    settings : dict
        How the neuron was made: the dataset profile name (``dataset``, None without one)
        and the final parameter values used (:func:`neurograph.extract`,
        :func:`neurograph.load_swc`), and the parameters of the annotation steps applied
        (``"label_compartments"``: its keyword arguments), so that they can be redone on a new
        skeleton; saved with the neuron.
    cuts : pandas.DataFrame or None
        Merge-error cuts and flags (:func:`neurograph.split_somas`, :func:`neurograph.proofread`):
        one row per cut or flagged piece, position nm, ``reason``, ``confidence``.
    """

    def __init__(self, name: str, skeleton: Skeleton, somas: list, graph: nx.DiGraph, node_branch: np.ndarray,
                 mesh: trimesh.Trimesh | None = None, face_branch: np.ndarray | None = None,
                 repair_report: dict | None = None, synapses: pd.DataFrame | None = None,
                 synapse_report: dict | None = None, face_compartment: np.ndarray | None = None,
                 spines: pd.DataFrame | None = None, face_spine: np.ndarray | None = None,
                 shaft_radius: np.ndarray | None = None, settings: dict | None = None,
                 cuts: pd.DataFrame | None = None) -> None:
        self.name = name
        self._skeleton, self._somas, self._mesh = skeleton, list(somas), mesh
        self._graph = graph
        self.node_branch = node_branch
        self.face_branch = face_branch
        self.repair_report = dict(repair_report or {})
        self.synapses = synapses
        self.synapse_report = dict(synapse_report or {})
        self.face_compartment = face_compartment
        self.spines = spines
        self.face_spine = face_spine
        self.shaft_radius = shaft_radius
        self.settings = dict(settings or {})
        self.cuts = cuts
        self._version = 0
        self._cache: dict = {}

    # --- core: assigning re-derives the graph and remaps the annotations ---------------------

    @property
    def skeleton(self) -> Skeleton:
        """The skeleton (nm); assigning a new one re-derives the graph (see :meth:`with_core`)."""
        return self._skeleton

    @skeleton.setter
    def skeleton(self, value: Skeleton) -> None:
        self.assign(self.with_core(skeleton=value))

    @property
    def somas(self) -> list:
        """The somata (nm); assigning new ones re-derives the graph (see :meth:`with_core`)."""
        return self._somas

    @somas.setter
    def somas(self, value: list) -> None:
        self.assign(self.with_core(somas=list(value)))

    @property
    def mesh(self) -> trimesh.Trimesh | None:
        """The repaired mesh (nm) or None; assigning re-derives face branches (see :meth:`with_core`)."""
        return self._mesh

    @mesh.setter
    def mesh(self, value: trimesh.Trimesh | None) -> None:
        self.assign(self.with_core(mesh=value, keep_mesh=value is None))

    def with_core(self, skeleton: Skeleton | None = None, somas: list | None = None,
                  mesh: trimesh.Trimesh | None = None, keep_mesh: bool = False) -> "Neuron":
        """A new Neuron with other core data, its graph derived anew and the annotations remapped.

        Parameters
        ----------
        skeleton : Skeleton, optional
            nm; by default this neuron's.
        somas : list of Soma, optional
            One per ``skeleton.soma_nodes``; by default this neuron's.
        mesh : trimesh.Trimesh, optional
            nm; by default this neuron's (``keep_mesh=True`` with ``mesh=None``: no mesh).
        keep_mesh : bool, default False
            Take ``mesh`` as given even when it is None (drop the mesh).

        Returns
        -------
        Neuron
            Settings, reports and cuts copied; synapses, spines and compartment labels remapped
            onto the new graph by the steps that made them
            (:func:`neurograph.graph.annotations.carry_annotations`), or dropped with a warning
            where they cannot be.

        Raises
        ------
        InputError
            The skeleton's ``vertex_map`` does not fit the mesh.
        """
        skeleton = self._skeleton if skeleton is None else skeleton
        somas = self._somas if somas is None else somas
        mesh = mesh if (mesh is not None or keep_mesh) else self._mesh
        if mesh is not None and skeleton.vertex_map is not None and len(skeleton.vertex_map) != len(mesh.vertices):
            raise InputError(f"{self.name}: the skeleton maps {len(skeleton.vertex_map)} mesh vertices but the mesh "
                             f"has {len(mesh.vertices)}: give a skeleton made from this mesh")
        new = decompose(skeleton, somas, mesh, name=self.name, repair_report=copy.deepcopy(self.repair_report))
        carry_annotations(self, new)
        return new

    def assign(self, other: "Neuron") -> None:
        """Make this object hold ``other``'s data (in-place steps: ``inplace=True``)."""
        self.__dict__.update(other.__dict__)

    def copy(self) -> "Neuron":
        """An independent copy: arrays, tables, graph and records copied (the mesh, which no
        step edits, is shared).

        Returns
        -------
        Neuron
        """
        sk = self._skeleton
        skel = Skeleton(sk.vertices.copy(), sk.parent.copy(), sk.radius.copy(),
                        None if sk.vertex_map is None else sk.vertex_map.copy(), sk.soma_nodes.copy(),
                        sk.node_type.copy())
        dup = lambda x: None if x is None else x.copy()  # noqa: E731
        return Neuron(self.name, skel, list(self._somas), self._graph.copy(), self.node_branch.copy(), self._mesh,
                      dup(self.face_branch), copy.deepcopy(self.repair_report), dup(self.synapses),
                      copy.deepcopy(self.synapse_report), dup(self.face_compartment), dup(self.spines),
                      dup(self.face_spine), dup(self.shaft_radius), copy.deepcopy(self.settings), dup(self.cuts))

    # --- derived: the graph and its cached branch table --------------------------------------

    @property
    def graph(self) -> nx.DiGraph:
        """The branch graph (see the class docstring)."""
        return self._graph

    @graph.setter
    def graph(self, value: nx.DiGraph) -> None:
        self._graph = value
        self.touch()

    def touch(self) -> None:
        """Drop the cached tables (call after writing graph node attributes directly)."""
        self._version += 1
        self._cache.clear()

    def set_branch_values(self, rows: dict) -> None:
        """Write per-node values into the branch graph and drop the cached branch table.

        Parameters
        ----------
        rows : dict of int to dict
            Graph node -> ``{column: value}``; nodes not in the graph are skipped.

        Returns
        -------
        None
        """
        for b, values in rows.items():
            if b in self._graph:
                self._graph.nodes[b].update(values)
        self.touch()

    def refresh_annotations(self) -> None:
        """Redo the annotations (synapse mapping, compartment labels) on the current graph, in place.

        See :func:`neurograph.graph.annotations.refresh_annotations`: synapses are mapped again
        from their positions (nm) with the same tolerance, and compartments are labelled again
        with the parameters recorded in :attr:`settings`; labels whose parameters are unknown
        are dropped with a warning.

        Returns
        -------
        None
        """
        refresh_annotations(self)

    # --- deprecated aliases of the steps (higher layers; import-linter ignore_imports lists them) ---

    def detect_spines(self, **kwargs) -> pd.DataFrame:
        """Deprecated: use ``neuron = neurograph.detect_spines(neuron)``. In place; returns the spine table."""
        deprecated("Neuron.detect_spines()", "neuron = neurograph.detect_spines(neuron)")
        from ..spines import detect_spines

        return detect_spines(self, inplace=True, **kwargs).spines

    def map_synapses(self, table, **kwargs) -> pd.DataFrame:
        """Deprecated: use ``neuron = neurograph.map_synapses(neuron, table)``. In place; returns ``neuron.synapses``."""
        deprecated("Neuron.map_synapses()", "neuron = neurograph.map_synapses(neuron, table)")
        from ..synapses import map_synapses

        return map_synapses(self, table, inplace=True, **kwargs).synapses

    def label_compartments(self, **kwargs) -> pd.DataFrame:
        """Deprecated: use ``neuron = neurograph.label_compartments(neuron)``. In place; returns the label table."""
        deprecated("Neuron.label_compartments()", "neuron = neurograph.label_compartments(neuron)")
        from ..compartments import compartment_table, label_compartments

        return compartment_table(label_compartments(self, inplace=True, **kwargs))

    def soma_features(self, **kwargs) -> pd.DataFrame:
        """Deprecated: use :func:`neurograph.soma_features`."""
        deprecated("Neuron.soma_features()", "neurograph.soma_features(neuron)")
        from ..features.perisomatic import soma_features

        return soma_features(self, **kwargs)

    @property
    def summary(self) -> pd.DataFrame:
        """Deprecated: use :func:`neurograph.neuron_summary`."""
        deprecated("Neuron.summary", "neurograph.neuron_summary(neuron)")
        from ..features.summary import neuron_summary

        return neuron_summary(self)

    # --- out ------------------------------------------------------------------------------------

    def to_navis(self, kind: str = "tree"):
        """The neuron as a navis ``TreeNeuron`` (``kind="tree"``) or ``MeshNeuron`` (``"mesh"``), nm.

        See :func:`neurograph.graph.interop.to_navis` (node labels ``compartment``, ``branch``;
        synapses as connectors; ``units='nm'``).
        """
        from .interop import to_navis

        return to_navis(self, kind=kind)

    def to_precomputed(self, folder: str | os.PathLike, segment_id: int | None = None, mesh: bool = True,
                       state: bool = True, url: str | None = None) -> dict:
        """Write skeleton (vertex attributes radius, compartment, branch, spine), mesh and a Neuroglancer state.

        See :func:`neurograph.graph.interop.to_precomputed` (needs ``neurograph[cloud]``).
        """
        from .interop import to_precomputed

        return to_precomputed(self, folder, segment_id=segment_id, mesh=mesh, state=state, url=url)

    @property
    def n_somas(self) -> int:
        return len(self._somas)

    @property
    def branches(self) -> pd.DataFrame:
        """One row per branch (index: branch id); lengths µm, widths nm, areas µm², volumes µm³.

        Cached until the graph changes (:meth:`set_branch_values`, :meth:`touch`); a copy is returned.
        """
        table = self._cache.get("branches")
        if table is None:
            table = self._cache["branches"] = branch_table(self._graph)
        return table.copy()

    def __repr__(self) -> str:
        n_branches = sum(1 for _, d in self._graph.nodes(data=True) if d.get("kind") == "branch")
        return f"Neuron({self.name!r}: {self.n_somas} soma(s), {n_branches} branches, {self._skeleton.n_nodes} skeleton nodes)"

    def save(self, path: str | os.PathLike) -> None:
        """Save to a zip archive of JSON, NPZ and Parquet (see :func:`neurograph.graph.saved.save_neuron`).

        Parameters
        ----------
        path : str or os.PathLike
            Output file, conventionally ``<name>.neuron.zip`` (replaced if it exists); nm.

        Returns
        -------
        None
        """
        from .saved import save_neuron

        save_neuron(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Neuron":
        """Load a neuron saved with :meth:`save` (see :func:`neurograph.graph.saved.load_neuron`)."""
        from .saved import load_neuron

        return load_neuron(path)


def decompose(skeleton: Skeleton, somas: list | None = None, mesh: trimesh.Trimesh | None = None,
              name: str = "neuron", repair_report: dict | None = None) -> Neuron:
    """Decompose a skeleton (and its mesh) into a :class:`Neuron` with per-branch features.

    Parameters
    ----------
    skeleton : Skeleton
        From :func:`neurograph.skeletonize` (or an SWC), nm.
    somas : list of Soma, optional
        The somata the skeleton was rooted at (one per ``skeleton.soma_nodes``).
    mesh : trimesh.Trimesh, optional
        The mesh the skeleton came from; gives every face a branch, widths and areas.
    name : str
    repair_report : dict, optional

    Returns
    -------
    Neuron
        Soma graph nodes carry ``radius`` (µm, like the branch table's lengths), ``x, y, z`` (µm)
        and ``n_faces``.

    Raises
    ------
    SkeletonError
        A skeleton that is not one rooted forest (:func:`neurograph.skeleton.skeleton.check_skeleton`:
        non-finite nodes, parents out of range or in a cycle, bad soma nodes, a ``vertex_map``
        that does not fit the mesh).
    InputError
        Somata that are not :class:`~neurograph.Soma` with a finite centre and radius (and
        faces of ``mesh``), or not one per soma node.
    """
    somas = check_somas(somas, None if mesh is None else len(mesh.faces), point=True)
    if len(somas) != len(skeleton.soma_nodes):
        raise InputError(f"{len(somas)} somata given for a skeleton with {len(skeleton.soma_nodes)} soma nodes")
    with_map = mesh is not None and skeleton.vertex_map is not None
    check_skeleton(skeleton, len(mesh.vertices) if with_map else None)
    parts = decompose_skeleton(skeleton, [s.radius for s in somas], [s.center for s in somas])
    node_branch = parts["node_branch"]
    face_branch = None
    if mesh is not None and skeleton.vertex_map is not None:
        face_branch = face_owner(np.asarray(mesh.faces, dtype=np.int64), node_branch[skeleton.vertex_map])
    table = branch_features(skeleton, parts, somas, mesh, face_branch)
    graph = parts["graph"]
    # column by column to Python scalars (numpy's tolist; numpy scalars in object columns too),
    # then row by row onto the graph: what to_dict("records") gave, in a third of the time
    names = list(table.columns)
    columns = [[v.item() if hasattr(v, "item") else v for v in col] if col.dtype == object else col.to_list()
               for col in (table[c] for c in names)]
    for b, values in zip(table.index, zip(*columns)):
        graph.nodes[b].update(zip(names, values))
    for i, s in enumerate(somas):
        faces_here = int((face_branch == i).sum()) if face_branch is not None else 0
        graph.nodes[i].update(radius=s.radius / 1e3, x=float(s.center[0]) / 1e3, y=float(s.center[1]) / 1e3,
                              z=float(s.center[2]) / 1e3, n_faces=faces_here)
    return Neuron(name, skeleton, somas, graph, node_branch, mesh, face_branch, dict(repair_report or {}))
