"""CityModel as a Mesa user drives it: flat parameters, run_model, DataCollector, batch_run, pickle, shared maps."""

from __future__ import annotations

import pickle

import mesa
import numpy as np
import pandas as pd
import pytest

from citymodel import CityModel, Config
from citymodel.agents import Citizen
from citymodel.errors import CitymodelError, ConfigError
from citymodel.maps import clear_shared_cities, load_city, shared_city
from citymodel.observation import TIMESERIES_COLUMNS
from citymodel.runner import run_to_folder
from citymodel.tables import model_tables


@pytest.fixture(scope="module")
def city():
    return load_city("default")


def test_flat_keyword_parameters_set_the_config(city):
    model = CityModel(citizens=300, days=0.5, seed=9, policy__fee_waiver_share=0.25,
                      platform__matching="cheapest", city=city)
    cfg = model.config
    assert (cfg.run.citizens, cfg.run.days, cfg.run.seed) == (300, 0.5, 9)
    assert cfg.policy.fee_waiver_share == 0.25 and cfg.platform.matching == "cheapest"
    assert len(model.population) == 300


def test_from_params_takes_dotted_and_flat_names(city):
    model = CityModel.from_params({"citizens": 200, "policy.material_subsidy_share": 0.5,
                                   "adoption__bass_q": 0.7}, city=city)
    assert model.config.run.citizens == 200
    assert model.config.policy.material_subsidy_share == 0.5
    assert model.config.adoption.bass_q == 0.7


def test_parameters_over_a_config_leave_the_config_unchanged(city):
    base = Config()
    base.run.citizens = 250
    model = CityModel(config=base, city=city, seed=3)
    assert model.config.run.seed == 3 and model.config.run.citizens == 250
    assert base.run.seed == 42, "the caller's Config must not be changed"
    assert CityModel(config=base, city=city).config is base


@pytest.mark.parametrize(("params", "named"), [
    ({"citizens": -5}, "run.citizens"),
    ({"policy__fee_waiver_sharee": 0.5}, "policy.fee_waiver_sharee"),
    ({"platform__matching": "fastest"}, "platform.matching"),
])
def test_bad_parameters_are_one_line_errors_naming_the_key(city, params, named):
    with pytest.raises(ConfigError) as err:
        CityModel(city=city, **params)
    assert named in str(err.value) and "\n" not in str(err.value)


def test_run_model_ends_at_the_horizon(city):
    model = CityModel(citizens=300, days=1.5, seed=1, city=city)
    model.run_model()
    assert model.running is False
    assert model.steps == 36 and model.now == 36 * 60.0
    assert len(model.timeseries_rows) == 36


def test_citizens_are_registered_mesa_agents_that_refuse_removal(city):
    model = CityModel(citizens=400, days=1, seed=1, city=city)
    citizens = model.agents_by_type[Citizen]
    assert len(citizens) == 400
    assert {c.row for c in citizens} == set(range(400))
    with pytest.raises(CitymodelError, match="cannot be removed"):
        model.citizens[5].remove()
    assert len(model.agents_by_type[Citizen]) == 400


def test_datacollector_frame_equals_timeseries_parquet(tmp_path, city):
    cfg = Config()
    cfg.run.citizens, cfg.run.days, cfg.run.seed = 1500, 3.0, 4
    result = run_to_folder(cfg, tmp_path / "run", city=city)
    frame = result.model.datacollector.get_model_vars_dataframe()
    parquet = pd.read_parquet(tmp_path / "run" / "timeseries.parquet")
    assert list(frame.columns) == list(TIMESERIES_COLUMNS) == list(parquet.columns)
    assert len(frame) == 72
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), parquet, check_dtype=False)
    assert parquet["orders_import"].sum() > 0 and parquet["n_aware"].iloc[-1] > 0


def test_batch_run_over_two_values_and_two_iterations(city):
    shared_city("default")  # batch_run builds models without a city: they take the shared one
    rows = mesa.batch_run(CityModel, parameters={"citizens": [300, 600], "days": 1.0, "seed": 5},
                          iterations=2, max_steps=100, number_processes=1, display_progress=False)
    frame = pd.DataFrame(rows)
    assert len(frame) == 4
    assert set(frame["citizens"]) == {300, 600}
    assert set(frame["Step"]) == {23}, "data of the last step of each run (the 24th hour)"
    assert set(TIMESERIES_COLUMNS) <= set(frame.columns)
    for citizens, group in frame.groupby("citizens"):
        assert group["n_unaware"].add(group["n_aware"]).add(group["n_prosumer"]).add(group["n_maker"]).eq(
            citizens).all()
        first, second = group.iloc[0], group.iloc[1]
        assert first[list(TIMESERIES_COLUMNS)].equals(second[list(TIMESERIES_COLUMNS)]), "same seed, same result"
    small, large = frame[frame.citizens == 300].iloc[0], frame[frame.citizens == 600].iloc[0]
    assert large["n_aware"] > small["n_aware"]


def _tables(model) -> dict[str, pd.DataFrame]:
    return {k: v for k, v in model_tables(model).items()}


def test_pickled_model_steps_like_the_original(city):
    model = CityModel(citizens=1500, days=4, seed=8, adoption__maker_rate=5.0, city=city)
    for _ in range(30):
        model.step()
    clone = pickle.loads(pickle.dumps(model))
    assert clone.now == model.now and clone.steps == model.steps
    for _ in range(40):
        model.step()
        clone.step()
    a, b = _tables(model), _tables(clone)
    assert len(a["orders"]) > 50 and (a["orders"]["channel"] != "import").sum() > 0
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    pd.testing.assert_frame_equal(model.datacollector.get_model_vars_dataframe(),
                                  clone.datacollector.get_model_vars_dataframe())


def test_shared_city_is_loaded_once_and_models_do_not_change_it(city):
    clear_shared_cities()
    first = shared_city("default")
    assert shared_city("default") is first
    edges_before = {m: first.graph(m).number_of_edges() for m in ("walk", "bike", "van")}
    pois_before = first.pois.copy()
    one = CityModel(citizens=500, days=1, seed=2)
    two = CityModel(citizens=500, days=1, seed=2)
    assert one.city is first and two.city is first
    one.run_model()
    two.run_model()
    assert {m: first.graph(m).number_of_edges() for m in ("walk", "bike", "van")} == edges_before
    pd.testing.assert_frame_equal(first.pois, pois_before)
    fresh = CityModel(citizens=500, days=1, seed=2, city=load_city("default"))
    fresh.run_model()
    np.testing.assert_array_equal(one.orders.to_frame(one.now)["created_min"],
                                  fresh.orders.to_frame(fresh.now)["created_min"])
