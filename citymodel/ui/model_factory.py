"""The one place the web app builds models: app parameters + a base configuration -> CityModel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from citymodel.config import Config
from citymodel.model import CityModel
from citymodel.ui.levers import InputError, check_lever, check_site
from citymodel.vocabulary import PUBLIC_WORKSHOP_KINDS

EXTRA_SITES = "facilities.extra_sites"
"""Parameter key of the what-if workshops (a list of ``facilities.extra_sites`` entries)."""


def model_params(params: Mapping[str, Any], base: Config) -> dict[str, Any]:
    """The app's parameters, checked, as flat ``CityModel`` keyword parameters (``section__name``).

    Parameters
    ----------
    params
        Lever values by key (see :data:`citymodel.ui.levers.LEVERS`), optionally ``map``
        (a map source) and :data:`EXTRA_SITES` (what-if workshops, added to the sites
        ``base`` lists).
    base
        The configuration the levers start from (``--config`` file, scenario): the default
        fee of each workshop kind that ``workshop_fee_scale`` multiplies.

    Raises
    ------
    InputError
        If a lever or a site is out of range or malformed.
    """
    flat: dict[str, Any] = {}
    for key, raw in params.items():
        if key in ("map", EXTRA_SITES):
            continue
        value = check_lever(key, raw)
        if key == "workshop_fee_scale":
            flat["facilities__kinds"] = {kind: {"fee_per_hour": base.facilities.kinds[kind]["fee_per_hour"] * value}
                                         for kind in PUBLIC_WORKSHOP_KINDS}
        else:
            flat[key.replace(".", "__")] = value
    if "map" in params:
        flat["map"] = str(params["map"])
    sites = params.get(EXTRA_SITES) or []
    if sites:
        if not hasattr(base.facilities, "extra_sites"):
            msg = "what-if workshop refused: this version of citymodel has no facilities.extra_sites"
            raise InputError(msg)
        # added to the sites the configuration already lists
        flat["facilities__extra_sites"] = [*base.facilities.extra_sites, *(check_site(s) for s in sites)]
    return flat


def build_model(params: Mapping[str, Any], city, base: Config) -> CityModel:
    """A new :class:`~citymodel.model.CityModel` on ``city``: ``base`` with the app's parameters applied.

    Raises
    ------
    InputError
        If a lever or a site is out of range or malformed.
    citymodel.errors.ConfigError
        If the resulting configuration is invalid.
    """
    return CityModel(config=base, city=city, **model_params(params, base))
