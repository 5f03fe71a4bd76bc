"""Fast path vs typical-Mesa reference: same city, same seed, same outputs.

:class:`citymodel.model.CityModel` (numpy columns, vectorised steps, routing tables)
and :class:`citymodel.reference.ReferenceModel` (one Mesa agent per citizen with its
own ``step``, ``networkx.shortest_path`` per trip) implement the same rules and draw
the same keyed random numbers. Every discrete output must be identical: who ordered
what and when, through which channel, at which facility, with which status; every
trip's agent, purpose, mode and nodes; every hourly stage count, queue and busy-machine
count; every payment's payer, payee and kind; every citizen's final stage and orders.
Times, prices and distances must agree to 1e-9 relative: routed times and lengths are
the same edge values summed in another order (networkx path edge by edge versus scipy's
Dijkstra and predecessor-tree sums), and everything downstream inherits that rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citymodel.config import Config, apply_overrides
from citymodel.keyed_random import KeyedRandom
from citymodel.maps import load_city
from citymodel.model import CityModel
from citymodel.reference import ReferenceCitizen, ReferenceModel
from citymodel.tables import agents_table

RTOL = 1e-9
ATOL = 1e-9

CASES = {
    # name: (citizens, days, seed, overrides)
    "default": (1500, 10.0, 11, ["adoption.initial_aware_share=0.5"]),
    "makers_and_policy": (2000, 21.0, 3, [
        "adoption.initial_aware_share=0.6", "population.skill_mean=0.6", "adoption.maker_rate=20.0",
        "adoption.payback_threshold_years=50.0", "adoption.max_income_share=1.0", "adoption.exit_window_days=5.0",
        "policy.fee_waiver_share=0.5", "policy.material_subsidy_share=0.3", "policy.targeted_quintiles=[1, 2]",
        "policy.machine_grant=200.0", "policy.extra_printers_per_workshop=1", "fabrication.max_attempts=4",
        "needs.products.textiles.needs_per_citizen_year=6.0", "facilities.kinds.shopping_centre.machines.knitting=0",
        "facilities.kinds.community_centre.machines.knitting=0", "facilities.kinds.makerspace.machines.knitting=0",
        "facilities.kinds.arts_centre.machines.knitting=0",
        # a user's site with its own machines and fee (facilities.extra_sites)
        'facilities.extra_sites=[{lon = -1.5600, lat = 53.8150, kind = "library", '
        'machines = {"3d_printer" = 3, "laser_cutter" = 1}, fee_per_hour = 1.0}]']),
    "nearest_by_van": (1200, 10.0, 5, ["platform.matching=nearest", "platform.delivery_mode=van",
                                       "adoption.initial_aware_share=0.5", "population.skill_mean=0.5"]),
    "budget_and_imd": (1500, 10.0, 9, ["adoption.initial_aware_share=0.6", "population.skill_mean=0.5",
                                       "policy.targeting=imd_decile", "policy.targeted_imd_deciles=[1, 2, 3, 4]",
                                       "policy.fee_waiver_share=1.0", "policy.material_subsidy_share=1.0",
                                       'policy.subsidised_kinds=["library", "college", "community_centre"]',
                                       "policy.training_multiplier=20.0", "policy.machine_grant=300.0",
                                       "adoption.maker_rate=20.0", "adoption.payback_threshold_years=50.0",
                                       "adoption.max_income_share=1.0", "policy.budget_cap=400.0"]),
    "cheapest_well_mixed": (1200, 10.0, 8, ["platform.matching=cheapest", "adoption.well_mixed=true",
                                            "adoption.imitation=aware", "adoption.bass_p=2.0",
                                            "population.skill_mean=0.6", "choice.asc_self_fabrication=1.0"]),
}


@pytest.fixture(scope="module")
def city():
    return load_city("default")


def _config(citizens: int, days: float, seed: int, overrides: list[str]) -> Config:
    cfg = apply_overrides(Config(), overrides)
    cfg.run.citizens = citizens
    cfg.run.days = days
    cfg.run.seed = seed
    return cfg


def assert_frames_match(fast: pd.DataFrame, ref: pd.DataFrame, what: str) -> None:
    """Same columns and rows; non-float columns identical, float columns within RTOL/ATOL (NaN = NaN)."""
    assert list(fast.columns) == list(ref.columns), what
    assert len(fast) == len(ref), f"{what}: {len(fast)} rows vs {len(ref)} in the reference"
    for col in fast.columns:
        a, b = fast[col].to_numpy(), ref[col].to_numpy()
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=RTOL, atol=ATOL,
                                       err_msg=f"{what}.{col}")
        else:
            mismatch = np.flatnonzero(a != b)
            assert mismatch.size == 0, f"{what}.{col} differs in {mismatch.size} rows, first at row {mismatch[:1]}"


@pytest.fixture(scope="module", params=list(CASES))
def pair(request, city):
    citizens, days, seed, overrides = CASES[request.param]
    cfg = _config(citizens, days, seed, overrides)
    fast = CityModel(cfg, city)
    fast.run()
    ref = ReferenceModel(cfg, city)
    ref.run()
    return request.param, fast, ref


def test_orders_are_identical(pair):
    name, fast, ref = pair
    orders = fast.orders.to_frame(fast.now)
    assert len(orders) > 30, "too few orders to compare"
    assert_frames_match(orders, ref.orders.to_frame(ref.now), f"{name}: orders")


def test_all_channels_are_compared(pair):
    name, fast, _ = pair
    channels = set(fast.orders.to_frame(fast.now)["channel"])
    assert channels == {"import", "platform", "self_fabrication"}, f"{name}: only {channels}"


def test_the_mechanisms_are_exercised():
    """Across the cases: reprints after failed prints, batches of more than one, makers who enter and leave."""
    city = load_city("default")
    cfg = _config(*CASES["makers_and_policy"])
    model = CityModel(cfg, city)
    model.run()
    orders = model.orders.to_frame(model.now)
    assert (orders["attempts"] > 1).any(), "no reprint"
    assert (orders["batch_size"] > 1).any(), "no batch of more than one order"
    ledger = model.ledger.to_frame()
    assert (ledger["kind"] == "machine").any() and (ledger["kind"] == "resale").any(), "no maker entered and left"


def test_trips_are_identical(pair):
    name, fast, ref = pair
    trips = fast.trips.to_frame()
    assert {"self_fabrication", "return_home", "delivery"} <= set(trips["purpose"]), name
    assert_frames_match(trips, ref.trips.to_frame(), f"{name}: trips")


def test_hourly_time_series_is_identical(pair):
    name, fast, ref = pair
    ts_fast = pd.DataFrame(fast.timeseries_rows)
    ts_ref = pd.DataFrame(ref.timeseries_rows)
    assert len(ts_fast) == int(fast.config.run.days * 24)
    pd.testing.assert_frame_equal(ts_fast, ts_ref, check_dtype=False, obj=f"{name}: timeseries")


def test_payments_are_identical(pair):
    name, fast, ref = pair
    assert_frames_match(fast.ledger.to_frame(), ref.ledger.to_frame(), f"{name}: ledger")


def test_citizens_end_in_the_same_state(pair):
    name, fast, ref = pair
    cols = ["citizen_id", "stage", "skill", "orders_import", "orders_platform", "orders_self_fabrication",
            "became_aware_day", "became_prosumer_day", "became_maker_day"]
    assert_frames_match(agents_table(fast)[cols].reset_index(drop=True), ref.citizens_frame()[cols],
                        f"{name}: citizens")
    stages = agents_table(fast)["stage"].value_counts()
    assert stages.get("aware", 0) > 0 and stages.get("maker", 0) > 0, f"{name}: adoption not exercised"


def test_facilities_are_identical(pair):
    name, fast, ref = pair

    def frame(model) -> pd.DataFrame:
        return pd.DataFrame({
            "facility_id": [f.facility_id for f in model.facilities],
            "kind": [f.kind for f in model.facilities],
            "node": [f.nodes["walk"] for f in model.facilities],
            "owner": [getattr(f, "owner", -1) for f in model.facilities],
            "machines": [f.machines for f in model.facilities],
            "busy_machine_hours": [f.busy_machine_hours(model.now) for f in model.facilities],
            "revenue": [f.revenue for f in model.facilities],
        })

    assert_frames_match(frame(fast), frame(ref), f"{name}: facilities")


def test_designers_earn_the_same(pair):
    name, fast, ref = pair

    def frame(model) -> pd.DataFrame:
        return pd.DataFrame({"designer_id": [d.designer_id for d in model.designers],
                             "units_sold": [d.units_sold for d in model.designers],
                             "royalty_total": [d.royalty_total for d in model.designers]})

    assert frame(fast)["units_sold"].sum() > 0, name
    assert_frames_match(frame(fast), frame(ref), f"{name}: designers")


def test_reference_is_a_typical_mesa_model(city):
    """Each citizen is a Mesa agent with its own step; trips are routed with networkx."""
    model = ReferenceModel(_config(300, 1.0, 1, []), city)
    citizens = model.agents_by_type[ReferenceCitizen]
    assert len(citizens) == 300
    assert all(callable(getattr(c, "step", None)) for c in citizens)
    before = model.route_queries
    model.run(1.0)
    assert model.route_queries > before


def test_keyed_draws_do_not_depend_on_how_they_are_drawn():
    keyed = KeyedRandom(42)
    rows = np.arange(500)
    together = keyed.uniform(3, rows, 2, 7)
    one_by_one = np.array([keyed.uniform(3, r, 2, 7)[0] for r in rows])
    np.testing.assert_array_equal(together, one_by_one)
    assert np.all((together > 0) & (together < 1))
    assert not np.array_equal(together, KeyedRandom(43).uniform(3, rows, 2, 7))
    assert not np.array_equal(together, keyed.uniform(4, rows, 2, 7))
