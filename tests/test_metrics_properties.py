"""Property tests of the metric functions (citymodel.metrics) on generated tables.

Shares stay in [0, 1], income quintiles partition the citizens into equal,
income-ordered groups, delivery-time percentiles are ordered, the concentration
and Erreygers indices stay in [-1, 1] and the Gini coefficient in [0, 1], for
any table the model could write — ties, empty groups, zeros and unreachable
citizens included.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from citymodel.metrics import (
    CHANNELS,
    STAGES,
    adoption,
    concentration_index,
    delivery_time_h,
    delivery_time_stats,
    erreygers_index,
    gini,
    inclusion,
    kaplan_meier_quantiles,
    localisation,
    utilization,
)
from citymodel.population import income_quintiles

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EPS = 1e-9

incomes = st.integers(1, 400).flatmap(lambda n: hnp.arrays(
    float, n, elements=st.one_of(st.floats(1.0, 1e7), st.sampled_from([20_000.0, 34_500.0]))))
counts = st.integers(0, 40)


def in_unit(x) -> bool:
    return x is None or (-EPS <= x <= 1 + EPS)


@st.composite
def agents_tables(draw) -> pd.DataFrame:
    income = draw(incomes)
    n = income.size
    walk = draw(hnp.arrays(float, n, elements=st.one_of(st.floats(0, 7200), st.just(math.inf), st.just(math.nan))))
    return pd.DataFrame({
        "income": income,
        "income_quintile": income_quintiles(income),
        "stage": draw(hnp.arrays(object, n, elements=st.sampled_from(STAGES))),
        "orders_platform": draw(hnp.arrays(np.int64, n, elements=counts)),
        "orders_self_fabrication": draw(hnp.arrays(np.int64, n, elements=counts)),
        "walk_time_to_workshop_s": walk,
    })


@SETTINGS
@given(incomes)
def test_income_quintiles_partition_citizens_into_equal_ordered_groups(income):
    q = income_quintiles(income)
    assert set(np.unique(q)) <= {1, 2, 3, 4, 5}
    sizes = np.bincount(q, minlength=6)[1:]
    assert sizes.sum() == income.size
    assert sizes.max() - sizes.min() <= 1
    for k in range(1, 5):
        lower, upper = income[q == k], income[q == k + 1]
        if lower.size and upper.size:
            assert lower.max() <= upper.min()


@SETTINGS
@given(agents_tables())
def test_inclusion_shares_and_indices_are_bounded_and_quintiles_partition(agents):
    out = inclusion(agents)
    assert sum(out["n_by_income_quintile"]) == len(agents)
    for key in ("access_15min_walk_by_income_quintile", "participation_by_income_quintile",
                "prosumer_share_by_income_quintile"):
        assert len(out[key]) == 5
        assert all(in_unit(x) for x in out[key]), (key, out[key])
        # an empty quintile has no share, a non-empty one has
        assert [x is None for x in out[key]] == [n == 0 for n in out["n_by_income_quintile"]]
    assert in_unit(out["participation_share"])
    assert 0 <= out["participants"] <= len(agents)
    assert out["concentration_index"] is None or -1 - EPS <= out["concentration_index"] <= 1 + EPS
    assert out["erreygers_index"] is None or -1 - EPS <= out["erreygers_index"] <= 1 + EPS
    assert in_unit(out["access_gini"])
    unreachable = (~np.isfinite(agents["walk_time_to_workshop_s"].to_numpy())).sum()
    assert out["access_n_unreachable"] == unreachable


@SETTINGS
@given(st.integers(1, 300).flatmap(lambda n: hnp.arrays(float, n, elements=st.floats(0, 1e9))))
def test_gini_is_between_0_and_1_minus_1_over_n(values):
    g = gini(values)
    if values.sum() == 0:
        assert math.isnan(g)
    else:
        assert -EPS <= g <= 1 - 1 / values.size + EPS


@SETTINGS
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(
    hnp.arrays(float, n, elements=st.one_of(st.floats(0, 1e6), counts.map(float))),
    hnp.arrays(float, n, elements=st.floats(1, 1e7)))))
def test_concentration_index_of_a_non_negative_outcome_is_in_minus_1_1(outcome_income):
    outcome, income = outcome_income
    c = concentration_index(outcome, income)
    if outcome.mean() == 0:
        assert math.isnan(c)
    else:
        assert -1 - EPS <= c <= 1 + EPS
    e = erreygers_index((outcome > 0).astype(float), income)
    assert -1 - EPS <= e <= 1 + EPS


hours = st.integers(0, 300).flatmap(lambda n: hnp.arrays(float, n, elements=st.floats(0, 24 * 365)))


@SETTINGS
@given(hours)
def test_delivery_time_percentiles_are_ordered(values):
    out = delivery_time_stats(values)
    assert out["n"] == values.size
    if values.size == 0:
        assert out["p50"] is out["p90"] is out["p95"] is out["mean"] is None
        return
    assert values.min() <= out["p50"] <= out["p90"] <= out["p95"] <= values.max()
    assert values.min() - EPS <= out["mean"] <= values.max() + EPS


@SETTINGS
@given(hours.flatmap(lambda t: st.tuples(st.just(t), hnp.arrays(bool, t.size))))
def test_censoring_adjusted_percentiles_are_ordered(durations_delivered):
    durations, delivered = durations_delivered
    out = kaplan_meier_quantiles(durations, delivered)
    values = [out["p50"], out["p90"], out["p95"]]
    known = [v for v in values if v is not None]
    assert known == sorted(known)
    # a quantile beyond the run (None) means every higher one is too
    assert values == known + [None] * (3 - len(known))
    for v in known:
        assert v in set(durations[delivered].tolist())


@st.composite
def orders_tables(draw) -> pd.DataFrame:
    n = draw(st.integers(0, 300))
    created = draw(hnp.arrays(float, n, elements=st.floats(0, 30 * 1440)))
    wait = draw(hnp.arrays(float, n, elements=st.floats(0, 30 * 1440)))
    status = draw(hnp.arrays(object, n, elements=st.sampled_from(["delivered", "in_progress", "cancelled"])))
    delivered = np.where(status == "delivered", created + wait, np.nan)
    mode = draw(hnp.arrays(object, n, elements=st.sampled_from(["van", "cargo_bike", "bike", "walk"])))
    km = draw(hnp.arrays(float, n, elements=st.one_of(st.floats(0, 50), st.just(math.nan))))
    return pd.DataFrame({
        "channel": draw(hnp.arrays(object, n, elements=st.sampled_from(CHANNELS))),
        "product": draw(hnp.arrays(object, n, elements=st.sampled_from(["furniture", "textiles"]))),
        "status": status, "created_min": created, "delivered_min": delivered, "mode": mode,
        "delivery_vehicle_km": km,
    })


@SETTINGS
@given(orders_tables())
def test_order_tables_give_ordered_percentiles_and_a_local_share_in_0_1(orders):
    end = float(orders["created_min"].max() if len(orders) else 0.0) + 1.0
    out = delivery_time_h(orders, end_min=end)
    for stats in [out["all"], *out["by_channel"].values(), *out["by_product"].values()]:
        if stats["n"]:
            assert stats["p50"] <= stats["p90"] <= stats["p95"]
    assert sum(s["n"] for s in out["by_channel"].values()) == out["all"]["n"]
    for adjusted in out["by_channel_censoring_adjusted"].values():
        known = [adjusted[k] for k in ("p50", "p90", "p95") if adjusted[k] is not None]
        assert known == sorted(known)
    loc = localisation(orders)
    assert in_unit(loc["local_share_of_units"])
    assert loc["delivery_vehicle_km"] >= 0 and loc["co2_kg"] >= 0


@st.composite
def facilities_tables(draw) -> pd.DataFrame:
    n = draw(st.integers(0, 60))
    open_h = draw(hnp.arrays(float, n, elements=st.one_of(st.floats(0, 5000), st.just(0.0))))
    busy_share = draw(hnp.arrays(float, n, elements=st.floats(0, 1)))
    platform_share = draw(hnp.arrays(float, n, elements=st.floats(0, 1)))
    busy = open_h * busy_share
    return pd.DataFrame({
        "facility_id": np.arange(n),
        "kind": draw(hnp.arrays(object, n, elements=st.sampled_from(["library", "maker", "textile_mill",
                                                                      "makerspace"]))),
        "open_machine_hours": open_h, "busy_machine_hours": busy,
        "platform_busy_machine_hours": busy * platform_share,
    })


@SETTINGS
@given(facilities_tables())
def test_utilization_is_a_share(facilities):
    out = utilization(facilities)
    for value in (out["overall"], out["public_workshops"], out["platform_share_of_capacity"],
                  *out["by_facility_kind"].values()):
        assert in_unit(value), out
    if out["overall"] is not None and out["platform_share_of_capacity"] is not None:
        assert out["platform_share_of_capacity"] <= out["overall"] + EPS


@SETTINGS
@given(agents_tables(), st.integers(1, 50))
def test_adoption_shares_sum_to_one(agents, hours_run):
    n = len(agents)
    rows = [{"hour": h, "day": h // 24, **{f"n_{s}": int((agents["stage"] == s).sum()) for s in STAGES}}
            for h in range(hours_run)]
    out = adoption(agents, pd.DataFrame(rows), n_citizens=n)
    shares = list(out["final_shares"].values())
    assert all(in_unit(x) for x in shares)
    assert math.isclose(sum(shares), 1.0)
    assert sum(out["final_counts"].values()) == n
