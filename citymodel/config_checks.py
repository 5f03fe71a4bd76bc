"""Checks of configuration values that a range cannot express: files that must exist, opening hours,
machine and workshop names, platform processes, user sites. Each raises
:class:`~citymodel.errors.ConfigError` naming the field (``fail``).
"""

from __future__ import annotations

from typing import Any

from citymodel.paths import user_path
from citymodel.ranges import Range, check_value, fail
from citymodel.vocabulary import PUBLIC_WORKSHOP_KINDS

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def check_existing_file(name: str, value: str) -> None:
    """An empty path (not used) or an existing file."""
    if value and not user_path(value).is_file():
        fail(name, value, "an existing .geojson or .csv file")


def check_nonempty(name: str, value: str) -> None:
    check_nonempty_text(name, value, "a map source ('default', a file path or 'place:<name>')")


def check_nonempty_text(name: str, value: Any, expected: str) -> None:
    if not isinstance(value, str) or not value.strip():
        fail(name, value, expected)


def check_hours_list(name: str, value: Any) -> None:
    for entry in value:
        parse_hours_entry(entry, name)


def check_existing_sites_file(name: str, value: str) -> None:
    """An empty path (not used) or an existing sites file."""
    if value and not user_path(value).is_file():
        fail(name, value, "an existing .csv or .geojson file")


def check_machine_name(name: str, value: Any) -> None:
    check_nonempty_text(name, value, "a machine type, e.g. 3d_printer")


def check_extra_sites(name: str, value: Any) -> None:
    """The user's extra sites: a list of tables with lon, lat, kind and optional name, machines, fee_per_hour."""
    from citymodel.sites import sites_from_config

    sites_from_config(value, None)


def check_workshop_kinds(name: str, value: Any) -> None:
    for kind in value:
        if kind not in PUBLIC_WORKSHOP_KINDS:
            fail(name, value, f"public workshop kinds among {', '.join(PUBLIC_WORKSHOP_KINDS)}")


def check_machine_list(name: str, value: Any) -> None:
    for machine in value:
        check_nonempty_text(name, machine, "machine types, e.g. ['3d_printer']")


PROCESS_KEYS = ("quote_hours", "quotes", "booking_days", "dispatch_days")


def check_processes(name: str, value: Any) -> None:
    """Each platform process: quote_hours, booking_days, dispatch_days >= 0 and quotes a whole number >= 1."""
    for process, spec in value.items():
        if not isinstance(spec, dict) or set(spec) != set(PROCESS_KEYS):
            fail(f"{name}.{process}", spec, f"a table with the keys {', '.join(PROCESS_KEYS)}")
        for key in ("quote_hours", "booking_days", "dispatch_days"):
            check_value(f"{name}.{process}.{key}", spec[key], 0.0, {"range": Range(ge=0)})
        check_value(f"{name}.{process}.quotes", spec["quotes"], 1, {"range": Range(ge=1)})


def parse_hours_entry(entry: Any, name: str) -> tuple[list[int], float, float]:
    """Parse ``["mon-fri", 10, 19]`` into (weekday indices, open hour, close hour)."""
    if not (isinstance(entry, (list, tuple)) and len(entry) == 3):
        fail(name, entry, "entries like ['mon-fri', 10, 19]")
    days, start, end = entry
    if not (isinstance(start, (int, float)) and isinstance(end, (int, float)) and 0 <= start < end <= 24):
        fail(name, entry, "open and close hours with 0 <= open < close <= 24")
    if days == "daily":
        return list(range(7)), float(start), float(end)
    parts = str(days).lower().split("-")
    if not all(p in WEEKDAYS for p in parts) or len(parts) > 2:
        fail(name, entry, "days as 'daily', 'mon', or a range like 'mon-fri'")
    first = WEEKDAYS.index(parts[0])
    last = WEEKDAYS.index(parts[-1])
    if last < first:
        fail(name, entry, "a day range in week order (mon-fri, not fri-mon)")
    return list(range(first, last + 1)), float(start), float(end)
