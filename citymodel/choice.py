"""Channel choice: the quote a citizen sees for each channel and a multinomial logit over them (vectorised).

For need ``n`` of citizen ``i`` and alternative ``j`` the utility is::

    U_nj = ASC_j + personal_j − β_price,i · price_nj − β_time · days_nj
           − β_travel · travel_hours_nj + β_skill · skill_i · [j = self_fabrication] + ε_nj

with ``β_price,i = beta_price · (median income / income_i) ^ income_elasticity``
(poorer citizens weigh price more), ``personal_j`` the product's personalisation
value for the two local channels, and ε i.i.d. Gumbel, so the choice is
``argmax`` (the Gumbel-max draw of a logit). Unavailable alternatives get −inf.

The quote (price £ and days to receipt per alternative) is what the citizen
would actually get: the platform's offer (:meth:`citymodel.platform.Platform.offers`,
the facility, price and ready time the matching rule would give the order) and,
for making it yourself, a visit planned behind the nearest workshop's queue with
the expected attempts (:func:`self_fabrication_quote`, billed by
:func:`citymodel.accounts.self_fabrication_bill`). :func:`quote_alternatives`
turns the quotes into the logit's attributes; every caller — the vectorised
model and the per-agent reference — quotes with these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel.accounts import self_fabrication_bill
from citymodel.config import ChoiceConfig, Config
from citymodel.fabrication import expected_attempts, failure_probability, visit_plan
from citymodel.keyed_random import CHOICE_NOISE
from citymodel.policy import subsidy_applies
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
    process
        The platform process of each product (a key of ``platform.processes``).
    """

    names: list[str]
    machines: list[str]
    machine: list[str]
    process: list[str]
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
        return cls(names, machines, [s.machine for s in specs], [s.platform_process for s in specs],
                   np.array([machines.index(s.machine) for s in specs], dtype=np.int64), **columns)


def self_fabrication_quote(calendar, when: np.ndarray, walk_s: np.ndarray, free_min: np.ndarray,
                           machine_hours: np.ndarray, material: np.ndarray, fee_per_hour: np.ndarray,
                           skill: np.ndarray, eligible: np.ndarray, config: Config) -> dict[str, np.ndarray]:
    """The quote of making items at public workshops sharing ``calendar`` (arrays over needs).

    The visit is planned to arrive when the job is expected to start, once a machine is free
    (``free_min``, :meth:`citymodel.production.MachinePool.available_at`;
    :func:`citymodel.fabrication.visit_plan`); price, machine time and time on site count the
    expected attempts (failed prints are paid and redone). Returns ``price`` (£), ``depart``,
    ``arrive``, ``ready`` (minutes: back home with the item) and ``travel_hours`` (walking there and
    back plus the attended share of the machine time, hours).
    """
    fab = config.fabrication
    attempts = expected_attempts(failure_probability(skill, fab), fab.max_attempts)
    depart, arrive, finish = visit_plan(calendar, when, walk_s, free_min, attempts * machine_hours * 60.0)
    _, _, paid = self_fabrication_bill(fee_per_hour, attempts * machine_hours, attempts * material, eligible,
                                       config.policy)
    travel = 2 * walk_s / 3600.0 + fab.attendance_share * attempts * machine_hours
    return {"price": paid, "depart": depart, "arrive": arrive, "ready": finish + walk_s / 60.0,
            "travel_hours": travel}


def quote_alternatives(products: ProductTable, product: np.ndarray, when: np.ndarray, platform_price: np.ndarray,
                       platform_ready: np.ndarray, self_price: np.ndarray, self_ready: np.ndarray,
                       self_travel_hours: np.ndarray, aware: np.ndarray, self_possible: np.ndarray) -> Alternatives:
    """The three alternatives of a batch of needs from their quotes.

    Parameters
    ----------
    products, product
        The catalogue and each need's product code, shape [n].
    when
        Each need's time (minutes).
    platform_price, platform_ready
        The platform offer each need gets (£, ready time in minutes; inf if none).
    self_price, self_ready, self_travel_hours
        The self-fabrication quote (£, ready time, own hours of walking and attending).
    aware
        Whether each citizen is aware of DM (stage ≥ aware): only they choose local channels.
    self_possible
        Whether the citizen can make it (a reachable workshop with the machine, enough skill).
    """
    p = product
    m = len(product)
    price = np.zeros((m, 3))
    days = np.zeros((m, 3))
    travel = np.zeros((m, 3))
    personal = np.zeros((m, 3))
    available = np.ones((m, 3), dtype=bool)
    price[:, IMPORT] = products.import_price[p]
    days[:, IMPORT] = products.import_lead_days[p]
    available[:, PLATFORM] = np.isfinite(platform_ready) & aware
    available[:, SELF_FABRICATION] = self_possible & aware & np.isfinite(self_ready)
    local = available[:, PLATFORM]
    price[local, PLATFORM] = platform_price[local]
    days[local, PLATFORM] = (platform_ready[local] - when[local]) / 1440.0
    local = available[:, SELF_FABRICATION]
    price[local, SELF_FABRICATION] = self_price[local]
    days[local, SELF_FABRICATION] = (self_ready[local] - when[local]) / 1440.0
    travel[local, SELF_FABRICATION] = self_travel_hours[local]
    personal[:, PLATFORM] = personal[:, SELF_FABRICATION] = products.personalisation_value[p]
    return Alternatives(price, days, travel, personal, available)


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
    """The choice component: the self-fabrication quotes of a batch of needs and the logit draw.

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
    public
        The public workshops (their pools' queues are read for the quotes).
    nearest_index, nearest_walk_s
        Per machine type (``products.machines`` order) and citizen: index into ``public`` of the nearest
        workshop with that machine (−1 if none) and the walk to it (s).
    eligible
        Per citizen: eligible for the policy's subsidies.
    median_income
        Income the price sensitivity is relative to (£/year).
    """

    def __init__(self, config: Config, products: ProductTable, population, keyed, public: list,
                 nearest_index: np.ndarray, nearest_walk_s: np.ndarray, eligible: np.ndarray,
                 median_income: float) -> None:
        self.config = config
        self.products = products
        self.population = population
        self.keyed = keyed
        self.public = public
        self.nearest_index = nearest_index
        self.nearest_walk_s = nearest_walk_s
        self.eligible = eligible
        self.median_income = median_income

    def nearest_workshop(self, product: np.ndarray, who: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index into ``public`` (−1 if none) and walking time (s) of each need's nearest workshop."""
        machine = self.products.machine_index[product]
        return self.nearest_index[machine, who], self.nearest_walk_s[machine, who]

    def self_fabrication_quotes(self, now: float, when: np.ndarray, who: np.ndarray, product: np.ndarray,
                                machine_hours: np.ndarray, material: np.ndarray,
                                budget_open: bool = True) -> dict[str, np.ndarray]:
        """:func:`self_fabrication_quote` of each need at its nearest workshop (queues read at ``now``),
        with ``possible`` (a reachable workshop, skill enough) and ``workshop`` (index into ``public``).

        Subsidies count for eligible citizens where they apply (:func:`citymodel.policy.subsidy_applies`)
        while the budget cap is not reached (``budget_open``)."""
        pop = self.population
        n = len(who)
        w, walk_s = self.nearest_workshop(product, who)
        possible = (w >= 0) & np.isfinite(walk_s) & (pop.skill[who] >= self.config.adoption.self_fab_min_skill)
        out = {"price": np.full(n, np.nan), "depart": np.full(n, np.nan), "arrive": np.full(n, np.nan),
               "ready": np.full(n, np.inf), "travel_hours": np.zeros(n), "possible": possible, "workshop": w}
        rows = np.flatnonzero(possible & (pop.stage[who] >= AWARE))
        if not rows.size:
            return out
        machines = [self.products.machine[p] for p in product[rows]]
        free = np.array([self.public[w[i]].pools[m].available_at(now) for i, m in zip(rows, machines, strict=True)])
        calendars = [self.public[w[i]].calendar for i in rows]
        for calendar in {id(c): c for c in calendars}.values():
            sel = np.array([c is calendar for c in calendars])
            r = rows[sel]
            covered = np.array([budget_open and subsidy_applies(self.public[w[i]].kind, self.products.machine[p],
                                                                self.config.policy)
                                for i, p in zip(r, product[r], strict=True)], dtype=bool)
            quote = self_fabrication_quote(calendar, when[r], walk_s[r], free[sel], machine_hours[r], material[r],
                                           np.array([self.public[w[i]].fee_per_hour for i in r]), pop.skill[who[r]],
                                           self.eligible[who[r]] & covered, self.config)
            for key, value in quote.items():
                out[key][r] = value
        return out

    def choose(self, product: np.ndarray, who: np.ndarray, k: np.ndarray, alts: Alternatives) -> np.ndarray:
        """The channel code chosen for each need (k-th need of ``product`` by ``who``)."""
        pop = self.population
        u = utilities(alts, pop.income[who], pop.skill[who], self.median_income, self.config.choice)
        noise = self.keyed.gumbel(CHOICE_NOISE, who[:, None], product[:, None], k[:, None], np.arange(3)[None, :])
        return choose(u, noise)
