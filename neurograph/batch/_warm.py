"""Imported once by the local backend's forkserver: load neurograph and run one tiny
extraction, so every forked worker starts with the modules imported and the numba kernels
loaded (about 0.5 s saved per neuron). Failures here are harmless and ignored."""

from __future__ import annotations

import gc

try:
    import trimesh

    import neurograph
    from neurograph.batch import worker as _worker  # noqa: F401  (the workers' code)

    _capsule = trimesh.creation.capsule(height=20_000.0, radius=1_000.0, count=(16, 16))
    neurograph.extract(_capsule, voxel_size=1.0, name="warm-up")
    del _capsule
except Exception:  # pragma: no cover - warm-up only
    pass

# Everything loaded so far lives as long as the forkserver: move it out of the collector's reach
# (Python's gc.freeze, meant for this: a forked worker's full collections then skip the inherited
# objects, and do not write into, and so copy, the pages that hold them).
gc.collect()
gc.freeze()
