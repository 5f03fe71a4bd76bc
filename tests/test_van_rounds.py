"""Van rounds: the batched nearest-neighbour tour against a plain one-round-at-a-time reading of the rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from citymodel.imports import VAN_STOP_MIN, van_rounds


def plain_rounds(xs, ys, depot_m, depot_xy, drops, circuity, speed):
    """The rule as written in the imports module, one parcel and one round at a time."""
    n = len(xs)
    order = sorted(range(n), key=lambda i: (math.atan2(ys[i] - depot_xy[1], xs[i] - depot_xy[0]), i))
    share, arrival, rid = [0.0] * n, [0.0] * n, [-1] * n
    for r, start in enumerate(range(0, n, drops)):
        members = order[start:start + drops]
        current = min(members, key=lambda i: (depot_m[i], i))
        left = [i for i in members if i != current]
        length = depot_m[current]
        clock = length / speed
        arrival[current] = clock
        clock += VAN_STOP_MIN
        while left:
            nxt = min(left, key=lambda i: ((xs[i] - xs[current]) ** 2 + (ys[i] - ys[current]) ** 2, members.index(i)))
            leg = math.sqrt((xs[nxt] - xs[current]) ** 2 + (ys[nxt] - ys[current]) ** 2) * circuity
            left.remove(nxt)
            current = nxt
            length += leg
            clock += leg / speed
            arrival[current] = clock
            clock += VAN_STOP_MIN
        length += depot_m[current]
        for i in members:
            share[i] = length / 1000.0 / len(members)
            rid[i] = r
    return share, arrival, rid


@pytest.mark.parametrize("seed", range(12))
def test_batched_rounds_follow_the_rule(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 260))
    drops = int(rng.integers(1, 50))
    xs = rng.normal(0, 1500, n).round(int(seed % 3))  # rounded: ties between equally near homes
    ys = rng.normal(0, 1500, n).round(0)
    depot = (4000.0, -500.0)
    depot_m = (np.hypot(xs - depot[0], ys - depot[1]) * 1.4).round(-1)
    share, arrival, rid = van_rounds(xs, ys, depot_m, depot, drops, 1.3, 450.0)
    want_share, want_arrival, want_rid = plain_rounds(xs.tolist(), ys.tolist(), depot_m.tolist(), depot, drops,
                                                      1.3, 450.0)
    assert rid.tolist() == want_rid
    np.testing.assert_allclose(arrival, want_arrival, rtol=1e-12)
    np.testing.assert_allclose(share, want_share, rtol=1e-12)
    assert np.bincount(rid).max() <= drops


def test_no_parcels_no_rounds():
    share, arrival, rid = van_rounds(np.empty(0), np.empty(0), np.empty(0), (0.0, 0.0), 10, 1.3, 400.0)
    assert share.size == arrival.size == rid.size == 0
