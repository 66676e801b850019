"""The quicker interpreter exit (neurograph.quick_exit): opt-in, it freezes at exit and still
finalizes garbage; off, Python's own exit is untouched."""

import os
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent("""
    import atexit, gc, os, sys
    out = sys.argv[1]
    # registered before the import, so it runs after neurograph's handler (atexit is LIFO)
    atexit.register(lambda: print("frozen", gc.get_freeze_count() > 0, flush=True))

    class Marker:
        def __init__(self, name):
            self.path = os.path.join(out, name)
        def __del__(self, _open=open):  # at teardown the module's globals may be gone
            _open(self.path, "w").close()

    unclosed = open(os.path.join(out, "unclosed.txt"), "w")  # never closed, data still buffered
    unclosed.write("kept\\n")

    import neurograph

    garbage = Marker("cycle_garbage")
    garbage.me = garbage  # a reference cycle ...
    del garbage           # ... that is garbage before the exit: only the collector finalizes it
    gc.disable()          # and no collection runs before the exit
    alive = Marker("global_alive")  # alive at exit, in a global variable
""")


def _run(tmp_path, quick: str | None) -> str:
    env = dict(os.environ)
    env.pop("NEUROGRAPH_QUICK_EXIT", None)
    if quick is not None:
        env["NEUROGRAPH_QUICK_EXIT"] = quick
    done = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("quick", [None, "0", "1"])
def test_quick_exit_is_opt_in_and_still_finalizes_garbage(tmp_path, quick):
    out = _run(tmp_path, quick)
    on = quick == "1"
    assert ("frozen True" in out) == on, out
    assert (tmp_path / "cycle_garbage").exists()  # garbage at exit is finalized either way
    assert (tmp_path / "unclosed.txt").read_text() == "kept\n"  # and open files are flushed
    # the price of the quick exit, and why it is opt-in: objects alive at exit are not finalized
    assert (tmp_path / "global_alive").exists() != on


def test_install_registers_once(monkeypatch):
    import atexit

    from neurograph import quick_exit

    calls = []
    monkeypatch.setattr(quick_exit, "_installed", False)
    monkeypatch.setattr(atexit, "register", calls.append)
    monkeypatch.setenv("NEUROGRAPH_QUICK_EXIT", "no")
    assert quick_exit.install_if_asked() is False and calls == []
    monkeypatch.setenv("NEUROGRAPH_QUICK_EXIT", "yes")
    assert quick_exit.install_if_asked() is True
    quick_exit.install()
    assert calls == [quick_exit.quick_exit]


def test_the_command_line_exits_quickly():
    code = ("import atexit, gc, sys; atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0)); "
            "from neurograph.cli import run; sys.argv = ['neurograph', '--help']; run()")
    env = {k: v for k, v in os.environ.items() if k != "NEUROGRAPH_QUICK_EXIT"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage: neurograph" in done.stdout and "frozen True" in done.stdout
