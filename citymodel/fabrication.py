"""Making it yourself: failed prints and reprints, and the quote of a visit to a public workshop.

An attempt at a workshop fails with probability ``failure_machine +
failure_human · (1 − skill)`` (a novice at skill 0.25 fails 41 % of FDM prints,
26 points of it human error: Song & Telenko 2019); a failed attempt used its
machine time and material, and the citizen tries again, up to
``fabrication.max_attempts``. Whether attempt ``a`` of order ``o`` fails is a keyed
draw (``ATTEMPT``, keys ``(o, a)``). Before choosing, the citizen sees the
workshop's queue: the visit is planned to arrive when the job is expected to
start (:func:`visit_plan`), and the quote counts the expected attempts.
"""

from __future__ import annotations

import numpy as np

from citymodel.calendar import WeeklyCalendar
from citymodel.config import FabricationConfig
from citymodel.keyed_random import ATTEMPT, KeyedRandom


def failure_probability(skill: np.ndarray | float, cfg: FabricationConfig) -> np.ndarray:
    """Chance that one attempt fails, for a citizen of ``skill`` (0..1)."""
    return np.clip(cfg.failure_machine + cfg.failure_human * (1.0 - np.asarray(skill, dtype=float)), 0.0, 1.0)


def expected_attempts(p_fail: np.ndarray, max_attempts: int) -> np.ndarray:
    """Expected machine runs of an order when each fails with ``p_fail`` and the citizen stops after
    ``max_attempts``: ``(1 − p^K) / (1 − p)``."""
    p = np.asarray(p_fail, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p < 1.0, (1.0 - p**max_attempts) / (1.0 - p), float(max_attempts))


def attempt_fails(keyed: KeyedRandom, order_id: int, attempt: int, p_fail: float) -> bool:
    """Whether attempt ``attempt`` (1, 2, …) of order ``order_id`` fails."""
    return bool(keyed.uniform(ATTEMPT, order_id, attempt)[0] < p_fail)


def visit_plan(calendar: WeeklyCalendar, when: np.ndarray, walk_s: np.ndarray, free_min: np.ndarray,
               work_min: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A planned workshop visit: (departure, arrival at the expected start, expected end of the last attempt), min.

    The citizen who decides at ``when`` would arrive ``walk_s`` later; the job can start at the
    workshop's next opening once a machine is free (``free_min``); they time the walk to arrive
    then. ``work_min`` is the expected machine time over all attempts.
    """
    walk_min = np.asarray(walk_s, dtype=float) / 60.0
    start = calendar.next_open_many(np.maximum(free_min, when + walk_min))
    finish = calendar.time_after_open_minutes_at(start, work_min)
    return start - walk_min, start, finish
