"""The web app in a real browser: `citymodel ui` as a subprocess, Debian's Chromium driven by Playwright.

One server (400 citizens, 3 days) serves every test of this module; the page is
loaded once and the tests run in file order, as a user would click. Chromium may
reach only the app's own address: any other request is aborted and recorded, so
the page is shown to work offline (no tiles, no CDN).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from citymodel.config import Config

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
CITIZENS = 400
TIMEOUT_MS = 60_000
HAS_EXTRA_SITES = hasattr(Config().facilities, "extra_sites")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _citymodel() -> list[str]:
    exe = Path(sys.executable).with_name("citymodel")
    return [str(exe)] if exe.exists() else [shutil.which("citymodel") or "citymodel"]


@pytest.fixture(scope="module")
def app_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ui-browser") / "small.toml"
    path.write_text(f"[run]\ncitizens = {CITIZENS}\ndays = 3\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server(app_config, tmp_path_factory):
    """``citymodel ui`` on a free port; yields its URL and log file."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("ui-log") / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([*_citymodel(), "ui", "--port", str(port), "--config", str(app_config)],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"citymodel ui exited with {proc.returncode}: {log_path.read_text()}")
                try:
                    socket.create_connection(("127.0.0.1", port), 0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"citymodel ui did not listen within 120 s: {log_path.read_text()}")
                    time.sleep(0.25)
            yield f"http://127.0.0.1:{port}/", log_path
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is needed for the browser test: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def traffic() -> dict[str, list]:
    """Requests the browser made outside the app's address, and failed responses."""
    return {"outside": [], "failed": []}


@pytest.fixture(scope="module")
def context(browser, server, traffic):
    url, _ = server
    ctx = browser.new_context(viewport={"width": 1600, "height": 1500})

    def route(request_route):
        target = request_route.request.url
        if target.startswith(url.rstrip("/")) or target.startswith("data:"):
            request_route.continue_()
        else:
            traffic["outside"].append(target)
            request_route.abort()

    ctx.route("**/*", route)
    ctx.on("response", lambda r: traffic["failed"].append((r.status, r.url)) if r.status >= 400 else None)
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


def _open(context, url):
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("() => { const c = document.querySelector('canvas.cm-map');"
                           " return c && c.dataset.drawnHour === '0'; }")
    return page


@pytest.fixture(scope="module")
def page(context, server):
    return _open(context, server[0])


def _step_number(page) -> int:
    return int(re.search(r"Step (\d+)", page.inner_text(".cm-status")).group(1))


def _wait_text(page, selector: str, pattern: str) -> str:
    try:
        page.wait_for_function(
            "([sel, pat]) => { const e = document.querySelector(sel); return e && new RegExp(pat).test(e.innerText); }",
            arg=[selector, pattern])
    except Exception:
        page.screenshot(path=str(Path(tempfile.gettempdir()) / "citymodel-ui-test-failure.png"), full_page=True)
        raise
    return page.inner_text(selector)


def _accepted(page, pattern: str) -> str:
    """Wait for the notice matching ``pattern`` (or a refusal, which fails the test with its message)."""
    page.wait_for_function(
        "pat => { const n = document.querySelector('.cm-notice'); const r = document.querySelector('.cm-refused');"
        " return r || (n && new RegExp(pat).test(n.innerText)); }", arg=pattern)
    refused = page.query_selector(".cm-refused")
    assert refused is None, refused.inner_text()
    return page.inner_text(".cm-notice")


def _what_if_mode(page, on: bool) -> None:
    """Switch the what-if mode on or off (whatever it was)."""
    if (page.get_attribute(".cm-whatif input", "aria-checked") == "true") != on:
        page.click(".cm-whatif .v-input--selection-controls__input")
    page.wait_for_function("on => document.querySelector('.cm-whatif input').getAttribute('aria-checked') === "
                           "String(on)", arg=on)


def _click_map(page, x: float | None = None, y: float | None = None) -> None:
    """Click the map at canvas pixel (x, y) (its centre by default), scrolled into view first."""
    canvas = page.locator("canvas.cm-map")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    width, height = page.eval_on_selector("canvas.cm-map", "c => [c.width, c.height]")
    x = width / 2 if x is None else x
    y = height / 2 if y is None else y
    page.mouse.click(box["x"] + x * box["width"] / width, box["y"] + y * box["height"] / height)


def _chart_points(page, key: str) -> int:
    return int(page.eval_on_selector(f".cm-chart[data-key='{key}'] canvas", "c => c.dataset.points || '0'"))


def test_page_loads_offline_with_map_and_charts(page, traffic):
    size = page.eval_on_selector("canvas.cm-map", "c => [c.width, c.height, c.getBoundingClientRect().width]")
    assert min(size[:2]) >= 300 and size[2] >= 300
    colours = page.eval_on_selector("canvas.cm-map", """c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) { seen.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]); }
        return seen.size; }""")
    assert colours > 20  # streets, homes and facilities drawn, not a blank canvas
    assert int(page.eval_on_selector("canvas.cm-map", "c => c.dataset.facilities")) > 10
    charts = page.eval_on_selector_all(".cm-chart canvas", "cs => cs.map(c => c.getBoundingClientRect().width)")
    assert len(charts) >= 4 and min(charts) >= 250
    assert "© OpenStreetMap contributors" in page.inner_text(".cm-legend")
    assert "Homes" in page.inner_text(".cm-legend") and "Facilities" in page.inner_text(".cm-legend")
    assert traffic["outside"] == []
    assert traffic["failed"] == []


def test_step_advances_the_counter_and_the_charts(page):
    assert _step_number(page) == 0
    before = _chart_points(page, "adoption")
    page.click(".cm-step-button")
    _wait_text(page, ".cm-status", r"Step 1 ")
    page.wait_for_function("() => document.querySelector('canvas.cm-map').dataset.drawnHour === '1'")
    page.wait_for_function(f"() => Number(document.querySelector(\".cm-chart[data-key='adoption'] canvas\")"
                           f".dataset.points) === {before + 1}")
    assert "day 0, 01:00" in page.inner_text(".cm-status")


def test_play_runs_at_the_chosen_speed_and_pause_stops(page):
    start = _step_number(page)
    page.click(".cm-play")
    page.wait_for_function(f"() => Number(/Step (\\d+)/.exec(document.querySelector('.cm-status').innerText)[1])"
                           f" >= {start + 6}")
    page.click(".cm-play")
    time.sleep(1.0)
    paused = _step_number(page)
    time.sleep(1.0)
    assert _step_number(page) == paused > start


def test_downloads_are_the_run_folder_and_the_animation(page, tmp_path):
    import io
    import json
    import zipfile

    from PIL import Image

    hour = int(page.eval_on_selector("canvas.cm-map", "c => c.dataset.drawnHour"))
    with page.expect_download() as download:
        page.click("text=Run folder (Parquet + summary, zip)")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        summary = json.loads(archive.read(next(n for n in names if n.endswith("summary.json"))))
    assert any(n.endswith("orders.parquet") for n in names) and any(n.endswith("manifest.json") for n in names)
    assert summary["run"]["days"] == pytest.approx(hour / 24.0)
    with page.expect_download() as download:
        page.click("text=Map animation (GIF)")
    gif = Image.open(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert gif.format == "GIF" and gif.n_frames >= 2
    with page.expect_download() as download:
        page.click("text=Chart: adoption (PNG)")
    assert Image.open(download.value.path()).format == "PNG"


def test_moving_a_slider_restarts_the_run_with_the_new_value(page):
    steps = _step_number(page)
    page.click(".cm-step-button")
    _wait_text(page, ".cm-status", rf"Step {steps + 1} ")
    track = page.locator(".cm-lever-citizens .v-slider").first.bounding_box()
    page.mouse.click(track["x"] + 0.02 * track["width"], track["y"] + track["height"] / 2)
    _accepted(page, "Restarted with citizens")
    shown = int(re.search(r"Citizens \(0 = the map.s population\): ([\d,]+)", page.inner_text("body")).group(1)
                .replace(",", ""))
    assert shown != CITIZENS and 100 <= shown <= 5000
    _wait_text(page, ".cm-status", rf"Step 0 .* {shown:,} citizens")
    _wait_text(page, ".cm-run-params", rf"{shown:,} citizens")


@pytest.mark.skipif(not HAS_EXTRA_SITES, reason="facilities.extra_sites (the Leeds/sites work) is not in this "
                    "checkout yet")
def test_placing_a_workshop_on_the_map_changes_access(page, app_config, tmp_path):
    from citymodel.ui.app_settings import AppSettings
    from citymodel.ui.session import Session

    access_before = page.inner_text(".cm-access")
    shown = int(re.search(r"([\d,]+) citizens", page.inner_text(".cm-status")).group(1).replace(",", ""))
    twin = Session(AppSettings(map_source="default", config_file=str(app_config)))
    twin.apply({"citizens": shown})  # the same run as the page's: same seed, same homes
    homes = twin.run.overlay.homes
    public = np.array([f[:2] for f, facility in zip(twin.run.frames[-1]["facilities"], twin.model.facilities,
                                                    strict=True) if facility.kind != "maker"
                       and facility.kind != "textile_mill"])
    far = int(np.argmax([np.min(np.hypot(*(public - xy).T)) for xy in homes.xy]))
    x, y = homes.xy[far]
    _what_if_mode(page, True)
    page.fill(".cm-fee input", "2")
    _click_map(page, x, y)
    _accepted(page, "Workshop placed")
    access_after = _wait_text(page, ".cm-access", "vs before what-if workshop 1")
    assert access_after != access_before
    walk_before = float(re.search(r"nearest one ([\d.]+) min", access_before).group(1))
    walk_after = float(re.search(r"nearest one ([\d.]+) min", access_after).group(1))
    assert walk_after < walk_before
    assert re.search(r"-\d+\.\d+ min vs before", access_after)
    site = re.search(r"at (-?[\d.]+), (-?[\d.]+)", page.inner_text("body"))
    lon, lat = twin.projection.to_lonlat(x, y)
    node = int(twin.city.router("walk").snap(float(lon), float(lat)))
    node_lon, node_lat = twin.run.overlay.nodes["walk"].lonlat_of(node)
    assert (float(site.group(1)), float(site.group(2))) == (round(node_lat, 5), round(node_lon, 5))
    _what_if_mode(page, False)


def test_a_second_tab_has_its_own_model(context, server, page):
    steps = _step_number(page)
    page.click(".cm-step-button")
    _wait_text(page, ".cm-status", rf"Step {steps + 1} ")
    first_tab = page.inner_text(".cm-status")
    other = _open(context, server[0])
    try:
        assert _step_number(other) == 0
        assert f"{CITIZENS:,} citizens" in other.inner_text(".cm-status")
        assert "vs before" not in other.inner_text(".cm-access")
        other.click(".cm-step-button")
        _wait_text(other, ".cm-status", r"Step 1 ")
        other.click(".cm-step-button")
        _wait_text(other, ".cm-status", r"Step 2 ")
        assert page.inner_text(".cm-status") == first_tab  # the first tab's run did not move
        assert f"{CITIZENS:,} citizens" not in first_tab  # it still has the slider's population
    finally:
        other.close()


def test_out_of_range_input_is_refused_and_the_server_keeps_serving(page, server):
    steps = _step_number(page)
    for typed in ("-5", "abc", "3.5"):
        page.fill(".cm-seed input", typed)
        page.press(".cm-seed input", "Enter")
        refused = _wait_text(page, ".cm-refused", re.escape(repr(typed)))
        assert "Seed" in refused and "refused" in refused
        assert "seed 42" in page.inner_text(".cm-status") and _step_number(page) == steps
    page.fill(".cm-fee input", "-3")
    _what_if_mode(page, True)
    _click_map(page)
    _wait_text(page, ".cm-refused", "fee")
    _what_if_mode(page, False)
    assert page.inner_text("body").count("what-if workshop 2") == 0
    with urllib.request.urlopen(server[0], timeout=30) as response:
        assert response.status == 200
    page.click(".cm-step-button")
    _wait_text(page, ".cm-status", rf"Step {steps + 1} ")
    assert "Traceback" not in server[1].read_text()


def test_clicking_a_facility_shows_it_and_a_screenshot_is_saved(page, app_config, tmp_path):
    from citymodel.ui.app_settings import AppSettings
    from citymodel.ui.session import Session

    status = page.inner_text(".cm-status")
    twin = Session(AppSettings(map_source="default", config_file=str(app_config)))
    library = next(f for f in twin.model.facilities if f.kind == "library")
    x, y = twin.run.frames[-1]["facilities"][library.facility_id][:2]
    _click_map(page, x, y)
    details = _wait_text(page, ".cm-selection", "library")
    assert f"facility {library.facility_id}" in details and "Queue:" in details and "Fee: £" in details
    assert "Utilization so far" in details and "Orders:" in details
    assert page.inner_text(".cm-status") == status  # a click that is not a what-if changes nothing
    path = tmp_path / "ui.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 50_000
