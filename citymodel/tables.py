"""Turn a model's state into the run's output tables (pandas DataFrames, one per Parquet file).

Data flows one way: the model owns numpy columns; this module reads them at a
given time and builds the tables that ``outputs`` writes and ``metrics`` reads.
See ``docs/outputs.md`` for every column and its unit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from citymodel.orderbook import CHANNELS
from citymodel.population import STAGES

if TYPE_CHECKING:
    from citymodel.model import CityModel

TABLE_NAMES = ("trips", "orders", "agents", "facilities", "timeseries", "ledger", "designers")
"""The tables of a run, each written as ``<name>.parquet``."""


def agents_table(model: CityModel) -> pd.DataFrame:
    """Final state per citizen.

    Columns: ``citizen_id, income`` (£/year), ``income_quintile`` (1 poorest … 5),
    ``home_node`` (OSM id), ``x_m, y_m`` (m from the map centre), ``skill`` (0..1),
    ``stage``, ``orders_import, orders_platform, orders_self_fabrication``,
    ``walk_time_to_workshop_s`` (s to the nearest public workshop open at least
    ``access.min_weekly_open_hours`` a week; inf if none), ``walk_time_to_<machine>_s``
    (the same, to one with that machine), ``access_need_share`` (share of the citizen's
    needs, by their yearly rates, whose machine is within ``access.threshold_min``),
    ``experience`` (satisfaction with DM orders, 0..1, NaN before any),
    ``last_dm_use_day`` (day of the last DM order finished, NaN if none),
    ``degree`` (social ties), ``became_aware_day, became_prosumer_day,
    became_maker_day`` (day, NaN if never), ``zone_id`` (the citizen's zone, e.g. an
    LSOA code; "" without zones), ``imd_decile`` and ``income_decile`` (of the zone,
    1 most deprived … 10; -1 when not known).
    """
    pop = model.population
    n = len(pop)
    df = pd.DataFrame({
        "citizen_id": np.arange(n, dtype=np.int64),
        "income": pop.income.astype(np.float64),
        "income_quintile": pop.income_quintile.astype(np.int8),
        "home_node": pop.home_node.astype(np.int64),
        "x_m": pop.x_m.astype(np.float64),
        "y_m": pop.y_m.astype(np.float64),
        "skill": pop.skill.astype(np.float64),
        "stage": pd.Categorical.from_codes(pop.stage.astype(np.int64), categories=list(STAGES)),
    })
    for c, name in enumerate(CHANNELS):
        df[f"orders_{name}"] = pop.orders_by_channel[:, c].astype(np.int64)
    df["walk_time_to_workshop_s"] = np.asarray(model.walk_to_workshop_s, dtype=np.float64)
    for machine, walk in model.access_walk_s.items():
        df[f"walk_time_to_{machine}_s"] = np.asarray(walk, dtype=np.float64)
    df["access_need_share"] = access_need_share(model)
    df["experience"] = model.adoption.experience.astype(np.float64)
    df["last_dm_use_day"] = model.adoption.last_use_min / 1440.0
    df["degree"] = np.asarray(model.degree, dtype=np.int64)
    for s, name in enumerate(STAGES[1:], start=1):
        df[f"became_{name}_day"] = pop.stage_day[:, s]
    df["stage"] = df["stage"].astype(str)
    df["zone_id"] = pop.zone_column("zone_id", "").astype(str)
    df["imd_decile"] = pop.zone_column("imd_decile", -1).astype(np.int8)
    df["income_decile"] = pop.zone_column("income_decile", -1).astype(np.int8)
    return df


def access_need_share(model: CityModel) -> np.ndarray:
    """Per citizen: the share of their needs (by yearly rate) whose machine is within the access threshold."""
    cfg = model.config
    threshold_s = cfg.access.threshold_min * 60.0
    rates = np.array([cfg.needs.products[p]["needs_per_citizen_year"] for p in model.products.names], dtype=float)
    total = rates.sum()
    share = np.zeros(len(model.population))
    if total <= 0:
        return share
    for rate, machine in zip(rates, model.products.machine, strict=True):
        share += rate * (model.access_walk_s[machine] <= threshold_s)
    return share / total


def facilities_table(model: CityModel) -> pd.DataFrame:
    """One row per facility: where, what machines, how busy, how much earned.

    Columns: ``facility_id, kind, name, node`` (walk-graph OSM id), ``lon, lat``,
    ``placement`` (``poi`` or the fallback rule used), ``machines`` (count), one
    ``machines_<type>`` column per machine type, ``open_machine_hours,
    busy_machine_hours, platform_busy_machine_hours`` (machine-hours up to the end
    of the run), ``revenue`` (£), ``owner_citizen_id`` (makers; -1 otherwise),
    ``opened_day``.
    """
    now = model.now
    machine_types = sorted({m for f in model.facilities for m in f.pools})
    rows = []
    for f in model.facilities:
        row = {
            "facility_id": f.facility_id,
            "kind": f.kind,
            "name": f.name,
            "node": int(f.nodes["walk"]),
            "lon": float(f.lon),
            "lat": float(f.lat),
            "placement": f.placement,
            "machines": f.machines,
        }
        for m in machine_types:
            row[f"machines_{m}"] = f.pools[m].count if m in f.pools else 0
        row.update({
            "open_machine_hours": f.open_machine_hours(now),
            "busy_machine_hours": f.busy_machine_hours(now),
            "platform_busy_machine_hours": f.platform_machine_hours(now),
            "setup_machine_hours": sum(p.setup_work_min for p in f.pools.values()) / 60.0,
            "revenue": float(f.revenue),
            "owner_citizen_id": int(getattr(f, "owner", -1)),
            "opened_day": f.opened_min / 1440.0,
            "closed_day": f.closed_min / 1440.0 if np.isfinite(f.closed_min) else np.nan,
        })
        rows.append(row)
    return pd.DataFrame(rows)


def designers_table(model: CityModel) -> pd.DataFrame:
    """One row per designer: ``designer_id, designs, units_sold, royalty_total`` (£)."""
    return pd.DataFrame({
        "designer_id": [d.designer_id for d in model.designers],
        "designs": [len(d.designs) for d in model.designers],
        "units_sold": [d.units_sold for d in model.designers],
        "royalty_total": [d.royalty_total for d in model.designers],
    })


def model_tables(model: CityModel) -> dict[str, pd.DataFrame]:
    """Every output table of ``model`` as of ``model.now`` (keys as in ``TABLE_NAMES``)."""
    return {
        "trips": model.trips.to_frame(),
        "orders": model.orders.to_frame(model.now),
        "agents": agents_table(model),
        "facilities": facilities_table(model),
        "timeseries": model.observation.frame(),
        "ledger": model.ledger.to_frame(),
        "designers": designers_table(model),
    }
