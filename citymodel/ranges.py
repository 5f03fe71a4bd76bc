"""Allowed values of configuration fields (type, range, choices) and the one generic check that enforces them.

Each field of :mod:`citymodel.config` carries its allowed values in its metadata,
next to its unit and source (``_p(0.1, "share", ge=0, le=1)``), as a
:class:`Range`. :func:`check_value` checks one value against the type of the
field's default and that range, and raises :class:`~citymodel.errors.ConfigError`
with one line naming the field, the value and what was expected. The same
:class:`Range` describes the allowed values in ``docs/parameters.md`` and gives
the property tests their valid and invalid values, so a range is written once.

Types follow the default: a ``bool`` field takes ``true``/``false``; an ``int``
field a whole number within 64 bits (TOML's integers); a ``float`` field any
finite number (NaN and infinities are never valid); a ``str`` field text; a
``list`` field a list whose items have the type of the default's items (the
range then applies to each item); a ``dict`` field a table, whose values are
checked against a record dataclass (``record=``) or an item type.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from citymodel.errors import ConfigError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
KINDS = ("bool", "int", "float", "str", "list", "dict")


@dataclass(frozen=True)
class Range:
    """Allowed values of one field: bounds for numbers, a list of choices for text.

    Attributes
    ----------
    ge, gt, le, lt
        Inclusive (``ge``, ``le``) and exclusive (``gt``, ``lt``) bounds, in the
        field's unit; None = unbounded.
    choices
        The only allowed values of a text field.
    text
        What to say instead of the generated description (e.g. "a number of
        days of at least one simulated hour").
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] | None = None
    text: str = ""

    def contains(self, value: Any) -> bool:
        """True if ``value`` (already of the right type) lies in the range."""
        if self.choices is not None:
            return value in self.choices
        return ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
                and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt))

    def describe(self, kind: str = "float") -> str:
        """What a valid value is, in words: 'a number from 0 to 1', 'one of a, b'."""
        if self.text:
            return self.text
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        noun = "an integer" if kind == "int" else "a number"
        low = f">= {_num(self.ge)}" if self.ge is not None else (f"> {_num(self.gt)}" if self.gt is not None else "")
        high = f"<= {_num(self.le)}" if self.le is not None else (f"< {_num(self.lt)}" if self.lt is not None else "")
        if self.ge is not None and self.le is not None:
            return f"{noun} from {_num(self.ge)} to {_num(self.le)}"
        bounds = " and ".join(b for b in (low, high) if b)
        return f"{noun} {bounds}" if bounds else ("an integer" if kind == "int" else "a finite number")

    def short(self) -> str:
        """Compact form for the parameter table: '0..1', '>= 0', 'nearest|earliest'."""
        if self.text and self.choices is None and all(b is None for b in (self.ge, self.gt, self.le, self.lt)):
            return self.text
        if self.choices is not None:
            return "|".join(self.choices)
        if self.ge is not None and self.le is not None:
            return f"{_num(self.ge)}..{_num(self.le)}"
        parts = []
        if self.ge is not None:
            parts.append(f">= {_num(self.ge)}")
        if self.gt is not None:
            parts.append(f"> {_num(self.gt)}")
        if self.le is not None:
            parts.append(f"<= {_num(self.le)}")
        if self.lt is not None:
            parts.append(f"< {_num(self.lt)}")
        return ", ".join(parts)


ANY = Range()


def _num(x: float | None) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def fail(name: str, value: Any, expected: str) -> typing.NoReturn:
    """Raise the one-line error of a bad field value."""
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:60] + f"... ({len(shown)} characters)"
    msg = f"config field '{name}' = {shown}: expected {expected}"
    raise ConfigError(msg)


def kind_of(default: Any) -> str:
    """The value kind of a field from its default: bool, int, float, str, list or dict."""
    for kind, types in (("bool", bool), ("int", int), ("float", float), ("str", str),
                        ("list", (list, tuple)), ("dict", dict)):
        if isinstance(default, types):
            return kind
    return "any"


def kind_of_hint(hint: Any) -> tuple[str, str]:
    """(kind, item kind) of a type annotation such as ``float`` or ``dict[str, int]``."""
    origin = typing.get_origin(hint) or hint
    args = typing.get_args(hint)
    if origin in (bool, int, float, str):
        return origin.__name__, "any"
    if origin in (list, tuple):
        return "list", kind_of_hint(args[0])[0] if args else "any"
    if origin is dict:
        return "dict", kind_of_hint(args[1])[0] if len(args) == 2 else "any"
    return "any", "any"


def _expected(kind: str, rng: Range) -> str:
    if kind == "bool":
        return "true or false"
    if kind == "str":
        return rng.describe("str") if rng.choices is not None or rng.text else "text"
    if kind in ("int", "float"):
        return rng.describe(kind)
    if kind == "list":
        return "a list"
    if kind == "dict":
        return "a table"
    return "a value"


def check_scalar(name: str, value: Any, kind: str, rng: Range = ANY) -> None:
    """Check a bool/int/float/str value: type, finiteness, 64-bit size, range."""
    if kind == "bool":
        if not isinstance(value, bool):
            fail(name, value, "true or false")
        return
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            fail(name, value, _expected(kind, rng))
        if not INT64_MIN <= int(value) <= INT64_MAX:
            fail(name, value, _expected(kind, rng) + " that fits in 64 bits")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            fail(name, value, _expected(kind, rng))
        if not math.isfinite(value):
            fail(name, value, _expected(kind, rng))
    elif kind == "str":
        if not isinstance(value, str):
            fail(name, value, _expected(kind, rng))
    else:
        return
    if not rng.contains(value):
        fail(name, value, _expected(kind, rng))


def check_value(name: str, value: Any, default: Any, meta: typing.Mapping[str, Any]) -> None:
    """Check one config value against its field's default type and metadata.

    Parameters
    ----------
    name
        Dotted field name, for the message (``adoption.bass_q``).
    value
        The value to check.
    default
        The field's default value (gives the kind) or, for records, a kind name.
    meta
        Field metadata: ``range`` (a :class:`Range`), ``record`` (a dataclass
        checked against each value of a dict field), ``check`` (a callable
        ``check(name, value)`` for what a range cannot say).

    Raises
    ------
    ConfigError
        One line naming ``name``, the value and what was expected.
    """
    kind = default if isinstance(default, str) and default in KINDS else kind_of(default)
    item_kind = meta.get("item_kind") or _item_kind(default)
    rng = meta.get("range") or ANY
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            fail(name, value, f"a list of {_expected(item_kind, rng)}" if item_kind != "any" else "a list")
        for item in value:
            try:
                check_scalar(name, item, item_kind, rng)
            except ConfigError:
                fail(name, value, f"a list of {_plural(_expected(item_kind, rng))}")
    elif kind == "dict":
        if not isinstance(value, dict):
            fail(name, value, "a table")
        record = meta.get("record")
        for key, item in value.items():
            if not isinstance(key, str):
                fail(name, value, "a table with text keys")
            if record is not None and isinstance(default, dict) and key not in default:
                _new_entry_or_typo(f"{name}.{key}", item, record, [f"{name}.{k}" for k in default])
            if record is not None:
                check_record(f"{name}.{key}", item, record)
            elif item_kind != "any":
                check_scalar(f"{name}.{key}", item, item_kind, rng)
    else:
        check_scalar(name, value, kind, rng)
    check: Callable[[str, Any], Any] | None = meta.get("check")
    if check is not None:
        check(name, value)


def _plural(expected: str) -> str:
    for article in ("an ", "a "):
        if expected.startswith(article):
            return expected[len(article):].replace("integer", "integers", 1).replace("number", "numbers", 1)
    return expected


def _item_kind(default: Any) -> str:
    if isinstance(default, (list, tuple)) and default:
        return kind_of(default[0])
    if isinstance(default, dict) and default:
        kinds = {kind_of(v) for v in default.values()}
        return kinds.pop() if len(kinds) == 1 and not isinstance(next(iter(default.values())), dict) else "any"
    return "any"


def _new_entry_or_typo(dotted: str, data: Any, record: type, existing: list[str]) -> None:
    """A table entry not among the defaults: a new entry if complete, else probably a misspelt name."""
    required = {f.name for f, _, _ in record_fields(record)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    if isinstance(data, dict) and required <= set(data):
        return
    close = difflib.get_close_matches(dotted, existing, n=1, cutoff=0.6)
    if close:
        raise ConfigError(f"unknown config field '{dotted}': did you mean '{close[0]}'?")


def record_fields(record: type) -> list[tuple[dataclasses.Field, str, str]]:
    """(field, kind, item kind) of each field of a record dataclass."""
    hints = typing.get_type_hints(record)
    return [(f, *kind_of_hint(hints[f.name])) for f in dataclasses.fields(record)]


def check_record(name: str, data: Any, record: type) -> None:
    """Check a table against a record dataclass: known keys, required keys, each value."""
    if not isinstance(data, dict):
        fail(name, data, f"a table with the keys of {record.__name__}")
    fields = record_fields(record)
    known = {f.name for f, _, _ in fields}
    for key in data:
        if key not in known:
            raise unknown_field(f"{name}.{key}", [f"{name}.{k}" for k in known])
    for f, kind, item_kind in fields:
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if f.name not in data:
            if required:
                fail(f"{name}.{f.name}", None, "a value (it is required)")
            continue
        check_value(f"{name}.{f.name}", data[f.name], kind, {**f.metadata, "item_kind": item_kind})


def unknown_field(dotted: str, candidates: Iterable[str], everywhere: Iterable[str] = ()) -> ConfigError:
    """The error for an unknown field, suggesting the nearest valid name (difflib).

    Parameters
    ----------
    dotted
        The full dotted name the user wrote (``adoption.bass_qq``).
    candidates
        Valid full names at the same level (siblings).
    everywhere
        Every valid full leaf name, for a misplaced or misspelt section.
    """
    candidates = sorted(set(candidates))
    everywhere = sorted(set(everywhere))
    close = difflib.get_close_matches(dotted, everywhere, n=1, cutoff=0.6) if everywhere else []
    if not close:
        close = difflib.get_close_matches(dotted, candidates, n=1, cutoff=0.6)
    if not close:
        last = dotted.rpartition(".")[2]
        same_name = [c for c in everywhere if c.rpartition(".")[2] == last]
        close = same_name if len(same_name) == 1 else []
    if close:
        return ConfigError(f"unknown config field '{dotted}': did you mean '{close[0]}'?")
    names = ", ".join(c.rpartition(".")[2] for c in candidates)
    return ConfigError(f"unknown config field '{dotted}': expected one of {names}")


def leaf_names(data: Any, prefix: str = "") -> list[str]:
    """Dotted names of the leaves of a nested dict (``{'a': {'b': 1}}`` -> ``['a.b']``)."""
    if isinstance(data, dict) and data:
        out: list[str] = []
        for key, value in data.items():
            out += leaf_names(value, f"{prefix}{key}.")
        return out
    return [prefix[:-1]] if prefix else []
