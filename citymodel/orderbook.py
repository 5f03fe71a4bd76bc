"""The order book and the trip log: one row per order and per trip, in numpy columns.

Every need that becomes an order is a row from its creation; its times fill in
as it moves (``created_min`` → ``started_min`` → ``completed_min`` →
``delivered_min``, minutes since the run started). Status is ``delivered`` once
the goods reach the citizen, ``cancelled`` if no facility could take it, else
``in_progress`` — so created = delivered + in_progress + cancelled always holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citymodel.columns import ColumnTable
from citymodel.vocabulary import (
    CANCELLED,
    CHANNELS,
    DELIVERED,
    IN_PROGRESS,
    MACHINES,
    MODES,
    ORDER_ORIGIN_KINDS,
    STATUSES,
    TRIP_AGENT_KINDS,
    TRIP_PURPOSES,
)

__all__ = ["CANCELLED", "CHANNELS", "DELIVERED", "IN_PROGRESS", "STATUSES", "OrderBook", "TripLog"]


class OrderBook:
    """All orders of a run (see ``docs/outputs.md`` for every column and its unit)."""

    def __init__(self, products: list[str] | None = None, machines: list[str] | None = None) -> None:
        self.products = list(products or [])
        self.machines = list(dict.fromkeys([*MACHINES, *(machines or [])]))
        self.t = ColumnTable(
            {
                "order_id": "i8", "citizen_id": "i8", "channel": "i1", "product": "i2", "design_id": "i8",
                "designer_id": "i8", "facility_id": "i8", "facility_kind": "i1", "machine": "i1",
                "created_min": "f8", "started_min": "f8", "completed_min": "f8", "delivered_min": "f8",
                "status": "i1", "origin_node": "i8", "destination_node": "i8", "mode": "i1",
                "travel_time_s": "f8", "distance_m": "f8", "delivery_vehicle_km": "f8", "price": "f8",
                "royalty": "f8", "subsidy": "f8", "machine_hours": "f8", "quoted_hours": "f8",
                "material_cost": "f8", "quoted_price": "f8", "quoted_ready_min": "f8", "attempts": "i2",
                "batch_size": "i2",
            },
            categories={"channel": CHANNELS, "status": STATUSES, "mode": MODES,
                        "facility_kind": ORDER_ORIGIN_KINDS, "machine": self.machines},
            fill={"design_id": -1, "designer_id": -1, "facility_id": -1, "origin_node": -1,
                  "destination_node": -1, "royalty": 0.0, "subsidy": 0.0, "price": 0.0,
                  "delivery_vehicle_km": 0.0, "attempts": 0, "batch_size": 0},
        )
        self.product_names: list[str] = self.products

    def __len__(self) -> int:
        return len(self.t)

    def new(self, citizen_id: int, channel: int, product: int, design, machine: str, created_min: float,
            machine_hours: float, quoted_price: float, quoted_ready_min: float) -> int:
        """Add a local (platform or self-fabrication) order with the quote it was chosen on; return its id."""
        i = self.t.n
        self.t.append(order_id=i, citizen_id=citizen_id, channel=channel, product=product,
                      design_id=design.design_id, designer_id=design.designer_id, machine=machine,
                      created_min=created_min, machine_hours=machine_hours, quoted_hours=design.machine_hours,
                      material_cost=design.material_cost, quoted_price=quoted_price,
                      quoted_ready_min=quoted_ready_min)
        return i

    def add_imports(self, who, product_idx, created, delivered, price, depot_node, dest_nodes, time_s, dist_m,
                    machines, quoted_ready_min, vehicle_km) -> np.ndarray:
        """Add mass-produced import orders (vectorised); return their ids."""
        n = len(who)
        start = self.t.n
        machine_codes = np.array([self.t.code("machine", m) for m in machines], dtype=np.int8)
        return self.t.extend(
            n, order_id=np.arange(start, start + n), citizen_id=who, channel="import", product=product_idx,
            facility_kind="import", machine=machine_codes, created_min=created, delivered_min=delivered,
            status=IN_PROGRESS, origin_node=depot_node, destination_node=dest_nodes, mode="van",
            travel_time_s=time_s, distance_m=dist_m, delivery_vehicle_km=vehicle_km, price=price,
            machine_hours=0.0, quoted_hours=0.0, material_cost=0.0, quoted_price=price,
            quoted_ready_min=quoted_ready_min,
        )

    # ---- reading one order
    def machine_of(self, i: int) -> str:
        """Machine type needed by order ``i``."""
        return self.machines[self.t.get(i, "machine")]

    def citizen_of(self, i: int) -> int:
        return int(self.t.get(i, "citizen_id"))

    def channel_of(self, i: int) -> int:
        return int(self.t.get(i, "channel"))

    def facility_of(self, i: int) -> int:
        return int(self.t.get(i, "facility_id"))

    def designer_of(self, i: int) -> int:
        return int(self.t.get(i, "designer_id"))

    def quote_hours(self, i: int) -> float:
        """Machine hours the design states (used for quotes)."""
        return float(self.t.get(i, "quoted_hours"))

    def machine_minutes(self, i: int) -> float:
        """Actual machine time of the job (minutes)."""
        return float(self.t.get(i, "machine_hours")) * 60.0

    def material_of(self, i: int) -> float:
        return float(self.t.get(i, "material_cost"))

    def price_of(self, i: int) -> float:
        return float(self.t.get(i, "price"))

    def royalty_of(self, i: int) -> float:
        return float(self.t.get(i, "royalty"))

    # ---- updating one order
    def assign(self, i: int, facility, mode: str, price: float | None = None, royalty: float | None = None) -> None:
        """Record the facility that makes order ``i`` and how the goods travel."""
        self.t.set(i, facility_id=facility.facility_id, facility_kind=facility.kind, mode=mode)
        if price is not None:
            self.t.set(i, price=price, royalty=royalty or 0.0)

    def set_money(self, i: int, price: float, subsidy: float) -> None:
        self.t.set(i, price=price, subsidy=subsidy)

    def set_started(self, i: int, time_min: float, batch_size: int = 1) -> None:
        """The (last) attempt of order ``i`` started at ``time_min`` in a batch of ``batch_size`` jobs."""
        if np.isnan(self.t.get(i, "started_min")):
            self.t.set(i, started_min=time_min)
        self.t.set(i, batch_size=batch_size, attempts=self.t.get(i, "attempts") + 1)

    def attempts_of(self, i: int) -> int:
        """Machine runs of order ``i`` so far (reprints after failures count)."""
        return int(self.t.get(i, "attempts"))

    def quoted_ready_of(self, i: int) -> float:
        return float(self.t.get(i, "quoted_ready_min"))

    def quoted_price_of(self, i: int) -> float:
        return float(self.t.get(i, "quoted_price"))

    def product_of(self, i: int) -> int:
        return int(self.t.get(i, "product"))

    def created_of(self, i: int) -> float:
        return float(self.t.get(i, "created_min"))

    def set_completed(self, i: int, time_min: float) -> None:
        self.t.set(i, completed_min=time_min)

    def set_trip(self, i: int, origin: int, dest: int, time_s: float, dist_m: float, vehicle_km: float) -> None:
        self.t.set(i, origin_node=origin, destination_node=dest, travel_time_s=time_s, distance_m=dist_m,
                   delivery_vehicle_km=vehicle_km)

    def set_delivered(self, i: int, time_min: float) -> None:
        self.t.set(i, delivered_min=time_min, status=DELIVERED)

    def cancel(self, i: int, time_min: float) -> None:
        self.t.set(i, status=CANCELLED, completed_min=np.nan)

    def status_at(self, now: float) -> np.ndarray:
        """Status codes at time ``now``: imports count as delivered once their delivery time has passed."""
        status = self.t["status"].copy()
        due = self.t["delivered_min"] <= now
        status[(status == IN_PROGRESS) & due] = DELIVERED
        return status

    def status_counts(self, now: float) -> dict[str, int]:
        """Orders by status at time ``now``."""
        counts = np.bincount(self.status_at(now), minlength=len(STATUSES))
        return {s: int(counts[k]) for k, s in enumerate(STATUSES)}

    def to_frame(self, now: float) -> pd.DataFrame:
        """orders.parquet as of time ``now`` (minutes): one row per order, string categories."""
        df = self.t.to_frame()
        status = self.status_at(now)
        df["status"] = np.asarray(STATUSES, dtype=object)[status]
        df.loc[status != DELIVERED, "delivered_min"] = np.nan
        df["product"] = np.asarray(self.products, dtype=object)[df["product"].to_numpy()]
        return df


class TripLog:
    """Every trip on the street graph: citizens walking to workshops and back, deliveries."""

    def __init__(self) -> None:
        self.t = ColumnTable(
            {"trip_id": "i8", "agent_id": "i8", "agent_kind": "i1", "purpose": "i1", "mode": "i1",
             "origin_node": "i8", "destination_node": "i8", "departure_min": "f8", "arrival_min": "f8",
             "travel_time_s": "f8", "distance_m": "f8", "order_id": "i8"},
            categories={"agent_kind": TRIP_AGENT_KINDS, "purpose": TRIP_PURPOSES, "mode": MODES},
        )

    def __len__(self) -> int:
        return len(self.t)

    def add(self, agent_id: int, agent_kind: str, purpose: str, mode: str, origin: int, dest: int,
            departure_min: float, arrival_min: float, time_s: float, dist_m: float, order_id: int) -> None:
        """Record one trip (times in minutes since the start; travel time in s; distance in m)."""
        self.t.append(trip_id=self.t.n, agent_id=agent_id, agent_kind=agent_kind, purpose=purpose, mode=mode,
                      origin_node=origin, destination_node=dest, departure_min=departure_min,
                      arrival_min=arrival_min, travel_time_s=time_s, distance_m=dist_m, order_id=order_id)

    def to_frame(self) -> pd.DataFrame:
        """trips.parquet: one row per trip."""
        return self.t.to_frame()
