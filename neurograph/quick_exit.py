"""A quicker interpreter exit, opt-in for scripts and on for the ``neurograph`` command.

When Python exits it runs its cyclic garbage collector over every object still alive, several
times, while it tears the modules down. After ``import neurograph`` that is ~150k objects
(numpy, scipy, pandas, trimesh, numba, networkx): ~0.3 s for the import alone and ~0.6 s after a
first :func:`neurograph.extract` on this project's 2-core machine, a fifth of a short script's wall
time (``benchmarks/startup.py``).

:func:`install` registers :func:`quick_exit` with :mod:`atexit`. At exit it first collects as
usual, so garbage that is already unreachable is finalized (``__del__``, unflushed files in
reference cycles); then it freezes (:func:`gc.freeze`) whatever is still alive, so that the
teardown's collections skip it. The price: objects still alive at exit, such as instances held
in a script's global variables, are then not finalized (their ``__del__`` does not run). Python
does not promise that it does ("It is not guaranteed that ``__del__()`` methods are called for
objects that still exist when the interpreter exits", the language reference), but scripts
often lean on it, e.g. a global ``tempfile.NamedTemporaryFile`` is then left on disk. Hence
opt-in: ``import neurograph`` changes nothing unless the environment variable
``NEUROGRAPH_QUICK_EXIT=1`` is set, or the script calls :func:`install`. The ``neurograph``
command line installs it (its own outputs are closed before it returns). :mod:`atexit` handlers
and ``weakref.finalize`` callbacks (``tempfile.TemporaryDirectory``, multiprocessing pools) run
either way.
"""

from __future__ import annotations

import atexit
import gc
import os

_installed = False


def quick_exit() -> None:
    """Collect the garbage there is, then freeze the live objects (the :mod:`atexit` handler)."""
    gc.collect()
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
