"""Decide which OSM highway ways a travel mode may use, and in which direction.

The rules follow osmnx's own network filters (``osmnx._overpass._get_network_filter``
for "walk", "bike" and "drive_service") written as readable Python instead of
Overpass regexes, with the differences listed per mode below.

Common to every mode (osmnx: all filters)
    a ``highway`` tag; not ``area=yes``; not ``access=private``; highway not one of
    abandoned, construction, no, planned, platform, proposed, raceway, razed,
    rest_area, services.
walk (osmnx "walk")
    excludes bus_guideway, cycleway, motorway(_link), and - beyond osmnx - trunk(_link);
    excludes ``foot=no``, ``service=private`` and streets whose sidewalks are mapped
    as separate ways (``sidewalk[:both|:left|:right]=separate``). A cycleway or trunk
    road with ``foot=yes|designated|permissive`` is kept (osmnx drops such cycleways).
    Every walk edge is two-way.
bike (osmnx "bike")
    excludes bus_guideway, corridor, elevator, escalator, footway, motorway(_link),
    steps; excludes ``bicycle=no`` and ``service=private``. A footway with
    ``bicycle=yes|designated|permissive`` is kept (osmnx drops it). Respects
    ``oneway`` unless ``oneway:bicycle=no`` or ``cycleway=opposite*``;
    ``oneway:bicycle=yes`` makes a street one-way for bikes.
van (osmnx "drive_service")
    an allow-list of motor-road highway values (``VAN_HIGHWAYS``; equals osmnx's
    exclusion list on standard values and also drops non-standard ones such as
    ``trail``); excludes ``motor_vehicle=no``, ``motorcar=no``, ``access=no`` (unless
    a motor-vehicle tag allows it) and ``service`` = driveway, emergency_access,
    parking, parking_aisle, private. Respects ``oneway`` = yes/true/1 (with the way)
    and -1/reverse (against it); roundabouts are one-way unless ``oneway=no``.
"""

from __future__ import annotations

from collections.abc import Mapping

COMMON_EXCLUDED = frozenset({
    "abandoned", "construction", "no", "planned", "platform", "proposed", "raceway",
    "razed", "rest_area", "services",
})
WALK_EXCLUDED = frozenset({
    "bus_guideway", "cycleway", "motorway", "motorway_link", "trunk", "trunk_link",
})
BIKE_EXCLUDED = frozenset({
    "bus_guideway", "corridor", "elevator", "escalator", "footway", "motorway",
    "motorway_link", "steps",
})
VAN_HIGHWAYS = frozenset({
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
    "residential", "living_street", "service", "road",
})
VAN_EXCLUDED_SERVICE = frozenset({
    "driveway", "emergency_access", "parking", "parking_aisle", "private",
})
ALLOWED = frozenset({"yes", "designated", "permissive"})
ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
ONEWAY_BACKWARD = frozenset({"-1", "reverse"})
SEPARATE_SIDEWALK_KEYS = ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")


def _common_ok(tags: Mapping[str, str]) -> bool:
    highway = tags.get("highway")
    return (
        highway is not None
        and highway not in COMMON_EXCLUDED
        and tags.get("area") != "yes"
        and tags.get("access") != "private"
    )


def walk_allowed(tags: Mapping[str, str]) -> bool:
    """Return True if pedestrians may use the way (see module docstring)."""
    if not _common_ok(tags) or tags.get("foot") == "no" or tags.get("service") == "private":
        return False
    if tags["highway"] in WALK_EXCLUDED and tags.get("foot") not in ALLOWED:
        return False
    return not any(tags.get(key) == "separate" for key in SEPARATE_SIDEWALK_KEYS)


def bike_allowed(tags: Mapping[str, str]) -> bool:
    """Return True if bicycles may use the way (see module docstring)."""
    if not _common_ok(tags) or tags.get("bicycle") == "no" or tags.get("service") == "private":
        return False
    highway = tags["highway"]
    if highway == "footway":
        return tags.get("bicycle") in ALLOWED
    return highway not in BIKE_EXCLUDED


def van_allowed(tags: Mapping[str, str]) -> bool:
    """Return True if a delivery van may use the way (see module docstring)."""
    if not _common_ok(tags) or tags["highway"] not in VAN_HIGHWAYS:
        return False
    if tags.get("motor_vehicle") == "no" or tags.get("motorcar") == "no":
        return False
    if tags.get("service") in VAN_EXCLUDED_SERVICE:
        return False
    if tags.get("access") == "no":
        motor_ok = (tags.get(k) in ALLOWED | {"destination", "delivery"}
                    for k in ("motor_vehicle", "motorcar", "goods"))
        return any(motor_ok)
    return True


def _vehicle_directions(tags: Mapping[str, str]) -> tuple[bool, bool]:
    """(forward, backward) allowed for a vehicle obeying ``oneway`` and roundabouts."""
    oneway = tags.get("oneway", "").lower()
    if oneway in ONEWAY_FORWARD:
        return True, False
    if oneway in ONEWAY_BACKWARD:
        return False, True
    if oneway != "no" and tags.get("junction") in ("roundabout", "circular"):
        return True, False
    return True, True


def directions(tags: Mapping[str, str], mode: str) -> tuple[bool, bool]:
    """Return whether ``mode`` may travel along (forward) and against (backward) a way.

    Parameters
    ----------
    tags
        OSM tags of a highway way.
    mode
        "walk", "bike" or "van".

    Returns
    -------
    forward, backward
        Both False if the mode may not use the way at all.
    """
    if mode == "walk":
        ok = walk_allowed(tags)
        return ok, ok
    if mode == "bike":
        if not bike_allowed(tags):
            return False, False
        if tags.get("oneway:bicycle") == "no" or tags.get("cycleway", "").startswith("opposite"):
            return True, True
        if tags.get("oneway:bicycle") in ONEWAY_FORWARD:
            return True, False
        return _vehicle_directions(tags)
    if mode == "van":
        if not van_allowed(tags):
            return False, False
        return _vehicle_directions(tags)
    msg = f"unknown travel mode {mode!r}; expected one of walk, bike, van"
    raise ValueError(msg)
