"""What a user takes away from the app: the run folder zipped, and the map over the run as a GIF.

The run folder is written by :class:`citymodel.outputs.RunFolder` from
:func:`citymodel.tables.model_tables` and :func:`citymodel.runner.summarise`,
exactly as ``citymodel run`` writes one; its ``config.toml`` has ``run.days`` set
to the simulated time so far, so ``citymodel run --config config.toml``
reproduces the exported tables. The animation redraws the recorded overlay
frames over the cached street background with Pillow.
"""

from __future__ import annotations

import copy
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from citymodel.outputs import RunFolder
from citymodel.runner import summarise
from citymodel.tables import model_tables
from citymodel.ui.levers import InputError
from citymodel.ui.map_view import MAP_STYLES

GIF_MAX_SIDE_PX = 720
GIF_MAX_FRAMES = 240
GIF_FRAME_MS = 120


def export_name(model) -> str:
    """Base name of the exported files: seed and simulated hour."""
    return f"citymodel-seed{model.config.run.seed}-hour{int(round(model.now / 60.0)):05d}"


def run_folder_zip(model, argv: list[str] | None = None) -> bytes:
    """The run folder of ``model`` as of now (config, manifest, Parquet tables, summary), zipped.

    Raises
    ------
    InputError
        If the run has not advanced one simulated hour yet (a run folder needs a time series).
    """
    if model.now < 60.0:
        msg = "export refused: run at least one simulated hour (press Step) before exporting the run folder"
        raise InputError(msg)
    config = copy.deepcopy(model.config)
    config.run.days = model.now / 1440.0
    name = export_name(model)
    with tempfile.TemporaryDirectory(prefix="citymodel-ui-") as tmp:
        folder = RunFolder(Path(tmp) / name)
        folder.start(config, model.city, argv if argv is not None else ["citymodel", "ui"])
        tables = model_tables(model)
        folder.write_tables(tables)
        folder.write_summary(summarise(model, tables))
        note = (f"exported from citymodel ui at simulated hour {model.now / 60.0:g}; "
                f"run.days in config.toml is the simulated time so far")
        folder.finish("completed", notes=[*model.notes, note])
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.path.iterdir()):
                archive.write(file, f"{name}/{file.name}")
    return buffer.getvalue()


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def _shape(draw: ImageDraw.ImageDraw, shape: str, x: float, y: float, r: float, fill, outline) -> None:
    if shape == "square":
        draw.rectangle((x - r, y - r, x + r, y + r), fill=fill, outline=outline)
    elif shape == "triangle":
        draw.polygon([(x, y - 1.2 * r), (x + 1.1 * r, y + 0.8 * r), (x - 1.1 * r, y + 0.8 * r)], fill=fill,
                     outline=outline)
    elif shape == "diamond":
        draw.polygon([(x, y - 1.25 * r), (x + 1.25 * r, y), (x, y + 1.25 * r), (x - 1.25 * r, y)], fill=fill,
                     outline=outline)
    elif shape == "cross":
        draw.line((x - r, y - r, x + r, y + r), fill=fill, width=3)
        draw.line((x + r, y - r, x - r, y + r), fill=fill, width=3)
    else:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=outline)


def render_frame(background: Image.Image, homes: dict[str, list[float]], frame: dict[str, Any],
                 scale: float) -> Image.Image:
    """One map frame (RGB): background, homes by stage, trips, facilities by load, the time."""
    image = background.copy()
    draw = ImageDraw.Draw(image)
    xy = np.asarray(homes["xy"], dtype=float).reshape(-1, 2) * scale
    radius = np.asarray(homes["r"], dtype=float) * scale
    stage_rgb = [_rgb(c) for c in MAP_STYLES["stage_colours"]]
    for (x, y), r, code in zip(xy, radius, frame["home_stage"], strict=True):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=stage_rgb[int(code)])
    trip_rgb = [_rgb(c) for c in MAP_STYLES["trip_colours"]]
    for trip in frame["trips"]:
        points = [(trip[k] * scale, trip[k + 1] * scale) for k in range(3, len(trip) - 1, 2)]
        if len(points) > 1:
            draw.line(points, fill=trip_rgb[int(trip[0])], width=2)
        hx, hy = trip[1] * scale, trip[2] * scale
        draw.ellipse((hx - 3, hy - 3, hx + 3, hy + 3), fill=trip_rgb[int(trip[0])], outline=(255, 255, 255))
    kind_rgb = [_rgb(c) for c in MAP_STYLES["kind_colours"]]
    for x, y, r, kind, _busy in frame["facilities"]:
        colour = kind_rgb[int(kind)] if int(kind) < len(kind_rgb) else (127, 127, 127)
        shape = MAP_STYLES["shapes"][int(kind)] if int(kind) < len(kind_rgb) else "circle"
        _shape(draw, shape, x * scale, y * scale, r * scale, colour, (34, 34, 34))
    hour = int(frame["hour"])
    label = f"day {hour // 24}  {hour % 24:02d}:00"
    font = ImageFont.load_default()
    draw.rectangle((4, 4, 12 + 7 * len(label), 22), fill=(255, 255, 255))
    draw.text((8, 7), label, fill=(0, 0, 0), font=font)
    return image


def _palette(background: Image.Image) -> Image.Image:
    """One palette for every frame: the background's colours plus every style colour."""
    colours = [_rgb(c) for key in ("stage_colours", "kind_colours", "trip_colours") for c in MAP_STYLES[key]]
    colours += [(0, 0, 0), (255, 255, 255), (34, 34, 34), (127, 127, 127)]
    base = background.quantize(colors=256 - len(colours)).getpalette()[: 3 * (256 - len(colours))]
    palette = Image.new("P", (1, 1))
    palette.putpalette(base + [v for rgb in colours for v in rgb])
    return palette


def map_animation_gif(background_png: bytes, homes: dict[str, list[float]], frames: list[dict[str, Any]],
                      max_frames: int = GIF_MAX_FRAMES, frame_ms: int = GIF_FRAME_MS) -> bytes:
    """An animated GIF of the recorded map frames (evenly thinned to at most ``max_frames``).

    Raises
    ------
    InputError
        If fewer than two frames were recorded (nothing moves yet).
    """
    if len(frames) < 2:
        msg = "animation refused: step the run at least once (an animation needs two frames)"
        raise InputError(msg)
    pick = np.unique(np.linspace(0, len(frames) - 1, min(max_frames, len(frames))).round().astype(int))
    background = Image.open(io.BytesIO(background_png)).convert("RGB")
    scale = min(1.0, GIF_MAX_SIDE_PX / max(background.size))
    if scale < 1.0:
        background = background.resize((round(background.width * scale), round(background.height * scale)),
                                        Image.Resampling.LANCZOS)
    palette = _palette(background)
    images = [render_frame(background, homes, frames[k], scale).quantize(palette=palette,
                                                                          dither=Image.Dither.NONE)
              for k in pick]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=frame_ms, loop=0,
                   optimize=False)
    return buffer.getvalue()
