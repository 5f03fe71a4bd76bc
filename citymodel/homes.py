"""Where citizens live: candidate homes drawn uniformly, or in proportion to the population of zones.

Rule with zones that carry a population (``population.homes_by`` = ``auto`` or
``population``):

1. every candidate home (``siting.home_candidates``: residential POIs or walk
   nodes on residential streets) is located in the zone whose polygon holds it;
   a candidate inside no polygon takes the zone with the nearest representative
   point (counted in the note);
2. zone ``z`` counts ``P_z = population_z × map_share_z`` residents on the map
   (``map_share``: share of the zone's area inside the map's bounding box);
3. each citizen draws a zone with probability ``P_z / Σ P`` and then one of the
   zone's candidate homes uniformly (one draw per citizen: counts per zone are
   multinomial with these shares);
4. a zone with residents on the map but no candidate home inside it (the coarse
   polygon's part on the map holds no residential street) houses its citizens at
   the ``FALLBACK_HOMES`` candidate homes nearest its representative point,
   equally (counted in the note); they carry that zone.

Without zones, or with ``homes_by = uniform``, each citizen draws a candidate home
uniformly; with zones its zone is the one its home lies in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from citymodel.errors import ConfigError
from citymodel.zones import Zones

FALLBACK_HOMES = 10


@dataclass
class HomePlacement:
    """The home and zone of every citizen.

    Attributes
    ----------
    home
        Row of the candidate-homes table per citizen.
    zone
        Zone index per citizen (-1 without zones).
    by_population
        True if homes were drawn in proportion to zone population.
    notes
        What rules were used (for the run's notes).
    """

    home: np.ndarray
    zone: np.ndarray
    by_population: bool
    notes: list[str] = field(default_factory=list)


def wants_population(zones: Zones | None, homes_by: str) -> bool:
    """Whether homes follow zone population; ``homes_by="population"`` without population is an error."""
    if homes_by == "uniform":
        return False
    has = zones is not None and zones.has_population
    if homes_by == "population" and not has:
        what = f"zones file {zones.name}" if zones is not None else "the run"
        why = "has no 'population' column" if zones is not None else "has no zones (no zones_file, map without zones)"
        raise ConfigError(f"{what} {why}, but population.homes_by = 'population' asks to place homes by population; "
                          "expected a 'population' per zone (or population.homes_by = 'auto' or 'uniform')")
    return has


def place_homes(n: int, homes: pd.DataFrame, zones: Zones | None, homes_by: str,
                rng: np.random.Generator) -> HomePlacement:
    """Draw the home (and zone) of ``n`` citizens.

    Parameters
    ----------
    n
        Number of citizens.
    homes
        Candidate homes with columns ``lon``, ``lat`` (degrees).
    zones
        Zones on the map (``Zones.on_map``), or None.
    homes_by
        ``population.homes_by``: "auto", "population" or "uniform".
    rng
        The population stream.
    """
    by_population = wants_population(zones, homes_by)
    if zones is None:
        return HomePlacement(rng.integers(0, len(homes), size=n), np.full(n, -1, dtype=np.int64), False)
    lon, lat = homes["lon"].to_numpy(), homes["lat"].to_numpy()
    cand_zone, outside = zones.locate(lon, lat)
    notes = []
    if outside:
        notes.append(f"{outside} of {len(homes)} candidate homes lie in no zone polygon: they took the zone with "
                     "the nearest centroid")
    if not by_population:
        pick = rng.integers(0, len(homes), size=n)
        return HomePlacement(pick, cand_zone[pick], False, notes)
    people = zones.population_on_map
    total = float(people.sum())
    if not total > 0:
        raise ConfigError(f"zones file {zones.name}: the zones on the map have no residents (population 0); "
                          "expected a positive population")
    per_zone = np.bincount(cand_zone, minlength=len(zones))
    rows_home = np.arange(len(homes))
    rows_zone = cand_zone
    weight = people[cand_zone] / np.maximum(per_zone[cand_zone], 1)
    empty = np.flatnonzero((per_zone == 0) & (people > 0))
    if empty.size:
        lat0 = math.cos(math.radians(float(np.mean(lat))))
        tree = cKDTree(np.column_stack([lon * lat0, lat]))
        k = min(FALLBACK_HOMES, len(homes))
        _, nearest = tree.query(np.column_stack([zones.points[empty, 0] * lat0, zones.points[empty, 1]]), k=k)
        nearest = np.asarray(nearest).reshape(empty.size, k)
        rows_home = np.concatenate([rows_home, nearest.ravel()])
        rows_zone = np.concatenate([rows_zone, np.repeat(empty, k)])
        weight = np.concatenate([weight, np.repeat(people[empty] / k, k)])
        notes.append(f"{empty.size} zone(s) with residents on the map but no candidate home inside: their "
                     f"{people[empty].sum():,.0f} residents live at the {k} candidate homes nearest each zone's "
                     "centroid")
    draw = rng.choice(len(weight), size=n, p=weight / weight.sum())
    cut = zones.map_share < 1
    notes.insert(0, f"homes in proportion to zone population: {len(zones)} zones, {total:,.0f} residents on the map "
                    f"({int(cut.sum())} zones cut by the map's edge count population x share of their area inside "
                    "the area the streets cover)")
    return HomePlacement(rows_home[draw], rows_zone[draw].astype(np.int64), True, notes)
