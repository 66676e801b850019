"""Local backend: one fresh worker process per neuron, ``workers`` at a time.

Processes come from a :mod:`multiprocessing` *forkserver* that has imported neurograph and
run one tiny warm-up extraction (:mod:`neurograph.batch._warm`), so a new worker costs a
fork, not an interpreter start and a 2 s import. One process per neuron gives the fault
isolation the batch needs: a neuron that segfaults, is killed by the out-of-memory killer or
hits the memory limit (``RLIMIT_AS`` in the worker) takes down only its own process, and one
that runs past the time limit is killed (SIGKILL) by the parent. Either way the parent writes
its ``errors`` record and starts the next neuron. Workers report the stage they are in
through a pipe, so a crash record says where it happened.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any, Callable, Iterable

from .inputs import Task
from .worker import apply_limits, child_environment, crash_status, process_one


def _child(task: Task, out_dir: str, options: dict, memory_limit: int | None, conn: Any) -> None:
    # Ctrl-C reaches the whole process group: the parent stops the run and kills its workers, which
    # must not each print a traceback of their own
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    apply_limits(memory_limit)

    def send(message: tuple) -> None:
        try:
            conn.send(message)
        except OSError:  # the parent is gone (killed): stop at once, record nothing
            os._exit(1)

    status = process_one(task, out_dir, {**options, "memory_limit": memory_limit},
                         report=lambda stage: send(("stage", stage)))
    send(("result", status))
    conn.close()


@dataclass
class _Running:
    task: Task
    proc: Any
    conn: Any
    start: float
    stage: str = "start"
    result: dict | None = field(default=None)

    def drain(self) -> None:
        try:
            while self.conn.poll():
                kind, value = self.conn.recv()
                if kind == "stage":
                    self.stage = value
                else:
                    self.result = value
        except (EOFError, OSError):
            pass


def _context() -> Any:
    """The forkserver context, its server started with :func:`child_environment` (so it and every
    worker import this neurograph, not a ``neurograph/`` folder in the current directory)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["neurograph.batch._warm"])
    saved = dict(os.environ)
    try:
        os.environ.update(child_environment())
        from multiprocessing import forkserver

        forkserver.ensure_running()  # no-op when already running
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return ctx


def run_local(tasks: Iterable[Task], out_dir: str, options: dict, on_result: Callable[[dict], None],
              workers: int, time_limit: float | None = None, memory_limit: int | None = None) -> None:
    """Run ``tasks`` in ``workers`` processes at a time; ``on_result(status)`` after each neuron.

    Parameters
    ----------
    tasks : iterable of Task
        Neurons to extract.
    out_dir : str
        Batch output folder.
    options : dict
        See :func:`neurograph.batch.worker.process_one`.
    on_result : callable(dict)
        Called in the parent with each neuron's status (``id, ok, stage, exception, message, seconds``).
    workers : int
        Worker processes at once (>= 1).
    time_limit : float, optional
        Seconds of wall time per neuron before its worker is killed.
    memory_limit : int, optional
        Bytes of address space per worker (``RLIMIT_AS``; larger than the resident memory).
    """
    ctx = _context()
    queue = deque(tasks)
    running: list[_Running] = []
    try:
        while queue or running:
            while queue and len(running) < workers:
                task = queue.popleft()
                reader, writer = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(task, out_dir, options, memory_limit, writer),
                                   name=f"neurograph-{task.id}", daemon=True)
                proc.start()
                writer.close()
                running.append(_Running(task, proc, reader, time.perf_counter()))
            timeout = 1.0
            if time_limit:
                now = time.perf_counter()
                timeout = max(0.0, min([timeout] + [r.start + time_limit - now for r in running]))
            wait([r.conn for r in running] + [r.proc.sentinel for r in running], timeout)
            still = []
            for r in running:
                r.drain()
                timed_out = False
                if r.proc.exitcode is None and time_limit and time.perf_counter() - r.start > time_limit:
                    r.proc.kill()
                    timed_out = True
                if r.proc.exitcode is None and not timed_out:
                    still.append(r)
                    continue
                r.proc.join()
                r.drain()
                r.conn.close()
                if r.result is not None:  # finished (possibly just before a timeout kill)
                    status = r.result
                else:
                    status = crash_status(r.task, out_dir, r.stage, r.start, r.proc.exitcode, timed_out,
                                          time_limit, memory_limit)
                r.proc.close()
                on_result(status)
            running = still
    finally:
        for r in running:  # interrupted: take the workers down with us
            if r.proc.exitcode is None:
                r.proc.kill()
            r.proc.join()
            r.conn.close()
