"""Summary metrics on small hand-made tables whose answers are worked out here."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from citymodel.metrics import (
    adoption,
    compute_summary,
    concentration_index,
    conservation,
    delivery_time_h,
    delivery_time_stats,
    designer_royalty,
    economics,
    erreygers_index,
    facility_utilization,
    fractional_rank,
    gini,
    inclusion,
    localisation,
    order_counts,
    public_spend,
    to_json_safe,
    utilization,
)

NAN = math.nan
INF = math.inf


# ---------------------------------------------------------------- tiny tables


def _orders() -> pd.DataFrame:
    """6 orders: 2 import, 2 platform, 2 self-fabrication; one cancelled, one in progress."""
    return pd.DataFrame(
        {
            "order_id": [0, 1, 2, 3, 4, 5],
            "citizen_id": [0, 1, 2, 3, 1, 2],
            "channel": [
                "import",
                "import",
                "platform",
                "platform",
                "self_fabrication",
                "self_fabrication",
            ],
            "product": ["furniture", "textiles", "furniture", "household", "household", "textiles"],
            "facility_id": [-1, -1, 2, 2, 0, 1],
            "facility_kind": ["import", "import", "maker", "maker", "library", "makerspace"],
            "designer_id": [-1, -1, 7, 8, 7, -1],
            "created_min": [0.0, 60.0, 0.0, 120.0, 30.0, 600.0],
            "started_min": [NAN, NAN, 60.0, 180.0, 90.0, NAN],
            "completed_min": [NAN, NAN, 300.0, NAN, 210.0, NAN],
            "delivered_min": [2880.0, NAN, 420.0, NAN, 270.0, NAN],
            "status": [
                "delivered",
                "in_progress",
                "delivered",
                "in_progress",
                "delivered",
                "cancelled",
            ],
            "origin_node": [10, 10, 11, 11, 12, 13],
            "destination_node": [20, 21, 22, 23, 21, 22],
            "mode": ["van", "van", "cargo_bike", "cargo_bike", "walk", "walk"],
            "travel_time_s": [900.0, NAN, 600.0, NAN, 700.0, NAN],
            "distance_m": [12000.0, NAN, 2500.0, NAN, 800.0, NAN],
            "delivery_vehicle_km": [12.0, NAN, 2.5, NAN, 0.0, 0.0],
            "price": [40.0, 25.0, 120.0, 30.0, 8.0, 0.0],
            "royalty": [0.0, 0.0, 9.6, 2.4, 0.64, 0.0],
            "subsidy": [0.0, 0.0, 0.0, 0.0, 4.0, 0.0],
            "machine_hours": [0.0, 0.0, 4.0, 1.0, 2.0, 0.0],
        }
    )


def _agents() -> pd.DataFrame:
    """5 citizens, one per income quintile."""
    return pd.DataFrame(
        {
            "citizen_id": [0, 1, 2, 3, 4],
            "income": [12_000.0, 20_000.0, 30_000.0, 45_000.0, 80_000.0],
            "income_quintile": [1, 2, 3, 4, 5],
            "home_node": [20, 21, 22, 23, 24],
            "stage": ["unaware", "prosumer", "aware", "maker", "unaware"],
            "orders_import": [1, 1, 0, 0, 0],
            "orders_platform": [0, 0, 1, 1, 0],
            "orders_self_fabrication": [0, 1, 1, 0, 0],
            "walk_time_to_workshop_s": [1200.0, 600.0, 900.0, 300.0, INF],
            "became_prosumer_day": [NAN, 3.0, NAN, 1.0, NAN],
            "became_maker_day": [NAN, NAN, NAN, 5.0, NAN],
        }
    )


def _facilities() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "facility_id": [0, 1, 2],
            "kind": ["library", "makerspace", "maker"],
            "node": [12, 13, 11],
            "machines": [2, 4, 1],
            "open_machine_hours": [100.0, 200.0, 100.0],
            "busy_machine_hours": [20.0, 50.0, 90.0],
            "platform_busy_machine_hours": [0.0, 10.0, 90.0],
            "revenue": [8.0, 0.0, 132.0],
        }
    )


def _timeseries(n_hours: int = 48) -> pd.DataFrame:
    hour = np.arange(n_hours)
    return pd.DataFrame(
        {
            "hour": hour,
            "day": hour // 24,
            "n_unaware": np.full(n_hours, 5),
            "n_aware": np.zeros(n_hours, dtype=int),
            "n_prosumer": np.zeros(n_hours, dtype=int),
            "n_maker": np.zeros(n_hours, dtype=int),
            "orders_import": np.zeros(n_hours, dtype=int),
            "orders_platform": np.zeros(n_hours, dtype=int),
            "orders_self_fabrication": np.zeros(n_hours, dtype=int),
        }
    )


def _ledger() -> pd.DataFrame:
    rows = [
        # time_min, order_id, payer, payee, amount, kind
        (0.0, 0, "citizen:0", "import_supplier", 40.0, "price"),
        (60.0, 1, "citizen:1", "import_supplier", 25.0, "price"),
        (0.0, 2, "citizen:2", "platform", 120.0, "price"),
        (420.0, 2, "platform", "facility:2", 105.0, "price"),
        (420.0, 2, "platform", "designer:7", 9.6, "royalty"),
        (30.0, 4, "citizen:1", "facility:0", 8.0, "fee"),
        (30.0, 4, "public_budget", "facility:0", 4.0, "subsidy"),
        (0.0, -1, "public_budget", "facility:1", 1000.0, "grant"),
    ]
    return pd.DataFrame(rows, columns=["time_min", "order_id", "payer", "payee", "amount", "kind"])


def _tables() -> dict[str, pd.DataFrame]:
    return {
        "orders": _orders(),
        "agents": _agents(),
        "facilities": _facilities(),
        "timeseries": _timeseries(),
        "ledger": _ledger(),
    }


# ---------------------------------------------------------------- inequality


def test_gini_population_formula():
    # G = sum_i sum_j |x_i - x_j| / (2 n^2 mean), no n/(n-1) correction.
    assert gini([1, 1, 1, 1]) == 0.0
    # [0,0,0,1]: 6 ordered pairs differ by 1 -> 6 / (2 * 16 * 0.25) = 0.75
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)
    # [1,2,3]: pairs |1-2|,|1-3|,|2-3| = 1+2+1 = 4, x2 ordered = 8; 8/(2*9*2) = 2/9
    assert gini([3, 1, 2]) == pytest.approx(2 / 9)


def test_gini_edge_cases():
    assert math.isnan(gini([]))
    assert math.isnan(gini([0, 0]))
    with pytest.raises(ValueError, match=">= 0"):
        gini([1, -1])
    with pytest.raises(ValueError, match="finite"):
        gini([1, INF])


def test_fractional_rank_ties_get_mean_rank():
    # ranks of [10, 10, 30, 40] are 1.5, 1.5, 3, 4 -> (R - 0.5)/4
    assert fractional_rank([10, 10, 30, 40]) == pytest.approx([0.25, 0.25, 0.625, 0.875])


def test_concentration_index_by_hand():
    # incomes 10 < 20 < 30 < 40 -> r = 0.125, 0.375, 0.625, 0.875 (mean 0.5)
    # uses h = 0, 1, 1, 2 -> mean 1
    # cov(h, r) = [(-1)(-0.375) + 0 + 0 + (1)(0.375)] / 4 = 0.1875
    # C = 2 * 0.1875 / 1 = 0.375
    # check: 2/(n mu) sum h r - 1 = 2/4 * (0.375 + 0.625 + 1.75) - 1 = 1.375 - 1 = 0.375
    income = [30.0, 10.0, 40.0, 20.0]  # unsorted on purpose
    uses = [1.0, 0.0, 2.0, 1.0]
    assert concentration_index(uses, income) == pytest.approx(0.375)
    # all use by the poorest of 4 -> C = 2 * [(4-1)(0.125-0.5)... ] : h = (4,0,0,0), mu = 1
    # cov = [3 * (-0.375) + (-1)(-0.125) + (-1)(0.125) + (-1)(0.375)] / 4 = -1.5 / 4 = -0.375
    # C = -0.75 (the minimum -(1 - 1/n))
    assert concentration_index([4, 0, 0, 0], [10, 20, 30, 40]) == pytest.approx(-0.75)
    # equal use -> 0; nobody uses -> NaN (mean 0)
    assert concentration_index([2, 2, 2, 2], [1, 2, 3, 4]) == pytest.approx(0.0)
    assert math.isnan(concentration_index([0, 0], [1, 2]))


def test_concentration_index_with_tied_incomes():
    # incomes 10, 10, 30, 40 -> r = 0.25, 0.25, 0.625, 0.875; h = 1, 0, 0, 1 (mean 0.5)
    # cov = [0.5(-0.25) + (-0.5)(-0.25) + (-0.5)(0.125) + 0.5(0.375)] / 4 = 0.125 / 4 = 0.03125
    # C = 2 * 0.03125 / 0.5 = 0.125
    assert concentration_index([1, 0, 0, 1], [10, 10, 30, 40]) == pytest.approx(0.125)


def test_erreygers_binary_by_hand():
    # y = 0, 1, 1, 1 over r = 0.125, 0.375, 0.625, 0.875; mean y = 0.75
    # cov = [(-0.75)(-0.375) + 0.25(-0.125) + 0.25(0.125) + 0.25(0.375)] / 4 = 0.375 / 4
    # E = 8 * 0.09375 = 0.75
    assert erreygers_index([0, 1, 1, 1], [1, 2, 3, 4]) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="within"):
        erreygers_index([0, 2], [1, 2])


# ---------------------------------------------------------------- utilization


def test_utilization_three_facilities():
    # open 100 + 200 + 100 = 400 h; busy 20 + 50 + 90 = 160 h -> overall 0.4
    # library 20/100 = 0.2, makerspace 50/200 = 0.25, maker 90/100 = 0.9
    # public workshops (library + makerspace): 70/300
    # platform: (0 + 10 + 90)/400 = 0.25
    u = utilization(_facilities())
    assert u["overall"] == pytest.approx(0.4)
    assert u["by_facility_kind"] == pytest.approx(
        {"library": 0.2, "makerspace": 0.25, "maker": 0.9}
    )
    assert u["public_workshops"] == pytest.approx(70 / 300)
    assert u["platform_share_of_capacity"] == pytest.approx(0.25)


def test_utilization_no_open_hours_is_none():
    fac = _facilities().assign(open_machine_hours=0.0, busy_machine_hours=0.0)
    fac["platform_busy_machine_hours"] = 0.0
    u = utilization(fac)
    assert u["overall"] is None
    assert u["by_facility_kind"]["maker"] is None
    assert facility_utilization(fac).isna().all()


def test_facility_utilization_per_facility():
    assert facility_utilization(_facilities()).to_dict() == pytest.approx({0: 0.2, 1: 0.25, 2: 0.9})


# ---------------------------------------------------------------- delivery time


def test_delivery_time_stats_five_orders():
    # numpy default (linear) percentiles of [1, 2, 3, 4, 10] h:
    # p50: index 0.5*4 = 2 -> 3
    # p90: index 3.6 -> 4 + 0.6*(10-4) = 7.6
    # p95: index 3.8 -> 4 + 0.8*6 = 8.8; mean = 20/5 = 4
    s = delivery_time_stats([10.0, 1.0, 3.0, 2.0, 4.0])
    assert s == pytest.approx({"n": 5, "mean": 4.0, "p50": 3.0, "p90": 7.6, "p95": 8.8})
    assert delivery_time_stats([]) == {"n": 0, "mean": None, "p50": None, "p90": None, "p95": None}


def test_delivery_time_by_channel_and_product():
    # delivered: import 0 -> 2880 min = 48 h; platform 0 -> 420 = 7 h; self-fab 30 -> 270 = 4 h
    d = delivery_time_h(_orders())
    assert d["by_channel"]["import"]["mean"] == pytest.approx(48.0)
    assert d["by_channel"]["platform"]["p50"] == pytest.approx(7.0)
    assert d["by_channel"]["self_fabrication"]["n"] == 1
    assert d["all"]["n"] == 3
    assert d["all"]["mean"] == pytest.approx((48 + 7 + 4) / 3)
    # furniture: import 48 h and platform 7 h -> mean 27.5; textiles: none delivered
    assert d["by_product"]["furniture"]["mean"] == pytest.approx(27.5)
    assert d["by_product"]["textiles"]["n"] == 0
    assert d["by_product"]["household"]["mean"] == pytest.approx(4.0)


# ---------------------------------------------------------------- inclusion


def test_inclusion_by_quintile():
    inc = inclusion(_agents())
    # walk 1200 > 900, 600, 900 (= threshold counts), 300, inf -> 0,1,1,1,0
    assert inc["access_15min_walk_by_income_quintile"] == [0.0, 1.0, 1.0, 1.0, 0.0]
    # DM uses (platform + self-fab) = 0, 1, 2, 1, 0 -> participation 0,1,1,1,0
    assert inc["participation_by_income_quintile"] == [0.0, 1.0, 1.0, 1.0, 0.0]
    # stages unaware, prosumer, aware, maker, unaware
    assert inc["prosumer_share_by_income_quintile"] == [0.0, 1.0, 0.0, 1.0, 0.0]
    assert inc["participants"] == 3
    assert inc["participation_share"] == pytest.approx(0.6)
    # r = 0.1, 0.3, 0.5, 0.7, 0.9; h = 0, 1, 2, 1, 0 (mean 0.8)
    # cov = [(-0.8)(-0.4) + 0.2(-0.2) + 1.2(0) + 0.2(0.2) + (-0.8)(0.4)] / 5 = 0
    assert inc["concentration_index"] == pytest.approx(0.0, abs=1e-12)
    # participation symmetric around the median too -> E = 0
    assert inc["erreygers_index"] == pytest.approx(0.0, abs=1e-12)
    # Gini of finite walk times [1200, 600, 900, 300] (inf left out):
    # sorted 300, 600, 900, 1200; sum = 3000; 2*(1*300+2*600+3*900+4*1200)/(4*3000) - 5/4
    # = 2*9000/12000 - 1.25 = 0.25
    assert inc["access_gini"] == pytest.approx(0.25)
    assert inc["access_n_unreachable"] == 1
    assert inc["n_by_income_quintile"] == [1, 1, 1, 1, 1]


def test_inclusion_empty_quintile_is_none_and_no_use_is_none():
    agents = _agents().assign(orders_platform=0, orders_self_fabrication=0)
    agents.loc[4, "income_quintile"] = 4
    inc = inclusion(agents)
    assert inc["participation_by_income_quintile"][4] is None
    assert inc["concentration_index"] is None


# ---------------------------------------------------------------- adoption


def test_adoption_day_reached():
    ts = _timeseries(24 * 5)
    # 10 citizens: 2 aware from hour 30 (day 1); prosumer 1 + maker 4 = 5 from hour 80 (day 3)
    ts["n_unaware"] = 10
    ts.loc[ts["hour"] >= 30, ["n_unaware", "n_aware"]] = [8, 2]
    ts.loc[ts["hour"] >= 80, ["n_unaware", "n_aware", "n_prosumer", "n_maker"]] = [3, 2, 1, 4]
    agents = pd.DataFrame({"stage": ["unaware"] * 3 + ["aware"] * 2 + ["prosumer"] + ["maker"] * 4})
    a = adoption(agents, ts, n_citizens=10)
    assert a["final_counts"] == {"unaware": 3, "aware": 2, "prosumer": 1, "maker": 4}
    assert a["final_shares"]["maker"] == pytest.approx(0.4)
    # aware-or-beyond: 2 (>= 10 % of 10 = 1) at hour 30 -> day 1; 7 (>= 5) at hour 80 -> day 3
    assert a["day_reached"]["aware"] == {"10%": 1, "50%": 3}
    # prosumer-or-beyond: 5 from hour 80 -> 10 % and 50 % both day 3
    assert a["day_reached"]["prosumer"] == {"10%": 3, "50%": 3}
    # maker: 4 -> 10 % on day 3, never 50 %
    assert a["day_reached"]["maker"] == {"10%": 3, "50%": None}


# ---------------------------------------------------------------- localisation


def test_localisation_by_hand():
    loc = localisation(_orders())
    # delivered or in progress: orders 0-4 (5); non-import among them: 2, 3, 4 -> 3/5
    assert loc["local_share_of_units"] == pytest.approx(0.6)
    # delivered orders 0 (van 12 km), 2 (cargo bike 2.5 km), 4 (walk 0 km)
    assert loc["delivery_vehicle_km"] == pytest.approx(14.5)
    # CO2 = 12 * 0.250 + 2.5 * 0.005 = 3.0 + 0.0125 = 3.0125 kg
    assert loc["co2_kg"] == pytest.approx(3.0125)
    assert loc["co2_factors_kg_per_km"]["van"] == 0.250
    # counterfactual: mean delivered import = 12 km (3 kg) x 3 delivered orders
    assert loc["import_counterfactual_vehicle_km"] == pytest.approx(36.0)
    assert loc["import_counterfactual_co2_kg"] == pytest.approx(9.0)
    assert loc["co2_saving_kg"] == pytest.approx(9.0 - 3.0125)


def test_localisation_without_imports_and_unknown_mode():
    orders = _orders()
    no_import = orders[orders["channel"] != "import"]
    loc = localisation(no_import)
    assert loc["import_counterfactual_vehicle_km"] is None
    assert loc["local_share_of_units"] == 1.0
    orders.loc[2, "mode"] = "drone"
    with pytest.raises(ValueError, match="drone"):
        localisation(orders)


# ---------------------------------------------------------------- economics


def test_public_spend_and_royalty():
    # public budget pays 4 (subsidy) + 1000 (grant)
    assert public_spend(_ledger()) == pytest.approx(1004.0)
    r = designer_royalty(_ledger(), days=1.0)
    assert r["total"] == pytest.approx(9.6)
    assert r["mean_per_designer"] == pytest.approx(9.6)
    assert r["gini_across_designers"] == pytest.approx(0.0)
    assert r["cv_over_weeks"] is None  # < 2 complete weeks
    # with 4 designers, 3 earning nothing: mean 2.4, Gini of [0,0,0,9.6] = 0.75
    r4 = designer_royalty(_ledger(), days=1.0, n_designers=4)
    assert r4["mean_per_designer"] == pytest.approx(2.4)
    assert r4["gini_across_designers"] == pytest.approx(0.75)


def test_royalty_cv_over_weeks():
    week = 7 * 24 * 60
    ledger = pd.DataFrame(
        {
            "time_min": [10.0, week + 10.0, week + 20.0, 2 * week + 5.0, 3 * week + 1.0],
            "order_id": [1, 2, 3, 4, 5],
            "payer": ["platform"] * 5,
            "payee": ["designer:1", "designer:2", "designer:1", "designer:1", "designer:1"],
            "amount": [2.0, 1.0, 3.0, 6.0, 100.0],
            "kind": ["royalty"] * 5,
        }
    )
    # 21.5 days -> 3 complete weeks; the payment in week 4 is outside them.
    # weekly totals 2, 4, 6: mean 4, sample std = sqrt((4 + 0 + 4)/2) = 2 -> CV 0.5
    r = designer_royalty(ledger, days=21.5)
    assert r["cv_over_weeks"] == pytest.approx(0.5)
    # total counts every payment: 112; designer 1 got 111, designer 2 got 1
    assert r["total"] == pytest.approx(112.0)
    assert r["n_designers"] == 2


def test_economics_revenues_and_cost_per_included():
    base = {"economics": {"public_spend": 4.0}, "inclusion": {"participants": 1}}
    e = economics(_ledger(), _facilities(), days=1.0, participants=3, baseline=base)
    assert e["maker_revenue"] == pytest.approx(132.0)
    assert e["mill_revenue"] == 0.0
    # library 8 + makerspace 0
    assert e["public_workshop_revenue"] == pytest.approx(8.0)
    assert e["public_spend_by_kind"] == pytest.approx({"grant": 1000.0, "subsidy": 4.0})
    # (1004 - 4) / (3 - 1) = 500 GBP per additional included citizen
    assert e["public_spend_per_additional_included_citizen"] == pytest.approx(500.0)
    flat = economics(
        _ledger(), _facilities(), days=1.0, participants=3,
        baseline={"public_spend": 0.0, "participants": 3},
    )  # fmt: skip
    assert flat["public_spend_per_additional_included_citizen"] is None
    none = economics(_ledger(), _facilities(), days=1.0, participants=3)
    assert none["public_spend_per_additional_included_citizen"] is None


# ---------------------------------------------------------------- orders and conservation


def test_order_counts():
    c = order_counts(_orders())
    assert c["import"] == {"created": 2, "delivered": 1, "in_progress": 1, "cancelled": 0}
    assert c["self_fabrication"] == {"created": 2, "delivered": 1, "in_progress": 0, "cancelled": 1}
    assert c["all"] == {"created": 6, "delivered": 3, "in_progress": 2, "cancelled": 1}


def test_conservation_holds_on_consistent_tables():
    c = conservation(_orders(), _facilities(), _ledger())
    assert c["all_ok"] is True
    assert c["orders"]["ok"] and c["machine_hours"]["ok"] and c["money"]["ok"]
    assert c["machine_hours"]["worst_busy_to_open_ratio"] == pytest.approx(0.9)
    assert c["money"]["residual_gbp"] == pytest.approx(0.0)
    # net balances: citizens paid 40 + 25 + 120 + 8 = 193; public budget paid 1004;
    # facilities got 105 + 8 + 4 + 1000 = 1117; designer 9.6; import supplier 65;
    # platform 120 - 105 - 9.6 = 5.4 -> sum 0
    balance = c["money"]["balance_by_party_type_gbp"]
    assert balance == pytest.approx(
        {
            "citizen": -193.0,
            "public_budget": -1004.0,
            "facility": 1117.0,
            "designer": 9.6,
            "import_supplier": 65.0,
            "platform": 5.4,
        }
    )


def test_conservation_flags_broken_orders():
    orders = _orders()
    orders.loc[1, "status"] = "lost"
    c = conservation(orders, _facilities(), _ledger())
    assert c["orders"]["ok"] is False
    assert c["orders"]["unaccounted"] == 1
    assert c["all_ok"] is False


def test_conservation_flags_busy_above_open():
    fac = _facilities()
    fac.loc[0, "busy_machine_hours"] = 150.0  # > 100 open
    c = conservation(_orders(), fac, _ledger())
    assert c["machine_hours"]["ok"] is False
    assert c["machine_hours"]["worst_busy_to_open_ratio"] == pytest.approx(1.5)
    fac = _facilities()
    fac.loc[1, "platform_busy_machine_hours"] = 60.0  # > 50 busy
    assert conservation(_orders(), fac, _ledger())["machine_hours"]["ok"] is False
    # busy with nothing open: ratio inf -> ok False, and null in the JSON summary
    fac = _facilities()
    fac.loc[2, ["open_machine_hours", "busy_machine_hours", "platform_busy_machine_hours"]] = 0.0
    fac.loc[0, "busy_machine_hours"] = 5.0
    fac.loc[0, "open_machine_hours"] = 0.0
    tables = _tables() | {"facilities": fac}
    s = compute_summary(tables, days=2.0, n_citizens=5)
    assert s["conservation"]["machine_hours"]["ok"] is False
    assert s["conservation"]["machine_hours"]["worst_busy_to_open_ratio"] is None


def test_conservation_flags_broken_ledger():
    ledger = _ledger()
    ledger.loc[3, "payee"] = None  # 105 paid to nobody
    c = conservation(_orders(), _facilities(), ledger)
    assert c["money"]["ok"] is False
    assert c["money"]["residual_gbp"] == pytest.approx(-105.0)
    ledger = _ledger()
    ledger.loc[0, "amount"] = -40.0
    assert conservation(_orders(), _facilities(), ledger)["money"]["ok"] is False


# ---------------------------------------------------------------- summary


def test_compute_summary_is_json_safe():
    s = compute_summary(_tables(), days=2.0, n_citizens=5)
    text = json.dumps(s, allow_nan=False)  # raises on NaN/inf
    assert json.loads(text) == s
    assert set(s) >= {
        "utilization",
        "delivery_time_h",
        "inclusion",
        "adoption",
        "localisation",
        "economics",
        "orders",
        "conservation",
    }
    # NaN -> None: nobody ever adopted; no textiles delivered; single designer Gini of [9.6] = 0
    assert s["adoption"]["day_reached"]["maker"]["10%"] is None
    assert s["delivery_time_h"]["by_product"]["textiles"]["mean"] is None
    assert s["economics"]["public_spend_per_additional_included_citizen"] is None
    assert s["conservation"]["all_ok"] is True
    assert isinstance(s["orders"]["all"]["created"], int)


def test_compute_summary_with_baseline_and_empty_tables():
    tables = _tables()
    base = compute_summary(tables, days=2.0, n_citizens=5)
    base["economics"]["public_spend"] = 4.0
    base["inclusion"]["participants"] = 1
    s = compute_summary(tables, days=2.0, n_citizens=5, baseline=base)
    assert s["economics"]["public_spend_per_additional_included_citizen"] == pytest.approx(500.0)
    empty = {name: df.iloc[0:0] for name, df in tables.items()}
    s0 = compute_summary(empty, days=1.0, n_citizens=0)
    json.dumps(s0, allow_nan=False)
    assert s0["utilization"]["overall"] is None
    assert s0["inclusion"]["concentration_index"] is None
    assert s0["conservation"]["all_ok"] is True


def test_compute_summary_rejects_missing_table_and_column():
    tables = _tables()
    del tables["ledger"]
    with pytest.raises(ValueError, match="ledger"):
        compute_summary(tables, days=1.0, n_citizens=5)
    tables = _tables()
    tables["orders"] = tables["orders"].drop(columns="delivered_min")
    with pytest.raises(ValueError, match="delivered_min"):
        compute_summary(tables, days=1.0, n_citizens=5)


def test_to_json_safe_converts_numpy_and_nan():
    out = to_json_safe({1: np.float64(NAN), "b": [np.int64(3), INF, np.bool_(True)], "c": (1.5,)})
    assert out == {"1": None, "b": [3, None, True], "c": [1.5]}
    assert type(out["b"][0]) is int


def test_kaplan_meier_counts_orders_still_under_way():
    from citymodel.metrics import kaplan_meier_quantiles

    # delivered after 1, 2, 3, 4 h; still waiting after 2.5 h and 10 h (run ended).
    # S(1) = 5/6; S(2) = 5/6 * 4/5 = 2/3; S(3) = 2/3 * 2/3 = 4/9 <= 0.5 -> p50 = 3 h
    # (the naive median of delivered orders is 2.5 h); S(4) = 4/9 * 1/2 = 2/9 > 0.1 -> p90 None.
    out = kaplan_meier_quantiles([1, 2, 3, 4, 2.5, 10], [True] * 4 + [False] * 2, (0.5, 0.9))
    assert out == {"p50": 3.0, "p90": None}
    # with nothing censored it is the empirical quantile (smallest t with F(t) >= q)
    assert kaplan_meier_quantiles([4, 1, 3, 2], [True] * 4, (0.5, 0.75)) == {"p50": 2.0, "p75": 3.0}
    assert kaplan_meier_quantiles([], [], (0.5,)) == {"p50": None}


def test_censoring_adjusted_delivery_times_in_the_summary():
    import pandas as pd

    from citymodel.metrics import delivery_time_h

    orders = pd.DataFrame({
        "status": ["delivered", "delivered", "in_progress", "delivered"],
        "channel": ["import", "import", "import", "platform"],
        "product": ["a", "a", "a", "b"],
        "created_min": [0.0, 0.0, 60.0, 0.0],
        "delivered_min": [60.0, 240.0, float("nan"), 120.0],
    })
    out = delivery_time_h(orders, end_min=600.0)
    imports = out["by_channel_censoring_adjusted"]["import"]
    # import: delivered at 1 h and 4 h, one waiting 9 h so far: S(1) = 2/3, S(4) = 1/3 -> p50 = 4 h
    assert imports["n_delivered"] == 2 and imports["n_in_progress"] == 1
    assert imports["p50"] == 4.0 and imports["p90"] is None
    assert out["by_channel"]["import"]["p50"] == 2.5
