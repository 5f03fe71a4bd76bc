"""The model's mechanisms as a distributed-manufacturing researcher reads them (issue: model fidelity).

Each test builds a real model on the embedded map and checks one mechanism through
the model's own outputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from citymodel import CityModel, Config
from citymodel.maps import load_city
from citymodel.tables import model_tables
from citymodel.vocabulary import FACILITY_KINDS


@pytest.fixture(scope="module")
def city():
    return load_city("default")


@pytest.fixture(scope="module")
def busy_run(city):
    model = CityModel(citizens=4000, days=10, seed=12, adoption__initial_aware_share=0.6,
                      adoption__maker_rate=3.0, city=city)
    model.run_model()
    return model, model_tables(model)


def test_hourly_machine_hours_add_up_to_the_facilities_totals(busy_run):
    model, tables = busy_run
    ts, fac = tables["timeseries"], tables["facilities"]
    by_kind = fac.groupby("kind")[["busy_machine_hours", "open_machine_hours"]].sum()
    for kind in FACILITY_KINDS:
        busy = ts[f"busy_machine_hours_{kind}"].sum()
        open_ = ts[f"open_machine_hours_{kind}"].sum()
        expected_busy = by_kind["busy_machine_hours"].get(kind, 0.0)
        expected_open = by_kind["open_machine_hours"].get(kind, 0.0)
        assert busy == pytest.approx(expected_busy, rel=1e-9, abs=1e-9), kind
        assert open_ == pytest.approx(expected_open, rel=1e-9, abs=1e-9), kind
    assert by_kind["busy_machine_hours"].sum() > 50, "too little production to compare"
    hourly = ts[[f"busy_machine_hours_{k}" for k in FACILITY_KINDS]].to_numpy()
    capacity = ts[[f"open_machine_hours_{k}" for k in FACILITY_KINDS]].to_numpy()
    assert np.all(hourly <= capacity + 1e-9), "busy machine-hours never exceed open machine-hours in an hour"


def _run(city, days, citizens, seed=3, **params):
    model = CityModel(citizens=citizens, days=days, seed=seed, city=city, **params)
    model.run_model()
    return model, model_tables(model)


ONE_FACILITY = dict(facilities__max_per_kind=0, facilities__makerspaces_if_missing=0, facilities__pro_makers=1,
                    facilities__textile_mills=0, adoption__initial_maker_share=0.0, adoption__maker_rate=0.0,
                    adoption__initial_aware_share=1.0)


def test_on_a_one_facility_city_the_quote_is_the_price_charged(city):
    model, tables = _run(city, 30, 1500, needs__machine_time_cv=1e-6, **ONE_FACILITY)
    assert len(model.facilities) == 1
    platform = tables["orders"][tables["orders"]["channel"] == "platform"]
    assert len(platform) > 30
    np.testing.assert_array_equal(platform["price"], platform["quoted_price"])
    made = platform[platform["completed_min"].notna()]
    paid = tables["ledger"].query("kind == 'price' and payee == 'platform'").set_index("order_id")["amount"]
    assert len(paid) == len(made) > 20, "each finished platform order is paid once"
    np.testing.assert_array_equal(paid.loc[made["order_id"]].to_numpy(), made["quoted_price"].to_numpy())
    done = platform[platform["status"] == "delivered"]
    gap_min = (done["delivered_min"] - done["quoted_ready_min"]).abs()
    # Job times are as stated, so only orders of the same hour queueing behind one another move the ready time.
    assert (gap_min < 1.0).mean() > 0.9, gap_min.describe()


def _attempt_expectation(model, orders):
    from citymodel.fabrication import expected_attempts, failure_probability

    ran = orders[(orders["channel"] == "self_fabrication") & (orders["status"] != "in_progress")]
    skill = model.population.skill[ran["citizen_id"].to_numpy()]
    expected = expected_attempts(failure_probability(skill, model.config.fabrication),
                                 model.config.fabrication.max_attempts)
    return ran["attempts"].to_numpy(), expected


@pytest.mark.parametrize("skill", [0.3, 0.95])
def test_failed_prints_are_reprinted_more_often_at_low_skill(city, skill):
    model, tables = _run(city, 30, 3000, population__skill_mean=skill, population__skill_noise_sd=0.01,
                         population__skill_income_gradient=0.0, adoption__self_fab_min_skill=0.0,
                         adoption__training_rate=0.0, adoption__initial_aware_share=1.0,
                         choice__asc_self_fabrication=2.0, fabrication__attendance_share=0.0)
    attempts, expected = _attempt_expectation(model, tables["orders"])
    assert len(attempts) > 100
    # The mean of the attempts against the mean of their expectations, within 4 standard errors.
    assert abs(attempts.mean() - expected.mean()) < 4 * attempts.std(ddof=1) / np.sqrt(len(attempts))
    if skill < 0.5:
        assert attempts.mean() > 1.4
    else:
        assert attempts.mean() < 1.3
    ledger = tables["ledger"]
    fees = ledger[(ledger["kind"] == "fee") & ledger["payer"].str.startswith("citizen:")]
    assert len(fees) > 0


def test_a_maker_without_demand_sells_up_and_one_with_demand_stays(city):
    quiet, quiet_tables = _run(city, 25, 3000, adoption__exit_window_days=10.0, adoption__initial_maker_share=0.01,
                               needs__products__household__needs_per_citizen_year=0.0)
    makers = quiet_tables["facilities"].query("kind == 'maker' and owner_citizen_id >= 0")
    assert len(makers) == 30
    assert makers["closed_day"].notna().all(), "every home maker without demand left"
    assert np.allclose(makers["closed_day"], 10.0), "at the first day their window allows"
    assert (quiet_tables["ledger"]["kind"] == "resale").sum() == 30
    assert set(quiet_tables["agents"].loc[makers["owner_citizen_id"], "stage"]) == {"prosumer"}
    busy, busy_tables = _run(city, 25, 3000, adoption__exit_window_days=10.0, adoption__initial_maker_share=0.01,
                             adoption__initial_aware_share=0.9, platform__matching="cheapest",
                             needs__products__household__needs_per_citizen_year=30.0)
    stayed = busy_tables["facilities"].query("kind == 'maker' and owner_citizen_id >= 0")["closed_day"].isna()
    assert stayed.sum() > 0, "makers with orders keep trading"


def test_machines_are_bought_only_where_they_pay_back(city):
    _, none = _run(city, 20, 3000, adoption__maker_rate=50.0, adoption__initial_aware_share=0.9,
                   population__skill_mean=0.8, needs__products__household__needs_per_citizen_year=0.0)
    assert (none["ledger"]["kind"] == "machine").sum() == 0
    _, some = _run(city, 20, 3000, adoption__maker_rate=50.0, adoption__initial_aware_share=0.9,
                   population__skill_mean=0.8, adoption__payback_threshold_years=100.0,
                   adoption__max_income_share=1.0)
    assert (some["ledger"]["kind"] == "machine").sum() > 0


MILL_ONLY = {f"facilities__kinds__{kind}__machines__knitting": 0 for kind, spec in Config().facilities.kinds.items()
             if kind != "textile_mill" and "knitting" in spec["machines"]}


def test_the_mill_fills_batches_when_demand_allows(city):
    _, tables = _run(city, 20, 3000, adoption__initial_aware_share=0.9,
                     needs__products__textiles__needs_per_citizen_year=10.0, **MILL_ONLY)
    orders = tables["orders"]
    milled = orders[(orders["facility_kind"] == "textile_mill") & (orders["batch_size"] > 0)]
    assert len(milled) > 20
    assert (milled["batch_size"] >= 4).mean() > 0.5, milled["batch_size"].value_counts()


def test_a_lone_mill_order_waits_at_most_the_batch_wait(city):
    model, tables = _run(city, 20, 800, adoption__initial_aware_share=0.9,
                         needs__products__textiles__needs_per_citizen_year=1.0, **MILL_ONLY)
    orders = tables["orders"]
    milled = orders[(orders["facility_kind"] == "textile_mill") & orders["started_min"].notna()]
    assert len(milled) > 0 and (milled["batch_size"] < 4).any(), "small batches start after the wait"
    trips = tables["trips"]
    assert len(trips) > 0
    mill = next(f for f in model.facilities if f.kind == "textile_mill")
    wait = model.config.facilities.kinds["textile_mill"]["batch_wait_hours"] * 60.0
    release = milled["created_min"] + 0.75 * 60 + 2 * 1440
    latest = np.array([mill.calendar.next_open(r + wait) for r in release])
    assert np.all(milled["started_min"].to_numpy() <= latest + 1e-6)


def test_only_those_who_used_dm_spread_it(city):
    common = dict(adoption__bass_p=0.0, adoption__bass_q=20.0, adoption__initial_maker_share=0.0,
                  adoption__initial_aware_share=0.3, needs__products__household__needs_per_citizen_year=0.0,
                  needs__products__furniture__needs_per_citizen_year=0.0,
                  needs__products__textiles__needs_per_citizen_year=0.0,
                  needs__products__personalised__needs_per_citizen_year=0.0)
    users, _ = _run(city, 20, 2000, **common)
    aware, _ = _run(city, 20, 2000, adoption__imitation="aware", **common)
    start = int(round(0.3 * 2000))
    assert users.population.stage.astype(bool).sum() == pytest.approx(start, abs=40), "nobody used DM: no spread"
    assert aware.population.stage.astype(bool).sum() > 1.5 * start, "the aware spread it in the Bass variant"
