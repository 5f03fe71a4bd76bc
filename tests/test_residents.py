"""Residents on the real maps: homes by zone population, zones carried into agents, incomes, default population."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.path import Path as PolygonPath
from scipy.stats import chi2

from citymodel.config import Config
from citymodel.errors import ConfigError
from citymodel.homes import place_homes
from citymodel.population import income_field, project
from citymodel.residents import populate, resolve_citizens, with_resolved_citizens, zones_for_run
from citymodel.runner import simulate
from citymodel.siting import centre_of, home_candidates

SOURCES = Path(__file__).parent.parent / "maps" / "data" / "sources" / "leeds"
ZONES_SOURCE = SOURCES / "leeds-lsoa11-imd2019.geojson"
ALPHA = 0.001  # level of the chi-square goodness-of-fit tests


def _streams(seed: int = 42) -> dict[str, np.random.Generator]:
    names = ("population", "ties", "zones")
    return {n: np.random.default_rng(s) for n, s in zip(names, np.random.SeedSequence(seed).spawn(3), strict=True)}


def _chi_square(counts: np.ndarray, shares: np.ndarray) -> tuple[float, float]:
    """Pearson statistic of multinomial counts against the shares, and its critical value at ALPHA."""
    expected = counts.sum() * shares
    stat = float(((counts - expected) ** 2 / expected).sum())
    return stat, float(chi2.ppf(1 - ALPHA, df=len(shares) - 1))


def test_homes_follow_zone_population_within_multinomial_error(default_city):
    zones = default_city.zones
    homes, _ = home_candidates(default_city)
    n = 40_000
    placement = place_homes(n, homes, zones, "auto", np.random.default_rng(3))
    assert placement.by_population
    shares = zones.population_on_map / zones.population_on_map.sum()
    counts = np.bincount(placement.zone, minlength=len(zones))
    # counts per zone are multinomial(n, shares): the Pearson statistic stays below chi2(K-1) at 0.1 %
    stat, critical = _chi_square(counts, shares)
    assert stat < critical, f"chi-square {stat:.1f} >= {critical:.1f}: counts do not follow the population"
    # the same statistic rejects homes spread uniformly over the candidates: the test has power
    uniform = place_homes(n, homes, zones, "uniform", np.random.default_rng(3))
    stat_uniform, _ = _chi_square(np.bincount(uniform.zone, minlength=len(zones)), shares)
    assert stat_uniform > 10 * critical
    # a citizen whose zone holds candidate homes lives inside that zone's polygon
    lon, lat = homes["lon"].to_numpy()[placement.home], homes["lat"].to_numpy()[placement.home]
    located, _ = zones.locate(lon, lat)
    has_homes = np.bincount(zones.locate(homes["lon"].to_numpy(), homes["lat"].to_numpy())[0],
                            minlength=len(zones)) > 0
    inside = has_homes[placement.zone]
    assert inside.mean() > 0.98
    assert (located[inside] == placement.zone[inside]).all()


def test_the_map_population_is_the_default_number_of_citizens(default_city, helsinki_city):
    cfg = Config()
    assert cfg.run.citizens == 0
    # 30 LSOAs on the Leeds streets, each counted by the share of its area inside them (mid-2015)
    assert resolve_citizens(cfg, default_city) == 45_455
    assert resolve_citizens(cfg, helsinki_city) == 10_000  # no zones
    resolved = with_resolved_citizens(cfg, default_city)
    assert resolved.run.citizens == 45_455 and cfg.run.citizens == 0  # the input is not changed
    cfg.run.citizens = 1234
    assert with_resolved_citizens(cfg, default_city) is cfg


def test_the_source_zones_file_gives_the_embedded_zones(default_city):
    cfg = Config()
    cfg.population.zones_file = str(ZONES_SOURCE)
    from_file = zones_for_run(default_city, cfg)
    embedded = default_city.zones
    assert list(from_file.zone_id) == list(embedded.zone_id)
    np.testing.assert_array_equal(from_file.population, embedded.population)
    np.testing.assert_allclose(from_file.map_share, embedded.map_share, rtol=1e-12)
    np.testing.assert_array_equal(from_file.imd_decile, embedded.imd_decile)
    assert resolve_citizens(cfg, default_city) == 45_455


def test_agents_carry_their_zone_and_its_deciles(default_city):
    cfg = Config()
    cfg.run.citizens = 3000
    cfg.run.days = 0.25
    res = simulate(cfg, default_city)
    agents = res.tables["agents"]
    assert {"zone_id", "imd_decile", "income_decile"} <= set(agents.columns)
    # Leeds 063B (E01011678), read here from the committed source: its citizens carry its deciles
    source = json.loads(ZONES_SOURCE.read_text(encoding="utf-8"))
    feature = next(f for f in source["features"] if f["properties"]["lsoa11cd"] == "E01011678")
    ring = np.array(feature["geometry"]["coordinates"][0][0])
    walk = default_city.graph("walk")
    lon = np.array([walk.nodes[int(n)]["x"] for n in agents["home_node"]])
    lat = np.array([walk.nodes[int(n)]["y"] for n in agents["home_node"]])
    inside = PolygonPath(ring).contains_points(np.column_stack([lon, lat]))
    assert inside.sum() > 100  # 4,590 residents: about 10 % of the city
    rows = agents[inside]
    assert set(rows["zone_id"]) == {"E01011678"}
    assert set(rows["imd_decile"]) == {feature["properties"]["imd_decile"]} == {5}
    assert set(rows["income_decile"]) == {feature["properties"]["income_decile"]} == {10}
    # income decile 10: every income is above the 90th percentile of the lognormal (median 34,500, sigma 0.6)
    assert rows["income"].min() >= 34_500 * np.exp(0.6 * 1.2815515655446004) * (1 - 1e-9)
    assert set(agents["imd_decile"]) <= set(range(1, 9))
    inclusion = res.summary["inclusion"]
    assert sum(inclusion["n_by_imd_decile"]) == 3000 and inclusion["n_without_imd_decile"] == 0
    assert inclusion["incomes_synthetic"] is False and "leeds-lsoa11-imd2019" in inclusion["income_source"]


def test_without_zones_the_columns_say_unknown(helsinki_city):
    cfg = Config()
    cfg.run.citizens = 400
    cfg.run.days = 0.25
    res = simulate(cfg, helsinki_city)
    agents = res.tables["agents"]
    assert set(agents["zone_id"]) == {""} and set(agents["imd_decile"]) == {-1}
    assert set(agents["income_decile"]) == {-1}
    inclusion = res.summary["inclusion"]
    assert inclusion["incomes_synthetic"] is True
    assert inclusion["access_15min_walk_by_imd_decile"] == [None] * 10
    assert inclusion["n_without_imd_decile"] == 400


def test_income_field_depends_on_seed_and_place_not_on_the_number_of_citizens(helsinki_city):
    # the model's own set-up (synthetic incomes: Helsinki has no zones), same seed, N and 2N citizens
    pops = {n: populate(helsinki_city, _small(n), _streams(42))[0] for n in (2000, 4000)}
    small, large = pops[2000], pops[4000]
    assert small.income_source == large.income_source == "synthetic"
    common = np.intersect1d(small.home_node, large.home_node)
    assert common.size > 500
    for node in common:
        a = np.unique(small.income_field[small.home_node == node])
        b = np.unique(large.income_field[large.home_node == node])
        assert a.size == b.size == 1 and a[0] == b[0]  # exactly the same value at the same home
    # the field is that of the seed at the home's position, whichever citizens were drawn
    homes, _ = home_candidates(helsinki_city)
    x, y = project(homes["lon"].to_numpy(), homes["lat"].to_numpy(), *centre_of(helsinki_city))
    field = dict(zip(homes["node"].to_numpy(), income_field(x, y, 800.0, 42), strict=True))
    np.testing.assert_array_equal(large.income_field, [field[n] for n in large.home_node])
    assert not np.allclose(income_field(x, y, 800.0, 42), income_field(x, y, 800.0, 43))  # another seed


def test_income_field_is_standardised_by_construction():
    # at one place, over S seeds, the field has mean 0 and variance 1 (not re-scaled by a sample of homes)
    seeds = 600
    values = np.array([income_field(np.array([1234.0]), np.array([-567.0]), 800.0, s)[0] for s in range(seeds)])
    se_mean = 1 / np.sqrt(seeds)
    se_var = np.sqrt(2 / seeds)  # variance of a sample variance of ~normal values: 2 sigma^4 / S
    assert abs(values.mean()) < 4 * se_mean
    assert abs(values.var() - 1) < 4 * se_var


def test_same_seed_same_homes_whatever_runs_before(default_city):
    a, _ = populate(default_city, with_resolved_citizens(_small(2500), default_city), _streams())
    b, _ = populate(default_city, with_resolved_citizens(_small(2500), default_city), _streams())
    np.testing.assert_array_equal(a.home_node, b.home_node)
    np.testing.assert_array_equal(a.income, b.income)
    np.testing.assert_array_equal(a.zone, b.zone)


def _small(n: int) -> Config:
    cfg = Config()
    cfg.run.citizens = n
    return cfg


def _zones_file(tmp_path: Path, features: list[dict], name: str = "zones.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _square(lon0: float, lat0: float, size: float) -> dict:
    ring = [[lon0, lat0], [lon0 + size, lat0], [lon0 + size, lat0 + size], [lon0, lat0 + size], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_population_requested_but_missing_is_one_line(default_city, tmp_path):
    west, south, east, north = default_city.bbox
    path = _zones_file(tmp_path, [{"type": "Feature", "properties": {"imd_decile": 3},
                                   "geometry": _square(west, south, max(east - west, north - south))}])
    cfg = _small(500)
    cfg.population.zones_file = str(path)
    cfg.population.homes_by = "population"
    with pytest.raises(ConfigError) as err:
        populate(default_city, cfg, _streams())
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "no 'population' column" in message


def test_zones_that_miss_the_map_are_one_line_naming_the_nearest(default_city, tmp_path):
    # two squares in York, about 30 km north-east of central Leeds
    path = _zones_file(tmp_path, [
        {"type": "Feature", "properties": {"zone_id": "Y1", "population": 100},
         "geometry": _square(-1.10, 53.95, 0.01)},
        {"type": "Feature", "properties": {"zone_id": "Y2", "population": 100},
         "geometry": _square(-1.08, 53.96, 0.01)},
    ])
    cfg = _small(500)
    cfg.population.zones_file = str(path)
    with pytest.raises(ConfigError) as err:
        populate(default_city, cfg, _streams())
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    assert "none of its 2 zone polygons overlaps map default" in message
    assert "the nearest is feature 0 (Y1)" in message and "km away" in message


def test_a_zone_without_population_among_zones_with_one_names_the_feature(tmp_path):
    from citymodel.zones import read_zones

    path = _zones_file(tmp_path, [
        {"type": "Feature", "properties": {"population": 10, "imd_decile": 1}, "geometry": _square(-1.56, 53.80, 0.01)},
        {"type": "Feature", "properties": {"imd_decile": 2}, "geometry": _square(-1.55, 53.80, 0.01)},
    ])
    with pytest.raises(ConfigError, match=r"feature 1: no population while other zones have one"):
        read_zones(path)


def test_a_population_only_zones_file_places_homes_and_keeps_synthetic_incomes(default_city, tmp_path):
    west, south, east, north = default_city.bbox
    mid = (west + east) / 2
    pad = 0.001
    path = _zones_file(tmp_path, [
        {"type": "Feature", "properties": {"zone_id": "W", "population": 900},
         "geometry": _rect(west - pad, south - pad, mid, north + pad)},
        {"type": "Feature", "properties": {"zone_id": "E", "population": 100},
         "geometry": _rect(mid, south - pad, east + pad, north + pad)},
    ])
    cfg = Config()
    cfg.population.zones_file = str(path)
    zones = zones_for_run(default_city, cfg)
    assert zones.has_population and not zones.has_income
    # both halves lie partly outside the area the streets cover: each counts its share inside it
    assert zones.map_share.min() > 0 and zones.map_share.max() < 1
    n = resolve_citizens(cfg, default_city)
    assert n == int(round(900 * zones.map_share[0] + 100 * zones.map_share[1]))
    pop, notes = populate(default_city, with_resolved_citizens(cfg, default_city), _streams())
    assert len(pop) == n
    assert pop.income_source == "synthetic" and any("incomes are synthetic" in note for note in notes)
    west_share = float(np.mean(pop.zone == 0))
    expected = 900 * zones.map_share[0] / (900 * zones.map_share[0] + 100 * zones.map_share[1])
    # binomial: within 4 standard errors of the population share
    assert abs(west_share - expected) < 4 * np.sqrt(expected * (1 - expected) / n)


def _rect(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}
