"""Features of branches and neurons.

Branch features: :func:`branch_features` (columns :data:`BRANCH_COLUMNS`). Neuron-level
feature vectors: :func:`neuron_features`, every column registered with its unit in
:mod:`neurograph.features.registry` (:func:`feature_table`).
"""

from .vector import neuron_features  # first: registers the feature modules in one order, whatever is imported
from ..graph.branch_table import BRANCH_COLUMNS, branch_features
from .summary import neuron_summary
from .registry import FEATURES, feature_table, register

__all__ = ["BRANCH_COLUMNS", "FEATURES", "branch_features", "feature_table", "neuron_features", "neuron_summary",
           "register"]
