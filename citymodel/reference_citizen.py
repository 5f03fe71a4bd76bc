"""The citizen of the typical-Mesa reference model: a ``mesa.Agent`` with its own state, step and decisions.

See :mod:`citymodel.reference`. Every decision calls the model's own rule
functions (quote, logit, adoption hazards, need clocks) on this one citizen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from citymodel import adoption
from citymodel.choice import quote_alternatives, utilities
from citymodel.keyed_random import AWARENESS, CHOICE_NOISE, MACHINE_PURCHASE, TRAINING
from citymodel.needs import next_arrival
from citymodel.policy import eligible as policy_eligible
from citymodel.vocabulary import AWARE, MAKER, PROSUMER, STAGES, UNAWARE

if TYPE_CHECKING:
    from citymodel.reference import ReferenceModel

__all__ = ["ReferenceCitizen"]


class ReferenceCitizen(mesa.Agent):
    """A resident as a plain Mesa agent: its own attributes, its own ``step``.

    Attributes
    ----------
    row
        Citizen id (row of the shared population table it was created from).
    home, home_bike, home_van
        OSM node ids of the home in the walk, bike and van graphs.
    income, income_quintile, skill, stage
        As in :class:`citymodel.population.Population` (income £/year, skill 0..1, stage code).
    ties
        The agents this citizen is tied to.
    next_need, need_count
        Per product: time of the next need (minutes) and its index k.
    """

    def __init__(self, model: ReferenceModel, row: int, home: int, home_bike: int, home_van: int,
                 income: float, income_quintile: int, skill: float) -> None:
        super().__init__(model)
        self.row = row
        self.home = home
        self.home_bike = home_bike
        self.home_van = home_van
        self.income = income
        self.income_quintile = income_quintile
        self.eligible = bool(policy_eligible(income_quintile, model.config.policy))
        self.skill = skill
        self.stage = UNAWARE
        self.stage_day = [float("nan")] * len(STAGES)
        self.ties: list[ReferenceCitizen] = []
        self.orders_by_channel = [0, 0, 0]
        self.next_need: list[float] = []
        self.need_count: list[int] = []
        self.walk_to_workshop_s = float("inf")
        self.nearest: dict[str, tuple[int, float]] = {}
        self._decision = False

    # ---- needs and channel choice (hourly)
    def start_need_clocks(self) -> None:
        """Draw the first need of every product: an exponential gap after time 0."""
        model = self.model
        for p, mean in enumerate(model.gap_mean):
            self.next_need.append(float(next_arrival(model.keyed, 0.0, mean, self.row, p, 0)[0]))
            self.need_count.append(0)

    def step(self) -> None:
        """This hour's needs: for each product whose clock rings before the hour ends, choose a channel."""
        model = self.model
        for p in range(len(model.products.names)):
            while self.next_need[p] < model.hour_end:
                t = self.next_need[p]
                k = self.need_count[p]
                model.needs_this_hour.append((t, self.row, p, k, self.choose_channel(p, k)))
                self.need_count[p] = k + 1
                self.next_need[p] = float(next_arrival(model.keyed, t, model.gap_mean[p], self.row, p, k + 1)[0])

    def choose_channel(self, p: int, k: int) -> int:
        """This citizen's quote of each channel for one need, its utilities and its logit draw."""
        model = self.model
        w_index, walk_s = self.nearest[model.products.machine[p]]
        reach = bool(np.isfinite(walk_s) and w_index >= 0)
        ws_fee = model.public[w_index].fee_per_hour if w_index >= 0 else float("nan")
        alts = quote_alternatives(model.products, np.array([p]), model.fee_by_product, model.backlog_by_product,
                                  np.array([self.stage >= AWARE]), np.array([self.skill]), np.array([ws_fee]),
                                  np.array([walk_s]), np.array([reach]), np.array([self.eligible]), model.config)
        u = utilities(alts, np.array([self.income]), np.array([self.skill]), model.median_income,
                      model.config.choice)[0]
        noise = model.keyed.gumbel(CHOICE_NOISE, self.row, p, k, np.arange(3))
        return int(np.argmax(u + noise))

    # ---- adoption (daily, synchronous: decide for everyone, then advance)
    def share_of_ties(self, stages: tuple[int, ...]) -> float:
        """Share of this citizen's ties whose stage is in ``stages`` (0 without ties)."""
        if not self.ties:
            return 0.0
        return sum(1 for t in self.ties if t.stage in stages) / len(self.ties)

    def decide_awareness(self, key: int, population_share: float | None) -> None:
        """Whether an unaware citizen becomes aware today (Bass hazard from its ties)."""
        self._decision = False
        if self.stage != UNAWARE:
            return
        cfg = self.model.config.adoption
        share = population_share if population_share is not None else self.share_of_ties((AWARE, PROSUMER, MAKER))
        prob = adoption.awareness_probability(cfg.bass_p, cfg.bass_q, np.array([share]), adoption.DT_YEARS)[0]
        self._decision = bool(self.model.keyed.uniform(AWARENESS, self.row, key)[0] < prob)

    def advance_awareness(self, day: float) -> None:
        """Apply today's awareness decision."""
        if self._decision:
            self.stage = AWARE
            self.stage_day[AWARE] = day

    def decide_training(self, key: int) -> bool:
        """Whether this citizen takes a training session today (and gains skill)."""
        model = self.model
        cfg = model.config
        if not adoption.can_train(np.array([self.stage]), np.array([self.skill]),
                                  np.array([self.walk_to_workshop_s]), cfg.adoption)[0]:
            return False
        if model.keyed.uniform(TRAINING, self.row, key)[0] < adoption.training_probability(cfg):
            self.skill = float(adoption.trained_skill(self.skill, cfg.adoption))
            return True
        return False

    def decide_machine(self, key: int) -> None:
        """Whether a prosumer buys a machine today (maker hazard with imitation of maker ties)."""
        self._decision = False
        if self.stage != PROSUMER:
            return
        model = self.model
        prob = adoption.purchase_probability(np.array([self.income]), np.array([self.eligible]),
                                             np.array([self.share_of_ties((MAKER,))]), model.config,
                                             model.median_income)[0]
        self._decision = bool(model.keyed.uniform(MACHINE_PURCHASE, self.row, key)[0] < prob)
