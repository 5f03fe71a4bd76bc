"""What `citymodel map list` and `citymodel map info` print: embedded maps, a map's sites and zones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

SITE_COLUMNS = ("kind", "name", "lon", "lat", "placement", "source", "hours", "snap_m")


def map_sites(city, sites_file: Path | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The facility sites a run with the default configuration would use on ``city`` (plus ``sites_file``).

    Makers that citizens become during a run are not listed. A site placed at a random walk
    node (too few craft or industrial POIs) is drawn here with seed 0: a run draws its own.

    Returns
    -------
    sites, notes
        One row per site (``SITE_COLUMNS``; ``hours`` "" when the kind's hours apply, ``snap_m``
        in metres to the walk graph) and the placement notes.
    """
    from citymodel.config import Config
    from citymodel.siting import choose_sites

    cfg = Config()
    if sites_file is not None:
        cfg.facilities.sites_file = str(sites_file)
    cfg.validate()
    sites, notes = choose_sites(city, cfg.facilities, np.random.default_rng(0))
    rows = [{"kind": s.kind, "name": s.name, "lon": s.lon, "lat": s.lat, "placement": s.placement,
             "source": s.source, "hours": _hours_text(s.hours), "snap_m": s.snap_m} for s in sites]
    return pd.DataFrame(rows, columns=list(SITE_COLUMNS)), notes


def _hours_text(hours: list | None) -> str:
    """``[["mon", 9, 17], ["tue", 9, 17], ["sat", 10, 16]]`` -> ``"mon-tue 09:00-17:00; sat 10:00-16:00"``."""
    if not hours:
        return ""
    groups: list[list] = []
    for day, start, end in hours:
        if groups and groups[-1][2:] == [start, end] and _next_day(groups[-1][1]) == day:
            groups[-1][1] = day
        else:
            groups.append([day, day, start, end])
    return "; ".join(f"{first if first == last else f'{first}-{last}'} {_clock(start)}-{_clock(end)}"
                     for first, last, start, end in groups)


def _next_day(day: str) -> str:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return days[(days.index(day) + 1) % 7] if day in days else ""


def _clock(hour: float) -> str:
    minutes = int(round(float(hour) * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def print_map_list(out: Console) -> list[dict]:
    """Print the embedded maps (name, place, size, source, licence); return the rows."""
    from citymodel.maps.embedded import list_embedded

    rows = list_embedded()
    table = Table(title="embedded maps (--map NAME)", show_edge=False)
    for col in ("name", "place", "size", "source files", "licence"):
        table.add_column(col, overflow="fold", justify="right" if col == "size" else "left")
    for row in rows:
        name = row["name"] + "".join(f" ({alias})" for alias in row["aliases"])
        table.add_row(name, row["place"], f"{row['size_bytes'] / 1e6:.2f} MB", row["source"], row["licence"])
    out.print(table)
    return rows


def print_map_info(info: dict, sites: pd.DataFrame, notes: list[str], out: Console, fmt_pct) -> None:
    """Print ``map_info`` with the map's sites and zones as tables."""
    out.print(f"[bold]{info['name']}[/bold]  source: {info['source']}")
    if info.get("place"):
        out.print(f"place: {info['place']}")
    out.print(f"checksum: {info['checksum']}")
    west, south, east, north = info["bbox"]
    out.print(f"bounding box (lon/lat): west {west:.5f}, south {south:.5f}, east {east:.5f}, north {north:.5f}")
    if info.get("currency"):
        out.print(f"currency: {info['currency']} ({info.get('currency_symbol', '')}); price level: "
                  f"{info.get('price_level', '')}")
    table = Table(title="street graph by mode", show_edge=False)
    for col in ("mode", "nodes", "edges", "km of street", "kept nodes", "kept edges", "dropped nodes"):
        table.add_column(col, justify="left" if col == "mode" else "right")
    for mode, m in info["modes"].items():
        if not m.get("available", True):
            table.add_row(mode, "–", "–", "–", "–", "–", "no streets")
            continue
        table.add_row(mode, f"{m['nodes']:,}", f"{m['edges']:,}", f"{m['km_street']:,.1f}",
                      fmt_pct(m.get("kept_node_share"), 1, True), fmt_pct(m.get("kept_edge_share"), 1, True),
                      f"{m.get('dropped_nodes', 0):,}")
    out.print(table)
    pois = Table(title="points of interest", show_edge=False)
    pois.add_column("kind")
    pois.add_column("count", justify="right")
    for kind, count in info["poi_counts"].items():
        pois.add_row(kind, f"{count:,}")
    out.print(pois)
    zones = info.get("zones")
    if zones:
        people = f"{zones['population_on_map']:,} residents on the map" if zones["population_on_map"] is not None \
            else "no population"
        deciles = ", ".join(map(str, zones["imd_deciles"])) or "none"
        out.print(f"zones: {zones['n']} ({zones['name']}); {people}; IMD deciles {deciles}")
    else:
        out.print("zones: none (incomes synthetic unless --zones is given)")
    site_table = Table(title=f"facility sites of a default run ({len(sites)})", show_edge=False)
    widths = {"kind": 16, "name": 30, "lon": 9, "lat": 8, "from": 22, "snap m": 6, "own hours": 24}
    for col, width in widths.items():
        site_table.add_column(col, overflow="fold", min_width=width, no_wrap=col in ("kind", "lon", "lat"),
                              justify="right" if col in ("lon", "lat", "snap m") else "left")
    for row in sites.itertuples():
        snap = "–" if not np.isfinite(row.snap_m) else f"{row.snap_m:.0f}"
        origin = row.source if row.placement == f"poi:{row.kind}" else f"{row.placement} ({row.source})"
        site_table.add_row(row.kind, row.name or "–", f"{row.lon:.5f}", f"{row.lat:.5f}", origin, snap,
                           row.hours or "the kind's")
    out.print(site_table)
    for note in notes:
        out.print(f"[yellow]note:[/yellow] {note}")
    out.print(info["attribution"])


def info_json(info: dict, sites: pd.DataFrame, notes: list[str]) -> str:
    """``map_info`` with ``sites`` (list of rows) and ``site_notes`` as JSON."""
    data = dict(info, sites=json.loads(sites.to_json(orient="records")), site_notes=notes)
    return json.dumps(data, default=str)
