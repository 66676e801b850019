"""The :class:`Skeleton` container and its conversions (SWC table, navis)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import SkeletonError, check_indices
from .tree import edge_lengths, topological_order


@dataclass
class Skeleton:
    """A rooted skeleton tree in nanometres.

    Attributes
    ----------
    vertices : (n, 3) float ndarray
        Node positions in nm.
    parent : (n,) int64 ndarray
        Parent node of each node, ``-1`` for roots. Parents precede children is *not*
        guaranteed; use :meth:`topological_order`.
    radius : (n,) float ndarray
        Node radius in nm (NaN where unknown).
    vertex_map : (n_mesh_vertices,) int64 ndarray, optional
        For a skeleton made from a mesh: the node each mesh vertex collapsed into.
    soma_nodes : (k,) int64 ndarray
        Nodes that stand for somata (each a root); empty for soma-less neurons.
    node_type : (n,) int8 ndarray
        SWC structure type per node (1 soma, 2 axon, 3 basal dendrite, 4 apical, 0 undefined).
    """

    vertices: np.ndarray
    parent: np.ndarray
    radius: np.ndarray
    vertex_map: np.ndarray | None = None
    soma_nodes: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    node_type: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.vertices = np.asarray(self.vertices, dtype=float).reshape(-1, 3)
        self.parent = check_indices(self.parent, "skeleton parent", SkeletonError)
        self.radius = np.asarray(self.radius, dtype=float)
        self.soma_nodes = check_indices(self.soma_nodes, "skeleton soma_nodes", SkeletonError)
        if self.node_type is None:
            _check_soma_range(self.soma_nodes, len(self.parent))
            self.node_type = np.zeros(len(self.parent), np.int8)
            self.node_type[self.soma_nodes] = 1

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.parent)

    @property
    def roots(self) -> np.ndarray:
        """Ids of the root nodes (``parent < 0``), ascending."""
        return np.flatnonzero(self.parent < 0)

    @property
    def edge_lengths(self) -> np.ndarray:
        """Length in nm of the edge from each node to its parent (0 for roots)."""
        return edge_lengths(self.vertices, self.parent)

    @property
    def cable_length(self) -> float:
        """Total length of all edges in nm."""
        return float(self.edge_lengths.sum())

    def children_count(self) -> np.ndarray:
        """Number of children of each node.

        Returns
        -------
        (n,) int64 ndarray
            0 for leaves (and isolated roots).
        """
        return np.bincount(self.parent[self.parent >= 0], minlength=self.n_nodes)

    def topological_order(self) -> np.ndarray:
        """Node ids ordered so that every parent precedes its children.

        Returns
        -------
        (n,) int ndarray
            Breadth-first order from the roots, a permutation of ``range(n_nodes)``.

        Raises
        ------
        SkeletonError
            Parent links with a cycle, or a parent index out of range.
        """
        return topological_order(self.parent)

    def to_swc(self, units: str = "um") -> pd.DataFrame:
        """SWC table (``node_id, type, x, y, z, radius, parent_id``), 1-based ids.

        Parameters
        ----------
        units : {"um", "nm"}, default "um"
            Units of coordinates and radii in the table.

        Returns
        -------
        pandas.DataFrame
            One row per node in :meth:`topological_order`; ``parent_id`` is -1 for roots,
            unknown (NaN) radii become 0.

        Raises
        ------
        InputError
            For units other than ``"um"``, ``"µm"`` or ``"nm"``.
        """
        from ..errors import InputError

        scales = {"um": 1e-3, "µm": 1e-3, "nm": 1.0}
        if units not in scales:
            raise InputError(f"SWC units must be 'um' or 'nm', got {units!r}")
        scale = scales[units]
        order = self.topological_order()
        new_id = np.empty(self.n_nodes, np.int64)
        new_id[order] = np.arange(1, self.n_nodes + 1)
        par = self.parent[order]
        return pd.DataFrame({
            "node_id": new_id[order],
            "type": self.node_type[order].astype(int),
            "x": self.vertices[order, 0] * scale, "y": self.vertices[order, 1] * scale,
            "z": self.vertices[order, 2] * scale,
            "radius": np.nan_to_num(self.radius[order], nan=0.0) * scale,
            "parent_id": np.where(par >= 0, new_id[np.maximum(par, 0)], -1),
        })

    def to_navis(self, name: str | None = None):
        """Convert to a ``navis.TreeNeuron`` in nm (needs navis installed).

        Parameters
        ----------
        name : str, optional
            Name of the navis neuron.

        Returns
        -------
        navis.TreeNeuron
            Built from :meth:`to_swc` in nm (``type`` as ``label``); its soma is the first
            of ``soma_nodes``, if any.

        Raises
        ------
        NeurographError
            navis is not installed.
        """
        try:
            import navis
        except ImportError as exc:  # pragma: no cover - optional dependency
            from ..errors import NeurographError
            raise NeurographError("to_navis needs navis: pip install navis") from exc
        swc = self.to_swc(units="nm").rename(columns={"type": "label"})
        neuron = navis.TreeNeuron(swc, units="nm", name=name)
        if len(self.soma_nodes):
            order = self.topological_order()
            new_id = np.empty(self.n_nodes, np.int64)
            new_id[order] = np.arange(1, self.n_nodes + 1)
            neuron.soma = int(new_id[self.soma_nodes[0]])
        return neuron


def _check_soma_range(soma: np.ndarray, n: int) -> None:
    """Soma nodes must be a 1-d array of node indices in ``[0, n)``."""
    if soma.ndim != 1 or (len(soma) and (soma.min() < 0 or soma.max() >= n)):
        raise SkeletonError(f"soma nodes must be node indices in [0, {n - 1}], got {soma.tolist()}")


def check_skeleton(skeleton: Skeleton, n_mesh_vertices: int | None = None) -> None:
    """Refuse a skeleton whose arrays do not describe one rooted forest (the Numba kernels of the
    later steps read them without bounds checks).

    Parameters
    ----------
    skeleton : Skeleton
        The skeleton (nm).
    n_mesh_vertices : int, optional
        Vertices of the mesh the skeleton's ``vertex_map`` refers to; checked when given.

    Raises
    ------
    SkeletonError
        No nodes; non-finite node coordinates; ``parent``, ``radius`` or ``node_type`` of another length
        than ``vertices``; a parent index out of range or links with a cycle; soma nodes out of
        range, repeated or with a parent; a ``vertex_map`` naming nodes out of range, or of
        another length than the mesh's vertices.
    """
    n = len(skeleton.vertices)
    if n == 0:
        raise SkeletonError("the skeleton has no nodes")
    bad = ~np.isfinite(skeleton.vertices).all(axis=1)
    if bad.any():
        raise SkeletonError(f"{bad.sum()} of {n} skeleton nodes have NaN or infinite coordinates (first: node "
                            f"{np.flatnonzero(bad)[0]}); fix or drop them first")
    for what, arr in (("parent", skeleton.parent), ("radius", skeleton.radius), ("node_type", skeleton.node_type)):
        if arr is not None and np.shape(arr) != (n,):
            raise SkeletonError(f"skeleton {what} has shape {np.shape(arr)}, expected ({n},): one per node")
    topological_order(skeleton.parent)  # parents in range, no cycle
    soma = skeleton.soma_nodes
    _check_soma_range(soma, n)
    if len(np.unique(soma)) != len(soma):
        raise SkeletonError(f"soma nodes repeat ({soma.tolist()}): give each soma node once")
    if (skeleton.parent[soma] >= 0).any():
        raise SkeletonError(f"soma node {soma[skeleton.parent[soma] >= 0][0]} has a parent: each soma node must be "
                            "the root of its tree (parent -1)")
    vmap = skeleton.vertex_map
    if vmap is not None:
        vmap = np.asarray(vmap)
        if vmap.ndim != 1 or (vmap.size and (vmap.dtype.kind not in "iu" or vmap.min() < 0 or vmap.max() >= n)):
            raise SkeletonError(f"vertex_map must give a node index in [0, {n - 1}] for every mesh vertex")
        if n_mesh_vertices is not None and len(vmap) != n_mesh_vertices:
            raise SkeletonError(f"the skeleton's vertex_map covers {len(vmap)} mesh vertices but the mesh has "
                                f"{n_mesh_vertices}: pass the mesh the skeleton was made from (RepairResult.mesh, "
                                "not the mesh before repair)")
