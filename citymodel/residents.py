"""The residents of a run: which zones, how many citizens, where they live and what they earn.

One set-up shared by :class:`citymodel.model.CityModel` and the reference model
(:mod:`citymodel.reference`), so both build the same city:

1. **zones in use** — ``population.zones_file`` if given, else the zones shipped
   with the map (``City.zones``; central Leeds: LSOAs with IMD 2019 deciles and
   mid-2015 population) unless ``population.use_map_zones`` is false, else none;
   clipped to the map (``Zones.on_map``: the area the streets cover, ``City.extent``);
2. **how many** — ``run.citizens``, or when it is 0 the residents of the zones on
   the map (``Σ population × map_share``, rounded: a zone cut by the map's edge
   counts its population times the share of its area inside the map), or 10,000 if
   the zones carry no population or there are none (:func:`resolve_citizens`);
3. **where** — candidate homes (``siting.home_candidates``), drawn in proportion
   to zone population when the zones carry it (``citymodel.homes``);
4. **income** — synthetic (lognormal with a smooth spatial field that depends on
   the seed and location only, ``citymodel.population``), replaced by draws from
   the zone of each citizen when the zones carry an income or decile
   (``citymodel.zones.incomes_from_zones``); skill keeps its income gradient.
"""

from __future__ import annotations

import copy

import numpy as np

from citymodel.config import Config
from citymodel.errors import ConfigError
from citymodel.homes import place_homes
from citymodel.population import SYNTHETIC, Population, build_population, income_quintiles
from citymodel.siting import centre_of, home_candidates
from citymodel.zones import Zones, incomes_from_zones, read_zones

DEFAULT_CITIZENS_WITHOUT_ZONES = 10_000


def zones_for_run(city, config: Config) -> Zones | None:
    """The zones a run uses, clipped to the map, or None (see the module rule 1)."""
    cfg = config.population
    if cfg.zones_file:
        return read_zones(cfg.zones_file).on_map(city.extent, map_name=f"map {city.source}")
    if cfg.use_map_zones and getattr(city, "zones", None) is not None:
        return city.zones
    return None


def map_population(zones: Zones | None) -> int | None:
    """Residents of the zones on the map (``Σ population × map_share``, rounded), or None without population."""
    if zones is None or not zones.has_population:
        return None
    return int(round(float(zones.population_on_map.sum())))


def resolve_citizens(config: Config, city, zones: Zones | None = None) -> int:
    """The number of citizens of a run: ``run.citizens``, or the map's population when it is 0."""
    if config.run.citizens > 0:
        return config.run.citizens
    people = map_population(zones if zones is not None else zones_for_run(city, config))
    if people is None:
        return DEFAULT_CITIZENS_WITHOUT_ZONES
    if people < 1:
        raise ConfigError(f"run.citizens = 0 asks for the map's population, but the zones on map {city.source} "
                          "have no residents; pass --citizens N")
    return people


def with_resolved_citizens(config: Config, city) -> Config:
    """``config`` itself if ``run.citizens`` > 0, else a copy with the resolved number (the input is not changed)."""
    if config.run.citizens > 0:
        return config
    resolved = copy.deepcopy(config)
    resolved.run.citizens = resolve_citizens(config, city)
    return resolved


def populate(city, config: Config, streams: dict[str, np.random.Generator]) -> tuple[Population, list[str]]:
    """Build the run's citizens: homes, zones, incomes, skills and ties; return them and notes for the run.

    Parameters
    ----------
    city
        The loaded map (``citymodel.maps.City``).
    config
        The run's configuration (``run.citizens`` 0 is resolved here as in :func:`resolve_citizens`).
    streams
        The model's random streams; ``population``, ``ties`` and ``zones`` are used.
    """
    cfg = config.population
    notes: list[str] = []
    zones = zones_for_run(city, config)
    n = resolve_citizens(config, city, zones)
    if config.run.citizens == 0:
        people = map_population(zones)
        notes.append(f"{n:,} citizens = the residents of the {len(zones)} zones on the map ({zones.name})"
                     if people is not None else
                     f"{n:,} citizens (the default for a map without zone population; run.citizens = 0)")
    homes, note = home_candidates(city)
    if note:
        notes.append(note)
    placement = place_homes(n, homes, zones, cfg.homes_by, streams["population"])
    notes += placement.notes
    centre = centre_of(city)
    pop = build_population(homes.iloc[placement.home], centre, cfg, config.run.seed,
                           streams["population"], streams["ties"])
    pop.zone = placement.zone
    pop.zones = zones
    origin = "zones file" if cfg.zones_file else "the map's zones,"
    if zones is not None and zones.has_income:
        _incomes_from_zones(pop, zones, cfg, streams["zones"], homes, placement)
        notes.append(f"incomes from {origin} {zones.name} ({len(zones)} zones; drawn from {_income_basis(zones)})")
    elif zones is not None:
        notes.append(f"incomes are synthetic: {origin} {zones.name} give no income or decile")
    else:
        notes.append("incomes are synthetic (lognormal, ONS 2024 median and spread, with a smooth random spatial "
                     "field): no zones")
    currency = getattr(city, "metadata", {}).get("currency", "")
    if currency and currency != "GBP":
        notes.append(f"map currency {currency}: the model's prices and incomes are UK figures in £, not converted")
    return pop, notes


def _income_basis(zones: Zones) -> str:
    """Which field the zones' incomes are drawn from, counted: "IoD income-domain decile (30 zones)"."""
    by_income = np.isfinite(zones.income)
    by_income_decile = ~by_income & (zones.income_decile > 0)
    by_imd = ~by_income & ~by_income_decile
    parts = [f"{what} ({int(flag.sum())} zones)" for what, flag in
             (("mean income", by_income), ("IoD income-domain decile", by_income_decile),
              ("IMD decile", by_imd)) if flag.any()]
    return ", ".join(parts)


def _incomes_from_zones(pop: Population, zones: Zones, cfg, rng: np.random.Generator, homes, placement) -> None:
    """Replace the synthetic incomes by draws from each citizen's zone; skill keeps its income gradient.

    Skill shifts by ``skill_income_gradient`` times the change in standardised log income.
    """
    lon = homes["lon"].to_numpy()[placement.home]
    lat = homes["lat"].to_numpy()[placement.home]
    income, _, _ = incomes_from_zones(zones, lon, lat, cfg.income_median, cfg.income_sigma, cfg.zones_within_sigma,
                                      rng, zone=pop.zone)
    z_old = np.log(pop.income / cfg.income_median) / cfg.income_sigma
    z_new = np.log(income / cfg.income_median) / cfg.income_sigma
    pop.skill = np.clip(pop.skill + cfg.skill_income_gradient * (z_new - z_old), 0.0, 1.0)
    pop.income = income
    pop.income_quintile = income_quintiles(income)
    pop.income_source = f"zones: {zones.name}"


__all__ = ["SYNTHETIC", "map_population", "populate", "resolve_citizens", "with_resolved_citizens",
           "zones_for_run"]
