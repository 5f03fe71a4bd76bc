"""Adoption of distributed manufacturing: awareness from those who used it, training and machine purchases.

Once per simulated day every unaware citizen becomes aware with probability
``1 − exp(−(p + q·A_i)·Δt)`` (``p``, ``q`` per year, ``Δt = 1/365`` year). With
``adoption.imitation = "users"`` (the default), ``A_i`` is the share of the
citizen's ties who have *used* DM — prosumers, makers and platform customers of
the last ``recent_use_days`` — each weighted by their experience (satisfaction
with delivery time against the quote, price against the quote, failed prints;
:func:`satisfaction`); with ``"aware"`` it is the share of ties who are aware or
beyond, the Bass model on the network (or on the whole population when
``adoption.well_mixed``: the discrete-time Bass model, whose adopter share tends
to ``F(t)`` of Bass (1969) as Δt → 0 — the ``bass`` check).

Prosumers are made by behaviour (a citizen who completes a self-fabrication
order). A prosumer weighs up buying a machine at rate ``maker_rate`` and buys
when it pays back on the local demand they can see (:mod:`citymodel.makers`).
Aware citizens below the self-fabrication skill who live near a workshop take
training sessions with hazard ``training_rate · policy.training_multiplier``.

The rules are module functions used by the vectorised model and the per-agent
reference alike; :class:`Adoption` is the model's component that applies them
to the population's columns and keeps the stage counts, tie counts and each
citizen's experience.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from citymodel.accounts import machine_purchase
from citymodel.config import AdoptionConfig, Config
from citymodel.keyed_random import AWARENESS, MACHINE_PURCHASE, TRAINING, KeyedRandom
from citymodel.makers import expected_jobs_per_year, local_counts, pays_back, yearly_cash
from citymodel.policy import eligible as policy_eligible
from citymodel.vocabulary import AWARE, DAYS_PER_YEAR, MAKER, MINUTES_PER_DAY, PROSUMER, STAGES, UNAWARE

DT_YEARS = 1.0 / DAYS_PER_YEAR
"""The adoption time step: one day (years)."""


# ----------------------------------------------------------------------------- rules
def tie_share(ties: sp.csr_matrix, flag: np.ndarray, degree: np.ndarray) -> np.ndarray:
    """Share of each citizen's ties for which ``flag`` is true (0 without ties).

    Counts and degrees are whole numbers held exactly in float64, so the share is the
    correctly rounded quotient ``count / degree`` — what a loop over one citizen's ties gives.
    """
    counts = np.asarray(ties @ flag.astype(ties.dtype), dtype=np.float64)
    return np.divide(counts, np.asarray(degree, dtype=np.float64), out=np.zeros(len(flag), dtype=np.float64),
                     where=np.asarray(degree) > 0)


def awareness_probability(p: float, q: float, adopted_share: np.ndarray, dt_years: float) -> np.ndarray:
    """Probability of becoming aware within ``dt_years`` under hazard ``p + q·share`` (per year)."""
    return 1.0 - np.exp(-(p + q * adopted_share) * dt_years)


def user_weights(stage: np.ndarray, experience: np.ndarray, last_use_min: np.ndarray, now: float,
                 cfg: AdoptionConfig) -> np.ndarray:
    """Each citizen's pull on their ties: their experience (0..1; 1 if a user without one yet) if they have
    used DM — prosumer, maker, or a platform customer within ``recent_use_days`` — else 0."""
    recent = (now - last_use_min) <= cfg.recent_use_days * MINUTES_PER_DAY
    user = (stage >= PROSUMER) | recent
    return np.where(user, np.where(np.isnan(experience), 1.0, experience), 0.0)


def weighted_tie_share(ties: sp.csr_matrix, weight: np.ndarray, degree: np.ndarray) -> np.ndarray:
    """Weighted share of each citizen's ties: sum of their ties' ``weight`` over their degree (0 without ties)."""
    sums = np.asarray(ties @ weight.astype(np.float64), dtype=np.float64)
    return np.divide(sums, np.asarray(degree, dtype=np.float64), out=np.zeros(len(weight)),
                     where=np.asarray(degree) > 0)


def satisfaction(delivered_min: float, quoted_ready_min: float, paid: float, quoted_price: float, failures: int,
                 cfg: AdoptionConfig) -> float:
    """Satisfaction (0..1) with one DM order: on time against the quote, price against the quote, no failures.

    ``exp(−days late / lateness_scale_days) · min(1, quoted / paid) · (1 − failure_penalty)^failures``.
    """
    late_days = max(0.0, delivered_min - quoted_ready_min) / MINUTES_PER_DAY
    value = min(1.0, quoted_price / paid) if paid > 0 else 1.0
    return float(np.exp(-late_days / cfg.lateness_scale_days) * value * (1.0 - cfg.failure_penalty) ** failures)


def updated_experience(old: float, satisfaction_: float, cfg: AdoptionConfig) -> float:
    """A citizen's experience after an order: the exponential average of satisfaction (the first sets it)."""
    if np.isnan(old):
        return satisfaction_
    return (1.0 - cfg.experience_weight) * old + cfg.experience_weight * satisfaction_


def purchase_considered(keyed: KeyedRandom, rows: np.ndarray, key: int, cfg: AdoptionConfig) -> np.ndarray:
    """Which prosumers ``rows`` weigh up buying a machine today (hazard ``maker_rate`` per year)."""
    return keyed.uniform(MACHINE_PURCHASE, rows, key) < 1.0 - np.exp(-cfg.maker_rate * DT_YEARS)


def purchase_decisions(x_m: np.ndarray, y_m: np.ndarray, income: np.ndarray, eligible: np.ndarray,
                       order_xy: tuple[np.ndarray, np.ndarray], maker_xy: tuple[np.ndarray, np.ndarray],
                       config: Config) -> np.ndarray:
    """Whether each considering prosumer buys: the machine pays back on the local demand and is affordable."""
    radius = config.adoption.local_radius_m
    orders = local_counts(x_m, y_m, order_xy[0], order_xy[1], radius)
    makers = local_counts(x_m, y_m, maker_xy[0], maker_xy[1], radius)
    cash = yearly_cash(expected_jobs_per_year(orders, makers, config), config)
    net_cost = np.array([machine_purchase(bool(e), config)[0] for e in eligible], dtype=float)
    return pays_back(net_cost, cash, income, config)


def can_train(stage: np.ndarray, skill: np.ndarray, walk_to_workshop_s: np.ndarray, cfg: AdoptionConfig) -> np.ndarray:
    """Who may take a training session: aware or beyond, below the self-fabrication skill, near a workshop."""
    return (stage >= AWARE) & (skill < cfg.self_fab_min_skill) & (walk_to_workshop_s <= cfg.training_max_walk_min * 60)


def training_probability(config: Config) -> float:
    """Probability of taking a training session today (hazard ``training_rate · training_multiplier``)."""
    rate = config.adoption.training_rate * config.policy.training_multiplier
    return 1.0 - np.exp(-rate * DT_YEARS)


def trained_skill(skill: np.ndarray | float, cfg: AdoptionConfig) -> np.ndarray | float:
    """Skill after one training session (at most 1)."""
    return np.minimum(skill + cfg.training_skill_gain, 1.0)


def initially_aware(keyed: KeyedRandom, rows: np.ndarray | int, cfg: AdoptionConfig) -> np.ndarray:
    """Whether citizens ``rows`` are aware of DM at day 0 (keyed draws, key (citizen, 0))."""
    return keyed.uniform(AWARENESS, rows, 0) < cfg.initial_aware_share


def initial_maker_rows(income: np.ndarray, cfg: AdoptionConfig, rng: np.random.Generator) -> np.ndarray:
    """Citizens who own a machine at day 0: ``initial_maker_share`` of them, drawn by income, sorted."""
    n = len(income)
    n_makers = int(round(cfg.initial_maker_share * n))
    if not n_makers:
        return np.empty(0, dtype=np.int64)
    return np.sort(rng.choice(n, size=n_makers, replace=False, p=income / income.sum()))


def day_key(now_min: float) -> int:
    """Key of the daily draws of the day starting at ``now_min`` (day + 1; key 0 is set-up)."""
    return int(now_min // MINUTES_PER_DAY) + 1


# ----------------------------------------------------------------------------- the component
class Adoption:
    """The adoption component: applies the rules to the population's columns once a day.

    Parameters
    ----------
    config
        The run's configuration.
    population
        Citizen columns (stage, stage_day, skill, income, income_quintile, ties).
    keyed
        The run's keyed random numbers.
    walk_to_workshop_s
        Walking time from each home to the nearest public workshop (s).
    median_income
        The income the price sensitivity and affordability are relative to (£/year).

    Attributes
    ----------
    stage_counts
        Citizens per stage, kept live between the daily recounts.
    degree
        Ties per citizen.
    """

    def __init__(self, config: Config, population, keyed: KeyedRandom, walk_to_workshop_s: np.ndarray,
                 median_income: float, eligible: np.ndarray | None = None) -> None:
        self.config = config
        self.population = population
        self.keyed = keyed
        self.walk_to_workshop_s = walk_to_workshop_s
        self.median_income = median_income
        self.eligible = eligible if eligible is not None else policy_eligible(population.income_quintile,
                                                                              config.policy)
        ties = population.ties
        self.degree = np.asarray(ties.sum(axis=1)).ravel()
        self._degree_f64 = self.degree.astype(np.float64)
        self._ties_symmetric = (ties != ties.T).nnz == 0 and bool(np.all(ties.data == 1))
        self._tie_counts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.stage_counts = np.zeros(len(STAGES), dtype=np.int64)
        n = len(population)
        self.experience = np.full(n, np.nan)
        self.last_use_min = np.full(n, np.nan)

    def record_use(self, row: int, satisfaction_: float, now: float) -> None:
        """Citizen ``row`` finished a DM order at ``now`` with ``satisfaction_`` (0..1)."""
        self.experience[row] = updated_experience(self.experience[row], satisfaction_, self.config.adoption)
        self.last_use_min[row] = now

    def leave_maker(self, row: int, now: float) -> None:
        """A maker sold their machine: a prosumer again."""
        self._move(row, PROSUMER, now)

    def seed_awareness(self) -> None:
        """Make the day-0 aware citizens aware."""
        pop = self.population
        aware = initially_aware(self.keyed, np.arange(len(pop)), self.config.adoption)
        pop.stage[aware] = AWARE
        pop.stage_day[aware, AWARE] = 0.0

    def recount(self) -> None:
        """Count the stages afresh."""
        self.stage_counts = np.bincount(self.population.stage, minlength=len(STAGES)).astype(np.int64)

    def _move(self, row: int, stage: int, now: float) -> None:
        pop = self.population
        self.stage_counts[pop.stage[row]] -= 1
        self.stage_counts[stage] += 1
        pop.stage[row] = stage
        pop.stage_day[row, stage] = now / MINUTES_PER_DAY

    def become_prosumer(self, row: int, now: float) -> None:
        """A citizen completed a self-fabrication order: a prosumer from now (if not one already)."""
        if self.population.stage[row] < PROSUMER:
            self._move(row, PROSUMER, now)

    def become_maker(self, row: int, now: float) -> None:
        """A citizen bought a machine: a maker from now."""
        self._move(row, MAKER, now)

    def imitation_share(self, now: float) -> np.ndarray:
        """``A_i`` of every citizen today (see the module docstring)."""
        cfg = self.config.adoption
        pop = self.population
        if cfg.imitation == "aware":
            aware_or_beyond = pop.stage >= AWARE
            if cfg.well_mixed:
                return np.full(len(pop), aware_or_beyond.mean())
            return self.tie_share("aware_or_beyond", aware_or_beyond)
        weight = user_weights(pop.stage, self.experience, self.last_use_min, now, cfg)
        if cfg.well_mixed:
            return np.full(len(pop), weight.mean())
        return weighted_tie_share(pop.ties, weight, self.degree)

    def daily(self, now: float, order_xy: tuple[np.ndarray, np.ndarray],
              maker_xy: tuple[np.ndarray, np.ndarray], sessions_fundable: int | None = None,
              grants_open: bool = True) -> tuple[int, np.ndarray]:
        """The day's adoption at ``now`` (midnight): awareness, training, machine purchases.

        ``order_xy`` are the homes (m) of the platform orders for the maker machine in the demand
        window, ``maker_xy`` the homes of the makers trading now; ``sessions_fundable`` caps the
        day's training sessions (the budget; None: no cap) and ``grants_open`` says whether a machine
        grant can still be paid. Returns the number of training sessions taken and the citizens who
        buy a machine (in row order; :meth:`become_maker` is for the caller, who also sets up their
        workshop).
        """
        cfg = self.config.adoption
        pop = self.population
        day = now / MINUTES_PER_DAY
        key = day_key(now)
        self.recount()
        share = self.imitation_share(now)
        unaware = np.flatnonzero(pop.stage == UNAWARE)
        prob = awareness_probability(cfg.bass_p, cfg.bass_q, share[unaware], DT_YEARS)
        new = unaware[self.keyed.uniform(AWARENESS, unaware, key) < prob]
        pop.stage[new] = AWARE
        pop.stage_day[new, AWARE] = day
        self.stage_counts[UNAWARE] -= new.size
        self.stage_counts[AWARE] += new.size
        trained = self._train(key, sessions_fundable)
        prosumers = np.flatnonzero(pop.stage == PROSUMER)
        considering = prosumers[purchase_considered(self.keyed, prosumers, key, cfg)]
        if not considering.size:
            return trained, considering
        eligible = self.eligible[considering] & grants_open
        buys = purchase_decisions(pop.x_m[considering], pop.y_m[considering], pop.income[considering], eligible,
                                  order_xy, maker_xy, self.config)
        return trained, considering[buys]

    def _train(self, key: int, fundable: int | None) -> int:
        pop = self.population
        candidates = np.flatnonzero(can_train(pop.stage, pop.skill, self.walk_to_workshop_s, self.config.adoption))
        trained = candidates[self.keyed.uniform(TRAINING, candidates, key) < training_probability(self.config)]
        if fundable is not None:
            trained = trained[:fundable]  # the budget cap: first come (in row order), first served
        if trained.size:
            pop.skill[trained] = trained_skill(pop.skill[trained], self.config.adoption)
        return int(trained.size)

    def tie_share(self, name: str, flag: np.ndarray) -> np.ndarray:
        """:func:`tie_share` of ``flag``, kept up to date from the rows whose flag changed.

        The count of flagged ties per citizen changes only around citizens whose flag
        changed since the last call (stages only move forward, so few do per day): their
        rows of the symmetric tie matrix are added (or removed). Counts are whole numbers,
        so the shares are exactly those of the full sparse product.
        """
        pop = self.population
        if not self._ties_symmetric:
            return tie_share(pop.ties, flag, self.degree)
        state = self._tie_counts.get(name)
        if state is None:
            state = self._tie_counts[name] = (np.zeros(len(flag), dtype=bool), np.zeros(len(flag)))
        previous, counts = state
        for rows, sign in ((np.flatnonzero(flag & ~previous), 1.0), (np.flatnonzero(previous & ~flag), -1.0)):
            if rows.size:
                counts += sign * np.bincount(pop.ties[rows].indices, minlength=len(flag))
        previous[:] = flag
        degree = self._degree_f64
        return np.divide(counts, degree, out=np.zeros(len(flag)), where=degree > 0)
