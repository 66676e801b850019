"""Warnings as the ``neurograph`` command prints them: one line each, repeats counted.

Python prints a warning as two lines (file and line number, then the source line) and, on a
run over many files, says the same paragraph for each of them: ``neurograph features`` over
346 radius-less FAFB skeletons printed it 346 times. :func:`terminal_warnings` (used by the
console script) prints ``neurograph: warning: <message>`` instead; of the warnings that say the
same thing about different files or neurons (the same category and text once names and numbers
are taken out) the first :data:`REPEATS_SHOWN` are printed and the rest counted, and one line at
the end says how many were not shown and which files or neurons they named.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings
from typing import Iterator, TextIO

REPEATS_SHOWN = 3
"""Warnings printed that say the same thing about different files or neurons; the rest are counted."""

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_QUOTED = re.compile(r"'([^']+)'")


def subject_and_kind(text: str) -> tuple[str, str]:
    """What a warning is about and what it says.

    Parameters
    ----------
    text : str
        A warning's message, by the library's convention ``<subject>: <what is wrong>``, the
        subject a path or a quoted name (``SWC 'cell'``).

    Returns
    -------
    subject : str
        The file name or neuron name the message starts with ("" when it names none).
    kind : str
        The rest of the message with every number replaced by ``#``: the same for the same
        diagnosis of different inputs.
    """
    head, sep, rest = text.partition(": ")
    if not sep or len(head) > 200:
        return "", _NUMBER.sub("#", text)
    quoted = _QUOTED.search(head)
    if quoted:
        return quoted.group(1), _NUMBER.sub("#", rest)
    subject = os.path.basename(head)
    if " " in subject:  # a sentence, not a name: part of what the message says
        return "", _NUMBER.sub("#", text)
    return subject, _NUMBER.sub("#", rest)


class WarningPrinter:
    """A ``warnings.showwarning`` that prints one line per warning and counts repeats.

    Parameters
    ----------
    stream : text stream, optional
        Where to print; default ``sys.stderr`` at the time of each warning.
    shown : int, default :data:`REPEATS_SHOWN`
        Warnings printed per (category, kind) of :func:`subject_and_kind`.
    """

    def __init__(self, stream: TextIO | None = None, shown: int = REPEATS_SHOWN) -> None:
        self.stream, self.shown = stream, shown
        self.count: dict[tuple[str, str], int] = {}
        self.hidden: dict[tuple[str, str], list[str]] = {}

    def _print(self, line: str) -> None:
        try:
            print(line, file=self.stream or sys.stderr, flush=True)
        except (OSError, ValueError):  # stderr closed or full: a warning must not fail the command
            pass

    def show(self, message, category, filename, lineno, file=None, line=None) -> None:
        """Print or count one warning (the signature of ``warnings.showwarning``)."""
        subject, kind = subject_and_kind(str(message))
        key = (category.__name__, kind)
        n = self.count[key] = self.count.get(key, 0) + 1
        if n <= self.shown:
            self._print(f"neurograph: warning: {message}")
        else:
            self.hidden.setdefault(key, []).append(subject)

    def summary(self) -> None:
        """One line per kind of warning that was not all printed."""
        for (category, kind), subjects in self.hidden.items():
            named = [s for s in subjects if s]
            listed = f" ({', '.join(named[:5])}{', ...' if len(named) > 5 else ''})" if named else ""
            what = kind if len(kind) <= 60 else kind[:57] + "..."
            self._print(f"neurograph: warning: {len(subjects)} more {category}(s) \"{what}\" not shown{listed}")


@contextlib.contextmanager
def terminal_warnings(stream: TextIO | None = None, shown: int = REPEATS_SHOWN) -> Iterator[WarningPrinter]:
    """Within the block, warnings print through a :class:`WarningPrinter`; at its end the
    summary of those not shown. The console script ``neurograph`` runs in one."""
    printer = WarningPrinter(stream, shown)
    with warnings.catch_warnings():
        warnings.showwarning = printer.show
        try:
            yield printer
        finally:
            printer.summary()
