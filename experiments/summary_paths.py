"""The numeric key paths of ``summary.json`` that a sweep can collect, and how to read one.

A path names one number of the summary written by :func:`citymodel.metrics.compute_summary`
(plus the ``run`` notes added by :func:`citymodel.runner.summarise`): dot-separated keys,
and ``[i]`` for an element of a list, e.g. ``utilization.overall``,
``delivery_time_h.by_channel.platform.p90`` or
``inclusion.participation_by_income_quintile[0]`` (quintile 1, the poorest).

The list below is derived from ``compute_summary`` and documented in ``docs/metrics.md``;
keys that depend on the configuration (products, facility kinds) are filled in from the
run's :class:`~citymodel.config.Config`. ``tests/test_sweep_spec.py`` checks it against
the summary of a real run, so a new summary key that is missing here fails a test.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from citymodel.config import Config
from citymodel.metrics import CHANNELS, DEFAULT_CO2_KG_PER_VEHICLE_KM, STAGES

_STATS = ("n", "mean", "p50", "p90", "p95")
_CENSORED_STATS = ("n_delivered", "n_in_progress", "p50", "p90", "p95")
_STATUSES = ("created", "delivered", "in_progress", "cancelled")
_QUINTILE_INDEX = tuple(f"[{i}]" for i in range(5))
_THRESHOLDS = ("10%", "50%")
# ledger kinds the public budget pays (subsidies, grants, training) and party types of
# the ledger (citymodel.ledger)
_PUBLIC_SPEND_KINDS = ("fee", "material", "subsidy", "grant", "training", "machine", "capital", "running")
_PARTY_TYPES = ("citizen", "designer", "facility", "import_supplier", "machine_supplier", "platform",
                "public_budget", "training_provider", "workshop")
_DECILE_INDEX = tuple(f"[{i}]" for i in range(10))
_QUOTE_STATS = ("orders", "price_as_quoted_share", "on_time_share", "mean_late_h", "mean_lead_days")
_FABRICATION_STATS = ("mean_attempts", "reprint_share", "given_up")
_MAKER_STATS = ("home_makers", "entered", "exited", "trading_at_end", "mean_revenue")

# "{name}" is one key from the vocabulary of that name; "[i]" marks a list of 5 quintiles, "[d]" of 10 deciles.
PATTERNS: tuple[str, ...] = (
    "run.days", "run.n_citizens", "run.n_agents_rows", "run.seed", "run.n_designers",
    "run.facilities_by_kind.{kind}",
    "utilization.overall", "utilization.by_facility_kind.{kind}", "utilization.public_workshops",
    "utilization.platform_share_of_capacity",
    "delivery_time_h.all.{stat}",
    "delivery_time_h.by_channel.{channel}.{stat}",
    "delivery_time_h.by_product.{product}.{stat}",
    "delivery_time_h.by_channel_censoring_adjusted.{channel}.{censored_stat}",
    "inclusion.n_by_income_quintile[i]", "inclusion.access_threshold_s",
    "inclusion.access_15min_walk_by_income_quintile[i]", "inclusion.participation_by_income_quintile[i]",
    "inclusion.prosumer_share_by_income_quintile[i]", "inclusion.participants",
    "inclusion.participation_share", "inclusion.concentration_index", "inclusion.erreygers_index",
    "inclusion.access_gini", "inclusion.access_n_unreachable",
    "inclusion.n_by_imd_decile[d]", "inclusion.access_15min_walk_by_imd_decile[d]",
    "inclusion.participation_by_imd_decile[d]", "inclusion.prosumer_share_by_imd_decile[d]",
    "inclusion.n_without_imd_decile", "inclusion.incomes_synthetic", "run.n_zones",
    "inclusion.access_curve_minutes{curve_index}",
    "inclusion.access_by_machine_by_income_quintile.{machine}[i]",
    "inclusion.access_need_weighted_by_income_quintile[i]",
    "inclusion.access_curve_by_income_quintile.{curve_minute}[i]",
    "quotes.{local_channel}.{quote_stat}", "quotes.self_fabrication.{fabrication_stat}",
    "adoption.makers.{maker_stat}",
    "economics.mill_batches.mean_batch_size", "economics.mill_batches.setup_share_of_busy",
    "economics.mill_batches.orders_by_batch_size.{batch_size}",
    "adoption.final_counts.{stage}", "adoption.final_shares.{stage}",
    "adoption.day_reached.{later_stage}.{threshold}",
    "localisation.local_share_of_units", "localisation.delivered_orders", "localisation.delivery_vehicle_km",
    "localisation.vehicle_km_by_mode.{mode}", "localisation.co2_kg", "localisation.co2_kg_by_mode.{mode}",
    "localisation.co2_factors_kg_per_km.{mode}", "localisation.import_counterfactual_vehicle_km",
    "localisation.import_counterfactual_co2_kg", "localisation.co2_saving_kg",
    "economics.designer_royalty.total", "economics.designer_royalty.n_designers",
    "economics.designer_royalty.mean_per_designer", "economics.designer_royalty.gini_across_designers",
    "economics.designer_royalty.cv_over_weeks", "economics.maker_revenue", "economics.mill_revenue",
    "economics.public_workshop_revenue", "economics.revenue_by_facility_kind.{kind}",
    "economics.public_spend", "economics.public_spend_by_kind.{spend_kind}",
    "economics.public_spend_per_additional_included_citizen",
    "orders.{channel_or_all}.{status}",
    "conservation.orders.{status}", "conservation.orders.ok", "conservation.orders.unaccounted",
    "conservation.machine_hours.ok", "conservation.machine_hours.n_violations",
    "conservation.machine_hours.worst_busy_to_open_ratio",
    "conservation.money.ok", "conservation.money.residual_gbp", "conservation.money.total_paid_gbp",
    "conservation.money.total_received_gbp", "conservation.money.n_bad_rows",
    "conservation.money.balance_by_party_type_gbp.{party}", "conservation.all_ok",
)

_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def vocabularies(config: Config) -> dict[str, tuple[str, ...]]:
    """The keys each ``{name}`` placeholder of :data:`PATTERNS` may take for ``config``."""
    return {
        "kind": tuple(sorted(config.facilities.kinds)),
        "product": tuple(sorted(config.needs.products)),
        "stat": _STATS,
        "censored_stat": _CENSORED_STATS,
        "channel": CHANNELS,
        "channel_or_all": (*CHANNELS, "all"),
        "status": _STATUSES,
        "stage": STAGES,
        "later_stage": STAGES[1:],
        "threshold": _THRESHOLDS,
        "mode": tuple(DEFAULT_CO2_KG_PER_VEHICLE_KM),
        "spend_kind": _PUBLIC_SPEND_KINDS,
        "party": _PARTY_TYPES,
        "machine": tuple(sorted({p["machine"] for p in config.needs.products.values()})),
        "curve_minute": tuple(f"{m:g}" for m in config.access.curve_minutes),
        "curve_index": tuple(f"[{i}]" for i in range(len(config.access.curve_minutes))),
        "local_channel": CHANNELS[1:],
        "quote_stat": _QUOTE_STATS,
        "fabrication_stat": _FABRICATION_STATS,
        "maker_stat": _MAKER_STATS,
        "batch_size": tuple(str(b) for b in range(1, max(int(k.get("batch_size", 1))
                                                         for k in config.facilities.kinds.values()) + 1)),
    }


def summary_paths(config: Config | None = None) -> list[str]:
    """Every numeric ``summary.json`` path a run of ``config`` can report, sorted.

    Parameters
    ----------
    config
        The run's configuration (its products and facility kinds name keys); the
        defaults if None.

    Returns
    -------
    list of str
        Paths such as ``utilization.overall`` or ``inclusion.participation_share``.
    """
    vocab = vocabularies(config or Config())
    paths: set[str] = set()
    for pattern in PATTERNS:
        names = re.findall(r"\{(\w+)\}", pattern)
        suffixes = _QUINTILE_INDEX if pattern.endswith("[i]") else _DECILE_INDEX if pattern.endswith("[d]") else ("",)
        stem = pattern.removesuffix("[i]").removesuffix("[d]")
        for values in itertools.product(*(vocab[n] for n in names)):
            filled = stem
            for name, value in zip(names, values, strict=True):
                filled = filled.replace("{" + name + "}", value, 1)
            paths.update(filled + s for s in suffixes)
    return sorted(paths)


def split_path(path: str) -> list[str | int]:
    """``"a.b[2].c"`` -> ``["a", "b", 2, "c"]``; raises ValueError if malformed."""
    parts: list[str | int] = []
    for raw in path.split("."):
        match = _SEGMENT.fullmatch(raw)
        if match is None:
            msg = f"malformed summary path {path!r}"
            raise ValueError(msg)
        parts.append(match.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return parts


def lookup(summary: Mapping[str, Any], path: str) -> float | None:
    """The number at ``path`` in a summary dict, as a float; None if absent or null.

    A key that a run did not produce (e.g. a product nobody ordered) reads as None,
    as does a ``null`` value; booleans read as 0.0 / 1.0.

    Raises
    ------
    TypeError
        If the path leads to a table, a list or a string rather than a number.
    """
    node: Any = summary
    for part in split_path(path):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return None
            node = node[part]
        else:
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
    if node is None:
        return None
    if isinstance(node, bool | int | float):
        value = float(node)
        return value if math.isfinite(value) else None
    msg = f"summary path {path!r} is a {type(node).__name__}, not a number"
    raise TypeError(msg)


def numeric_leaves(summary: Mapping[str, Any], prefix: str = "") -> Iterable[str]:
    """Every path to a number (or null) in a summary dict, lists indexed with ``[i]``."""
    for key, value in summary.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        yield from _leaves(value, path)


def _leaves(value: Any, path: str) -> Iterable[str]:
    if isinstance(value, Mapping):
        yield from numeric_leaves(value, path)
    elif isinstance(value, list):
        if all(v is None or isinstance(v, bool | int | float) for v in value):
            for i in range(len(value)):
                yield f"{path}[{i}]"
    elif value is None or isinstance(value, bool | int | float):
        yield path
