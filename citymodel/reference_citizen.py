"""The citizen of the typical-Mesa reference model: a ``mesa.Agent`` with its own state, step and decisions.

See :mod:`citymodel.reference`. Every decision calls the model's own rule
functions (quotes, logit, adoption hazards, need clocks, maker economics) on this
one citizen; its platform offers come from a loop over the facilities with a
``networkx`` search from its home.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from citymodel import adoption
from citymodel.choice import quote_alternatives, self_fabrication_quote, utilities
from citymodel.keyed_random import AWARENESS, CHOICE_NOISE, TRAINING
from citymodel.needs import next_arrival
from citymodel.platform import expected_finish, platform_price, select_offers
from citymodel.policy import eligible as policy_eligible
from citymodel.policy import subsidy_applies
from citymodel.vocabulary import AWARE, GRAPH_OF_MODE, MAKER, PROSUMER, STAGES, UNAWARE

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
    x_m, y_m
        Home position (m from the map centre).
    income, income_quintile, skill, stage
        As in :class:`citymodel.population.Population` (income £/year, skill 0..1, stage code).
    ties
        The agents this citizen is tied to.
    next_need, need_count
        Per product: time of the next need (minutes) and its index k.
    experience, last_use_min
        Satisfaction with DM so far (NaN before any use) and when last used (minutes).
    """

    def __init__(self, model: ReferenceModel, row: int, home: int, home_bike: int, home_van: int,
                 x_m: float, y_m: float, income: float, income_quintile: int, skill: float,
                 imd_decile: int = -1) -> None:
        super().__init__(model)
        self.row = row
        self.home = home
        self.home_bike = home_bike
        self.home_van = home_van
        self.x_m = x_m
        self.y_m = y_m
        self.income = income
        self.income_quintile = income_quintile
        self.eligible = bool(policy_eligible(income_quintile, model.config.policy, imd_decile))
        self.skill = skill
        self.stage = UNAWARE
        self.stage_day = [float("nan")] * len(STAGES)
        self.ties: list[ReferenceCitizen] = []
        self.orders_by_channel = [0, 0, 0]
        self.next_need: list[float] = []
        self.need_count: list[int] = []
        self.walk_to_workshop_s = float("inf")
        self.nearest: dict[str, tuple[int, float]] = {}
        self.experience = float("nan")
        self.last_use_min = float("nan")
        self._decision = False

    # ---- needs and channel choice (hourly)
    def start_need_clocks(self) -> None:
        """Draw the first need of every product: an exponential gap after time 0."""
        model = self.model
        for p, mean in enumerate(model.gap_mean):
            self.next_need.append(float(next_arrival(model.keyed, 0.0, mean, self.row, p, 0)[0]))
            self.need_count.append(0)

    def step(self) -> None:
        """This hour's needs: for each product whose clock rings before the hour ends, quote and choose."""
        model = self.model
        for p in range(len(model.products.names)):
            while self.next_need[p] < model.hour_end:
                t = self.next_need[p]
                k = self.need_count[p]
                model.needs_this_hour.append((t, self.row, p, k, *self.choose_channel(t, p, k)))
                self.need_count[p] = k + 1
                self.next_need[p] = float(next_arrival(model.keyed, t, model.gap_mean[p], self.row, p, k + 1)[0])

    def platform_offer(self, when: float, p: int, hours: float, material: float) -> tuple[int, float, float]:
        """The offer this citizen's order would get: a loop over the facilities, delivery times from networkx."""
        model = self.model
        machine = model.products.machine[p]
        candidates = model.offering(machine)
        if not candidates:
            return -1, float("nan"), float("inf")
        process = model.processes[model.products.process[p]]
        mode = model.config.platform.delivery_mode
        to_home = model.routes.times_to(mode, model.home_node(self, mode))
        release = when + process.quote_min + process.booking_min
        delivery, price, ready = [], [], []
        for f in candidates:
            pool = f.pools[machine]
            d = to_home.get(f.nodes[GRAPH_OF_MODE[mode]], np.inf)
            setup_h = pool.setup_min / 60.0 / pool.batch_size if pool.batches else 0.0
            finish = expected_finish(pool, model.hour_start, release, hours * 60.0)
            delivery.append(d)
            price.append(platform_price(f.fee_per_hour, hours + setup_h, material, model.config.platform))
            ready.append(finish + process.dispatch_min + d / 60.0)
        delivery = np.array([delivery])
        best = select_offers(model.config.platform.matching, process.quotes, delivery, np.array([price]),
                             np.array([ready]), np.isfinite(delivery))[0]
        if best < 0:
            return -1, float("nan"), float("inf")
        return candidates[best].facility_id, price[best], ready[best]

    def self_fabrication(self, when: float, p: int, hours: float, material: float) -> dict | None:
        """The quote of making it at the nearest workshop with the machine (None if not possible)."""
        model = self.model
        machine = model.products.machine[p]
        w_index, walk_s = self.nearest[machine]
        if not (w_index >= 0 and np.isfinite(walk_s) and self.skill >= model.config.adoption.self_fab_min_skill):
            return None
        workshop = model.public[w_index]
        covered = model.accounts.budget_left > 0 and subsidy_applies(workshop.kind, machine, model.config.policy)
        quote = self_fabrication_quote(workshop.calendar, np.array([when]), np.array([walk_s]),
                                       np.array([workshop.pools[machine].available_at(model.hour_start)]),
                                       np.array([hours]), np.array([material]), np.array([workshop.fee_per_hour]),
                                       np.array([self.skill]), np.array([self.eligible and covered]), model.config)
        return {key: float(value[0]) for key, value in quote.items()} | {"workshop": w_index}

    def choose_channel(self, when: float, p: int, k: int) -> tuple:
        """This citizen's quotes for one need, its utilities and its logit draw: (choice, design, quotes)."""
        model = self.model
        design = model.catalogue.pick(model.keyed, model.products.names, p, self.row, k)[0]
        aware = self.stage >= AWARE
        offer = self.platform_offer(when, p, design.machine_hours, design.material_cost) if aware \
            else (-1, float("nan"), float("inf"))
        fab = self.self_fabrication(when, p, design.machine_hours, design.material_cost) if aware else None
        alts = quote_alternatives(model.products, np.array([p]), np.array([when]), np.array([offer[1]]),
                                  np.array([offer[2]]), np.array([fab["price"] if fab else np.nan]),
                                  np.array([fab["ready"] if fab else np.inf]),
                                  np.array([fab["travel_hours"] if fab else 0.0]), np.array([aware]),
                                  np.array([fab is not None]))
        u = utilities(alts, np.array([self.income]), np.array([self.skill]), model.median_income,
                      model.config.choice)[0]
        noise = model.keyed.gumbel(CHOICE_NOISE, self.row, p, k, np.arange(3))
        return int(np.argmax(u + noise)), design, offer, fab

    # ---- adoption (daily, synchronous: decide for everyone, then advance)
    def share_of_ties(self, stages: tuple[int, ...]) -> float:
        """Share of this citizen's ties whose stage is in ``stages`` (0 without ties)."""
        if not self.ties:
            return 0.0
        return sum(1 for t in self.ties if t.stage in stages) / len(self.ties)

    def pull(self, now: float) -> float:
        """This citizen's pull on its ties: experience if it used DM (see ``adoption.user_weights``)."""
        return float(adoption.user_weights(np.array([self.stage]), np.array([self.experience]),
                                           np.array([self.last_use_min]), now, self.model.config.adoption)[0])

    def imitation_share(self, now: float) -> float:
        """``A_i``: the share of aware ties (Bass) or the experience-weighted share of ties who used DM."""
        if self.model.config.adoption.imitation == "aware":
            return self.share_of_ties((AWARE, PROSUMER, MAKER))
        if not self.ties:
            return 0.0
        return sum(t.pull(now) for t in self.ties) / len(self.ties)

    def decide_awareness(self, key: int, now: float, population_share: float | None) -> None:
        """Whether an unaware citizen becomes aware today (Bass-type hazard)."""
        self._decision = False
        if self.stage != UNAWARE:
            return
        cfg = self.model.config.adoption
        share = population_share if population_share is not None else self.imitation_share(now)
        prob = adoption.awareness_probability(cfg.bass_p, cfg.bass_q, np.array([share]), adoption.DT_YEARS)[0]
        self._decision = bool(self.model.keyed.uniform(AWARENESS, self.row, key)[0] < prob)

    def advance_awareness(self, day: float) -> None:
        """Apply today's awareness decision."""
        if self._decision:
            self.stage = AWARE
            self.stage_day[AWARE] = day

    def decide_training(self, key: int, funded: bool = True) -> bool:
        """Whether this citizen takes a training session today (and gains skill); ``funded``: a session can
        still be paid."""
        model = self.model
        cfg = model.config
        if not adoption.can_train(np.array([self.stage]), np.array([self.skill]),
                                  np.array([self.walk_to_workshop_s]), cfg.adoption)[0]:
            return False
        if funded and model.keyed.uniform(TRAINING, self.row, key)[0] < adoption.training_probability(cfg):
            self.skill = float(adoption.trained_skill(self.skill, cfg.adoption))
            return True
        return False

    def decide_machine(self, key: int, order_xy: tuple, maker_xy: tuple, grants_open: bool = True) -> None:
        """Whether a prosumer buys a machine today: weighs it up, and buys if it pays back locally."""
        self._decision = False
        if self.stage != PROSUMER:
            return
        model = self.model
        if not adoption.purchase_considered(model.keyed, np.array([self.row]), key, model.config.adoption)[0]:
            return
        self._decision = bool(adoption.purchase_decisions(np.array([self.x_m]), np.array([self.y_m]),
                                                          np.array([self.income]),
                                                          np.array([self.eligible and grants_open]),
                                                          order_xy, maker_xy, model.config)[0])

    def record_use(self, satisfaction_: float, now: float) -> None:
        """This citizen finished a DM order with ``satisfaction_``."""
        self.experience = adoption.updated_experience(self.experience, satisfaction_, self.model.config.adoption)
        self.last_use_min = now
