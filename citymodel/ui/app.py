"""The Solara page of ``citymodel ui``: one independent session per browser tab.

Layout: controls in the left column; the map with its legend, the clicked item, the
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
from citymodel.ui.export import map_animation_gif, run_folder_zip
from citymodel.ui.map_view import MapView
from citymodel.ui.panels import AccessInclusionPanel, SelectionPanel
from citymodel.ui.session import Session
from citymodel.vocabulary import PUBLIC_WORKSHOP_KINDS

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


def run_parameters(model) -> str:
    """The lever values of the running model, read from its configuration."""
    cfg = model.config
    fees = sorted({float(f.fee_per_hour) for f in model.facilities if f.kind in PUBLIC_WORKSHOP_KINDS})
    fee_text = f"£{fees[0]:g}–{fees[-1]:g}/h" if fees else "–"
    return (f"This run: {len(model.population):,} citizens · workshop fees {fee_text} · fee waiver "
            f"{cfg.policy.fee_waiver_share:g} · material subsidy {cfg.policy.material_subsidy_share:g} · "
            f"+{cfg.policy.extra_printers_per_workshop} printers · training {cfg.adoption.training_rate:g}/yr · "
            f"matching {cfg.platform.matching} · Bass p {cfg.adoption.bass_p:g}, q {cfg.adoption.bass_q:g}")


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
    name = f"citymodel-seed{session.model.config.run.seed}"  # stable between steps: the buttons need no redraw
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
def LiveRun(session: Session, playing: solara.Reactive[bool], speed: solara.Reactive[int],
            on_step: Callable[[], None], on_reset: Callable[[], None]):
    """The run buttons and where the run is (re-rendered after every step)."""
    update_counter.get()
    RunControls(playing, speed, session.run.done, status_line(session), run_parameters(session.model),
                on_step=on_step, on_reset=on_reset)


@solara.component
def LiveMap(session: Session, selected: tuple[str, int] | None, placing: bool,
            on_click: Callable[[float, float], None]):
    """The map of the displayed run with the selection ringed (re-rendered after every step)."""
    update_counter.get()
    run = session.run
    homes = solara.use_memo(run.overlay.homes.static_layer, [session.run_id])
    overlay = run.frames[-1]
    ring = None
    if selected is not None:
        kind, index = selected
        if kind == "facility" and index < len(overlay["facilities"]):
            ring = overlay["facilities"][index][:3]
        elif kind == "home" and index < len(run.overlay.homes):
            x, y = run.overlay.homes.xy[index]
            ring = [float(x), float(y), float(run.overlay.homes.radius[index])]
    MapView(session.background(), session.city.checksum, run.overlay.projection.width,
            run.overlay.projection.height, homes, overlay, ring, placing,
            sorted({f.kind for f in run.model.facilities}), session.city.attribution, on_click)


@solara.component
def LivePanels(session: Session, selected: tuple[str, int] | None):
    """What was clicked, and access and inclusion (re-rendered after every step)."""
    update_counter.get()
    details = None
    if selected is not None:
        kind, index = selected
        if kind == "facility" and index < len(session.model.facilities):
            details = session.facility_details(index)
        elif kind == "home" and index < len(session.run.overlay.homes):
            details = session.home_details(index)
    with solara.Card("Selected on the map"):
        SelectionPanel(details)
    with solara.Card("Access and inclusion"):
        AccessInclusionPanel(session.comparison())


@solara.component
def LiveCharts(session: Session, specs: list):
    """The live charts (re-rendered after every step; each sends only its new rows)."""
    update_counter.get()
    run = session.run
    with solara.ColumnsResponsive(12, large=6, gutters_dense=True):
        for spec in specs:
            with solara.Card():
                ChartView(spec, run.live.samples, len(run.live.samples), session.run_id, run.horizon_h)


@solara.component
def LiveExport(session: Session, specs: list):
    """The downloads (enabled once the run has advanced)."""
    update_counter.get()
    ExportControls(session, specs, min(int(round(session.model.now / 60.0)), 1))


@solara.component
def RunPage(session: Session):
    """The page of one tab's session; the parts that change every step re-render on their own."""
    revision = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(DEFAULT_SPEED_H_PER_S)
    message = solara.use_reactive("")
    notice = solara.use_reactive("")
    selected = solara.use_reactive(None)
    placing = solara.use_reactive(False)
    site_kind = solara.use_reactive(DEFAULT_SITE["kind"])
    machines = solara.use_reactive(dict(DEFAULT_SITE["machines"]))
    fee = solara.use_reactive(DEFAULT_SITE["fee"])

    def guarded(action: Callable[[], Any], done: str = "") -> bool:
        """Run a user action; a refused input becomes one line, the model stays as it was."""
        try:
            action()
        except CitymodelError as exc:
            message.set(str(exc))
            notice.set("")
            return False
        except Exception as exc:  # keep serving whatever goes wrong, and say what it was
            logger.error("citymodel ui: %s", traceback.format_exc())
            message.set(f"refused: {type(exc).__name__}: {exc}")
            notice.set("")
            return False
        message.set("")
        notice.set(done)
        force_update()
        return True

    def rebuild(action: Callable[[], Any], done: str) -> None:
        playing.set(False)
        if guarded(action, done):
            selected.set(None)
            revision.set(revision.value + 1)

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
            form = dict(machines.value)
            rebuild(lambda: session.add_workshop(x, y, site_kind.value, form, fee.value),
                    "Workshop placed; both runs restarted with the same seed.")
        else:
            selected.set(session.run.overlay.pick(x, y))

    run = session.run
    specs = solara.use_memo(lambda: chart_specs(sorted({f.kind for f in run.model.facilities}),
                                                run.live.latest.has_deciles()), [session.run_id])
    solara.Title("citymodel")
    with solara.AppBar():
        solara.AppBarTitle(f"citymodel · {session.city.name}")
    with solara.Columns([3, 9], gutters_dense=True):
        with solara.Column(gap="8px"):
            with solara.Card("Run"):
                LiveRun(session, playing, speed, on_step=lambda: guarded(lambda: session.step(1)),
                        on_reset=lambda: rebuild(session.reset, "Run restarted."))
            with solara.Card("Map and scenario"):
                MapScenarioPicker(embedded_maps(), str(session.params["map"]), scenario_files(), session.scenario,
                                  on_map=lambda src: rebuild(lambda: session.apply({"map": src}),
                                                             f"Map {src} loaded."),
                                  on_scenario=lambda path: rebuild(lambda: session.set_scenario(path),
                                                                   "Scenario applied."))
            with solara.Card("What-if"):
                WhatIfControls(placing, site_kind, machines, fee, session.sites, session.comparison_label,
                               on_remove=lambda: rebuild(session.remove_workshops, "What-if workshops removed."))
            with solara.Card("Levers (each change restarts the run)"):
                LeverControls(session.params, on_commit=lambda key, value: rebuild(
                    lambda: session.apply({key: value}), f"Restarted with {key} = {value}."))
            with solara.Card("Export"):
                LiveExport(session, specs)
        with solara.Column(gap="8px"):
            if message.value:
                solara.Error(message.value, classes=["cm-refused"])
            elif notice.value:
                solara.Info(notice.value, classes=["cm-notice"])
            with solara.Columns([6, 6], gutters_dense=True):
                with solara.Card("Map"):
                    LiveMap(session, selected.value, placing.value, on_map_click)
                with solara.Column(gap="8px"):
                    LivePanels(session, selected.value)
            LiveCharts(session, specs)
