"""Skeleton arrays shared by the compartment rules (:class:`Arbor`), nm."""

from __future__ import annotations

import numpy as np

from ..skeleton.tree import mark_subtree, path_from_soma, root_labels

MIN_SYNAPSES = 10  # per tree and direction, for the synapse method


class Arbor:
    """Skeleton arrays of a neuron shared by the compartment rules (nm): parent, order, edge
    lengths, path from the soma surface, root of every node, widths, node branches."""

    def __init__(self, neuron) -> None:
        sk = neuron.skeleton
        self.sk = sk
        self.parent = np.asarray(sk.parent, np.int64)
        self.order = np.asarray(sk.topological_order(), np.int64)
        self.n = sk.n_nodes
        self.edge = sk.edge_lengths
        self.path = path_from_soma(sk, [s.radius for s in neuron.somas], self.order)
        self.root = root_labels(self.order, self.parent)
        self.is_soma = np.zeros(self.n, bool)
        self.is_soma[sk.soma_nodes] = True
        r = np.asarray(sk.radius, float)
        self.width = np.where(np.isfinite(r) & (r > 0), 2 * r, np.nan)
        self.node_branch = np.asarray(neuron.node_branch, np.int64)
        self.soma_trees = set(self.root[sk.soma_nodes].tolist())

    def below(self, node: int) -> np.ndarray:
        top = np.zeros(self.n, bool)
        top[node] = True
        return mark_subtree(self.order, self.parent, top)


def base_width(arbor: Arbor, nodes: np.ndarray, start_path: float) -> float:
    rel = arbor.path[nodes] - start_path
    w = arbor.width[nodes]
    pick = (rel >= 1000) & (rel <= 10000) & np.isfinite(w)
    if pick.sum() < 2:
        pick = (rel <= 10000) & np.isfinite(w)
    if not pick.any():
        pick = np.isfinite(w)
    return float(np.median(w[pick])) if pick.any() else np.nan
