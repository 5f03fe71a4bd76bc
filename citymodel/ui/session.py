"""One browser tab's run: its parameters, its model, the what-if comparison, stepping and picking.

Each tab owns a :class:`Session`; nothing in it is shared with another tab but
the loaded map and its drawn streets (read-only). A change of a lever, the map,
the scenario or the what-if workshops builds a complete new model first and
swaps it in only when that succeeded: a refused input (:class:`InputError`,
``ConfigError``, ``MapError``) leaves the running model as it was.

What-if: placing a workshop restarts the run with the added site and the same
seed, and restarts the run without it beside it (the *before* run). Both are
stepped together, so the access and inclusion panels compare the two at the
same simulated hour, with the same random numbers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from citymodel import metrics
from citymodel.config import Config
from citymodel.maps import shared_city
from citymodel.tables import facilities_table
from citymodel.ui.app_settings import AppSettings, scenario_config
from citymodel.ui.levers import MAX_SITES, InputError, check_site, default_lever_values
from citymodel.ui.live_metrics import LiveMetrics, Sample
from citymodel.ui.map_background import MAP_SIZE_PX, MapProjection, background_png
from citymodel.ui.map_overlay import MapOverlay, facility_load
from citymodel.ui.model_factory import EXTRA_SITES, build_model
from citymodel.vocabulary import STAGES

MAX_FRAMES = 1500
"""Recorded map frames kept for the animation (older ones are thinned to every other)."""
MODEL_LOCK = threading.RLock()
"""Held while any tab builds or steps a model: tabs share the map's routers and their caches."""


class RunState:
    """One model with its metric samples and, for the displayed run, its map overlay and frames."""

    def __init__(self, model, projection: MapProjection | None) -> None:
        self.model = model
        self.live = LiveMetrics(model)
        self.overlay = MapOverlay(model, projection) if projection is not None else None
        self.frames: list[dict[str, Any]] = [self.overlay.state()] if self.overlay is not None else []

    @property
    def horizon_h(self) -> float:
        """The configured run length (simulated hours)."""
        return float(self.model.config.run.days) * 24.0

    @property
    def done(self) -> bool:
        """True once the configured run length is reached (the model is no longer ``running``)."""
        return not self.model.running

    def step(self, hours: int = 1) -> None:
        """Advance ``hours`` simulated hours (not past the horizon), then sample and record a frame."""
        stepped = 0
        while stepped < hours and not self.done:
            self.model.step()
            stepped += 1
        if stepped == 0:
            return
        self.live.record(self.model)
        if self.overlay is not None:
            self.frames.append(self.overlay.state())
            if len(self.frames) > MAX_FRAMES:
                self.frames = self.frames[:1] + self.frames[1::2]


@dataclass(frozen=True)
class Comparison:
    """Access and inclusion now against the run before the latest what-if change, at the same hour."""

    label: str
    now: Sample
    before: Sample | None


class Session:
    """The state of one browser tab.

    Parameters
    ----------
    settings
        The server's options (start map, configuration file).
    size_px
        Length of the map's longer side (pixels).
    """

    def __init__(self, settings: AppSettings, size_px: int = MAP_SIZE_PX) -> None:
        self.settings = settings
        self.size_px = size_px
        self.app_config: Config = settings.base_config()
        self.scenario = ""
        self.base: Config = self.app_config
        self.params: dict[str, Any] = {"map": settings.map_source, **default_lever_values(self.app_config)}
        self.run_id = 0
        self.comparison_label = ""
        self.before: RunState | None = None
        self.run = self._new_run(self.params, self.base)

    # ------------------------------------------------------------------ building
    def _new_run(self, params: dict[str, Any], base: Config, with_map: bool = True) -> RunState:
        with MODEL_LOCK:
            city = shared_city(str(params["map"]))
            model = build_model(params, city, base)
            projection = MapProjection(city.bbox, self.size_px) if with_map else None
            return RunState(model, projection)

    def _swap(self, run: RunState, params: dict[str, Any], base: Config, before: RunState | None = None,
              label: str = "") -> None:
        with MODEL_LOCK:
            self.run, self.params, self.base = run, params, base
            self.before, self.comparison_label = before, label
            self.run_id += 1

    @property
    def model(self):
        """The displayed model."""
        return self.run.model

    @property
    def city(self):
        """The displayed model's map."""
        return self.run.model.city

    @property
    def projection(self) -> MapProjection:
        """Pixel geometry of the displayed map."""
        return self.run.overlay.projection

    def background(self) -> bytes:
        """PNG of the displayed map's streets (drawn once per map)."""
        return background_png(self.city, self.size_px)

    def apply(self, changes: dict[str, Any]) -> None:
        """Restart with some parameters changed (lever keys, ``map``); refused changes leave all as it was."""
        params = {**self.params, **changes}
        if "map" in changes and changes["map"] != self.params.get("map"):
            params.pop(EXTRA_SITES, None)  # sites of another map
        self._swap(self._new_run(params, self.base), params, self.base)

    def reset(self) -> None:
        """Restart the run with the current parameters (what-if workshops kept, comparison ended)."""
        self.apply({})

    def set_scenario(self, path: str) -> None:
        """Start from scenario file ``path`` ('' = the app's configuration) with the current levers."""
        base = scenario_config(path, self.app_config) if path else self.app_config
        params = {**self.params, **{k: v for k, v in default_lever_values(base).items() if k != "citizens"}}
        params["citizens"] = self.params["citizens"]
        self._swap(self._new_run(params, base), params, base)
        self.scenario = path

    # ------------------------------------------------------------------ stepping
    def step(self, hours: int = 1) -> None:
        """Advance the displayed run (and the *before* run of a what-if) by ``hours`` simulated hours."""
        with MODEL_LOCK:
            self.run.step(hours)
            if self.before is not None:
                self.before.step(hours)

    # ------------------------------------------------------------------ what-if
    @property
    def sites(self) -> list[dict[str, Any]]:
        """The what-if workshops of the current run."""
        return list(self.params.get(EXTRA_SITES) or [])

    def site_at(self, px: float, py: float, kind: str, machines: dict[str, Any], fee_per_hour: Any
                ) -> dict[str, Any]:
        """The what-if workshop a click at pixel (px, py) places: at the nearest walking-street node."""
        lon, lat = self.projection.to_lonlat(px, py)
        node = int(self.city.router("walk").snap(float(lon), float(lat)))
        node_lon, node_lat = self.run.overlay.nodes["walk"].lonlat_of(node)
        name = f"what-if workshop {len(self.sites) + 1}"
        return check_site({"lon": node_lon, "lat": node_lat, "kind": kind, "machines": machines,
                           "fee_per_hour": fee_per_hour, "name": name})

    def add_workshop(self, px: float, py: float, kind: str, machines: dict[str, Any], fee_per_hour: Any
                     ) -> dict[str, Any]:
        """Place a public workshop at the street node nearest pixel (px, py) and restart (same seed).

        The run without it restarts too and is stepped alongside (see :meth:`comparison`).

        Raises
        ------
        InputError
            If the click is off the map, a field is out of range, or there are already
            :data:`~citymodel.ui.levers.MAX_SITES` what-if workshops.
        """
        if not (0 <= px <= self.projection.width and 0 <= py <= self.projection.height):
            msg = f"click at ({px:.0f}, {py:.0f}) px refused: expected a point on the map"
            raise InputError(msg)
        if len(self.sites) >= MAX_SITES:
            msg = f"what-if workshop refused: at most {MAX_SITES} can be added (remove them to start again)"
            raise InputError(msg)
        site = self.site_at(px, py, kind, machines, fee_per_hour)
        params = {**self.params, EXTRA_SITES: [*self.sites, site]}
        run = self._new_run(params, self.base)
        before = self._new_run(self.params, self.base, with_map=False)
        self._swap(run, params, self.base, before, f"before {site['name']}")
        return site

    def remove_workshops(self) -> None:
        """Restart without any what-if workshop."""
        params = {k: v for k, v in self.params.items() if k != EXTRA_SITES}
        self._swap(self._new_run(params, self.base), params, self.base)

    def comparison(self) -> Comparison:
        """Access and inclusion of the displayed run now, and of the *before* run at the same hour."""
        now = self.run.live.latest
        before = self.before.live.at_hour(now.hour) if self.before is not None else None
        return Comparison(self.comparison_label, now, before)

    # ------------------------------------------------------------------ picking
    def pick(self, px: float, py: float) -> dict[str, Any] | None:
        """Details of what a click at pixel (px, py) hits: a facility, a home, or None."""
        hit = self.run.overlay.pick(px, py)
        if hit is None:
            return None
        kind, index = hit
        return self.facility_details(index) if kind == "facility" else self.home_details(index)

    def facility_details(self, facility_id: int) -> dict[str, Any]:
        """Queue, utilization so far, orders and fee of one facility."""
        model = self.model
        facility = model.facilities[facility_id]
        running, queued, machines = facility_load(facility)
        utilization = metrics.facility_utilization(facilities_table(model)).get(facility_id)
        orders = model.orders.to_frame(model.now)
        mine = orders[orders["facility_id"] == facility_id]
        return {
            "type": "facility", "id": facility_id, "name": facility.name or facility.kind.replace("_", " "),
            "kind": facility.kind, "fee_per_hour": float(facility.fee_per_hour),
            "machines": {m: p.count for m, p in facility.pools.items()}, "machines_total": machines,
            "running": running, "queued": queued,
            "utilization": None if utilization is None or np.isnan(utilization) else float(utilization),
            "orders": int(len(mine)),
            "orders_by_status": {str(k): int(v) for k, v in mine["status"].value_counts().items()},
            "orders_by_channel": {str(k): int(v) for k, v in mine["channel"].value_counts().items()},
            "revenue": float(facility.revenue), "placement": facility.placement,
        }

    def home_details(self, home: int, max_rows: int = 40) -> dict[str, Any]:
        """Income quintile, deprivation decile (if the map has zones) and stage of the citizens of one home."""
        homes = self.run.overlay.homes
        ids = homes.residents(home)
        pop = self.model.population
        zone_column = getattr(pop, "zone_column", None)
        decile = zone_column("imd_decile", -1) if zone_column is not None else None
        residents = [{"citizen": int(i), "quintile": int(pop.income_quintile[i]),
                      "decile": int(decile[i]) if decile is not None and decile[i] > 0 else None,
                      "stage": STAGES[int(pop.stage[i])]} for i in ids[:max_rows]]
        stages = np.bincount(pop.stage[ids], minlength=len(STAGES))
        quintiles = np.bincount(pop.income_quintile[ids], minlength=6)[1:]
        return {"type": "home", "node": int(homes.node_ids[home]), "n": int(len(ids)), "residents": residents,
                "by_stage": {s: int(stages[k]) for k, s in enumerate(STAGES)},
                "by_quintile": {q + 1: int(quintiles[q]) for q in range(5)}}
