"""Compute a run's summary metrics from its output tables (pure functions, JSON-safe)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from citymodel.vocabulary import ACCESS_WALK_S, CHANNELS, PUBLIC_WORKSHOP_KINDS, STAGES

__all__ = [
    "CHANNELS",
    "DEFAULT_CO2_KG_PER_VEHICLE_KM",
    "PUBLIC_WORKSHOP_KINDS",
    "STAGES",
    "adoption",
    "compute_summary",
    "concentration_index",
    "conservation",
    "delivery_time_h",
    "delivery_time_stats",
    "kaplan_meier_quantiles",
    "designer_royalty",
    "economics",
    "erreygers_index",
    "facility_utilization",
    "fractional_rank",
    "gini",
    "inclusion",
    "localisation",
    "order_counts",
    "public_spend",
    "access_detail",
    "makers",
    "mill_batches",
    "quotes",
    "to_json_safe",
    "utilization",
]

DEFAULT_CO2_KG_PER_VEHICLE_KM: Mapping[str, float] = MappingProxyType(
    {
        # DESNZ 2024 conversion factors: average diesel van (<= 3.5 t), kg CO2e/km.
        "van": 0.250,
        # Zedify (Keam) gives 0-5 g CO2e/km operating; we assume the upper end.
        "cargo_bike": 0.005,
        "bike": 0.0,
        "walk": 0.0,
    }
)
"""Tailpipe/operating emission factors per vehicle-km (kg CO2e/km) by delivery mode."""

ACCESS_THRESHOLD_S = ACCESS_WALK_S
"""A citizen has access when the walk to the nearest workshop is <= 15 min (seconds)."""

_MIN_PER_WEEK = 7 * 24 * 60
_PERCENTILES = (50, 90, 95)
_REL_TOL = 1e-9


# ---------------------------------------------------------------------------
# helpers


def _require(df: pd.DataFrame, table: str, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        msg = f"{table} table lacks column(s) {', '.join(repr(c) for c in missing)}"
        raise ValueError(msg)


def _ratio(num: float, den: float) -> float | None:
    """num / den, or None when the denominator is zero (or not finite)."""
    if not math.isfinite(den) or den == 0:
        return None
    return float(num) / float(den)


def _none_if_nan(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _with_extra(known: Iterable[str], values: pd.Series) -> list[str]:
    """Known labels in order, then any other non-null label found in ``values``, sorted."""
    known = list(known)
    extra = {str(v) for v in values.dropna().unique()} - set(known)
    return known + sorted(extra)


def to_json_safe(obj: Any) -> Any:
    """Convert numpy/pandas scalars and containers to plain Python for ``json.dumps``.

    NaN and +-inf become ``None`` (JSON has no NaN), numpy integers become
    ``int``, numpy floats ``float``, tuples and arrays lists, mapping keys
    ``str``.

    Parameters
    ----------
    obj : Any
        A nested structure of dicts, lists, tuples, arrays and scalars.

    Returns
    -------
    Any
        The same structure made only of dict, list, str, int, float, bool, None.
    """
    if isinstance(obj, Mapping):
        return {str(k): to_json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray, pd.Series)):
        return [to_json_safe(v) for v in list(obj)]
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


# ---------------------------------------------------------------------------
# inequality measures


def gini(values: npt.ArrayLike) -> float:
    """Gini coefficient of non-negative values (population formula).

    G = sum_i sum_j |x_i - x_j| / (2 n^2 mean), computed from the sorted
    values as 2 sum_i i x_(i) / (n sum x) - (n + 1)/n. No small-sample
    correction n/(n-1) is applied, so [0, 0, 0, 1] gives 0.75.

    Parameters
    ----------
    values : array_like
        Finite values >= 0 (any unit).

    Returns
    -------
    float
        Gini coefficient in [0, 1 - 1/n]; NaN when there are no values or
        they sum to zero.
    """
    x = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(x)):
        msg = "gini values must be finite (drop NaN/inf first)"
        raise ValueError(msg)
    if np.any(x < 0):
        msg = "gini values must be >= 0"
        raise ValueError(msg)
    total = x.sum()
    if x.size == 0 or total == 0:
        return math.nan
    x = np.sort(x)
    n = x.size
    i = np.arange(1, n + 1)
    return float(2.0 * np.sum(i * x) / (n * total) - (n + 1.0) / n)


def fractional_rank(income: npt.ArrayLike) -> np.ndarray:
    """Fractional income rank r_i = (R_i - 0.5) / n, ties given their mean rank.

    Parameters
    ----------
    income : array_like
        Income (any unit; only the order matters), finite.

    Returns
    -------
    numpy.ndarray
        Ranks in (0, 1) with mean exactly 0.5; poorest lowest.
    """
    y = np.asarray(income, dtype=float).ravel()
    if not np.all(np.isfinite(y)):
        msg = "income must be finite"
        raise ValueError(msg)
    return (stats.rankdata(y, method="average") - 0.5) / y.size


def _outcome_and_rank(outcome: npt.ArrayLike, income: npt.ArrayLike) -> tuple[np.ndarray, ...]:
    h = np.asarray(outcome, dtype=float).ravel()
    y = np.asarray(income, dtype=float).ravel()
    if h.size != y.size:
        msg = f"outcome and income differ in length ({h.size} vs {y.size})"
        raise ValueError(msg)
    if not np.all(np.isfinite(h)):
        msg = "outcome must be finite"
        raise ValueError(msg)
    return h, fractional_rank(y)


def concentration_index(health: npt.ArrayLike, income: npt.ArrayLike) -> float:
    """Concentration index of an outcome over income rank (Wagstaff et al. 1991).

    C = 2 cov(h, r) / mean(h), with r the fractional income rank (ties get
    their mean rank) and the population covariance (divide by n).
    Equivalent to 2/(n mean) sum h_i r_i - 1. Positive: the outcome is
    concentrated among the rich; negative: among the poor.

    Parameters
    ----------
    health : array_like
        Outcome per person (e.g. number of DM orders), >= 0 for the usual
        -1..1 range.
    income : array_like
        Income per person (any unit), same length.

    Returns
    -------
    float
        The index; NaN when there are no people or the mean outcome is 0.
    """
    h, r = _outcome_and_rank(health, income)
    if h.size == 0 or h.mean() == 0:
        return math.nan
    cov = float(np.mean((h - h.mean()) * (r - r.mean())))
    return 2.0 * cov / float(h.mean())


def erreygers_index(
    outcome: npt.ArrayLike, income: npt.ArrayLike, *, lower: float = 0.0, upper: float = 1.0
) -> float:
    """Erreygers (2006) corrected concentration index of a bounded outcome.

    E = 8 cov(h, r) / (upper - lower); for a yes/no outcome (0/1) E = 8 cov(h, r).
    Population covariance, fractional rank as in :func:`concentration_index`.

    Parameters
    ----------
    outcome : array_like
        Outcome per person within [lower, upper] (e.g. 1 = participated).
    income : array_like
        Income per person (any unit), same length.
    lower, upper : float
        Bounds of the outcome.

    Returns
    -------
    float
        The index in [-1, 1]; NaN when there are no people.
    """
    if not upper > lower:
        msg = f"upper must be > lower, got lower={lower!r}, upper={upper!r}"
        raise ValueError(msg)
    h, r = _outcome_and_rank(outcome, income)
    if np.any((h < lower) | (h > upper)):
        msg = f"outcome must lie within [{lower}, {upper}]"
        raise ValueError(msg)
    if h.size == 0:
        return math.nan
    cov = float(np.mean((h - h.mean()) * (r - r.mean())))
    return 8.0 * cov / (upper - lower)


# ---------------------------------------------------------------------------
# utilization


def facility_utilization(facilities: pd.DataFrame) -> pd.Series:
    """Busy machine-hours / open machine-hours for each facility.

    Parameters
    ----------
    facilities : pandas.DataFrame
        The ``facilities`` table (``facility_id``, ``open_machine_hours``,
        ``busy_machine_hours``).

    Returns
    -------
    pandas.Series
        Utilization (0..1) indexed by ``facility_id``; NaN where no hours were open.
    """
    _require(facilities, "facilities", ["facility_id", "open_machine_hours", "busy_machine_hours"])
    open_h = facilities["open_machine_hours"].astype(float)
    busy = facilities["busy_machine_hours"].astype(float)
    ratio = busy / open_h.where(open_h > 0)
    return pd.Series(
        ratio.to_numpy(), index=facilities["facility_id"].to_numpy(), name="utilization"
    )


def utilization(
    facilities: pd.DataFrame, *, public_workshop_kinds: Iterable[str] = PUBLIC_WORKSHOP_KINDS
) -> dict[str, Any]:
    """Machine utilization over the run, overall and by facility kind.

    Parameters
    ----------
    facilities : pandas.DataFrame
        The ``facilities`` table (``kind``, ``open_machine_hours``,
        ``busy_machine_hours``, ``platform_busy_machine_hours``; hours).
    public_workshop_kinds : iterable of str
        Kinds pooled into ``public_workshops``.

    Returns
    -------
    dict
        ``overall`` = sum busy / sum open machine-hours; ``by_facility_kind``
        {kind: ratio}; ``public_workshops`` (pooled ratio of those kinds);
        ``platform_share_of_capacity`` = sum platform busy / sum open hours.
        A ratio is None when its open hours sum to zero.
    """
    cols = ["kind", "open_machine_hours", "busy_machine_hours", "platform_busy_machine_hours"]
    _require(facilities, "facilities", cols)
    sums = facilities.groupby("kind", sort=True)[cols[1:]].sum()
    open_total = float(facilities["open_machine_hours"].sum())
    public = sums.loc[sums.index.isin(list(public_workshop_kinds))]
    return {
        "overall": _ratio(facilities["busy_machine_hours"].sum(), open_total),
        "by_facility_kind": {
            str(kind): _ratio(row["busy_machine_hours"], row["open_machine_hours"])
            for kind, row in sums.iterrows()
        },
        "public_workshops": _ratio(
            public["busy_machine_hours"].sum(), public["open_machine_hours"].sum()
        ),
        "platform_share_of_capacity": _ratio(
            facilities["platform_busy_machine_hours"].sum(), open_total
        ),
    }


# ---------------------------------------------------------------------------
# delivery time


def delivery_time_stats(hours: npt.ArrayLike) -> dict[str, Any]:
    """Count, mean and percentiles of delivery times.

    Percentiles use numpy's default linear interpolation between order
    statistics (``numpy.percentile(method="linear")``).

    Parameters
    ----------
    hours : array_like
        Delivery times (hours), finite.

    Returns
    -------
    dict
        ``n`` (int), ``mean``, ``p50``, ``p90``, ``p95`` (hours; None when n = 0).
    """
    x = np.asarray(hours, dtype=float).ravel()
    out: dict[str, Any] = {"n": int(x.size)}
    if x.size == 0:
        out.update({"mean": None} | {f"p{p}": None for p in _PERCENTILES})
        return out
    out["mean"] = float(x.mean())
    for p, value in zip(_PERCENTILES, np.percentile(x, _PERCENTILES), strict=True):
        out[f"p{p}"] = float(value)
    return out


def kaplan_meier_quantiles(durations: npt.ArrayLike, delivered: npt.ArrayLike,
                           quantiles: Iterable[float] = (0.5, 0.9, 0.95)) -> dict[str, float | None]:
    """Quantiles of delivery time that count orders still under way (Kaplan–Meier).

    An order still in progress at the end of the run is a *censored* observation:
    it has waited at least its age so far. The Kaplan–Meier estimate of the share
    still waiting after ``t`` is ``S(t) = prod over delivery times t_i <= t of
    (1 - d_i / n_i)``, with ``d_i`` deliveries at ``t_i`` and ``n_i`` orders still
    waiting just before ``t_i`` (censored orders count while their age >= t_i).
    Quantile ``q`` is the smallest delivery time with ``S <= 1 - q``.

    Parameters
    ----------
    durations : array_like
        Hours from order to delivery (delivered) or to the end of the run (censored).
    delivered : array_like of bool
        True for delivered orders, False for censored ones.
    quantiles : iterable of float
        Quantiles in (0, 1).

    Returns
    -------
    dict
        ``p50``, ``p90``, … in hours; None where the estimate never falls that
        low (too many orders still waiting: the quantile lies beyond the run).
    """
    t = np.asarray(durations, dtype=float).ravel()
    event = np.asarray(delivered, dtype=bool).ravel()
    keys = [f"p{100 * q:g}" for q in quantiles]
    if t.size == 0:
        return dict.fromkeys(keys)
    times, deaths = np.unique(t[event], return_counts=True)
    at_risk = t.size - np.searchsorted(np.sort(t), times, side="left")
    survival = np.cumprod(1.0 - deaths / at_risk)
    out: dict[str, float | None] = {}
    for key, q in zip(keys, quantiles, strict=True):
        hit = np.flatnonzero(survival <= 1.0 - q + 1e-12)
        out[key] = float(times[hit[0]]) if hit.size else None
    return out


def delivery_time_h(orders: pd.DataFrame, end_min: float | None = None) -> dict[str, Any]:
    """Order-to-receipt time of delivered orders, by channel and by product.

    Parameters
    ----------
    orders : pandas.DataFrame
        The ``orders`` table (``status``, ``channel``, ``product``,
        ``created_min``, ``delivered_min``; minutes).

    Returns
    -------
    dict
        ``all``, ``by_channel`` {channel: stats} (every channel in
        :data:`CHANNELS` present, n = 0 if unused) and ``by_product``
        {product: stats}; stats from :func:`delivery_time_stats`, in hours of
        ``delivered_min - created_min`` over orders with status "delivered"
        and a finite delivery time.
    """
    _require(orders, "orders", ["status", "channel", "product", "created_min", "delivered_min"])
    hours = (orders["delivered_min"].astype(float) - orders["created_min"].astype(float)) / 60.0
    ok = (orders["status"] == "delivered").to_numpy() & np.isfinite(hours.to_numpy())
    done = pd.DataFrame({"h": hours.to_numpy()[ok]})
    for col in ("channel", "product"):
        done[col] = orders[col].to_numpy()[ok]

    def by(col: str, names: Iterable[Any]) -> dict[str, dict[str, Any]]:
        groups = {str(key): g.to_numpy() for key, g in done.groupby(col)["h"]}
        return {str(k): delivery_time_stats(groups.get(k, [])) for k in names}

    channels = _with_extra(CHANNELS, orders["channel"])
    products = sorted(str(p) for p in orders["product"].dropna().unique())
    out = {
        "all": delivery_time_stats(done["h"]),
        "by_channel": by("channel", channels),
        "by_product": by("product", products),
    }
    if end_min is not None:
        waiting = (orders["status"] == "in_progress").to_numpy()
        age_h = (end_min - orders["created_min"].to_numpy(dtype=float)) / 60.0
        adjusted = {}
        for name in channels:
            is_channel = (orders["channel"] == name).to_numpy()
            d = ok & is_channel
            c = waiting & is_channel
            adjusted[name] = {"n_delivered": int(d.sum()), "n_in_progress": int(c.sum())} | kaplan_meier_quantiles(
                np.concatenate([hours.to_numpy()[d], age_h[c]]),
                np.concatenate([np.ones(int(d.sum()), bool), np.zeros(int(c.sum()), bool)]))
        out["by_channel_censoring_adjusted"] = adjusted
    return out


# ---------------------------------------------------------------------------
# inclusion


def _dm_uses(agents: pd.DataFrame) -> pd.Series:
    return agents["orders_platform"].astype(float) + agents["orders_self_fabrication"].astype(float)


def _share_by_quintile(flag: pd.Series, quintile: pd.Series) -> list[float | None]:
    return _share_by_group(flag, quintile, range(1, 6))


def _share_by_group(flag: pd.Series, group: pd.Series, groups: Iterable[int]) -> list[float | None]:
    grouped = flag.astype(float).groupby(group.to_numpy()).mean()
    return [_none_if_nan(grouped.get(g, math.nan)) for g in groups]


IMD_DECILES = range(1, 11)


def inclusion(
    agents: pd.DataFrame, *, access_threshold_s: float = ACCESS_THRESHOLD_S
) -> dict[str, Any]:
    """Who can reach and who uses distributed manufacturing, by income quintile.

    Parameters
    ----------
    agents : pandas.DataFrame
        The ``agents`` table (``income``, ``income_quintile`` 1..5, ``stage``,
        ``orders_platform``, ``orders_self_fabrication``,
        ``walk_time_to_workshop_s``).
    access_threshold_s : float, default 900
        Walking time that counts as access (seconds; 15 min).

    Returns
    -------
    dict
        Lists are indexed by quintile 1 (poorest) .. 5, None for an empty quintile:
        ``n_by_income_quintile``; ``access_15min_walk_by_income_quintile``
        (share with walk time <= threshold; inf/NaN = no access);
        ``participation_by_income_quintile`` (share with >= 1 platform or
        self-fabrication order); ``prosumer_share_by_income_quintile`` (stage
        prosumer or maker); ``participants`` and ``participation_share``;
        ``concentration_index`` of DM uses over income rank (None if nobody
        used DM); ``erreygers_index`` of participation; ``access_gini`` (Gini of
        finite walk times, s) with ``access_n_unreachable`` citizens left out.
        By the IMD decile of the citizen's zone (column ``imd_decile``, 1 most
        deprived … 10; lists indexed by decile 1..10, None where no citizen has that
        decile, all None without the column): ``n_by_imd_decile``,
        ``access_15min_walk_by_imd_decile``, ``participation_by_imd_decile``,
        ``prosumer_share_by_imd_decile``; ``n_without_imd_decile`` counts citizens
        whose zone has no decile (-1).
    """
    cols = [
        "income",
        "income_quintile",
        "stage",
        "orders_platform",
        "orders_self_fabrication",
        "walk_time_to_workshop_s",
    ]
    _require(agents, "agents", cols)
    quintile = agents["income_quintile"]
    walk = agents["walk_time_to_workshop_s"].astype(float)
    uses = _dm_uses(agents)
    participated = uses >= 1
    prosumer = agents["stage"].isin(["prosumer", "maker"])
    finite_walk = walk[np.isfinite(walk.to_numpy())]
    counts = quintile.value_counts()
    imd = agents["imd_decile"] if "imd_decile" in agents.columns else pd.Series(-1, index=agents.index)
    imd_counts = imd.value_counts()
    by_imd = {
        "n_by_imd_decile": [int(imd_counts.get(d, 0)) for d in IMD_DECILES],
        "access_15min_walk_by_imd_decile": _share_by_group(walk <= access_threshold_s, imd, IMD_DECILES),
        "participation_by_imd_decile": _share_by_group(participated, imd, IMD_DECILES),
        "prosumer_share_by_imd_decile": _share_by_group(prosumer, imd, IMD_DECILES),
        "n_without_imd_decile": int((~imd.isin(IMD_DECILES)).sum()),
    }
    return {
        "n_by_income_quintile": [int(counts.get(q, 0)) for q in range(1, 6)],
        "access_threshold_s": float(access_threshold_s),
        "access_15min_walk_by_income_quintile": _share_by_quintile(
            walk <= access_threshold_s, quintile
        ),
        "participation_by_income_quintile": _share_by_quintile(participated, quintile),
        "prosumer_share_by_income_quintile": _share_by_quintile(prosumer, quintile),
        "participants": int(participated.sum()),
        "participation_share": _ratio(participated.sum(), len(agents)),
        "concentration_index": _none_if_nan(concentration_index(uses, agents["income"])),
        "erreygers_index": _none_if_nan(
            erreygers_index(participated.astype(float), agents["income"])
        ),
        "access_gini": _none_if_nan(gini(finite_walk)),
        "access_n_unreachable": int(len(walk) - len(finite_walk)),
        **by_imd,
    }


# ---------------------------------------------------------------------------
# adoption


def adoption(
    agents: pd.DataFrame,
    timeseries: pd.DataFrame,
    *,
    n_citizens: int,
    thresholds: Iterable[float] = (0.10, 0.50),
) -> dict[str, Any]:
    """Final adoption stages and the day each stage reached given population shares.

    Parameters
    ----------
    agents : pandas.DataFrame
        The ``agents`` table (``stage``).
    timeseries : pandas.DataFrame
        The hourly ``timeseries`` (``hour``, ``day``, ``n_unaware``,
        ``n_aware``, ``n_prosumer``, ``n_maker``).
    n_citizens : int
        Population size (denominator of the shares).
    thresholds : iterable of float
        Shares of the population (0..1) to look for.

    Returns
    -------
    dict
        ``final_counts`` {stage: n}, ``final_shares`` {stage: share};
        ``day_reached`` {"aware"|"prosumer"|"maker": {"10%": day, "50%": day}}:
        the ``day`` value (0-based) of the first hourly row where the number at
        that stage *or beyond* is >= threshold * n_citizens; None if never.
    """
    _require(agents, "agents", ["stage"])
    _require(timeseries, "timeseries", ["hour", "day", *[f"n_{s}" for s in STAGES]])
    if n_citizens < 0:
        msg = f"n_citizens must be >= 0, got {n_citizens!r}"
        raise ValueError(msg)
    counts = agents["stage"].value_counts()
    final = {s: int(counts.get(s, 0)) for s in STAGES}
    ts = timeseries.sort_values("hour")
    day_reached: dict[str, dict[str, int | None]] = {}
    for i, stage in enumerate(STAGES[1:], start=1):
        at_or_beyond = ts[[f"n_{s}" for s in STAGES[i:]]].sum(axis=1).to_numpy(dtype=float)
        reached: dict[str, int | None] = {}
        for share in thresholds:
            hit = np.flatnonzero(at_or_beyond >= share * n_citizens) if n_citizens > 0 else []
            key = f"{100 * share:g}%"
            reached[key] = int(ts["day"].iloc[hit[0]]) if len(hit) else None
        day_reached[stage] = reached
    return {
        "final_counts": final,
        "final_shares": {s: _ratio(n, n_citizens) for s, n in final.items()},
        "day_reached": day_reached,
    }


# ---------------------------------------------------------------------------
# localisation


def localisation(
    orders: pd.DataFrame,
    *,
    co2_kg_per_vehicle_km: Mapping[str, float] = DEFAULT_CO2_KG_PER_VEHICLE_KM,
) -> dict[str, Any]:
    """Local share of production and delivery vehicle-km/CO2 against an all-import city.

    Parameters
    ----------
    orders : pandas.DataFrame
        The ``orders`` table (``channel``, ``status``, ``mode``,
        ``delivery_vehicle_km``).
    co2_kg_per_vehicle_km : mapping
        Emission factor per delivery mode (kg CO2e per vehicle-km).

    Returns
    -------
    dict
        ``local_share_of_units``: non-import / all orders with status delivered
        or in_progress. Vehicle-km and CO2 count *delivered* orders only (NaN
        km = 0): ``delivery_vehicle_km``, ``vehicle_km_by_mode``, ``co2_kg``,
        ``co2_kg_by_mode``, ``co2_factors_kg_per_km``. The counterfactual
        assumes every delivered order had been an import:
        ``import_counterfactual_vehicle_km`` = mean km per delivered import
        order x delivered orders, ``import_counterfactual_co2_kg`` likewise
        with each import's own mode factor; ``co2_saving_kg`` = counterfactual
        - actual. Counterfactuals are None when no import was delivered.
    """
    _require(orders, "orders", ["channel", "status", "mode", "delivery_vehicle_km"])
    factors = {str(k): float(v) for k, v in co2_kg_per_vehicle_km.items()}
    status = orders["status"]
    active = status.isin(["delivered", "in_progress"])
    local = active & (orders["channel"] != "import")
    done = orders.loc[status == "delivered", ["channel", "mode", "delivery_vehicle_km"]].copy()
    done["km"] = done["delivery_vehicle_km"].astype(float).fillna(0.0)
    unknown = sorted(set(done.loc[done["km"] > 0, "mode"].astype(str)) - set(factors))
    if unknown:
        msg = f"no CO2 factor for delivery mode(s) {unknown}; pass co2_kg_per_vehicle_km"
        raise ValueError(msg)
    done["co2"] = done["km"] * done["mode"].astype(str).map(factors).astype(float).fillna(0.0)
    km_by_mode = done.groupby("mode")["km"].sum()
    co2_by_mode = done.groupby("mode")["co2"].sum()
    imports = done[done["channel"] == "import"]
    n_done = len(done)
    if len(imports):
        cf_km = float(imports["km"].mean()) * n_done
        cf_co2 = float(imports["co2"].mean()) * n_done
    else:
        cf_km = cf_co2 = math.nan
    co2 = float(done["co2"].sum())
    return {
        "local_share_of_units": _ratio(local.sum(), active.sum()),
        "delivered_orders": n_done,
        "delivery_vehicle_km": float(done["km"].sum()),
        "vehicle_km_by_mode": {str(m): float(v) for m, v in km_by_mode.items()},
        "co2_kg": co2,
        "co2_kg_by_mode": {str(m): float(v) for m, v in co2_by_mode.items()},
        "co2_factors_kg_per_km": factors,
        "import_counterfactual_vehicle_km": _none_if_nan(cf_km),
        "import_counterfactual_co2_kg": _none_if_nan(cf_co2),
        "co2_saving_kg": _none_if_nan(cf_co2 - co2),
    }


# ---------------------------------------------------------------------------
# economics


def public_spend(ledger: pd.DataFrame) -> float:
    """Total paid by the public budget (GBP): sum of ``amount`` where payer is "public_budget".

    Parameters
    ----------
    ledger : pandas.DataFrame
        The ``ledger`` table (``payer``, ``amount``).

    Returns
    -------
    float
        Public spend (GBP).
    """
    _require(ledger, "ledger", ["payer", "amount"])
    return float(ledger.loc[ledger["payer"] == "public_budget", "amount"].sum())


def designer_royalty(
    ledger: pd.DataFrame, *, days: float, n_designers: int | None = None
) -> dict[str, Any]:
    """Designers' royalty income and its week-to-week volatility.

    Parameters
    ----------
    ledger : pandas.DataFrame
        The ``ledger`` (``time_min``, ``payee``, ``amount``, ``kind``); royalty
        rows are ``kind == "royalty"`` paid to a ``"designer:<id>"`` payee.
    days : float
        Run length (days); only complete 7-day weeks enter ``cv_over_weeks``.
    n_designers : int, optional
        Number of designers in the model. When given, designers with no
        royalty count as zeros in the mean and the Gini; otherwise only the
        designers who earned are counted.

    Returns
    -------
    dict
        ``total`` (GBP), ``n_designers`` (the denominator used),
        ``mean_per_designer`` (GBP), ``gini_across_designers``,
        ``cv_over_weeks`` (sample std (ddof=1) / mean of the weekly totals over
        complete weeks; None with < 2 complete weeks or zero mean).
    """
    _require(ledger, "ledger", ["time_min", "payee", "amount", "kind"])
    rows = ledger[
        (ledger["kind"] == "royalty") & ledger["payee"].astype(str).str.startswith("designer:")
    ]
    per_designer = rows.groupby("payee")["amount"].sum().to_numpy(dtype=float)
    if n_designers is not None:
        if n_designers < len(per_designer):
            msg = f"n_designers={n_designers} is below the {len(per_designer)} designers paid"
            raise ValueError(msg)
        per_designer = np.concatenate([per_designer, np.zeros(n_designers - len(per_designer))])
    total = float(per_designer.sum())
    n_weeks = int(math.floor(days / 7.0 + 1e-9))
    cv = None
    if n_weeks >= 2:
        week = np.floor(rows["time_min"].to_numpy(dtype=float) / _MIN_PER_WEEK).astype(int)
        keep = (week >= 0) & (week < n_weeks)
        weekly = np.bincount(
            week[keep], weights=rows["amount"].to_numpy(float)[keep], minlength=n_weeks
        )
        if weekly.mean() > 0:
            cv = float(weekly.std(ddof=1) / weekly.mean())
    return {
        "total": total,
        "n_designers": len(per_designer),
        "mean_per_designer": _ratio(total, len(per_designer)),
        "gini_across_designers": _none_if_nan(gini(per_designer)),
        "cv_over_weeks": cv,
    }


def _baseline_value(baseline: Mapping[str, Any], section: str, key: str) -> float | None:
    """Read ``baseline[section][key]`` (a summary dict) or flat ``baseline[key]``."""
    inner = baseline.get(section)
    value = inner.get(key) if isinstance(inner, Mapping) else baseline.get(key)
    return None if value is None else float(value)


def economics(
    ledger: pd.DataFrame,
    facilities: pd.DataFrame,
    *,
    days: float,
    participants: int,
    public_workshop_kinds: Iterable[str] = PUBLIC_WORKSHOP_KINDS,
    baseline: Mapping[str, Any] | None = None,
    n_designers: int | None = None,
) -> dict[str, Any]:
    """Royalties, producer revenue, public spend and cost per additional included citizen.

    Parameters
    ----------
    ledger : pandas.DataFrame
        The ``ledger`` table.
    facilities : pandas.DataFrame
        The ``facilities`` table (``kind``, ``revenue`` in GBP).
    days : float
        Run length (days).
    participants : int
        Citizens with >= 1 platform or self-fabrication order in this run.
    public_workshop_kinds : iterable of str
        Facility kinds summed into ``public_workshop_revenue``.
    baseline : mapping, optional
        The baseline run's summary (``economics.public_spend`` and
        ``inclusion.participants``) or a flat dict with keys
        ``public_spend`` and ``participants``.
    n_designers : int, optional
        See :func:`designer_royalty`.

    Returns
    -------
    dict
        ``designer_royalty`` (see :func:`designer_royalty`); ``maker_revenue``,
        ``mill_revenue``, ``public_workshop_revenue``, ``revenue_by_facility_kind``
        (GBP, from ``facilities.revenue``); ``public_spend`` and
        ``public_spend_by_kind`` (GBP); ``public_spend_per_additional_included_citizen``
        = (spend - baseline spend) / (participants - baseline participants)
        in GBP per citizen, None without a baseline or when there are no
        additional participants.
    """
    _require(facilities, "facilities", ["kind", "revenue"])
    _require(ledger, "ledger", ["payer", "amount", "kind"])
    revenue = facilities.groupby("kind")["revenue"].sum()
    spend = public_spend(ledger)
    by_kind = ledger.loc[ledger["payer"] == "public_budget"].groupby("kind")["amount"].sum()
    per_included = None
    if baseline is not None:
        base_spend = _baseline_value(baseline, "economics", "public_spend")
        base_participants = _baseline_value(baseline, "inclusion", "participants")
        if base_spend is not None and base_participants is not None:
            extra = participants - base_participants
            per_included = (spend - base_spend) / extra if extra > 0 else None
    return {
        "designer_royalty": designer_royalty(ledger, days=days, n_designers=n_designers),
        "maker_revenue": float(revenue.get("maker", 0.0)),
        "mill_revenue": float(revenue.get("textile_mill", 0.0)),
        "public_workshop_revenue": float(
            revenue[revenue.index.isin(list(public_workshop_kinds))].sum()
        ),
        "revenue_by_facility_kind": {str(k): float(v) for k, v in revenue.items()},
        "public_spend": spend,
        "public_spend_by_kind": {str(k): float(v) for k, v in by_kind.items()},
        "public_spend_per_additional_included_citizen": per_included,
    }


# ---------------------------------------------------------------------------
# order counts and conservation

_STATUSES = ("delivered", "in_progress", "cancelled")


def order_counts(orders: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Orders created and by final status, per channel and for ``"all"``.

    Parameters
    ----------
    orders : pandas.DataFrame
        The ``orders`` table (``channel``, ``status``).

    Returns
    -------
    dict
        {channel: {created, delivered, in_progress, cancelled}} for every
        channel in :data:`CHANNELS` (plus any other channel found) and ``"all"``.
    """
    _require(orders, "orders", ["channel", "status"])
    table = orders.groupby(["channel", "status"]).size()
    created = orders.groupby("channel").size()
    status_all = orders["status"].value_counts()
    out: dict[str, dict[str, int]] = {}
    for name in _with_extra(CHANNELS, orders["channel"]):
        out[name] = {"created": int(created.get(name, 0))} | {
            s: int(table.get((name, s), 0)) for s in _STATUSES
        }
    out["all"] = {"created": len(orders)} | {s: int(status_all.get(s, 0)) for s in _STATUSES}
    return out


def _orders_conserved(orders: pd.DataFrame) -> dict[str, Any]:
    counts = order_counts(orders)["all"]
    accounted = sum(counts[s] for s in _STATUSES)
    return counts | {
        "ok": bool(accounted == counts["created"]),
        "unaccounted": counts["created"] - accounted,
    }


def _machine_hours_conserved(facilities: pd.DataFrame) -> dict[str, Any]:
    cols = ["open_machine_hours", "busy_machine_hours", "platform_busy_machine_hours"]
    _require(facilities, "facilities", cols)
    open_h, busy, platform = (facilities[c].to_numpy(dtype=float) for c in cols)
    tol = _REL_TOL * np.maximum(open_h, 1.0)
    valid = np.isfinite(open_h) & np.isfinite(busy) & np.isfinite(platform)
    valid &= (busy >= 0) & (platform >= 0) & (busy <= open_h + tol)
    valid &= platform <= busy + _REL_TOL * np.maximum(busy, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(open_h > 0, busy / open_h, np.where(busy > 0, np.inf, 0.0))
    worst = float(np.max(ratio)) if ratio.size else math.nan
    return {
        "ok": bool(valid.all()),
        "n_violations": int((~valid).sum()),
        "worst_busy_to_open_ratio": worst,
    }


def _money_conserved(ledger: pd.DataFrame) -> dict[str, Any]:
    _require(ledger, "ledger", ["payer", "payee", "amount"])
    amount = ledger["amount"].to_numpy(dtype=float)
    payer_ok = ledger["payer"].notna() & ledger["payee"].notna()
    rows_ok = np.isfinite(amount) & (amount > 0) & payer_ok.to_numpy()
    rows_ok &= (ledger["payer"] != ledger["payee"]).to_numpy()
    paid = ledger.groupby("payer")["amount"].sum()
    received = ledger.groupby("payee")["amount"].sum()
    balance = received.sub(paid, fill_value=0.0)
    residual = float(balance.sum())
    total = float(np.nansum(np.abs(amount)))
    balanced = math.isfinite(residual) and abs(residual) <= 1e-6 * max(1.0, total)
    party_type = balance.index.to_series().astype(str).str.split(":").str[0]
    return {
        "ok": bool(balanced and rows_ok.all()),
        "residual_gbp": residual,
        "total_paid_gbp": float(paid.sum()),
        "total_received_gbp": float(received.sum()),
        "n_bad_rows": int((~rows_ok).sum()),
        "balance_by_party_type_gbp": {
            str(k): float(v) for k, v in balance.groupby(party_type.to_numpy()).sum().items()
        },
    }


def conservation(
    orders: pd.DataFrame, facilities: pd.DataFrame, ledger: pd.DataFrame
) -> dict[str, Any]:
    """Accounting identities a correct run satisfies.

    Parameters
    ----------
    orders, facilities, ledger : pandas.DataFrame
        The run's tables.

    Returns
    -------
    dict
        ``orders``: created == delivered + in_progress + cancelled (``ok``,
        counts, ``unaccounted``); ``machine_hours``: every facility has
        0 <= platform busy <= busy <= open hours (``ok``, ``n_violations``,
        ``worst_busy_to_open_ratio``, inf/None if busy hours with nothing open);
        ``money``: every ledger row has a finite amount > 0 and two different
        parties, and the parties' net balances sum to 0 (``ok``,
        ``residual_gbp``, totals, ``balance_by_party_type_gbp``); ``all_ok``.
    """
    out = {
        "orders": _orders_conserved(orders),
        "machine_hours": _machine_hours_conserved(facilities),
        "money": _money_conserved(ledger),
    }
    out["all_ok"] = all(part["ok"] for part in out.values())
    return out


# ---------------------------------------------------------------------------
# summary


def compute_summary(
    tables: Mapping[str, pd.DataFrame],
    *,
    days: float,
    n_citizens: int,
    public_workshop_kinds: Iterable[str] = PUBLIC_WORKSHOP_KINDS,
    co2_kg_per_vehicle_km: Mapping[str, float] = DEFAULT_CO2_KG_PER_VEHICLE_KM,
    baseline: Mapping[str, Any] | None = None,
    n_designers: int | None = None,
    access_threshold_s: float = ACCESS_THRESHOLD_S,
    access_curve_minutes: Iterable[float] = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0),
) -> dict[str, Any]:
    """All summary metrics of one run, ready for ``json.dumps(..., allow_nan=False)``.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        ``orders``, ``agents``, ``facilities``, ``timeseries`` and ``ledger``.
    days : float
        Simulated run length (days, > 0).
    n_citizens : int
        Population size.
    public_workshop_kinds : iterable of str
        Facility kinds that are open-access public workshops.
    co2_kg_per_vehicle_km : mapping
        Emission factor per delivery mode (kg CO2e per vehicle-km).
    baseline : mapping, optional
        The baseline scenario's summary (for cost per additional included citizen).
    n_designers : int, optional
        Number of designers (zero earners then count in royalty mean and Gini).
    access_threshold_s : float, default 900
        Walking time that counts as access to a workshop (seconds).
    access_curve_minutes : iterable of float
        Walking minutes of the access curves.

    Returns
    -------
    dict
        Keys ``run``, ``utilization``, ``delivery_time_h``, ``inclusion``,
        ``adoption``, ``localisation``, ``economics``, ``quotes``, ``orders``,
        ``conservation``; plain Python values, NaN/inf replaced by None.
        See ``docs/metrics.md`` for every key.
    """
    required = ("orders", "agents", "facilities", "timeseries", "ledger")
    missing = [name for name in required if name not in tables]
    if missing:
        msg = f"tables lacks {', '.join(repr(m) for m in missing)}"
        raise ValueError(msg)
    if not (math.isfinite(days) and days > 0):
        msg = f"days must be a finite number > 0, got {days!r}"
        raise ValueError(msg)
    kinds = tuple(public_workshop_kinds)
    orders, agents, facilities = tables["orders"], tables["agents"], tables["facilities"]
    inclusion_part = inclusion(agents, access_threshold_s=access_threshold_s)
    inclusion_part.update(access_detail(agents, access_threshold_s=access_threshold_s,
                                        curve_minutes=access_curve_minutes))
    adoption_part = adoption(agents, tables["timeseries"], n_citizens=n_citizens)
    if _has(facilities, ["kind", "owner_citizen_id", "opened_day", "revenue"]):
        adoption_part["makers"] = makers(facilities)
    summary = {
        "run": {"days": float(days), "n_citizens": int(n_citizens), "n_agents_rows": len(agents)},
        "utilization": utilization(facilities, public_workshop_kinds=kinds),
        "delivery_time_h": delivery_time_h(orders, end_min=float(days) * 1440.0),
        "inclusion": inclusion_part,
        "adoption": adoption_part,
        "localisation": localisation(orders, co2_kg_per_vehicle_km=co2_kg_per_vehicle_km),
        "economics": economics(
            tables["ledger"],
            facilities,
            days=days,
            participants=inclusion_part["participants"],
            public_workshop_kinds=kinds,
            baseline=baseline,
            n_designers=n_designers,
        ),
        "quotes": quotes(orders) if _has(orders, QUOTE_COLUMNS) else {},
        "orders": order_counts(orders),
        "conservation": conservation(orders, facilities, tables["ledger"]),
    }
    if _has(orders, ["facility_kind", "batch_size"]) and _has(facilities, ["kind", "busy_machine_hours"]):
        summary["economics"]["mill_batches"] = mill_batches(orders, facilities)
    return to_json_safe(summary)


# ---------------------------------------------------------------------------
# access detail, quotes, fabrication attempts, makers, mill batches


def access_detail(
    agents: pd.DataFrame, *, access_threshold_s: float = ACCESS_THRESHOLD_S,
    curve_minutes: Iterable[float] = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0),
) -> dict[str, Any]:
    """Access to workshops with the machine a need needs, and access against walking minutes, by income quintile.

    Parameters
    ----------
    agents : pandas.DataFrame
        The ``agents`` table (``income_quintile``, ``walk_time_to_workshop_s`` and, when present,
        ``walk_time_to_<machine>_s`` and ``access_need_share``; seconds, inf = none reachable).
    access_threshold_s : float
        Walking time that counts as access (seconds).
    curve_minutes : iterable of float
        Walking minutes of the access curve.

    Returns
    -------
    dict
        ``access_by_machine_by_income_quintile`` {machine: [share q1..q5]};
        ``access_need_weighted_by_income_quintile`` (mean share of a citizen's needs whose machine
        is within the threshold); ``access_curve_minutes`` and
        ``access_curve_by_income_quintile`` (one list per minute value: share within that walk).
    """
    _require(agents, "agents", ["income_quintile", "walk_time_to_workshop_s"])
    quintile = agents["income_quintile"]
    walk = agents["walk_time_to_workshop_s"].astype(float)
    machines = [c.removeprefix("walk_time_to_").removesuffix("_s") for c in agents.columns
                if c.startswith("walk_time_to_") and c.endswith("_s") and c != "walk_time_to_workshop_s"]
    minutes = [float(m) for m in curve_minutes]
    out: dict[str, Any] = {
        "access_by_machine_by_income_quintile": {
            m: _share_by_quintile(agents[f"walk_time_to_{m}_s"].astype(float) <= access_threshold_s, quintile)
            for m in sorted(machines)
        },
        "access_curve_minutes": minutes,
        "access_curve_by_income_quintile": [_share_by_quintile(walk <= m * 60.0, quintile) for m in minutes],
    }
    if "access_need_share" in agents.columns:
        grouped = agents["access_need_share"].astype(float).groupby(quintile.to_numpy()).mean()
        out["access_need_weighted_by_income_quintile"] = [_none_if_nan(grouped.get(q, math.nan))
                                                          for q in range(1, 6)]
    return out


QUOTE_COLUMNS = ("channel", "status", "price", "quoted_price", "delivered_min", "quoted_ready_min", "created_min",
                 "attempts")


def _has(df: pd.DataFrame, columns: Iterable[str]) -> bool:
    return all(c in df.columns for c in columns)


def quotes(orders: pd.DataFrame) -> dict[str, Any]:
    """How quotes held: price and ready time against what happened, per local channel.

    Parameters
    ----------
    orders : pandas.DataFrame
        The ``orders`` table (``channel``, ``status``, ``price``, ``quoted_price`` £,
        ``delivered_min``, ``quoted_ready_min``, ``attempts``).

    Returns
    -------
    dict
        Per channel (``platform``, ``self_fabrication``): ``orders`` finished (delivered),
        ``price_as_quoted_share`` (|price − quote| < 1 p), ``on_time_share`` (delivered no later
        than quoted), ``mean_late_h`` (mean hours later than quoted, early counted as 0),
        ``mean_lead_days`` (order to receipt); for self-fabrication also ``mean_attempts`` (machine
        runs per order, reprints included), ``reprint_share`` (orders with more than one run) and
        ``given_up`` (orders cancelled after the last failed attempt).
    """
    _require(orders, "orders", QUOTE_COLUMNS)
    out: dict[str, Any] = {}
    for channel in ("platform", "self_fabrication"):
        mine = orders[orders["channel"] == channel]
        done = mine[mine["status"] == "delivered"]
        late_h = ((done["delivered_min"] - done["quoted_ready_min"]) / 60.0).clip(lower=0.0)
        part = {
            "orders": len(done),
            "price_as_quoted_share": _ratio(float(((done["price"] - done["quoted_price"]).abs() < 0.01).sum()),
                                            len(done)),
            "on_time_share": _ratio(float((done["delivered_min"] <= done["quoted_ready_min"] + 1e-6).sum()),
                                    len(done)),
            "mean_late_h": _none_if_nan(float(late_h.mean())) if len(done) else None,
            "mean_lead_days": _none_if_nan(float(((done["delivered_min"] - done["created_min"]) / 1440.0).mean()))
            if len(done) else None,
        }
        if channel == "self_fabrication":
            ran = mine[mine["attempts"] > 0]
            part["mean_attempts"] = _none_if_nan(float(ran["attempts"].mean())) if len(ran) else None
            part["reprint_share"] = _ratio(float((ran["attempts"] > 1).sum()), len(ran))
            part["given_up"] = int((mine["status"] == "cancelled").sum())
        out[channel] = part
    return out


def makers(facilities: pd.DataFrame) -> dict[str, Any]:
    """Home makers who entered and left (sold the machine) during the run.

    Parameters
    ----------
    facilities : pandas.DataFrame
        The ``facilities`` table (``kind``, ``owner_citizen_id``, ``opened_day``, ``closed_day``, ``revenue``).

    Returns
    -------
    dict
        ``home_makers`` (at any time), ``entered`` (opened after day 0), ``exited`` (closed),
        ``trading_at_end``, ``mean_revenue`` (£ per home maker over the run).
    """
    _require(facilities, "facilities", ["kind", "owner_citizen_id", "opened_day", "revenue"])
    home = facilities[(facilities["kind"] == "maker") & (facilities["owner_citizen_id"] >= 0)]
    closed = home["closed_day"].notna() if "closed_day" in home.columns else pd.Series(False, index=home.index)
    return {
        "home_makers": len(home),
        "entered": int((home["opened_day"] > 0).sum()),
        "exited": int(closed.sum()),
        "trading_at_end": int((~closed).sum()),
        "mean_revenue": _none_if_nan(float(home["revenue"].mean())) if len(home) else None,
    }


def mill_batches(orders: pd.DataFrame, facilities: pd.DataFrame) -> dict[str, Any]:
    """Batches at textile mills: their sizes and the share of busy time spent setting up.

    Parameters
    ----------
    orders : pandas.DataFrame
        The ``orders`` table (``facility_kind``, ``batch_size``, ``attempts``).
    facilities : pandas.DataFrame
        The ``facilities`` table (``kind``, ``busy_machine_hours`` and, when present, ``setup_machine_hours``).

    Returns
    -------
    dict
        ``orders_by_batch_size`` {size: orders made in batches of that size}, ``mean_batch_size``
        (per order), ``setup_share_of_busy`` (set-up machine-hours / busy machine-hours).
    """
    _require(orders, "orders", ["facility_kind", "batch_size"])
    made = orders[(orders["facility_kind"] == "textile_mill") & (orders["batch_size"] > 0)]
    mills = facilities[facilities["kind"] == "textile_mill"]
    busy = float(mills["busy_machine_hours"].sum()) if len(mills) else 0.0
    setup = float(mills["setup_machine_hours"].sum()) if "setup_machine_hours" in mills.columns else math.nan
    return {
        "orders_by_batch_size": {str(int(k)): int(v)
                                 for k, v in made["batch_size"].value_counts().sort_index().items()},
        "mean_batch_size": _none_if_nan(float(made["batch_size"].mean())) if len(made) else None,
        "setup_share_of_busy": _ratio(setup, busy) if math.isfinite(setup) else None,
    }
