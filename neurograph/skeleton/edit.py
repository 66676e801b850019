"""Edits of skeleton trees: folding short twigs into their parents."""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import numpy_sum
from .skeleton import Skeleton
from .tree import fold_nodes


@njit(cache=True)
def _collapse_rounds(vertices: np.ndarray, parent: np.ndarray, radius: np.ndarray, protected: np.ndarray,
                     factor: float) -> np.ndarray:
    """The node every node is merged into by :func:`collapse_twigs` (itself if kept).

    Each round lists every terminal twig (the path from a leaf up to its branch point, leaves
    in increasing order) and then folds those shorter than ``factor`` x the branch point's
    radius; rounds repeat until none is folded. Path lengths are summed in numpy's order."""
    n = parent.shape[0]
    merged_into = np.arange(n)
    alive = np.ones(n, np.bool_)
    live_parent = np.empty(n, np.int64)
    n_children = np.empty(n, np.int64)
    buf = np.empty(2 * n + 1, np.int64)  # the twigs' paths, one after the other
    starts = np.empty(n + 1, np.int64)
    ends = np.empty(n + 1, np.int64)
    big = np.finfo(np.float64).max
    while True:
        for i in range(n):
            live_parent[i] = parent[i] if alive[i] else -1
        n_children[:] = 0
        for i in range(n):
            if live_parent[i] >= 0:
                n_children[live_parent[i]] += 1
        for i in range(n):
            if not alive[i]:
                n_children[i] = -1
        n_paths, m = 0, 0
        for leaf in range(n):
            if n_children[leaf] != 0 or live_parent[leaf] < 0:
                continue
            start = m
            buf[m] = leaf
            m += 1
            node = live_parent[leaf]
            while node >= 0 and n_children[node] == 1 and live_parent[node] >= 0:
                buf[m] = node
                m += 1
                node = live_parent[node]
            if node >= 0 and n_children[node] >= 2:
                buf[m] = node
                m += 1
                starts[n_paths], ends[n_paths] = start, m
                n_paths += 1
            else:
                m = start
        changed = False
        for q in range(n_paths):
            s, e = starts[q], ends[q]
            base = buf[e - 1]
            keep = False
            for j in range(s, e - 1):
                keep |= protected[buf[j]]
            if keep:
                continue
            steps = np.empty(e - s - 1)
            for j in range(s, e - 1):
                dx = vertices[buf[j + 1], 0] - vertices[buf[j], 0]
                dy = vertices[buf[j + 1], 1] - vertices[buf[j], 1]
                dz = vertices[buf[j + 1], 2] - vertices[buf[j], 2]
                steps[j - s] = np.sqrt(dx * dx + dy * dy + dz * dz)
            seg = numpy_sum(steps)
            r = radius[base]
            r = 0.0 if np.isnan(r) else (big if r == np.inf else (-big if r == -np.inf else r))  # np.nan_to_num
            limit = factor * r
            if protected[base]:  # a stub on a soma: measured from the soma's surface
                seg -= radius[base]
            if seg < limit:
                for j in range(s, e - 1):
                    alive[buf[j]] = False
                    merged_into[buf[j]] = base
                changed = True
        if not changed:
            return merged_into


def collapse_twigs(skeleton: Skeleton, factor: float) -> Skeleton:
    """Fold terminal twigs shorter than ``factor`` x the radius at their branch point.

    Their nodes (and mesh vertices) are merged into the branch point. Repeats until no
    such twig is left, since folding a twig can turn its branch point into a plain node.
    Twigs containing soma nodes are kept; a twig on a soma node is measured from the soma
    surface (length minus the soma radius) against the soma radius: a bump on the cell
    body, not a primary neurite.

    Parameters
    ----------
    skeleton : Skeleton
        The tree (nm); not modified.
    factor : float
        Twig length threshold as a multiple of the branch-point radius (a NaN radius
        counts as 0, so such twigs are kept).

    Returns
    -------
    Skeleton
        A new skeleton with surviving nodes renumbered; ``vertex_map``, ``soma_nodes`` and
        ``node_type`` follow the renumbering.
    """
    protected = np.zeros(skeleton.n_nodes, bool)
    protected[skeleton.soma_nodes] = True
    merged_into = _collapse_rounds(np.ascontiguousarray(skeleton.vertices, dtype=float),
                                   np.asarray(skeleton.parent, np.int64), np.asarray(skeleton.radius, float),
                                   protected, float(factor))
    return fold_nodes(skeleton, merged_into)[0]
