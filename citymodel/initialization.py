"""Initialization of a run: the citizens, facility sites and machines every model of the city starts from.

The vectorised :class:`~citymodel.model.CityModel` and the per-agent
:class:`~citymodel.reference.ReferenceModel` both call these functions, so they
start from the same city: the same homes, incomes, skills and ties, the same
sites and machines, drawn from the same set-up generators.
"""

from __future__ import annotations

import numpy as np

from citymodel.agents import Maker, PublicWorkshop, TextileMill
from citymodel.config import Config
from citymodel.population import Population, build_population, income_quintiles, unproject
from citymodel.siting import Site, centre_of, choose_sites, home_candidates
from citymodel.vocabulary import PUBLIC_WORKSHOP_KINDS
from citymodel.zones import incomes_from_zones, read_zones


def initial_population(config: Config, city, streams: dict[str, np.random.Generator]
                       ) -> tuple[Population, tuple[float, float], list[str]]:
    """Citizens at homes of ``city`` with income, skill and ties; returns (population, map centre, notes).

    With ``population.zones_file`` incomes come from the zone of each home (see
    :mod:`citymodel.zones`) and skill keeps its income gradient: it shifts by
    ``skill_income_gradient`` times the change in standardised log income.
    """
    notes: list[str] = []
    homes, note = home_candidates(city)
    if note:
        notes.append(note)
    centre = centre_of(city)
    pop = build_population(config.run.citizens, homes, centre, config.population, streams["population"],
                           streams["ties"])
    if config.population.zones_file:
        notes.append(_incomes_from_zones(pop, config, centre, streams["zones"]))
    return pop, centre, notes


def _incomes_from_zones(pop: Population, config: Config, centre: tuple[float, float],
                        rng: np.random.Generator) -> str:
    cfg = config.population
    path = cfg.zones_file
    zones = read_zones(path)
    lon, lat = unproject(pop.x_m, pop.y_m, *centre)
    income, _, outside = incomes_from_zones(zones, lon, lat, cfg.income_median, cfg.income_sigma,
                                            cfg.zones_within_sigma, rng)
    z_old = np.log(pop.income / cfg.income_median) / cfg.income_sigma
    z_new = np.log(income / cfg.income_median) / cfg.income_sigma
    pop.skill = np.clip(pop.skill + cfg.skill_income_gradient * (z_new - z_old), 0.0, 1.0)
    pop.income = income
    pop.income_quintile = income_quintiles(income)
    note = f"incomes from zones file {path} ({len(zones)} zones)"
    if outside:
        note += f"; {outside} homes outside every zone took the nearest zone"
    return note


def initial_sites(config: Config, city, streams: dict[str, np.random.Generator]) -> tuple[list[Site], list[str]]:
    """The facility sites of the city (real POIs, then stated fallbacks) and notes on the fallbacks used."""
    return choose_sites(city, config.facilities, streams["population"])


def facility_type(kind: str) -> tuple[type, str]:
    """The agent class of a site ``kind`` and the ``facilities.kinds`` entry that specifies it."""
    if kind in PUBLIC_WORKSHOP_KINDS:
        return PublicWorkshop, kind
    if kind == "textile_mill":
        return TextileMill, kind
    return Maker, "pro_maker"


def extra_machines(config: Config, cls: type) -> dict[str, int] | None:
    """Machines added by the equipment-grant policy to a facility of class ``cls`` (public workshops only)."""
    extra = config.policy.extra_printers_per_workshop
    return {"3d_printer": extra} if extra and cls is PublicWorkshop else None


def create_facility(model, cls: type, kind: str, spec_kind: str, nodes: dict[str, int], name: str = "",
                    lon: float = float("nan"), lat: float = float("nan"), placement: str = "poi",
                    extra: dict[str, int] | None = None):
    """A new facility agent of ``model`` with the next facility id, appended to ``model.facilities``."""
    facility = cls(model, len(model.facilities), kind, model.config.facility_kind(spec_kind), nodes, name, lon, lat,
                   placement, model.now, extra, spec_kind)
    model.facilities.append(facility)
    return facility


def create_sites(model, sites: list[Site]) -> None:
    """Create the facility agents of ``sites`` in ``model`` (in site order)."""
    for site in sites:
        cls, spec_kind = facility_type(site.kind)
        create_facility(model, cls, site.kind, spec_kind, site.nodes, site.name, site.lon, site.lat,
                        site.placement, extra_machines(model.config, cls))


def home_maker(model, row: int, nodes: dict[str, int]):
    """The workshop of citizen ``row`` who became a maker, at their home (``nodes`` per graph)."""
    maker = create_facility(model, Maker, "maker", "maker", nodes, f"maker at citizen {row}",
                            placement="citizen_home")
    maker.owner = row
    return maker
