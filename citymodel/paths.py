"""Paths a user typed: ``~`` expanded where it can be, never an exception for an unknown ``~user``."""

from __future__ import annotations

from pathlib import Path


def user_path(path: str | Path) -> Path:
    """``path`` with a leading ``~``/``~user`` expanded; unchanged if there is no such home.

    ``Path.expanduser`` raises RuntimeError for ``~nosuchuser/x``; a path that
    cannot be expanded is kept as typed, so the caller's "not found" error names it.
    """
    path = Path(path)
    try:
        return path.expanduser()
    except RuntimeError:
        return path
