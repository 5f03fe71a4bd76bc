"""The one place the web app builds models: app parameters + a base configuration -> CityModel."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import Any

from citymodel.config import Config, config_from_dict
from citymodel.model import CityModel
from citymodel.siting import PUBLIC_WORKSHOP_KINDS
from citymodel.ui.levers import InputError, check_lever, check_site

EXTRA_SITES = "facilities.extra_sites"
"""Parameter key of the what-if workshops (a list of ``facilities.extra_sites`` entries)."""

_city_lock = threading.Lock()
_cities: dict[str, Any] = {}


def shared_city(source: str):
    """The loaded map of ``source``, loaded once per process and shared by every browser tab.

    Raises
    ------
    citymodel.errors.MapError
        If the map cannot be loaded (the message names the source).
    """
    with _city_lock:
        city = _cities.get(source)
        if city is None:
            from citymodel.maps import load_city

            city = _cities[source] = load_city(source)
        return city


def build_config(params: Mapping[str, Any], base: Config) -> Config:
    """The configuration of a run: ``base`` with the app's parameters applied, validated.

    Parameters
    ----------
    params
        Lever values by key (see :data:`citymodel.ui.levers.LEVERS`), optionally ``map``
        (a map source) and :data:`EXTRA_SITES` (what-if workshops).
    base
        The configuration the levers start from (``--config`` file, scenario); not modified.

    Raises
    ------
    InputError
        If a lever or a site is out of range or malformed.
    citymodel.errors.ConfigError
        If the resulting configuration is invalid.
    """
    nested: dict[str, Any] = {}
    for key, raw in params.items():
        if key in ("map", EXTRA_SITES):
            continue
        value = check_lever(key, raw)
        if key in ("citizens", "seed"):
            nested.setdefault("run", {})[key] = value
        elif key == "workshop_fee_scale":
            kinds = nested.setdefault("facilities", {}).setdefault("kinds", {})
            for kind in PUBLIC_WORKSHOP_KINDS:
                kinds[kind] = {"fee_per_hour": base.facilities.kinds[kind]["fee_per_hour"] * value}
        else:
            section, name = key.split(".", 1)
            nested.setdefault(section, {})[name] = value
    if "map" in params:
        nested.setdefault("run", {})["map"] = str(params["map"])
    sites = params.get(EXTRA_SITES) or []
    if sites:
        if not hasattr(base.facilities, "extra_sites"):
            msg = "this version of citymodel has no facilities.extra_sites: what-if workshops cannot be added"
            raise InputError(msg)
        nested.setdefault("facilities", {})["extra_sites"] = [check_site(s) for s in sites]
    return config_from_dict(nested, copy.deepcopy(base))


def build_model(params: Mapping[str, Any], city, base: Config) -> CityModel:
    """A new :class:`~citymodel.model.CityModel` on ``city`` from the app's parameters (see :func:`build_config`)."""
    return CityModel(build_config(params, base), city)
