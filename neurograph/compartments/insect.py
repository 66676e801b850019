"""Geometry-only axon of insect (unipolar) neurons, for :func:`neurograph.label_compartments`.

An insect neuron is unipolar: its soma sits in the cell-body rind and hangs off a single
primary neurite; dendrite and axon both branch from that neurite, in *different neuropils*
(e.g. an olfactory projection neuron: dendrite in one antennal-lobe glomerulus, axon in the
mushroom-body calyx and the lateral horn). The two arbors are therefore joined by a long
unbranched tract (the axon's first part, the "linker" of Schneider-Mizell et al. 2016), while
inside each arbor branch points follow each other every few µm. The rule here:

1. **Main tree.** An edge belongs to the main tree when both sides of it hold at least
   ``prune`` (2 %) of the tree's cable, wherever the tree is rooted (twigs and small side
   branches are set aside); *runs* are the stretches of the main tree between its branch
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
:class:`neurograph.compartments.arbor.Arbor` (nm); no synapses are used.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..skeleton.tree import subtree_sum
from ..stats import weighted_median


def substantial_primaries(arbor, soma_node: int, share: float = 0.05) -> int:
    """Number of neurites leaving a soma node that carry at least ``share`` of its tree's cable.

    Parameters
    ----------
    arbor : neurograph.compartments.Arbor
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


@njit(cache=True)
def _chain_runs(order: np.ndarray, parent: np.ndarray, has: np.ndarray, degree: np.ndarray) -> np.ndarray:
    run = np.full(parent.shape[0], -1, np.int64)
    next_id = 0
    for k in range(order.shape[0]):
        node = order[k]
        if not has[node]:
            continue
        p = parent[node]
        if has[p] and degree[p] == 2:
            run[node] = run[p]
        else:
            run[node] = next_id
            next_id += 1
    return run


def _core_runs(order: np.ndarray, parent: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Run id of every core edge (an edge is its child node; -1 off the core): chains of core
    edges joined at nodes with exactly two core edges."""
    n = len(parent)
    has = core & (parent >= 0)
    degree = np.bincount(parent[has], minlength=n) + has.astype(np.int64)
    run = _chain_runs(np.asarray(order, np.int64), np.asarray(parent, np.int64), has, degree)
    # a root with exactly two core edges joins their runs
    for r in np.flatnonzero((parent < 0) & (degree == 2)):
        a, b = run[np.flatnonzero(has & (parent == r))]
        run[run == b] = a
    return run


def insect_axon(arbor, tree: int, prune: float = 0.02, min_side: float = 0.1, min_tract: float = 15000.0,
                tract_ratio: float = 3.0) -> tuple[np.ndarray, float] | None:
    """Axon nodes of one insect-neuron tree from geometry, and a confidence (0.5-1).

    Parameters
    ----------
    arbor : neurograph.compartments.Arbor
        Skeleton arrays (nm).
    tree : int
        Root label of the tree (``arbor.root``).
    prune : float, default 0.02
        An edge is on the main tree when both sides of it hold at least this fraction of the
        tree's cable (independent of where the tree is rooted).
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
    edge = np.where(in_tree & (arbor.parent >= 0), arbor.edge, 0.0)
    cable = subtree_sum(arbor.order, arbor.parent, edge)  # includes each node's own edge
    roots = np.flatnonzero(in_tree & (arbor.parent < 0))
    total = float(cable[roots].sum())
    if total <= 0:
        return None
    core = in_tree & (arbor.parent >= 0) & (np.minimum(cable, total - cable) >= prune * total)
    run = _core_runs(arbor.order, arbor.parent, core)
    if not core.any():
        return None
    ids, run_of = np.unique(run[core], return_inverse=True)
    nodes = np.flatnonzero(core)
    length = np.bincount(run_of, weights=edge[nodes], minlength=len(ids))
    # shallowest edge of each run
    by_depth = np.argsort(arbor.path[nodes], kind="stable")[::-1]
    top = np.full(len(ids), -1, np.int64)
    top[run_of[by_depth]] = nodes[by_depth]
    distal = cable[top] - length  # below the run's upper end, the run itself excepted
    proximal = total - cable[top]  # above it
    ok = np.minimum(distal, proximal) >= min_side * total
    if not ok.any():
        return None
    cand = np.flatnonzero(ok)
    best = int(cand[np.argmax(length[cand])])
    others = np.delete(np.arange(len(ids)), best)
    ref = weighted_median(length[others], length[others]) if len(others) else 0.0
    ref = 0.0 if not np.isfinite(ref) else ref
    if length[best] < min_tract or length[best] < tract_ratio * ref:
        return None
    tract = np.zeros(arbor.n, bool)
    tract[nodes[run_of == best]] = True
    far = arbor.below(int(top[best])) & in_tree & ~tract
    near = in_tree & ~far & ~tract
    soma_far, soma_near = bool((far & arbor.is_soma).any()), bool((near & arbor.is_soma).any())
    if soma_near != soma_far:  # the axon is the side away from the soma
        side = far if soma_near else near
    else:  # no soma: the side with the sparser terminal twigs is the axon
        side = far if _tip_density(arbor, far) <= _tip_density(arbor, near) else near
    axon = (side | tract) & ~arbor.is_soma
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
