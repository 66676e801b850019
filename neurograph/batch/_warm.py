"""Imported once by the local backend's forkserver: load neurograph and run one tiny
extraction, so every forked worker starts with the modules imported and the numba kernels
loaded (about 0.5 s saved per neuron). Failures here are harmless and ignored."""

from __future__ import annotations

try:
    import trimesh

    import neurograph
    from neurograph.batch import worker as _worker  # noqa: F401  (the workers' code)

    _capsule = trimesh.creation.capsule(height=20_000.0, radius=1_000.0, count=(16, 16))
    neurograph.extract(_capsule, voxel_size=1.0, name="warm-up")
    del _capsule
except Exception:  # pragma: no cover - warm-up only
    pass
