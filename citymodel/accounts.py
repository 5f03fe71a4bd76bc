"""Money: who pays whom for every order, machine, training session and grant, and what it costs the public (£).

The price rules live here once (:func:`self_fabrication_bill`,
:func:`platform_split`, :func:`machine_purchase`) and the :class:`Accounts`
component records each payment in the run's :class:`~citymodel.ledger.Ledger`.
Both the vectorised model and the per-agent reference settle through it.
"""

from __future__ import annotations

import numpy as np

from citymodel.config import Config, PlatformConfig, PolicyConfig
from citymodel.ledger import Ledger


def grant_fundable(accounts: Accounts | None, config: Config) -> bool:
    """Whether a machine grant can still be paid (a prosumer weighing up a machine counts on it only then)."""
    if accounts is None or config.policy.machine_grant <= 0:
        return True
    return accounts.can_fund(machine_purchase(True, config)[1])


def self_fabrication_bill(fee_per_hour: float | np.ndarray, machine_hours: float | np.ndarray,
                          material: float | np.ndarray, eligible: bool | np.ndarray,
                          policy: PolicyConfig) -> tuple:
    """What making an item at a public workshop costs: (fee £, public subsidy £, paid by the citizen £).

    The fee is ``fee_per_hour · machine_hours``; an eligible citizen has the share
    ``policy.fee_waiver_share`` of the fee and ``policy.material_subsidy_share`` of the material paid by
    the public budget. Element-wise on arrays; NaN fees (no workshop) give NaN.
    """
    fee = fee_per_hour * machine_hours
    subsidy = np.where(eligible, fee * policy.fee_waiver_share + material * policy.material_subsidy_share, 0.0)
    return fee, subsidy, fee + material - subsidy


def platform_split(price: float, platform: PlatformConfig) -> tuple[float, float]:
    """How a platform price (£) is shared: (to the making facility £, royalty to the designer £).

    The platform keeps the commission ``platform.commission`` of the price.
    """
    return price * (1.0 - platform.royalty_share - platform.commission), price * platform.royalty_share


def machine_purchase(eligible: bool, config: Config) -> tuple[float, float]:
    """A citizen buying a machine: (paid by the citizen £, public grant £, at most the machine's price)."""
    cost = config.facilities.machine_prices[config.adoption.maker_machine]
    grant = min(config.policy.machine_grant, cost) if eligible else 0.0
    return cost - grant, grant


class Accounts:
    """The run's payments: a ledger and the settlement of each kind of transaction.

    Parameters
    ----------
    config
        The run's configuration (prices, shares, policy).

    Attributes
    ----------
    ledger
        Every payment as a row (see :class:`~citymodel.ledger.Ledger`).
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.ledger = Ledger()
        self.cap = config.policy.budget_cap if config.policy.budget_cap > 0 else np.inf
        self.rationed_spent = 0.0

    @property
    def budget_left(self) -> float:
        """What the rationed levers may still spend (£; inf without a cap)."""
        return self.cap - self.rationed_spent

    def can_fund(self, amount: float) -> bool:
        """Whether a rationed payment of ``amount`` (£) still fits in the budget cap."""
        return self.rationed_spent + amount <= self.cap + 1e-9

    def _fund(self, amount: float) -> bool:
        """Commit a rationed payment if it fits (first come, first served); return whether it does."""
        if not self.can_fund(amount):
            return False
        self.rationed_spent += amount
        return True

    def sessions_fundable(self) -> int | None:
        """How many training sessions the budget can still pay for (None: no limit)."""
        cost = self.config.policy.training_cost_per_session
        if not np.isfinite(self.cap) or cost <= 0:
            return None
        return int(max(self.budget_left, 0.0) // cost + 1e-9)

    def imports(self, when: np.ndarray, order_ids: np.ndarray, who: np.ndarray, price: np.ndarray) -> None:
        """Citizens ``who`` pay the import supplier ``price`` (£) for their imports."""
        self.ledger.pay_many(when, order_ids, [f"citizen:{c}" for c in who], "import_supplier", price, "price")

    def platform_order(self, now: float, order_id: int, citizen: int, facility, designer, price: float,
                       royalty: float) -> None:
        """A platform order is paid on completion: citizen -> platform -> facility and designer."""
        base, _ = platform_split(price, self.config.platform)
        self.ledger.pay(now, order_id, f"citizen:{citizen}", "platform", price, "price")
        self.ledger.pay(now, order_id, "platform", f"facility:{facility.facility_id}", base, "fee")
        self.ledger.pay(now, order_id, "platform", f"designer:{designer.designer_id}", royalty, "royalty")
        facility.revenue += base
        designer.earn(royalty, now)

    def self_fabrication(self, now: float, order_id: int, citizen: int, workshop, machine_hours: float,
                         material: float, eligible: bool) -> tuple[float, float]:
        """A citizen pays the workshop for a finished job (the public budget pays any subsidy).

        Returns (paid by the citizen £, subsidy £).
        """
        fee, subsidy, paid = self_fabrication_bill(workshop.fee_per_hour, machine_hours, material, eligible,
                                                   self.config.policy)
        subsidy, paid = float(subsidy), float(paid)
        if subsidy > 0 and not self._fund(subsidy):  # the budget cap is reached: no subsidy
            subsidy, paid = 0.0, float(fee + material)
        payee = f"facility:{workshop.facility_id}"
        self.ledger.pay(now, order_id, f"citizen:{citizen}", payee, paid, "fee")
        if subsidy > 0:
            self.ledger.pay(now, order_id, "public_budget", payee, subsidy, "subsidy")
        workshop.revenue += fee + material
        return paid, subsidy

    def training(self, now: float, sessions: int) -> None:
        """The public budget pays ``policy.training_cost_per_session`` for each of ``sessions`` (already within
        :meth:`sessions_fundable`)."""
        cost = self.config.policy.training_cost_per_session
        if sessions and cost > 0:
            self.rationed_spent += sessions * cost
            self.ledger.pay_many(np.full(sessions, now), np.full(sessions, -1), "public_budget",
                                 "training_provider", np.full(sessions, cost), "training")

    def machine(self, now: float, citizen: int, eligible: bool) -> None:
        """A citizen buys a machine (any grant paid by the public budget, if the budget cap allows)."""
        paid, grant = machine_purchase(eligible, self.config)
        if grant > 0 and not self._fund(grant):
            paid, grant = paid + grant, 0.0
        self.ledger.pay(now, -1, f"citizen:{citizen}", "machine_supplier", paid, "machine")
        if grant > 0:
            self.ledger.pay(now, -1, "public_budget", "machine_supplier", grant, "grant")

    def resale(self, now: float, citizen: int) -> None:
        """A maker sells their machine back for ``adoption.resale_share`` of its price."""
        price = self.config.facilities.machine_prices[self.config.adoption.maker_machine]
        self.ledger.pay(now, -1, "machine_supplier", f"citizen:{citizen}", price * self.config.adoption.resale_share,
                        "resale")

    def workshop_costs(self, day_start: float, workshops: list) -> None:
        """The public budget's cost of running the public workshops for the day starting at ``day_start``.

        Per workshop: its machines' capital spread over ``policy.capital_life_years`` (a day's share),
        staff for the day's opening hours (``policy.workshop_staff_cost_per_hour``) and a day of space
        (``policy.workshop_space_cost_per_week`` / 7).
        """
        policy = self.config.policy
        prices = self.config.facilities.machine_prices
        for w in workshops:
            capital = sum(prices[m] * pool.count for m, pool in w.pools.items()) / (policy.capital_life_years * 365.0)
            open_h = w.calendar.open_minutes_between(day_start, day_start + 1440.0) / 60.0
            running = policy.workshop_staff_cost_per_hour * open_h + policy.workshop_space_cost_per_week / 7.0
            payee = f"workshop:{w.facility_id}"
            self.ledger.pay(day_start, -1, "public_budget", payee, capital, "capital")
            self.ledger.pay(day_start, -1, "public_budget", payee, running, "running")

    def mill_support(self, mills: list) -> None:
        """Set-up: the public budget pays ``policy.mill_support`` to every textile mill."""
        support = self.config.policy.mill_support
        for mill in mills:
            if support > 0 and self._fund(support):
                self.ledger.pay(0.0, -1, "public_budget", f"facility:{mill.facility_id}", support, "grant")
                mill.revenue += support
