"""Per-skeleton-node labels of a :class:`Neuron` (compartment, branch, spines) and their way back.

Shared by the exporters (navis, Neuroglancer precomputed) and the importers that read the
labels back, so that a neuron written and read again keeps its compartment labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..arrays import lookup
from ..codes import COMPARTMENT_CODES, LABEL_OF_CODE, SWC_OF_CODE
from ..skeleton import Skeleton



def node_compartments(neuron) -> np.ndarray:
    """Compartment label of every skeleton node.

    Parameters
    ----------
    neuron : Neuron

    Returns
    -------
    (n_nodes,) object ndarray
        ``soma, axon, dendrite, basal, apical`` from :func:`neurograph.label_compartments`;
        soma nodes are ``soma``; ``unknown`` where the neuron is not labelled.
    """
    return _branch_compartments(neuron)[neuron.node_branch]


def _branch_compartments(neuron) -> np.ndarray:
    """Compartment label of every branch id ``0..max(node_branch)`` (object ndarray)."""
    labels = {int(b): d.get("compartment") or "unknown" for b, d in neuron.graph.nodes(data=True)}
    for i in range(neuron.n_somas):
        labels[i] = "soma"
    return lookup(np.arange(int(neuron.node_branch.max()) + 1), labels, "unknown")


def node_spine_counts(neuron) -> np.ndarray:
    """Number of dendritic spines whose base is at each skeleton node.

    Parameters
    ----------
    neuron : Neuron

    Returns
    -------
    (n_nodes,) int64 ndarray
        Zeros when spines were not detected.
    """
    n = neuron.skeleton.n_nodes
    spines = neuron.spines
    if spines is None or not len(spines) or "node" not in spines.columns:
        return np.zeros(n, np.int64)
    node = spines["node"].to_numpy(np.int64)
    return np.bincount(node[(node >= 0) & (node < n)], minlength=n).astype(np.int64)


def vertex_attributes(neuron) -> dict[str, np.ndarray]:
    """The skeleton vertex attributes written to Neuroglancer (:data:`~neurograph.io.precomputed.VERTEX_ATTRIBUTES`).

    Parameters
    ----------
    neuron : Neuron

    Returns
    -------
    dict of str to (n_nodes,) ndarray
        ``radius`` (nm; soma nodes carry the soma radius, unknown radii 0), ``compartment``
        (code), ``vertex_types`` (SWC type of the compartment), ``branch``, ``spine``.
    """
    radius = np.nan_to_num(np.asarray(neuron.skeleton.radius, float), nan=0.0)
    for k, s in zip(neuron.skeleton.soma_nodes, neuron.somas):
        radius[int(k)] = s.radius
    comp = np.array([COMPARTMENT_CODES.get(c, 0) for c in _branch_compartments(neuron)], np.uint8)[neuron.node_branch]
    return {"radius": radius.astype(np.float32), "vertex_types": SWC_OF_CODE[comp], "compartment": comp,
            "branch": neuron.node_branch.astype(np.int32),
            "spine": np.minimum(node_spine_counts(neuron), np.iinfo(np.uint16).max).astype(np.uint16)}


def decode_compartments(codes: np.ndarray) -> np.ndarray:
    """Compartment labels of ``compartment`` vertex attribute codes.

    Parameters
    ----------
    codes : (n,) ints
        :data:`~neurograph.io.precomputed.COMPARTMENT_CODES` values.

    Returns
    -------
    (n,) object ndarray
        Labels; unknown codes give ``unknown``.
    """
    return lookup(np.ravel(codes), LABEL_OF_CODE, "unknown")


def apply_node_labels(neuron, labels: np.ndarray, method: str) -> None:
    """Label each branch with the most common compartment of its skeleton nodes.

    Parameters
    ----------
    neuron : Neuron
        Changed in place: graph node ``compartment`` (+ ``compartment_confidence`` = share of
        the branch's nodes with that label, ``compartment_method``), ``skeleton.node_type`` and
        ``face_compartment`` (SWC codes) as :func:`neurograph.label_compartments` sets them.
    labels : (n_nodes,) str array
        Compartment of every skeleton node (``unknown`` / empty: none).
    method : str
        Recorded in ``compartment_method`` (e.g. ``"navis"``, ``"precomputed"``).
    """
    labels = np.asarray(labels, dtype=object)
    codes, distinct = pd.factorize(labels)  # one test per distinct label, not per node
    ok = np.array([str(x) in COMPARTMENT_CODES and str(x) != "unknown" for x in distinct] + [False], bool)
    known = ok[codes]  # -1 (None / NaN, never a label) takes the spare last slot
    if not known.any():
        return
    table = pd.DataFrame({"branch": neuron.node_branch[known], "label": labels[known].astype(str)})
    counts = table.groupby(["branch", "label"]).size().rename("n").reset_index()
    counts["share"] = counts["n"] / counts.groupby("branch")["n"].transform("sum")
    best = counts.sort_values(["branch", "n", "label"], ascending=[True, False, True]).drop_duplicates("branch")
    code = np.zeros(int(neuron.node_branch.max()) + 1, np.int8)
    rows = {}
    for b, lab, share in zip(best["branch"], best["label"], best["share"]):
        rows[int(b)] = dict(compartment=lab, compartment_confidence=float(share), compartment_method=method,
                            apical_method="")
        code[int(b)] = SWC_OF_CODE[COMPARTMENT_CODES[lab]]
    neuron.set_branch_values(rows)
    neuron.skeleton.node_type = code[neuron.node_branch].astype(np.int8)
    if neuron.face_branch is not None:
        neuron.face_compartment = code[np.asarray(neuron.face_branch, np.int64)]


def swc_rows_to_nodes(types: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Skeleton node of every row of an SWC table after :func:`~neurograph.graph.swc.swc_skeleton`.

    ``swc_skeleton`` puts the soma groups first (``0..k-1``) and keeps the other rows in
    their order after them.

    Parameters
    ----------
    types : (n_rows,) ints
        SWC type of every row (1 = soma).
    skeleton : Skeleton
        The skeleton built from those rows.

    Returns
    -------
    (n_rows,) int64 ndarray
        Skeleton node of each non-soma row; -1 for soma rows (their node is a soma node).
    """
    is_soma = np.asarray(types) == 1
    out = np.full(len(is_soma), -1, np.int64)
    out[~is_soma] = len(skeleton.soma_nodes) + np.arange(int((~is_soma).sum()))
    return out
