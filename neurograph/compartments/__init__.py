"""Step: axon / dendrite (apical / basal) / soma labels (:func:`label_compartments`).

One module per rule:

- :mod:`.labels`: the entry point; writes the labels to the graph, skeleton node types,
  mesh faces and synapses;
- :mod:`.flow`: axons from synapse flow; :mod:`.geometry`: axons from geometry;
  :mod:`.insect`: the geometry rule of unipolar (insect) neurons; :mod:`.apical`: apical vs
  basal dendrites;
- :mod:`.arbor`: the skeleton arrays the rules share.

The code table (label -> SWC type) is :data:`neurograph.codes.SWC_TYPE`.
"""

from ..codes import SWC_TYPE
from .arbor import MIN_SYNAPSES, Arbor
from .labels import compartment_table, label_compartments

__all__ = ["MIN_SYNAPSES", "SWC_TYPE", "Arbor", "compartment_table", "label_compartments"]
