"""User-given facility sites: a sites file (``facilities.sites_file``, ``--sites``) and ``facilities.extra_sites``.

A council asking "what if printers go into these eight libraries" lists the
places; the model adds them to the sites it chose from the map's POIs (or uses
only them with ``facilities.poi_sites = false``).

**Sites file** — CSV with a header ``lon, lat, kind`` and optional ``name``,
``machines``, ``fee_per_hour``; or GeoJSON Point features with the same
properties. ``machines`` replaces the kind's default machines: a JSON object
(``{"3d_printer": 2, "laser_cutter": 1}``) or ``type:count`` pairs separated by
``;`` (``3d_printer:2;laser_cutter:1``). ``fee_per_hour`` (£/h) replaces the
kind's fee.

**``facilities.extra_sites``** — the same as a list of TOML tables (the web app
adds a workshop where a user clicks)::

    [[facilities.extra_sites]]
    lon = -1.5485
    lat = 53.8005
    kind = "library"
    name = "Central pop-up"
    machines = { "3d_printer" = 4 }
    fee_per_hour = 2.0

Kinds: the public-workshop kinds (library, school, college, community_centre,
arts_centre, youth_centre, shopping_centre, makerspace), ``maker`` (a
professional maker; also ``pro_maker``) and ``textile_mill``. Opening hours are
the kind's (``facilities.kinds.<kind>.hours``). Each site is snapped to the
nearest node of the walk, bike and van graphs; the snap distance is reported.
A point farther than ``ON_MAP_M`` (250 m) from every street of the map (its
walk-graph nodes) is outside the map and refused, with that distance in metres.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citymodel.errors import ConfigError
from citymodel.geometry import metres_apart

PUBLIC_WORKSHOP_KINDS = ("library", "school", "college", "community_centre", "arts_centre", "youth_centre",
                         "shopping_centre", "makerspace")
SITE_KINDS = (*PUBLIC_WORKSHOP_KINDS, "maker", "textile_mill")
KIND_ALIASES = {"pro_maker": "maker"}
SITE_KEYS = ("lon", "lat", "kind", "name", "machines", "fee_per_hour")
REQUIRED_KEYS = ("lon", "lat", "kind")
# a point farther than this from every walk-graph node is not on the map (m); the Leeds build uses it for POIs too
ON_MAP_M = 250.0


@dataclass(frozen=True)
class UserSite:
    """One site a user gave.

    Attributes
    ----------
    kind
        Facility kind (see ``SITE_KINDS``).
    name
        Label ("" if none).
    lon, lat
        Location (degrees, WGS84).
    machines
        Machine type -> count replacing the kind's machines, or None.
    fee_per_hour
        Fee (£/h) replacing the kind's fee, or None.
    origin
        Where it came from, for messages ("sites file x.csv, row 3 (line 4)", "config field ...[0]").
    label
        Short form of ``origin`` for the facilities table's ``placement`` ("x.csv row 3", "extra_sites[0]").
    """

    kind: str
    name: str
    lon: float
    lat: float
    machines: dict[str, int] | None
    fee_per_hour: float | None
    origin: str
    label: str = ""


def machine_types(kinds: dict[str, dict[str, Any]]) -> tuple[str, ...]:
    """Every machine type some facility kind of the configuration has (sorted)."""
    return tuple(sorted({m for spec in kinds.values() for m in spec.get("machines", {})}))


def _number(value: Any, key: str, where: str, expected: str, minimum: float | None = None) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: '{key}' = {value!r}, expected {expected}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: '{key}' = {value!r}, expected {expected}") from None
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        raise ConfigError(f"{where}: '{key}' = {value!r}, expected {expected}")
    return number


def _machines(value: Any, where: str, known: tuple[str, ...]) -> dict[str, int] | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise ConfigError(f"{where}: 'machines' = {text!r}, expected a JSON object like "
                                  '{"3d_printer": 2} or pairs like 3d_printer:2;laser_cutter:1') from None
        else:
            pairs = {}
            for part in (p for p in text.replace(",", ";").split(";") if p.strip()):
                machine, sep, count = part.partition(":")
                if not sep:
                    raise ConfigError(f"{where}: 'machines' = {text!r}, expected pairs like "
                                      "3d_printer:2;laser_cutter:1")
                pairs[machine.strip()] = count.strip()
            value = pairs
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where}: 'machines' = {value!r}, expected a table machine type -> count")
    out = {}
    for machine, count in value.items():
        if machine not in known:
            raise ConfigError(f"{where}: machine type {machine!r} is unknown; expected one of {', '.join(known)}")
        number = _number(count, f"machines.{machine}", where, "a whole number of machines >= 0", 0)
        if not number.is_integer():
            raise ConfigError(f"{where}: 'machines.{machine}' = {count!r}, expected a whole number of machines >= 0")
        out[str(machine)] = int(number)
    if sum(out.values()) == 0:
        raise ConfigError(f"{where}: 'machines' = {value!r}, expected at least one machine")
    return out


def site_from_mapping(values: dict[str, Any], where: str, known_machines: tuple[str, ...],
                      label: str = "") -> UserSite:
    """Check one site's values (from a CSV row, a GeoJSON feature or a config table)."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: {values!r}, expected a table with keys {', '.join(SITE_KEYS)}")
    unknown = [k for k in values if k not in SITE_KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; expected keys among "
                          f"{', '.join(SITE_KEYS)}")
    for key in REQUIRED_KEYS:
        if values.get(key) in (None, ""):
            raise ConfigError(f"{where}: '{key}' is missing; expected {', '.join(REQUIRED_KEYS)} for every site")
    lon = _number(values["lon"], "lon", where, "a longitude in degrees (-180..180)")
    lat = _number(values["lat"], "lat", where, "a latitude in degrees (-90..90)")
    if not (-180 <= lon <= 180):
        raise ConfigError(f"{where}: 'lon' = {values['lon']!r}, expected a longitude in degrees (-180..180)")
    if not (-90 <= lat <= 90):
        raise ConfigError(f"{where}: 'lat' = {values['lat']!r}, expected a latitude in degrees (-90..90)")
    kind = str(values["kind"]).strip()
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in SITE_KINDS:
        raise ConfigError(f"{where}: kind {values['kind']!r} is unknown; expected one of {', '.join(SITE_KINDS)}")
    fee = values.get("fee_per_hour")
    fee_value = None if fee in (None, "") else _number(fee, "fee_per_hour", where, "a fee in £/h >= 0", 0)
    name = values.get("name")
    return UserSite(kind, "" if name is None else str(name), lon, lat,
                    _machines(values.get("machines"), where, known_machines), fee_value, where, label or where)


def read_sites_file(path: str | Path, known_machines: tuple[str, ...]) -> list[UserSite]:
    """Read a CSV or GeoJSON sites file; one-line :class:`ConfigError` naming the file and row on bad input."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"sites file {path}: not found (expected a .csv or .geojson file)")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, known_machines)
    if suffix in (".geojson", ".json"):
        return _read_geojson(path, known_machines)
    raise ConfigError(f"sites file {path}: unknown extension {suffix!r}, expected .csv, .geojson or .json")


def _read_csv(path: Path, known: tuple[str, ...]) -> list[UserSite]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh, skipinitialspace=True)
            header = [h.strip() for h in (reader.fieldnames or [])]
            raw_rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"sites file {path}: not a readable CSV ({exc})") from None
    missing = [k for k in REQUIRED_KEYS if k not in header]
    if missing:
        raise ConfigError(f"sites file {path}: no column(s) {', '.join(missing)}; expected a header "
                          "lon, lat, kind[, name, machines, fee_per_hour]")
    if not raw_rows:
        raise ConfigError(f"sites file {path}: no rows; expected one site per row under the header")
    sites = []
    for row_number, raw in enumerate(raw_rows, start=1):
        where = f"sites file {path}, row {row_number} (line {row_number + 1})"
        if None in raw:
            raise ConfigError(f"{where}: more values than the header's {len(header)} columns")
        values = {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in raw.items() if k is not None}
        sites.append(site_from_mapping({k: v for k, v in values.items() if v not in (None, "")}, where, known,
                                       f"{path.name} row {row_number}"))
    return sites


def _read_geojson(path: Path, known: tuple[str, ...]) -> list[UserSite]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"sites file {path}: not valid JSON ({exc})") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list) or not features:
        raise ConfigError(f"sites file {path}: expected a GeoJSON FeatureCollection of Point features")
    sites = []
    for i, feature in enumerate(features):
        where = f"sites file {path}, feature {i}"
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            kind = geometry.get("type") if isinstance(geometry, dict) else None
            raise ConfigError(f"{where}: geometry type {kind!r}, expected Point (lon/lat)")
        coords = geometry.get("coordinates")
        if not isinstance(coords, list) or len(coords) < 2:
            raise ConfigError(f"{where}: coordinates {coords!r}, expected [lon, lat]")
        props = dict(feature.get("properties") or {})
        props = {k: v for k, v in props.items() if v not in (None, "")}
        sites.append(site_from_mapping({**props, "lon": coords[0], "lat": coords[1]}, where, known,
                                       f"{path.name} feature {i}"))
    return sites


def sites_from_config(extra_sites: list[Any], known_machines: tuple[str, ...]) -> list[UserSite]:
    """Check ``facilities.extra_sites`` (a list of tables); errors name ``facilities.extra_sites[i]``."""
    if not isinstance(extra_sites, list):
        raise ConfigError(f"config field 'facilities.extra_sites' = {extra_sites!r}: expected a list of tables "
                          "with keys lon, lat, kind[, name, machines, fee_per_hour]")
    return [site_from_mapping(values, f"config field 'facilities.extra_sites[{i}]'", known_machines,
                              f"extra_sites[{i}]") for i, values in enumerate(extra_sites)]


def check_on_map(sites: list[UserSite], snap_m: np.ndarray, map_name: str) -> None:
    """Refuse a site farther than ``ON_MAP_M`` from the map's streets, saying which and how far (m).

    Parameters
    ----------
    snap_m
        Distance (m) of each site to its nearest walk-graph node.
    """
    for site, metres in zip(sites, snap_m, strict=True):
        if metres > ON_MAP_M:
            raise ConfigError(f"{site.origin}: point ({site.lon:.6f}, {site.lat:.6f}) is {metres:,.0f} m from the "
                              f"nearest street of {map_name}, outside the map; expected a point within "
                              f"{ON_MAP_M:.0f} m of the map's streets")


def snap_distance_m(lon: np.ndarray, lat: np.ndarray, node_lon: np.ndarray, node_lat: np.ndarray) -> np.ndarray:
    """Distance (m) between points and their snapped nodes."""
    return metres_apart(lon, lat, node_lon, node_lat)


def user_sites(facilities_cfg) -> list[UserSite]:
    """The sites of ``facilities.sites_file`` (if set) then ``facilities.extra_sites``, checked."""
    known = machine_types(facilities_cfg.kinds)
    sites = []
    if facilities_cfg.sites_file:
        sites += read_sites_file(facilities_cfg.sites_file, known)
    sites += sites_from_config(facilities_cfg.extra_sites, known)
    return sites
