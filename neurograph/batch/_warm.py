"""Imported once by the local backend's forkserver: load neurograph and run what a worker runs
on a tiny mesh and a tiny SWC skeleton (extraction, feature tables, QC picture; nothing is
written), so that every forked worker starts with the modules imported (matplotlib included)
and the numba kernels of both paths loaded: a forked FAFB skeleton worker spent ~0.5 s of
first calls before this covered the SWC path and the QC picture. Failures here are harmless
and ignored."""

from __future__ import annotations

import gc


def _warm_up() -> None:
    import os
    import tempfile

    import trimesh

    import neurograph
    from neurograph.batch import worker as _worker  # noqa: F401  (the workers' code)
    from neurograph.batch.inputs import Task
    from neurograph.batch.tables import neuron_tables, qc_png

    capsule = trimesh.creation.capsule(height=20_000.0, radius=1_000.0, count=(16, 16))
    mesh_neuron = neurograph.extract(capsule, voxel_size=1.0, name="warm-up")
    with tempfile.TemporaryDirectory() as tmp:
        swc = os.path.join(tmp, "warm-up.swc")
        neurograph.write_swc(mesh_neuron.skeleton.to_swc(), swc)  # µm, as written
        swc_neuron = neurograph.load_swc(swc, units="um", name="warm-up")
        for neuron, kind, path in ((mesh_neuron, "mesh", "warm-up.ply"), (swc_neuron, "swc", swc)):
            neuron_tables(neuron, Task(id="warm-up", path=path, kind=kind))
            qc_png(neuron)


try:
    _warm_up()
except Exception:  # pragma: no cover - warm-up only
    pass

# Everything loaded so far lives as long as the forkserver: move it out of the collector's reach
# (Python's gc.freeze, meant for this: a forked worker's full collections then skip the inherited
# objects, and do not write into, and so copy, the pages that hold them).
gc.collect()
gc.freeze()
