"""The map in the browser: cached street background, the moving overlay, a legend; clicks sent back."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import solara

from citymodel.report import KIND_STYLE, STAGE_COLORS
from citymodel.ui.map_overlay import KINDS
from citymodel.vocabulary import STAGES, TRIP_PURPOSES

MARKER_SHAPES = {"^": "triangle", "s": "square", "D": "diamond", "P": "plus", "h": "hexagon", "*": "star",
                 "o": "circle", "X": "cross"}
SHAPE_GLYPHS = {"triangle": "▲", "square": "■", "diamond": "◆", "plus": "✚", "hexagon": "⬢", "star": "★",
                "circle": "●", "cross": "✖"}
OTHER_KIND_COLOUR = "#7f7f7f"
"""Facility kinds without a report style (e.g. added by a configuration) are grey circles."""
TRIP_COLOURS = {"self_fabrication": "#2a9d8f", "return_home": "#8ab17d", "delivery": "#7b2cbf"}
MAP_STYLES = {
    "stage_colours": [STAGE_COLORS[s] for s in STAGES],
    "kind_colours": [KIND_STYLE[k][0] for k in KINDS],
    "shapes": [MARKER_SHAPES.get(KIND_STYLE[k][1], "circle") for k in KINDS],
    "trip_colours": [TRIP_COLOURS[p] for p in TRIP_PURPOSES],
}
"""Colours and shapes shared by the browser canvas, the legend and the GIF export."""


def png_data_url(png: bytes) -> str:
    """A ``data:`` URL of PNG bytes (the background travels inside the page: no tile server)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@solara.component_vue(str(Path(__file__).with_name("map_canvas.vue")))
def MapCanvas(background: str, width: int, height: int, homes: dict, overlay: dict, selected: list | None,
              placing: bool, styles: dict, event_map_click: Callable[[dict], None] | None = None):
    """The canvas map (see ``map_canvas.vue``)."""


def _swatch(colour: str, glyph: str = "●") -> str:
    return f'<span style="color:{colour}; font-size: 14px;">{glyph}</span>'


def legend_html(kinds_present: list[str], attribution: str) -> str:
    """The map legend: stages of homes, facility kinds, trips, what the sizes mean, and the map's licence."""
    stages = " ".join(f"{_swatch(STAGE_COLORS[s])} {s}" for s in STAGES)
    kinds = " ".join(
        [f"{_swatch(KIND_STYLE[k][0], SHAPE_GLYPHS[MARKER_SHAPES.get(KIND_STYLE[k][1], 'circle')])} "
         f"{k.replace('_', ' ')}" for k in KINDS if k in kinds_present]
        + [f"{_swatch(OTHER_KIND_COLOUR)} {k.replace('_', ' ')}" for k in sorted(set(kinds_present) - set(KINDS))])
    trips = " ".join(f"{_swatch(TRIP_COLOURS[p], '━')} {p.replace('_', ' ')}" for p in TRIP_PURPOSES)
    return (
        '<div class="cm-legend" style="font-size: 12px; line-height: 1.7;">'
        f"<b>Homes</b> (citizens grouped by home; colour = most advanced stage there; size = residents): {stages}<br>"
        f"<b>Facilities</b> (size = machines running + jobs queued now): {kinds}<br>"
        f"<b>Trips under way</b> (routed path, dot = traveller now): {trips}<br>"
        f"<span style='color:#555'>Map data {attribution}</span>"
        "</div>")


@solara.component
def MapView(background_png: bytes, map_key: str, width: int, height: int, homes: dict, overlay: dict,
            selected: list | None, placing: bool, kinds_present: list[str], attribution: str,
            on_click: Callable[[float, float], None]):
    """The map with its legend; ``on_click(x, y)`` gets canvas pixel coordinates."""
    background = solara.use_memo(lambda: png_data_url(background_png), [map_key, width])
    MapCanvas(background=background, width=width, height=height, homes=homes, overlay=overlay,
              selected=selected, placing=placing, styles=MAP_STYLES,
              event_map_click=lambda data: on_click(float(data["x"]), float(data["y"])))
    solara.HTML(tag="div", unsafe_innerHTML=legend_html(kinds_present, attribution))
