"""A quicker interpreter exit, opt-in for scripts and on for the ``neurograph`` command.

When Python exits it runs its cyclic garbage collector over every object still alive, several
times, while it tears the modules down. After ``import neurograph`` that is ~150k objects
(numpy, scipy, pandas, trimesh, numba, networkx): ~0.3 s for the import alone and ~0.6 s after a
first :func:`neurograph.extract` on this project's 2-core machine, a fifth of a short script's wall
time (``benchmarks/startup.py``).

:func:`install` registers :func:`quick_exit` with :mod:`atexit`. At exit it first collects as
usual, so garbage that is already unreachable is finalized (``__del__``, files in reference
cycles); it flushes every file object still open for writing (a script's ``open(...)`` never
closed); then it freezes (:func:`gc.freeze`) whatever is still alive, so that the teardown's
collections skip it. The price: other objects still alive at exit, such as instances held in a
script's global variables, are then not finalized (their ``__del__`` does not run). Python does
not promise that they are ("It is not guaranteed that ``__del__()`` methods are called for objects
that still exist when the interpreter exits", the language reference), but scripts lean on it:
a global ``tempfile.NamedTemporaryFile`` stays on disk, and a writer that finishes its file when
finalized (a ``zipfile.ZipFile`` opened for writing and never closed: no central directory) leaves
it unfinished. Hence opt-in: ``import neurograph`` changes nothing unless the environment variable
``NEUROGRAPH_QUICK_EXIT=1`` is set, or the script calls :func:`install`. The ``neurograph`` command
line installs it (its own outputs are closed before it returns). :mod:`atexit` handlers and
``weakref.finalize`` callbacks (``tempfile.TemporaryDirectory``, multiprocessing pools) run
either way.
"""

from __future__ import annotations

import atexit
import gc
import io
import os

_installed = False


def _flush_open_files() -> None:
    """Flush every open, writable file object: freezing keeps them from being finalized, and
    finalizing is what flushes a file a script never closed."""
    for obj in gc.get_objects():
        if isinstance(obj, (io.BufferedWriter, io.BufferedRandom, io.TextIOWrapper)):
            try:
                if not obj.closed and obj.writable():
                    obj.flush()
            except Exception:  # at exit, as in Python's own teardown: a failing flush stops nothing
                pass


def quick_exit() -> None:
    """Collect the garbage there is, flush open files, then freeze the live objects (the
    :mod:`atexit` handler)."""
    gc.collect()
    _flush_open_files()
    gc.freeze()


def install() -> None:
    """Register :func:`quick_exit` to run at interpreter exit (once per process)."""
    global _installed
    if not _installed:
        atexit.register(quick_exit)
        _installed = True


def install_if_asked() -> bool:
    """:func:`install` when the environment variable ``NEUROGRAPH_QUICK_EXIT`` is ``1``, ``true`` or
    ``yes`` (what ``import neurograph`` runs). Returns whether it did."""
    if os.environ.get("NEUROGRAPH_QUICK_EXIT", "").strip().lower() in ("1", "true", "yes"):
        install()
        return True
    return False
