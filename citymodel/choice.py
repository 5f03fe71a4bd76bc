"""Channel choice: the quote a citizen sees for each channel and a multinomial logit over them (vectorised).

For need ``n`` of citizen ``i`` and alternative ``j`` the utility is::

    U_nj = ASC_j + personal_j − β_price,i · price_nj − β_time · days_nj
           − β_travel · travel_hours_nj + β_skill · skill_i · [j = self_fabrication] + ε_nj

with ``β_price,i = beta_price · (median income / income_i) ^ income_elasticity``
(poorer citizens weigh price more), ``personal_j`` the product's personalisation
value for the two local channels, and ε i.i.d. Gumbel, so the choice is
``argmax`` (the Gumbel-max draw of a logit). Unavailable alternatives get −inf.

The quote (price £ and days to receipt per alternative) is built by
:func:`quote_alternatives` from the same price rules that bill the order
(:func:`citymodel.platform.platform_price`,
:func:`citymodel.accounts.self_fabrication_bill`), so every caller — the
vectorised model and the per-agent reference — quotes with one formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel.accounts import self_fabrication_bill
from citymodel.config import ChoiceConfig, Config
from citymodel.keyed_random import CHOICE_NOISE
from citymodel.platform import platform_price
from citymodel.vocabulary import AWARE, IMPORT, PLATFORM, SELF_FABRICATION

__all__ = ["IMPORT", "PLATFORM", "SELF_FABRICATION", "Alternatives", "ChannelChoice", "ProductTable", "choose",
           "probabilities", "quote_alternatives", "utilities"]


@dataclass
class Alternatives:
    """Attributes of the three alternatives for a batch of needs (arrays of shape [n, 3]).

    Attributes
    ----------
    price
        Price to the citizen (£).
    days
        Expected time from order to receipt (days).
    travel_hours
        The citizen's own travel (hours).
    personal
        Personalisation value (utils).
    available
        Whether the alternative can be chosen.
    """

    price: np.ndarray
    days: np.ndarray
    travel_hours: np.ndarray
    personal: np.ndarray
    available: np.ndarray


@dataclass
class ProductTable:
    """Per-product constants of the catalogue as arrays indexed by product code.

    Attributes
    ----------
    names
        Product names in code order (``needs.products`` order).
    machine
        Machine type each product needs.
    machine_index
        Index of that machine type in ``machines`` (sorted machine names).
    machine_hours, material_cost, import_price, import_lead_days, personalisation_value
        Mean machine time (h), material (£), import price (£), import lead time (days), utils.
    """

    names: list[str]
    machines: list[str]
    machine: list[str]
    machine_index: np.ndarray
    machine_hours: np.ndarray
    material_cost: np.ndarray
    import_price: np.ndarray
    import_lead_days: np.ndarray
    personalisation_value: np.ndarray

    @classmethod
    def from_config(cls, config: Config) -> ProductTable:
        """The catalogue of ``config.needs.products``."""
        names = list(config.needs.products)
        specs = [config.needs.product(p) for p in names]
        machines = sorted({s.machine for s in specs})
        columns = {name: np.array([getattr(s, name) for s in specs], dtype=float)
                   for name in ("machine_hours", "material_cost", "import_price", "import_lead_days",
                                "personalisation_value")}
        return cls(names, machines, [s.machine for s in specs],
                   np.array([machines.index(s.machine) for s in specs], dtype=np.int64), **columns)


def platform_quote_days(machine_hours: np.ndarray, backlog_days: np.ndarray, config: Config) -> np.ndarray:
    """Days from order to receipt quoted for a platform order.

    Acceptance delay + the queue ahead (days of work) + the job itself at
    ``choice.working_hours_per_day`` + a hand-over margin.
    """
    choice = config.choice
    return (config.platform.acceptance_minutes / 1440 + backlog_days + machine_hours / choice.working_hours_per_day
            + choice.platform_margin_days)


def self_fabrication_quote_days(round_trip_h: np.ndarray, machine_hours: np.ndarray, config: Config) -> np.ndarray:
    """Days from need to having the item when making it at a workshop (walk there and back, the job, a margin)."""
    return (round_trip_h + machine_hours) / 24.0 + config.choice.self_fabrication_margin_days


def quote_alternatives(products: ProductTable, product: np.ndarray, platform_fee: np.ndarray,
                       platform_backlog_days: np.ndarray, aware: np.ndarray, skill: np.ndarray,
                       workshop_fee: np.ndarray, walk_s: np.ndarray, reach: np.ndarray, eligible: np.ndarray,
                       config: Config) -> Alternatives:
    """The quote of every alternative for a batch of needs.

    Parameters
    ----------
    products
        The catalogue.
    product
        Product code of each need, shape [n].
    platform_fee, platform_backlog_days
        Per product (indexed by code): the platform's typical fee (£/h, NaN if no facility offers the
        machine) and its current queue (days).
    aware, skill
        Per need: whether the citizen is aware of DM (stage ≥ aware), and their skill (0..1).
    workshop_fee, walk_s, reach
        Per need: fee (£/h) of the nearest public workshop with the machine, walking time to it (s),
        and whether one is reachable.
    eligible
        Per need: whether the citizen is eligible for the policy's subsidies.
    """
    p = product
    m = len(product)
    base_price = platform_price(platform_fee, products.machine_hours, products.material_cost, config.platform)
    platform_days = platform_quote_days(products.machine_hours, platform_backlog_days, config)
    machine_hours = products.machine_hours[p]
    price = np.empty((m, 3))
    days = np.empty((m, 3))
    travel = np.zeros((m, 3))
    personal = np.zeros((m, 3))
    available = np.ones((m, 3), dtype=bool)
    price[:, IMPORT] = products.import_price[p]
    days[:, IMPORT] = products.import_lead_days[p]
    price[:, PLATFORM] = base_price[p]
    days[:, PLATFORM] = platform_days[p]
    available[:, PLATFORM] = np.isfinite(platform_fee)[p] & aware
    personal[:, PLATFORM] = personal[:, SELF_FABRICATION] = products.personalisation_value[p]
    _, _, paid = self_fabrication_bill(workshop_fee, machine_hours, products.material_cost[p], eligible,
                                       config.policy)
    price[:, SELF_FABRICATION] = paid
    round_trip_h = 2 * np.where(reach, walk_s, 0.0) / 3600.0
    travel[:, SELF_FABRICATION] = round_trip_h
    days[:, SELF_FABRICATION] = self_fabrication_quote_days(round_trip_h, machine_hours, config)
    available[:, SELF_FABRICATION] = reach & aware & (skill >= config.adoption.self_fab_min_skill)
    return Alternatives(np.nan_to_num(price), days, travel, personal, available)


def utilities(alts: Alternatives, income: np.ndarray, skill: np.ndarray, median_income: float,
              cfg: ChoiceConfig) -> np.ndarray:
    """Deterministic utilities, shape [n, 3]; −inf where unavailable."""
    beta_price = cfg.beta_price * (median_income / income) ** cfg.income_elasticity
    u = (
        alts.personal
        - beta_price[:, None] * alts.price
        - cfg.beta_time * alts.days
        - cfg.beta_travel * alts.travel_hours
    )
    u[:, PLATFORM] += cfg.asc_platform
    u[:, SELF_FABRICATION] += cfg.asc_self_fabrication + cfg.beta_skill * skill
    return np.where(alts.available, u, -np.inf)


def choose(u: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """The chosen alternative per row: argmax of utility plus its Gumbel noise (a logit draw)."""
    return np.argmax(u + noise, axis=1)


def probabilities(u: np.ndarray) -> np.ndarray:
    """Logit choice probabilities, rows summing to 1."""
    z = u - u.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class ChannelChoice:
    """The choice component: the quote of every channel for a batch of needs and the logit draw.

    Parameters
    ----------
    config
        The run's configuration.
    products
        The catalogue.
    population
        Citizen columns (stage, skill, income).
    keyed
        The run's keyed random numbers (the Gumbel noise is keyed by citizen, product, k, alternative).
    nearest_index, nearest_walk_s
        Per machine type (``products.machines`` order) and citizen: index of the nearest public workshop
        with that machine (−1 if none) and the walk to it (s).
    public_fees
        Fee (£/h) of each public workshop, with NaN appended (index −1).
    eligible
        Per citizen: eligible for the policy's subsidies.
    median_income
        Income the price sensitivity is relative to (£/year).
    """

    def __init__(self, config: Config, products: ProductTable, population, keyed, nearest_index: np.ndarray,
                 nearest_walk_s: np.ndarray, public_fees: np.ndarray, eligible: np.ndarray,
                 median_income: float) -> None:
        self.config = config
        self.products = products
        self.population = population
        self.keyed = keyed
        self.nearest_index = nearest_index
        self.nearest_walk_s = nearest_walk_s
        self.public_fees = public_fees
        self.eligible = eligible
        self.median_income = median_income

    def utilities(self, product: np.ndarray, who: np.ndarray, platform_fee: np.ndarray,
                  platform_backlog_days: np.ndarray) -> np.ndarray:
        """Utilities [n, 3] of needs of ``product`` (codes) by citizens ``who``; platform basis per machine type."""
        pop = self.population
        machine = self.products.machine_index
        walk_s = self.nearest_walk_s[machine[product], who]
        w_index = self.nearest_index[machine[product], who]
        reach = np.isfinite(walk_s) & (w_index >= 0)
        alts = quote_alternatives(self.products, product, platform_fee[machine], platform_backlog_days[machine],
                                  pop.stage[who] >= AWARE, pop.skill[who], self.public_fees[w_index], walk_s,
                                  reach, self.eligible[who], self.config)
        return utilities(alts, pop.income[who], pop.skill[who], self.median_income, self.config.choice)

    def choose(self, product: np.ndarray, who: np.ndarray, k: np.ndarray, platform_fee: np.ndarray,
               platform_backlog_days: np.ndarray) -> np.ndarray:
        """The channel code chosen for each need (k-th need of ``product`` by ``who``)."""
        u = self.utilities(product, who, platform_fee, platform_backlog_days)
        noise = self.keyed.gumbel(CHOICE_NOISE, who[:, None], product[:, None], k[:, None], np.arange(3)[None, :])
        return choose(u, noise)
