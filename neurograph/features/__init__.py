"""Features of branches and neurons."""

from .branch import BRANCH_COLUMNS, branch_features
from .neuron import neuron_summary

__all__ = ["BRANCH_COLUMNS", "branch_features", "neuron_summary"]
