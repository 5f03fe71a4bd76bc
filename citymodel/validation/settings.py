"""The checks' ``--set`` parameters: types, defaults, ranges, and their resolution."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from citymodel.errors import ConfigError

CHECKS = ("bass", "erlang", "erlang_hours", "routing", "conservation", "reproducibility", "patterns")
"""Names of the checks, in the order :func:`run_checks` runs them."""

# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class _Setting:
    """A ``--set`` parameter of a check: type, default and accepted range."""

    kind: type
    default: Any
    lower: float
    upper: float = math.inf
    lower_open: bool = False
    upper_open: bool = False
    doc: str = ""

    def expected(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        lo = f"> {self.lower:g}" if self.lower_open else f">= {self.lower:g}"
        if math.isinf(self.upper):
            return f"{what} {lo}"
        hi = f"< {self.upper:g}" if self.upper_open else f"<= {self.upper:g}"
        return f"{what} {lo} and {hi}"

    def parse(self, name: str, raw: Any) -> Any:
        """Coerce ``raw`` (a CLI string or a number) or raise a one-line :class:`ConfigError`."""
        try:
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
            if self.kind is int:
                if not value.is_integer():
                    raise ValueError
                value = int(value)
        except (TypeError, ValueError):
            msg = f"validation setting '{name}' = {raw!r}: expected {self.expected()}"
            raise ConfigError(msg) from None
        low_bad = value <= self.lower if self.lower_open else value < self.lower
        high_bad = value >= self.upper if self.upper_open else value > self.upper
        if low_bad or high_bad:
            msg = f"validation setting '{name}' = {raw!r}: expected {self.expected()}"
            raise ConfigError(msg)
        return value


_SEED = _Setting(int, 2024, 0, doc="seed of the run")
SETTINGS: dict[str, dict[str, _Setting]] = {
    "bass": {
        "p": _Setting(float, None, 0, lower_open=True, doc="innovation (1/year); default config"),
        "q": _Setting(float, None, 0, doc="imitation (1/year); default from the config"),
        "citizens": _Setting(int, 50_000, 100, doc="population N"),
        "days": _Setting(int, None, 1, doc="simulated days; default: until F(t) = 0.95"),
        "seed": _SEED,
        "confidence": _Setting(float, 0.999, 0, 1, True, True,
                               doc="family-wise confidence of the band over the whole curve"),
        "inject_q_factor": _Setting(float, 1.0, 0,
                                    doc="fault injection: the model runs with q times this "
                                    "(the analytic curve and the network reference keep q)"),
        "network_p": _Setting(float, 0.3, 0, lower_open=True,
                              doc="innovation of the network case (1/year)"),
        "network_q": _Setting(float, 3.8, 0, doc="imitation of the network case (1/year)"),
        "network_citizens": _Setting(int, 3000, 100, doc="population of the network case"),
        "network_users": _Setting(float, 0.05, 0, 1, True, True,
                                  doc="share of machine owners (the DM users) in the users-imitation case"),
        "network_days": _Setting(int, None, 1, doc="days of the network case; default: until "
                                 "F(t) = 0.95"),
    },
    "erlang": {
        "servers": _Setting(int, None, 1, doc="machines c; default points (1, 0.05), (2, 0.1), "
                            "(1, 0.5), (2, 0.8)"),
        "load": _Setting(float, None, 0, 1, True, True, doc="rho = lambda/(c mu)"),
        "mu": _Setting(float, 60.0, 0, lower_open=True,
                       doc="service rate per machine (1/hour): 1-minute jobs keep runs short"),
        "jobs": _Setting(int, 8000, 200, doc="orders per point after the warm-up"),
        "warmup": _Setting(int, 500, 0, doc="orders discarded before measuring"),
        "seed": _SEED,
        "confidence": _Setting(float, 0.999, 0, 1, True, True,
                               doc="two-sided confidence of each batch-means interval"),
        "batches": _Setting(int, 20, 2, doc="number of batch means"),
        "inject_service_factor": _Setting(float, 1.0, 0, lower_open=True,
                                          doc="fault injection: work per job is multiplied by "
                                          "this (the analytic values keep mu)"),
    },
    "erlang_hours": {
        "servers": _Setting(int, 2, 1, doc="machines c"),
        "load": _Setting(float, 0.7, 0, 1, True, True, doc="rho of the open time"),
        "mu": _Setting(float, 1.0, 0, lower_open=True,
                       doc="service rate per machine (1/hour): hour-long jobs straddle closings"),
        "days": _Setting(int, 28, 1, doc="simulated days"),
        "seed": _SEED,
        "inject_service_factor": _Setting(float, 1.0, 0, lower_open=True,
                                          doc="fault injection: mean job time times this"),
    },
    "routing": {"citizens": _Setting(int, 5000, 10), "days": _Setting(int, 14, 1), "seed": _SEED},
    "conservation": {"citizens": _Setting(int, 5000, 10), "days": _Setting(int, 14, 1),
                     "seed": _SEED},
    "patterns": {"citizens": _Setting(int, 5000, 10), "days": _Setting(int, 28, 1), "seed": _SEED},
    "reproducibility": {"citizens": _Setting(int, 2000, 10), "days": _Setting(int, 7, 1),
                        "seed": _SEED},
}


def resolve_settings(only: Iterable[str] | None,
                     settings: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Check names and ``--set`` values; return ``{check: {name: value}}`` with defaults filled.

    A plain key (``servers=2``) goes to every selected check that has it; a dotted key
    (``erlang.seed=3``) to that check only. A key no selected check knows, a value of the
    wrong type or out of range, or an unknown check name raises :class:`ConfigError`.
    """
    checks = list(dict.fromkeys(only)) if only else list(CHECKS)
    for name in checks:
        if name not in CHECKS:
            msg = f"unknown check {name!r}: expected one of {', '.join(CHECKS)}"
            raise ConfigError(msg)
    resolved = {c: {k: s.default for k, s in SETTINGS[c].items()} for c in checks}
    for key, raw in (settings or {}).items():
        check, _, name = key.rpartition(".")
        targets = [check] if check else [c for c in checks if name in SETTINGS[c]]
        if check and check not in CHECKS:
            msg = (f"validation setting {key!r}: unknown check {check!r}, "
                   f"expected one of {', '.join(CHECKS)}")
            raise ConfigError(msg)
        if check and check not in checks:
            msg = (f"validation setting {key!r}: check {check!r} is not selected "
                   f"(expected one of {', '.join(checks)})")
            raise ConfigError(msg)
        if not targets or name not in SETTINGS[targets[0]]:
            known = sorted({k for c in ([check] if check else checks) for k in SETTINGS[c]})
            msg = (f"unknown validation setting {key!r} for {', '.join(targets or checks)}: "
                   f"expected one of {', '.join(known)}")
            raise ConfigError(msg)
        for target in targets:
            resolved[target][name] = SETTINGS[target][name].parse(key, raw)
    return resolved
