"""The :class:`Neuron`: mesh, skeleton, somata and branch graph with features."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
import trimesh

from ..errors import deprecated
from ..skeleton import Skeleton
from ..skeleton.kernels import face_owner
from .annotations import refresh_annotations
from .branch_table import BRANCH_COLUMNS, branch_features
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

    cuts: pd.DataFrame | None = None

    def refresh_annotations(self) -> None:
        """Redo the annotations (synapse mapping, compartment labels) after the skeleton or graph changed.

        Steps that rebuild the branch graph (spine detection folds twigs, so branch ids
        change) call this; see :func:`neurograph.graph.annotations.refresh_annotations`:
        synapses are mapped again from their positions (nm) with the same tolerance, and
        compartments are labelled again with the parameters recorded in :attr:`settings`.
        Labels whose parameters are unknown (archives of older versions) are dropped with a
        warning rather than left pointing at branch ids that no longer exist.

        Returns
        -------
        None
        """
        refresh_annotations(self)

    # --- deprecated aliases of the steps (higher layers; import-linter ignore_imports lists them) ---

    def detect_spines(self, **kwargs) -> pd.DataFrame:
        """Deprecated: use :func:`neurograph.detect_spines`. Detects spines in place; returns the spine table."""
        deprecated("Neuron.detect_spines()", "neurograph.detect_spines(neuron)")
        from ..spines import detect_spines

        return detect_spines(self, **kwargs)

    def map_synapses(self, table, **kwargs) -> pd.DataFrame:
        """Deprecated: use :func:`neurograph.map_synapses`. Maps in place; returns ``neuron.synapses``."""
        deprecated("Neuron.map_synapses()", "neurograph.map_synapses(neuron, table)")
        from ..synapses import map_synapses

        return map_synapses(self, table, **kwargs)

    def label_compartments(self, **kwargs) -> pd.DataFrame:
        """Deprecated: use :func:`neurograph.label_compartments`. Labels in place; returns the label table."""
        deprecated("Neuron.label_compartments()", "neurograph.label_compartments(neuron)")
        from ..compartments import label_compartments

        return label_compartments(self, **kwargs)

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
        rows = {b: d for b, d in self.graph.nodes(data=True) if d.get("kind") == "branch"}
        table = pd.DataFrame.from_dict(rows, orient="index").drop(columns="kind", errors="ignore")
        if table.empty:  # a lone soma: no branch, the usual columns
            table = pd.DataFrame(columns=list(BRANCH_COLUMNS), dtype=float)
        table.index.name = "branch"
        cols = [c for c in BRANCH_COLUMNS if c in table.columns]
        return table[cols + [c for c in table.columns if c not in cols]].sort_index()

    def __repr__(self) -> str:
        n_branches = sum(1 for _, d in self.graph.nodes(data=True) if d.get("kind") == "branch")
        return f"Neuron({self.name!r}: {self.n_somas} soma(s), {n_branches} branches, {self.skeleton.n_nodes} skeleton nodes)"

    def save(self, path: str | os.PathLike) -> None:
        """Save to a zip archive of JSON, NPZ and CSV (see :func:`neurograph.graph.saved.save_neuron`).

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


