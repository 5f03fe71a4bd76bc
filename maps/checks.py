"""Checks of a loaded street network that warn rather than refuse: a largest strongly connected part that is tiny."""

from __future__ import annotations

import warnings

from citymodel.errors import MapWarning

from .graph_build import BASE_MODES, StreetNetwork

SMALL_COMPONENT_SHARE = 0.5
"""Warn when a mode's largest strongly connected part keeps less than this share of its nodes."""


def fragmentation_message(net: StreetNetwork, source: str) -> str | None:
    """Say which modes' largest strongly connected part keeps < 50 % of their nodes, or None.

    Parameters
    ----------
    net
        The map's street network (``net.stats`` from the SCC filter).
    source
        The map source, for the message.

    Returns
    -------
    str or None
        One line, e.g. "map x.osm: the largest strongly connected part of the street
        graph keeps only 10.0 % of the nodes for walk (2 of 20) ...". None for a
        healthy map.
    """
    parts = []
    for mode in BASE_MODES:
        stats = net.stats.get(mode) or {}
        kept, dropped = int(stats.get("nodes", 0)), int(stats.get("dropped_nodes", 0))
        share = stats.get("kept_node_share")
        if kept == 0 or share is None or share >= SMALL_COMPONENT_SHARE:
            continue
        parts.append(f"{100 * share:.1f} % for {mode} ({kept:,} of {kept + dropped:,})")
    if not parts:
        return None
    return (f"map {source}: the largest strongly connected part of the street graph keeps only "
            f"{', '.join(parts)} of the nodes; the model uses only that part, the rest cannot be "
            "reached (an extract clipped into pieces, or broken one-way tags?)")


def warn_if_fragmented(net: StreetNetwork, source: str) -> str | None:
    """Issue one :class:`~citymodel.errors.MapWarning` with :func:`fragmentation_message`, if any."""
    message = fragmentation_message(net, source)
    if message:
        warnings.warn(message, MapWarning, stacklevel=3)
    return message
