"""User sites (--sites FILE, facilities.extra_sites) on the real Leeds map: loaded, snapped, reported; bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from citymodel.config import Config, apply_overrides
from citymodel.errors import ConfigError
from citymodel.geometry import metres_apart
from citymodel.runner import simulate
from citymodel.sites import ON_MAP_M, read_sites_file
from citymodel.siting import choose_sites

KNOWN = ("3d_printer", "cnc_router", "knitting", "laser_cutter")
# two real places in central Leeds: Hyde Park Corner and Little London (lon, lat)
HYDE_PARK = (-1.5600, 53.8150)
LITTLE_LONDON = (-1.5450, 53.8100)


def _csv(tmp_path: Path, text: str, name: str = "sites.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _config(**facilities) -> Config:
    cfg = Config()
    for key, value in facilities.items():
        setattr(cfg.facilities, key, value)
    return cfg.validate()


def test_csv_sites_are_read_with_their_machines_and_fees(tmp_path):
    path = _csv(tmp_path, "lon,lat,kind,name,machines,fee_per_hour\n"
                          f"{HYDE_PARK[0]},{HYDE_PARK[1]},library,Pop-up,3d_printer:4;laser_cutter:1,1.5\n"
                          f"{LITTLE_LONDON[0]},{LITTLE_LONDON[1]},pro_maker,,\"{{\"\"cnc_router\"\": 2}}\",\n")
    first, second = read_sites_file(path, KNOWN)
    assert (first.kind, first.name, first.lon, first.lat) == ("library", "Pop-up", *HYDE_PARK)
    assert first.machines == {"3d_printer": 4, "laser_cutter": 1} and first.fee_per_hour == 1.5
    assert (second.kind, second.machines, second.fee_per_hour) == ("maker", {"cnc_router": 2}, None)
    assert second.label == "sites.csv row 2"


def test_geojson_sites_equal_the_csv_ones(tmp_path):
    csv_path = _csv(tmp_path, f"lon,lat,kind,name\n{HYDE_PARK[0]},{HYDE_PARK[1]},college,Annex\n")
    geo = tmp_path / "sites.geojson"
    geo.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(HYDE_PARK)},
         "properties": {"kind": "college", "name": "Annex"}}]}))
    a, b = read_sites_file(csv_path, KNOWN)[0], read_sites_file(geo, KNOWN)[0]
    assert (a.kind, a.name, a.lon, a.lat, a.machines, a.fee_per_hour) == \
        (b.kind, b.name, b.lon, b.lat, b.machines, b.fee_per_hour)


def test_sites_are_added_to_the_chosen_ones_and_snapped(default_city, tmp_path):
    path = _csv(tmp_path, f"lon,lat,kind,name\n{HYDE_PARK[0]},{HYDE_PARK[1]},library,Pop-up\n")
    base, _ = choose_sites(default_city, _config().facilities, np.random.default_rng(0))
    sites, notes = choose_sites(default_city, _config(sites_file=str(path)).facilities, np.random.default_rng(0))
    assert len(sites) == len(base) + 1
    added = sites[-1]
    assert (added.kind, added.name, added.source, added.placement) == ("library", "Pop-up", "user",
                                                                        "user:sites.csv row 1")
    # snapped to the nearest walk node (checked against every node) and to a node of each graph
    walk = default_city.graph("walk")
    ids = np.array(list(walk.nodes))
    dist = metres_apart(HYDE_PARK[0], HYDE_PARK[1], np.array([walk.nodes[n]["x"] for n in ids]),
                        np.array([walk.nodes[n]["y"] for n in ids]))
    assert added.nodes["walk"] == ids[np.argmin(dist)]
    assert added.snap_m == pytest.approx(dist.min(), abs=0.5)
    for mode in ("bike", "van"):
        assert added.nodes[mode] in default_city.graph(mode)
    assert any("1 user site(s) added from" in n and "library 1" in n for n in notes)


def test_poi_sites_false_keeps_only_the_users_workshops(default_city):
    extra = [{"lon": HYDE_PARK[0], "lat": HYDE_PARK[1], "kind": "library"}]
    sites, notes = choose_sites(default_city, _config(poi_sites=False, extra_sites=extra).facilities,
                                np.random.default_rng(0))
    public = [s for s in sites if s.kind not in ("maker", "textile_mill")]
    assert [s.placement for s in public] == ["user:extra_sites[0]"]
    assert any("poi_sites = false" in n for n in notes)


def test_extra_sites_open_in_the_model_with_their_machines_and_fee(default_city):
    cfg = apply_overrides(Config(), [
        'facilities.extra_sites=[{lon = -1.5600, lat = 53.8150, kind = "library", name = "Click", '
        'machines = {"3d_printer" = 6}, fee_per_hour = 0.5}]'])
    cfg.run.citizens = 600
    cfg.run.days = 1
    res = simulate(cfg, default_city)
    fac = res.tables["facilities"]
    row = fac[fac["name"] == "Click"].iloc[0]
    assert (row["kind"], row["placement"], row["machines"], row["machines_3d_printer"]) == \
        ("library", "user:extra_sites[0]", 6, 6)
    model_site = next(f for f in res.model.facilities if f.name == "Click")
    assert model_site.fee_per_hour == 0.5
    # the kind's opening hours (library: mon-fri 10-19, sat 10-16): 6 machines x 9 h on the Monday
    assert row["open_machine_hours"] == pytest.approx(6 * 9.0)
    assert any("user site(s) added from facilities.extra_sites" in n for n in res.summary["run"]["notes"])


@pytest.mark.parametrize(("text", "needles"), [
    (f"lon,lat,kind\n{HYDE_PARK[0]},{HYDE_PARK[1]},library\n-1.4500,53.8100,library\n",
     ["row 2 (line 3)", "m from the nearest street", "outside the map"]),
    (f"lon,lat,kind\n{HYDE_PARK[0]},{HYDE_PARK[1]},bakery\n", ["row 1", "kind 'bakery' is unknown", "library"]),
    (f"lon,lat,kind\nwest,{HYDE_PARK[1]},library\n", ["row 1", "'lon' = 'west'", "longitude"]),
    (f"lon,lat,kind\n{HYDE_PARK[0]},95,library\n", ["row 1", "'lat' = '95'", "latitude"]),
    (f"lon,lat,kind,fee_per_hour\n{HYDE_PARK[0]},{HYDE_PARK[1]},library,-2\n", ["'fee_per_hour' = '-2'"]),
    (f"lon,lat,kind,machines\n{HYDE_PARK[0]},{HYDE_PARK[1]},library,3d_printer:two\n", ["machines.3d_printer"]),
    (f"lon,lat,kind,machines\n{HYDE_PARK[0]},{HYDE_PARK[1]},library,lathe:1\n", ["machine type 'lathe'"]),
    ("lon,lat\n-1.56,53.81\n", ["no column(s) kind"]),
    ("lon,lat,kind\n", ["no rows"]),
])
def test_bad_sites_files_are_one_line_errors_naming_file_and_row(default_city, tmp_path, text, needles):
    path = _csv(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        choose_sites(default_city, _config(sites_file=str(path)).facilities, np.random.default_rng(0))
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    for needle in needles:
        assert needle in message


def test_a_point_off_the_map_says_how_far(default_city, tmp_path):
    # 0.1 degrees of longitude east of Little London: about 6.6 km at 53.8 N, ~5 km beyond the streets
    path = _csv(tmp_path, f"lon,lat,kind\n{LITTLE_LONDON[0] + 0.1},{LITTLE_LONDON[1]},library\n")
    with pytest.raises(ConfigError) as err:
        choose_sites(default_city, _config(sites_file=str(path)).facilities, np.random.default_rng(0))
    metres = float(str(err.value).split(" m from the nearest street")[0].rsplit(" ", 1)[1].replace(",", ""))
    walk = default_city.graph("walk")
    nearest = min(metres_apart(LITTLE_LONDON[0] + 0.1, LITTLE_LONDON[1], d["x"], d["y"])
                  for _, d in walk.nodes(data=True))
    assert metres == pytest.approx(float(nearest), abs=1.0) and metres > ON_MAP_M


@pytest.mark.parametrize(("sites", "needle"), [
    ([{"lon": -1.56, "lat": 53.81}], "'kind' is missing"),
    ([{"lon": -1.56, "lat": 53.81, "kind": "library", "colour": "red"}], "unknown key(s) 'colour'"),
    ([{"lon": -1.56, "lat": 53.81, "kind": "library", "machines": {"3d_printer": -1}}], "machines.3d_printer"),
    ("library", "expected a list of tables"),
])
def test_bad_extra_sites_are_refused_by_the_config(sites, needle):
    cfg = Config()
    cfg.facilities.extra_sites = sites
    with pytest.raises(ConfigError) as err:
        cfg.validate()
    assert "facilities.extra_sites" in str(err.value) and needle in str(err.value)


def test_missing_sites_file_is_refused_by_the_config(tmp_path):
    cfg = Config()
    cfg.facilities.sites_file = str(tmp_path / "none.csv")
    with pytest.raises(ConfigError, match="facilities.sites_file"):
        cfg.validate()
