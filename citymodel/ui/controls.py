"""The app's controls: run buttons and speed, levers, map and scenario pickers, the what-if form, export.

Controls only collect what the user asks for and hand it to callbacks; the
:class:`~citymodel.ui.session.Session` decides what is accepted. A slider
commits its value when released (Vuetify's ``change`` event), so dragging
builds one new model, not one per pixel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import solara

from citymodel.ui.levers import LEVERS, MACHINE_TYPES, Lever
from citymodel.vocabulary import PUBLIC_WORKSHOP_KINDS

SPEEDS_H_PER_S = (1, 2, 6, 12, 24, 48, 96, 168)
"""Speeds offered (simulated hours per second)."""


@solara.component
def RunControls(playing: solara.Reactive[bool], speed: solara.Reactive[int], done: bool, status: str,
                parameters: str, on_step: Callable[[], None], on_reset: Callable[[], None]):
    """Play / Pause, Step (one simulated hour), Reset, the speed, and where the run is."""
    with solara.Row(gap="6px"):
        solara.Button("Pause" if playing.value else "Play", color="primary", icon_name=(
            "mdi-pause" if playing.value else "mdi-play"), on_click=lambda: playing.set(not playing.value),
            disabled=done and not playing.value, classes=["cm-play"])
        solara.Button("Step", on_click=on_step, disabled=playing.value or done, classes=["cm-step-button"])
        solara.Button("Reset", on_click=on_reset, classes=["cm-reset"])
    solara.Select("Speed (simulated hours per second)", value=speed, values=list(SPEEDS_H_PER_S))
    solara.Text(status, classes=["cm-status"])
    solara.Text(parameters, classes=["cm-run-params"], style={"font-size": "12px", "color": "#555"})


@solara.component
def LeverSlider(lever: Lever, value: float, on_commit: Callable[[str, Any], None]):
    """A slider that shows its value while dragged and commits it on release."""
    shown, set_shown = solara.use_state(value)
    solara.use_effect(lambda: set_shown(value), [value])
    cast = int if lever.kind == "int" else float
    fmt = f"{shown:,}" if lever.kind == "int" else f"{shown:g}"
    solara.Text(f"{lever.label}: {fmt}", classes=["cm-lever-label"], style={"font-size": "12px"})
    slider = solara.v.Slider(v_model=shown, on_v_model=lambda v: set_shown(cast(v)), label=None,
                             min=lever.minimum, max=lever.maximum, step=lever.step, thumb_label=True,
                             hide_details=True, class_=f"cm-lever cm-lever-{lever.key.replace('.', '-')}")
    solara.v.use_event(slider, "change", lambda _widget, _event, data: on_commit(lever.key, data))


@solara.component
def LeverControls(params: dict[str, Any], on_commit: Callable[[str, Any], None]):
    """Every lever (see :data:`citymodel.ui.levers.LEVERS`) at its value in ``params``."""
    for lever in LEVERS:
        value = params[lever.key]
        if lever.widget == "select":
            solara.Select(lever.label, value=value, values=list(lever.choices),
                          on_value=lambda v, key=lever.key: on_commit(key, v))
        elif lever.widget == "text":
            solara.InputText(f"{lever.label} (press Enter)", value=str(value), continuous_update=False,
                             on_value=lambda v, key=lever.key: on_commit(key, v), classes=["cm-seed"])
        else:
            LeverSlider(lever, value, on_commit)


@solara.component
def MapScenarioPicker(maps: dict[str, str], map_source: str, scenarios: dict[str, str], scenario: str,
                      on_map: Callable[[str], None], on_scenario: Callable[[str], None]):
    """Pick an embedded map (or the one the server started with) and a scenario file."""
    labels = dict(maps)
    if map_source not in labels.values():
        labels[f"{map_source} (from --map)"] = map_source
    by_source = {v: k for k, v in labels.items()}
    solara.Select("Map", value=by_source[map_source], values=list(labels),
                  on_value=lambda label: on_map(labels[label]))
    if scenarios:
        options = {"(none: levers only)": "", **scenarios}
        current = next((k for k, v in options.items() if v == scenario), "(none: levers only)")
        solara.Select("Scenario (experiments/scenarios/)", value=current, values=list(options),
                      on_value=lambda label: on_scenario(options[label]))
    else:
        solara.Text("Scenario: no scenario files under experiments/scenarios/ yet", style={"font-size": "12px"})


@solara.component
def WhatIfControls(placing: solara.Reactive[bool], kind: solara.Reactive[str],
                   machines: solara.Reactive[dict[str, str]], fee: solara.Reactive[str], sites: list[dict],
                   comparing: str, on_remove: Callable[[], None]):
    """The what-if form: a mode in which a click on the map places a public workshop."""
    solara.Switch(label="What-if: click the map to place a workshop", value=placing, classes=["cm-whatif"])
    solara.Select("Workshop kind", value=kind, values=list(PUBLIC_WORKSHOP_KINDS))
    with solara.Row(gap="4px"):
        for machine in MACHINE_TYPES:
            solara.InputText(machine.replace("_", " "), value=machines.value[machine], continuous_update=True,
                             on_value=lambda v, m=machine: machines.set({**machines.value, m: v}),
                             classes=[f"cm-machines-{machine}"])
    solara.InputText("Fee (£ per machine-hour)", value=fee, continuous_update=True, classes=["cm-fee"])
    if sites:
        for site in sites:
            machines_text = ", ".join(f"{n} {m.replace('_', ' ')}" for m, n in site["machines"].items())
            solara.Text(f"• {site.get('name', 'workshop')}: {site['kind'].replace('_', ' ')}, {machines_text}, "
                        f"£{site['fee_per_hour']:g}/h at {site['lat']:.5f}, {site['lon']:.5f}",
                        style={"font-size": "12px"})
        solara.Button("Remove what-if workshops", on_click=on_remove, text=True, classes=["cm-remove-sites"])
    if comparing:
        solara.Text(f"Comparing with the run {comparing} (same seed, same hour).", style={"font-size": "12px"})
