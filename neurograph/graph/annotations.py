"""How annotations follow a new branch graph: the steps above :mod:`neurograph.graph` register here.

A step that rebuilds the skeleton or the branch graph (spines fold twigs, heal joins pieces,
proofreading cuts) changes branch ids, so the annotations made on the old graph (synapses,
compartment labels) would point at branches that no longer exist. Each annotating step
registers a *redo* function (:func:`register_annotation`) that brings its annotation onto a
neuron's current graph, from data that does not depend on branch ids (synapse positions,
recorded parameters in ``neuron.settings``), or drops it with a warning.
:func:`refresh_annotations` runs them in their registration order. The graph layer never
imports the steps: they register themselves when imported (``import neurograph`` imports
them all).
"""

from __future__ import annotations

from typing import Callable

#: (order, name, redo) of every registered annotation, run in increasing ``order``
_REDO: dict[str, tuple[int, Callable]] = {}


def register_annotation(name: str, order: int, redo: Callable) -> None:
    """Register how the annotation ``name`` is redone on a neuron whose graph changed.

    Parameters
    ----------
    name : str
        The annotation (``"synapses"``, ``"compartments"``, ...); registering again replaces it.
    order : int
        Annotations run in increasing order (synapses before the compartment labels that use them).
    redo : callable
        ``redo(neuron) -> None``: updates the annotation on ``neuron`` in place.

    Returns
    -------
    None
    """
    _REDO[name] = (int(order), redo)


def annotation_names() -> list[str]:
    """Registered annotation names in the order they are redone."""
    return [k for k, _ in sorted(_REDO.items(), key=lambda kv: kv[1][0])]


def refresh_annotations(neuron) -> None:
    """Redo every registered annotation on ``neuron`` (in place), after its graph changed.

    Parameters
    ----------
    neuron : Neuron

    Returns
    -------
    None
    """
    for name in annotation_names():
        _REDO[name][1](neuron)
