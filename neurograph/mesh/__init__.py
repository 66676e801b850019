"""Mesh-level steps: repair of connectomics meshes and soma detection."""

from .repair import RepairResult, repair
from .soma import Soma, find_somas

__all__ = ["RepairResult", "repair", "Soma", "find_somas"]
