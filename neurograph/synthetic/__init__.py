"""Synthetic neurons with exact ground truth, for tests and benchmarks (all nm).

- :mod:`.cells`: :func:`make_neuron` (pyramidal, multipolar, bipolar, unipolar, fragment;
  spines of three shapes) and :class:`SyntheticNeuron`;
- :mod:`.truth`: :func:`sample_synapses`, :func:`truth_compartments`, :func:`truth_skeleton`,
  :func:`labelled_edges`;
- :mod:`.merge`: :func:`make_merge`, merge errors with exact truth (:class:`MergedNeuron`).
"""

from scipy.spatial.transform import Rotation  # noqa: F401  (synthetic.Rotation: the transform type)

from .cells import SHAPES, SPINE_KINDS, SyntheticNeuron, make_neuron
from .merge import MergedNeuron, make_merge
from .truth import labelled_edges, sample_synapses, truth_compartments, truth_skeleton

__all__ = ["SHAPES", "SPINE_KINDS", "MergedNeuron", "SyntheticNeuron", "labelled_edges", "make_merge", "make_neuron",
           "sample_synapses", "truth_compartments", "truth_skeleton"]
