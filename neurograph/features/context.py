"""Arrays shared by the neuron-level features, computed once per neuron.

Everything here is in nm (feature functions convert to the unit they register). Cable is
measured on skeleton *segments* (node -> parent edges) weighted by length, never by node
counts, so that features do not change when a skeleton is resampled more or less densely.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from ..codes import COMPARTMENT_NAMES
from ..graph.branch_table import DIRECTION_OFFSET, branch_directions
from ..skeleton.tree import clip_at_spheres, contributing_lengths, path_lengths, root_labels

#: SWC structure types used as compartment labels
COMPARTMENT_TYPES = {name: code for code, name in COMPARTMENT_NAMES.items()}  # axon 2, dendrite 3, apical 4


class NeuronContext:
    """Derived arrays of one :class:`~neurograph.Neuron` for the feature functions.

    Attributes
    ----------
    neuron : Neuron
    vertices : (n, 3) float ndarray
        Skeleton nodes, nm.
    parent : (n,) int ndarray
    seg : (m,) int ndarray
        Child node of every segment (node with a parent).
    seg_start, seg_end : (m, 3) float ndarrays
        Segment end points in nm; segments starting inside a soma start on its surface.
    seg_length : (m,) float ndarray
        Segment lengths in nm (soma-interior part removed, whatever the node spacing).
    node_path : (n,) float ndarray
        Path length from the soma surface (or the tree root) to each node, nm.
    reference : (3,) float ndarray
        Soma centre (largest soma) or, without a soma, the root of the largest tree, nm.
    reference_node : int
        Without a soma, the node at ``reference`` (the root of the largest tree); -1 with one.
    canonical : bool
        Whether the neuron is a canonical form (its soma-less trees rooted at the estimated soma
        end), not the neuron as given.
    available : set of str
        Inputs present (see :data:`neurograph.features.registry.INPUTS`).
    """

    def __init__(self, neuron, canonical: bool = False) -> None:
        #: whether ``neuron`` is a canonical form (:func:`neurograph.canonical`), not the neuron as given
        self.canonical = bool(canonical)
        sk = neuron.skeleton
        self.neuron = neuron
        self.name = neuron.name
        self.vertices = np.asarray(sk.vertices, float)
        self.parent = np.asarray(sk.parent, np.int64)
        self.radius = np.asarray(sk.radius, float)
        self.n = len(self.parent)
        self.somas = list(neuron.somas)
        self.soma_nodes = np.asarray(sk.soma_nodes, np.int64)
        self.is_soma = np.zeros(self.n, bool)
        self.is_soma[self.soma_nodes] = True
        self.order = sk.topological_order()
        self.seg = np.flatnonzero(self.parent >= 0)
        p = self.parent[self.seg]
        end = self.vertices[self.seg]
        # cable inside a soma is not neurite: segments are clipped exactly at its surface
        centers = np.asarray([s.center for s in self.somas], float).reshape(-1, 3)
        radii = np.asarray([s.radius for s in self.somas], float)
        start = clip_at_spheres(self.vertices[p], end, centers, radii)
        self.seg_start, self.seg_end = start, end
        edge = contributing_lengths(sk, radii, soma_center=centers)  # the same clip, per node
        self.seg_length = edge[self.seg]
        self.node_path = path_lengths(self.order, self.parent, edge)
        self.seg_path0 = self.node_path[p]
        self.seg_path1 = self.node_path[self.seg]
        #: the node at ``reference`` without a soma (the root of the largest tree), else -1
        self.reference_node = -1 if len(self.somas) else self._largest_root(edge)
        if len(self.somas):
            self.reference = np.asarray(self.somas[0].center, float)
        else:
            self.reference = self.vertices[self.reference_node]
        self.node_radial = np.linalg.norm(self.vertices - self.reference, axis=1)
        self.seg_radial0 = np.linalg.norm(start - self.reference, axis=1)
        self.seg_radial1 = self.node_radial[self.seg]
        n_children = np.bincount(p, minlength=self.n)
        self.n_children = n_children
        self.tips = np.flatnonzero((n_children == 0) & ~self.is_soma)
        self.branch_points = np.flatnonzero((n_children >= 2) & ~self.is_soma)
        self.available = self._inputs()

    def first_branch_node(self) -> int:
        """First branch point (by path) of the stem with the most cable; -1 if none."""
        if not len(self.branch_points):
            return -1
        stem_parent = self.parent.copy()
        stem_parent[np.isin(self.parent, self.soma_nodes)] = -1  # stems become roots
        stem = root_labels(self.order, stem_parent)
        cable = np.bincount(stem[self.seg], weights=self.seg_length, minlength=self.n)
        bps = self.branch_points[stem[self.branch_points] == np.argmax(cable)]
        return int(bps[np.argmin(self.node_path[bps])]) if len(bps) else -1

    def _largest_root(self, edge: np.ndarray) -> int:
        """The root with the most cable below it (``edge``: nm of each node's parent edge)."""
        roots = np.flatnonzero(self.parent < 0)
        if len(roots) == 1:
            return int(roots[0])
        root_of = root_labels(self.order, self.parent)
        cable = np.bincount(root_of, weights=edge, minlength=self.n)
        return int(roots[np.argmax(cable[roots])])

    def _inputs(self) -> set[str]:
        have = {"skeleton"}
        if len(self.somas):
            have.add("soma")
        non_soma = ~self.is_soma
        if self._measured_radii(self.radius[non_soma]):
            have.add("radii")
        if getattr(self.neuron, "mesh", None) is not None:
            have.add("mesh")
        syn = getattr(self.neuron, "synapses", None)
        if syn is not None and len(syn):
            have.add("synapses")
        if getattr(self.neuron, "spines", None) is not None or "n_spines" in self.branches.columns:
            have.add("spines")
        if np.any(self.compartment[non_soma] > 0):
            have.add("compartments")
        return have

    @staticmethod
    def _measured_radii(radius: np.ndarray) -> bool:
        """True when at least half the nodes have a radius and they are not one value set for
        all (a constant radius, e.g. a converter's default, carries no measurement)."""
        known = radius[np.isfinite(radius) & (radius > 0)]
        if not len(radius) or len(known) < 0.5 * len(radius):
            return False
        _, counts = np.unique(known, return_counts=True)
        return counts.max() < 0.5 * len(known)

    @cached_property
    def branches(self) -> pd.DataFrame:
        """``Neuron.branches`` (lengths µm, widths nm)."""
        return self.neuron.branches

    @cached_property
    def compartment(self) -> np.ndarray:
        """Compartment code per node: 2 axon, 3 dendrite, 4 apical, 0 unknown.

        From the skeleton's SWC types (read from the file or set by
        :func:`neurograph.label_compartments`).
        """
        labels = self.neuron.skeleton.node_type
        labels = np.asarray(labels, np.int64) if labels is not None else np.zeros(self.n, np.int64)
        return np.where(np.isin(labels, list(COMPARTMENT_TYPES.values())), labels, 0)

    @cached_property
    def total_length(self) -> float:
        """Cable length in nm."""
        return float(self.seg_length.sum())

    @cached_property
    def seg_mid(self) -> np.ndarray:
        return 0.5 * (self.seg_start + self.seg_end)

    @cached_property
    def centroid(self) -> np.ndarray:
        """Cable-weighted centre, nm."""
        w = self.seg_length
        return (self.seg_mid * w[:, None]).sum(0) / w.sum() if w.sum() > 0 else self.reference.copy()

    @cached_property
    def pca(self) -> tuple[np.ndarray, np.ndarray]:
        """Cable-weighted principal axes (rows) and standard deviations (nm).

        Axis signs are fixed so that the cable's third moment along each axis is >= 0,
        which makes projections independent of the neuron's orientation.
        """
        w = self.seg_length
        if w.sum() <= 0 or len(w) < 3:
            return np.eye(3), np.full(3, np.nan)
        x = self.seg_mid - self.centroid
        d = self.seg_end - self.seg_start
        # exact second moment of uniformly dense segments: midpoint term + d d^T / 12
        cov = ((x * w[:, None]).T @ x + (d * w[:, None]).T @ d / 12.0) / w.sum()
        vals, vecs = np.linalg.eigh(cov)
        idx = np.argsort(vals)[::-1]
        axes = vecs[:, idx].T
        proj = x @ axes.T
        third = (proj ** 3 * w[:, None]).sum(0)
        axes = axes * np.where(third < 0, -1.0, 1.0)[:, None]
        return axes, np.sqrt(np.maximum(vals[idx], 0.0))

    @cached_property
    def main_path(self) -> tuple[np.ndarray, np.ndarray]:
        """The neuron's backbone: the path from the soma surface (or root) to the tip with the
        longest path length, as path lengths (nm, increasing from 0) and points (nm).

        Starts on the soma surface (the first segment's start), so that points interpolated at
        a given path length do not depend on how densely the skeleton is sampled.
        Empty arrays without tips.
        """
        if not len(self.tips):
            return np.zeros(0), np.zeros((0, 3))
        v = int(self.tips[np.argmax(self.node_path[self.tips])])
        nodes = []
        while v >= 0 and not self.is_soma[v]:
            nodes.append(v)
            v = int(self.parent[v])
        nodes = np.asarray(nodes[::-1], np.int64)
        if self.parent[nodes[0]] >= 0:  # leaves a soma: drop nodes inside it, start on its surface
            ks = np.searchsorted(self.seg, nodes)
            first = int(np.argmax(self.seg_length[ks] > 0)) if (self.seg_length[ks] > 0).any() else 0
            nodes, k = nodes[first:], int(ks[first])
            return (np.r_[self.seg_path0[k], self.node_path[nodes]],
                    np.vstack([self.seg_start[k], self.vertices[nodes]]))
        return self.node_path[nodes], self.vertices[nodes]

    def main_path_points(self, at: np.ndarray) -> np.ndarray:
        """Points (nm) of :attr:`main_path` at path lengths ``at`` (nm; clamped to its ends).

        Parameters
        ----------
        at : (k,) float ndarray
            Path lengths from the start of the main path, nm.

        Returns
        -------
        (k, 3) float ndarray
            Interpolated points, nm; NaN when the neuron has no tips.
        """
        path, pts = self.main_path
        if not len(path):
            return np.full((len(at), 3), np.nan)
        return np.column_stack([np.interp(at, path, pts[:, k]) for k in range(3)])

    @cached_property
    def direction_vectors(self) -> np.ndarray:
        """Unit direction of each branch over :data:`~neurograph.graph.branch_table.DIRECTION_SPAN`
        nm (:func:`~neurograph.graph.branch_table.branch_directions`: a branch of a branch from
        :data:`~neurograph.graph.branch_table.DIRECTION_OFFSET` past its fork, a stem from the
        soma); rows by graph node id, zero rows for somata and degenerate branches."""
        node_branch = np.asarray(self.neuron.node_branch, np.int64)
        n_ids = int(node_branch.max()) + 1
        start_node = np.full(n_ids, -1, np.int64)
        par_branch = np.where(self.parent >= 0, node_branch[np.maximum(self.parent, 0)], -1)
        is_start = (par_branch != node_branch) | (self.parent < 0)
        start_node[node_branch[is_start]] = np.flatnonzero(is_start)
        start_pos = np.zeros((n_ids, 3))
        start_path = np.zeros(n_ids)
        ok = start_node >= 0
        sp = self.parent[start_node[ok]]
        has_par = sp >= 0
        pos = self.vertices[start_node[ok]].copy()
        path = self.node_path[start_node[ok]].copy()
        pos[has_par] = self.vertices[sp[has_par]]
        path[has_par] = self.node_path[sp[has_par]]
        start_pos[ok], start_path[ok] = pos, path
        # a branch of a branch starts DIRECTION_OFFSET past its fork; a stem at the soma
        offset = np.zeros(n_ids)
        offset[np.flatnonzero(ok)[has_par & (node_branch[np.maximum(sp, 0)] >= len(self.soma_nodes))]] = DIRECTION_OFFSET
        vec = branch_directions(self.vertices, self.parent, self.order, node_branch, self.node_path, start_pos,
                                start_path, offset)
        vec[: len(self.soma_nodes)] = 0.0
        norm = np.linalg.norm(vec, axis=1)
        return np.divide(vec, norm[:, None], out=np.zeros_like(vec), where=norm[:, None] > 0)
