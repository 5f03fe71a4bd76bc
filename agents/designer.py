"""The Designer agent: publishes digital designs and earns a royalty on every unit made."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from citymodel.keyed_random import DESIGN_PICK, KeyedRandom, need_cdf

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


class DesignCatalogue:
    """The designs on the platform by product, with their popularity, and the rule that picks one for a need.

    Attributes
    ----------
    designers
        The designers (Mesa agents).
    designs
        Product name -> its designs, most popular first.
    cdf
        Product name -> cumulative pick probabilities of its designs (Zipf popularity).
    """

    def __init__(self, designers: list[Designer], designs: dict[str, list[Design]],
                 cdf: dict[str, np.ndarray]) -> None:
        self.designers = designers
        self.designs = designs
        self.cdf = cdf
        self._objects = {}
        for product, listed in designs.items():
            arr = np.empty(len(listed), dtype=object)
            arr[:] = listed
            self._objects[product] = arr

    def pick(self, keyed: KeyedRandom, products: list[str], product: np.ndarray, who: np.ndarray,
             k: np.ndarray) -> np.ndarray:
        """The design of each need (product code ``product`` of citizen ``who``, k-th need), keyed draws.

        ``products`` names the product codes. Returns an object array of :class:`Design`.
        """
        product, who, k = np.atleast_1d(product), np.atleast_1d(who), np.atleast_1d(k)
        out = np.empty(len(product), dtype=object)
        u = keyed.uniform(DESIGN_PICK, who, product, k)
        for code, name in enumerate(products):
            rows = np.flatnonzero(product == code)
            if rows.size:
                out[rows] = self._objects[name][np.searchsorted(self.cdf[name], u[rows], side="right")]
        return out


def publish_designs(model, rng: np.random.Generator) -> DesignCatalogue:
    """Create the model's designers and their design catalogue (set-up shared by every model).

    ``platform.designers_per_1000_citizens`` designers (at least one per product) each publish
    ``platform.designs_per_designer`` designs, products in turn; a design's machine time is the
    product's mean times lognormal(0, ``platform.design_time_sigma``). Popularity within a product is Zipf with exponent
    ``platform.design_popularity_exponent``.

    Returns
    -------
    DesignCatalogue
    """
    cfg = model.config
    products = list(cfg.needs.products)
    platform = cfg.platform
    n = max(len(products), round(cfg.run.citizens * platform.designers_per_1000_citizens / 1000))
    designers = [Designer(model, i) for i in range(n)]
    designs: dict[str, list[Design]] = {p: [] for p in products}
    for k in range(n * platform.designs_per_designer):
        designer = designers[k % n]
        product = products[k % len(products)]
        spec = cfg.needs.product(product)
        design = Design(k, designer.designer_id, product, spec.machine,
                        spec.machine_hours * float(rng.lognormal(0.0, platform.design_time_sigma)), spec.material_cost)
        designer.designs.append(design)
        designs[product].append(design)
    cdf = {}
    for product, listed in designs.items():
        w = 1.0 / np.arange(1, len(listed) + 1) ** platform.design_popularity_exponent
        cdf[product] = need_cdf(w / w.sum())
    return DesignCatalogue(designers, designs, cdf)
