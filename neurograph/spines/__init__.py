"""Step: dendritic spines on the mesh (:func:`detect_spines`).

Spine detection re-centres the shaft skeleton and folds the twigs that are spines, so it
rebuilds the branch graph (a step above :mod:`neurograph.graph`).

- :mod:`.detect`: the entry point and the spine table (:data:`SPINE_COLUMNS`);
- :mod:`.shaft`: shaft axis and radius; :mod:`.geometry`: nearest skeleton edges, cut ends,
  twigs, spine shapes; :mod:`.kernels`: Numba kernels;
- :mod:`.check`: the warning for insect neurons (twigs, not spines).
"""

from .check import warn_if_insect_twigs
from .detect import SPINE_BRANCH_COLUMNS, SPINE_COLUMNS, detect_spines

__all__ = ["SPINE_BRANCH_COLUMNS", "SPINE_COLUMNS", "detect_spines", "warn_if_insect_twigs"]
