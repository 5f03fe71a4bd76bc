"""The Citizen agent: a resident at a home on the street graph (a thin handle onto a row)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from citymodel.errors import CitymodelError
from citymodel.vocabulary import CHANNELS, STAGES

if TYPE_CHECKING:
    from citymodel.model import CityModel

__all__ = ["CHANNELS", "Citizen"]


class Citizen(mesa.Agent):
    """A resident with income, skills, social ties, needs and an adoption stage.

    All state lives in ``model.population`` (numpy columns); this object reads
    row ``row`` so that the UI and users see ordinary Mesa agents (registered
    with the model through Mesa's public API: ``model.agents``,
    ``model.agents_by_type[Citizen]``) while the model steps 100,000 citizens
    with array operations. Do not cache values from it across steps: read the
    properties again.

    Citizens cannot be removed during a run (:meth:`remove` raises): every
    vectorised rule acts on all rows of the population.

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
        """The handles of rows ``0..n-1``, registered with ``model`` (Mesa's public API, ~4 µs each)."""
        return [cls(model, i) for i in range(n)]

    def remove(self) -> None:
        """Not supported: raises :class:`~citymodel.errors.CitymodelError`.

        A citizen's row takes part in every vectorised rule (needs, ties, adoption,
        metrics), so removing its agent handle alone would leave the row acting.
        """
        msg = (f"citizen {self.row} cannot be removed: citizens are rows of model.population that every rule "
               "acts on; build a model with fewer citizens instead")
        raise CitymodelError(msg)

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
