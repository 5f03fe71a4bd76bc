"""The ``conservation`` check: accounting identities of a default-map run that a broken rule breaks.

Each row sets a quantity the run records (a ledger total, a facility's revenue, its busy
machine-hours, the deliveries) against the same quantity recomputed independently from
other tables and the configuration's formulas:

``citizens_paid_minus_order_prices_gbp``
    Per order, what the ledger says the citizen paid against the order's price (imports
    on placement, platform orders once made, self-fabrication once finished; nothing else).
``platform_prices_minus_fee_formula_gbp``
    Each platform price against ``(fee × (stated hours + set-up share) + material +
    delivery fee) / (1 − royalty − commission)`` with the fee of the facility's kind.
``facility_revenue_minus_fees_gbp``
    Each facility's revenue against its share of the platform prices of the orders it
    made plus fee × machine-hours charged + material of the self-fabrication jobs it
    finished (all attempts) plus any mill support.
``platform_net_minus_commission_gbp``
    The platform's ledger net (received − paid out) against commission × its sales.
``public_spend_minus_policy_gbp``
    Everything the public budget paid against the policy formulas: waivers and material
    subsidies of eligible citizens' jobs, training sessions, machine grants, mill support,
    and every public workshop's daily capital, staff (per open hour, from a minute grid of
    its hours) and space.
``busy_hours_outside_job_hours``
    Each facility's busy machine-hours against the sum of its jobs' machine-hours (attempts
    finished, plus set-up per batch); a job still running at the end may add up to its own
    length, so the row is the largest distance outside that interval.
``units_made_minus_delivered_in_transit``
    Items made (platform jobs done, self-fabrication successes) against those delivered plus
    those whose delivery or walk home (trips table) ends after the run.
``facilities_busy_over_open``, ``books_minus_ledger_gbp``
    Busy ≤ open machine-hours; agents' books against the ledger's receipts.

A conservation run has a policy switched on (waivers, material subsidy, grants, mill
support for the lowest three income quintiles) in a busier city (:func:`conservation_config`)
so that every path carries money.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from citymodel.validation.context import _Context
from citymodel.validation.results import CheckResult

MONEY_REL_TOL = 1e-9
"""Relative float tolerance of money sums (£ per £ moved): rounding only, no modelling slack."""
HOURS_TOL = 1e-9
"""Machine-hours tolerance (hours): float rounding of minute sums."""
CONSERVATION_POLICY = {"fee_waiver_share": 0.5, "material_subsidy_share": 0.25, "machine_grant": 150.0,
                       "mill_support": 500.0, "targeted_quintiles": [1, 2, 3]}
"""The policy of the conservation run (every public-spend path carries money)."""


# --------------------------------------------------------------------------- helpers
def books_vs_ledger(tables: Mapping[str, Any]) -> tuple[float, float]:
    """Largest |book - ledger| (£) over facilities and designers, and the total money moved (£).

    A facility's ``revenue`` and a designer's ``royalty_total`` are kept by the agents; the
    ledger's receipts of ``facility:<id>`` and ``designer:<id>`` are recorded separately.
    """
    ledger = tables["ledger"]
    received = ledger.groupby("payee")["amount"].sum()
    gaps = [0.0]
    for df, prefix, id_col, value_col in (
        (tables["facilities"], "facility", "facility_id", "revenue"),
        (tables["designers"], "designer", "designer_id", "royalty_total"),
    ):
        keys = prefix + ":" + df[id_col].astype(str)
        ledger_side = received.reindex(keys.to_numpy(), fill_value=0.0).to_numpy()
        gaps.append(float(np.max(np.abs(df[value_col].to_numpy(dtype=float) - ledger_side),
                                 initial=0.0)))
    return max(gaps), float(ledger["amount"].abs().sum())


def facility_specs(model) -> pd.DataFrame:
    """What each facility of a finished model charges and how it works: ``facility_id, fee_per_hour``
    (£/h), ``batch_size, setup_hours`` and ``open_minutes`` (a weekly minute grid, True = open, built
    from the calendar's opening intervals)."""
    rows = []
    for f in model.facilities:
        pool = next(iter(f.pools.values()), None)
        grid = np.zeros(7 * 1440, dtype=bool)
        for a, b in f.calendar.intervals:
            grid[int(round(a)):int(round(b))] = True
        rows.append({"facility_id": f.facility_id, "fee_per_hour": float(f.fee_per_hour),
                     "batch_size": pool.batch_size if pool else 1,
                     "setup_hours": pool.setup_min / 60.0 if pool else 0.0, "open_minutes": grid})
    return pd.DataFrame(rows).set_index("facility_id")


def _spec(specs: pd.DataFrame, facility_ids: pd.Series, key: str, default: float = 0.0) -> np.ndarray:
    ids = facility_ids.to_numpy()
    known = np.isin(ids, specs.index)
    out = np.full(len(ids), default, dtype=float)
    out[known] = specs.loc[ids[known], key].to_numpy(dtype=float)
    return out


def _frames(tables: Mapping[str, Any], now: float):
    orders = tables["orders"].copy()
    for col in ("channel", "status", "facility_kind", "machine"):
        orders[col] = orders[col].astype(str)
    ledger = tables["ledger"].copy()
    ledger["payer"] = ledger["payer"].astype(str)
    ledger["payee"] = ledger["payee"].astype(str)
    ledger["kind"] = ledger["kind"].astype(str)
    done = orders["completed_min"].to_numpy(dtype=float) <= now
    return orders, ledger, done


# --------------------------------------------------------------------------- identities
def conservation_gaps(tables: Mapping[str, Any], config, now: float, specs: pd.DataFrame
                      ) -> dict[str, tuple[float, str]]:
    """Every identity of the module docstring: quantity -> (largest gap, note).

    Parameters
    ----------
    tables
        The run's tables (``orders, ledger, facilities, agents, designers, trips``).
    config
        The run's validated configuration (prices, shares, policy, opening hours).
    now
        The end of the run (minutes).
    specs
        :func:`facility_specs` of the run (each site's own fee and opening hours).
    """
    from citymodel.platform import platform_price
    from citymodel.policy import eligible, subsidy_applies
    from citymodel.vocabulary import PUBLIC_WORKSHOP_KINDS

    orders, ledger, done = _frames(tables, now)
    fac = tables["facilities"]
    agents = tables["agents"]
    plat = config.platform
    policy = config.policy
    channel = orders["channel"].to_numpy()
    is_platform, is_self = channel == "platform", channel == "self_fabrication"
    price = orders["price"].to_numpy(dtype=float)
    out: dict[str, tuple[float, str]] = {}

    # citizens' payments = order prices
    # a self-fabrication job is paid when it ends: made (completed) or given up (cancelled)
    finished_self = is_self & (done | (orders["status"].to_numpy() == "cancelled"))
    settled = (channel == "import") | (is_platform & done) | finished_self
    expected = pd.Series(np.where(settled, price, 0.0), index=orders["order_id"].to_numpy())
    by_citizen = ledger[ledger["payer"].str.startswith("citizen:") & (ledger["order_id"] >= 0)]
    paid = by_citizen.groupby("order_id")["amount"].sum()
    index = expected.index.union(paid.index)
    gap = (paid.reindex(index, fill_value=0.0) - expected.reindex(index, fill_value=0.0)).abs()
    out["citizens_paid_minus_order_prices_gbp"] = (
        float(np.max(gap.to_numpy(), initial=0.0)), f"{int(settled.sum())} settled orders; {int((gap > 0.005).sum())} "
        f"differ by more than a penny")

    # platform prices = the fee formula
    p_orders = orders[is_platform]
    batch = _spec(specs, p_orders["facility_id"], "batch_size", 1.0)
    setup_h = np.where(batch > 1, _spec(specs, p_orders["facility_id"], "setup_hours") / batch, 0.0)
    formula = platform_price(_spec(specs, p_orders["facility_id"], "fee_per_hour"),
                             p_orders["quoted_hours"].to_numpy(dtype=float) + setup_h,
                             p_orders["material_cost"].to_numpy(dtype=float), plat)
    price_gap = np.abs(p_orders["price"].to_numpy(dtype=float) - formula)
    out["platform_prices_minus_fee_formula_gbp"] = (float(np.max(price_gap, initial=0.0)),
                                                    f"{len(p_orders)} platform orders")

    # facility revenue = its share of platform prices + fees x machine-hours charged + material
    share = 1.0 - plat.royalty_share - plat.commission
    attempts = orders["attempts"].to_numpy(dtype=float)
    hours = orders["machine_hours"].to_numpy(dtype=float)
    fee = _spec(specs, orders["facility_id"], "fee_per_hour")
    charged = np.where(is_platform & done, share * price, 0.0)
    charged += np.where(finished_self, fee * attempts * hours + attempts * orders["material_cost"].to_numpy(), 0.0)
    revenue = pd.Series(charged).groupby(orders["facility_id"].to_numpy()).sum()
    expected_rev = revenue.reindex(fac["facility_id"].to_numpy(), fill_value=0.0).to_numpy()
    expected_rev = expected_rev + np.where(fac["kind"].astype(str) == "textile_mill", policy.mill_support, 0.0)
    rev_gap = np.abs(fac["revenue"].to_numpy(dtype=float) - expected_rev)
    out["facility_revenue_minus_fees_gbp"] = (float(np.max(rev_gap, initial=0.0)),
                                              f"{len(fac)} facilities")

    # platform net = commission x sales
    received = ledger.loc[ledger["payee"] == "platform", "amount"].sum()
    paid_out = ledger.loc[ledger["payer"] == "platform", "amount"].sum()
    sales = float(price[is_platform & done].sum())
    out["platform_net_minus_commission_gbp"] = (
        abs(float(received - paid_out) - plat.commission * sales),
        f"net £{received - paid_out:,.2f} on sales £{sales:,.2f} at {plat.commission:g}")

    # public spend = the policy formulas
    quintile = agents["income_quintile"].to_numpy()
    imd = agents["imd_decile"].to_numpy() if "imd_decile" in agents else None
    elig = np.asarray(eligible(quintile, policy, imd), dtype=bool)
    citizen = orders["citizen_id"].to_numpy()
    applies = np.array([subsidy_applies(k, m, policy) for k, m in
                        zip(orders["facility_kind"], orders["machine"], strict=True)], dtype=bool)
    subsidised = finished_self & applies & elig[citizen]
    subsidies = np.where(subsidised, fee * attempts * hours * policy.fee_waiver_share
                         + attempts * orders["material_cost"].to_numpy() * policy.material_subsidy_share, 0.0).sum()
    sessions = int((ledger["kind"] == "training").sum())
    buyers = ledger.loc[ledger["kind"] == "machine", "payer"].str.removeprefix("citizen:").astype(int).to_numpy()
    machine_price = config.facilities.machine_prices[config.adoption.maker_machine]
    grants = float(np.sum(elig[buyers])) * min(policy.machine_grant, machine_price)
    mills = int((fac["kind"].astype(str) == "textile_mill").sum())
    days = int(np.ceil(now / 1440.0 - 1e-9))
    workshops = 0.0
    machine_cols = [c for c in fac.columns if c.startswith("machines_")]
    for _, row in fac[fac["kind"].astype(str).isin(PUBLIC_WORKSHOP_KINDS)].iterrows():
        capital = sum(config.facilities.machine_prices[c.removeprefix("machines_")] * row[c] for c in machine_cols)
        capital /= policy.capital_life_years * 365.0
        grid = specs.loc[row["facility_id"], "open_minutes"]
        open_h = sum(grid[(d % 7) * 1440:(d % 7 + 1) * 1440].sum() for d in range(days)) / 60.0
        workshops += days * (capital + policy.workshop_space_cost_per_week / 7.0)
        workshops += policy.workshop_staff_cost_per_hour * open_h
    formula_total = (subsidies + sessions * policy.training_cost_per_session + grants
                     + mills * policy.mill_support + workshops)
    public = float(ledger.loc[ledger["payer"] == "public_budget", "amount"].sum())
    out["public_spend_minus_policy_gbp"] = (
        abs(public - formula_total),
        f"paid £{public:,.2f}: subsidies £{subsidies:,.2f} ({int(subsidised.sum())} jobs), {sessions} training "
        f"sessions, grants £{grants:,.2f}, mill support £{mills * policy.mill_support:,.2f}, workshops "
        f"£{workshops:,.2f}")

    # busy machine-hours = the jobs' machine-hours
    started = np.isfinite(orders["started_min"].to_numpy(dtype=float))
    finished = (is_platform & done) | finished_self
    running = started & ~finished
    batch_all = _spec(specs, orders["facility_id"], "batch_size", 1.0)
    setup_all = np.where(batch_all > 1, _spec(specs, orders["facility_id"], "setup_hours"), 0.0)
    size = np.maximum(orders["batch_size"].to_numpy(dtype=float), 1.0)
    done_hours = np.where(finished, attempts * hours + setup_all / size, 0.0)
    done_hours += np.where(running, np.maximum(attempts - 1, 0) * hours, 0.0)
    slack = np.where(running, hours + setup_all / size, 0.0)
    ids = orders["facility_id"].to_numpy()
    low = pd.Series(done_hours).groupby(ids).sum().reindex(fac["facility_id"].to_numpy(), fill_value=0.0)
    high = low + pd.Series(slack).groupby(ids).sum().reindex(fac["facility_id"].to_numpy(), fill_value=0.0)
    busy = fac["busy_machine_hours"].to_numpy(dtype=float)
    outside = np.maximum(low.to_numpy() - busy, 0.0) + np.maximum(busy - high.to_numpy(), 0.0)
    out["busy_hours_outside_job_hours"] = (
        float(np.max(outside, initial=0.0)),
        f"{int(finished.sum())} jobs done, {int(running.sum())} started and unfinished at the end")

    # units made = delivered + in transit
    made = int(((is_platform & done) | (is_self & done)).sum())
    delivered_ids = set(orders.loc[(channel != "import")
                                   & (orders["delivered_min"].to_numpy(dtype=float) <= now), "order_id"])
    trips = tables["trips"]
    purpose = trips["purpose"].astype(str)
    last_leg = trips[purpose.isin(["delivery", "return_home"])]
    late = last_leg.loc[last_leg["arrival_min"].to_numpy(dtype=float) > now, "order_id"]
    made_ids = set(orders.loc[(is_platform | is_self) & done, "order_id"])
    in_transit = len(set(late) & made_ids - delivered_ids)
    out["units_made_minus_delivered_in_transit"] = (
        float(abs(made - len(delivered_ids) - in_transit)),
        f"made {made} = delivered {len(delivered_ids)} + in transit {in_transit}")
    return out


def conservation_rows(tables: Mapping[str, Any], config, now: float, specs: pd.DataFrame,
                      params: dict[str, Any], seconds: float = float("nan")) -> list[CheckResult]:
    """The ``conservation`` rows of one run's tables (see the module docstring)."""
    gaps = conservation_gaps(tables, config, now, specs)
    book_gap, moved = books_vs_ledger(tables)
    money_tol = MONEY_REL_TOL * max(moved, 1.0)
    money = f"float rounding: {MONEY_REL_TOL:g} x £ moved (£{moved:,.0f})"
    rows = []
    for quantity, (gap, note) in gaps.items():
        is_money = quantity.endswith("_gbp")
        tol = money_tol if is_money else (HOURS_TOL * max(1.0, len(tables["facilities"])) if "hours" in quantity
                                          else 0.0)
        basis = money if is_money else ("float rounding of machine-hour sums" if tol else "exact count")
        rows.append(CheckResult("conservation", quantity, params, gap, 0.0, tol, bool(gap <= tol),
                                tolerance_basis=basis, detail=note, seconds=seconds))
    fac = tables["facilities"]
    busy = fac["busy_machine_hours"].to_numpy(dtype=float)
    open_h = fac["open_machine_hours"].to_numpy(dtype=float)
    over = int(np.sum(busy > open_h * (1 + 1e-12) + 1e-9))
    rows.append(CheckResult("conservation", "facilities_busy_over_open", params, float(over), 0.0, 0.0,
                            over == 0, tolerance_basis="exact count; busy <= open within 1e-12 relative",
                            detail=f"{len(fac)} facilities", seconds=seconds))
    rows.append(CheckResult("conservation", "books_minus_ledger_gbp", params, book_gap, 0.0, money_tol,
                            bool(book_gap <= money_tol), tolerance_basis=money,
                            detail="largest |facility revenue or designer royalty - ledger receipts|",
                            seconds=seconds))
    return rows


def conservation_config(citizens: int, days: int, seed: int):
    """The default configuration with :data:`CONSERVATION_POLICY` switched on, in a busier city:
    five times the needs, half the citizens aware at day 0 and no dislike of the platform or of
    making it yourself (``choice.asc_* = 0``), so that every identity sees many orders of each kind."""
    from citymodel.validation.context import city_config

    cfg = city_config(citizens, days, seed)
    for key, value in CONSERVATION_POLICY.items():
        setattr(cfg.policy, key, value)
    for product in cfg.needs.products.values():
        product["needs_per_citizen_year"] *= 5.0
    cfg.adoption.initial_aware_share = 0.5
    cfg.choice.asc_platform = cfg.choice.asc_self_fabrication = 0.0
    return cfg.validate()


def _check_conservation(s: dict[str, Any], ctx: _Context) -> list[CheckResult]:
    from citymodel.runner import simulate

    t0 = time.perf_counter()
    cfg = conservation_config(s["citizens"], s["days"], s["seed"])
    result = simulate(cfg, ctx.city)
    params = {"citizens": s["citizens"], "days": s["days"], "seed": s["seed"], "map": "default",
              "policy": "waiver 0.5, material 0.25, grant £150, mill £500, quintiles 1-3",
              "busier": "needs x5, half aware, asc 0"}
    return conservation_rows(result.tables, cfg, s["days"] * 1440.0, facility_specs(result.model), params,
                             time.perf_counter() - t0)
