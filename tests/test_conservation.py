"""Conservation identities computed from a run's tables against independent recomputation, and the
smallest faults in the model's rules (or one lost record) that each must catch."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel import accounts as accounts_module
from citymodel.production import MachinePool
from citymodel.runner import simulate
from citymodel.scheduling import EventHandling
from citymodel.validation import conservation_config, conservation_rows, facility_specs

CITIZENS, DAYS, SEED = 2500, 10, 11
QUANTITIES = {"citizens_paid_minus_order_prices_gbp", "platform_prices_minus_fee_formula_gbp",
              "facility_revenue_minus_fees_gbp", "platform_net_minus_commission_gbp",
              "public_spend_minus_policy_gbp", "busy_hours_outside_job_hours",
              "units_made_minus_delivered_in_transit", "facilities_busy_over_open", "books_minus_ledger_gbp"}


def _run(city):
    cfg = conservation_config(CITIZENS, DAYS, SEED)
    result = simulate(cfg, city)
    return result, cfg


def _rows(result, cfg, tables=None) -> dict:
    rows = conservation_rows(tables or result.tables, cfg, DAYS * 1440.0, facility_specs(result.model), {})
    return {r.quantity: r for r in rows}


@pytest.fixture(scope="module")
def run(default_city):
    return _run(default_city)


def test_every_identity_holds_on_a_correct_run(run):
    result, cfg = run
    rows = _rows(result, cfg)
    assert set(rows) == QUANTITIES
    for r in rows.values():
        assert r.passed, (r.quantity, r.model_value, r.detail)
    # the run carries money on every path the identities check
    assert "subsidies £0.00" not in rows["public_spend_minus_policy_gbp"].detail
    orders = result.tables["orders"]
    assert (orders["channel"].astype(str) == "platform").sum() > 10
    assert (orders["channel"].astype(str) == "self_fabrication").sum() > 10


def test_one_lost_payment_of_the_smallest_amount_fails(run):
    result, cfg = run
    ledger = result.tables["ledger"]
    citizen_rows = ledger[ledger["payer"].astype(str).str.startswith("citizen:") & (ledger["order_id"] >= 0)]
    smallest = citizen_rows["amount"].idxmin()
    tables = {**result.tables, "ledger": ledger.drop(index=smallest).reset_index(drop=True)}
    rows = _rows(result, cfg, tables)
    assert not rows["citizens_paid_minus_order_prices_gbp"].passed
    assert rows["citizens_paid_minus_order_prices_gbp"].model_value == pytest.approx(
        citizen_rows["amount"].min())


def test_a_facility_credited_a_penny_too_much_fails(run):
    result, cfg = run
    fac = result.tables["facilities"].copy()
    row = int(np.flatnonzero(fac["revenue"].to_numpy() > 0)[0])
    fac.loc[row, "revenue"] += 0.01
    rows = _rows(result, cfg, {**result.tables, "facilities": fac})
    assert not rows["facility_revenue_minus_fees_gbp"].passed
    assert not rows["books_minus_ledger_gbp"].passed


def test_a_platform_keeping_half_a_percent_too_much_fails(monkeypatch, default_city):
    split = accounts_module.platform_split
    monkeypatch.setattr(accounts_module, "platform_split",
                        lambda price, platform: (split(price, platform)[0] * 0.995, split(price, platform)[1]))
    rows = _rows(*_run(default_city))
    assert not rows["platform_net_minus_commission_gbp"].passed
    assert not rows["facility_revenue_minus_fees_gbp"].passed


def test_a_subsidy_one_percent_too_generous_fails(monkeypatch, default_city):
    bill = accounts_module.self_fabrication_bill

    def generous(*args):
        fee, subsidy, paid = bill(*args)
        return fee, subsidy * 1.01, paid - subsidy * 0.01

    monkeypatch.setattr(accounts_module, "self_fabrication_bill", generous)
    rows = _rows(*_run(default_city))
    assert not rows["public_spend_minus_policy_gbp"].passed


def test_staff_paid_for_one_minute_more_a_day_fails(monkeypatch, default_city):
    from citymodel.calendar import WeeklyCalendar

    between = WeeklyCalendar.open_minutes_between
    original = accounts_module.Accounts.workshop_costs

    def costs(self, day_start, workshops):
        monkeypatch.setattr(WeeklyCalendar, "open_minutes_between", lambda cal, a, b: between(cal, a, b) + 1.0)
        try:
            original(self, day_start, workshops)
        finally:
            monkeypatch.setattr(WeeklyCalendar, "open_minutes_between", between)

    monkeypatch.setattr(accounts_module.Accounts, "workshop_costs", costs)
    rows = _rows(*_run(default_city))
    assert not rows["public_spend_minus_policy_gbp"].passed


def test_busy_hours_a_thousandth_too_long_fail(monkeypatch, default_city):
    finish = MachinePool.finish

    def longer(self, batch_id):
        batch = finish(self, batch_id)
        self.busy_work_min += batch.work_min * 1e-3
        return batch

    monkeypatch.setattr(MachinePool, "finish", longer)
    rows = _rows(*_run(default_city))
    assert not rows["busy_hours_outside_job_hours"].passed


def test_one_lost_delivery_fails(monkeypatch, default_city):
    deliver = EventHandling._on_deliver
    lost = []

    def lose_first(self, order_id):
        if not lost:
            lost.append(order_id)
            return
        deliver(self, order_id)

    monkeypatch.setattr(EventHandling, "_on_deliver", lose_first)
    from citymodel.model import CityModel

    monkeypatch.setattr(CityModel, "_dispatch", {**CityModel._dispatch,
                                                 **{k: (lose_first if v is deliver else v)
                                                    for k, v in CityModel._dispatch.items()}})
    rows = _rows(*_run(default_city))
    assert lost
    assert not rows["units_made_minus_delivered_in_transit"].passed
