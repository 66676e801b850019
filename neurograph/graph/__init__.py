"""The branch graph and the :class:`Neuron` object."""

from .neuron import Neuron, decompose, load

__all__ = ["Neuron", "decompose", "load"]
