"""The Designer agent: publishes digital designs and earns a royalty on every unit made."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from citymodel.model import CityModel


@dataclass(frozen=True)
class Design:
    """A design on the platform ("products as information", Srai et al. 2016 §4.4).

    Attributes
    ----------
    design_id, designer_id
        Identifiers.
    product
        Product category (e.g. ``"furniture"``).
    machine
        Machine type it needs.
    machine_hours
        Mean machine time per unit (hours).
    material_cost
        Material per unit (£).
    """

    design_id: int
    designer_id: int
    product: str
    machine: str
    machine_hours: float
    material_cost: float


class Designer(mesa.Agent):
    """A person publishing designs; income is a royalty share of each sale (the Opendesk model).

    Attributes
    ----------
    designer_id
        Identifier in the output tables.
    designs
        The designs this designer published.
    royalty_by_week
        Royalty income (£) per simulated week (0-based) — the "unpredictable income" of §4.4.
    units_sold
        Units made from this designer's designs.
    """

    def __init__(self, model: CityModel, designer_id: int) -> None:
        super().__init__(model)
        self.designer_id = designer_id
        self.designs: list[Design] = []
        self.royalty_by_week: dict[int, float] = defaultdict(float)
        self.units_sold = 0

    def earn(self, amount: float, time_min: float) -> None:
        """Record a royalty of ``amount`` (£) received at ``time_min``."""
        self.royalty_by_week[int(time_min // (7 * 1440))] += amount
        self.units_sold += 1

    @property
    def royalty_total(self) -> float:
        """Royalty income over the run (£)."""
        return float(sum(self.royalty_by_week.values()))
