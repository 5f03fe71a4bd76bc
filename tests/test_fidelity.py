"""The model's mechanisms as a distributed-manufacturing researcher reads them (issue: model fidelity).

Each test builds a real model on the embedded map and checks one mechanism through
the model's own outputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from citymodel import CityModel
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
