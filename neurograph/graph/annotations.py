"""How annotations follow a new branch graph: the steps above :mod:`neurograph.graph` register here.

A new skeleton or mesh (spines fold twigs, heal joins pieces, proofreading cuts, or a user
assigning ``neuron.skeleton``) changes branch ids and skeleton nodes, so the annotations made
on the old graph (spines, synapses, compartment labels) would point at branches that no longer
exist. Each annotating step registers a *redo* function (:func:`register_annotation`) that
brings its annotation from the old neuron onto the new one, from data that does not depend on
branch ids (positions in nm, the parameters recorded in ``neuron.settings``), or drops it with a
warning where it cannot. :func:`carry_annotations` runs them in their registered order. The
graph layer never imports the steps: they register themselves when imported
(``import neurograph`` imports them all).
"""

from __future__ import annotations

import copy
from typing import Callable

#: name -> (order, redo); redone in increasing ``order``
_REDO: dict[str, tuple[int, Callable]] = {}


def register_annotation(name: str, order: int, redo: Callable) -> None:
    """Register how the annotation ``name`` follows a neuron onto a new graph.

    Parameters
    ----------
    name : str
        The annotation (``"spines"``, ``"synapses"``, ``"compartments"``); registering again
        replaces it.
    order : int
        Annotations are redone in increasing order (spines before the synapses that sit on
        them, synapses before the compartment labels that use them).
    redo : callable
        ``redo(new, old) -> None``: puts ``old``'s annotation onto ``new`` (in place); ``old``
        may be ``new`` itself (redo on the same neuron).

    Returns
    -------
    None
    """
    _REDO[name] = (int(order), redo)


def annotation_names() -> list[str]:
    """Registered annotation names in the order they are redone."""
    return [k for k, _ in sorted(_REDO.items(), key=lambda kv: kv[1][0])]


def carry_annotations(old, new, skip: tuple = ()) -> None:
    """Bring ``old``'s records and annotations onto ``new`` (a neuron with a new graph), in place.

    Parameters
    ----------
    old, new : Neuron
        ``new`` has fresh core and derived data (e.g. from :func:`neurograph.decompose`).
    skip : tuple of str
        Annotations the caller sets itself (e.g. ``("spines",)`` for spine detection).

    Returns
    -------
    None
        ``settings``, ``cuts`` and ``repair_report`` are copied; every registered annotation
        not in ``skip`` is redone.
    """
    if new is not old:
        new.settings = copy.deepcopy(old.settings)
        new.cuts = None if old.cuts is None else old.cuts.copy()
        new.repair_report = {**copy.deepcopy(old.repair_report), **new.repair_report}
    for name in annotation_names():
        if name not in skip:
            _REDO[name][1](new, old)


def refresh_annotations(neuron) -> None:
    """Redo every registered annotation of ``neuron`` on its own current graph, in place.

    Parameters
    ----------
    neuron : Neuron

    Returns
    -------
    None
    """
    carry_annotations(neuron, neuron)
