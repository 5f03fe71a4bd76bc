"""Stop cleanly on Ctrl-C and SIGTERM: both raise KeyboardInterrupt, and the CLI reports which one in one line.

The CLI runs every command inside :func:`stop_signals_raise`: there SIGTERM (what
``kill``, Slurm, systemd and Docker send) is handled exactly like Ctrl-C
(SIGINT): a :class:`StopSignal` — a ``KeyboardInterrupt`` — is raised in the
main thread, so every ``except KeyboardInterrupt`` clean-up (marking a run
folder ``interrupted``) runs. Code that cleaned up after an interruption
records what it left with :func:`note`; the CLI prints the signal, those notes
and exits with ``128 + signal number`` (130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignal(KeyboardInterrupt):
    """Raised by the handler of a stop signal (SIGINT or SIGTERM).

    Attributes
    ----------
    signum : int
        The signal number.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_received: list[int] = []
_notes: list[str] = []


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise StopSignal(signum)


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[bool]:
    """Within the block, SIGINT and SIGTERM raise :class:`StopSignal`; previous handlers come back after.

    Yields False (and changes nothing) outside the main thread, where Python
    cannot set signal handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield False
        return
    # a signal the parent process ignores (e.g. SIGINT of a background job) stays ignored
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS if signal.getsignal(s) != signal.SIG_IGN}
    for s in previous:
        signal.signal(s, _raise_stop)
    try:
        yield True
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def received() -> int | None:
    """The first stop signal received since start (or :func:`reset`), or None."""
    return _received[0] if _received else None


def note(text: str) -> None:
    """Record what an interrupted operation left behind (printed by the CLI)."""
    _notes.append(text)


def notes() -> list[str]:
    """The notes recorded since start (or :func:`reset`)."""
    return list(_notes)


def reset() -> None:
    """Forget received signals and notes (between commands run in one process)."""
    _received.clear()
    _notes.clear()


def signal_name(signum: int | None) -> str:
    """'SIGTERM' for 15; 'SIGINT' when no signal was recorded (a plain KeyboardInterrupt)."""
    return signal.Signals(signum).name if signum else "SIGINT"


def exit_code(signum: int | None) -> int:
    """The shell's exit code for a process stopped by ``signum``: 128 + number (130 if unknown)."""
    return 128 + int(signum or signal.SIGINT)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM during a short critical section, then act on one that arrived.

    Used while a finished run folder is renamed into place, so a stop signal
    cannot land between the last file and the rename. Outside the main thread
    (where handlers cannot be changed) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if pending:
            signum = pending[0]
            handler = previous[signum]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)
