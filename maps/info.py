"""Summarise a loaded map (graph sizes per mode, POI counts, extent, provenance)."""

from __future__ import annotations

from .city import MODES, City


def map_info(city: City) -> dict:
    """Describe a City for printing (``citymodel map info``).

    Returns
    -------
    dict
        ``name``, ``source``, ``checksum``, ``attribution``, ``source_file``,
        ``source_sha256``, ``bbox`` (west, south, east, north; degrees), ``modes``
        (per mode: ``available``, ``nodes``, ``edges``, ``km_street`` (km, each two-way
        street once), ``kept_node_share``, ``kept_edge_share`` (0..1, kept by the
        largest-SCC filter), ``dropped_nodes``), ``poi_counts`` (kind -> count),
        ``place``, ``licence``, ``currency``, ``currency_symbol``, ``price_level`` (""
        when the map file does not say) and ``zones`` (None, or ``name``, ``n``,
        ``population_on_map`` (persons, rounded; None without population),
        ``imd_deciles`` (sorted), ``has_income``).
    """
    modes = {}
    for mode in MODES:
        stats = city.graph_stats(mode)
        modes[mode] = {"available": city.has_mode(mode), **stats}
    return {
        "name": city.name,
        "source": city.source,
        "checksum": city.checksum,
        "attribution": city.attribution,
        "source_file": city.metadata.get("source_file", ""),
        "source_sha256": city.metadata.get("source_sha256", ""),
        "bbox": city.bbox,
        "modes": modes,
        "poi_counts": city.poi_counts(),
        **{key: city.metadata.get(key, "") for key in ("place", "licence", "currency", "currency_symbol",
                                                       "price_level")},
        "zones": _zones_info(city.zones),
    }


def _zones_info(zones) -> dict | None:
    if zones is None:
        return None
    return {
        "name": zones.name,
        "n": len(zones),
        "population_on_map": int(round(float(zones.population_on_map.sum()))) if zones.has_population else None,
        "imd_deciles": sorted({int(d) for d in zones.imd_decile if d > 0}),
        "has_income": zones.has_income,
    }
