"""Side panels: details of what was clicked on the map, and access and inclusion (with the what-if difference)."""

from __future__ import annotations

from typing import Any

import solara

from citymodel.ui.session import Comparison


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def _pp(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "–"
    diff = 100 * (now - before)
    return f"{diff:+.{2 if abs(diff) < 1 else 1}f} pp"


def _table(header: list[str], rows: list[list[str]], css_class: str) -> str:
    head = "".join(f"<th style='text-align:right; padding: 0 6px;'>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='text-align:right; padding: 0 6px;'>{c}</td>" for c in row)
                   + "</tr>" for row in rows)
    return f"<table class='{css_class}' style='font-size: 12px; border-collapse: collapse;'>" \
           f"<tr>{head}</tr>{body}</table>"


def facility_html(d: dict[str, Any]) -> str:
    """The clicked facility: queue, utilization, orders, fee."""
    machines = ", ".join(f"{n} {m.replace('_', ' ')}" for m, n in d["machines"].items())
    status = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(d["orders_by_status"].items())) or "none"
    channels = ", ".join(f"{n} {c.replace('_', ' ')}" for c, n in sorted(d["orders_by_channel"].items())) or "none"
    return (
        f"<div class='cm-selection' style='font-size: 13px; line-height: 1.6;'>"
        f"<b>{d['name']}</b> ({d['kind'].replace('_', ' ')}, facility {d['id']})<br>"
        f"Fee: £{d['fee_per_hour']:.2f} per machine-hour · machines: {machines}<br>"
        f"Queue: {d['queued']} jobs waiting · {d['running']} of {d['machines_total']} machines running<br>"
        f"Utilization so far: {_pct(d['utilization'])} of open machine-hours<br>"
        f"Orders: {d['orders']} ({status}; {channels}) · revenue £{d['revenue']:.2f}</div>")


def home_html(d: dict[str, Any]) -> str:
    """The clicked home: its citizens' income quintile, deprivation decile and stage."""
    rows = [[str(r["citizen"]), str(r["quintile"]), "–" if r["decile"] is None else str(r["decile"]), r["stage"]]
            for r in d["residents"]]
    more = d["n"] - len(d["residents"])
    stages = ", ".join(f"{n} {s}" for s, n in d["by_stage"].items() if n)
    return (f"<div class='cm-selection' style='font-size: 13px; line-height: 1.6;'>"
            f"<b>Home</b> at street node {d['node']}: {d['n']} citizens ({stages})"
            + _table(["citizen", "income quintile", "IMD decile", "stage"], rows, "cm-residents")
            + (f"<i>… and {more} more</i>" if more > 0 else "") + "</div>")


@solara.component
def SelectionPanel(details: dict[str, Any] | None):
    """What the last click on the map hit."""
    if details is None:
        solara.Text("Click a facility or a home on the map for its details.", style={"font-size": "12px"})
        return
    html = facility_html(details) if details["type"] == "facility" else home_html(details)
    solara.HTML(tag="div", unsafe_innerHTML=html)


@solara.component
def AccessInclusionPanel(comparison: Comparison):
    """Access within a 15-minute walk and participation by income quintile; the what-if difference if any."""
    now, before = comparison.now, comparison.before
    inc = now.inclusion
    access_total = now.access_share()
    header = ["income quintile", "access (≤15 min walk)", "participation", "prosumers"]
    if comparison.label:
        header = [header[0], "access", "Δ access", "participation", "Δ participation"]
    rows = []
    for q in range(5):
        access = inc["access_15min_walk_by_income_quintile"][q]
        part = inc["participation_by_income_quintile"][q]
        if comparison.label:
            b = before.inclusion if before is not None else None
            rows.append([f"Q{q + 1}", _pct(access), _pp(access, b and b["access_15min_walk_by_income_quintile"][q]),
                         _pct(part, 2), _pp(part, b and b["participation_by_income_quintile"][q])])
        else:
            rows.append([f"Q{q + 1}", _pct(access), _pct(part, 2),
                         _pct(inc["prosumer_share_by_income_quintile"][q], 2)])
    walk = "–" if now.walk_min is None else f"{now.walk_min:.2f} min"
    headline = (f"Access: {_pct(access_total)} of citizens within a 15-minute walk of a public workshop; "
                f"mean walk to the nearest one {walk}")
    if comparison.label:
        before_total = before.access_share() if before is not None else None
        change = "–" if before is None or before.walk_min is None or now.walk_min is None else \
            f"{now.walk_min - before.walk_min:+.2f} min"
        headline += f" ({_pp(access_total, before_total)}, {change} vs {comparison.label})"
    ci = inc["concentration_index"]
    extra = (f"Participation: {_pct(inc['participation_share'], 2)} of citizens · concentration index of DM use "
             f"over income rank: {'–' if ci is None else f'{ci:+.3f}'}")
    solara.HTML(tag="div", unsafe_innerHTML=(
        f"<div style='font-size: 13px; line-height: 1.6;'><b class='cm-access'>{headline}</b><br>{extra}</div>"
        + _table(header, rows, "cm-inclusion")))
