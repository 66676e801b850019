"""Batch extraction over whole datasets: every core or a Dask cluster, fault-isolated,
resumable and crash-safe.

>>> from neurograph.batch import extract_all, read_results
>>> extract_all("meshes/", "out/", voxel_size=8)              # doctest: +SKIP
>>> res = read_results("out/")                                 # doctest: +SKIP
>>> res.neurons, res.branches, res.errors                      # doctest: +SKIP

Command line: ``neurograph batch INPUTS... -o OUTDIR [--workers N] [--scheduler ADDRESS]``.
Output layout: :mod:`neurograph.batch.store`; inputs and manifests: :mod:`neurograph.batch.inputs`.
"""

from .inputs import Task, read_manifest, resolve_inputs
from .runner import BatchSummary, extract_all
from .store import BatchResults, output_path, read_results

__all__ = ["BatchResults", "BatchSummary", "Task", "extract_all", "output_path", "read_manifest",
           "read_results", "resolve_inputs"]
