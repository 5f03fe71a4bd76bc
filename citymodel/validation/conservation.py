"""The ``conservation`` check: accounting identities of a default-map run."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from citymodel.validation.context import _Context
from citymodel.validation.results import CheckResult

MONEY_REL_TOL = 1e-9
"""Relative float tolerance of money sums (£ per £ moved): rounding only, no modelling slack."""


# --------------------------------------------------------------------------- conservation
def books_vs_ledger(tables: Mapping[str, Any]) -> tuple[float, float]:
    """Largest |book - ledger| (£) over facilities and designers, and the total money moved (£).

    A facility's ``revenue`` and a designer's ``royalty_total`` are kept by the agents; the
    ledger's receipts of ``facility:<id>`` and ``designer:<id>`` are recorded separately.
    """
    ledger = tables["ledger"]
    received = ledger.groupby("payee")["amount"].sum()
    gaps = [0.0]
    for df, prefix, id_col, value_col in (
        (tables["facilities"], "facility", "facility_id", "revenue"),
        (tables["designers"], "designer", "designer_id", "royalty_total"),
    ):
        keys = prefix + ":" + df[id_col].astype(str)
        ledger_side = received.reindex(keys.to_numpy(), fill_value=0.0).to_numpy()
        gaps.append(float(np.max(np.abs(df[value_col].to_numpy(dtype=float) - ledger_side),
                                 initial=0.0)))
    return max(gaps), float(ledger["amount"].abs().sum())


def _check_conservation(s: dict[str, Any], ctx: _Context) -> list[CheckResult]:
    from citymodel.metrics import conservation

    t0 = time.perf_counter()
    result = ctx.city_run(s["citizens"], s["days"], s["seed"])
    tables = result.tables
    cons = conservation(tables["orders"], tables["facilities"], tables["ledger"])
    params = {"citizens": s["citizens"], "days": s["days"], "seed": s["seed"], "map": "default"}
    seconds = time.perf_counter() - t0
    o, m, money = cons["orders"], cons["machine_hours"], cons["money"]
    fac = tables["facilities"]
    busy = fac["busy_machine_hours"].to_numpy(dtype=float)
    open_h = fac["open_machine_hours"].to_numpy(dtype=float)
    over = int(np.sum(busy > open_h * (1 + 1e-12) + 1e-9))
    book_gap, moved = books_vs_ledger(tables)
    money_tol = MONEY_REL_TOL * max(moved, 1.0)
    exact = "exact identity (integers)"
    return [
        CheckResult("conservation", "orders_unaccounted", params, float(o["unaccounted"]), 0.0,
                    0.0, bool(o["unaccounted"] == 0 and o["ok"]), tolerance_basis=exact,
                    detail=(f"created {o['created']} = delivered {o['delivered']} + in progress "
                            f"{o['in_progress']} + cancelled {o['cancelled']}"),
                    seconds=seconds),
        CheckResult("conservation", "facilities_busy_over_open", params, float(over), 0.0, 0.0,
                    bool(over == 0 and m["ok"]), tolerance_basis=exact + "; busy <= open per "
                    "facility within float rounding (1e-12 relative)",
                    detail=(f"{len(fac)} facilities; worst busy/open "
                            f"{m['worst_busy_to_open_ratio']:.4f}; metrics violations "
                            f"{m['n_violations']}"), seconds=seconds),
        CheckResult("conservation", "money_paid_minus_received_gbp", params,
                    float(money["total_paid_gbp"] - money["total_received_gbp"]), 0.0, money_tol,
                    bool(money["ok"] and abs(money["residual_gbp"]) <= money_tol
                         and abs(money["total_paid_gbp"] - money["total_received_gbp"])
                         <= money_tol),
                    tolerance_basis=f"float rounding: {MONEY_REL_TOL:g} x £ moved",
                    detail=(f"£{money['total_paid_gbp']:,.2f} paid; net balance residual "
                            f"£{money['residual_gbp']:.3g}; {money['n_bad_rows']} bad rows"),
                    seconds=seconds),
        CheckResult("conservation", "books_minus_ledger_gbp", params, book_gap, 0.0, money_tol,
                    bool(book_gap <= money_tol),
                    tolerance_basis=f"float rounding: {MONEY_REL_TOL:g} x £ moved",
                    detail="largest |facility revenue or designer royalty - ledger receipts|",
                    seconds=seconds),
    ]
