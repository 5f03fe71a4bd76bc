"""The import channel: mass-produced goods ordered from afar, with a lead time, delivered on van rounds.

An import's lead time is the product's ``import_lead_days`` times a
mean-one lognormal factor with coefficient of variation ``needs.import_lead_cv``
(keyed by citizen, product and need), :func:`import_lead_minutes`; it fixes the
day the parcel reaches the city's depot round. Each day the parcels due that day
leave the import depot (the van-graph node farthest from the map centre) on
multi-drop van rounds of up to ``logistics.van_drops_per_round`` parcels, from
``logistics.van_round_start_hour`` (:func:`van_rounds`): parcels are split into
rounds by bearing from the depot (a sweep), each round visits its homes in
nearest-neighbour order. The legs from and back to the depot are the routed van
distances; legs between homes are straight-line distances times the van graph's
circuity (measured on the map), driven at the van graph's mean speed, with
``VAN_STOP_MIN`` per drop. Each parcel is charged its share of its round's
kilometres (``orders.delivery_vehicle_km``) and is delivered when the van reaches
it. The citizen pays the product's ``import_price`` when ordering.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from citymodel.keyed_random import IMPORT_LEAD, KeyedRandom
from citymodel.vocabulary import MINUTES_PER_DAY

VAN_STOP_MIN = 5.0
"""Minutes a van spends at each drop (parking, handing over; assumption)."""


def import_lead_minutes(keyed: KeyedRandom, lead_days: np.ndarray, cv: float, who: np.ndarray, product: np.ndarray,
                        k: np.ndarray) -> np.ndarray:
    """Lead time (minutes) from order to delivery of imports (keys: citizen, product code, need k)."""
    sigma = np.sqrt(np.log1p(cv**2))
    return lead_days * 1440.0 * keyed.lognormal(IMPORT_LEAD, -sigma**2 / 2, sigma, who, product, k)


def van_rounds(stop_x: np.ndarray, stop_y: np.ndarray, depot_m: np.ndarray, depot_xy: tuple[float, float],
               drops_per_round: int, circuity: float, speed_m_per_min: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multi-drop rounds from the depot for one day's parcels.

    Parameters
    ----------
    stop_x, stop_y
        Positions of the parcels' homes (m from the map centre), in parcel order.
    depot_m
        Routed van distance between the depot and each home (m).
    depot_xy
        Depot position (m).
    drops_per_round, circuity, speed_m_per_min
        Van capacity (parcels), network / straight-line distance ratio, mean van speed (m/min).

    Returns
    -------
    round_km
        Each parcel's share of its round's length (km).
    arrival_min
        Minutes after the round's start at which the van reaches each parcel's home.
    round_id
        The round of each parcel.
    """
    n = len(stop_x)
    share_km = np.zeros(n)
    arrival = np.zeros(n)
    round_id = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return share_km, arrival, round_id
    bearing = np.arctan2(stop_y - depot_xy[1], stop_x - depot_xy[0])
    by_bearing = np.lexsort((np.arange(n), bearing))
    # All the day's rounds advance together, one drop per step: [rounds, drops] arrays, the last round padded.
    rounds = -(-n // drops_per_round)
    width = min(drops_per_round, n)
    slots = np.full(rounds * width, -1, dtype=np.int64)
    slots[:n] = by_bearing
    members = slots.reshape(rounds, width)
    real = members >= 0
    sizes = real.sum(axis=1)
    safe = np.where(real, members, 0)
    xs, ys = stop_x[safe], stop_y[safe]
    dx = xs[:, :, None] - xs[:, None, :]
    dy = ys[:, :, None] - ys[:, None, :]
    squared = dx * dx + dy * dy
    every = np.arange(rounds)
    # first stop: the nearest to the depot by the routed distance (ties: parcel order)
    first_key = np.where(real, depot_m[safe], np.inf)
    current = np.array([int(np.lexsort((safe[r], first_key[r]))[0]) for r in range(rounds)], dtype=np.int64)
    visited = ~real
    visited[every, current] = True
    length = depot_m[members[every, current]].astype(float)
    clock = length / speed_m_per_min
    arrival[members[every, current]] = clock
    clock = clock + VAN_STOP_MIN
    for step in range(1, width):
        going = sizes > step  # rounds with a drop left
        row = np.where(visited[going], np.inf, squared[every[going], current[going]])
        nxt = np.argmin(row, axis=1)  # nearest unvisited (ties: parcel order)
        leg = np.sqrt(squared[every[going], current[going], nxt]) * circuity
        current[going] = nxt
        visited[every[going], nxt] = True
        length[going] += leg
        clock[going] += leg / speed_m_per_min
        arrival[members[every[going], nxt]] = clock[going]
        clock[going] += VAN_STOP_MIN
    length += depot_m[members[every, current]]
    share_km[slots[:n]] = np.repeat(length / 1000.0 / sizes, sizes)
    round_id[slots[:n]] = np.repeat(every, sizes)
    return share_km, arrival, round_id


class ImportChannel:
    """The imports component: books import orders and delivers each day's parcels on van rounds.

    Parameters
    ----------
    config
        The run's configuration (``needs.import_lead_cv``, ``logistics``).
    products
        The catalogue (import prices and lead times).
    depot_node
        Van-graph node of the import depot.
    last_mile
        ``last_mile(who) -> (time_s, dist_m, destination nodes)``: routed van legs from the depot to homes.
    depot_xy
        Depot position (m from the map centre).
    circuity, speed_m_per_min
        The van graph's network / straight-line distance ratio and mean speed (m/min).
    """

    def __init__(self, config, products, depot_node: int, last_mile, depot_xy: tuple[float, float],
                 circuity: float, speed_m_per_min: float) -> None:
        self.config = config
        self.products = products
        self.depot_node = depot_node
        self.last_mile = last_mile
        self.depot_xy = depot_xy
        self.circuity = circuity
        self.speed_m_per_min = speed_m_per_min
        self.due: dict[int, list[int]] = defaultdict(list)

    def place(self, orders, accounts, keyed: KeyedRandom, product: np.ndarray, who: np.ndarray, when: np.ndarray,
              designs: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Book imports of ``product`` by ``who`` at ``when`` (minutes); return their order ids."""
        price = self.products.import_price[product]
        lead_days = self.products.import_lead_days[product]
        lead_min = import_lead_minutes(keyed, lead_days, self.config.needs.import_lead_cv, who, product, k)
        time_s, dist_m, dest = self.last_mile(who)
        # the day's rounds leave at midnight's planning: a parcel due today goes out tomorrow at the earliest
        due_day = np.maximum((when + lead_min) // MINUTES_PER_DAY, when // MINUTES_PER_DAY + 1).astype(np.int64)
        ids = orders.add_imports(who, product, when, np.full(len(who), np.nan), price, self.depot_node, dest, time_s,
                                 dist_m, machines=[d.machine for d in designs],
                                 quoted_ready_min=when + lead_days * MINUTES_PER_DAY, vehicle_km=np.zeros(len(who)))
        for order_id, day in zip(ids, due_day, strict=True):
            self.due[int(day)].append(int(order_id))
        accounts.imports(when, ids, who, price)
        return ids

    def deliver_day(self, orders, population, day: int) -> None:
        """Send out the van rounds of ``day`` (a day index): delivery times and vehicle-km of its parcels."""
        ids = np.array(sorted(self.due.pop(day, [])), dtype=np.int64)
        if not ids.size:
            return
        who = orders.t["citizen_id"][ids]
        logistics = self.config.logistics
        share_km, arrival, _ = van_rounds(population.x_m[who], population.y_m[who], orders.t["distance_m"][ids],
                                          self.depot_xy, logistics.van_drops_per_round, self.circuity,
                                          self.speed_m_per_min)
        start = day * MINUTES_PER_DAY + logistics.van_round_start_hour * 60.0
        orders.t["delivered_min"][ids] = start + arrival
        orders.t["delivery_vehicle_km"][ids] = share_km


def van_graph_circuity(router, xy_of_node, rng: np.random.Generator, pairs: int = 200) -> tuple[float, float]:
    """The van graph's circuity (mean routed / straight-line distance over ``pairs`` random node pairs more than
    200 m apart) and its mean speed (routed metres per minute over the same pairs)."""
    nodes = router.nodes
    a = nodes[rng.integers(0, len(nodes), size=pairs * 3)]
    b = nodes[rng.integers(0, len(nodes), size=pairs * 3)]
    ax, ay = xy_of_node(a)
    bx, by = xy_of_node(b)
    straight = np.hypot(ax - bx, ay - by)
    keep = np.flatnonzero(straight > 200.0)[:pairs]
    dist = router.distance(a[keep], b[keep])
    time_s = router.travel_time(a[keep], b[keep])
    ok = np.isfinite(dist) & (time_s > 0)
    if not ok.any():
        return 1.3, 500.0
    return float(np.mean(dist[ok] / straight[keep][ok])), float(np.sum(dist[ok]) / (np.sum(time_s[ok]) / 60.0))
