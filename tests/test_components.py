"""Each component of the model on its own: needs, choice, platform, production, travel, accounts, adoption,
observation, parameters."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from citymodel.accounts import Accounts, machine_purchase, platform_split, self_fabrication_bill
from citymodel.adoption import (
    Adoption,
    can_train,
    purchase_decisions,
    satisfaction,
    tie_share,
    user_weights,
    weighted_tie_share,
)
from citymodel.calendar import WeeklyCalendar
from citymodel.choice import ProductTable, probabilities, quote_alternatives, self_fabrication_quote, utilities
from citymodel.config import Config
from citymodel.errors import ConfigError
from citymodel.events import JOB_DONE, POOL_OPEN, EventQueue
from citymodel.fabrication import attempt_fails, expected_attempts, failure_probability
from citymodel.keyed_random import KeyedRandom
from citymodel.maps import load_city
from citymodel.needs import NeedClocks, next_arrival
from citymodel.observation import TIMESERIES_COLUMNS, Observation, timeseries_datacollector
from citymodel.orderbook import OrderBook
from citymodel.params import config_from_params, nested
from citymodel.platform import PlatformPools, expected_finish, platform_price, select_offers
from citymodel.production import MachinePool, Production
from citymodel.vocabulary import AWARE, IMPORT, MAKER, PROSUMER, UNAWARE

MON_9 = 9 * 60.0  # day 0 is a Monday


# ----------------------------------------------------------------------------- needs
def test_need_clocks_are_poisson_at_the_configured_rate():
    rates = np.array([2.0, 0.5])
    clocks = NeedClocks(rates, 4000, KeyedRandom(3))
    counts = np.zeros(2)
    previous_end = 0.0
    for hour in range(30 * 24):
        t, who, product, k = clocks.arrivals(hour * 60.0, hour * 60.0 + 60.0)
        assert np.all((t >= hour * 60.0) & (t < hour * 60.0 + 60.0))
        assert np.all(np.diff(t) >= 0)
        previous_end = hour * 60.0 + 60.0
        counts += np.bincount(product, minlength=2)
    expected = rates * 4000 * previous_end / (365 * 1440)
    # Poisson: counts within 4 standard deviations of the expectation.
    assert np.all(np.abs(counts - expected) < 4 * np.sqrt(expected)), (counts, expected)


def test_need_clocks_do_not_depend_on_how_citizens_are_processed():
    keyed = KeyedRandom(11)
    clocks = NeedClocks(np.array([3.0]), 50, keyed)
    t, who, _, k = clocks.arrivals(0.0, 60.0 * 24)
    gap = 365 * 1440 / 3.0
    for citizen in range(50):
        mine = np.sort(t[who == citizen])
        expected, time = [], float(next_arrival(keyed, 0.0, gap, citizen, 0, 0)[0])
        n = 0
        while time < 1440.0:
            expected.append(time)
            n += 1
            time = float(next_arrival(keyed, time, gap, citizen, 0, n)[0])
        np.testing.assert_array_equal(mine, expected)


# ----------------------------------------------------------------------------- choice
@pytest.fixture()
def cfg() -> Config:
    return Config()


def _quote(cfg, **over):
    """One household need (product 0) at t = 600 min with a platform offer of £30 ready two days later, and a
    self-fabrication quote of £8 ready in 6 h with 3 h of walking and attending."""
    products = ProductTable.from_config(cfg)
    args = dict(product=np.array([0]), when=np.array([600.0]), platform_price=np.array([30.0]),
                platform_ready=np.array([600.0 + 2 * 1440]), self_price=np.array([8.0]),
                self_ready=np.array([600.0 + 360]), self_travel_hours=np.array([3.0]), aware=np.array([True]),
                self_possible=np.array([True]))
    args.update(over)
    return products, quote_alternatives(products, **args)


def test_the_alternatives_carry_the_quotes(cfg):
    products, alts = _quote(cfg)
    assert alts.price[0].tolist() == [products.import_price[0], 30.0, 8.0]
    assert alts.days[0].tolist() == [products.import_lead_days[0], 2.0, 0.25]
    assert alts.travel_hours[0].tolist() == [0.0, 0.0, 3.0]
    assert alts.available.all()


def test_unaware_citizens_or_missing_offers_leave_only_the_import(cfg):
    _, unaware = _quote(cfg, aware=np.array([False]))
    assert unaware.available[0].tolist() == [True, False, False]
    _, no_offer = _quote(cfg, platform_ready=np.array([np.inf]), platform_price=np.array([np.nan]))
    assert no_offer.available[0].tolist() == [True, False, True]
    _, cannot = _quote(cfg, self_possible=np.array([False]))
    assert cannot.available[0].tolist() == [True, True, False]
    u = utilities(unaware, np.array([34500.0]), np.array([0.5]), 34500.0, cfg.choice)
    assert np.isneginf(u[0, 1:]).all()
    np.testing.assert_allclose(probabilities(u)[0], [1.0, 0.0, 0.0])


def test_a_dearer_import_is_chosen_less_often(cfg):
    _, alts = _quote(cfg)
    u = utilities(alts, np.array([20000.0]), np.array([0.9]), 34500.0, cfg.choice)
    alts.price[0, IMPORT] += 20.0
    u2 = utilities(alts, np.array([20000.0]), np.array([0.9]), 34500.0, cfg.choice)
    assert probabilities(u2)[0, IMPORT] < probabilities(u)[0, IMPORT]
    np.testing.assert_allclose(probabilities(u2).sum(axis=1), 1.0)


def test_the_self_fabrication_quote_plans_the_visit_behind_the_queue(cfg):
    library = WeeklyCalendar([["mon-fri", 10, 19]])
    when = np.array([9 * 60.0, 9 * 60.0])  # Monday 09:00
    quote = self_fabrication_quote(library, when, np.array([600.0, 600.0]), np.array([0.0, 720.0]),
                                   np.array([1.0, 1.0]), np.array([2.0, 2.0]), np.array([3.0, 3.0]),
                                   np.array([1.0, 1.0]), np.array([False, False]), cfg)
    attempts = 1 / (1 - 0.15) * (1 - 0.15**3)  # full skill: 15 % failure, 3 attempts at most
    np.testing.assert_allclose(quote["arrive"], [600.0, 720.0], err_msg="at the opening; when a machine is free")
    np.testing.assert_allclose(quote["depart"], quote["arrive"] - 10.0)
    np.testing.assert_allclose(quote["ready"], quote["arrive"] + attempts * 60 + 10.0)
    np.testing.assert_allclose(quote["price"], attempts * (3.0 + 2.0))
    np.testing.assert_allclose(quote["travel_hours"], 2 * 600 / 3600 + 0.5 * attempts)


# ----------------------------------------------------------------------------- fabrication
def test_novices_fail_41_percent_and_experts_15(cfg):
    p = failure_probability(np.array([0.25, 1.0]), cfg.fabrication)
    np.testing.assert_allclose(p, [0.4125, 0.15])
    np.testing.assert_allclose(expected_attempts(np.array([0.0, 0.5, 1.0]), 3), [1.0, 1.75, 3.0])
    draws = [attempt_fails(KeyedRandom(2), order, 1, 0.4125) for order in range(4000)]
    assert abs(np.mean(draws) - 0.4125) < 4 * np.sqrt(0.4125 * 0.5875 / 4000)


# ----------------------------------------------------------------------------- platform
def test_select_offers_follows_each_rule():
    delivery = np.array([[600.0, 300.0, np.inf, 900.0]])
    price = np.array([[40.0, 60.0, 1.0, 30.0]])
    ready = np.array([[5000.0, 9000.0, 10.0, 4000.0]])
    available = np.array([[True, True, True, True]])
    assert select_offers("nearest", 1, delivery, price, ready, available)[0] == 1
    assert select_offers("cheapest", 1, delivery, price, ready, available)[0] == 3
    assert select_offers("earliest", 1, delivery, price, ready, available)[0] == 3
    assert select_offers("cheapest", 2, delivery, price, ready, available)[0] == 0, "only the 2 nearest quote"
    assert select_offers("earliest", 1, delivery, price, ready, ~available)[0] == -1


def test_pool_ready_times_equal_the_expected_finish_of_each_pool():
    library = WeeklyCalendar([["mon-fri", 10, 19]])
    mall = WeeklyCalendar([["daily", 10, 20]])
    pools = PlatformPools()

    class Facility:
        def __init__(self, fid, fee):
            self.facility_id, self.fee_per_hour = fid, fee

    members = []
    for fid, (cal, queued) in enumerate([(0, 0.0), (1, 90.0), (0, 300.0), (1, 0.0)]):
        pool = MachinePool("3d_printer", 1, [library, mall][cal])
        if queued:
            pool.submit(100 + fid, queued, True, 0.0)
        pools.add(pool, Facility(fid, 3.0), fid, cal)
        members.append(pool)
    members[3].book(7, 2 * 1440.0, 45.0)  # booked work released on Wednesday 00:00
    pools.changed.add(3)
    now = 3 * 1440.0 + 20 * 60  # Thursday 20:00, both closed
    release = np.array([now + 60.0, now + 600.0])
    pools.refresh(now)
    ready = pools.ready_times([library, mall], release, np.array([120.0, 60.0]), 1440.0, np.full((2, 4), 600.0))
    for row in range(2):
        expected = [expected_finish(pool, now, release[row], [120.0, 60.0][row]) + 1440.0 + 10.0 for pool in members]
        np.testing.assert_array_equal(ready[row], expected)
    friday_10 = 4 * 1440.0 + 10 * 60
    assert ready[0, 0] == friday_10 + 120 + 1450.0, "idle: Friday 10:00 + 2 h, a day's dispatch, 10 min delivery"
    assert ready[0, 2] == friday_10 + 300 + 120 + 1450.0, "behind 5 h of queued work"
    assert ready[0, 3] == friday_10 + 45 + 120 + 1450.0, "behind the booked job"


# ----------------------------------------------------------------------------- production
def _production(hours=(("mon-fri", 10, 19),), batch_size=1, setup_hours=0.0, count=1):
    events = EventQueue()
    orders = OrderBook(["household"], ["3d_printer"])
    production = Production(events, orders, {"library": [list(h) for h in hours]})

    class Facility:
        facility_id, kind = 0, "library"

    facility = Facility()
    facility.calendar = production.calendar_for("library")
    facility.pools = {"3d_printer": MachinePool("3d_printer", count, facility.calendar, batch_size,
                                                setup_hours * 60.0)}
    production.track(facility)
    for i in range(6):
        orders.t.append(order_id=i)
    return production, facility, events, orders


def test_a_job_at_a_closed_facility_waits_for_the_opening_then_runs_to_its_exact_minute():
    production, facility, events, orders = _production()
    production.submit(facility, "3d_printer", 0, 150.0, False, now=7 * 60.0)  # Monday 07:00, closed
    assert production.queued_by_kind["library"] == 1
    time_min, kind, payload = next(events.pop_until(1e9))
    assert (time_min, kind) == (10 * 60.0, POOL_OPEN)
    production.wake(facility, "3d_printer", time_min)
    assert production.queued_by_kind["library"] == 0 and orders.t["started_min"][0] == 600.0
    time_min, kind, payload = next(events.pop_until(1e9))
    assert (time_min, kind) == (600.0 + 150.0, JOB_DONE)
    batch = production.finish(facility, "3d_printer", payload[2], time_min)
    assert batch.order_ids == [0]
    busy, open_ = production.busy_and_open(time_min)
    assert busy["library"] == 0 and open_["library"] == 1


def test_a_job_pauses_overnight():
    production, facility, events, _ = _production()
    production.submit(facility, "3d_printer", 0, 180.0, False, now=18 * 60.0)  # 1 h before closing
    time_min, kind, _ = next(events.pop_until(1e9))
    assert kind == JOB_DONE and time_min == 1440.0 + 10 * 60 + 120, "1 h on Monday, 2 h from Tuesday 10:00"


def test_a_batch_pool_takes_queued_jobs_together_with_one_setup():
    production, facility, events, orders = _production(batch_size=3, setup_hours=1.0)
    pool = facility.pools["3d_printer"]
    for i in range(3):
        pool.submit(i, 60.0, True)
    production.queued_by_kind["library"] += 3
    production.start(facility, "3d_printer", MON_9 + 60)  # Monday 10:00
    time_min, kind, payload = next(events.pop_until(1e9))
    assert kind == JOB_DONE and time_min == 600.0 + 60 + 180
    assert production.finish(facility, "3d_printer", payload[2], time_min).order_ids == [0, 1, 2]
    busy_min, open_min = production.machine_minutes(time_min)
    assert busy_min["library"] == pytest.approx(240.0), "set-up and three jobs, all within opening hours"
    assert open_min["library"] == pytest.approx(240.0), "one machine open from Monday 10:00 to 14:00"


# ----------------------------------------------------------------------------- travel
def test_import_legs_pickle_and_equal_the_router():
    from citymodel.population import build_population
    from citymodel.siting import centre_of, home_candidates, import_depot
    from citymodel.travel import TravelTables

    city = load_city("default")
    cfg = Config()
    homes, _ = home_candidates(city)
    chosen = homes.iloc[np.random.default_rng(0).integers(0, len(homes), size=200)]
    pop = build_population(chosen, centre_of(city), cfg.population, 1, np.random.default_rng(1),
                           np.random.default_rng(2))
    tables = TravelTables(city, pop, cfg)
    depot = import_depot(city)
    legs = pickle.loads(pickle.dumps(tables.import_last_mile(depot)))
    time_s, dist_m, dest = legs(np.arange(200))
    van = city.router("van")
    np.testing.assert_allclose(time_s, van.travel_time(np.full(200, depot), dest), rtol=1e-12)
    np.testing.assert_allclose(dist_m, van.distance(np.full(200, depot), dest), rtol=1e-12)
    assert np.all(time_s > 0)


# ----------------------------------------------------------------------------- accounts
def test_self_fabrication_bill_by_hand(cfg):
    cfg.policy.fee_waiver_share, cfg.policy.material_subsidy_share = 0.5, 0.25
    fee, subsidy, paid = self_fabrication_bill(4.0, 2.5, 8.0, True, cfg.policy)
    assert (fee, float(subsidy), float(paid)) == (10.0, 7.0, 11.0)
    _, subsidy, paid = self_fabrication_bill(4.0, 2.5, 8.0, False, cfg.policy)
    assert (float(subsidy), float(paid)) == (0.0, 18.0)


def test_platform_price_split_adds_up(cfg):
    price = platform_price(20.0, 2.0, 10.0, cfg.platform)
    to_facility, royalty = platform_split(price, cfg.platform)
    assert to_facility == pytest.approx(54.0)  # fee 40 + material 10 + delivery 4
    assert royalty == pytest.approx(0.08 * price)
    assert price - to_facility - royalty == pytest.approx(0.125 * price)


def test_machine_grants_never_exceed_the_price(cfg):
    cfg.policy.machine_grant = 5000.0
    price = cfg.facilities.machine_prices["3d_printer"]
    assert machine_purchase(True, cfg) == (0.0, price)
    assert machine_purchase(False, cfg) == (price, 0.0)
    accounts = Accounts(cfg)
    accounts.machine(0.0, 7, True)
    ledger = accounts.ledger.to_frame()
    assert ledger["amount"].sum() == price
    assert set(ledger["payer"]) == {"citizen:7", "public_budget"}


# ----------------------------------------------------------------------------- adoption
class _Population:
    def __init__(self, n, ties, rng):
        self.stage = np.zeros(n, dtype=np.int8)
        self.stage_day = np.full((n, 4), np.nan)
        self.skill = rng.uniform(0, 1, n)
        self.income = rng.lognormal(10.4, 0.6, n)
        self.income_quintile = (np.argsort(np.argsort(self.income)) * 5 // n + 1).astype(np.int8)
        self.x_m = rng.uniform(-2000, 2000, n)
        self.y_m = rng.uniform(-2000, 2000, n)
        self.ties = ties

    def __len__(self):
        return len(self.stage)


def _random_ties(n, rng):
    a = sp.random(n, n, density=8 / n, random_state=np.random.RandomState(1), format="csr")
    a = ((a + a.T) > 0).astype(np.float32).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    return a


NOWHERE = (np.empty(0), np.empty(0))


def test_incremental_tie_counts_equal_the_sparse_product():
    rng = np.random.default_rng(4)
    pop = _Population(800, _random_ties(800, rng), rng)
    adoption = Adoption(Config(), pop, KeyedRandom(1), np.zeros(800), 34500.0)
    flag = np.zeros(800, dtype=bool)
    for _ in range(5):
        flag |= rng.random(800) < 0.1
        np.testing.assert_array_equal(adoption.tie_share("x", flag), tie_share(pop.ties, flag, adoption.degree))


def test_awareness_follows_p_and_q():
    rng = np.random.default_rng(5)
    cfg = Config()
    cfg.adoption.bass_p, cfg.adoption.bass_q = 0.0, 0.0
    pop = _Population(500, _random_ties(500, rng), rng)
    quiet = Adoption(cfg, pop, KeyedRandom(1), np.full(500, np.inf), 34500.0)
    quiet.recount()
    quiet.daily(0.0, NOWHERE, NOWHERE)
    assert (pop.stage == UNAWARE).all(), "p = q = 0: nobody becomes aware"
    cfg.adoption.bass_p = 1e6
    loud = Adoption(cfg, pop, KeyedRandom(1), np.full(500, np.inf), 34500.0)
    loud.recount()
    loud.daily(1440.0, NOWHERE, NOWHERE)
    assert (pop.stage == AWARE).all() and np.all(pop.stage_day[:, AWARE] == 1.0)
    assert loud.stage_counts[AWARE] == 500


def test_imitation_weighs_users_by_their_experience(cfg):
    stage = np.array([AWARE, PROSUMER, AWARE, AWARE, MAKER])
    experience = np.array([np.nan, 0.5, 0.8, 0.9, np.nan])
    last_use = np.array([np.nan, 100.0, 0.0, -400 * 1440.0, np.nan])
    weight = user_weights(stage, experience, last_use, 1440.0, cfg.adoption)
    np.testing.assert_allclose(weight, [0.0, 0.5, 0.8, 0.0, 1.0], err_msg="no use; prosumer; recent customer; "
                               "customer more than a year ago; maker without a record")
    ties = sp.csr_matrix(np.array([[0, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [1, 0, 0, 0, 0],
                                   [1, 0, 0, 0, 0]], dtype=np.float32))
    share = weighted_tie_share(ties, weight, np.asarray(ties.sum(axis=1)).ravel())
    np.testing.assert_allclose(share, [(0.5 + 0.8 + 0.0 + 1.0) / 4, 0, 0, 0, 0])


def test_satisfaction_falls_with_lateness_price_and_failures(cfg):
    assert satisfaction(1000.0, 1000.0, 20.0, 20.0, 0, cfg.adoption) == 1.0
    assert satisfaction(1000.0, 2000.0, 20.0, 20.0, 0, cfg.adoption) == 1.0, "early is not better than on time"
    week_late = satisfaction(1000.0 + 7 * 1440, 1000.0, 20.0, 20.0, 0, cfg.adoption)
    assert week_late == pytest.approx(np.exp(-1.0))
    assert satisfaction(1000.0, 1000.0, 40.0, 20.0, 0, cfg.adoption) == pytest.approx(0.5)
    assert satisfaction(1000.0, 1000.0, 20.0, 20.0, 2, cfg.adoption) == pytest.approx(0.7**2)


def test_a_machine_is_bought_only_where_local_demand_pays_it_back(cfg):
    here = (np.array([0.0]), np.array([0.0]))
    busy_street = (np.zeros(60), np.full(60, 100.0))  # 60 orders in 90 days next door
    far_away = (np.full(60, 5000.0), np.zeros(60))
    income = np.array([40000.0])
    assert purchase_decisions(*here, income, np.array([False]), busy_street, NOWHERE, cfg)[0]
    assert not purchase_decisions(*here, income, np.array([False]), far_away, NOWHERE, cfg)[0]
    crowded = (np.zeros(20), np.zeros(20))
    assert not purchase_decisions(*here, income, np.array([False]), busy_street, crowded, cfg)[0], "competition"
    assert not purchase_decisions(*here, np.array([5000.0]), np.array([False]), busy_street, NOWHERE, cfg)[0], \
        "unaffordable on a low income"
    cfg.policy.machine_grant = 600.0
    assert purchase_decisions(*here, np.array([5000.0]), np.array([True]), busy_street, NOWHERE, cfg)[0], "grant"


def test_only_aware_unskilled_citizens_near_a_workshop_train(cfg):
    stage = np.array([UNAWARE, AWARE, AWARE, AWARE, MAKER])
    skill = np.array([0.1, 0.1, 0.9, 0.1, 0.1])
    walk = np.array([60.0, 60.0, 60.0, 901.0, 60.0])
    assert can_train(stage, skill, walk, cfg.adoption).tolist() == [False, True, False, False, True]


# ----------------------------------------------------------------------------- observation, parameters
def test_observation_rows_have_the_documented_columns_and_the_collector_pickles():
    obs = Observation()
    obs.count_orders(np.array([0, 0, 2]))
    row = obs.record(120.0, np.array([5, 3, 1, 1]), {"library": 2}, {"library": 4}, {"maker": 1},
                     {"library": 90.0}, {"library": 240.0})
    assert tuple(row) == TIMESERIES_COLUMNS
    assert (row["hour"], row["orders_import"], row["orders_self_fabrication"]) == (2, 2, 1)
    assert (row["busy_machines_library"], row["open_machines_library"], row["queue_maker"]) == (2, 4, 1)
    assert (row["busy_machine_hours_library"], row["open_machine_hours_library"]) == (1.5, 4.0)
    row = obs.record(180.0, np.array([5, 3, 1, 1]), {}, {}, {}, {"library": 150.0}, {"library": 480.0})
    assert (row["busy_machine_hours_library"], row["open_machine_hours_library"]) == (1.0, 4.0), "per hour"
    collector = pickle.loads(pickle.dumps(timeseries_datacollector()))
    assert set(collector.model_reporters) == set(TIMESERIES_COLUMNS)


def test_parameters_nest_and_conflicts_are_errors():
    assert nested({"citizens": 5, "policy__fee_waiver_share": 0.1, "adoption.bass_p": 0.2}) == {
        "run": {"citizens": 5}, "policy": {"fee_waiver_share": 0.1}, "adoption": {"bass_p": 0.2}}
    with pytest.raises(ConfigError, match="conflicts"):
        nested({"policy": 1, "policy__fee_waiver_share": 0.1})
    assert config_from_params({"rng": 17}).run.seed == 17


def test_keyed_draws_are_uniform():
    u = KeyedRandom(8).uniform(0, np.arange(20000), 3)
    assert stats.kstest(u, "uniform").pvalue > 1e-3
