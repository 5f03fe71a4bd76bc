"""The Citizen agent: a resident at a home on the street graph (a thin handle onto a row)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import mesa

from citymodel.population import STAGES

if TYPE_CHECKING:
    from citymodel.model import CityModel

CHANNELS = ("import", "platform", "self_fabrication")


class Citizen(mesa.Agent):
    """A resident with income, skills, social ties, needs and an adoption stage.

    All state lives in ``model.population`` (numpy columns); this object reads and
    writes row ``row`` so that the UI and users see ordinary Mesa agents while the
    model steps 100,000 citizens with array operations. Do not cache values from
    it across steps: read the properties again.

    Attributes
    ----------
    row
        Index of this citizen in the population arrays (also its ``citizen_id``).
    """

    def __init__(self, model: CityModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    @classmethod
    def create_many(cls, model: mesa.Model, n: int) -> list[Citizen]:
        """Create the handles of rows ``0..n-1`` and register them with ``model`` in one go.

        The result is what ``[cls(model, i) for i in range(n)]`` gives — the same
        ``unique_id`` sequence, the same order in ``model.agents`` and
        ``model.agents_by_type`` — but registration is done in bulk (Mesa 3.3's
        per-agent ``register_agent`` costs ~10 µs, a minute for a city of millions).
        Falls back to the one-by-one constructor if Mesa's registry is not the
        expected one (another Mesa version).
        """
        registry_ok = (isinstance(getattr(model, "_agents", None), dict)
                       and isinstance(getattr(model, "_agents_by_type", None), dict)
                       and hasattr(getattr(model, "_all_agents", None), "_agents")
                       and isinstance(getattr(mesa.Agent, "_ids", None), defaultdict))
        if not registry_ok or n == 0:
            return [cls(model, i) for i in range(n)]
        ids = mesa.Agent._ids[model]
        out: list[Citizen] = []
        new = cls.__new__
        for i in range(n):
            agent = new(cls)
            agent.model = model
            agent.unique_id = next(ids)
            agent.pos = None
            agent.row = i
            out.append(agent)
        keys = dict.fromkeys(out)
        model._agents.update(keys)
        by_type = model._agents_by_type.get(cls)
        if by_type is None:
            model._agents_by_type[cls] = mesa.agent.AgentSet(out, random=model.random)
        else:
            by_type._agents.update(keys)
        model._all_agents._agents.update(keys)
        return out

    @property
    def citizen_id(self) -> int:
        """Identifier used in every output table."""
        return self.row

    @property
    def home_node(self) -> int:
        """OSM node id of the home in the walking graph."""
        return int(self.model.population.home_node[self.row])

    @property
    def income(self) -> float:
        """Disposable income (£/year)."""
        return float(self.model.population.income[self.row])

    @property
    def income_quintile(self) -> int:
        """1 (poorest fifth) … 5 (richest fifth)."""
        return int(self.model.population.income_quintile[self.row])

    @property
    def skill(self) -> float:
        """Fabrication skill (CAD and machine use), 0..1."""
        return float(self.model.population.skill[self.row])

    @property
    def stage(self) -> str:
        """Adoption stage: unaware, aware, prosumer or maker."""
        return STAGES[int(self.model.population.stage[self.row])]

    @property
    def ties(self) -> list[int]:
        """Citizen ids of this citizen's social ties."""
        ties = self.model.population.ties
        return ties.indices[ties.indptr[self.row] : ties.indptr[self.row + 1]].tolist()

    @property
    def orders(self) -> dict[str, int]:
        """Number of orders placed, by channel."""
        counts = self.model.population.orders_by_channel[self.row]
        return {c: int(counts[i]) for i, c in enumerate(CHANNELS)}
