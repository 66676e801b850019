"""The branch graph and the :class:`Neuron` object."""

from .neuron import Neuron, decompose, load
from .swc import load_swc

__all__ = ["Neuron", "decompose", "load", "load_swc"]
