"""Validation results: one row per compared quantity, as JSON and as a table."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


# --------------------------------------------------------------------------- results
@dataclass
class CheckResult:
    """One compared quantity of one check.

    Attributes
    ----------
    check
        Check name (one of :data:`CHECKS`).
    quantity
        What is compared (e.g. ``utilization``, ``max_abs_gap``).
    parameters
        The point the check ran at (units in the key names or in ``docs/validation.md``).
    model_value
        What the model produced.
    analytic_value
        The reference value (closed form, or the exact value of an invariant).
    tolerance
        Largest accepted ``|model_value - analytic_value|``.
    passed
        Whether the model value is within tolerance.
    tolerance_basis
        How the tolerance was derived (confidence level, formula).
    detail
        Extra diagnostics (counts, confidence intervals, batch-mean autocorrelation).
    series
        Per-day (or per-point) series behind the row, e.g. for ``bass`` ``model_series``,
        ``analytic_series`` and ``band_series`` (the accepted half-width on each day).
    counted
        False for rows that are reported, not checked (the ``patterns`` section): they never
        make ``citymodel validate`` fail.
    """

    check: str
    quantity: str
    parameters: dict[str, Any]
    model_value: float
    analytic_value: float
    tolerance: float
    passed: bool
    tolerance_basis: str = ""
    detail: str = ""
    seconds: float = field(default=math.nan, compare=False)
    series: dict[str, list[float]] = field(default_factory=dict, compare=False)
    counted: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict: ``check, quantity, parameters, model_value, analytic_value,
        tolerance, passed`` plus ``tolerance_basis``, ``detail`` and ``seconds`` (wall clock of
        the check point this row belongs to), any :attr:`series` under their own names, and
        ``counted: false`` for a reported-only row. Non-finite numbers become ``None``."""
        return {
            "check": self.check,
            "quantity": self.quantity,
            "parameters": {k: _plain(v) for k, v in self.parameters.items()},
            "model_value": _plain(self.model_value),
            "analytic_value": _plain(self.analytic_value),
            "tolerance": _plain(self.tolerance),
            "passed": bool(self.passed),
            "tolerance_basis": self.tolerance_basis,
            "detail": self.detail,
            "seconds": _plain(self.seconds),
            **{name: [_plain(float(v)) for v in values] for name, values in self.series.items()},
            **({} if self.counted else {"counted": False}),
        }


def _plain(value: Any) -> Any:
    """A JSON-safe Python scalar (numpy scalars unwrapped, NaN/inf as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def results_to_json(results: Iterable[CheckResult]) -> str:
    """The results as a JSON list of objects (see :meth:`CheckResult.to_dict`)."""
    return json.dumps([r.to_dict() for r in results], indent=2, allow_nan=False)


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if value == 0:
        return "0"
    return f"{value:.4g}"


def _param_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v) if isinstance(v, float) else v}" for k, v in params.items())


def format_table(results: Iterable[CheckResult]):
    """A :class:`rich.table.Table` of check, quantity, parameters, model, analytic, tolerance
    and result.

    A row shows the parameters that vary between the rows of its check (e.g. an erlang point's
    servers and load); those shared by all rows of a check, and the basis of each tolerance
    (the ``[n]`` after it), are listed in the caption.
    """
    from rich.table import Table

    results = list(results)
    shared: dict[str, dict[str, Any]] = {}
    for r in results:
        common = shared.setdefault(r.check, dict(r.parameters))
        for key in list(common):
            if key not in r.parameters or r.parameters[key] != common[key]:
                del common[key]
    table = Table(title="citymodel validation", caption_justify="left")
    for name, justify in (("check", "left"), ("quantity", "left"), ("parameters", "left"),
                          ("model", "right"), ("analytic", "right"), ("tolerance", "right"),
                          ("result", "center")):
        table.add_column(name, justify=justify, overflow="fold",
                         no_wrap=name not in ("quantity", "parameters"),
                         min_width=18 if name == "parameters" else None)
    notes: dict[str, int] = {}
    for r in results:
        own = {k: v for k, v in r.parameters.items() if k not in shared[r.check]}
        verdict = "[green]pass[/green]" if r.passed else "[bold red]FAIL[/bold red]"
        if not r.counted:
            verdict = "inside" if r.passed else "[yellow]outside[/yellow]"
        tolerance = _fmt(r.tolerance)
        if r.tolerance_basis:
            note = notes.setdefault(r.tolerance_basis, len(notes) + 1)
            tolerance += f" [{note}]"
        table.add_row(r.check, r.quantity, _param_text(own) or "–", _fmt(r.model_value),
                      _fmt(r.analytic_value), tolerance, verdict)
    lines = [f"{check}: {_param_text(common)}" for check, common in shared.items() if common]
    lines += [f"[{n}] {basis}" for basis, n in notes.items()]
    table.caption = "\n".join(lines) if lines else None
    return table
