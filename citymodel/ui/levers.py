"""The levers a user can move in the web app: names, ranges, and the check that refuses bad values.

A lever's ``key`` is a dotted :class:`~citymodel.config.Config` name
(``policy.fee_waiver_share``), a run field (``citizens``, ``seed``) or one UI
lever (``workshop_fee_scale``, which scales the fee of every public workshop
kind). Every value that reaches a model passes :func:`check_lever` first: a value
out of range, of the wrong type, NaN or infinite is refused with one line naming
the lever, the value and what was expected, whatever widget (or crafted message)
sent it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from citymodel.errors import CitymodelError
from citymodel.vocabulary import PUBLIC_WORKSHOP_KINDS

MACHINE_TYPES = ("3d_printer", "laser_cutter", "cnc_router", "knitting")
MATCHING_RULES = ("nearest", "earliest", "cheapest")
MAX_MACHINES_PER_TYPE = 50
MAX_SITE_FEE_PER_HOUR = 200.0
MAX_SITES = 20


class InputError(CitymodelError):
    """A value typed or sent from the web app is out of range or malformed (the model is left unchanged)."""


@dataclass(frozen=True)
class Lever:
    """One adjustable parameter of the app.

    Attributes
    ----------
    key
        Name in the app's parameter dict (a dotted Config key, ``citizens``, ``seed``
        or ``workshop_fee_scale``).
    label
        What the control says, with the unit.
    kind
        ``"int"``, ``"float"`` or ``"choice"``.
    minimum, maximum
        Inclusive range of accepted values (numbers).
    step
        Slider step.
    choices
        Accepted values of a ``"choice"`` lever.
    widget
        ``"slider"``, ``"select"`` or ``"text"`` (typed in).
    """

    key: str
    label: str
    kind: str
    minimum: float = 0.0
    maximum: float = 1.0
    step: float = 0.01
    choices: tuple[str, ...] = ()
    widget: str = "slider"


LEVERS: tuple[Lever, ...] = (
    Lever("citizens", "Citizens (0 = the map's population)", "int", 0, 100_000, 100),
    Lever("workshop_fee_scale", "Workshop fees (× each kind's default £/h)", "float", 0.0, 3.0, 0.1),
    Lever("policy.fee_waiver_share", "Fee waiver (share of workshop fees paid publicly)", "float", 0.0, 1.0, 0.05),
    Lever("policy.material_subsidy_share", "Material subsidy (share of material cost)", "float", 0.0, 1.0, 0.05),
    Lever("policy.extra_printers_per_workshop", "Extra 3D printers per workshop (machines)", "int", 0, 10, 1),
    Lever("adoption.training_rate", "Training rate (sessions per aware citizen per year)", "float", 0.0, 12.0, 0.25),
    Lever("platform.matching", "Platform matching rule", "choice", choices=MATCHING_RULES, widget="select"),
    Lever("adoption.bass_p", "Bass p (innovation, 1/year)", "float", 0.0, 0.2, 0.005),
    Lever("adoption.bass_q", "Bass q (imitation, 1/year)", "float", 0.0, 1.5, 0.01),
    Lever("seed", "Seed", "int", 0, 2**31 - 1, 1, widget="text"),
)
LEVER_BY_KEY = {lever.key: lever for lever in LEVERS}


def _describe(lever: Lever) -> str:
    if lever.kind == "choice":
        return "one of " + ", ".join(lever.choices)
    whole = "a whole number" if lever.kind == "int" else "a number"
    return f"{whole} between {lever.minimum:g} and {lever.maximum:g}"


def _refuse(label: str, value: Any, expected: str) -> None:
    msg = f"{label} = {value!r} refused: expected {expected}"
    raise InputError(msg)


def parse_number(label: str, raw: Any, kind: str, minimum: float, maximum: float) -> int | float:
    """``raw`` (a number or the text typed) as an int or float within [minimum, maximum], or refuse it.

    Raises
    ------
    InputError
        If ``raw`` is not a number, not whole (``kind="int"``), NaN/infinite or out of range.
    """
    whole = kind == "int"
    expected = f"{'a whole number' if whole else 'a number'} between {minimum:g} and {maximum:g}"
    if isinstance(raw, bool):
        _refuse(label, raw, expected)
    if isinstance(raw, str):
        text = raw.strip().replace(",", "").replace("_", "")
        try:
            value = float(text)
        except ValueError:
            _refuse(label, raw, expected)
    elif isinstance(raw, (int, float)):
        value = float(raw)
    else:
        _refuse(label, raw, expected)
    if not math.isfinite(value) or (whole and not value.is_integer()) or not minimum <= value <= maximum:
        _refuse(label, raw, expected)
    return int(value) if whole else value


def check_lever(key: str, raw: Any) -> Any:
    """The accepted value of lever ``key`` for input ``raw``.

    Raises
    ------
    InputError
        If ``key`` is not a lever or ``raw`` is not an accepted value (message names both).
    """
    lever = LEVER_BY_KEY.get(key)
    if lever is None:
        msg = f"unknown lever {key!r}: expected one of {', '.join(LEVER_BY_KEY)}"
        raise InputError(msg)
    if lever.kind == "choice":
        if raw not in lever.choices:
            _refuse(lever.label, raw, _describe(lever))
        return raw
    return parse_number(lever.label, raw, lever.kind, lever.minimum, lever.maximum)


def check_site(site: dict[str, Any]) -> dict[str, Any]:
    """A what-if workshop as a ``facilities.extra_sites`` entry, checked.

    Parameters
    ----------
    site
        ``lon, lat`` (degrees), ``kind`` (a public workshop kind), ``machines``
        {machine type: count}, ``fee_per_hour`` (£/h), optional ``name``.

    Raises
    ------
    InputError
        If a field is missing, of the wrong type or out of range.
    """
    kind = site.get("kind")
    if kind not in PUBLIC_WORKSHOP_KINDS:
        _refuse("workshop kind", kind, "one of " + ", ".join(PUBLIC_WORKSHOP_KINDS))
    machines_in = site.get("machines")
    if not isinstance(machines_in, dict):
        _refuse("machines", machines_in, "a count per machine type")
    machines = {}
    for machine, count in machines_in.items():
        if machine not in MACHINE_TYPES:
            _refuse("machine type", machine, "one of " + ", ".join(MACHINE_TYPES))
        n = parse_number(f"{machine} machines", count, "int", 0, MAX_MACHINES_PER_TYPE)
        if n:
            machines[machine] = n
    if not machines:
        _refuse("machines", machines_in, "at least one machine")
    fee = parse_number("workshop fee (£/h)", site.get("fee_per_hour"), "float", 0.0, MAX_SITE_FEE_PER_HOUR)
    lon = parse_number("site longitude", site.get("lon"), "float", -180.0, 180.0)
    lat = parse_number("site latitude", site.get("lat"), "float", -90.0, 90.0)
    out = {"lon": lon, "lat": lat, "kind": kind, "machines": machines, "fee_per_hour": fee}
    if site.get("name"):
        out["name"] = str(site["name"])
    return out


def default_lever_values(config) -> dict[str, Any]:
    """Every lever's value in ``config`` (``workshop_fee_scale`` is 1: fees as configured)."""
    values: dict[str, Any] = {"citizens": config.run.citizens, "seed": config.run.seed, "workshop_fee_scale": 1.0}
    for lever in LEVERS:
        if "." in lever.key:
            section, name = lever.key.split(".", 1)
            values[lever.key] = getattr(getattr(config, section), name)
    return values

