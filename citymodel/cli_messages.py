"""How the command line reports warnings and interruptions: one stderr line each, never a traceback."""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator
from typing import TextIO

from citymodel import interrupts
from citymodel.errors import CitymodelWarning


def format_warning(message: Warning | str) -> str:
    """``citymodel: warning: <message>`` on one line."""
    text = " ".join(str(message).split())
    return f"citymodel: warning: {text}\n"


@contextlib.contextmanager
def one_line_warnings(stream: TextIO | None = None) -> Iterator[None]:
    """Show every :class:`~citymodel.errors.CitymodelWarning` as one line on stderr.

    Other warnings (from libraries) keep Python's usual display.
    """
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CitymodelWarning):
            (stream or sys.stderr).write(format_warning(message))
        else:
            previous(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.simplefilter("default", CitymodelWarning)
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = previous


def interrupted_line(signum: int | None) -> str:
    """``citymodel: interrupted (SIGTERM); partial run kept in …`` on one line."""
    parts = [f"citymodel: interrupted ({interrupts.signal_name(signum)})", *interrupts.notes()]
    return "; ".join(parts) + "\n"
