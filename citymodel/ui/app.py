"""The Solara page of ``citymodel ui``: one independent session per browser tab.

Layout: controls in the sidebar; the map with its legend, the clicked item, the
access and inclusion panel and the live charts in the main area. Components
that show the run re-render on Mesa's ``update_counter`` (bumped by
``force_update`` after every step), the convention of Mesa's ``SolaraViz``.
Any refused input is shown as one line and leaves the running model as it was.
"""

from __future__ import annotations

import logging
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import solara
import solara.lab

from citymodel.errors import CitymodelError
from citymodel.ui.app_settings import AppSettings, embedded_maps, scenario_files
from citymodel.ui.chart_view import ChartView
from citymodel.ui.charts import chart_png, chart_specs
from citymodel.ui.controls import LeverControls, MapScenarioPicker, RunControls, WhatIfControls
from citymodel.ui.export import export_name, map_animation_gif, run_folder_zip
from citymodel.ui.levers import MACHINE_TYPES
from citymodel.ui.map_view import MapView
from citymodel.ui.panels import AccessInclusionPanel, SelectionPanel
from citymodel.ui.session import Session

with warnings.catch_warnings():  # Mesa's own SolaraViz page trips Solara's hook check on import
    warnings.simplefilter("ignore", UserWarning)
    from mesa.visualization.utils import force_update, update_counter

logger = logging.getLogger("citymodel.ui")
FRAMES_PER_S = 4.0
"""Redraws per second while playing; faster speeds take several simulated hours per redraw."""
DEFAULT_SPEED_H_PER_S = 12
DEFAULT_SITE = {"kind": "makerspace", "machines": {"3d_printer": "4", "laser_cutter": "1", "cnc_router": "0",
                                                    "knitting": "0"}, "fee": "3"}


def hours_per_frame(speed_h_per_s: float) -> int:
    """Simulated hours advanced per redraw at ``speed_h_per_s``."""
    return max(1, round(speed_h_per_s / FRAMES_PER_S))


def status_line(session: Session) -> str:
    """Where the run is: step, simulated day and time, of how many days."""
    model = session.model
    hour = int(round(model.now / 60.0))
    return (f"Step {model.steps} · day {hour // 24}, {hour % 24:02d}:00 · horizon "
            f"{session.run.horizon_h / 24:g} days · {len(model.population):,} citizens · seed {model.config.run.seed}")


def _start(settings: AppSettings) -> tuple[Session | None, str]:
    try:
        return Session(settings), ""
    except CitymodelError as exc:
        return None, str(exc)


@solara.component
def ChartDownload(session: Session, spec, name: str):
    """Download one chart as PNG (drawn on request from the run's samples)."""
    png = solara.use_memo(lambda: (lambda: chart_png(spec, session.run.live.samples, session.run.horizon_h, name)),
                          [session, spec.key])
    solara.FileDownload(png, filename=f"{name}-{spec.key}.png", label=f"Chart: {spec.key} (PNG)",
                        mime_type="image/png")


@solara.component
def ExportControls(session: Session, specs: list, hour: int):
    """Downloads: the run folder (zip), each chart (PNG), the map animation (GIF)."""
    zip_data = solara.use_memo(lambda: (lambda: run_folder_zip(session.model)), [session])
    gif_data = solara.use_memo(lambda: (lambda: map_animation_gif(
        session.background(), session.run.overlay.homes.static_layer(), session.run.frames)), [session])
    if hour < 1:
        solara.Text("Exports: step the run first (a run folder needs one simulated hour).",
                    style={"font-size": "12px"})
        return
    name = export_name(session.model)
    solara.FileDownload(zip_data, filename=f"{name}-run.zip", label="Run folder (Parquet + summary, zip)")
    solara.FileDownload(gif_data, filename=f"{name}-map.gif", label="Map animation (GIF)", mime_type="image/gif")
    for spec in specs:
        ChartDownload(session, spec, name)


@solara.component
def Page():
    """The app (one per browser tab)."""
    settings = solara.use_memo(AppSettings.from_env, [])
    session, error = solara.use_memo(lambda: _start(settings), [])
    if session is None:
        solara.Error(f"citymodel ui could not start: {error}")
    else:
        RunPage(session)


@solara.component
def RunPage(session: Session):
    """The page of one tab's session."""
    update_counter.get()
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(DEFAULT_SPEED_H_PER_S)
    message = solara.use_reactive("")
    notice = solara.use_reactive("")
    selected = solara.use_reactive(None)
    placing = solara.use_reactive(False)
    site_kind = solara.use_reactive(DEFAULT_SITE["kind"])
    machines = {m: solara.use_reactive(DEFAULT_SITE["machines"][m]) for m in MACHINE_TYPES}
    fee = solara.use_reactive(DEFAULT_SITE["fee"])

    def guarded(action: Callable[[], Any], done: str = "") -> Any:
        """Run a user action; a refused input becomes one line, the model stays as it was."""
        try:
            result = action()
        except CitymodelError as exc:
            message.set(str(exc))
            notice.set("")
            return None
        except Exception as exc:  # keep serving whatever goes wrong, and say what it was
            logger.error("citymodel ui: %s", traceback.format_exc())
            message.set(f"refused: {type(exc).__name__}: {exc}")
            notice.set("")
            return None
        message.set("")
        notice.set(done)
        force_update()
        return result

    def rebuild(action: Callable[[], Any], done: str) -> None:
        playing.set(False)
        if guarded(action, done) is not None:
            selected.set(None)

    def play_loop() -> None:
        try:
            while playing.value:
                started = time.perf_counter()
                hours = hours_per_frame(speed.value)
                session.step(hours)
                force_update()
                if session.run.done:
                    playing.set(False)
                    notice.set("Reached the configured horizon; Reset to run again.")
                    return
                time.sleep(max(0.0, hours / float(speed.value) - (time.perf_counter() - started)))
        except Exception as exc:
            logger.error("citymodel ui: %s", traceback.format_exc())
            message.set(f"run stopped: {type(exc).__name__}: {exc}")
            playing.set(False)

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def on_map_click(x: float, y: float) -> None:
        if placing.value:
            form = {m: r.value for m, r in machines.items()}
            rebuild(lambda: session.add_workshop(x, y, site_kind.value, form, fee.value) or True,
                    "Workshop placed; both runs restarted with the same seed.")
        else:
            hit = session.run.overlay.pick(x, y)
            selected.set(hit)

    run = session.run
    homes = solara.use_memo(run.overlay.homes.static_layer, [session.run_id])
    specs = chart_specs(sorted({f.kind for f in run.model.facilities}), bool(run.live.latest.by_decile))
    overlay = run.frames[-1]
    details = None
    ring = None
    if selected.value is not None:
        kind, index = selected.value
        if kind == "facility" and index < len(run.model.facilities):
            details = session.facility_details(index)
            x, y, r = overlay["facilities"][index][:3]
            ring = [x, y, r]
        elif kind == "home" and index < len(run.overlay.homes):
            details = session.home_details(index)
            x, y = run.overlay.homes.xy[index]
            ring = [float(x), float(y), float(run.overlay.homes.radius[index])]

    solara.Title("citymodel")
    with solara.AppBar():
        solara.AppBarTitle(f"citymodel · {session.city.name}")
    with solara.Columns([3, 9], gutters_dense=True):
        with solara.Column(gap="8px"):
            with solara.Card("Run"):
                RunControls(playing, speed, run.done, status_line(session),
                            on_step=lambda: guarded(lambda: session.step(1) or True),
                            on_reset=lambda: rebuild(lambda: session.reset() or True, "Run restarted."))
            with solara.Card("Map and scenario"):
                MapScenarioPicker(embedded_maps(), str(session.params["map"]), scenario_files(), session.scenario,
                                  on_map=lambda src: rebuild(lambda: session.apply({"map": src}) or True,
                                                             f"Map {src} loaded."),
                                  on_scenario=lambda path: rebuild(lambda: session.set_scenario(path) or True,
                                                                   "Scenario applied."))
            with solara.Card("What-if"):
                WhatIfControls(placing, site_kind, machines, fee, session.sites, session.comparison_label,
                               on_remove=lambda: rebuild(lambda: session.remove_workshops() or True,
                                                         "What-if workshops removed."))
            with solara.Card("Levers (each change restarts the run)"):
                LeverControls(session.params, on_commit=lambda key, value: rebuild(
                    lambda: session.apply({key: value}) or True, f"Restarted with {key} = {value}."))
            with solara.Card("Export"):
                ExportControls(session, specs, int(round(run.model.now / 60.0)))
        with solara.Column(gap="8px"):
            if message.value:
                solara.Error(message.value, classes=["cm-refused"])
            elif notice.value:
                solara.Info(notice.value, classes=["cm-notice"])
            with solara.Columns([6, 6], gutters_dense=True):
                with solara.Card("Map"):
                    MapView(session.background(), session.city.checksum, run.overlay.projection.width,
                            run.overlay.projection.height, homes, overlay, ring, placing.value,
                            sorted({f.kind for f in run.model.facilities}), on_map_click)
                with solara.Column(gap="8px"):
                    with solara.Card("Selected on the map"):
                        SelectionPanel(details)
                    with solara.Card("Access and inclusion"):
                        AccessInclusionPanel(session.comparison())
            with solara.ColumnsResponsive(12, large=6, gutters_dense=True):
                for spec in specs:
                    with solara.Card():
                        ChartView(spec, run.live.samples, session.run_id, run.horizon_h)
