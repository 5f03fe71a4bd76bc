"""The economics of a home maker: whether buying a machine pays back, and when to sell it.

A prosumer weighing up a machine (``adoption.maker_machine``, a 3D printer by
default) looks at the demand they can see: the platform orders for that machine
from homes within ``adoption.local_radius_m`` over the last
``adoption.demand_window_days``, shared with the makers already there
(:func:`expected_jobs_per_year`). Each job earns the maker's fee less running
costs per machine-hour; making their own items saves the import price less
material and running costs. They buy when the machine's price (net of any grant)
pays back within ``adoption.payback_threshold_years`` and is at most
``adoption.max_income_share`` of their income (:func:`pays_back`). A maker whose
margin over the last ``adoption.exit_window_days`` does not cover the machine's
depreciation over that window sells it (:func:`makes_losses`).
"""

from __future__ import annotations

import numpy as np

from citymodel.config import Config


def local_counts(x_m: np.ndarray, y_m: np.ndarray, px: np.ndarray, py: np.ndarray, radius_m: float) -> np.ndarray:
    """For each point (x_m, y_m): how many of the points (px, py) lie within ``radius_m`` (squared distances)."""
    if not len(px) or not len(x_m):
        return np.zeros(len(x_m), dtype=np.int64)
    dx = x_m[:, None] - px[None, :]
    dy = y_m[:, None] - py[None, :]
    return np.count_nonzero(dx * dx + dy * dy <= radius_m * radius_m, axis=1)


def machine_job_hours(config: Config) -> tuple[float, float]:
    """For the maker machine: (need-weighted mean machine hours of a job, own needs per year it can make)."""
    machine = config.adoption.maker_machine
    specs = [config.needs.product(p) for p in config.needs.products]
    made = [s for s in specs if s.machine == machine]
    rate = sum(s.needs_per_citizen_year for s in made)
    hours = sum(s.machine_hours * s.needs_per_citizen_year for s in made) / rate if rate > 0 else 0.0
    return hours, rate


def yearly_cash(jobs_per_year: np.ndarray, config: Config) -> np.ndarray:
    """Expected yearly net cash of a new home maker (£): platform margin plus savings on own items."""
    cfg = config.adoption
    fee = config.facilities.kinds["maker"]["fee_per_hour"]
    hours, own_rate = machine_job_hours(config)
    machine = cfg.maker_machine
    specs = [config.needs.product(p) for p in config.needs.products]
    own_saving = sum(s.needs_per_citizen_year * (s.import_price - s.material_cost
                                                  - cfg.machine_running_cost_per_hour * s.machine_hours)
                     for s in specs if s.machine == machine)
    return jobs_per_year * (fee - cfg.machine_running_cost_per_hour) * hours + own_saving


def expected_jobs_per_year(local_orders: np.ndarray, local_makers: np.ndarray, config: Config) -> np.ndarray:
    """Jobs a year a new maker expects: the local order rate, shared with the local makers and themselves."""
    return local_orders * (365.0 / config.adoption.demand_window_days) / (local_makers + 1.0)


def pays_back(net_cost: np.ndarray, cash: np.ndarray, income: np.ndarray, config: Config) -> np.ndarray:
    """Whether buying pays back within the threshold and is affordable (net cost £, yearly cash £, income £)."""
    cfg = config.adoption
    with np.errstate(divide="ignore", invalid="ignore"):
        payback = np.where(cash > 0, net_cost / cash, np.inf)
    return (payback <= cfg.payback_threshold_years) & (net_cost <= cfg.max_income_share * income)


def makes_losses(window_margin: float, config: Config) -> bool:
    """Whether a maker's margin (£) over the exit window falls short of the machine's depreciation over it."""
    cfg = config.adoption
    price = config.facilities.machine_prices[cfg.maker_machine]
    depreciation = price / cfg.machine_life_years * cfg.exit_window_days / 365.0
    return window_margin < depreciation


def job_margin(facility, orders, order_id: int, config: Config) -> float:
    """A platform job's margin for the facility (£): the fee for the quoted machine hours less the running cost of
    the machine hours it took."""
    return (facility.fee_per_hour * orders.quote_hours(order_id)
            - config.adoption.machine_running_cost_per_hour * orders.machine_minutes(order_id) / 60.0)


def maker_exits(maker, now: float, config: Config) -> bool:
    """Whether a home maker sells up at ``now``: trading for a whole exit window, idle, and making losses."""
    window_min = config.adoption.exit_window_days * 1440.0
    if not maker.trading or now - maker.opened_min < window_min or not maker.idle():
        return False
    return makes_losses(maker.margin_since(now - window_min), config)
