"""Synthetic citizens as numpy columns: homes, income, skills and social ties.

The model keeps the hot state of every citizen in the arrays of a
:class:`Population` (one row per citizen); each Mesa ``Citizen`` agent is a thin
handle onto its row. Income is lognormal (ONS 2024 median and dispersion) with
spatial clustering from a smooth random field over the city; ties form a
spatially embedded network (mostly near neighbours, a share across the city),
stored as a symmetric CSR adjacency so imitation is one sparse product.

The income field is a function of the run's seed and of the home's position
only (:func:`income_field`): it has its own random stream and is standardised
analytically, so the same home gets the same field value whatever the number of
citizens. (Standardising by the sample of homes, as earlier versions did, made the
city's income pattern depend on N.) Zones replace these synthetic incomes when
they carry an income or a decile (``citymodel.residents``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

from citymodel.config import PopulationConfig
from citymodel.vocabulary import AWARE, MAKER, PROSUMER, STAGES, UNAWARE  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from citymodel.zones import Zones

EARTH_RADIUS_M = 6_371_008.8
# spawn key of the income field's own random stream (the model's streams use spawn keys 0, 1, ...)
INCOME_FIELD_KEY = 0x494E43
SYNTHETIC = "synthetic"


@dataclass
class Population:
    """Columns of citizen state (row i is citizen i).

    Attributes
    ----------
    home_poi
        Index into the city's POI table of the home (-1 when placed by fallback).
    home_node
        OSM node id of the home in the walking graph.
    x_m, y_m
        Projected home position (metres east/north of the map centre).
    income
        Disposable income (£/year).
    income_quintile
        1 (poorest fifth) … 5 (richest fifth), by rank within this population.
    skill
        Fabrication skill (CAD and machine use), 0..1.
    stage
        Adoption stage code (see ``STAGES``).
    ties
        Symmetric CSR adjacency of social ties (0/1 entries).
    stage_day
        Day each stage was reached (NaN if not), one column per stage.
    orders_by_channel
        Orders per channel (import, platform, self_fabrication).
    zone
        Index into ``zones`` of each citizen's zone (-1 without zones).
    zones
        The zones on the map used by the run (``citymodel.zones.Zones``), or None.
    income_field
        The standardised smooth income field at the home (mean 0, variance 1 by construction).
    income_source
        ``"synthetic"`` or ``"zones: <name>"``.
    """

    home_poi: np.ndarray
    home_node: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    income: np.ndarray
    income_quintile: np.ndarray
    skill: np.ndarray
    stage: np.ndarray
    ties: sp.csr_matrix
    stage_day: np.ndarray
    orders_by_channel: np.ndarray
    zone: np.ndarray | None = None
    zones: Zones | None = None
    income_field: np.ndarray | None = None
    income_source: str = SYNTHETIC
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.zone is None:
            self.zone = np.full(len(self.income), -1, dtype=np.int64)

    def zone_column(self, name: str, missing: str | int) -> np.ndarray:
        """Per citizen: attribute ``name`` of its zone (``zone_id``, ``imd_decile``, ...), ``missing`` if none."""
        dtype = object if isinstance(missing, str) else np.int64
        out = np.full(len(self.income), missing, dtype=dtype)
        if self.zones is not None:
            known = self.zone >= 0
            out[known] = np.asarray(getattr(self.zones, name))[self.zone[known]]
        return out

    def __len__(self) -> int:
        return len(self.income)


def project(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    """Equirectangular projection to metres around (lon0, lat0); accurate to <0.1 % in a city."""
    x = np.radians(np.asarray(lon) - lon0) * EARTH_RADIUS_M * np.cos(np.radians(lat0))
    y = np.radians(np.asarray(lat) - lat0) * EARTH_RADIUS_M
    return x, y


def unproject(x: np.ndarray, y: np.ndarray, lon0: float, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`project`: metres around (lon0, lat0) back to degrees."""
    lon = lon0 + np.degrees(np.asarray(x) / (EARTH_RADIUS_M * np.cos(np.radians(lat0))))
    lat = lat0 + np.degrees(np.asarray(y) / EARTH_RADIUS_M)
    return lon, lat


def income_quintiles(income: np.ndarray) -> np.ndarray:
    """Quintile 1..5 by rank (ties broken by order, so the five groups are equal in size)."""
    n = len(income)
    ranks = np.empty(n, dtype=np.int64)
    ranks[np.argsort(income, kind="stable")] = np.arange(n)
    return (ranks * 5 // max(n, 1) + 1).astype(np.int8)


def smooth_field(x: np.ndarray, y: np.ndarray, length_m: float, rng: np.random.Generator,
                 features: int = 64, chunk: int = 65_536) -> np.ndarray:
    """A Gaussian random field with mean 0 and variance 1 (random Fourier features, squared-exponential kernel).

    ``f(p) = sqrt(2/F) Σ_j cos(ω_j·p + φ_j)`` with ``ω_j ~ N(0, I/length_m²)`` and
    ``φ_j ~ U(0, 2π)``: each term has mean 0 and variance 1/2 over its random phase, so
    ``f`` has mean 0 and variance 1 at every point by construction. It is *not*
    re-standardised by the sample of points, so a point's value depends only on the
    draws of ``rng`` and on the point. Evaluated ``chunk`` points at a time, so memory
    stays ~``chunk × features`` floats (each point's sum is its own row).
    """
    omega = rng.normal(0.0, 1.0 / length_m, size=(features, 2))
    phase = rng.uniform(0, 2 * np.pi, size=features)
    values = np.empty(len(x))
    for start in range(0, len(x), chunk):
        xs, ys = x[start:start + chunk], y[start:start + chunk]
        values[start:start + chunk] = np.cos(np.outer(xs, omega[:, 0]) + np.outer(ys, omega[:, 1]) + phase).sum(axis=1)
    values *= np.sqrt(2.0 / features)
    return values


def income_field(x: np.ndarray, y: np.ndarray, length_m: float, seed: int, features: int = 64) -> np.ndarray:
    """The income field at projected positions (m): a function of ``seed`` and the positions only.

    Its random features come from their own stream, ``SeedSequence(seed, spawn_key=(INCOME_FIELD_KEY,))``,
    independent of every other draw of the run.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(INCOME_FIELD_KEY,)))
    return smooth_field(np.asarray(x, dtype=float), np.asarray(y, dtype=float), length_m, rng, features)


def build_ties(x: np.ndarray, y: np.ndarray, cfg: PopulationConfig,
               rng: np.random.Generator) -> sp.csr_matrix:
    """A spatially embedded social network: each citizen draws ``ties_per_citizen / 2`` ties.

    Local ties are drawn among the ``tie_candidates`` nearest neighbours with weight
    ``exp(-distance / tie_distance_scale_m)``; a share ``long_range_tie_share``
    goes to uniformly random citizens. The result is symmetrised, so the mean
    degree is about ``ties_per_citizen``.
    """
    n = len(x)
    if n < 2 or cfg.ties_per_citizen <= 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    draws = max(int(round(cfg.ties_per_citizen / 2)), 1)
    k = min(cfg.tie_candidates, n - 1)
    # Jitter co-located homes (same building) by a metre so the tree has distinct points.
    pts = np.column_stack([x + rng.normal(0, 1.0, n), y + rng.normal(0, 1.0, n)])
    # workers=-1: every core; each point's query is independent, so results do not depend on it.
    dist, nbr = cKDTree(pts).query(pts, k=k + 1, workers=-1)
    dist, nbr = dist[:, 1:], nbr[:, 1:]
    weight = np.exp(-dist / cfg.tie_distance_scale_m)
    cum = np.cumsum(weight, axis=1)
    u = rng.random((n, draws)) * cum[:, -1:]
    # Inverse-CDF pick among the neighbours: the number of cumulative weights below u (one draw at a time).
    pick = np.empty((n, draws), dtype=np.int64)
    for j in range(draws):
        pick[:, j] = (cum < u[:, j:j + 1]).sum(axis=1)
    local = nbr[np.arange(n)[:, None], pick.clip(0, k - 1)]
    far = rng.random((n, draws)) < cfg.long_range_tie_share
    random_targets = rng.integers(0, n, size=(n, draws))
    targets = np.where(far, random_targets, local).ravel()
    sources = np.repeat(np.arange(n), draws)
    keep = targets != sources
    a = sp.coo_matrix((np.ones(keep.sum(), dtype=np.float32), (sources[keep], targets[keep])), shape=(n, n))
    a = (a + a.T).tocsr()
    a.data[:] = 1.0
    return a


def build_population(chosen: pd.DataFrame, centre: tuple[float, float], cfg: PopulationConfig, seed: int,
                     income_rng: np.random.Generator, ties_rng: np.random.Generator) -> Population:
    """Citizens at the given homes (one row each) with synthetic income, skill and ties.

    Parameters
    ----------
    chosen
        One row per citizen: its home, with columns ``poi_id``, ``lon``, ``lat``, ``node``
        (walk-graph OSM id); see ``citymodel.homes.place_homes``.
    centre
        (lon, lat) of the map centre for the local projection.
    seed
        The run's seed (for the income field's own stream).
    income_rng, ties_rng
        Streams of the individual draws (income noise, skill noise) and of the ties.

    Notes
    -----
    Standardised log income is ``z = ρ f(home) + sqrt(1 - ρ²) ε`` with the income field ``f``
    (:func:`income_field`), ``ρ = income_spatial_correlation`` and ``ε ~ N(0, 1)`` per citizen;
    income is ``income_median · exp(income_sigma · z)`` (£/year).
    """
    n = len(chosen)
    x, y = project(chosen["lon"].to_numpy(), chosen["lat"].to_numpy(), *centre)
    rho = cfg.income_spatial_correlation
    field_values = income_field(x, y, cfg.income_length_scale_m, seed)
    z = rho * field_values
    z += np.sqrt(max(1 - rho**2, 0.0)) * income_rng.standard_normal(n)
    income = np.exp(np.log(cfg.income_median) + cfg.income_sigma * z)
    skill = np.clip(cfg.skill_mean + cfg.skill_income_gradient * z
                    + cfg.skill_noise_sd * income_rng.standard_normal(n), 0, 1)
    return Population(
        home_poi=chosen["poi_id"].to_numpy(dtype=np.int64),
        home_node=chosen["node"].to_numpy(dtype=np.int64),
        x_m=x, y_m=y,
        income=income,
        income_quintile=income_quintiles(income),
        skill=skill,
        stage=np.zeros(n, dtype=np.int8),
        ties=build_ties(x, y, cfg, ties_rng),
        stage_day=np.full((n, len(STAGES)), np.nan),
        orders_by_channel=np.zeros((n, 3), dtype=np.int32),
        income_field=field_values,
    )
