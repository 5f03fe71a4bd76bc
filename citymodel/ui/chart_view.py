"""A live chart in the browser: rows appended as the run advances, drawn on a canvas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import solara

from citymodel.ui.charts import ChartSpec, chart_rows
from citymodel.ui.live_metrics import Sample


@solara.component_vue(str(Path(__file__).with_name("chart_canvas.vue")))
def ChartCanvas(spec: dict, feed: dict, event_resync: Callable[[dict], None] | None = None):
    """The canvas chart (``chart_canvas.vue``); ``feed`` = {run, start, end, rows}: rows of samples start..end."""


@solara.component
def ChartView(spec: ChartSpec, samples: list[Sample], n_samples: int, run_id: int, horizon_h: float):
    """One chart of the app: sends the browser only the rows it has not drawn yet.

    Parameters
    ----------
    spec
        What the chart plots.
    samples
        Every sample of the run (appended to, never rewritten).
    n_samples
        How many of them to show (the list's length when rendered: changes every step).
    run_id
        Changes when the run restarts (the browser then starts a new buffer).
    horizon_h
        The run's length (simulated hours): the fixed extent of the x axis.
    """
    sent = solara.use_ref((run_id, 0))
    resyncs, set_resyncs = solara.use_state(0)
    start = sent.current[1] if sent.current[0] == run_id else 0
    start = min(start, n_samples)
    feed = {"run": run_id, "start": start, "end": n_samples, "rows": chart_rows(spec, samples[start:n_samples]),
            "resyncs": resyncs}
    sent.current = (run_id, n_samples)

    def resync(_data: dict) -> None:
        sent.current = (run_id, 0)
        set_resyncs(resyncs + 1)

    spec_json = solara.use_memo(lambda: spec.to_json(horizon_h), [spec.key, spec.title, len(spec.series), horizon_h])
    ChartCanvas(spec=spec_json, feed=feed, event_resync=resync)
