"""Pictures of neurons: 2D projections, dendrograms (matplotlib), 3D HTML (plotly), QC."""

from .colors import COMPARTMENT_COLORS, node_colors
from .dendrogram import dendrogram_layout, plot_dendrogram
from .interactive import plot_3d
from .projection import plot_neuron, view_basis
from .qc import qc_figure
from .split import plot_split

__all__ = ["COMPARTMENT_COLORS", "dendrogram_layout", "node_colors", "plot_3d", "plot_dendrogram", "plot_neuron",
           "plot_split", "qc_figure", "view_basis"]
