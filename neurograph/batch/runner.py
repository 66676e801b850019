""":func:`extract_all`: plan (skip what is done), pick a backend, show progress, summarise."""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ..datasets import get_profile
from ..errors import InputError, UnitsError, check_number, renamed_parameters
from . import store
from .inputs import Task, resolve_inputs


@dataclass
class BatchSummary:
    """What one :func:`extract_all` call did.

    Attributes
    ----------
    out_dir : str
    total : int
        Neurons in the inputs.
    skipped_done : int
        Already extracted by an earlier run.
    skipped_failed : int
        Failed in an earlier run and not retried (``retry_failed=False``).
    succeeded, failed : int
        Outcomes of the neurons run this time.
    seconds : float
        Wall time of the call.
    """

    out_dir: str
    total: int
    skipped_done: int
    skipped_failed: int
    succeeded: int
    failed: int
    seconds: float

    @property
    def ran(self) -> int:
        """Neurons run this time (``succeeded + failed``)."""
        return self.succeeded + self.failed

    def __str__(self) -> str:
        rate = 60 * self.ran / self.seconds if self.seconds > 0 else float("nan")
        return (f"{self.total} neurons: {self.succeeded} extracted, {self.failed} failed this run "
                f"({rate:.1f} neurons/min); {self.skipped_done} done earlier, {self.skipped_failed} failed "
                f"earlier (not retried); outputs in {self.out_dir}")


def parse_memory(value: int | float | str | None) -> int | None:
    """Parse a memory size.

    Parameters
    ----------
    value : int, float, str or None
        A number of bytes, or text such as ``8G``, ``512M``, ``2.5GB``, ``1GiB`` (suffixes
        K, M, G, T are powers of 1024).

    Returns
    -------
    int or None
        Bytes; None for None.

    Raises
    ------
    InputError
        Text not understood, or a size that is not positive.
    """
    if value is None:
        return None
    if isinstance(value, (int, float)):
        if value <= 0:
            raise InputError(f"memory limit must be positive, got {value!r}")
        return int(value)
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kKmMgGtT]?)(i?[bB])?\s*", str(value))
    if not m:
        raise InputError(f"memory limit {value!r} not understood; use e.g. 8G, 512M or a number of bytes")
    scale = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[m.group(2).lower()]
    return parse_memory(float(m.group(1)) * scale)


class _Progress:
    """Counts outcomes and drives a tqdm bar: done / failed / remaining and the rate."""

    def __init__(self, total: int, show: bool) -> None:
        self.ok = self.failed = 0
        self.total = total
        self.bar = None
        if show:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="neuron", dynamic_ncols=True, smoothing=0.05, file=sys.stderr)
            self._postfix()

    def _postfix(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"ok={self.ok} failed={self.failed} left={self.total - self.ok - self.failed}",
                                     refresh=False)

    def __call__(self, status: dict) -> None:
        from .worker import warn_again  # (the worker module loads the feature tables: not at import)

        if self.bar is None:
            warn_again(status)
        else:  # printed above the bar, not after it on its line
            with self.bar.external_write_mode(file=sys.stderr):
                warn_again(status)
        if status.get("ok"):
            self.ok += 1
        else:
            self.failed += 1
        if self.bar is not None:
            self._postfix()
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _voxel(value: Any) -> float | list[float] | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    values = [float(v) for v in value]
    return values[0] if len(values) == 1 else values


def _check_units(tasks: list[Task], voxel_size: Any, units: str | None, profile: Any) -> None:
    """Raise :class:`UnitsError` when no input has a unit (nothing could be extracted).

    An input without a unit (no voxel size / SWC units in its manifest row or for the run, no
    dataset profile) fails on its own, recorded with the reason in the errors table; when that
    is every input, the run stops before it starts.
    """
    if profile is not None or not tasks:
        return
    no_unit = {"mesh": voxel_size is None, "swc": units is None, "precomputed": False}  # a layer has its own
    missing = [t for t in tasks if t.dataset is None and no_unit.get(t.kind, False)
               and (t.units if t.kind == "swc" else t.voxel_size) is None]
    if len(missing) < len(tasks):
        return
    swc = sum(t.kind == "swc" for t in missing)
    raise UnitsError(f"no input has a unit ({len(missing) - swc} mesh(es), {swc} SWC file(s); e.g. {missing[0].path}): "
                     "pass voxel_size= (--voxel-size: 1 for meshes in nm, 8 for hemibrain voxels, 4 4 40 for "
                     "MICrONS voxels) for meshes and the SWC units (units='nm', 'um' or 'voxel'; --units) for "
                     "SWC files, a dataset profile (dataset=, --dataset), or voxel_size / units / dataset columns "
                     "in a manifest")


@renamed_parameters(swc_units="units")
def extract_all(inputs: str | os.PathLike | Task | Iterable[str | os.PathLike | Task], out_dir: str | os.PathLike,
                *, workers: int | None = None, scheduler: Any = None,
                voxel_size: float | Sequence[float] | None = None, units: str | None = None,
                synapse_voxel_size: float | Sequence[float] | None = None,
                extract_kwargs: Mapping[str, Any] | None = None, retry_failed: bool = False,
                time_limit: float | None = None, memory_limit: int | str | None = None,
                save_neurons: bool = True, qc: bool = True, progress: bool = True,
                isolate: bool | None = None, segment_ids: Iterable[int] | str | os.PathLike | None = None,
                precomputed: str | os.PathLike | None = None, precomputed_mesh: bool = True,
                precomputed_url: str | None = None, dataset: str | None = None) -> BatchSummary:
    """Extract every neuron of a dataset into a Parquet dataset, in parallel and resumably.

    Each neuron is processed by its own worker process (local backend) or Dask task
    (``scheduler``); its tables, saved Neuron and ``done`` marker are written atomically, so a
    run can be killed at any moment and the same call resumes it, skipping finished neurons.
    A neuron that raises, runs out of memory or time, or kills its worker is recorded in
    ``errors`` and the run goes on. Nothing is accumulated in this process: read the results
    with :func:`neurograph.batch.read_results`.

    Parameters
    ----------
    inputs : path, glob, manifest CSV, Task, or a list of them
        Folders of meshes (``.ply .obj .off .stl``, in units of ``voxel_size``) and SWC files,
        globs, single files, or manifest CSVs (see :mod:`neurograph.batch.inputs`).
    out_dir : str or PathLike
        Output folder (layout in :mod:`neurograph.batch.store`); created if needed.
    workers : int, optional
        Local worker processes at once; default: the number of CPU cores available.
    scheduler : str or dask.distributed.Client, optional
        Run on Dask instead (``"tcp://host:8786"`` or a client). ``out_dir`` must then be on a
        file system shared by the client and all workers.
    voxel_size : float or (3,) floats, optional
        nm per mesh unit (1 for meshes in nm, 8 for hemibrain; no default: without it, a
        manifest ``voxel_size`` column or a dataset profile, a mesh fails with a
        :class:`~neurograph.errors.UnitsError`). Manifest rows override it. For SWC files it is
        used only with ``units="voxel"``.
    units : {"nm", "um", "voxel"}, optional
        Units of SWC inputs (required when there are any, unless the manifest has ``units`` or a
        dataset profile is given; ``swc_units``: its deprecated old name), as in
        :func:`neurograph.load_swc` and ``neurograph batch --units``.
    synapse_voxel_size : float or (3,) floats, optional
        nm per coordinate unit of the synapse tables named in a manifest (1 for nm,
        ``(4, 4, 40)`` for MICrONS tables; no default: a row with synapses and no unit here, in
        its ``synapse_voxel_size`` column or from a dataset profile fails); a manifest's
        ``synapse_voxel_size`` column overrides it.
    extract_kwargs : mapping, optional
        More arguments of :func:`neurograph.extract` (``gap``, ``step``, ``min_soma_radius``, ...)
        in nm.
    retry_failed : bool, default False
        Also re-run neurons that failed in an earlier run (by default they are skipped,
        like finished ones).
    time_limit : float, optional
        Seconds per neuron; a neuron past it is killed and recorded as ``TimeLimitExceeded``.
    memory_limit : int or str, optional
        Address space per worker process, in bytes or as ``"8G"``; allocations past it fail
        (``MemoryError`` or a crash of the worker, both recorded). Address space is larger than
        resident memory (about 2.5 GB for a hemibrain neuron using 0.65 GB): be generous.
    save_neurons : bool, default True
        Also write each neuron's saved :class:`neurograph.Neuron` (``neuron_files/<id>.neuron.zip``).
    qc : bool, default True
        Also write each neuron's QC picture (``qc/<id>.png``: mesh or skeleton coloured by
        compartment or branch, somata, spines, synapses, dendrogram; ~1 s per neuron).
    progress : bool, default True
        Show a progress bar on stderr.
    isolate : bool, optional
        Dask only: run each neuron in its own ``python`` subprocess, which enforces the limits
        and contains crashes but costs an interpreter start and import per neuron (~2 s).
        Default: only when ``time_limit`` or ``memory_limit`` is set. Without it a neuron runs
        in the Dask worker; one that kills its worker is retried by Dask and then recorded as
        ``KilledWorker``.
    segment_ids : iterable of int or path of an id file, optional
        Segments to extract from Neuroglancer precomputed layers given in ``inputs``
        (``precomputed://...``, ``gs://...``, ``file://...``); each is fetched in its worker,
        transient read failures retried with backoff (then recorded in ``errors``).
    precomputed : str or PathLike, optional
        Also write every extracted neuron into this local precomputed layer (skeleton with
        vertex attributes radius, compartment, branch, spine; repaired mesh) and, at the
        end, its segment names and ``neuroglancer_state.json`` (needs ``neurograph[cloud]``).
    precomputed_mesh : bool, default True
        Write the meshes into ``precomputed`` too (False: skeletons only).
    precomputed_url : str, optional
        Address of the ``precomputed`` folder as Neuroglancer will read it, written in the
        state (e.g. ``precomputed://http://localhost:9000`` when served there, or a bucket
        after upload); default ``precomputed://file://<folder>``.
    dataset : str, optional
        Dataset profile for every neuron (:mod:`neurograph.datasets`; a manifest's ``dataset``
        column wins per row): voxel sizes, SWC units, spines, soma limits and compartment
        method that neither the manifest nor these arguments give.

    Returns
    -------
    BatchSummary

    Raises
    ------
    InputError
        No inputs, duplicate ids, no input with a unit (:class:`~neurograph.errors.UnitsError`;
        one input without a unit fails alone, in the errors table), another run writing to
        ``out_dir``, or a resume with different extraction options.
    """
    t0 = time.perf_counter()
    out_dir = os.path.abspath(os.fspath(out_dir))
    tasks = resolve_inputs(inputs, segment_ids=segment_ids)
    profile = get_profile(dataset)
    _check_units(tasks, voxel_size, units, profile)
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if workers < 1:
        raise InputError(f"workers must be at least 1, got {workers}")
    if time_limit is not None and time_limit != float("inf"):  # inf: no limit, as None
        time_limit = check_number(time_limit, "time_limit", "seconds", positive=True)
    memory = parse_memory(memory_limit)
    options = {"voxel_size": _voxel(voxel_size), "swc_units": units,
               "extract_kwargs": dict(extract_kwargs or {}), "save_neurons": bool(save_neurons), "qc": bool(qc)}
    if precomputed is not None:
        from ..io.precomputed_write import create_layer

        options["precomputed"] = os.path.abspath(os.fspath(precomputed))
        options["precomputed_mesh"] = bool(precomputed_mesh)
        create_layer(options["precomputed"])
    if synapse_voxel_size is not None:  # only when given: resuming an older run keeps its options
        options["synapse_voxel_size"] = _voxel(synapse_voxel_size)
    if profile is not None:  # only when given, so that runs made before profiles still resume
        options["dataset"] = profile.name

    os.makedirs(out_dir, exist_ok=True)
    with store.RunLock(out_dir):
        store.make_layout(out_dir)
        store.check_run_options(out_dir, options)
        store.clean_temporaries(out_dir)
        done = store.done_ids(out_dir)
        failed = store.failed_ids(out_dir, done)
        todo = [t for t in tasks if t.id not in done and (retry_failed or t.id not in failed)]
        skipped_done = sum(t.id in done for t in tasks)
        skipped_failed = 0 if retry_failed else sum(t.id in failed for t in tasks)
        if progress:
            print(f"neurograph batch: {len(tasks)} neurons, {skipped_done} done earlier, {skipped_failed} failed "
                  f"earlier{' (use retry_failed / --retry-failed to re-run them)' if skipped_failed else ''}, "
                  f"{len(todo)} to run on "
                  f"{'Dask' if scheduler is not None else f'{workers} local worker(s)'}", file=sys.stderr)
        counter = _Progress(len(todo), progress)
        try:
            if not todo:
                pass
            elif scheduler is not None:
                from .dask_backend import run_dask

                if isolate is None:
                    isolate = time_limit is not None or memory is not None
                run_dask(todo, out_dir, options, counter, scheduler, time_limit, memory, isolate)
            else:
                from .local import run_local

                run_local(todo, out_dir, options, counter, min(workers, len(todo)), time_limit, memory)
        finally:
            counter.close()
        if precomputed is not None:
            from ..graph.interop import finish_layer, segment_id_of

            finished = store.done_ids(out_dir)
            names = {t.segment_id if t.segment_id is not None else segment_id_of(t.id): t.id
                     for t in tasks if t.id in finished}
            state = finish_layer(options["precomputed"], names, mesh=bool(precomputed_mesh), url=precomputed_url)
            if progress:
                print(f"precomputed layer {options['precomputed']}: {len(names)} segments; Neuroglancer state "
                      f"{state}", file=sys.stderr)
    summary = BatchSummary(out_dir, len(tasks), skipped_done, skipped_failed, counter.ok, counter.failed,
                           time.perf_counter() - t0)
    if progress:
        print(summary, file=sys.stderr)
    return summary
