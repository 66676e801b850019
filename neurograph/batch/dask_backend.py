"""Distributed backend: the same per-neuron task on a Dask cluster (``dask.distributed``).

One Dask task per neuron, at most a few per worker thread in flight at once (so 80,000
neurons are not 80,000 futures in the client), results handled as they complete. Inside a
Dask worker a neuron runs either in the worker thread itself (fast; a neuron that kills its
worker is retried by Dask on another worker before it is recorded as ``KilledWorker``), or with
``isolate=True`` in its own ``python -m neurograph.batch.worker`` process under the time and
memory limits (Dask's worker processes are daemonic and may not start :mod:`multiprocessing`
children, hence a plain subprocess, which costs an interpreter start and import per neuron). ``out_dir`` must be on a
file system that the client and every worker see at the same path.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, Iterable

from . import store
from .inputs import Task
from .worker import process_one, run_subprocess


def dask_task(task: Task, out_dir: str, options: dict, time_limit: float | None,
              memory_limit: int | None, isolate: bool) -> dict:
    """The function each Dask task runs: one neuron, status dict back to the client.

    Parameters
    ----------
    task : Task
        The neuron to extract.
    out_dir : str
        Batch output folder.
    options : dict
        See :func:`neurograph.batch.worker.process_one`.
    time_limit : float or None
        Seconds per neuron; enforced only with ``isolate``.
    memory_limit : int or None
        Bytes of address space per neuron; enforced only with ``isolate``.
    isolate : bool
        Run in a subprocess (:func:`~neurograph.batch.worker.run_subprocess`) rather than
        in the Dask worker thread (:func:`~neurograph.batch.worker.process_one`).

    Returns
    -------
    dict
        Status ``id, ok, stage, exception, message, seconds``.
    """
    if isolate:
        return run_subprocess(task, out_dir, options, time_limit, memory_limit)
    return process_one(task, out_dir, options)


def _client(scheduler: Any) -> tuple[Any, bool]:
    try:
        from dask.distributed import Client
    except ImportError as exc:  # pragma: no cover - depends on the installation
        from ..errors import InputError

        raise InputError("the Dask backend needs dask.distributed: pip install 'neurograph[dask]'") from exc
    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(scheduler), True
    except (ValueError, OSError, TimeoutError) as exc:  # a malformed address, nothing listening there
        from ..errors import InputError

        raise InputError(f"cannot connect to the Dask scheduler {scheduler!r} ({type(exc).__name__}: {exc}); check "
                         "the address (tcp://host:port, as the scheduler prints it) and that the scheduler runs") from None


def run_dask(tasks: Iterable[Task], out_dir: str, options: dict, on_result: Callable[[dict], None],
             scheduler: Any, time_limit: float | None = None, memory_limit: int | None = None,
             isolate: bool = True, in_flight: int | None = None) -> None:
    """Run ``tasks`` on a Dask cluster; ``on_result(status)`` in the client after each neuron.

    Parameters
    ----------
    tasks : iterable of Task
        Neurons to extract.
    out_dir : str
        Seen by the client and all workers at the same path.
    options : dict
        See :func:`neurograph.batch.worker.process_one`.
    on_result : callable(dict)
        Called in the client with each neuron's status (``id, ok, stage, exception, message, seconds``).
    scheduler : str or dask.distributed.Client
        Scheduler address (``tcp://host:8786``) or a connected client (left open).
    time_limit, memory_limit
        Per neuron, enforced with ``isolate=True``: seconds, bytes of address space.
    isolate : bool, default True
        One subprocess per neuron (see the module docstring).
    in_flight : int, optional
        Most tasks submitted at once; default 4 per worker thread.

    Raises
    ------
    InputError
        dask.distributed is not installed.
    """
    from dask.distributed import as_completed

    client, own = _client(scheduler)
    try:
        if in_flight is None:
            in_flight = 4 * max(1, sum(client.nthreads().values()))
        run_id = uuid.uuid4().hex[:8]
        pending = iter(tasks)
        futures: dict[Any, Task] = {}

        def submit() -> Any | None:
            task = next(pending, None)
            if task is None:
                return None
            fut = client.submit(dask_task, task, out_dir, options, time_limit, memory_limit, isolate,
                                key=f"neurograph-batch-{run_id}-{task.id}", pure=False)
            futures[fut] = task
            return fut

        first = [f for f in (submit() for _ in range(in_flight)) if f is not None]
        done = as_completed(first)
        for fut in done:
            task = futures.pop(fut)
            try:
                status = fut.result()
            except Exception as exc:  # the task never returned: KilledWorker, lost worker, ...
                name = type(exc).__name__
                message = (f"the Dask task failed without a result ({name}: {exc}); a neuron that kills "
                           "its worker repeatedly ends up here" if name == "KilledWorker" else
                           f"the Dask task failed without a result ({name}: {exc})")
                store.write_error(out_dir, task.id, task.path, "worker", name, message)
                status = {"id": task.id, "ok": False, "stage": "worker", "exception": name,
                          "message": message, "seconds": float("nan")}
            fut.release()
            on_result(status)
            nxt = submit()
            if nxt is not None:
                done.add(nxt)
    finally:
        for fut in list(futures):
            fut.cancel()
        if own:
            client.close()
