"""One neuron, start to finish, inside a worker process; and the limits put on that process.

:func:`process_one` loads (mesh -> :func:`neurograph.extract`, SWC -> :func:`neurograph.load_swc`),
attaches synapses, builds the tables and writes them with :mod:`neurograph.batch.store`;
exceptions become an ``errors`` record. :func:`run_subprocess` runs it in a fresh
``python -m neurograph.batch.worker`` process under a time and memory limit (the Dask
backend's isolation; the local backend forks its workers from a forkserver instead), and
turns a crash or a timeout into an ``errors`` record as well.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
import warnings
from dataclasses import asdict
from typing import Any, Callable

from ..errors import InputError, NeurographError, UnitsError
from . import store
from .inputs import Task
from .limits import limit_address_space
from .tables import neuron_tables, qc_png, split_tables, write_precomputed

#: stage that starts when ``neurograph.extract`` reports the end of a stage
_NEXT_STAGE = {"load": "repair", "repair": "soma", "soma": "skeletonize", "skeletonize": "decompose",
               "decompose": "features"}
_MARK = "@@neurograph-batch "
MAX_WARNINGS = 20
"""Distinct warnings kept per neuron (in its status and its ``done`` record)."""


def _status(task: Task, ok: bool, stage: str, t0: float, exception: str = "", message: str = "") -> dict:
    return {"id": task.id, "ok": ok, "stage": stage, "exception": exception, "message": message,
            "seconds": round(time.perf_counter() - t0, 3)}


def _peak_rss_mb() -> float | None:
    """Peak resident memory of this process in MiB (Linux/macOS), None where unknown."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def package_root() -> str:
    """The folder holding the ``neurograph`` package this process runs (for child processes).

    Returns
    -------
    str
        Absolute path of the parent folder of the ``neurograph`` package.
    """
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def child_environment(env: dict | None = None) -> dict:
    """Environment for worker processes that import the same ``neurograph`` as this one.

    ``python -c``/``python -m`` put the current folder first on ``sys.path``, so a worker
    started in a folder holding a ``neurograph/`` checkout would import that copy. The
    workers get this package's folder first on ``PYTHONPATH`` and ``PYTHONSAFEPATH=1``
    (Python >= 3.11: no current folder on ``sys.path``).

    Parameters
    ----------
    env : dict, optional
        Base environment; default ``os.environ``.

    Returns
    -------
    dict
        A new environment.
    """
    env = dict(os.environ if env is None else env)
    root = package_root()
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and os.path.abspath(p) != root]
    env["PYTHONPATH"] = os.pathsep.join([root, *rest])
    env["PYTHONSAFEPATH"] = "1"
    return env


def check_same_package() -> None:
    """Raise when ``import neurograph`` gives another copy than the one running this code.

    Raises
    ------
    InputError
        The worker imported a ``neurograph`` from another folder (e.g. a checkout in the
        current folder shadowing the installed package).
    """
    import neurograph

    found = os.path.dirname(os.path.dirname(os.path.abspath(getattr(neurograph, "__file__", None) or "?")))
    if found != package_root():
        raise InputError(f"the worker imported another neurograph ({found}) than the one running the batch "
                         f"({package_root()}): a 'neurograph' folder in the current folder or on PYTHONPATH "
                         "shadows it; run the batch from another folder or fix PYTHONPATH")


def _load(task: Task, options: dict, progress: Callable[[str, float], None]) -> Any:
    check_same_package()
    import neurograph

    dataset = task.dataset or options.get("dataset")
    voxel = task.voxel_size if task.voxel_size is not None else options.get("voxel_size")
    if task.kind == "swc":
        load_swc = neurograph.load_swc
        units = task.units or options.get("swc_units")
        if units is None and dataset is None:
            raise UnitsError(f"{task.path}: SWC units unknown (SWC files do not record them); pass units ('nm', "
                             "'um' or 'voxel'; --units), a dataset profile (--dataset), or a 'units' or "
                             "'dataset' column in the manifest")
        kwargs: dict[str, Any] = {"units": units, "name": task.id, "dataset": dataset}
        if units is not None and str(units).strip().lower() in ("voxel", "voxels", "vx"):
            kwargs["voxel_size"] = voxel
        return load_swc(task.path, **kwargs)
    # a precomputed segment is fetched here, in the worker, with units from the layer's info.
    # synapses go through extract, like `neurograph extract --synapses`: mapped, then used for
    # the compartment labels; None values come from the dataset profile (or extract's defaults)
    where = {"segment_id": task.segment_id} if task.kind == "precomputed" else {"voxel_size": voxel}
    return neurograph.extract(task.path, **where, name=task.id, dataset=dataset,
                              progress=progress, synapses=task.synapses or None,
                              synapse_voxel_size=_synapse_voxel(task, options),
                              **(options.get("extract_kwargs") or {}))


def _synapse_voxel(task: Task, options: dict) -> Any:
    """nm per synapse-table unit: the task's, else the run's, else None (the profile's; none: the neuron fails)."""
    if task.synapse_voxel_size is not None:
        return task.synapse_voxel_size
    return options.get("synapse_voxel_size")  # None: the dataset profile's (no default unit)


def _describe(exc: BaseException, stage: str, memory_limit: int | None) -> tuple[str, str]:
    name = type(exc).__name__
    if isinstance(exc, MemoryError):
        limit = f" (memory limit {memory_limit / 2**30:.3g} GiB)" if memory_limit else ""
        return name, f"ran out of memory during stage '{stage}'{limit}"
    message = str(exc) or repr(exc)
    if not isinstance(exc, NeurographError):  # a bug or a library error: say where it happened
        frames = traceback.extract_tb(exc.__traceback__)
        if frames:
            f = frames[-1]
            message += f" (at {os.path.basename(f.filename)}:{f.lineno} in {f.name})"
    return name, message


def process_one(task: Task, out_dir: str, options: dict, report: Callable[[str], None] | None = None) -> dict:
    """Extract one neuron and write its outputs, or record why it failed.

    Run in a process's main thread (the local backend's workers, ``isolate``'s subprocesses),
    the warnings it raises are recorded, not printed (a worker's stderr is not the user's
    console): in the status and, when it succeeds, its ``done`` record (``warnings``: up to
    :data:`MAX_WARNINGS` distinct ``[category, message]`` pairs); the runner warns them again
    in the calling process (:func:`warn_again`). In another thread (Dask's threaded workers run
    several neurons at once) they are left alone: Python's warning filters are process-wide, and
    recording there would give one neuron's warnings to another.

    Parameters
    ----------
    task : Task
        The neuron to extract.
    out_dir : str
        Batch output folder (layout in :mod:`neurograph.batch.store`).
    options : dict
        ``voxel_size`` (nm per mesh unit; no default), ``swc_units``, ``synapse_voxel_size`` (nm per
        synapse-table unit, no default; a task's own value wins), ``extract_kwargs`` (passed
        to :func:`neurograph.extract`), ``save_neurons`` (write the saved Neuron, default True),
        ``precomputed`` (folder of a precomputed layer to write skeleton and mesh into, made by
        the runner; ``precomputed_mesh`` False: skeletons only), ``qc``
        (write the QC picture ``qc/<id>.png``, default True),
        ``memory_limit`` (bytes, only used in messages).
    report : callable(stage), optional
        Called when a stage starts.

    Returns
    -------
    dict
        ``id, ok, stage, exception, message, seconds``, and ``warnings`` when there were any.
    """
    if threading.current_thread() is not threading.main_thread():
        return _process_one(task, out_dir, options, report, [])
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", category=UserWarning)  # each neuron's own, whatever came before
        status = _process_one(task, out_dir, options, report, caught)
    if caught:
        status["warnings"] = _warning_list(caught)
    return status


def _warning_list(caught: list) -> list[list[str]]:
    return [list(w) for w in dict.fromkeys((w.category.__name__, str(w.message)) for w in caught)][:MAX_WARNINGS]


def warn_again(status: dict) -> None:
    """Warn, in this process, what a worker recorded for one neuron (``status["warnings"]``),
    as the category it was when it is one of neurograph's or Python's own (else ``UserWarning``),
    naming the neuron when the message does not."""
    import builtins

    from .. import errors

    for category, message in status.get("warnings", ()):
        cls = getattr(errors, category, None) or getattr(builtins, category, None)
        if not (isinstance(cls, type) and issubclass(cls, Warning)):
            cls = UserWarning
        warnings.warn(message if str(status.get("id")) in message else f"{status.get('id')}: {message}", cls,
                      stacklevel=2)


def _process_one(task: Task, out_dir: str, options: dict, report: Callable[[str], None] | None,
                 caught: list) -> dict:
    t0 = time.perf_counter()
    stage = "load"
    timings: dict[str, float] = {}

    def enter(name: str) -> None:
        nonlocal stage
        stage = name
        if report is not None:
            report(name)

    def progress(done: str, seconds: float) -> None:
        timings[done] = round(seconds, 3)
        enter(_NEXT_STAGE.get(done, f"after {done}"))

    enter("load")
    try:
        neuron = _load(task, options, progress)
        parts = neuron if isinstance(neuron, list) else None  # extract(..., split=True)
        neuron = parts[0] if parts else neuron
        if task.synapses and task.kind == "swc":
            enter("synapses")
            from ..synapses import map_synapses

            map_synapses(neuron, task.synapses, voxel_size=_synapse_voxel(task, options), inplace=True,
                         dataset=task.dataset or options.get("dataset"))  # the profile's unit when none is given
        enter("features")
        tables = split_tables(parts, task) if parts else neuron_tables(neuron, task)
        enter("write")
        for name in ("branches", "spines", "synapses"):
            if name in tables:
                store.write_table(out_dir, name, task.id, tables[name])
            else:  # a table of an earlier, interrupted attempt must not survive
                store.remove(store.output_path(out_dir, name, task.id))
        if options.get("precomputed"):
            enter("precomputed")
            write_precomputed(parts or [neuron], task, options)
        for part in parts or [neuron]:
            pid = part.name if parts else task.id
            if options.get("save_neurons", True):
                part.save(store.output_path(out_dir, store.NEURON_FILES, pid))
            if options.get("qc", True):
                enter("qc")
                store.atomic_write_bytes(store.output_path(out_dir, store.QC, pid), qc_png(part))
        store.write_table(out_dir, "neurons", task.id, tables["neurons"])
        store.write_done(out_dir, task.id, {"seconds": round(time.perf_counter() - t0, 3), "stages": timings,
                                            "rows": {k: len(v) for k, v in tables.items()},
                                            "peak_rss_mb": _peak_rss_mb(), "warnings": _warning_list(caught)})
        return _status(task, True, "done", t0)
    except Exception as exc:
        exc_type, message = _describe(exc, stage, options.get("memory_limit"))
        store.write_error(out_dir, task.id, task.path, stage, exc_type, message)
        return _status(task, False, stage, t0, exc_type, message)


# --- limits and crash records ------------------------------------------------------------

def apply_limits(memory_limit: int | None) -> None:
    """Limit the current (worker) process.

    Caps its address space, runs BLAS single-threaded, and makes it die with the process
    that started it (Linux ``PR_SET_PDEATHSIG``).

    Parameters
    ----------
    memory_limit : int or None
        Address space in bytes (``RLIMIT_AS``, never above the hard limit); None or 0: no cap.
    """
    limit_address_space(memory_limit)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # pragma: no cover - threadpoolctl missing or a BLAS it cannot see
        pass
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:  # pragma: no cover
            pass


def crash_status(task: Task, out_dir: str, stage: str, t0: float, returncode: int | None,
                 timed_out: bool, time_limit: float | None, memory_limit: int | None, last_words: str = "") -> dict:
    """Record a worker that was killed on timeout or died on its own (one ``errors`` row).

    Parameters
    ----------
    task : Task
        The neuron the worker was running.
    out_dir : str
        Batch output folder.
    stage : str
        Last stage the worker reported.
    t0 : float
        ``time.perf_counter()`` at the start of the task (s).
    returncode : int or None
        Exit code of the worker process; negative: killed by that signal.
    timed_out : bool
        The worker was killed for exceeding ``time_limit``.
    time_limit : float or None
        Time limit per neuron in s (for the message).
    memory_limit : int or None
        Memory limit in bytes (for the message).
    last_words : str, optional
        Tail of the worker's stderr, appended to the message.

    Returns
    -------
    dict
        Status ``id, ok (False), stage, exception, message, seconds``; exception is
        ``TimeLimitExceeded`` or ``WorkerDied``.
    """
    if timed_out:
        exc_type = "TimeLimitExceeded"
        message = f"took longer than the time limit of {time_limit:g} s; killed during stage '{stage}'"
    else:
        exc_type = "WorkerDied"
        if returncode is not None and returncode < 0:
            try:
                sig = signal.Signals(-returncode).name
            except ValueError:
                sig = f"signal {-returncode}"
            message = f"the worker process died with {sig} during stage '{stage}'"
            if -returncode == signal.SIGKILL:
                message += (" (killed from outside: usually the out-of-memory killer)" if not memory_limit else
                            f" (killed from outside, e.g. out of memory; memory limit {memory_limit / 2**30:.3g} GiB)")
            elif memory_limit and -returncode in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
                message += f" (possibly out of memory: memory limit {memory_limit / 2**30:.3g} GiB)"
        else:
            message = f"the worker process exited with code {returncode} during stage '{stage}' without a result"
            if memory_limit:
                message += f" (possibly out of memory: memory limit {memory_limit / 2**30:.3g} GiB)"
        if last_words:
            message += f"; its last output: {last_words}"
    store.write_error(out_dir, task.id, task.path, stage, exc_type, message)
    return _status(task, False, stage, t0, exc_type, message)


def run_subprocess(task: Task, out_dir: str, options: dict, time_limit: float | None = None,
                   memory_limit: int | None = None) -> dict:
    """Run :func:`process_one` in a fresh ``python -m neurograph.batch.worker`` process.

    A crash, a kill or a timeout of that process only fails this neuron (recorded in
    ``errors``). Used by the Dask backend, whose worker processes may not fork children
    with :mod:`multiprocessing`.

    Parameters
    ----------
    task : Task
        The neuron to extract.
    out_dir : str
        Batch output folder.
    options : dict
        As for :func:`process_one`.
    time_limit : float, optional
        Seconds before the process is killed; None: no limit.
    memory_limit : int, optional
        Address space of the process in bytes (:func:`apply_limits`); None: no limit.

    Returns
    -------
    dict
        Status ``id, ok, stage, exception, message, seconds`` from :func:`process_one`, or
        from :func:`crash_status` when the process gave no result.
    """
    t0 = time.perf_counter()
    spec = json.dumps({"task": asdict(task), "out_dir": out_dir, "options": options, "memory_limit": memory_limit})
    proc = subprocess.Popen([sys.executable, "-m", "neurograph.batch.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                            env=child_environment())
    state: dict[str, Any] = {"stage": "start", "result": None, "stderr": ""}

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(_MARK):
                kind, value = json.loads(line[len(_MARK):])
                state["stage" if kind == "stage" else "result"] = value

    def read_err() -> None:  # keep the tail of stderr for the crash message
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.strip():
                state["stderr"] = line.strip()[-300:]

    readers = [threading.Thread(target=read, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for reader in readers:
        reader.start()
    try:
        assert proc.stdin is not None
        proc.stdin.write(spec)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    timed_out = False
    try:
        proc.wait(timeout=time_limit)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:  # interrupted (e.g. the task was cancelled): take the child down too
            proc.kill()
            proc.wait()
    for reader in readers:
        reader.join(timeout=5)
    if state["result"] is not None:
        return state["result"]
    return crash_status(task, out_dir, state["stage"], t0, proc.returncode, timed_out, time_limit, memory_limit,
                        "" if timed_out else state["stderr"])


def _main() -> int:
    """``python -m neurograph.batch.worker``: one task as JSON on stdin, status lines on stdout."""
    spec = json.loads(sys.stdin.read())
    apply_limits(spec.get("memory_limit"))
    task = Task(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec["task"].items()})
    out = sys.stdout

    def emit(kind: str, value: Any) -> None:
        try:
            out.write(_MARK + json.dumps([kind, value]) + "\n")
            out.flush()
        except OSError:  # the supervising process is gone: stop at once, record nothing
            os._exit(1)

    sys.stdout = sys.stderr  # library prints must not mix with the status lines
    status = process_one(task, spec["out_dir"], {**spec["options"], "memory_limit": spec.get("memory_limit")},
                         report=lambda s: emit("stage", s))
    emit("result", status)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
