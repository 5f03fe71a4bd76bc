"""Needs: every citizen's arrival clock per product, a Poisson process with exact arrival minutes.

Citizen ``i``'s needs of product ``p`` arrive as a Poisson process of rate
``needs_per_citizen_year``: the k-th need comes an exponential gap after the
previous one (the first after time 0), the gap keyed by ``(i, p, k)``
(:func:`next_arrival`), so the same needs arrive whatever order citizens are
processed in. :class:`NeedClocks` is the vectorised component: one scan per day
finds the clocks that ring that day and only those advance.
"""

from __future__ import annotations

import numpy as np

from citymodel.keyed_random import NEED_GAP, KeyedRandom
from citymodel.vocabulary import MINUTES_PER_DAY, MINUTES_PER_YEAR


def gap_means(rates_per_year: np.ndarray) -> np.ndarray:
    """Mean time between two needs of one citizen, per product (minutes; inf if the rate is 0)."""
    rates = np.asarray(rates_per_year, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(rates > 0, MINUTES_PER_YEAR / np.where(rates > 0, rates, 1.0), np.inf)


def next_arrival(keyed: KeyedRandom, previous_min: float | np.ndarray, gap_mean_min: float | np.ndarray,
                 citizen: int | np.ndarray, product: int | np.ndarray, k: int | np.ndarray) -> np.ndarray:
    """Time (minutes) of need ``k`` of ``citizen`` and ``product``, given the time of need ``k − 1``
    (0 for the first need, ``k = 0``)."""
    return previous_min + keyed.exponential(NEED_GAP, gap_mean_min, citizen, product, k)


class NeedClocks:
    """Every citizen's next need per product (the needs component).

    Parameters
    ----------
    rates_per_year
        Needs per citizen and year, per product code.
    n_citizens
        Number of citizens.
    keyed
        The run's keyed random numbers.
    """

    def __init__(self, rates_per_year: np.ndarray, n_citizens: int, keyed: KeyedRandom) -> None:
        self.keyed = keyed
        self.gap_mean = gap_means(rates_per_year)
        n_products = len(self.gap_mean)
        rows = np.repeat(np.arange(n_citizens), n_products)
        cols = np.tile(np.arange(n_products), n_citizens)
        self.next_need = next_arrival(keyed, 0.0, self.gap_mean[cols], rows, cols, 0).reshape(n_citizens, n_products)
        self.count = np.zeros((n_citizens, n_products), dtype=np.int64)
        self._day: tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def _needs_of_day(self, day: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every need arriving in ``day``: (day, time min, citizen, product, k), sorted by time, citizen, product."""
        day_end = (day + 1) * MINUTES_PER_DAY
        nxt, count = self.next_need, self.count
        rows, cols = np.nonzero(nxt < day_end)
        parts: list[tuple[np.ndarray, ...]] = []
        while rows.size:
            t = nxt[rows, cols]
            k = count[rows, cols]
            parts.append((t, rows, cols, k))
            k1 = k + 1
            t_next = next_arrival(self.keyed, t, self.gap_mean[cols], rows, cols, k1)
            nxt[rows, cols] = t_next
            count[rows, cols] = k1
            again = t_next < day_end
            rows, cols = rows[again], cols[again]
        if not parts:
            empty = np.empty(0, dtype=np.int64)
            return day, np.empty(0), empty, empty, empty
        t, who, product, k = (np.concatenate([part[j] for part in parts]) for j in range(4))
        order = np.lexsort((product, who, t))
        return day, t[order], who[order], product[order], k[order]

    def arrivals(self, start: float, end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The needs arriving in [start, end) within one day: (time min, citizen, product code, k)."""
        day = int(start // MINUTES_PER_DAY)
        if self._day is None or self._day[0] != day:
            self._day = self._needs_of_day(day)
        _, t, who, product, k = self._day
        lo, hi = np.searchsorted(t, [start, end], side="left")
        return t[lo:hi], who[lo:hi], product[lo:hi], k[lo:hi]
