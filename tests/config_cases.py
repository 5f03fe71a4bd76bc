"""Config fields and their invalid values, read from the fields' metadata (shared by the bad-input and property tests).

Nothing here is hard-coded per field: a field added to ``citymodel/config.py``
with a range is covered by the tests as soon as it exists.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from citymodel.config import Config, FacilityKindConfig, ProductConfig
from citymodel.ranges import ANY, Range, kind_of, record_fields


@dataclass(frozen=True)
class FieldCase:
    """One configurable value: dotted name, kind, allowed range, default, item kind for lists."""

    name: str
    kind: str
    range: Range
    default: Any
    item_kind: str = "any"
    has_check: bool = False


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def section_fields() -> list[FieldCase]:
    """Every field of every section of :class:`Config` except the tables of records."""
    out = []
    cfg = Config()
    for section in dataclasses.fields(cfg):
        for f in dataclasses.fields(getattr(cfg, section.name)):
            if "record" in f.metadata:
                continue
            default = _default(f)
            kind = kind_of(default)
            item = kind_of(default[0]) if kind == "list" and default else "any"
            out.append(FieldCase(f"{section.name}.{f.name}", kind, f.metadata.get("range") or ANY, default,
                                 item, "check" in f.metadata))
    return out


def record_cases() -> list[FieldCase]:
    """The numeric fields of the first product and the first facility kind (``needs.products.furniture.…``)."""
    cfg = Config()
    out = []
    for table, record, first in (("needs.products", ProductConfig, next(iter(cfg.needs.products))),
                                 ("facilities.kinds", FacilityKindConfig, next(iter(cfg.facilities.kinds)))):
        for f, kind, item_kind in record_fields(record):
            if kind in ("int", "float"):
                entry = (cfg.needs.products if table == "needs.products" else cfg.facilities.kinds)[first]
                current = entry.get(f.name, f.default)
                out.append(FieldCase(f"{table}.{first}.{f.name}", kind, f.metadata.get("range") or ANY, current,
                                     item_kind))
    return out


def outside(rng: Range, kind: str) -> list[Any]:
    """Numbers just outside each bound of ``rng`` (of the field's kind)."""
    values = []
    step = 1 if kind == "int" else 0.5
    if rng.ge is not None:
        values.append(_as(kind, math.floor(rng.ge - step) if kind == "int" else rng.ge - step))
    if rng.gt is not None:
        values.append(_as(kind, rng.gt))
    if rng.le is not None:
        values.append(_as(kind, math.floor(rng.le) + 1 if kind == "int" else rng.le + step))
    if rng.lt is not None:
        values.append(_as(kind, rng.lt))
    return values


def _as(kind: str, x: float) -> Any:
    return int(x) if kind == "int" else float(x)


def invalid_values(case: FieldCase) -> list[tuple[str, Any]]:
    """(label, value) pairs the field must refuse: out of range, non-finite, wrong type."""
    kind, rng = case.kind, case.range
    bad: list[tuple[str, Any]] = []
    if kind in ("int", "float"):
        bad += [(f"out of range {v!r}", v) for v in outside(rng, kind)]
        bad += [("NaN", math.nan), ("infinity", math.inf), ("minus infinity", -math.inf), ("text", "lots"),
                ("a list", [1]), ("a boolean", True)]
        if kind == "int":
            bad += [("a fraction", 2.5), ("beyond 64 bits", 2**64)]
    elif kind == "bool":
        bad += [("a number", 1), ("text", "yes"), ("a list", [True])]
    elif kind == "str":
        bad += [("a list", ["x"]), ("a boolean", True), ("a table", {"a": 1})]
        if rng.choices:
            bad.append(("not a choice", "no-such-choice"))
    elif kind == "list":
        bad += [("not a list", 3), ("a list of text", ["a"])]
        bad += [(f"an item out of range {v!r}", [v]) for v in outside(rng, case.item_kind)]
    elif kind == "dict":
        bad += [("not a table", 3), ("a list", [1])]
    return bad


def toml_literal(value: Any) -> str:
    """``value`` written as a TOML value (for ``--set`` and TOML files)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + "".join(_toml_char(c) for c in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def _toml_char(c: str) -> str:
    if c in '"\\':
        return "\\" + c
    if ord(c) < 0x20 or ord(c) == 0x7F:
        return f"\\u{ord(c):04x}"
    return c
