"""Rule-based proofreading: find the pieces merge errors add to a neuron, cut or flag them.

Each rule looks at the branch graph of :class:`~neurograph.graph.Neuron` and names subtrees
that another cell most likely contributed, with a reason and a confidence (0-1):

``crossing``
    A junction with three or more child arms (short connector branches < 2 µm folded in)
    where the parent goes straight on and two other arms of the same calibre (widths within
    a factor 2, each at least 3 µm of cable) leave in opposite directions (cosine <
    ``-cos_crossing``): another neurite passing through. Both arms are removed.
``axon_crossing``
    The same junction when the parent, its continuation and both arms are axon. Every arm then has the axon's calibre, the host
    keeps its calibre through the junction, and an axon branching into two opposite
    collaterals looks the same as an axon crossing another: flagged by default (NEURD cuts
    high-degree axon branch points; set ``"cut"`` for that).
``calibre_jump``
    A child branch far thinner than its parent and than its sibling (median width ratio <
    ``max_width_ratio``), farther than ``proximal_um`` from the soma: a thin axon glued onto a
    dendrite. (Axons leaving a dendrite close to the soma are real and are kept; so are
    collaterals leaving the axon, thinner than its trunk.)
``doubling_back``
    A child that turns back along its parent (angle > ``min_turn_deg``), with at least 3 µm
    of cable (shorter stubs are the skeleton of a junction's bulge), unless both are axon:
    axons recurve.

The axon is the labelled one (:func:`neurograph.label_compartments`) or, unlabelled, the
one the geometry rule finds for each soma's tree (:func:`neurograph.compartments.vertebrate.tree_axon`).
``axon_on_dendrite`` / ``dendrite_on_axon``
    With compartment labels: an axon subtree hanging from a dendrite farther than
    ``proximal_um`` from the soma, or a dendrite subtree hanging from the axon.
``second_axon``
    An axon-like side branch of a dendrite (:mod:`neurograph.proofread.second_axon`): thin
    against the dendrite on both sides of the junction (width ratio < 0.6), not spiny, scoring
    as axon against the tree's dendrites (>= ``min_axon_score`` with the geometry axon rule's
    evidence), uniform in calibre, on a neuron whose axon leaves elsewhere and is at least as
    large: a neuron has one axon. Needs widths, not compartment labels.
``bridge_fragment``
    A soma-less subtree whose only tie to the rest is a bridge of :func:`neurograph.repair`
    (a separate mesh piece); confident when it joins the side of a neurite, not its tip.

Every rule can be switched off or set to ``"flag"`` (reported, kept) or ``"cut"`` (removed).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import connected_components

from ..compartments.arbor import Arbor
from ..compartments.vertebrate import tree_axon
from ..errors import InputError
from ..graph import Neuron
from .divide import CUT_COLUMNS, divide, empty_cuts
from .second_axon import axon_like_pieces

#: rule -> default action
RULES: dict[str, str] = {"crossing": "cut", "axon_crossing": "flag", "calibre_jump": "cut", "doubling_back": "cut",
                         "axon_on_dendrite": "cut", "dendrite_on_axon": "cut", "second_axon": "cut",
                         "bridge_fragment": "flag"}

REASON = {"crossing": "high-degree crossing: two opposite arms not continuing the parent",
          "axon_crossing": "high-degree axon branch point: two opposite arms of the axon's calibre",
          "calibre_jump": "calibre jump at a branch point: child much thinner than parent and sibling",
          "doubling_back": "path doubles back at a branch point",
          "axon_on_dendrite": "axon piece merged onto a dendrite",
          "dendrite_on_axon": "dendrite piece merged onto the axon",
          "second_axon": "axon-like piece on a dendrite: a second axon (a neuron has one)",
          "bridge_fragment": "soma-less fragment joined only through a repair bridge"}

DENDRITE = ("dendrite", "apical", "basal")


def _rule_actions(rules) -> dict[str, str]:
    """Normalise ``rules`` (None, list of names, or dict name -> "cut"/"flag"/False)."""
    if rules is None:
        return dict(RULES)
    if isinstance(rules, (list, tuple, set)):  # just these rules, cutting
        unknown = set(rules) - set(RULES)
        if unknown:
            raise InputError(f"unknown proofreading rules {sorted(unknown)}; choose from {sorted(RULES)}")
        return {r: "cut" for r in rules}
    if not isinstance(rules, dict):
        raise InputError(f"rules must be None, a list of rule names or a dict, got {type(rules).__name__}")
    unknown = set(rules) - set(RULES)
    if unknown:
        raise InputError(f"unknown proofreading rules {sorted(unknown)}; choose from {sorted(RULES)}")
    out = dict(RULES)
    for name, action in rules.items():
        if action in (False, None, "off"):
            out.pop(name)
        elif action is True:
            out[name] = RULES[name]
        elif action in ("cut", "flag"):
            out[name] = action
        else:
            raise InputError(f"rule {name!r}: action must be 'cut', 'flag' or False, got {action!r}")
    return out


class _Tree:
    """Branch-level geometry of a neuron: start/end directions, widths, subtrees."""

    def __init__(self, neuron: Neuron, span: float = 3000.0):
        self.neuron = neuron
        self.sk = neuron.skeleton
        self.graph = neuron.graph
        self.n_somas = len(neuron.somas)
        self.table = neuron.branches
        sk, nb = self.sk, neuron.node_branch
        order = sk.topological_order()
        self.order = order
        self.nodes = {}
        for v in order:  # parents first: each branch's nodes in path order
            self.nodes.setdefault(int(nb[v]), []).append(int(v))
        self.span = span
        self._axon: set[int] | None = None

    def polyline(self, b: int) -> np.ndarray:
        nodes = self.nodes.get(b, [])
        pts = self.sk.vertices[nodes]
        first = nodes[0] if nodes else -1
        if first >= 0 and self.sk.parent[first] >= 0:
            pts = np.vstack([self.sk.vertices[self.sk.parent[first]], pts])
        return pts

    def start_dir(self, b: int) -> np.ndarray | None:
        """Unit vector from a branch's start to its point ``span`` nm along (or its end)."""
        pts = self.polyline(b)
        if len(pts) < 2:
            return None
        s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
        k = min(int(np.searchsorted(s, self.span)), len(pts) - 1)
        d = pts[k] - pts[0]
        n = np.linalg.norm(d)
        return d / n if n > 0 else None

    def end_dir(self, b: int) -> np.ndarray | None:
        """Unit vector of a branch's last ``span`` nm, pointing outwards."""
        pts = self.polyline(b)[::-1]
        if len(pts) < 2:
            return None
        s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
        k = min(int(np.searchsorted(s, self.span)), len(pts) - 1)
        d = pts[0] - pts[k]
        n = np.linalg.norm(d)
        return d / n if n > 0 else None

    def subtree(self, b: int) -> list[int]:
        return [b, *nx.descendants(self.graph, b)]

    def cable_um(self, branches: list[int]) -> float:
        return float(self.table.loc[[x for x in branches if x in self.table.index], "length"].sum())

    def width(self, b: int) -> float:
        return float(self.table.at[b, "width_median"]) if b in self.table.index else float("nan")

    def compartment(self, b: int) -> str:
        """Compartment label of a branch ("" without labels)."""
        if "compartment" not in self.table or b not in self.table.index:
            return ""
        return str(self.table.at[b, "compartment"])

    def is_axon(self, b: int) -> bool:
        """True for a branch of the neuron's axon: labelled ``axon``, or, unlabelled, in the axon the
        geometry rule finds for its soma's tree (:func:`neurograph.compartments.vertebrate.tree_axon`)."""
        if self._axon is None:
            if "compartment" in self.table:
                self._axon = set(self.table.index[self.table["compartment"] == "axon"].tolist())
            else:
                self._axon = set()
                arbor = Arbor(self.neuron)
                for tree in arbor.soma_trees:
                    found = tree_axon(self.neuron, arbor, int(tree), 30.0)
                    if found is not None:
                        self._axon |= set(arbor.node_branch[found[0]].tolist())
        return b in self._axon

    def position(self, b: int) -> np.ndarray:
        return self.polyline(b)[0]


def _crossing(t: _Tree, cos_crossing: float = 0.8, connector_um: float = 2.0, cos_host: float = 0.5,
              min_similarity: float = 0.5, min_arm_um: float = 3.0) -> list[dict]:
    out, seen = [], set()
    for p in t.table.index:
        arms, stack = [], list(t.graph.successors(p))
        while stack:  # fold short connectors: a crossing often resolves into two nearby forks
            c = stack.pop()
            kids = list(t.graph.successors(c))
            if kids and t.table.at[c, "length"] < connector_um:
                stack.extend(kids)
            else:
                arms.append(c)
        if len(arms) < 3:
            continue
        back = t.end_dir(p)
        dirs = {a: t.start_dir(a) for a in arms}
        dirs = {a: d for a, d in dirs.items() if d is not None}
        if back is None or len(dirs) < 3:
            continue
        cont = max(dirs, key=lambda a: dirs[a] @ back)
        if dirs[cont] @ back < cos_host:  # the host neurite itself must go straight on
            continue
        others = [a for a in dirs if a != cont]
        best = None
        for i, a in enumerate(others):
            for b in others[i + 1:]:
                c = float(dirs[a] @ dirs[b])
                wa, wb = t.width(a), t.width(b)
                # one passing neurite: the same calibre on both sides, and more than a bump
                same = np.isfinite([wa, wb]).all() and min(wa, wb) >= min_similarity * max(wa, wb)
                big = min(t.cable_um(t.subtree(a)), t.cable_um(t.subtree(b))) >= min_arm_um
                if same and big and c < -cos_crossing and (best is None or c < best[0]):
                    best = (c, a, b)
        if best is None:
            continue
        c, a, b = best
        if (a, b) in seen:
            continue
        seen.add((a, b))
        wa, wb, wc = t.width(a), t.width(b), t.width(cont)
        similar = min(wa, wb) / max(wa, wb, 1.0)
        conf = float(np.clip(-c, 0, 1) * (0.5 + 0.5 * similar))
        # inside the cell's own axon every arm has the axon's calibre, and geometry cannot tell a
        # crossing from a branch point with two collaterals: a separate rule, flagged by default
        rule = "axon_crossing" if all(t.is_axon(x) for x in (p, cont, a, b)) else "crossing"
        for arm in (a, b):
            out.append(dict(rule=rule, branch=arm, confidence=conf,
                            detail=f"arms {a}/{b} at {np.degrees(np.arccos(np.clip(c, -1, 1))):.0f} deg; "
                                   f"widths {wa:.0f}/{wb:.0f} nm, parent continuation {wc:.0f} nm"))
    return out


def _calibre_jump(t: _Tree, max_width_ratio: float = 0.35, proximal_um: float = 30.0,
                  min_cable_um: float = 3.0) -> list[dict]:
    out = []
    for b in t.table.index:
        p = int(t.table.at[b, "parent"]) if "parent" in t.table else next(iter(t.graph.predecessors(b)), -1)
        if p < t.n_somas or p not in t.table.index:
            continue
        if t.table.at[b, "path_to_soma"] < proximal_um:
            continue
        # short connectors (a junction's own node cluster) are wider than either neurite
        while t.table.at[p, "length"] < 2.0 and next(iter(t.graph.predecessors(p)), -1) in t.table.index:
            p = next(iter(t.graph.predecessors(p)))
        if t.is_axon(p):  # axon collaterals are thinner than the trunk they leave
            continue
        sib = [s for s in t.graph.successors(p) if s != b and t.table.at[s, "length"] >= 2.0]
        ref = np.nanmax([t.width(p)] + [t.width(s) for s in sib])
        ratio = t.width(b) / ref if ref > 0 else np.nan
        if not ratio < max_width_ratio:
            continue
        sub = t.subtree(b)
        if t.cable_um(sub) < min_cable_um:
            continue
        out.append(dict(rule="calibre_jump", branch=b, confidence=float(1 - ratio / max_width_ratio),
                        detail=f"width {t.width(b):.0f} nm vs {ref:.0f} nm (ratio {ratio:.2f})"))
    return out


def _doubling_back(t: _Tree, min_turn_deg: float = 150.0, min_cable_um: float = 3.0) -> list[dict]:
    out = []
    for b in t.table.index:
        p = next(iter(t.graph.predecessors(b)), -1)
        ang = t.table.at[b, "angle_to_parent"]
        if p < t.n_somas or not ang > min_turn_deg or (t.is_axon(b) and t.is_axon(p)):
            continue  # axons recurve (recurrent collaterals): turning back inside the axon is normal
        # a stub of a few µm turning back is the skeleton of a junction's bulge, not a neurite
        if t.cable_um(t.subtree(b)) < min_cable_um:
            continue
        out.append(dict(rule="doubling_back", branch=b, confidence=float((ang - min_turn_deg) / (180 - min_turn_deg)),
                        detail=f"turns {ang:.0f} deg from its parent"))
    return out


def _compartment_mismatch(t: _Tree, proximal_um: float = 30.0) -> list[dict]:
    if "compartment" not in t.table:
        return []
    comp = t.table["compartment"]
    out = []
    for b in t.table.index:
        p = next(iter(t.graph.predecessors(b)), -1)
        if p < t.n_somas or p not in comp.index:
            continue
        mine, theirs = comp.at[b], comp.at[p]
        conf = float(t.table.at[b, "compartment_confidence"]) if "compartment_confidence" in t.table else 0.5
        if mine == "axon" and theirs in DENDRITE and t.table.at[b, "path_to_soma"] >= proximal_um:
            out.append(dict(rule="axon_on_dendrite", branch=b, confidence=conf,
                            detail=f"axon subtree on a {theirs} branch {t.table.at[b, 'path_to_soma']:.0f} µm out"))
        elif mine in DENDRITE and theirs == "axon":
            out.append(dict(rule="dendrite_on_axon", branch=b, confidence=conf,
                            detail=f"{mine} subtree on the axon"))
    return out


def _second_axon(t: _Tree, proximal_um: float = 30.0, min_axon_score: float = 0.5) -> list[dict]:
    pieces = axon_like_pieces(t.neuron, proximal_um=proximal_um, min_score=min_axon_score)
    out = []
    for r in pieces[pieces["merge"]].itertuples(index=False):
        conf = 0.5 + 0.25 * min(1.0, r.score - min_axon_score) + 0.25 * (1 - r.width_ratio / 0.6)
        where = f"{r.path_um:.0f} µm from the soma; the neuron's axon elsewhere has {r.other_axon_um:.0f} µm"
        out.append(dict(rule="second_axon", branch=int(r.branch), confidence=float(np.clip(conf, 0.5, 1.0)),
                        detail=f"width {r.width_nm:.0f} nm on a {r.host_width_nm:.0f} nm dendrite "
                               f"(ratio {r.width_ratio:.2f}), axon score {r.score:.2f}, {where}"))
    return out


def _bridge_fragment(t: _Tree) -> list[dict]:
    neuron, sk = t.neuron, t.sk
    if neuron.mesh is None or sk.vertex_map is None:
        return []
    _, comp = connected_components(neuron.mesh.edges_sparse, directed=False)
    # piece of every node: the piece most of its mesh vertices are on
    n_c = int(comp.max()) + 1
    key, count = np.unique(sk.vertex_map * n_c + comp, return_counts=True)
    piece = np.full(sk.n_nodes, -1, np.int64)
    order = np.argsort(count, kind="stable")
    piece[key[order] // n_c] = key[order] % n_c
    n_children = sk.children_count()
    nb = neuron.node_branch
    out, seen = [], set()
    # edges from one mesh piece to another where a branch starts (the fragment starts its own
    # branch; a gap inside one branch is a neurite continuing across a hole): one per branch at most
    child = np.flatnonzero(sk.parent >= 0)
    par = sk.parent[child]
    jump = ((piece[child] >= 0) & (piece[par] >= 0) & (piece[child] != piece[par]) & (nb[child] >= t.n_somas)
            & (nb[par] != nb[child]))
    for v, p in zip(child[jump].tolist(), par[jump].tolist()):
        root = b = int(nb[v])
        if b in seen:
            continue
        sub = t.subtree(root)
        if any(x < t.n_somas for x in sub):
            continue
        seen.add(b)
        side = n_children[p] >= 2 and p not in sk.soma_nodes
        out.append(dict(rule="bridge_fragment", branch=root, confidence=0.8 if side else 0.3,
                        detail="joins the side of a neurite" if side else "continues a neurite across a gap"))
    return out


def find_merges(neuron: Neuron, rules=None, max_width_ratio: float = 0.35, proximal_um: float = 30.0,
                cos_crossing: float = 0.8, min_turn_deg: float = 150.0, min_axon_score: float = 0.5) -> pd.DataFrame:
    """Pieces of a neuron that the enabled rules name as merge errors (nothing is changed).

    Parameters
    ----------
    neuron : Neuron
        Decomposed neuron (nm); compartment rules need :func:`neurograph.label_compartments`.
    rules : None, list of str or dict, optional
        Rules and their actions (see :data:`RULES`); None: all, with their default actions.
    max_width_ratio, proximal_um, cos_crossing, min_turn_deg, min_axon_score
        Rule thresholds (see the module docstring); ``proximal_um`` in µm of path.

    Returns
    -------
    pandas.DataFrame
        One row per piece: ``branch`` (root of the subtree), ``x, y, z`` (nm, where it
        joins), ``cable_um``, ``rule``, ``reason``, ``confidence``, ``action``, ``detail``.
    """
    return _find_merges(_Tree(neuron), rules, max_width_ratio, proximal_um, cos_crossing, min_turn_deg,
                        min_axon_score)


def _find_merges(t: "_Tree", rules, max_width_ratio: float = 0.35, proximal_um: float = 30.0,
                 cos_crossing: float = 0.8, min_turn_deg: float = 150.0, min_axon_score: float = 0.5) -> pd.DataFrame:
    """:func:`find_merges` on a built tree (so that :func:`proofread` builds it once)."""
    actions = _rule_actions(rules)
    found: list[dict] = []
    if {"crossing", "axon_crossing"} & set(actions):
        found += [f for f in _crossing(t, cos_crossing) if f["rule"] in actions]
    if "calibre_jump" in actions:
        found += _calibre_jump(t, max_width_ratio, proximal_um)
    if "doubling_back" in actions:
        found += _doubling_back(t, min_turn_deg)
    if {"axon_on_dendrite", "dendrite_on_axon"} & set(actions):
        found += [f for f in _compartment_mismatch(t, proximal_um) if f["rule"] in actions]
    if "second_axon" in actions:
        found += _second_axon(t, proximal_um, min_axon_score)
    if "bridge_fragment" in actions:
        found += _bridge_fragment(t)
    rows = []
    for f in found:
        pos = t.position(f["branch"])
        rows.append(dict(branch=int(f["branch"]), x=pos[0], y=pos[1], z=pos[2],
                         cable_um=t.cable_um(t.subtree(f["branch"])), rule=f["rule"], reason=REASON[f["rule"]],
                         confidence=round(float(f["confidence"]), 3), action=actions[f["rule"]],
                         detail=f["detail"]))
    cols = ["branch", "x", "y", "z", "cable_um", "rule", "reason", "confidence", "action", "detail"]
    return pd.DataFrame(rows, columns=cols).sort_values("confidence", ascending=False, kind="stable") \
        .reset_index(drop=True)


def proofread(neuron: Neuron, rules=None, **thresholds) -> tuple[Neuron, pd.DataFrame]:
    """Remove (or flag) the pieces merge errors added to a neuron.

    Parameters
    ----------
    neuron : Neuron
        Decomposed neuron in nm, ideally one soma (:func:`neurograph.split_somas` first).
    rules : None, list of str or dict, optional
        ``None``: every rule of :data:`RULES` with its default action; a list: those rules,
        cut; a dict: rule -> ``"cut"``, ``"flag"`` or ``False`` (off), others at default.
    **thresholds
        ``max_width_ratio`` (0.35), ``proximal_um`` (30 µm), ``cos_crossing`` (0.8),
        ``min_turn_deg`` (150°), ``min_axon_score`` (0.5): see :func:`find_merges`.

    Returns
    -------
    cleaned : Neuron
        The neuron without the cut pieces (rebuilt through :func:`neurograph.decompose`,
        synapses re-mapped, spines and compartments recomputed when present); the input
        itself when nothing was cut. Its ``cuts`` holds the table below (appended to any
        earlier cuts, e.g. of :func:`split_somas`).
    pieces : pandas.DataFrame
        One row per removed or flagged piece: ``x, y, z`` (nm), ``cable_um``, ``rule``,
        ``reason``, ``confidence`` (0-1), ``action`` (``cut``/``flag``), ``detail``; a piece
        inside an already removed one is not listed.
    """
    known = ("max_width_ratio", "proximal_um", "cos_crossing", "min_turn_deg", "min_axon_score")
    unknown = sorted(set(thresholds) - set(known))
    if unknown:
        raise InputError(f"proofread: unknown threshold(s) {', '.join(unknown)}; the thresholds are {', '.join(known)}")
    t = _Tree(neuron)
    found = _find_merges(t, rules, **thresholds)
    removed: set[int] = set()
    keep_rows = []
    for row in found.itertuples(index=False):
        if row.branch in removed:
            continue
        if row.action == "cut":
            removed.update(t.subtree(row.branch))
        keep_rows.append(row._asdict())
    pieces = pd.DataFrame(keep_rows, columns=found.columns)
    soma = 0 if neuron.somas else -1
    table = pieces.drop(columns=["branch", "detail"]).assign(soma=soma, other_soma=-1)[list(CUT_COLUMNS)]
    table = table.astype({c: t_ for c, t_ in CUT_COLUMNS.items() if t_ is not object})
    earlier = neuron.cuts if neuron.cuts is not None else empty_cuts()
    if not removed:
        neuron.cuts = pd.concat([earlier, table], ignore_index=True) if len(table) else earlier
        return neuron, pieces
    label = np.where(np.isin(neuron.node_branch, list(removed)), -1, 0)
    cleaned = divide(neuron, label, names=[neuron.name])[0]
    cleaned.cuts = pd.concat([earlier, table], ignore_index=True)
    return cleaned, pieces
