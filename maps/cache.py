"""One loaded City per map source and process, shared by every model that asks for it."""

from __future__ import annotations

import threading
from pathlib import Path

from .city import City
from .load import load_city

_CACHE: dict[tuple, City] = {}
_LOCK = threading.Lock()


def _key(source: str) -> tuple:
    """The cache key of a source: a file's resolved path with its size and modification time, else the text."""
    text = str(source)
    if text == "default" or text.startswith("place:"):
        return (text,)
    path = Path(text).expanduser()
    try:
        stat = path.stat()
    except OSError:
        return (text,)  # load_city reports the missing file
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def shared_city(source: str | Path = "default") -> City:
    """The City of ``source`` (as :func:`load_city`), loaded once per process and then shared.

    Models never change a City, so many models (a web app's sessions, a sweep's runs on one
    worker, ``mesa.batch_run``) can share one. A file that changed on disk is loaded again.
    """
    key = _key(str(source))
    with _LOCK:
        city = _CACHE.get(key)
        if city is None:
            city = _CACHE[key] = load_city(source)
    return city


def clear_shared_cities() -> None:
    """Forget every shared City (the next :func:`shared_city` loads again)."""
    with _LOCK:
        _CACHE.clear()
