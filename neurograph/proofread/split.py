"""One neuron per soma: cut merged cells apart on the paths between their somata.

The node graph of a neuron (skeleton nodes joined by skeleton edges and by shared mesh
edges) holds every path the membrane offers from one soma to another. While two somata are
still connected, the shortest such path is scored node by node for what a merge looks like
in EM segmentations (the calibre measured on the mesh, nm):

* ``thinnest calibre`` - the narrowest place relative to the path's median radius (a thin
  neurite touching another cell, a dendrite tapering to its tip where it meets the other);
* ``calibre jump`` - an abrupt change of radius (log-ratio of the 2 µm before and after);
* ``high-degree crossing`` - two or more side arms within 1.5 µm (two neurites crossing
  make a 4-way junction; a real branch point has one side arm);
* ``doubling back`` - the path turns by more than 90° within 2 µm (a real neurite does not
  reverse; a path from one cell into another often does).

At the best place a junction region (nodes within max(1.5 µm, 2 radii)) is cut out. The
arms leaving it that hold a soma go to that soma; arms without a soma (the far half of a
crossing neurite) go to the side whose arm they continue most straightly. The region
itself stays with the thicker side. This repeats until no path joins two somata; then
every node belongs to its soma's connected piece, and :func:`~neurograph.proofread.divide.divide`
rebuilds one :class:`Neuron` per soma.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from ..errors import InputError, check_number
from ..graph import Neuron
from ..skeleton.tree import root_labels
from .divide import CUT_COLUMNS, divide, empty_cuts, node_contacts

REASONS = ("thinnest calibre", "calibre jump", "high-degree crossing", "doubling back")


def _graph(n: int, pairs: np.ndarray, w: np.ndarray, alive: np.ndarray) -> sparse.csr_matrix:
    m = sparse.coo_matrix((w[alive], (pairs[alive, 0], pairs[alive, 1])), shape=(n, n))
    return (m + m.T).tocsr()


def _path(graph: sparse.csr_matrix, a: int, b: int) -> np.ndarray | None:
    dist, pred = dijkstra(graph, directed=False, indices=a, return_predecessors=True)
    if not np.isfinite(dist[b]):
        return None
    path = [b]
    while path[-1] != a:
        path.append(pred[path[-1]])
    return np.asarray(path[::-1], np.int64)


def _window_mean(s: np.ndarray, values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Mean of finite ``values`` over arc-length windows ``[s + lo, s + hi]`` of every point."""
    ok = np.isfinite(values)
    cs = np.concatenate([[0.0], np.cumsum(np.where(ok, values, 0.0))])
    cn = np.concatenate([[0], np.cumsum(ok)])
    i0 = np.searchsorted(s, s + lo, side="left")
    i1 = np.searchsorted(s, s + hi, side="right")
    n = cn[i1] - cn[i0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (cs[i1] - cs[i0]) / np.maximum(n, 1), np.nan)


def _at(s: np.ndarray, pts: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points at arc lengths ``t`` (clipped to the path)."""
    t = np.clip(t, s[0], s[-1])
    return np.column_stack([np.interp(t, s, pts[:, k]) for k in range(3)])


def path_scores(pts: np.ndarray, radius: np.ndarray, side: np.ndarray, valid: np.ndarray,
                window: float = 2000.0) -> tuple[np.ndarray, np.ndarray]:
    """Merge likelihood of every node of a path, and its components.

    Parameters
    ----------
    pts : (m, 3) float ndarray
        Path node positions, nm.
    radius : (m,) float ndarray
        Radius at each node, nm (NaN unknown).
    side : (m,) int ndarray
        Extra skeleton arms near each node (1 at a branch point, 2 or more at a crossing).
    valid : (m,) bool ndarray
        Nodes that may be cut (not inside a soma).
    window : float, default 2000
        nm before/after a node compared for calibre jumps and turns.

    Returns
    -------
    score : (m,) float ndarray
        Sum of the components (-inf where not valid).
    parts : (m, 4) float ndarray
        ``thin, jump, crossing, turn`` per node, in the order of :data:`REASONS`.
    """
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    r = np.where(valid, radius, np.nan)
    r_loc = _window_mean(s, r, -window / 4, window / 4)
    med = np.nanmedian(r_loc) if np.isfinite(r_loc).any() else 1.0
    thin = np.log(med / np.maximum(r_loc, 1.0))
    before = _window_mean(s, r, -window, 0.0)
    after = _window_mean(s, r, 0.0, window)
    jump = np.abs(np.log(np.maximum(before, 1.0) / np.maximum(after, 1.0)))
    cross = (side >= 2).astype(float)
    d_in = pts - _at(s, pts, s - window)
    d_out = _at(s, pts, s + window) - pts
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (d_in * d_out).sum(1) / (np.linalg.norm(d_in, axis=1) * np.linalg.norm(d_out, axis=1))
    turn = np.nan_to_num(np.maximum(0.0, -cos))
    parts = np.column_stack([np.nan_to_num(thin), np.nan_to_num(jump), 1.5 * cross, turn])
    score = parts.sum(axis=1)
    score[~valid] = -np.inf
    return score, parts


def split_somas(neuron: Neuron, max_cuts: int = 25, region: float = 1500.0) -> list[Neuron]:
    """Divide a neuron with several somata into one neuron per soma.

    Parameters
    ----------
    neuron : Neuron
        From :func:`neurograph.extract` (with mesh) or :func:`neurograph.decompose`; nm.
    max_cuts : int, default 25
        Most cuts made between one pair of somata.
    region : float, default 1500
        Smallest radius (nm) of the junction region cut out around a merge point (at least
        twice the local neurite radius).

    Returns
    -------
    list of Neuron
        One per soma, in the order of ``neuron.somas``, named ``<name>_<soma>``; each carries
        ``cuts``: one row per cut made next to it (``x, y, z`` nm, ``reason``, ``confidence``
        0-1, ``soma``, ``other_soma``). A neuron with one soma or none comes back alone
        (renamed only when it has a soma), with an empty cut table.

    Raises
    ------
    InputError
        For a neuron without a skeleton.
    """
    sk = neuron.skeleton
    if sk is None or sk.n_nodes == 0:
        raise InputError("split_somas needs a neuron with a skeleton (neurograph.extract or decompose)")
    max_cuts = check_number(max_cuts, "max_cuts", integer=True)
    region = check_number(region, "region", "nm")
    k = len(sk.soma_nodes)
    if k < 2:
        label = np.zeros(sk.n_nodes, np.int64)
        out = divide(neuron, label, names=[f"{neuron.name}_0" if k else neuron.name])
        out[0].cuts = _cut_table([])
        return out
    pairs = node_contacts(neuron)
    n = sk.n_nodes
    w = np.linalg.norm(sk.vertices[pairs[:, 0]] - sk.vertices[pairs[:, 1]], axis=1) + 1.0
    alive = np.ones(len(pairs), bool)
    fixed = np.full(n, -1, np.int64)
    inside = np.zeros(n, bool)
    for s in neuron.somas:
        inside |= np.linalg.norm(sk.vertices - s.center, axis=1) < 1.1 * s.radius
    inside[sk.soma_nodes] = True
    soma_of = {int(s): i for i, s in enumerate(sk.soma_nodes)}
    cuts: list[dict] = []
    for i in range(k):
        for j in range(i + 1, k):
            for _ in range(max_cuts):
                graph = _graph(n, pairs, w, alive)
                path = _path(graph, int(sk.soma_nodes[i]), int(sk.soma_nodes[j]))
                if path is None:
                    break
                cut = _cut_once(neuron, graph, pairs, alive, fixed, path, inside, soma_of, i, j, region)
                cuts.append(cut)
    graph = _graph(n, pairs, w, alive)
    _, comp = connected_components(graph, directed=False)
    label = _final_labels(sk, comp, fixed, soma_of)
    parts = divide(neuron, label, names=[f"{neuron.name}_{i}" for i in range(k)], pairs=pairs)
    cuts = _merge_repeats(cuts)
    for i, part in enumerate(parts):
        if part is not None:
            part.cuts = _cut_table([c for c in cuts if i in (c["soma"], c["other_soma"])])
    return [p for p in parts if p is not None]


def _final_labels(sk, comp: np.ndarray, fixed: np.ndarray, soma_of: dict) -> np.ndarray:
    """Soma index of every node: its piece's soma, else the side it was cut to, else the soma
    whose skeleton tree it was in."""
    label = np.full(len(comp), -1, np.int64)
    for node, i in soma_of.items():
        label[comp == comp[node]] = i
    rest = label < 0
    for c in np.unique(comp[rest]):
        members = np.flatnonzero(comp == c)
        f = fixed[members]
        if (f >= 0).any():
            label[members] = np.bincount(f[f >= 0]).argmax()
    rest = np.flatnonzero(label < 0)
    if len(rest):
        root = root_labels(sk.topological_order().astype(np.int64), sk.parent)
        label[rest] = [soma_of.get(int(root[v]), 0) for v in rest]
    return label


def _side_arms(sk, path: np.ndarray, span: float = 1500.0, cos_same: float = 0.8) -> np.ndarray:
    """Extra arms of the junction region around every path node: the directions in which
    skeleton edges leave the ball of ``span`` nm plus the node's radius, less the two the path
    itself uses.

    1 at a branch point, 2 or more where neurites cross. Counting the arms that leave the
    ball (rather than summing branch nodes inside it) sees a junction the skeleton draws as a
    cluster of nearby forks as one junction and ignores stubs that end inside the ball; edges
    leaving within ~37° of each other (``cos_same``) are one arm, as when the skeleton of one
    thick neurite runs in two parallel strands.
    """
    has = np.flatnonzero(sk.parent >= 0)
    has = has[~np.isin(has, sk.soma_nodes) & ~np.isin(sk.parent[has], sk.soma_nodes)]
    child, parent = has, sk.parent[has]
    # incident edges of every node, CSR-style
    ends = np.concatenate([child, parent])
    other = np.concatenate([parent, child])
    order = np.argsort(ends, kind="stable")
    start = np.searchsorted(ends[order], np.arange(sk.n_nodes + 1))
    tree = cKDTree(sk.vertices)
    reach = span + np.nan_to_num(sk.radius[path], nan=0.0)
    inside = np.zeros(sk.n_nodes, bool)
    out = np.zeros(len(path), np.int64)
    for k, hit in enumerate(tree.query_ball_point(sk.vertices[path], reach)):
        hit = np.asarray(hit, np.int64)
        inside[hit] = True
        inc = np.concatenate([order[start[v]:start[v + 1]] for v in hit]) if len(hit) else np.empty(0, np.int64)
        exits = other[inc][~inside[other[inc]]]
        out[k] = max(_directions(sk.vertices[exits] - sk.vertices[path[k]], cos_same) - 2, 0)
        inside[hit] = False
    return out


def _directions(d: np.ndarray, cos_same: float) -> int:
    """Number of distinct directions among vectors ``d`` (greedy: a vector within ``cos_same``
    of an earlier direction joins it)."""
    n = np.linalg.norm(d, axis=1, keepdims=True)
    d = d / np.maximum(n, 1e-9)
    seen: list[np.ndarray] = []
    for v in d:
        if not any(v @ u > cos_same for u in seen):
            seen.append(v)
    return len(seen)


def _cut_once(neuron, graph, pairs, alive, fixed, path, inside, soma_of, i, j, region) -> dict:
    """Score the path, cut out the junction region at its best node, assign the arms."""
    sk = neuron.skeleton
    side = _side_arms(sk, path)
    valid = ~inside[path]
    score, parts = path_scores(sk.vertices[path], sk.radius[path], side, valid)
    if not np.isfinite(score).any():  # somata touching directly: cut their contact
        a, b = path[0], path[1]
        hit = ((pairs[:, 0] == min(a, b)) & (pairs[:, 1] == max(a, b)))
        alive[hit] = False
        p = sk.vertices[[a, b]].mean(axis=0)
        return dict(x=p[0], y=p[1], z=p[2], reason="touching somata", confidence=0.5, action="cut",
                    cable_um=0.0, rule="split", soma=i, other_soma=j)
    t = int(np.argmax(score))
    centre = path[t]
    r_c = np.nan_to_num(sk.radius[centre], nan=0.0)
    # the junction region, grown (x2, x4) while the somata's sides, or a crossing's far halves
    # (two extra arms), are still joined around it, as where two neurites touch side by side over
    # several µm; never into a soma. When no size parts the somata (they are joined elsewhere
    # too) the smallest region is cut and the next path is scored.
    def cut_region(grow: float):
        radius = max(region * grow, 2 * r_c)
        dist = dijkstra(graph, directed=False, indices=centre, limit=radius)
        R = np.flatnonzero(np.isfinite(dist) & ~inside)
        in_r = np.zeros(sk.n_nodes, bool)
        in_r[R] = True
        touches = in_r[pairs[:, 0]] | in_r[pairs[:, 1]]
        both = in_r[pairs[:, 0]] & in_r[pairs[:, 1]]
        rest_alive = alive & ~touches
        m = sparse.coo_matrix((np.ones(rest_alive.sum()), (pairs[rest_alive, 0], pairs[rest_alive, 1])),
                              shape=graph.shape)
        _, comp = connected_components(m + m.T, directed=False)
        edge = alive & touches & ~both  # edges from the region to its arms
        outer = np.where(in_r[pairs[edge, 0]], pairs[edge, 1], pairs[edge, 0])
        return radius, R, in_r, comp, edge, outer, np.unique(comp[outer])

    for grow in (1.0, 2.0, 4.0):
        radius, R, in_r, comp, edge, outer, arms = cut_region(grow)
        a_comp, b_comp = comp[sk.soma_nodes[i]], comp[sk.soma_nodes[j]]
        if a_comp != b_comp and len(arms) >= 2 + min(int(side[t]), 2):
            break
    if a_comp == b_comp:
        radius, R, in_r, comp, edge, outer, arms = cut_region(1.0)
        a_comp = b_comp = comp[sk.soma_nodes[i]]
    c_pos = sk.vertices[centre]
    reach = radius + 3000.0

    def direction(c: int) -> np.ndarray:
        members = np.flatnonzero((comp == c) & (np.linalg.norm(sk.vertices - c_pos, axis=1) < reach))
        if len(members) == 0:
            members = outer[comp[outer] == c]
        d = sk.vertices[members].mean(axis=0) - c_pos
        return d / max(np.linalg.norm(d), 1e-9)

    def arm_radius(c: int) -> float:
        return float(np.nanmedian(np.r_[sk.radius[outer[comp[outer] == c]], np.nan]) if (comp[outer] == c).any() else 0.0)

    side_of = {}
    if a_comp == b_comp:  # another path still joins them: cut the path where it leaves the region
        k_out = np.flatnonzero(in_r[path])
        last = int(k_out.max()) if len(k_out) else t
        b_side = set(path[last + 1:].tolist())
        kill = edge & (np.isin(pairs[:, 0], list(b_side)) | np.isin(pairs[:, 1], list(b_side)))
        alive[kill] = False
        region_side = i
    else:
        d_a, d_b = direction(a_comp), direction(b_comp)
        for c in arms:
            if c == a_comp:
                side_of[c] = i
            elif c == b_comp:
                side_of[c] = j
            elif any(comp[s] == c for s in sk.soma_nodes):
                side_of[c] = -2  # a third soma's side: leave joined to the region for its own pair
            else:  # the far half of a crossing neurite: straight on from its side's arm, same calibre
                d, r_c = direction(c), max(arm_radius(c), 1.0)
                cost_a = d @ d_a + abs(np.log(r_c / max(arm_radius(a_comp), 1.0)))
                cost_b = d @ d_b + abs(np.log(r_c / max(arm_radius(b_comp), 1.0)))
                side_of[c] = j if cost_b < cost_a else i
        region_side = i if arm_radius(a_comp) >= arm_radius(b_comp) else j
        for c, s in side_of.items():
            if s >= 0 and s != region_side:
                kill = edge & (comp[outer_all(pairs, in_r)] == c)
                alive[kill] = False
                if c not in (a_comp, b_comp):
                    fixed[comp == c] = s
        fixed[R] = region_side
    reason = REASONS[int(np.argmax(parts[t]))]
    conf = float(score[t] / (score[t] + 1.0)) if score[t] > 0 else 0.0
    return dict(x=c_pos[0], y=c_pos[1], z=c_pos[2], reason=reason, confidence=round(conf, 3), action="cut",
                cable_um=0.0, rule="split", soma=i, other_soma=j)


def outer_all(pairs: np.ndarray, in_r: np.ndarray) -> np.ndarray:
    """For every node pair, the end outside the region (the first end when neither or both are)."""
    return np.where(in_r[pairs[:, 0]], pairs[:, 1], pairs[:, 0])


def _merge_repeats(cuts: list[dict], within: float = 1000.0) -> list[dict]:
    """One record per place: cuts of the same soma pair within ``within`` nm (parallel paths
    through one junction) are one cut, with the highest confidence."""
    out: list[dict] = []
    for c in cuts:
        p = np.array([c["x"], c["y"], c["z"]])
        same = [o for o in out if (o["soma"], o["other_soma"]) == (c["soma"], c["other_soma"])
                and np.linalg.norm(np.array([o["x"], o["y"], o["z"]]) - p) <= within]
        if same:
            same[0]["confidence"] = max(same[0]["confidence"], c["confidence"])
        else:
            out.append(dict(c))
    return out


def _cut_table(cuts: list[dict]) -> pd.DataFrame:
    if not cuts:
        return empty_cuts()
    table = pd.DataFrame(cuts, columns=list(CUT_COLUMNS))
    return table.astype({c: t for c, t in CUT_COLUMNS.items() if t is not object})
