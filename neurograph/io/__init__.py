"""Readers and writers: meshes, SWC skeletons and the saved-neuron format."""

from .meshes import load_mesh
from .swc import read_swc, write_swc

__all__ = ["load_mesh", "read_swc", "write_swc"]
