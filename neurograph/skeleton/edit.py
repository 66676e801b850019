"""Edits of skeleton trees: folding short twigs into their parents."""

from __future__ import annotations

import numpy as np

from .skeleton import Skeleton


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
    surface (length minus the soma radius) against the radius of its node next to the soma.

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
            if protected[base]:  # a stub on a soma: measure from its surface, against its own radius
                seg -= radius[base]
                limit = factor * np.nan_to_num(radius[path[-2]], nan=0.0)
            if seg < limit:
                alive[path[:-1]] = False
                merged_into[path[:-1]] = base
                n_children[base] -= 1
                changed = True
        if not changed:
            break
    # Resolve chains of merges, then renumber the surviving nodes.
    while True:
        nxt = merged_into[merged_into]
        if np.array_equal(nxt, merged_into):
            break
        merged_into = nxt
    new_id = np.cumsum(alive) - 1
    keep = np.flatnonzero(alive)
    new_parent = np.where(parent[keep] >= 0, new_id[np.maximum(parent[keep], 0)], -1)
    vmap = None if skeleton.vertex_map is None else new_id[merged_into[skeleton.vertex_map]]
    return Skeleton(vertices[keep], new_parent, radius[keep], vmap, new_id[skeleton.soma_nodes],
                    skeleton.node_type[keep])


def _segments_between_keys(parent: np.ndarray, is_key: np.ndarray) -> list[np.ndarray]:
    """Each unbranched run of nodes as ``[key ancestor, ..., key node]`` (key: root, branch
    point, tip or a node that must stay)."""
    runs = []
    for end in np.flatnonzero(is_key & (parent >= 0)):
        path = [end]
        node = parent[end]
        while not is_key[node]:
            path.append(node)
            node = parent[node]
        path.append(node)
        runs.append(np.asarray(path[::-1]))
    return runs


def resample(skeleton: Skeleton, spacing: float) -> Skeleton:
    """Re-place the nodes of every unbranched run evenly, about ``spacing`` nm apart.

    Roots, soma nodes and their children, branch points and tips stay where they are (with their radius and
    SWC type); the nodes between them are replaced by points spaced ``length / ceil(length /
    spacing)`` along the polyline, with radii interpolated (NaN stays NaN) and the type of the
    run's end node. The result looks like a skeleton sampled at a coarser (or finer)
    resolution, e.g. the ~2 µm level-2 skeletons of the CAVE skeleton service.

    Parameters
    ----------
    skeleton : Skeleton
        The tree, nm; not modified.
    spacing : float
        Target node spacing along the cable, nm (> 0).

    Returns
    -------
    Skeleton
        A new skeleton (no ``vertex_map``); key nodes keep their order and come first.
    """
    from ..errors import InputError

    if not (np.isfinite(spacing) and spacing > 0):
        raise InputError(f"spacing must be a positive distance in nm, got {spacing!r}")
    parent = skeleton.parent
    n_children = np.bincount(parent[parent >= 0], minlength=skeleton.n_nodes)
    is_key = (parent < 0) | (n_children != 1)
    is_soma = np.zeros(skeleton.n_nodes, bool)
    is_soma[skeleton.soma_nodes] = True
    is_key |= is_soma
    is_key[np.isin(parent, skeleton.soma_nodes)] = True  # where neurites leave a soma
    key = np.flatnonzero(is_key)
    new_of_key = np.full(skeleton.n_nodes, -1, np.int64)
    new_of_key[key] = np.arange(len(key))
    verts, radius, types, par = [skeleton.vertices[key]], [skeleton.radius[key]], [skeleton.node_type[key]], \
        [np.full(len(key), -1, np.int64)]
    n_new = len(key)
    for run in _segments_between_keys(parent, is_key):
        pts = skeleton.vertices[run]
        s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
        k = 1 if is_soma[run[0]] else max(1, int(np.ceil(s[-1] / spacing - 1e-9)))
        t = s[-1] * np.arange(1, k) / k
        inner = np.column_stack([np.interp(t, s, pts[:, c]) for c in range(3)])
        r = np.interp(t, s, skeleton.radius[run])
        ids = n_new + np.arange(k - 1)
        chain = np.concatenate([[new_of_key[run[0]]], ids])
        verts.append(inner)
        radius.append(r)
        types.append(np.full(k - 1, skeleton.node_type[run[-1]], np.int8))
        par.append(chain[:-1])
        par[0][new_of_key[run[-1]]] = chain[-1]
        n_new += k - 1
    return Skeleton(np.vstack(verts), np.concatenate(par), np.concatenate(radius), None,
                    new_of_key[skeleton.soma_nodes], np.concatenate(types).astype(np.int8))
