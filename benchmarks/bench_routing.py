"""Routing benchmark: citymodel Router vs networkx (thin wrapper of citymodel.maps.bench)."""

from __future__ import annotations

import argparse

from citymodel.maps.bench import format_benchmark, run_routing_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", default="default", help="map source (default: embedded)")
    parser.add_argument("--mode", default="walk", help="walk, bike, cargo_bike or van")
    parser.add_argument("--pairs", type=int, default=2000, help="random origin/destination pairs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for mode in args.mode.split(","):
        print(format_benchmark(run_routing_benchmark(args.source, mode, args.pairs, args.seed)))


if __name__ == "__main__":
    main()
