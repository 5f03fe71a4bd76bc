"""What the checks of one run share: the default map and cached default-map runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Progress = Callable[[str], None]
"""Called with a one-line message when a check (or an erlang point) starts."""


class _Context:
    """What the checks of one :func:`run_checks` call share: the map and finished runs."""

    def __init__(self, progress: Progress) -> None:
        self.say = progress
        self._city = None
        self._runs: dict[tuple[int, int, int], Any] = {}

    @property
    def city(self):
        if self._city is None:
            from citymodel.maps import load_city

            self._city = load_city("default")
        return self._city

    def city_run(self, citizens: int, days: int, seed: int):
        """A default-map run (``runner.simulate``) with these size, length and seed, cached."""
        key = (citizens, days, seed)
        if key not in self._runs:
            from citymodel.runner import simulate

            self._runs[key] = simulate(city_config(citizens, days, seed), self.city)
        return self._runs[key]


def city_config(citizens: int, days: int, seed: int):
    """The default configuration on the default map with a given size (persons), length (days)
    and seed."""
    from citymodel.config import Config

    cfg = Config()
    cfg.run.map = "default"
    cfg.run.citizens = int(citizens)
    cfg.run.days = float(days)
    cfg.run.seed = int(seed)
    return cfg.validate()
