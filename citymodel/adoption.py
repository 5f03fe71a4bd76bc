"""Adoption of distributed manufacturing: awareness on the social network, training and machine purchases.

Once per simulated day every unaware citizen becomes aware with probability
``1 − exp(−(p + q·A_i)·Δt)``, where ``A_i`` is the share of the citizen's ties
who are aware or beyond (or the share of the whole population when
``adoption.well_mixed``), ``p`` and ``q`` are per year and ``Δt = 1/365`` year.
With everyone tied to everyone this is the discrete-time Bass model, whose
adopter share tends to ``F(t)`` of Bass (1969) as Δt → 0 (the ``bass`` check).

Prosumers are made by behaviour (a citizen who completes a self-fabrication
order); a prosumer becomes a maker (buys a machine) with hazard
``maker_rate · affordability · (1 + maker_imitation · M_i)``, ``M_i`` the share
of ties who are makers and affordability = (income / median) · cost / (cost − grant).
Aware citizens below the self-fabrication skill who live near a workshop take
training sessions with hazard ``training_rate · policy.training_multiplier``.

The rules are module functions used by the vectorised model and the per-agent
reference alike; :class:`Adoption` is the model's component that applies them
to the population's columns and keeps the stage counts and tie counts live.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from citymodel.config import AdoptionConfig, Config
from citymodel.keyed_random import AWARENESS, MACHINE_PURCHASE, TRAINING, KeyedRandom
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


def maker_probability(rate: float, income: np.ndarray, median_income: float, machine_cost: float,
                      grant: np.ndarray, imitation: float, maker_share: np.ndarray,
                      dt_years: float, net_cost_floor_share: float = 0.1) -> np.ndarray:
    """Probability that a prosumer buys a machine within ``dt_years``.

    The machine's cost net of a grant counts as at least ``net_cost_floor_share`` of its price.
    """
    net_cost = np.maximum(machine_cost - grant, net_cost_floor_share * machine_cost)
    affordability = (income / median_income) * (machine_cost / net_cost)
    hazard = rate * affordability * (1.0 + imitation * maker_share)
    return 1.0 - np.exp(-hazard * dt_years)


def purchase_probability(income: np.ndarray, eligible: np.ndarray, maker_share: np.ndarray, config: Config,
                         median_income: float) -> np.ndarray:
    """Today's machine-purchase probability of prosumers (income £/year, grant if eligible)."""
    cfg = config.adoption
    grant = np.where(eligible, config.policy.machine_grant, 0.0)
    return maker_probability(cfg.maker_rate, income, median_income, cfg.machine_cost, grant, cfg.maker_imitation,
                             maker_share, DT_YEARS, cfg.machine_net_cost_floor_share)


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
                 median_income: float) -> None:
        self.config = config
        self.population = population
        self.keyed = keyed
        self.walk_to_workshop_s = walk_to_workshop_s
        self.median_income = median_income
        ties = population.ties
        self.degree = np.asarray(ties.sum(axis=1)).ravel()
        self._degree_f64 = self.degree.astype(np.float64)
        self._ties_symmetric = (ties != ties.T).nnz == 0 and bool(np.all(ties.data == 1))
        self._tie_counts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.stage_counts = np.zeros(len(STAGES), dtype=np.int64)

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

    def daily(self, now: float) -> tuple[int, np.ndarray]:
        """The day's adoption at ``now`` (midnight): awareness, training, machine purchases.

        Returns the number of training sessions taken and the citizens who buy a machine
        (in row order; :meth:`become_maker` is for the caller, who also sets up their workshop).
        """
        cfg = self.config.adoption
        pop = self.population
        day = now / MINUTES_PER_DAY
        key = day_key(now)
        self.recount()
        aware_or_beyond = pop.stage >= AWARE
        if cfg.well_mixed:
            share = np.full(len(pop), aware_or_beyond.mean())
        else:
            share = self.tie_share("aware_or_beyond", aware_or_beyond)
        unaware = np.flatnonzero(pop.stage == UNAWARE)
        prob = awareness_probability(cfg.bass_p, cfg.bass_q, share[unaware], DT_YEARS)
        new = unaware[self.keyed.uniform(AWARENESS, unaware, key) < prob]
        pop.stage[new] = AWARE
        pop.stage_day[new, AWARE] = day
        self.stage_counts[UNAWARE] -= new.size
        self.stage_counts[AWARE] += new.size
        trained = self._train(key)
        prosumers = np.flatnonzero(pop.stage == PROSUMER)
        if not prosumers.size:
            return trained, prosumers
        eligible = policy_eligible(pop.income_quintile[prosumers], self.config.policy)
        maker_share = self.tie_share("maker", pop.stage == MAKER)[prosumers]
        prob = purchase_probability(pop.income[prosumers], eligible, maker_share, self.config, self.median_income)
        return trained, prosumers[self.keyed.uniform(MACHINE_PURCHASE, prosumers, key) < prob]

    def _train(self, key: int) -> int:
        pop = self.population
        candidates = np.flatnonzero(can_train(pop.stage, pop.skill, self.walk_to_workshop_s, self.config.adoption))
        trained = candidates[self.keyed.uniform(TRAINING, candidates, key) < training_probability(self.config)]
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
