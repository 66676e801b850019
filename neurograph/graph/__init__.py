"""The branch graph and the :class:`Neuron` object."""

from .neuron import Neuron, decompose
from .saved import load, load_neuron, save_neuron
from .swc import load_swc

__all__ = ["Neuron", "decompose", "load", "load_neuron", "load_swc", "save_neuron"]
