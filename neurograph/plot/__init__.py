"""Pictures of neurons (matplotlib)."""

from .projection import plot_neuron

__all__ = ["plot_neuron"]
