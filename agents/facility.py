"""The common part of every place with machines: pools, opening hours, prices and accounts."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import mesa

from citymodel.calendar import WeeklyCalendar
from citymodel.config import FacilityKindConfig
from citymodel.production import MachinePool

if TYPE_CHECKING:
    from citymodel.model import CityModel


def site_calendar(model, kind: str, hours: list, name: str = "") -> WeeklyCalendar:
    """The calendar of a facility: its kind's shared calendar, or one for a site with its own hours.

    Sites with the same own hours share one calendar (kept by the model's production component).
    """
    if hours == model.config.facilities.kinds[kind]["hours"]:
        return model.calendar_for(kind)
    return model.production.site_calendar(kind, hours, name)


class FacilityAgent(mesa.Agent):
    """A facility with machine pools (one per machine type) and weekly opening hours.

    Attributes
    ----------
    facility_id
        Identifier in the output tables.
    kind
        ``library``, ``school``, ``college``, ``community_centre``, ``arts_centre``,
        ``youth_centre``, ``shopping_centre``, ``makerspace``, ``maker`` or ``textile_mill``.
    nodes
        OSM node id of the site in each travel mode's graph (``{"walk": …, "van": …}``).
    pools
        Machine type -> :class:`~citymodel.production.MachinePool`.
    fee_per_hour
        Price of a machine-hour (£/h) charged to the user or the platform.
    revenue
        Money received (£): fees, materials and platform payments.
    opened_min
        When the facility joined the city (minutes; makers appear during a run).
    placement
        How the site was chosen (a real POI, or the fallback rule used).
    x_m, y_m
        Position in metres east and north of the map centre.
    open_orders
        Platform orders assigned here and not yet made.
    closed_min
        When the facility stopped trading (a maker who sold the machine; inf while trading).
    """

    def __init__(self, model: CityModel, facility_id: int, kind: str, spec: FacilityKindConfig,
                 nodes: dict[str, int], name: str = "", lon: float = float("nan"),
                 lat: float = float("nan"), placement: str = "poi", opened_min: float = 0.0,
                 extra_machines: dict[str, int] | None = None, spec_kind: str | None = None) -> None:
        super().__init__(model)
        self.facility_id = facility_id
        self.kind = kind
        self.nodes = nodes
        self.name = name
        self.lon = lon
        self.lat = lat
        self.placement = placement
        self.opened_min = opened_min
        self.fee_per_hour = spec.fee_per_hour
        self.takes_platform_orders = spec.takes_platform_orders
        self.calendar = site_calendar(model, spec_kind or kind, spec.hours, name)
        machines = dict(spec.machines)
        for machine, extra in (extra_machines or {}).items():
            machines[machine] = machines.get(machine, 0) + extra
        self.pools = {
            m: MachinePool(m, c, self.calendar, batch_size=spec.batch_size, setup_min=spec.setup_hours * 60.0,
                           batch_min=spec.batch_min, batch_wait_min=spec.batch_wait_hours * 60.0)
            for m, c in machines.items() if c > 0
        }
        self.revenue = 0.0
        self.x_m = float("nan")
        self.y_m = float("nan")
        self.open_orders = 0
        self.closed_min = float("inf")
        self._margins: deque[tuple[float, float]] = deque()

    @property
    def trading(self) -> bool:
        """Whether the facility still trades (has not closed)."""
        return self.closed_min == float("inf")

    def idle(self) -> bool:
        """No job queued or running and no platform order on its way here."""
        return self.open_orders == 0 and not any(p.queue or p.running for p in self.pools.values())

    def record_margin(self, time_min: float, amount: float) -> None:
        """Record a job's margin (£: fee for the job less running costs) earned at ``time_min``."""
        self._margins.append((time_min, amount))

    def margin_since(self, time_min: float) -> float:
        """Margin (£) earned since ``time_min`` (older records are dropped)."""
        while self._margins and self._margins[0][0] < time_min:
            self._margins.popleft()
        return float(sum(m for _, m in self._margins))

    @property
    def node(self) -> int:
        """OSM node id in the walking graph."""
        return self.nodes["walk"]

    @property
    def machines(self) -> int:
        """Number of machines of all types."""
        return sum(p.count for p in self.pools.values())

    def open_machine_hours(self, now: float) -> float:
        """Machine-hours open since the facility joined the city, up to ``now`` or its closing (minutes)."""
        open_min = self.calendar.open_minutes_between(self.opened_min, min(now, self.closed_min))
        return self.machines * open_min / 60.0

    def busy_machine_hours(self, now: float) -> float:
        """Machine-hours spent on jobs up to ``now`` (never more than open)."""
        return sum(p.busy_minutes_until(now) for p in self.pools.values()) / 60.0

    def platform_machine_hours(self, now: float) -> float:
        """Machine-hours spent on platform orders up to ``now``."""
        return sum(p.platform_minutes_until(now) for p in self.pools.values()) / 60.0
