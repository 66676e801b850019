"""Edits of skeleton trees: folding short twigs into their parents."""

from __future__ import annotations

import numpy as np

from .skeleton import Skeleton
from .tree import fold_nodes


def _twig_paths(parent: np.ndarray, n_children: np.ndarray) -> list[np.ndarray]:
    """Each terminal twig as the node path from its leaf up to (excluding) its branch point."""
    twigs = []
    for leaf in np.flatnonzero((n_children == 0) & (parent >= 0)):
        path = [leaf]
        node = parent[leaf]
        while node >= 0 and n_children[node] == 1 and parent[node] >= 0:
            path.append(node)
            node = parent[node]
        if node >= 0 and n_children[node] >= 2:
            twigs.append(np.asarray(path + [node]))
    return twigs


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
    vertices, parent, radius = skeleton.vertices.copy(), skeleton.parent.copy(), skeleton.radius.copy()
    merged_into = np.arange(len(parent))
    alive = np.ones(len(parent), bool)
    protected = np.zeros(len(parent), bool)
    protected[skeleton.soma_nodes] = True
    while True:
        live_parent = np.where(alive, parent, -1)
        n_children = np.bincount(live_parent[live_parent >= 0], minlength=len(parent))
        n_children[~alive] = -1
        changed = False
        for path in _twig_paths(live_parent, n_children):
            base = path[-1]
            if protected[path[:-1]].any():
                continue
            seg = np.linalg.norm(np.diff(vertices[path], axis=0), axis=1).sum()
            limit = factor * np.nan_to_num(radius[base], nan=0.0)
            if protected[base]:  # a stub on a soma: measured from the soma's surface
                seg -= radius[base]
            if seg < limit:
                alive[path[:-1]] = False
                merged_into[path[:-1]] = base
                n_children[base] -= 1
                changed = True
        if not changed:
            break
    return fold_nodes(skeleton, merged_into)[0]
