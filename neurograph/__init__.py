"""neurograph: neuron meshes and skeletons -> branch graphs, features and cell types.

The pipeline, one public entry point per step (all lengths in nm unless a table says µm)::

    mesh = neurograph.load_mesh("cell.off", voxel_size=1)      # io
    fixed = neurograph.repair(mesh)                            # mesh
    somas = neurograph.find_somas(fixed.mesh)                  # mesh
    skel = neurograph.skeletonize(fixed.mesh, somas, fixed.bridges)   # skeleton
    neuron = neurograph.decompose(skel, somas, fixed.mesh)     # graph + features
    neuron.branches, neuron.summary

or all at once: ``neurograph.extract("cell.off")``.
"""

from .errors import InputError, MeshError, NeurographError, SkeletonError
from .graph import Neuron, decompose, load
from .io import load_mesh, write_swc
from .mesh import RepairResult, Soma, find_somas, repair
from .pipeline import extract
from .skeleton import Skeleton, skeletonize
from . import synthetic

__version__ = "0.1.0"

__all__ = ["InputError", "MeshError", "NeurographError", "SkeletonError", "Neuron", "RepairResult", "Skeleton",
           "Soma", "decompose", "extract", "find_somas", "load", "load_mesh", "repair", "skeletonize",
           "synthetic", "write_swc"]
