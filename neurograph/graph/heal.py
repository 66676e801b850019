"""Neuron-level healing and the canonical (reconstruction-style-free) form of a neuron."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..skeleton import Skeleton
from ..skeleton.heal import heal_skeleton
from ..skeleton.resample import canonical_skeleton
from .neuron import Neuron, decompose

#: default largest gap joined by :func:`heal`, µm
MAX_GAP_UM = 5.0
#: canonical form: side arms shorter than this are pruned, µm
CANONICAL_TWIG_UM = 10.0
#: canonical form: node spacing along the cable, µm
CANONICAL_SPACING_UM = 1.0


def heal(neuron: Neuron, max_gap_um: float = MAX_GAP_UM) -> Neuron:
    """Join the pieces of a fragmented neuron into one tree rooted at the soma.

    Pieces (skeleton trees) are joined shortest gap first, as a minimum spanning forest
    over the gaps between a loose end (tip or root) of one piece and the nearest node of
    another (:func:`neurograph.skeleton.heal.heal_skeleton`). Two pieces holding different
    somata are never joined.

    Parameters
    ----------
    neuron : Neuron
        E.g. from :func:`neurograph.load_swc` of an automatic-segmentation skeleton.
    max_gap_um : float
        Longest join, µm (default 5). Pieces farther than this from all others stay apart
        (and are counted in the report).

    Returns
    -------
    Neuron
        A new neuron with the same nodes (and mesh, synapses) and re-decomposed branches.
        ``repair_report["heal"]`` holds ``pieces_before``, ``pieces_after``,
        ``max_gap_um`` and ``joins``: a list of rows (``piece_a, piece_b, node_a, node_b,
        gap_um, nodes_a, nodes_b``; see :func:`heal_report`).

    Raises
    ------
    InputError
        ``neuron`` is not a Neuron or ``max_gap_um`` is negative or not a number.
    """
    if not hasattr(neuron, "skeleton"):
        raise InputError(f"heal needs a neurograph Neuron, got {type(neuron).__name__}")
    skeleton, joins = heal_skeleton(neuron.skeleton, max_gap_nm(max_gap_um))
    if len(joins) == 0 and np.array_equal(skeleton.parent, neuron.skeleton.parent):
        healed = neuron.copy()
    else:
        # the same nodes in one tree: spines, synapses and labels follow the new branch ids
        healed = neuron.with_core(skeleton=skeleton)
    healed.repair_report = {**healed.repair_report,
                            "heal": heal_record(neuron.skeleton, skeleton, joins, max_gap_um)}
    return healed


def max_gap_nm(max_gap_um: float, what: str = "max_gap_um") -> float:
    """The largest gap to join, µm -> nm; :class:`InputError` naming ``what`` unless it is a
    number >= 0."""
    try:
        gap = float(max_gap_um)
    except (TypeError, ValueError):
        gap = float("nan")
    if not (np.isfinite(gap) and gap >= 0):
        raise InputError(f"{what} must be a largest gap in µm (a number >= 0), got {max_gap_um!r}")
    return gap * 1e3


def heal_record(before: Skeleton, after: Skeleton, joins: pd.DataFrame, max_gap_um: float) -> dict:
    """What :func:`heal` records in ``repair_report["heal"]``: pieces before and after, the
    largest gap allowed (µm) and the joins (rows of :func:`heal_report`)."""
    return {"pieces_before": int(len(before.roots)), "pieces_after": int(len(after.roots)),
            "max_gap_um": float(max_gap_um), "joins": joins.to_dict("records")}


def heal_report(neuron: Neuron) -> pd.DataFrame:
    """The joins made by :func:`heal` as a table (gap lengths in µm); empty if not healed.

    Parameters
    ----------
    neuron : Neuron
        A neuron returned by :func:`heal` or ``load_swc(..., heal=True)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``piece_a, piece_b, node_a, node_b, gap_um, nodes_a, nodes_b``.
    """
    from ..skeleton.heal import JOIN_COLUMNS

    rows = neuron.repair_report.get("heal", {}).get("joins", [])
    return pd.DataFrame(rows, columns=JOIN_COLUMNS)


def canonical(neuron: Neuron, twig_um: float = CANONICAL_TWIG_UM,
              spacing_um: float = CANONICAL_SPACING_UM) -> Neuron:
    """The neuron's canonical form: the form skeleton features are computed on.

    Side arms shorter than ``twig_um`` are pruned (:func:`neurograph.skeleton.resample.prune_twigs`),
    cable that folds straight back onto itself (a node on a misaligned section) is put back on its
    neurite (:func:`~neurograph.skeleton.resample.straighten_spikes`), then the cable is resampled
    every ``spacing_um`` (:func:`~neurograph.skeleton.resample.resample`);
    the tree stays rooted at its soma. A tree without a soma is first rooted at the end of its
    longest unbranched end stretch, where its soma most likely was
    (:func:`~neurograph.skeleton.resample.root_at_soma_end`), not wherever the file put its root. Orientation and handedness do not enter: features
    of this form use distances, angles and the neuron's own principal frame only. Mesh,
    synapses and spines stay with the raw neuron.

    Parameters
    ----------
    neuron : Neuron
    twig_um : float
        µm (default :data:`CANONICAL_TWIG_UM`).
    spacing_um : float
        µm (default :data:`CANONICAL_SPACING_UM`).

    Returns
    -------
    Neuron
        Without mesh; ``repair_report["canonical"]`` records the two parameters; ``settings``
        (the dataset profile) are the neuron's.
    """
    skeleton = canonical_skeleton(neuron.skeleton, twig_um * 1e3, spacing_um * 1e3)
    skeleton.vertex_map = None
    form = decompose(skeleton, neuron.somas, None, name=neuron.name)
    form.repair_report = {"canonical": {"twig_um": float(twig_um), "spacing_um": float(spacing_um)}}
    form.settings = dict(neuron.settings)  # the dataset profile goes with the form
    return form
