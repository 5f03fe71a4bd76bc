"""The ``routing`` check: travel times against networkx shortest paths."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from citymodel.validation.context import _Context
from citymodel.validation.results import CheckResult

ROUTING_REL_TOL = 1e-9

# --------------------------------------------------------------------------- routing
def routing_errors(city, legs) -> tuple[np.ndarray, int]:
    """Relative error of each leg's travel time against networkx on the mode's graph.

    Parameters
    ----------
    city
        The :class:`~citymodel.maps.City` the run used.
    legs
        A DataFrame with ``mode, origin_node, destination_node, travel_time_s`` and a
        RangeIndex.

    Returns
    -------
    errors, unreachable : numpy.ndarray, int
        ``|model - networkx| / networkx`` per leg (0 when both are 0 or both unreachable;
        inf when exactly one is); and the number of legs networkx finds no path for.
    """
    import networkx as nx

    errors = np.zeros(len(legs))
    unreachable = 0
    for (mode, origin), group in legs.groupby(["mode", "origin_node"], sort=True, observed=True):
        graph = city.graph(str(mode))
        lengths = (nx.shortest_path_length(graph, source=int(origin), weight="travel_time")
                   if int(origin) in graph else {})
        for pos, dest, model_s in zip(group.index, group["destination_node"],
                                      group["travel_time_s"], strict=True):
            ref = float(lengths.get(int(dest), math.inf))
            unreachable += math.isinf(ref)
            if ref == model_s:
                errors[pos] = 0.0
            elif ref > 0 and math.isfinite(ref):
                errors[pos] = abs(model_s - ref) / ref
            else:
                errors[pos] = math.inf
    return errors, unreachable


def _check_routing(s: dict[str, Any], ctx: _Context) -> list[CheckResult]:
    t0 = time.perf_counter()
    result = ctx.city_run(s["citizens"], s["days"], s["seed"])
    cols = ["mode", "origin_node", "destination_node", "travel_time_s"]
    trips = result.tables["trips"][cols].reset_index(drop=True)
    orders = result.tables["orders"]
    orders = orders.loc[np.isfinite(orders["travel_time_s"].to_numpy(dtype=float)), cols]
    orders = orders.reset_index(drop=True)
    out = []
    params = {"citizens": s["citizens"], "days": s["days"], "seed": s["seed"], "map": "default"}
    for quantity, legs in (("max_rel_error_trips", trips), ("max_rel_error_orders", orders)):
        legs = legs.astype({"mode": str})
        errors, unreachable = routing_errors(ctx.city, legs)
        worst = float(errors.max()) if len(errors) else math.nan
        modes = legs["mode"].value_counts().sort_index().to_dict()
        out.append(CheckResult(
            "routing", quantity, {**params, "legs": len(legs)}, worst, 0.0, ROUTING_REL_TOL,
            bool(len(errors) > 0 and worst <= ROUTING_REL_TOL),
            tolerance_basis="float64 rounding of path sums (scipy vs networkx Dijkstra)",
            detail=(f"{len(legs)} legs by mode {modes}; {unreachable} unreachable in networkx"
                    if len(legs) else "no legs to check: the run made none"),
            seconds=time.perf_counter() - t0))
    return out
