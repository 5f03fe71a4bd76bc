"""The Citizen agent: a resident at a home on the street graph (a thin handle onto a row)."""

from __future__ import annotations

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
