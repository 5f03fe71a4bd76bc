"""Public libraries from the DCMS / Arts Council "Public libraries in England: basic dataset" CSV.

One row per library: name, lon/lat, year closed, and per weekday an opening
category ("Closed", "AM Only", "PM Only", "AM & PM (continuous)", "AM & PM (with
closure)", "All Day (continuous)", "All Day (with closure)") plus "Hours open
per week". A library is *open* if its "Year closed" is empty.

The dataset gives categories, not clock times. Opening hours are derived by a
stated rule (the clock times are an assumption; the weekly total is the
dataset's): each open day gets a window of a base length — AM Only 09:00–13:00
(4 h), PM Only 13:00–17:00 (4 h), AM & PM from 09:00 for 8 h, All Day from 09:00
for 11 h — and every window is scaled by ``hours open per week / sum of base
lengths`` (keeping its opening time) so that the week adds up to the dataset's
hours; closing times are rounded to the quarter hour. Lunch closures ("with
closure") are not modelled: the weekly total already excludes them.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

from citymodel.errors import MapError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_COLUMNS = tuple(f"{d} opening times" for d in
                    ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))
# opening category -> (opening hour, base length in hours); "Closed" and blanks are closed
CATEGORY_WINDOWS = {
    "am only": (9.0, 4.0),
    "pm only": (13.0, 4.0),
    "am & pm (continuous)": (9.0, 8.0),
    "am & pm (with closure)": (9.0, 8.0),
    "all day (continuous)": (9.0, 11.0),
    "all day (with closure)": (9.0, 11.0),
}
REQUIRED = ("Name", "Longitude", "Latitude", "Year closed", "Hours open per week", *DAY_COLUMNS)


@dataclass(frozen=True)
class Library:
    """One library of the dataset.

    Attributes
    ----------
    name, library_type
        Name and type ("Static Library", ...).
    lon, lat
        Location (degrees, WGS84).
    year_closed
        Year it closed, or None if it is open.
    hours_per_week
        "Hours open per week" (h), NaN if not given.
    hours
        Derived weekly opening hours as ``[["mon", 9.0, 19.75], ...]`` (empty if not derivable).
    """

    name: str
    library_type: str
    lon: float
    lat: float
    year_closed: int | None
    hours_per_week: float
    hours: list[list]

    @property
    def is_open(self) -> bool:
        """True if the dataset gives no closing year."""
        return self.year_closed is None

    @property
    def hours_json(self) -> str:
        """``hours`` as compact JSON ("" if none)."""
        return json.dumps(self.hours, separators=(",", ":")) if self.hours else ""


def opening_hours(categories: list[str], hours_per_week: float) -> list[list]:
    """Weekly hours from the seven day categories and the weekly total (see the module rule).

    Returns
    -------
    list
        ``[[weekday, open hour, close hour], ...]`` for the open days, or [] if no day is open or
        the weekly total is missing.
    """
    windows = [CATEGORY_WINDOWS.get((c or "").strip().lower()) for c in categories]
    base = sum(w[1] for w in windows if w is not None)
    if base == 0 or not (hours_per_week > 0):
        return []
    scale = hours_per_week / base
    out = []
    for day, window in zip(WEEKDAYS, windows, strict=True):
        if window is None:
            continue
        start, length = window
        close = min(round((start + length * scale) * 4) / 4, 24.0)
        if close > start:
            out.append([day, start, close])
    return out


def read_libraries(path: Path) -> list[Library]:
    """Read the basic-dataset CSV (every library, open or closed).

    Raises
    ------
    MapError
        One line naming the file (and line) if a required column is missing or a value is not a number.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        msg = f"libraries file {path} is not a readable CSV ({type(exc).__name__}: {exc})"
        raise MapError(msg) from None
    missing = [c for c in REQUIRED if not rows or c not in rows[0]]
    if missing:
        msg = f"libraries file {path}: missing column(s) {', '.join(missing)}; expected the DCMS basic dataset"
        raise MapError(msg)
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            lon, lat = float(row["Longitude"]), float(row["Latitude"])
            closed = int(float(row["Year closed"])) if row["Year closed"].strip() else None
            per_week = float(row["Hours open per week"]) if row["Hours open per week"].strip() else math.nan
        except ValueError:
            msg = f"libraries file {path}, line {line}: longitude, latitude, year closed or hours is not a number"
            raise MapError(msg) from None
        out.append(Library(row["Name"].strip(), row.get("Type", "").strip(), lon, lat, closed, per_week,
                           opening_hours([row[c] for c in DAY_COLUMNS], per_week)))
    return out
