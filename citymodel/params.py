"""Flat model parameters: how ``CityModel(citizens=..., policy__fee_waiver_share=...)`` becomes a Config.

Mesa's SolaraViz and ``mesa.batch_run`` build a model as ``CityModel(**params)``
with flat keyword parameters. Here a parameter is either a ``run`` shortcut
(``citizens``, ``days``, ``seed``, ``map``, ``start_weekday``; ``rng`` is taken as
the seed, as Mesa's own models take it) or any configuration key written as
``section__name`` (``policy__fee_waiver_share``) or, in a dict,
``"section.name"``. Values are checked like those of a TOML file.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from citymodel.config import Config, config_from_dict
from citymodel.errors import ConfigError

RUN_SHORTCUTS: dict[str, str] = {
    "citizens": "run.citizens",
    "days": "run.days",
    "seed": "run.seed",
    "rng": "run.seed",
    "map": "run.map",
    "start_weekday": "run.start_weekday",
}
"""Flat names of the ``run`` section's keys."""


def dotted_key(name: str) -> str:
    """The configuration key of a flat parameter name (``policy__fee_waiver_share`` -> ``policy.fee_waiver_share``)."""
    return RUN_SHORTCUTS.get(name) or name.replace("__", ".")


def nested(params: Mapping[str, Any]) -> dict[str, Any]:
    """``{"policy.fee_waiver_share": 0.5}`` -> ``{"policy": {"fee_waiver_share": 0.5}}`` (flat names accepted)."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        parts = dotted_key(str(name)).split(".")
        if not all(parts):
            msg = f"model parameter {name!r}: expected a name like 'citizens' or 'section__name'"
            raise ConfigError(msg)
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                msg = f"model parameter {name!r} conflicts with another parameter setting {part!r}"
                raise ConfigError(msg)
            node = child
        node[parts[-1]] = value
    return out


def config_from_params(params: Mapping[str, Any], base: Config | None = None) -> Config:
    """A validated Config: ``base`` (or the defaults) with ``params`` applied; ``base`` itself is not changed.

    Without parameters, ``base`` is returned (validated) as it is.
    """
    if not params:
        return (base if base is not None else Config()).validate()
    cfg = copy.deepcopy(base) if base is not None else Config()
    return config_from_dict(nested(params), cfg)
