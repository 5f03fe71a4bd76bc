"""The city economy on the real default map: channels, agents, exact times, conservation, seeds."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from citymodel import agents
from citymodel.config import Config
from citymodel.maps import load_city
from citymodel.runner import run_to_folder, simulate

CITIZENS = 3000
DAYS = 14.0


def small_config(seed: int = 7, citizens: int = CITIZENS, days: float = DAYS) -> Config:
    cfg = Config()
    cfg.run.citizens = citizens
    cfg.run.days = days
    cfg.run.seed = seed
    return cfg


@pytest.fixture(scope="module")
def city():
    return load_city("default")


@pytest.fixture(scope="module")
def result(city):
    return simulate(small_config(), city)


def test_all_three_channels_occur(result):
    counts = result.tables["orders"]["channel"].value_counts()
    for channel in ("import", "platform", "self_fabrication"):
        assert counts.get(channel, 0) > 0, f"no {channel} orders in a default run"


def test_all_five_agent_types_are_mesa_agents(result):
    model = result.model
    kinds = {type(a) for a in model.agents}
    for cls in (agents.Citizen, agents.Designer, agents.Maker, agents.PublicWorkshop, agents.TextileMill):
        assert cls in kinds, f"no {cls.__name__} among the model's agents"
    assert len(model.agents_by_type[agents.Citizen]) == CITIZENS


def test_facility_kinds_are_the_documented_ones(result):
    allowed = {"library", "school", "college", "community_centre", "arts_centre", "youth_centre", "shopping_centre",
               "makerspace", "maker", "textile_mill"}
    kinds = set(result.tables["facilities"]["kind"])
    assert kinds <= allowed
    assert {"maker", "textile_mill", "makerspace"} <= kinds


def test_citizen_handles_read_the_population_columns(result):
    model = result.model
    citizen = model.citizens[123]
    assert citizen.income == pytest.approx(model.population.income[123])
    assert citizen.stage in ("unaware", "aware", "prosumer", "maker")
    row = result.tables["agents"].iloc[123]
    assert citizen.home_node == row["home_node"]
    assert citizen.orders == {c: row[f"orders_{c}"] for c in ("import", "platform", "self_fabrication")}


def test_orders_are_conserved_per_channel(result):
    """Three counters kept by different code paths agree per channel: the citizens' order counts (added at
    the choice), the hourly time series (counted at the choice) and the order book (a row per order made);
    and each order's status agrees with its timestamps."""
    orders = result.tables["orders"]
    agents = result.tables["agents"]
    ts = result.tables["timeseries"]
    book = orders["channel"].value_counts()
    for channel in ("import", "platform", "self_fabrication"):
        assert agents[f"orders_{channel}"].sum() == book.get(channel, 0), channel
        assert ts[f"orders_{channel}"].sum() == book.get(channel, 0), channel
    delivered = orders["status"] == "delivered"
    assert orders.loc[delivered, "delivered_min"].notna().all()
    assert orders.loc[~delivered, "delivered_min"].isna().all()
    assert (orders.loc[delivered, "delivered_min"] >= orders.loc[delivered, "created_min"]).all()
    assert set(orders["status"]) <= {"delivered", "in_progress", "cancelled"}


def test_busy_machine_hours_never_exceed_open(result):
    fac = result.tables["facilities"]
    assert (fac["busy_machine_hours"] <= fac["open_machine_hours"] + 1e-6).all()
    assert (fac["platform_busy_machine_hours"] <= fac["busy_machine_hours"] + 1e-6).all()
    assert fac["busy_machine_hours"].sum() > 0


def test_platform_payments_split_the_price_by_the_configured_shares(result):
    """Each delivered platform order's price is split as configured: the designer gets the royalty share,
    the platform keeps the commission share, the facility the rest (checked from the ledger's rows
    against the order book's prices, not against the variables that wrote them)."""
    cfg = Config().platform
    ledger = result.tables["ledger"]
    assert (ledger["amount"] >= 0).all()
    assert ledger["payer"].notna().all() and ledger["payee"].notna().all()
    orders = result.tables["orders"].set_index("order_id")
    platform = orders[(orders["channel"] == "platform") & (orders["status"] == "delivered")]
    assert len(platform) > 0
    rows = ledger[ledger["order_id"].isin(platform.index)]
    price = platform["price"]
    to_designer = rows[rows["payee"].str.startswith("designer:")].groupby("order_id")["amount"].sum()
    to_facility = rows[rows["payee"].str.startswith("facility:")].groupby("order_id")["amount"].sum()
    assert to_designer.reindex(price.index).to_numpy() == pytest.approx(cfg.royalty_share * price.to_numpy(),
                                                                        rel=1e-9)
    kept = price - to_designer.reindex(price.index) - to_facility.reindex(price.index)
    assert kept.to_numpy() == pytest.approx(cfg.commission * price.to_numpy(), rel=1e-9, abs=1e-9)
    # the facility is the one the order book says made it
    payee = rows[rows["payee"].str.startswith("facility:")].set_index("order_id")["payee"]
    assert (payee.reindex(price.index) == "facility:" + platform["facility_id"].astype(str)).all()


def test_order_prices_match_citizen_payments(result):
    orders = result.tables["orders"].set_index("order_id")
    ledger = result.tables["ledger"]
    paid = ledger[ledger["payer"].str.startswith("citizen:") & (ledger["order_id"] >= 0)]
    by_order = paid.groupby("order_id")["amount"].sum()
    delivered_local = orders[(orders["channel"] != "import") & (orders["status"] == "delivered")]
    assert len(delivered_local) > 0
    for order_id, row in delivered_local.iterrows():
        assert by_order.get(order_id, 0.0) == pytest.approx(row["price"], rel=1e-9, abs=1e-9)


def test_every_trip_takes_its_routed_shortest_time(result, city):
    trips = result.tables["trips"]
    assert len(trips) > 20
    for mode, group in trips.groupby("mode"):
        graph = city.graph(mode)
        for row in group.itertuples():
            expected = nx.shortest_path_length(graph, row.origin_node, row.destination_node,
                                               weight="travel_time")
            assert math.isclose(row.travel_time_s, expected, rel_tol=1e-9, abs_tol=1e-9)
            assert row.arrival_min - row.departure_min == pytest.approx(row.travel_time_s / 60.0,
                                                                         rel=1e-12, abs=1e-9)


def test_every_delivery_takes_its_routed_shortest_time(result, city):
    orders = result.tables["orders"]
    done = orders[(orders["status"] == "delivered") & orders["destination_node"].ge(0)]
    sample = done.groupby("channel").head(150)
    for row in sample.itertuples():
        graph = city.graph(row.mode)
        expected = nx.shortest_path_length(graph, row.origin_node, row.destination_node,
                                           weight="travel_time")
        assert math.isclose(row.travel_time_s, expected, rel_tol=1e-9, abs_tol=1e-9)
    platform = done[done["channel"] == "platform"]
    trips = result.tables["trips"].set_index("order_id")
    legs = trips[trips["purpose"] == "delivery"].loc[platform["order_id"]]
    np.testing.assert_allclose(platform["delivered_min"].to_numpy() - legs["departure_min"].to_numpy(),
                               platform["travel_time_s"].to_numpy() / 60.0, rtol=1e-9, atol=1e-9)
    dispatch = {name: spec["dispatch_days"] * 1440.0 for name, spec in result.model.config.platform.processes.items()}
    process = platform["product"].map({p: v["platform_process"] for p, v in
                                       result.model.config.needs.products.items()})
    np.testing.assert_allclose(legs["departure_min"].to_numpy() - platform["completed_min"].to_numpy(),
                               process.map(dispatch).to_numpy(), rtol=1e-12, atol=1e-9)


def test_jobs_start_only_while_the_facility_is_open(result):
    model = result.model
    orders = result.tables["orders"]
    local = orders[(orders["channel"] != "import") & orders["started_min"].notna()]
    assert len(local) > 0
    for row in local.itertuples():
        facility = model.facilities[row.facility_id]
        assert facility.calendar.is_open(row.started_min), (row.order_id, facility.kind)
        assert row.created_min <= row.started_min <= row.completed_min or np.isnan(row.completed_min)


def test_timeseries_has_one_row_per_hour_with_stage_counts(result):
    ts = result.tables["timeseries"]
    assert len(ts) == int(DAYS * 24)
    stages = ts[["n_unaware", "n_aware", "n_prosumer", "n_maker"]].sum(axis=1)
    assert (stages == CITIZENS).all()
    hourly = ts[["orders_import", "orders_platform", "orders_self_fabrication"]].to_numpy().sum()
    assert hourly == len(result.tables["orders"])


def test_fallback_placements_are_stated(result):
    fac = result.tables["facilities"]
    # central Leeds has no makerspace POI: the rule put one at a craft POI (a craft that makes goods)
    assert fac.loc[fac["kind"] == "makerspace", "placement"].tolist() == ["poi:craft"]
    assert any("no makerspace POI" in n for n in result.model.notes)
    # its one industrial POI (OSM man_made=works) hosts the textile mill: no fallback, no note
    assert fac.loc[fac["kind"] == "textile_mill", "placement"].tolist() == ["poi:industrial"]
    assert not any("textile mill" in n for n in result.model.notes)
    # the libraries open at their DCMS hours, stated in the notes
    assert any("own hours from dcms-libraries-2023" in n for n in result.model.notes)


def test_fallback_placements_are_stated_on_helsinki(helsinki_city):
    res = simulate(small_config(citizens=300, days=1), helsinki_city)
    fac = res.tables["facilities"]
    # the Helsinki map has no makerspace and no industrial POI: both were placed by a rule
    assert fac.loc[fac["kind"] == "textile_mill", "placement"].tolist() == ["fallback:farthest_van_node"]
    assert any("textile mill" in n for n in res.model.notes)
    assert any("no makerspace POI" in n for n in res.model.notes)
    assert any("incomes are synthetic" in n for n in res.model.notes)


def test_same_seed_gives_byte_identical_parquet_and_other_seeds_differ(tmp_path, city):
    cfg = small_config(seed=11, citizens=1500, days=5)
    a = run_to_folder(cfg, tmp_path / "a", city=city)
    b = run_to_folder(small_config(seed=11, citizens=1500, days=5), tmp_path / "b", city=city)
    c = run_to_folder(small_config(seed=12, citizens=1500, days=5), tmp_path / "c", city=city)
    files = sorted(p.name for p in a.folder.glob("*.parquet"))
    assert {"trips.parquet", "orders.parquet", "agents.parquet", "facilities.parquet",
            "timeseries.parquet", "ledger.parquet"} <= set(files)
    for name in files:
        assert (a.folder / name).read_bytes() == (b.folder / name).read_bytes(), name
    assert (a.folder / "orders.parquet").read_bytes() != (c.folder / "orders.parquet").read_bytes()
    assert (a.folder / "agents.parquet").read_bytes() != (c.folder / "agents.parquet").read_bytes()


def test_run_folder_is_never_overwritten(tmp_path, city):
    cfg = small_config(citizens=300, days=1)
    first = run_to_folder(cfg, tmp_path / "run", city=city)
    before = {p.name: p.read_bytes() for p in first.folder.iterdir()}
    from citymodel.errors import CitymodelError

    with pytest.raises(CitymodelError, match="already exists"):
        run_to_folder(small_config(citizens=300, days=1, seed=1), tmp_path / "run", city=city)
    after = {p.name: p.read_bytes() for p in first.folder.iterdir()}
    assert before == after


def test_output_columns_named_by_the_issue(result):
    t = result.tables
    orders_cols = {"order_id", "citizen_id", "channel", "product", "facility_id", "facility_kind",
                   "created_min", "started_min", "completed_min", "delivered_min", "status", "origin_node",
                   "destination_node", "mode", "travel_time_s", "distance_m", "price", "royalty", "subsidy"}
    assert orders_cols <= set(t["orders"].columns)
    assert {"citizen_id", "income", "income_quintile", "home_node", "stage", "orders_import",
            "orders_platform", "orders_self_fabrication"} <= set(t["agents"].columns)
    assert {"facility_id", "kind", "node", "machines", "open_machine_hours", "busy_machine_hours",
            "revenue"} <= set(t["facilities"].columns)
    assert {"trip_id", "agent_id", "mode", "origin_node", "destination_node", "departure_min",
            "arrival_min", "travel_time_s", "distance_m"} <= set(t["trips"].columns)
    assert set(t["orders"]["product"]) <= set(Config().needs.products)
    assert isinstance(t["orders"], pd.DataFrame)


def test_subsidies_are_paid_by_the_public_budget(city):
    cfg = small_config(citizens=2000, days=10)
    cfg.policy.fee_waiver_share = 1.0
    cfg.policy.material_subsidy_share = 0.5
    cfg.policy.targeted_quintiles = [1, 2]
    res = simulate(cfg, city)
    orders = res.tables["orders"]
    agents_t = res.tables["agents"].set_index("citizen_id")
    selfmade = orders[(orders["channel"] == "self_fabrication") & (orders["status"] == "delivered")]
    assert len(selfmade) > 0
    quintile = agents_t.loc[selfmade["citizen_id"], "income_quintile"].to_numpy()
    assert (selfmade["subsidy"].to_numpy()[quintile <= 2] > 0).all()
    assert (selfmade["subsidy"].to_numpy()[quintile > 2] == 0).all()
    # the subsidy is the whole fee of every attempt plus half its material, worked out here from the
    # workshop's fee and the order's hours, attempts and material
    fee = np.array([res.model.facilities[int(f)].fee_per_hour for f in selfmade["facility_id"]])
    expected = selfmade["attempts"] * (fee * selfmade["machine_hours"] + 0.5 * selfmade["material_cost"])
    eligible = quintile <= 2
    assert selfmade["subsidy"].to_numpy()[eligible] == pytest.approx(expected.to_numpy()[eligible], rel=1e-9)
    ledger = res.tables["ledger"]
    subsidy_paid = ledger.loc[(ledger["payer"] == "public_budget") & (ledger["kind"] == "subsidy"), "amount"].sum()
    assert subsidy_paid == pytest.approx(orders["subsidy"].sum(), rel=1e-9)
