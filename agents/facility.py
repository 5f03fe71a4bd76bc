"""The common part of every place with machines: pools, opening hours, prices and accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from citymodel.calendar import WeeklyCalendar
from citymodel.config import FacilityKindConfig
from citymodel.production import MachinePool

if TYPE_CHECKING:
    from citymodel.model import CityModel


def site_calendar(model, kind: str, hours: list, name: str = "") -> WeeklyCalendar:
    """The calendar of a facility: its kind's shared calendar, or one for a site with its own hours.

    Sites with the same own hours share one calendar (cached on the model).
    """
    if hours == model.config.facilities.kinds[kind]["hours"]:
        return model.calendar_for(kind)
    cache = model.__dict__.setdefault("_site_calendars", {})
    key = (kind, repr(hours))
    if key not in cache:
        cache[key] = WeeklyCalendar(hours, model.config.run.start_weekday,
                                    always_open=getattr(model, "always_open", False),
                                    name=f"opening hours of {kind} site {name!r}")
    return cache[key]


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
            m: MachinePool(m, c, self.calendar, batch_size=spec.batch_size, setup_min=spec.setup_hours * 60.0)
            for m, c in machines.items() if c > 0
        }
        self.revenue = 0.0

    @property
    def node(self) -> int:
        """OSM node id in the walking graph."""
        return self.nodes["walk"]

    @property
    def machines(self) -> int:
        """Number of machines of all types."""
        return sum(p.count for p in self.pools.values())

    def open_machine_hours(self, now: float) -> float:
        """Machine-hours open since the facility joined the city, up to ``now`` (minutes)."""
        open_min = self.calendar.open_minutes_between(self.opened_min, now)
        return self.machines * open_min / 60.0

    def busy_machine_hours(self, now: float) -> float:
        """Machine-hours spent on jobs up to ``now`` (never more than open)."""
        return sum(p.busy_minutes_until(now) for p in self.pools.values()) / 60.0

    def platform_machine_hours(self, now: float) -> float:
        """Machine-hours spent on platform orders up to ``now``."""
        return sum(p.platform_minutes_until(now) for p in self.pools.values()) / 60.0
