"""Apical / basal dendrites of pyramidal-like cells, for :func:`~neurograph.compartments.label_compartments`."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from .arbor import Arbor, base_width
from .vertebrate import axis_apical, axis_ratios


def reach_of(arbor: Arbor, nodes: np.ndarray, center: np.ndarray, pia: np.ndarray | None) -> float:
    """How far (nm) a subtree's nodes reach from the soma centre: radially, or towards the pia."""
    if not len(nodes):
        return 0.0
    offset = arbor.sk.vertices[nodes] - center
    if pia is None:
        return float(np.linalg.norm(offset, axis=1).max())
    return float(max((offset @ pia).max(), 0.0))


def limbs(neuron, arbor: Arbor, branches: pd.DataFrame, prim: list[int], center: np.ndarray,
           pia: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Base width (nm), reach (nm, :func:`reach_of`), cable (µm) and skeleton nodes of the
    subtree of each primary branch in ``prim``."""
    w, reach, cable, nodes = [], [], [], []
    for b in prim:
        sub = [b, *nx.descendants(neuron.graph, b)]
        n = np.flatnonzero(np.isin(arbor.node_branch, sub))
        w.append(base_width(arbor, np.flatnonzero(arbor.node_branch == b), float(branches.at[b, "path_to_soma"]) * 1e3))
        reach.append(reach_of(arbor, n, center, pia))
        cable.append(branches.loc[[d for d in sub if d in branches.index], "length"].sum())
        nodes.append(n)
    return np.array(w), np.array(reach), np.array(cable), nodes


def leaving_cos(arbor: Arbor, nodes: list[np.ndarray], center: np.ndarray, pia: np.ndarray,
                 within: float = 20e3) -> np.ndarray:
    """Cosine between the pia direction and the direction in which each subtree leaves the soma
    (its nodes within ``within`` nm of path from the soma surface, mean position)."""
    out = np.zeros(len(nodes))
    for i, nd in enumerate(nodes):
        near = nd[arbor.path[nd] <= within] if len(nd) else nd
        if not len(near):
            near = nd[np.argsort(arbor.path[nd])[:1]]
        v = arbor.sk.vertices[near].mean(axis=0) - center if len(near) else np.zeros(3)
        norm = np.linalg.norm(v)
        out[i] = float(v @ pia / norm) if norm > 0 else 0.0
    return out


def apical_limb(neuron, arbor: Arbor, branches: pd.DataFrame, axon_branch: set,
                 pia: np.ndarray | None = None) -> dict[int, tuple[int, str]]:
    """Soma id -> (the primary branch that is the apical dendrite, the rule that found it),
    pyramidal-like cells only.

    Without a pia direction, ``"axis"``: :func:`neurograph.compartments.vertebrate.axis_apical`
    (no widths needed); failing that, with widths, ``"width"``: thickest x farthest, also
    reaching >= 1.1 x farther along its axis than the others reach. With a pia direction and widths, ``"width"``;
    without widths, ``"pia"``: the primary that leaves the soma towards the
    pia (within 60 degrees) and reaches farthest towards it, >= 2 x as far as any other neurite that does not leave
    away from the pia.
    """
    out = {}
    for s in range(len(neuron.somas)):
        prim = [b for b in neuron.graph.successors(s) if b not in axon_branch]
        if len(prim) < 3:
            continue
        center = np.asarray(neuron.somas[s].center, float)
        w, reach, cable, nodes = limbs(neuron, arbor, branches, prim, center, pia)
        with_width = bool(np.isfinite(w).all())
        if pia is None:  # the apical axis from the neuron itself (widths not needed)
            k = axis_apical(arbor.sk.vertices, center, nodes)
            if k is not None:
                out[s] = (prim[k], "axis")
                continue
            if not with_width:
                continue
        if with_width:
            k = int(np.argmax(w * reach))
            others = np.delete(np.arange(len(prim)), k)
            z = reach[k] / max(np.median(reach[others]), 1e-9) * w[k] / np.median(w[others])
            wide = w[k] / np.median(w[others]) >= 1.2
        else:  # no widths: it leaves towards the pia and reaches >= 2 x farther than any other
            # neurite that does not leave away from it (an unlabelled axon leaves from the
            # soma's far side, then its collaterals may climb as high as the apical)
            leaving = leaving_cos(arbor, nodes, center, pia)
            k = int(np.argmax(np.where(leaving >= 0.5, reach, -1.0)))
            if leaving[k] < 0.5:  # an apical trunk heads for the pia (within 60 degrees)
                continue
            others = np.delete(np.arange(len(prim)), k)
            rivals = others[leaving[others] >= 0]
            z = 1.8 * reach[k] / max(2.0 * np.max(reach[rivals], initial=0.0), 1e-9)
            wide = True
        big_others = np.sum(cable[others] >= max(20.0, 0.1 * cable[k]))
        # with a pia direction, an apical dendrite lies mostly above its soma
        upward = pia is None or float(((arbor.sk.vertices[nodes[k]] - center) @ pia).mean()) > 0
        # the thickest x farthest also reaches farther along its axis than the others at all
        along = pia is not None or axis_ratios(arbor.sk.vertices, center, nodes)[k] >= 1.1
        if np.isfinite(z) and z >= 1.8 and wide and upward and along and big_others >= 2 \
                and cable[others].sum() >= 0.15 * cable[k]:
            out[s] = (prim[k], "width" if with_width else "pia")
    return out


def apical_limb_forced(neuron, arbor, branches, axon_branches, pia=None) -> dict[int, tuple[int, str]]:
    """Soma id -> (its thickest primary dendrite (towards the pia: thickest x reach towards
    it), the rule); without widths the one reaching farthest (towards the pia, or the most
    cable x radial reach without it)."""
    out = {}
    for s in range(len(neuron.somas)):
        prim = [b for b in neuron.graph.successors(s) if b not in axon_branches]
        if prim:
            w, reach, cable, _ = limbs(neuron, arbor, branches, prim, np.asarray(neuron.somas[s].center, float), pia)
            if np.isfinite(w).all():
                out[s] = (prim[int(np.argmax(w * reach if pia is not None else w))], "width")
            else:
                out[s] = (prim[int(np.argmax(reach if pia is not None else cable * reach))],
                          "pia" if pia is not None else "reach")
    return out
