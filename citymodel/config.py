"""The typed configuration of a run: every default in one place, with unit and source.

A :class:`Config` is a tree of frozen-in-spirit dataclasses. Each field carries
``metadata`` with its ``unit`` and ``source`` (a cited figure from
``shared/PARAMETERS.md``, the reference paper, or ``"assumption"``), so that the
parameter table in ``docs/parameters.md`` is generated from this module and never
drifts from the code (``citymodel params``).

Load from TOML with :func:`load_config`; override single values with dotted keys
(``adoption.bass_p=0.01``) through :func:`apply_overrides`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from citymodel.config_checks import (
    check_existing_file,
    check_existing_sites_file,
    check_extra_sites,
    check_hours_list,
    check_machine_list,
    check_machine_name,
    check_nonempty,
    check_processes,
    check_workshop_kinds,
    parse_hours_entry,  # noqa: F401  (re-exported: citymodel.calendar imports it from here)
)
from citymodel.ranges import (
    Range,
    check_value,
    fail,
)
from citymodel.vocabulary import PUBLIC_WORKSHOP_KINDS

ASSUMPTION = "assumption"


def _p(default: Any, unit: str, source: str = ASSUMPTION, doc: str = "", *,
       ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None,
       choices: tuple[str, ...] | None = None, text: str = "", check: Callable[[str, Any], Any] | None = None,
       record: type | None = None) -> Any:
    """A dataclass field with unit, source, description and allowed-values metadata.

    ``ge``/``gt``/``le``/``lt`` bound a number (or each item of a list), ``choices``
    lists the allowed texts, ``text`` replaces the generated description of the
    range in messages, ``check(name, value)`` checks what a range cannot say,
    ``record`` is the dataclass each value of a table field must match. The
    value's type follows the default (see :mod:`citymodel.ranges`).
    """
    meta: dict[str, Any] = {"unit": unit, "source": source, "doc": doc,
                            "range": Range(ge=ge, gt=gt, le=le, lt=lt, choices=choices, text=text)}
    if check is not None:
        meta["check"] = check
    if record is not None:
        meta["record"] = record
    if isinstance(default, (dict, list, tuple)):
        return field(default_factory=lambda d=default: _copy(d), metadata=meta)
    return field(default=default, metadata=meta)


def _r(ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None,
       check: Callable[[str, Any], Any] | None = None) -> Any:
    """A required field of a record (product, facility kind) with its allowed values."""
    meta: dict[str, Any] = {"range": Range(ge=ge, gt=gt, le=le, lt=lt)}
    if check is not None:
        meta["check"] = check
    return field(metadata=meta)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return value


@dataclass
class RunConfig:
    """What to simulate: map, population size, duration and seed."""

    map: str = _p("default", "-", doc="map source: 'default' (embedded central Leeds), 'helsinki' (embedded central "
                  "Helsinki), a .osm/.osm.pbf/.graphml path or 'place:<name>'", check=check_nonempty)
    citizens: int = _p(0, "persons", doc="number of citizens; 0 = the map's population: the residents of the zones "
                       "on the map (population x share of each zone's area inside the area the streets cover; "
                       "central Leeds: 45,455, mid-2015), or 10,000 on a map without zones or whose zones carry no "
                       "population", ge=0, text="a whole number >= 0 (0 = the map's population)")
    days: float = _p(30.0, "days", doc="simulated duration",
        ge=1 / 24 - 1e-9, text="a number of days of at least one simulated hour (>= 1/24 = 0.0417)")
    seed: int = _p(42, "-", doc="seed of every random stream of the run", ge=0)
    start_weekday: int = _p(0, "0=Monday", doc="weekday of simulated day 0", ge=0, le=6)


@dataclass
class PopulationConfig:
    """Citizens: income, skills and social ties."""

    income_median: float = _p(34500.0, "£/year", "ONS 2024 median disposable income (PARAMETERS §11)", gt=0)
    income_sigma: float = _p(0.60, "log £", "EST from ONS median and Gini 33.1 % (PARAMETERS §11)", gt=0)
    income_spatial_correlation: float = _p(
        0.6, "0..1", doc="weight of a smooth spatial field in log income (spatial clustering)"
    , ge=0, le=1)
    income_length_scale_m: float = _p(800.0, "m", doc="length scale of the income field", gt=0)
    zones_file: str = _p("", "path", doc="GeoJSON/CSV of areas with population, income (£/year) or deciles "
                         "(1..10, e.g. IMD by LSOA; see citymodel/zones.py); replaces the map's zones; empty: the "
                         "map's zones, or synthetic spatially clustered income on a map without zones",
                             check=check_existing_file)
    use_map_zones: bool = _p(True, "-", doc="use the zones shipped with the map (central Leeds: 40 LSOAs with IMD "
                             "2019 deciles and mid-2015 population) when no zones_file is given")
    homes_by: str = _p("auto", "auto|population|uniform", doc="how citizens are spread over the candidate homes: "
                       "in proportion to zone population (population; an error if the zones carry none), uniformly "
                       "(uniform), or by population when the zones carry it (auto)",
                           choices=("auto", "population", "uniform"))
    zones_within_sigma: float = _p(0.3, "log £", doc="spread of income within a zone that gives a mean income", ge=0)
    skill_mean: float = _p(0.3, "0..1", doc="mean CAD/machine skill", ge=0, le=1)
    skill_income_gradient: float = _p(
        0.1, "skill per income SD", doc="skill shift per standard deviation of log income"
    )
    skill_noise_sd: float = _p(0.15, "skill", doc="standard deviation of individual skill around its income gradient",
        ge=0)
    ties_per_citizen: float = _p(8.0, "ties", doc="mean number of social ties", ge=0)
    tie_distance_scale_m: float = _p(600.0, "m", doc="decay length of tie probability with distance", gt=0)
    long_range_tie_share: float = _p(0.1, "share", doc="share of ties drawn uniformly across the city", ge=0, le=1)
    tie_candidates: int = _p(32, "citizens", doc="nearest neighbours among whom local ties are drawn", ge=1)


@dataclass
class ProductConfig:
    """One product category: the machine it needs and its import alternative."""

    machine: str = _r(check=check_machine_name)
    machine_hours: float = _r(gt=0)
    material_cost: float = _r(ge=0)
    import_price: float = _r(ge=0)
    import_lead_days: float = _r(ge=0)
    needs_per_citizen_year: float = _r(ge=0)
    personalisation_value: float = _r()
    platform_process: str = field(default="hubs", metadata={"range": Range()})


DEFAULT_PRODUCTS: dict[str, dict[str, Any]] = {
    # Opendesk-type plywood furniture on a CNC router (Srai et al. 2016 §4.4).
    "furniture": dict(
        machine="cnc_router", machine_hours=2.5, material_cost=60.0, import_price=180.0,
        import_lead_days=21.0, needs_per_citizen_year=0.3, personalisation_value=1.0, platform_process="opendesk",
    ),
    # Knitted/woven textiles: 2-3 h per sweater (Knitwise); UK sourcing saves 4-6 weeks (Leftly 2012).
    "textiles": dict(
        machine="knitting", machine_hours=2.5, material_cost=15.0, import_price=45.0,
        import_lead_days=28.0, needs_per_citizen_year=0.8, personalisation_value=0.8, platform_process="hubs",
    ),
    # Household items and spare parts on FDM printers: mean 4.9 h (Gopsill et al. 2024 model).
    "household": dict(
        machine="3d_printer", machine_hours=4.9, material_cost=2.0, import_price=12.0,
        import_lead_days=7.0, needs_per_citizen_year=2.0, personalisation_value=0.3, platform_process="hubs",
    ),
    # Personalised goods on a laser cutter (assumption).
    "personalised": dict(
        machine="laser_cutter", machine_hours=0.5, material_cost=5.0, import_price=25.0,
        import_lead_days=10.0, needs_per_citizen_year=0.6, personalisation_value=1.5, platform_process="hubs",
    ),
}


@dataclass
class NeedsConfig:
    """Product categories and how needs arrive (Poisson per citizen)."""

    products: dict[str, dict[str, Any]] = _p(
        DEFAULT_PRODUCTS, "see fields",
        "PARAMETERS §4, §5, §7, §8 (machine hours, lead times); prices are assumptions",
        doc="product -> machine, machine_hours (h), material_cost (£), import_price (£), "
        "import_lead_days (days), needs_per_citizen_year (1/year), personalisation_value (utils), "
        "platform_process (a key of platform.processes)",
    record=ProductConfig)
    import_lead_cv: float = _p(0.3, "-", doc="coefficient of variation of the (lognormal) import lead time", ge=0)
    machine_time_cv: float = _p(0.3, "-", doc="coefficient of variation of machine time per job (gamma)", gt=0)

    def product(self, name: str) -> ProductConfig:
        """The typed record of product ``name``."""
        return ProductConfig(**self.products[name])


@dataclass
class AdoptionConfig:
    """Stages unaware -> aware -> prosumer -> maker."""

    bass_p: float = _p(0.005, "1/year", "home 3D printer EST 0.002-0.01 (PARAMETERS §1); range 0.002-0.01",
                       doc="innovation: hazard of becoming aware without influence", ge=0)
    bass_q: float = _p(0.38, "1/year", "Sultan, Farley & Lehmann 1990 mean; home printer EST 0.3-0.5 (PARAMETERS §1)",
                       doc="imitation: hazard per unit (experience-weighted) share of ties who use DM", ge=0)
    imitation: str = _p("users", "users|aware", doc="who is imitated: ties who have used DM, weighted by their "
                        "experience ('users'), or every aware tie as in the Bass model ('aware', validation)",
                            choices=("users", "aware"))
    recent_use_days: float = _p(365.0, "days", doc="a platform customer counts as a DM user for this long", ge=0)
    initial_aware_share: float = _p(0.10, "share", doc="share aware of DM at day 0", ge=0, le=1)
    initial_maker_share: float = _p(0.005, "share", "EST 1-3 % households own a printer (PARAMETERS §6)", ge=0, le=1)
    well_mixed: bool = _p(False, "-", doc="imitation from the whole population instead of ties (validation)")
    maker_rate: float = _p(2.0, "1/year", doc="rate at which a prosumer weighs up buying a machine", ge=0)
    maker_machine: str = _p("3d_printer", "machine", doc="the machine a citizen buys to become a maker",
        check=check_machine_name)
    payback_threshold_years: float = _p(2.0, "years", "household payback 4 months-2 years, Wittbrodt et al. 2013 "
                                        "(PARAMETERS §6)", doc="buy when the expected payback is at most this", gt=0)
    max_income_share: float = _p(0.05, "share of income", doc="a machine's net cost is at most this share of the "
                                 "buyer's yearly income", ge=0)
    local_radius_m: float = _p(1500.0, "m", doc="radius of the local platform demand and competition a citizen sees",
        gt=0)
    demand_window_days: float = _p(90.0, "days", doc="platform orders of the last this many days form the demand "
                                   "signal", gt=0)
    machine_running_cost_per_hour: float = _p(0.3, "£/h", "machine-hour cost £0.24/h depreciation, US$0.5-3/h "
                                              "all-in (PARAMETERS §5); electricity and wear, excl. depreciation", ge=0)
    machine_life_years: float = _p(3.0, "years", doc="a home machine's life, for its yearly depreciation", gt=0)
    exit_window_days: float = _p(180.0, "days", doc="a maker whose earnings over this window do not cover the "
                                 "machine's costs sells it", gt=0)
    resale_share: float = _p(0.3, "share of price", doc="what a maker gets for a machine sold on exit", ge=0, le=1)
    self_fab_min_skill: float = _p(0.25, "0..1", doc="skill needed to fabricate at a workshop", ge=0, le=1)
    training_rate: float = _p(2.0, "1/year", doc="training uptake hazard of aware citizens near a workshop", ge=0)
    training_skill_gain: float = _p(0.25, "0..1", doc="skill gained per training session", ge=0, le=1)
    training_max_walk_min: float = _p(15.0, "min", "15-minute city, Moreno et al. 2021 (PARAMETERS §10)",
                                      doc="training is taken up by citizens within this walk of a workshop", ge=0)
    lateness_scale_days: float = _p(7.0, "days", doc="satisfaction falls by 1/e per this many days late against "
                                    "the quote", gt=0)
    failure_penalty: float = _p(0.3, "share", doc="satisfaction lost per failed print", ge=0, le=1)
    experience_weight: float = _p(0.5, "share", doc="weight of the latest order in a citizen's experience "
                                  "(exponential average of satisfaction)", ge=0, le=1)


@dataclass
class ChoiceConfig:
    """Multinomial logit over import / platform / self_fabrication (all assumptions)."""

    beta_price: float = _p(0.04, "1/£", doc="price sensitivity at median income", ge=0)
    income_elasticity: float = _p(1.0, "-", doc="price sensitivity scales as (median/income)^elasticity", ge=0)
    beta_time: float = _p(0.08, "1/day", doc="delivery time sensitivity", ge=0)
    beta_travel: float = _p(1.2, "1/hour", doc="own travel time sensitivity", ge=0)
    beta_skill: float = _p(1.5, "1/skill", doc="utility of self-fabrication per unit skill", ge=0)
    asc_platform: float = _p(-0.8, "utils", doc="alternative-specific constant of the platform")
    asc_self_fabrication: float = _p(-1.5, "utils", doc="alternative-specific constant of making it yourself")


@dataclass
class FacilityKindConfig:
    """Machines, hours and prices of one facility kind."""

    machines: dict[str, int] = _r(ge=0)
    hours: list[list[Any]] = _r(check=check_hours_list)
    fee_per_hour: float = _r(ge=0)
    takes_platform_orders: bool = True
    batch_size: int = field(default=1, metadata={"range": Range(ge=1)})
    setup_hours: float = field(default=0.0, metadata={"range": Range(ge=0)})
    batch_min: int = field(default=1, metadata={"range": Range(ge=1)})
    batch_wait_hours: float = field(default=0.0, metadata={"range": Range(ge=0)})



DEFAULT_FACILITIES: dict[str, dict[str, Any]] = {
    # hours: [days, open hour, close hour]; days like "mon-fri", "sat", "daily".
    "library": dict(machines={"3d_printer": 2, "laser_cutter": 1}, hours=[["mon-fri", 10, 19], ["sat", 10, 16]],
                    fee_per_hour=3.0),
    "school": dict(machines={"3d_printer": 3, "laser_cutter": 1}, hours=[["mon-fri", 16, 20]], fee_per_hour=3.0),
    "community_centre": dict(machines={"3d_printer": 2, "knitting": 1}, hours=[["mon-fri", 10, 20], ["sat", 10, 16]],
                             fee_per_hour=3.0),
    "college": dict(machines={"3d_printer": 4, "laser_cutter": 2, "cnc_router": 1},
                    hours=[["mon-fri", 17, 21], ["sat", 10, 16]], fee_per_hour=3.0),
    "arts_centre": dict(machines={"3d_printer": 2, "laser_cutter": 1, "knitting": 1}, hours=[["tue-sat", 10, 18]],
                        fee_per_hour=4.0),
    "youth_centre": dict(machines={"3d_printer": 2, "laser_cutter": 1}, hours=[["mon-fri", 15, 21]], fee_per_hour=2.0),
    "shopping_centre": dict(machines={"3d_printer": 2, "laser_cutter": 1, "knitting": 1},
                            hours=[["daily", 10, 20]], fee_per_hour=5.0),
    "makerspace": dict(machines={"3d_printer": 5, "laser_cutter": 1, "cnc_router": 1, "knitting": 1},
                       hours=[["mon-thu", 13, 20], ["sat", 10, 18]], fee_per_hour=5.0),
    "maker": dict(machines={"3d_printer": 1}, hours=[["daily", 8, 22]], fee_per_hour=3.0),
    "pro_maker": dict(machines={"cnc_router": 1, "laser_cutter": 1, "3d_printer": 2},
                      hours=[["mon-fri", 8, 18]], fee_per_hour=30.0),
    "textile_mill": dict(machines={"knitting": 4}, hours=[["mon-fri", 6, 22]], fee_per_hour=20.0,
                         batch_size=8, setup_hours=8.0, batch_min=4, batch_wait_hours=48.0),
}

FACILITY_SOURCES = (
    "hours: Fab Lab ICC (PARAMETERS §4), schools after hours (Srai 2016 §4.5); fees: UK laser £3-6/h "
    "members (Nottinghack), CNC EST £10-40/h (PARAMETERS §5); machines per space: assumption; mill set-up "
    "8 h = 0.5 day per new warp, the low end of EST 0.5-2 days (PARAMETERS §8); mill batches wait up to 48 h "
    "to fill 4 of 8 places (assumption: commercial MOQs of 100-300 per colour, AzKnit §8, are far above city demand)"
)

MACHINE_PRICES: dict[str, float] = {
    "3d_printer": 600.0,
    "laser_cutter": 5900.0,
    "cnc_router": 8000.0,
    "knitting": 35000.0,
}
MACHINE_PRICE_SOURCES = (
    "3D printer: EST £200-600 budget models, Prusa MK4 US$799-1,099 (PARAMETERS §5); laser cutter: capex "
    "£4.9-6.9k (Nottinghack, Bristol Hackspace, §5); knitting machine ≈ £35k (Unmade, §8); CNC router: assumption"
)


@dataclass
class FacilitiesConfig:
    """Public workshops, makers and mills: kinds, machines, opening hours, fees."""

    kinds: dict[str, dict[str, Any]] = _p(DEFAULT_FACILITIES, "see fields", FACILITY_SOURCES,
                                          doc="kind -> machines (count by type), hours, fee_per_hour (£/h)",
                                              record=FacilityKindConfig)
    max_per_kind: int = _p(12, "facilities", doc="at most this many public workshops of each POI kind", ge=0)
    pro_makers: int = _p(4, "facilities", doc="professional makers (Opendesk-type CNC shops) at craft/industrial POIs",
        ge=0)
    textile_mills: int = _p(1, "facilities", doc="3D-weaving mills at industrial POIs", ge=0)
    makerspaces_if_missing: int = _p(1, "facilities", doc="makerspaces placed by the fallback rule if the map has none",
        ge=0)
    machine_prices: dict[str, float] = _p(MACHINE_PRICES, "£", MACHINE_PRICE_SOURCES, doc="price of a machine by type, "
                                          "paid by a citizen who buys one and by the public budget for workshops", ge=0)
    poi_sites: bool = _p(True, "-", doc="place public workshops at the map's POIs; false: only at the user's sites "
                         "(sites_file, extra_sites)")
    sites_file: str = _p("", "path", doc="CSV (lon, lat, kind[, name, machines, fee_per_hour]) or GeoJSON points "
                         "of sites added to the chosen ones (see citymodel/sites.py)", check=check_existing_sites_file)
    extra_sites: list[dict[str, Any]] = _p([], "sites", doc="sites added to the chosen ones: tables with lon, lat "
                                           "(degrees), kind and optional name, machines (machine type -> count), "
                                           "fee_per_hour (£/h)", check=check_extra_sites)


DEFAULT_PROCESSES: dict[str, dict[str, float]] = {
    # Opendesk: three local makers quote within a day, then make; bulky goods go out on a delivery round.
    "opendesk": dict(quote_hours=24.0, quotes=3, booking_days=14.0, dispatch_days=1.0),
    # 3D Hubs: a partner accepts within 45 min, prints, and posts the part.
    "hubs": dict(quote_hours=0.75, quotes=1, booking_days=2.0, dispatch_days=2.0),
}
PROCESS_SOURCES = (
    "Opendesk: 3 local quotes within 24 h (maker guide), lead time 2-4 weeks (PARAMETERS §2); 3D Hubs: accept within "
    "≤45 min (Hub Academy), turnaround 3-7 business days incl. post (§3); dispatch: Royal Mail Tracked 48, 2-3 "
    "working days (§7); booking days: assumptions that put lead times in those ranges"
)


@dataclass
class PlatformConfig:
    """The DM platform: matching, commission, royalty and delivery."""

    matching: str = _p("earliest", "nearest|earliest|cheapest", doc="how an order is matched to a facility",
        choices=("nearest", "earliest", "cheapest"))
    royalty_share: float = _p(0.08, "share of price", "Opendesk FAQ: designer royalty 8 % (PARAMETERS §2)", ge=0, le=1)
    commission: float = _p(0.125, "share of price", "3D Hubs commission 12.5 % (PARAMETERS §3)", ge=0, le=1)
    delivery_mode: str = _p("cargo_bike", "walk|bike|cargo_bike|van", doc="vehicle that delivers platform orders",
        choices=("walk", "bike", "cargo_bike", "van"))
    delivery_fee: float = _p(4.0, "£", doc="flat local delivery charge", ge=0)
    processes: dict[str, dict[str, float]] = _p(
        DEFAULT_PROCESSES, "see fields", PROCESS_SOURCES,
        doc="process -> quote_hours (h from order to accepted quote), quotes (makers who quote; the matching rule "
        "picks among them), booking_days (days before a maker starts the job), dispatch_days (days from job done "
        "to the courier's delivery round)",
    check=check_processes)
    designers_per_1000_citizens: float = _p(5.0, "designers", doc="designers publishing on the platform", ge=0)
    designs_per_designer: int = _p(3, "designs", doc="designs published by each designer", ge=1)
    design_popularity_exponent: float = _p(1.0, "-", doc="Zipf exponent of design popularity", ge=0)
    design_time_sigma: float = _p(
        0.2, "log h", doc="spread of a design's machine time around its product's mean (lognormal sigma)"
    , ge=0)


@dataclass
class PolicyConfig:
    """Subsidy levers; every one is paid by the public budget."""

    fee_waiver_share: float = _p(0.0, "share", doc="share of public-workshop fees paid by the public budget",
        ge=0, le=1)
    material_subsidy_share: float = _p(0.0, "share", doc="share of material cost at public workshops subsidised",
        ge=0, le=1)
    targeting: str = _p("income_quintile", "income_quintile|imd_decile", doc="who is eligible for subsidies, waivers "
                        "and machine grants: citizens of the targeted income quintiles, or living in zones of the "
                        "targeted IMD deciles (citizens without a zone are not eligible then)",
                        choices=("income_quintile", "imd_decile"))
    targeted_quintiles: list[int] = _p([1, 2, 3, 4, 5], "quintiles", doc="income quintiles eligible for subsidies",
        ge=1, le=5)
    targeted_imd_deciles: list[int] = _p([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "IMD deciles", doc="IMD deciles (1 = most "
                                         "deprived tenth of England) eligible, with targeting = imd_decile",
                                         ge=1, le=10)
    subsidised_kinds: list[str] = _p(list(PUBLIC_WORKSHOP_KINDS), "facility kinds", doc="public workshop kinds whose "
                                     "fees and materials the waiver and material subsidy cover",
                                     check=check_workshop_kinds)
    subsidised_machines: list[str] = _p(list(MACHINE_PRICES), "machines", doc="machine types whose use the waiver "
                                        "and material subsidy cover (e.g. only 3d_printer)", check=check_machine_list)
    budget_cap: float = _p(0.0, "£", doc="most the policy's rationed levers (subsidies and waivers, training "
                           "sessions, machine grants, mill support) may cost over the run, first come first served: "
                           "a payment that no longer fits is not made; 0 = no cap. Workshops' running and capital "
                           "costs are commitments, not rationed", ge=0)
    extra_printers_per_workshop: int = _p(0, "machines", doc="equipment grant: 3D printers added to every workshop",
        ge=0)
    training_multiplier: float = _p(1.0, "-", doc="training programme: multiplies the training hazard", ge=0)
    training_cost_per_session: float = _p(25.0, "£", doc="public cost of one training session", ge=0)
    machine_grant: float = _p(0.0, "£", doc="grant to a prosumer buying a machine", ge=0)
    mill_support: float = _p(0.0, "£", doc="one-off support paid to each textile mill", ge=0)
    workshop_staff_cost_per_hour: float = _p(15.0, "£/open hour", doc="staff of a public workshop per opening hour "
                                             "(assumption: UK National Living Wage 2023 £10.42/h plus on-costs)", ge=0)
    workshop_space_cost_per_week: float = _p(100.0, "£/week", doc="space, power and consumables of a public "
                                             "workshop", ge=0)
    capital_life_years: float = _p(5.0, "years", "laser cutter 5-year life (Bristol Hackspace, PARAMETERS §5)",
                                   doc="public workshops' machines are paid over this life, a share each day", gt=0)


@dataclass
class LogisticsConfig:
    """Import last mile and emission factors."""

    co2_van_kg_per_km: float = _p(0.250, "kg CO2e/km", "DESNZ 2024 diesel van ≤3.5 t (PARAMETERS §9)", ge=0)
    co2_cargo_bike_kg_per_km: float = _p(0.005, "kg CO2e/km", "Zedify 0-5 g/km, upper end (PARAMETERS §9)", ge=0)
    cargo_bike_speed_kph: float = _p(15.0, "km/h", "Pedal Me GPS 2020 (PARAMETERS §9)", gt=0)
    van_drops_per_round: int = _p(48, "drops", "van ~6 drops per hour (Verlinghieri et al. 2021, PARAMETERS §9) "
                                  "over an 8-hour shift", doc="imports delivered per van round from the depot", ge=1)
    van_round_start_hour: float = _p(8.0, "h", doc="van rounds leave the depot at this hour", ge=0, lt=24)


@dataclass
class FabricationConfig:
    """Making it yourself at a public workshop: failed prints, reprints and time on site."""

    failure_machine: float = _p(0.15, "share", "41 % of novice FDM prints fail, 26 % by human error (Song & Telenko "
                                "2019, PARAMETERS §4): 15 % not by human error", doc="failure chance of an attempt "
                                "at full skill", ge=0, le=1)
    failure_human: float = _p(0.35, "share per unit skill", "calibrated so a novice (skill 0.25) fails 41 % "
                              "(PARAMETERS §4)", doc="added failure chance per unit of missing skill", ge=0, le=1)
    max_attempts: int = _p(3, "attempts", doc="a citizen gives up after this many failed attempts", ge=1)
    attendance_share: float = _p(0.5, "share", doc="share of machine time the citizen spends on site (set-up, "
                                 "first layers, finishing); counted at the value of travel time", ge=0, le=1)


@dataclass
class AccessConfig:
    """Who has access to a workshop: walking minutes, opening hours, machines."""

    threshold_min: float = _p(15.0, "min", "15-minute city, Moreno et al. 2021 (PARAMETERS §10)",
                              doc="a citizen has access within this walk of a qualifying workshop", gt=0)
    min_weekly_open_hours: float = _p(20.0, "h/week", "at least half of business hours (Fab Lab ICC, PARAMETERS §4)",
                                      doc="a workshop qualifies if it opens at least this long per week", ge=0, le=168)
    curve_minutes: list[float] = _p([5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0], "min",
                                    doc="walking minutes of the access curves", gt=0)


@dataclass
class Config:
    """The whole configuration of one run."""

    run: RunConfig = field(default_factory=RunConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    needs: NeedsConfig = field(default_factory=NeedsConfig)
    adoption: AdoptionConfig = field(default_factory=AdoptionConfig)
    choice: ChoiceConfig = field(default_factory=ChoiceConfig)
    facilities: FacilitiesConfig = field(default_factory=FacilitiesConfig)
    platform: PlatformConfig = field(default_factory=PlatformConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    logistics: LogisticsConfig = field(default_factory=LogisticsConfig)
    fabrication: FabricationConfig = field(default_factory=FabricationConfig)
    access: AccessConfig = field(default_factory=AccessConfig)

    @property
    def seed(self) -> int:
        """The run's seed (``run.seed``)."""
        return self.run.seed

    def to_dict(self) -> dict[str, Any]:
        """A plain nested dict (TOML-serialisable)."""
        return dataclasses.asdict(self)

    def facility_kind(self, kind: str) -> FacilityKindConfig:
        """The typed record of facility ``kind``."""
        return FacilityKindConfig(**self.facilities.kinds[kind])

    def validate(self) -> Config:
        """Check ranges and names; raise :class:`ConfigError` naming the field."""
        _validate(self)
        return self


def _fail(name: str, value: Any, expected: str) -> None:
    fail(name, value, expected)


def _validate(cfg: Config) -> None:
    """Check every field of every section against its type and allowed values (metadata), then what ties
    fields together: each product's platform process, the user's extra sites."""
    for section in dataclasses.fields(cfg):
        obj = getattr(cfg, section.name)
        for f in dataclasses.fields(obj):
            check_value(f"{section.name}.{f.name}", getattr(obj, f.name), _default(f), f.metadata)
    for name, prod in cfg.needs.products.items():
        process = prod.get("platform_process", "hubs")
        if process not in cfg.platform.processes:
            _fail(f"needs.products.{name}.platform_process", process,
                  f"one of the platform processes {', '.join(sorted(cfg.platform.processes))}")
    from citymodel.sites import machine_types, sites_from_config

    known_machines = machine_types(cfg.facilities.kinds)  # machines the facility kinds know
    for machine in cfg.policy.subsidised_machines:
        if machine not in known_machines:
            _fail("policy.subsidised_machines", machine,
                  f"machine types the facility kinds have: {', '.join(sorted(known_machines))}")
    sites_from_config(cfg.facilities.extra_sites, known_machines)


def _default(f: dataclasses.Field) -> Any:
    """A field's default value (called for a default factory)."""
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


# The readers and writers live in citymodel/config_io.py; they are imported here so that
# ``from citymodel.config import load_config`` keeps working (config_io needs Config, defined above).

from citymodel.config_io import (  # noqa: E402, F401
    allowed_values,
    apply_overrides,
    config_from_dict,
    config_to_toml,
    load_config,
    parameter_rows,
)
