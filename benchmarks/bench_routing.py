"""Routing benchmark: citymodel Router vs networkx on the same graph, in the same run.

Prints, per mode, single-pair queries/s, one-to-all time and the nearest-facility
precompute for all homes, each beside networkx with the speed-up. Same code as
``citymodel bench routing`` (``citymodel.maps.bench``). Usage::

    python benchmarks/bench_routing.py                      # default map, walk, bike, van
    python benchmarks/bench_routing.py --source city.osm.pbf --mode van --pairs 5000
"""

from __future__ import annotations

import argparse
import json

from citymodel.maps.bench import format_benchmark, run_routing_benchmark


def main() -> None:
    """Parse the command line and print one table (or JSON line) per mode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="default", help="map source (default: embedded)")
    parser.add_argument("--mode", default="walk,bike,van",
                        help="comma list of walk, bike, cargo_bike, van")
    parser.add_argument("--pairs", type=int, default=2000, help="random origin/destination pairs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the pair sample")
    parser.add_argument("--json", action="store_true", help="print one JSON object per mode")
    args = parser.parse_args()
    for mode in args.mode.split(","):
        result = run_routing_benchmark(args.source, mode.strip(), args.pairs, args.seed)
        print(json.dumps(result) if args.json else format_benchmark(result))


if __name__ == "__main__":
    main()
