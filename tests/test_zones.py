"""Income from a zones file (GeoJSON polygons or CSV points), with worked answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from citymodel.errors import ConfigError
from citymodel.zones import incomes_from_zones, read_zones


def square(lon0: float, lat0: float, size: float = 0.01) -> list[list[float]]:
    return [[lon0, lat0], [lon0 + size, lat0], [lon0 + size, lat0 + size], [lon0, lat0 + size], [lon0, lat0]]


@pytest.fixture
def geojson(tmp_path):
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"imd_decile": 1},
         "geometry": {"type": "Polygon", "coordinates": [square(24.90, 60.10)]}},
        {"type": "Feature", "properties": {"imd_decile": 10},
         "geometry": {"type": "MultiPolygon", "coordinates": [[square(24.92, 60.10)]]}},
        {"type": "Feature", "properties": {"income": 50000},
         "geometry": {"type": "Polygon", "coordinates": [square(24.94, 60.10)]}},
    ]}
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(data))
    return path


def test_geojson_points_fall_in_their_polygons(geojson):
    zones = read_zones(geojson)
    lon = np.array([24.905, 24.925, 24.945, 24.99])
    lat = np.array([60.105, 60.105, 60.105, 60.105])
    zone, outside = zones.locate(lon, lat)
    # the last point is in no polygon: it takes the nearest centroid (the third square)
    assert zone.tolist() == [0, 1, 2, 2]
    assert outside == 1


def test_decile_zones_keep_rank_and_income_zones_keep_mean(geojson):
    zones = read_zones(geojson)
    rng = np.random.default_rng(0)
    n = 20000
    lon = np.repeat([24.905, 24.925, 24.945], n)
    lat = np.full(3 * n, 60.105)
    median, sigma = 30000.0, 0.6
    income, zone, _ = incomes_from_zones(zones, lon, lat, median, sigma, 0.3, rng)
    poor, rich, fixed = income[:n], income[n:2 * n], income[2 * n:]
    # decile 1 lies below the 10th percentile of lognormal(median, sigma): exp(ln m + sigma * z_0.1)
    p10 = median * np.exp(sigma * -1.2815515655446004)
    p90 = median * np.exp(sigma * 1.2815515655446004)
    assert poor.max() <= p10 * (1 + 1e-9)
    assert rich.min() >= p90 * (1 - 1e-9)
    # mean-preserving lognormal noise: the sample mean is within 4 standard errors of 50,000
    se = 50000 * np.sqrt(np.exp(0.3**2) - 1) / np.sqrt(n)
    assert abs(fixed.mean() - 50000) < 4 * se


def test_csv_zones_use_the_nearest_point(tmp_path):
    path = tmp_path / "zones.csv"
    path.write_text("lon,lat,income\n24.90,60.10,20000\n24.95,60.10,80000\n")
    zones = read_zones(path)
    zone, outside = zones.locate(np.array([24.91, 24.94]), np.array([60.10, 60.10]))
    assert zone.tolist() == [0, 1] and outside == 0


@pytest.mark.parametrize(("name", "text", "needle"), [
    ("a.csv", "lon,lat,income\n24.9,60.1,rich\n", "income"),
    ("b.csv", "lon,lat,decile\n24.9,60.1,11\n", "decile"),
    ("c.csv", "x,y,income\n1,2,3\n", "lon, lat"),
    ("d.csv", "lon,lat,colour\n24.9,60.1,red\n", "no income field"),
    ("e.geojson", "{not json", "not valid JSON"),
    ("f.geojson", '{"type": "FeatureCollection", "features": []}', "FeatureCollection"),
    ("g.txt", "hello", "unknown extension"),
])
def test_bad_zones_files_are_one_line_errors_naming_the_file(tmp_path, name, text, needle):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        read_zones(path)
    message = str(info.value)
    assert str(path) in message and needle in message and "\n" not in message


def test_missing_zones_file_is_refused_by_the_config(tmp_path):
    from citymodel.config import Config

    cfg = Config()
    cfg.population.zones_file = str(tmp_path / "nope.geojson")
    with pytest.raises(ConfigError, match="population.zones_file"):
        cfg.validate()


def test_model_draws_incomes_from_the_zones_of_homes(tmp_path):
    from citymodel.config import Config
    from citymodel.maps import load_city
    from citymodel.runner import simulate

    city = load_city("default")
    west, south, east, north = city.bbox
    mid = (west + east) / 2
    pad = 0.01

    def box(x0, x1):
        return [[x0, south - pad], [x1, south - pad], [x1, north + pad], [x0, north + pad], [x0, south - pad]]

    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"imd_decile": 1}, "geometry": {"type": "Polygon",
                                                                          "coordinates": [box(west - pad, mid)]}},
        {"type": "Feature", "properties": {"imd_decile": 10}, "geometry": {"type": "Polygon",
                                                                           "coordinates": [box(mid, east + pad)]}},
    ]}
    path = tmp_path / "halves.geojson"
    path.write_text(json.dumps(data))
    cfg = Config()
    cfg.run.citizens = 2000
    cfg.run.days = 1
    cfg.population.zones_file = str(path)
    res = simulate(cfg, city)
    agents = res.tables["agents"]
    walk = city.graph("walk")
    lon = np.array([walk.nodes[int(n)]["x"] for n in agents["home_node"]])
    in_west = lon < mid
    assert 0 < in_west.sum() < len(agents)
    # every home in the decile-1 half earns less than every home in the decile-10 half
    assert agents.loc[in_west, "income"].max() < agents.loc[~in_west, "income"].min()
    assert any("zones file" in n for n in res.summary["run"]["notes"])


def test_area_share_inside_the_map_and_zones_off_it(tmp_path):
    # window: the square lon 0..1, lat 0..1 (counter-clockwise); zones: a square half inside, one with a hole
    # a quarter of whose area is inside, one outside
    window = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    half = [[0.5, 0.2], [1.5, 0.2], [1.5, 0.6], [0.5, 0.6], [0.5, 0.2]]
    outer = [[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0]]
    hole = [[0.5, 0.5], [0.9, 0.5], [0.9, 0.9], [0.5, 0.9], [0.5, 0.5]]
    far = [[5.0, 5.0], [6.0, 5.0], [6.0, 6.0], [5.0, 5.0]]
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"population": 100, "imd_decile": 1},
         "geometry": {"type": "Polygon", "coordinates": [half]}},
        {"type": "Feature", "properties": {"population": 100, "imd_decile": 2},
         "geometry": {"type": "Polygon", "coordinates": [outer, hole]}},
        {"type": "Feature", "properties": {"population": 100, "imd_decile": 3},
         "geometry": {"type": "Polygon", "coordinates": [far]}},
    ]}
    path = tmp_path / "z.geojson"
    path.write_text(json.dumps(data))
    zones = read_zones(path)
    # half: 0.5 x 0.4 of its 1 x 0.4 inside; holed: (1 - 0.16) of its (4 - 0.16) inside
    np.testing.assert_allclose(zones.area_share_in(window), [0.5, 0.84 / 3.84, 0.0], rtol=1e-12)
    on_map = zones.on_map(window)
    assert len(on_map) == 2 and list(on_map.imd_decile) == [1, 2]
    np.testing.assert_allclose(on_map.population_on_map, [50.0, 100 * 0.84 / 3.84], rtol=1e-12)
    off_map = r"none of its 1 zone polygons .* nearest is feature 2 \(2\), [0-9.]+ km away"
    with pytest.raises(ConfigError, match=off_map):
        read_zones(path).subset(np.array([2])).on_map(window)


def test_zones_round_trip_through_json_exactly(geojson):
    zones = read_zones(geojson)
    again = type(zones).from_json(zones.to_json())
    for name in ("points", "income", "decile", "population", "imd_decile", "income_decile"):
        np.testing.assert_array_equal(getattr(again, name), getattr(zones, name))
    assert list(again.zone_id) == list(zones.zone_id)
    for a, b in zip(again.polygons, zones.polygons, strict=True):
        for ring_a, ring_b in zip(a, b, strict=True):
            np.testing.assert_array_equal(ring_a, ring_b)


def test_csv_zones_read_ids_population_and_both_deciles(tmp_path):
    path = tmp_path / "lsoa.csv"
    path.write_text("lsoa11cd,lsoa11nm,imd_decile,income_decile,pop_mid2015,pwc_lon,pwc_lat\n"
                    "E01011678,Leeds 063B,5,10,4590,-1.556,53.808\n")
    zones = read_zones(path)
    assert (zones.zone_id[0], zones.zone_name[0], zones.population[0]) == ("E01011678", "Leeds 063B", 4590.0)
    # incomes are drawn from the income-domain decile; the IMD decile is carried for reporting
    assert (zones.decile[0], zones.imd_decile[0], zones.income_decile[0]) == (10, 5, 10)
