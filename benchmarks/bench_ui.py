"""Web-app benchmark: one Step plus redraw on the default city, beside SolaraViz's stock network drawing.

Three figures, each the median (and p90, max) over ``--steps`` clicks:

* **server**: ``Session.step(1)`` (one model step, the metric sample with the
  functions of ``summary.json``, the map overlay) plus JSON encoding of the
  overlay the browser receives, in this process;
* **browser**: ``citymodel ui`` started as a subprocess and driven by headless
  Chromium: from the mouse-down on Step to the map canvas redrawn for the new
  hour, timed by the page's own clock (includes the websocket both ways, the
  server's step and Solara's render), and the canvas draw itself;
* **stock**: ``shared/tools/stock_solaraviz_drawing.py`` (Mesa 3.3's
  ``make_space_component`` drawing: ``draw_network`` on a fresh matplotlib
  figure) with as many agents as the app shows (citizens + facilities).

Usage::

    python benchmarks/bench_ui.py                       # default city, its default citizens
    python benchmarks/bench_ui.py --citizens 10000 --steps 40
    python benchmarks/bench_ui.py --screenshot docs/img/ui.png
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STOCK_TOOL = ROOT.parent / "shared" / "tools" / "stock_solaraviz_drawing.py"  # shared/ beside the checkout
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]


def _stats(values_ms: list[float]) -> str:
    ordered = sorted(values_ms)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return f"median {statistics.median(ordered):.1f} ms, p90 {p90:.1f} ms, max {ordered[-1]:.1f} ms"


def server_side(config_file: Path, steps: int) -> tuple[list[float], int, int, tuple, tuple]:
    """Session.step(1) + overlay JSON per step (ms); citizens; facilities; a library's and a far home's pixels."""
    import numpy as np

    from citymodel.ui.app_settings import AppSettings
    from citymodel.ui.session import Session

    session = Session(AppSettings(map_source="default", config_file=str(config_file)))
    frame = session.run.frames[-1]["facilities"]
    library = next(f for f in session.model.facilities if f.kind == "library")
    public = np.array([xy[:2] for xy, f in zip(frame, session.model.facilities, strict=True)
                       if f.kind not in ("maker", "textile_mill")])
    homes = session.run.overlay.homes.xy
    far = homes[int(np.argmax([np.min(np.hypot(*(public - xy).T)) for xy in homes]))]
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        session.step(1)
        json.dumps(session.run.frames[-1])
        times.append((time.perf_counter() - start) * 1000.0)
    return (times, len(session.model.population), len(session.model.facilities), tuple(frame[library.facility_id][:2]),
            (float(far[0]), float(far[1])))


WATCH_JS = """() => {
  window.cmDrawn = {};
  document.addEventListener('mousedown', e => { if (e.target.closest('.cm-step-button')) {
    window.cmClicked = performance.now(); } }, true);
  const canvas = document.querySelector('canvas.cm-map');
  new MutationObserver(() => { window.cmDrawn[canvas.dataset.drawnHour] = performance.now(); })
    .observe(canvas, {attributes: true, attributeFilter: ['data-drawn-hour']});
}"""
"""In-page clock: the Step button's mousedown, and the moment the canvas is redrawn for each hour."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_side(config_file: Path, steps: int, screenshot: Path | None, facility_xy: tuple, site_xy: tuple
                 ) -> tuple[list[float], list[float]]:
    """Click-to-redrawn times and canvas draw times (ms) in headless Chromium."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    exe = Path(sys.executable).with_name("citymodel")
    server = subprocess.Popen([str(exe), "ui", "--port", str(port), "--config", str(config_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("citymodel ui did not start") from None
                time.sleep(0.25)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 2000})
            page.set_default_timeout(120_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("() => document.querySelector('canvas.cm-map')?.dataset.drawnHour === '0'")
            page.evaluate(WATCH_JS)
            clicks, draws = [], []
            for hour in range(1, steps + 1):
                page.click(".cm-step-button")
                page.wait_for_function(f"() => window.cmDrawn['{hour}'] !== undefined", polling="raf")
                clicks.append(page.evaluate(f"() => window.cmDrawn['{hour}'] - window.cmClicked"))
                draws.append(float(page.eval_on_selector("canvas.cm-map", "c => c.dataset.drawMs")))
            if screenshot is not None:
                take_screenshot(page, screenshot, facility_xy, site_xy)
            browser.close()
        return clicks, draws
    finally:
        server.terminate()
        server.wait(timeout=30)


def take_screenshot(page, path: Path, facility_xy: tuple[float, float], site_xy: tuple[float, float]) -> None:
    """Place a what-if workshop far from the others, play a simulated day and a half, click a facility, save."""
    def click(xy: tuple[float, float]) -> None:  # messages above the map move it: measure it each time
        page.locator("canvas.cm-map").scroll_into_view_if_needed()
        box = page.locator("canvas.cm-map").bounding_box()
        scale = box["width"] / page.eval_on_selector("canvas.cm-map", "c => c.width")
        page.mouse.click(box["x"] + xy[0] * scale, box["y"] + xy[1] * scale)

    from citymodel.config import Config

    if hasattr(Config().facilities, "extra_sites"):  # what-if workshops need facilities.extra_sites
        page.click(".cm-whatif .v-input--selection-controls__input")
        click(site_xy)
        page.wait_for_selector(".cm-notice, .cm-refused")
        page.click(".cm-whatif .v-input--selection-controls__input")
    page.click(".cm-play")
    page.wait_for_function("() => Number(document.querySelector('canvas.cm-map').dataset.drawnHour) >= 36")
    page.click(".cm-play")
    click(facility_xy)
    page.wait_for_function("() => document.querySelector('.cm-selection') !== null")
    time.sleep(1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def stock_drawing(tool: Path, n_agents: int) -> float | None:
    """ms per frame of Mesa's stock network drawing of ``n_agents`` on the default walk graph."""
    if not tool.is_file():
        print(f"stock drawing tool {tool} not found: pass --stock-tool PATH")
        return None
    out = subprocess.run([sys.executable, str(tool), "default", str(n_agents)], capture_output=True,
                         text=True, check=True).stdout
    return float(re.search(r"drawing (\d+(?:\.\d+)?) ms per frame", out).group(1))


def main() -> None:
    """Parse the command line and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, help="citizens (default: the configuration's default)")
    parser.add_argument("--steps", type=int, default=30, help="Step clicks timed")
    parser.add_argument("--screenshot", type=Path, help="also save a screenshot of the app here")
    parser.add_argument("--stock-tool", type=Path, default=STOCK_TOOL, help="shared/tools/stock_solaraviz_drawing.py")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config_file = Path(tmp) / "bench.toml"
        config_file.write_text(f"[run]\ncitizens = {args.citizens}\n" if args.citizens else "", encoding="utf-8")
        server_ms, citizens, facilities, facility_xy, site_xy = server_side(config_file, args.steps)
        clicks, draws = browser_side(config_file, args.steps, args.screenshot, facility_xy, site_xy)
    stock = stock_drawing(args.stock_tool, citizens + facilities)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; command: python benchmarks/bench_ui.py {' '.join(sys.argv[1:])}")
    print(f"default city, {citizens:,} citizens, {facilities} facilities, {args.steps} steps")
    print(f"server: Session.step(1) + overlay JSON: {_stats(server_ms)}")
    print(f"browser: click Step -> map redrawn: {_stats(clicks)}; canvas draw {_stats(draws)}")
    if stock is not None:
        median = statistics.median(clicks)
        print(f"stock SolaraViz drawing of {citizens + facilities:,} agents: {stock:.0f} ms per frame; "
              f"ratio (app Step + redraw in the browser / stock drawing alone): {median / stock:.2f}")


if __name__ == "__main__":
    main()
