"""The :class:`Neuron`: mesh, skeleton, somata and branch graph with features."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
import trimesh

from ..errors import FormatError
from ..features import branch_features, neuron_summary
from ..io.saved import read_archive, write_archive
from ..mesh.soma import Soma
from ..skeleton import Skeleton
from ..skeleton.kernels import face_owner
from .decompose import decompose_skeleton


@dataclass
class Neuron:
    """A neuron decomposed into soma(s), limbs and branches.

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
    spines : pandas.DataFrame or None
        One row per dendritic spine after :func:`neurograph.detect_spines` (columns
        :data:`neurograph.features.spines.SPINE_COLUMNS`); None when not detected.
    face_spine : (n_faces,) int ndarray or None
        Spine id of every mesh face, -1 on the shaft.
    shaft_radius : (n_skeleton_nodes,) float ndarray or None
        Local shaft radius in nm with spines excluded (NaN at somata).
    settings : dict
        How the neuron was made: the dataset profile name (``dataset``, None without one)
        and the final parameter values used (:func:`neurograph.extract`,
        :func:`neurograph.load_swc`), and the parameters of the annotation steps applied
        (``"label_compartments"``: its keyword arguments), so that :meth:`refresh_annotations`
        can redo them on a new skeleton; saved with the neuron.
    cuts : pandas.DataFrame or None
        Merge-error cuts and flags (:func:`neurograph.split_somas`, :func:`neurograph.proofread`):
        one row per cut or flagged piece, position nm, ``reason``, ``confidence``.
    """

    name: str
    skeleton: Skeleton
    somas: list
    graph: nx.DiGraph
    node_branch: np.ndarray
    mesh: trimesh.Trimesh | None = None
    face_branch: np.ndarray | None = None
    repair_report: dict = field(default_factory=dict)
    synapses: pd.DataFrame | None = None
    synapse_report: dict = field(default_factory=dict)
    face_compartment: np.ndarray | None = None
    spines: pd.DataFrame | None = None
    face_spine: np.ndarray | None = None
    shaft_radius: np.ndarray | None = None
    settings: dict = field(default_factory=dict)

    def refresh_annotations(self) -> None:
        """Redo the synapse mapping and compartment labels after the skeleton or graph changed.

        Steps that rebuild the branch graph (spine detection folds twigs, so branch ids
        change) call this: synapses are mapped again from their positions (nm) with the same
        tolerance, and compartments are labelled again with the parameters recorded in
        :attr:`settings`. Labels whose parameters are unknown (archives of older versions) are
        dropped with a warning rather than left pointing at branch ids that no longer exist.

        Returns
        -------
        None
        """
        if self.synapses is not None:
            tolerance = float(self.synapse_report.get("tolerance_nm", 1000.0))
            self.map_synapses(self.synapses, tolerance=tolerance)
        self.face_compartment = None
        if "label_compartments" in self.settings:
            self.label_compartments(**self.settings["label_compartments"])
        elif self.synapses is not None and "compartment" in self.synapses.columns:
            import warnings

            warnings.warn(f"{self.name}: the branch graph changed and the compartment labels' parameters are "
                          "unknown; labels dropped: call neuron.label_compartments() again", stacklevel=2)
            self.synapses = self.synapses.drop(columns="compartment")
    cuts: pd.DataFrame | None = None

    def detect_spines(self, **kwargs) -> pd.DataFrame:
        """Find dendritic spines; see :func:`neurograph.detect_spines` (sets :attr:`spines`).

        Parameters
        ----------
        **kwargs
            Options of :func:`neurograph.detect_spines` (lengths in nm, volumes in µm³).

        Returns
        -------
        pandas.DataFrame
            One row per spine (positions and widths nm, length µm, area µm², volume µm³).

        Raises
        ------
        InputError
            Without a mesh, or for negative or inconsistent limits.
        """
        from ..features.spines import detect_spines

        return detect_spines(self, **kwargs)

    def map_synapses(self, table, voxel_size: float | tuple = 1.0, columns: dict | None = None,
                     tolerance: float = 1000.0, centerline_tolerance: float | None = None) -> pd.DataFrame:
        """Assign synapses to the nearest mesh surface -> branch, spine (head/neck) or soma.

        Parameters
        ----------
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
            (default :data:`neurograph.features.synapses.CENTERLINE_TOLERANCE`, 5000).

        Returns
        -------
        pandas.DataFrame
            ``Neuron.synapses``: one row per synapse. Per-branch ``n_pre, n_post, n_post_spine,
            pre_per_um, post_per_um`` are added to :attr:`branches`.
        """
        from ..features.synapses import branch_synapse_counts, map_synapses
        from ..io.synapses import load_synapses

        loaded = isinstance(table, pd.DataFrame) and {"x", "y", "z", "direction"} <= set(table.columns) \
            and np.all(np.asarray(voxel_size) == 1.0) and columns is None
        syn = table if loaded else load_synapses(table, voxel_size=voxel_size, columns=columns)
        extra = {} if centerline_tolerance is None else {"centerline_tolerance": centerline_tolerance}
        self.synapses, self.synapse_report = map_synapses(self, syn, tolerance=tolerance, **extra)
        n_ids = int(self.node_branch.max()) + 1
        counts = branch_synapse_counts(self.synapses, self.branches, n_ids)
        for b, row in zip(counts.index, counts.to_dict("records")):
            if b in self.graph:
                self.graph.nodes[b].update({k: float(v) if k.endswith("_um") else int(v) for k, v in row.items()})
        labels = {b: d.get("compartment") for b, d in self.graph.nodes(data=True) if d.get("compartment")}
        if labels:
            b = self.synapses["branch"].to_numpy()
            self.synapses["compartment"] = [labels.get(int(x), "unmapped") if x >= 0 else "unmapped" for x in b]
        return self.synapses

    def label_compartments(self, **kwargs) -> pd.DataFrame:
        """Axon/dendrite/apical/basal/soma labels; see :func:`neurograph.label_compartments`.

        Parameters
        ----------
        **kwargs
            Options of :func:`neurograph.label_compartments`.

        Returns
        -------
        pandas.DataFrame
            Index: graph node; ``compartment``, ``compartment_confidence`` (0-1),
            ``compartment_method``. The labels are also written to the neuron.
        """
        from ..compartments import label_compartments

        return label_compartments(self, **kwargs)

    def soma_features(self, depth_axis=(0.0, 1.0, 0.0), depth_origin: float = 0.0) -> pd.DataFrame:
        """Perisomatic features, one row per soma; see :func:`neurograph.features.perisomatic.soma_features`.

        Parameters
        ----------
        depth_axis : (3,) floats, default (0, 1, 0)
            Direction along which soma depth is measured (normalised).
        depth_origin : float, default 0
            Depth (µm along the axis) subtracted, e.g. the pia surface position.

        Returns
        -------
        pandas.DataFrame
            One row per soma (index ``soma``); lengths µm, areas µm², volumes µm³, widths nm
            (:data:`~neurograph.features.perisomatic.SOMA_COLUMNS`).
        """
        from ..features.perisomatic import soma_features

        return soma_features(self, depth_axis=depth_axis, depth_origin=depth_origin)

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
        return len(self.somas)

    @property
    def branches(self) -> pd.DataFrame:
        """One row per branch (index: branch id); lengths µm, widths nm, areas µm², volumes µm³."""
        from ..features.branch import BRANCH_COLUMNS

        rows = {b: d for b, d in self.graph.nodes(data=True) if d.get("kind") == "branch"}
        table = pd.DataFrame.from_dict(rows, orient="index").drop(columns="kind", errors="ignore")
        if table.empty:  # a lone soma: no branch, the usual columns
            table = pd.DataFrame(columns=list(BRANCH_COLUMNS), dtype=float)
        table.index.name = "branch"
        cols = [c for c in BRANCH_COLUMNS if c in table.columns]
        return table[cols + [c for c in table.columns if c not in cols]].sort_index()

    @property
    def summary(self) -> pd.DataFrame:
        """One row of neuron-level features (see ``neurograph.features.neuron.SUMMARY_COLUMNS``)."""
        area = float(self.mesh.area) / 1e6 if self.mesh is not None else float("nan")
        row = neuron_summary(self.branches, self.skeleton.vertices, self.somas, area)
        from ..compartments import compartment_lengths
        from ..features.perisomatic import soma_summary
        from ..features.synapses import synapse_summary

        row.update(synapse_summary(self.synapses, row["total_length"]))
        row.update(compartment_lengths(self))
        from ..features.spines import spine_summary

        row.update(spine_summary(self))
        if self.somas:
            row.update(soma_summary(self.soma_features()))
        return pd.DataFrame([row], index=pd.Index([self.name], name="neuron"))

    def __repr__(self) -> str:
        n_branches = sum(1 for _, d in self.graph.nodes(data=True) if d.get("kind") == "branch")
        return f"Neuron({self.name!r}: {self.n_somas} soma(s), {n_branches} branches, {self.skeleton.n_nodes} skeleton nodes)"

    def save(self, path: str | os.PathLike) -> None:
        """Save to a zip archive of JSON, NPZ and CSV (format in :mod:`neurograph.io.saved`).

        Parameters
        ----------
        path : str or os.PathLike
            Output file, conventionally ``<name>.neuron.zip`` (replaced if it exists). Coordinates
            are stored in nm.

        Returns
        -------
        None
        """
        arrays = {"skeleton_vertices": self.skeleton.vertices, "skeleton_parent": self.skeleton.parent,
                  "skeleton_radius": self.skeleton.radius, "skeleton_node_type": self.skeleton.node_type,
                  "soma_nodes": self.skeleton.soma_nodes, "node_branch": self.node_branch}
        if self.skeleton.vertex_map is not None:
            arrays["vertex_map"] = self.skeleton.vertex_map
        if self.mesh is not None:
            arrays.update(mesh_vertices=np.asarray(self.mesh.vertices), mesh_faces=np.asarray(self.mesh.faces),
                          face_branch=self.face_branch)
        for i, s in enumerate(self.somas):
            arrays[f"soma_faces_{i}"] = s.faces
        meta = {"name": self.name, "units": "nm", "repair_report": self.repair_report,
                "somas": [{"center": s.center, "radius": s.radius, "area_density": s.area_density}
                          for s in self.somas]}
        if self.face_compartment is not None:
            arrays["face_compartment"] = self.face_compartment
        meta["synapse_report"] = self.synapse_report
        meta["settings"] = self.settings
        if self.face_spine is not None:
            arrays["face_spine"] = self.face_spine
        if self.shaft_radius is not None:
            arrays["shaft_radius"] = self.shaft_radius
        write_archive(path, meta, arrays, self.graph,
                      {"branches": self.branches, "synapses": self.synapses, "spines": self.spines,
                       "cuts": self.cuts})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Neuron":
        """Load a neuron saved with :meth:`save`.

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
            return cls._from_archive(meta, a, graph, tables)
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
            raise FormatError(f"{os.fspath(path)}: the archive lacks or garbles a part of a saved neuron "
                              f"({type(exc).__name__}: {exc}); it is damaged or was not written by Neuron.save: "
                              "extract and save the neuron again") from exc

    @classmethod
    def _from_archive(cls, meta: dict, a: dict, graph, tables: dict) -> "Neuron":
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
        return cls(meta["name"], skeleton, somas, graph, a["node_branch"], mesh, a.get("face_branch"),
                   meta.get("repair_report", {}), synapses, meta.get("synapse_report", {}),
                   a.get("face_compartment"), tables.get("spines"), a.get("face_spine"),
                   a.get("shaft_radius"), settings=meta.get("settings", {}), cuts=tables.get("cuts"))


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
    """
    somas = list(somas or [])
    if len(somas) != len(skeleton.soma_nodes):
        raise ValueError(f"{len(somas)} somata given for a skeleton with {len(skeleton.soma_nodes)} soma nodes")
    parts = decompose_skeleton(skeleton, [s.radius for s in somas])
    node_branch = parts["node_branch"]
    face_branch = None
    if mesh is not None and skeleton.vertex_map is not None:
        face_branch = face_owner(np.asarray(mesh.faces, dtype=np.int64), node_branch[skeleton.vertex_map])
    table = branch_features(skeleton, parts, somas, mesh, face_branch)
    graph = parts["graph"]
    for b, row in zip(table.index, table.to_dict("records")):
        graph.nodes[b].update({k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()})
    for i, s in enumerate(somas):
        faces_here = int((face_branch == i).sum()) if face_branch is not None else 0
        graph.nodes[i].update(radius=s.radius / 1e3, x=float(s.center[0]), y=float(s.center[1]),
                              z=float(s.center[2]), n_faces=faces_here)
    return Neuron(name, skeleton, somas, graph, node_branch, mesh, face_branch, dict(repair_report or {}))


def load(path: str | os.PathLike) -> Neuron:
    return Neuron.load(path)


load.__doc__ = Neuron.load.__doc__  # the same call: one text
