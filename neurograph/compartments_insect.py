"""Geometry-only axon of insect (unipolar) neurons, for :func:`neurograph.label_compartments`.

An insect neuron is unipolar: its soma sits in the cell-body rind and hangs off a single
primary neurite; dendrite and axon both branch from that neurite, in *different neuropils*
(e.g. an olfactory projection neuron: dendrite in one antennal-lobe glomerulus, axon in the
mushroom-body calyx and the lateral horn). The two arbors are therefore joined by a long
unbranched tract (the axon's first part, the "linker" of Schneider-Mizell et al. 2016), while
inside each arbor branch points follow each other every few µm. The rule here:

1. **Main tree.** Subtrees holding less than ``prune`` of the tree's cable (twigs, small
   side branches) are set aside; on what remains, *runs* are the stretches between branch
   points.
2. **Tract.** The longest run whose two sides each hold at least ``min_side`` of the cable
   (so the primary neurite, whose soma side has no cable, never qualifies) is the tract
   between the arbors. It must be at least ``min_tract`` nm long and ``tract_ratio`` times
   the cable-weighted median run length of the rest of the main tree; otherwise the tree
   has no separable axon (a local neuron) and nothing is labelled.
3. **Side.** With a soma, the axon is the side away from the soma: along the primary
   neurite, insect dendrites branch off before the axon leaves for its target neuropil
   (the soma-proximal arbor is the dendrite). Without a soma (a fragment), the side
   whose terminal twigs are denser (tips per µm of cable) is the dendrite: fly dendrites
   carry many short postsynaptic twigs, axon terminals fewer, bouton-bearing ones.

Everything is computed on the skeleton arrays of
:class:`neurograph.compartments._Arbor` (nm); no synapses are used.
"""

from __future__ import annotations

import numpy as np

from .compartments import _wmedian
from .graph.kernels import subtree_sum


def substantial_primaries(arbor, soma_node: int, share: float = 0.05) -> int:
    """Number of neurites leaving a soma node that carry at least ``share`` of its tree's cable.

    Parameters
    ----------
    arbor : neurograph.compartments._Arbor
        Skeleton arrays (nm).
    soma_node : int
        A soma skeleton node.
    share : float, default 0.05
        Fraction of the tree's cable a primary neurite must hold to count.

    Returns
    -------
    int
    """
    in_tree = arbor.root == arbor.root[soma_node]
    cable = subtree_sum(arbor.order, arbor.parent, np.where(in_tree, arbor.edge, 0.0))
    children = np.flatnonzero(arbor.parent == soma_node)
    total = cable[soma_node]
    if total <= 0:
        return 0
    return int(np.sum(cable[children] >= share * total))


def is_unipolar(arbor, tree: int) -> bool:
    """True when the tree has a soma with exactly one substantial neurite (insect-like)."""
    somas = [int(s) for s in np.flatnonzero(arbor.is_soma) if arbor.root[s] == tree]
    return bool(somas) and all(substantial_primaries(arbor, s) == 1 for s in somas)


def _runs(order: np.ndarray, parent: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run id of every kept node (stretches of the kept tree between branch points) and
    the number of kept children of every node."""
    n = len(parent)
    has = (parent >= 0) & keep
    kids = np.bincount(parent[has], minlength=n)
    run = np.full(n, -1, np.int64)
    next_id = 0
    for node in order:
        if not keep[node]:
            continue
        p = parent[node]
        if p >= 0 and keep[p] and kids[p] == 1 and run[p] >= 0:
            run[node] = run[p]
        else:
            run[node] = next_id
            next_id += 1
    return run, kids


def insect_axon(arbor, tree: int, prune: float = 0.05, min_side: float = 0.1, min_tract: float = 15000.0,
                tract_ratio: float = 3.0) -> tuple[np.ndarray, float] | None:
    """Axon nodes of one insect-neuron tree from geometry, and a confidence (0.5-1).

    Parameters
    ----------
    arbor : neurograph.compartments._Arbor
        Skeleton arrays (nm).
    tree : int
        Root label of the tree (``arbor.root``).
    prune : float, default 0.05
        Subtrees with less than this fraction of the tree's cable are not part of the main tree.
    min_side : float, default 0.1
        Each side of the tract must hold at least this fraction of the tree's cable.
    min_tract : float, default 15000
        Shortest tract in nm.
    tract_ratio : float, default 3
        The tract must be this many times longer than the cable-weighted median run of the
        main tree.

    Returns
    -------
    (axon mask over all skeleton nodes, confidence) or None
        None when the tree has no tract that separates two arbors (e.g. a local neuron).
    """
    in_tree = arbor.root == tree
    edge = np.where(in_tree, arbor.edge, 0.0)
    cable = subtree_sum(arbor.order, arbor.parent, edge)
    roots = np.flatnonzero(in_tree & (arbor.parent < 0))
    total = float(cable[roots].sum())
    if total <= 0:
        return None
    keep = in_tree & (cable >= prune * total)
    run, kids = _runs(arbor.order, arbor.parent, keep)
    ids = run[keep]
    if not len(ids):
        return None
    n_runs = int(ids.max()) + 1
    length = np.bincount(ids, weights=edge[keep], minlength=n_runs)
    # top (first) and bottom (last) node of every run: smallest / largest path to the root
    nodes = np.flatnonzero(keep)
    depth = arbor.path[nodes]
    top = np.full(n_runs, -1, np.int64)
    bottom = np.full(n_runs, -1, np.int64)
    by_depth = nodes[np.argsort(depth, kind="stable")]
    top[run[by_depth[::-1]]] = by_depth[::-1]  # last write wins: the shallowest
    bottom[run[by_depth]] = by_depth  # the deepest
    distal = cable[top]  # the run and everything below it
    proximal = total - distal
    ok = (np.minimum(cable[bottom], proximal) >= min_side * total) & ~arbor.is_soma[top]
    if not ok.any():
        return None
    cand = np.flatnonzero(ok)
    best = int(cand[np.argmax(length[cand])])
    others = np.delete(np.arange(n_runs), best)
    ref = _wmedian(length[others], length[others]) if len(others) else 0.0
    ref = 0.0 if not np.isfinite(ref) else ref
    if length[best] < min_tract or length[best] < tract_ratio * ref:
        return None
    t = int(top[best])
    below = arbor.below(t) & in_tree
    has_soma = bool(arbor.is_soma[in_tree].any())
    if has_soma and not (below & arbor.is_soma).any():
        axon = below
    else:  # no soma (or the soma below the tract): the side with the sparser twigs is the axon
        rest = in_tree & ~below & ~arbor.is_soma
        axon = below if _tip_density(arbor, below) <= _tip_density(arbor, rest) else rest
        axon = axon & ~arbor.is_soma
    ratio = length[best] / max(ref, 1.0)
    conf = float(0.5 + 0.5 * np.clip((ratio - tract_ratio) / (3 * tract_ratio), 0.0, 1.0))
    return axon, conf


def _tip_density(arbor, nodes: np.ndarray) -> float:
    """Terminal tips per µm of cable among ``nodes``."""
    n = len(arbor.parent)
    has = arbor.parent >= 0
    kids = np.bincount(arbor.parent[has], minlength=n)
    tips = np.sum(nodes & (kids == 0) & ~arbor.is_soma)
    cable = arbor.edge[nodes].sum() / 1e3
    return float(tips / cable) if cable > 0 else 0.0
