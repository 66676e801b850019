"""Step: synapses on a neuron (:func:`map_synapses`).

- :mod:`.step`: :func:`map_synapses`, the step (a table in, ``neuron.synapses`` out);
- :mod:`.mapping`: the pure mapping (:func:`~.mapping.assign_synapses`: nearest mesh face ->
  branch, node, spine, soma; nearest skeleton node without a mesh) and per-branch counts.

Reading synapse tables (units, column names) is :func:`neurograph.load_synapses` (io).
"""

from .mapping import CENTERLINE_TOLERANCE, SYNAPSE_BRANCH_COLUMNS, SYNAPSE_COLUMNS, assign_synapses
from .step import map_synapses

__all__ = ["CENTERLINE_TOLERANCE", "SYNAPSE_BRANCH_COLUMNS", "SYNAPSE_COLUMNS", "assign_synapses", "map_synapses"]
