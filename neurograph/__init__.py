"""neurograph: neuron meshes and skeletons -> branch graphs, features and cell types.

The pipeline, one public entry point per step (all lengths in nm unless a table says µm)::

    mesh = neurograph.load_mesh("cell.off", voxel_size=1)      # io
    fixed = neurograph.repair(mesh)                            # mesh
    somas = neurograph.find_somas(fixed.mesh)                  # mesh
    skel = neurograph.skeletonize(fixed.mesh, somas, fixed.bridges)   # skeleton
    neuron = neurograph.decompose(skel, somas, fixed.mesh)     # graph + features
    neuron.branches, neuron.summary

or all at once: ``neurograph.extract("cell.off", voxel_size=1)`` (the unit is required: 1 for nm).
"""

from .errors import InputError, MeshError, NeurographError, SkeletonError, UnitsError
from .errors import FormatError
from .errors import InsectTwigWarning, NeurographDeprecationWarning, NeurographWarning
from .datasets import PROFILES as DATASETS
from .io import load_mesh, write_swc
from .io.synapses import load_synapses
from .mesh import RepairResult, Soma, find_somas, repair
from .skeleton import Skeleton, skeletonize
from .graph import Neuron, decompose, load
from .graph.swc import load_swc
from .graph.heal import canonical, heal, heal_report
from .spines import detect_spines
from .synapses import map_synapses
from .compartments import compartment_table, label_compartments
from .proofread import proofread, split_somas
from .pipeline import extract, from_navis

from .version import __version__  # noqa: E402,F401
from .quick_exit import install_if_asked as _quick_exit_if_asked

_quick_exit_if_asked()  # NEUROGRAPH_QUICK_EXIT=1: skip the exit's collections over every imported object

__all__ = ["from_navis", "load_skeleton", "graph_arrays", "heal", "heal_report", "canonical", "FormatError", "InsectTwigWarning", "NeurographWarning", "DATASETS", "load_swc", "neuron_features", "feature_table", "classify", "detect_spines", "map_synapses", "neuron_summary", "NeurographDeprecationWarning", "load_synapses", "label_compartments", "compartment_table", "soma_features", "InputError", "MeshError", "NeurographError", "SkeletonError", "UnitsError", "Neuron", "RepairResult", "Skeleton",
           "Soma", "decompose", "extract", "find_somas", "load", "load_mesh", "repair", "skeletonize",
           "synthetic", "write_swc", "batch", "split_somas", "proofread"]


# names imported on first use (PEP 562): extract needs none of them, and a fresh process
# (import + one extract) should not pay for them; classify and batch pull in heavy libraries
_LAZY = {"graph_arrays": ".features.graph_arrays", "neuron_features": ".features.vector",
         "feature_table": ".features.registry", "soma_features": ".features.perisomatic",
         "neuron_summary": ".features.summary", "load_skeleton": ".graph.interop"}
_LAZY_MODULES = ("classify", "batch", "synthetic")


def __getattr__(name: str):
    """Import the feature functions, ``load_skeleton``, ``neurograph.synthetic``,
    ``neurograph.classify`` (scikit-learn) and ``neurograph.batch`` on first use."""
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'neurograph' has no attribute {name!r}")
