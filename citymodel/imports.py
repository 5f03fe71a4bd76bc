"""The import channel: mass-produced goods ordered from afar, with a lead time, delivered by van from a depot.

An import's lead time is the product's ``import_lead_days`` times a
mean-one lognormal factor with coefficient of variation ``needs.import_lead_cv``
(keyed by citizen, product and need), :func:`import_lead_minutes`; the last
mile is a van leg on the street graph from the import depot (the van-graph node
farthest from the map centre) to the home; the citizen pays the product's
``import_price`` when ordering.
"""

from __future__ import annotations

import numpy as np

from citymodel.keyed_random import IMPORT_LEAD, KeyedRandom


def import_lead_minutes(keyed: KeyedRandom, lead_days: np.ndarray, cv: float, who: np.ndarray, product: np.ndarray,
                        k: np.ndarray) -> np.ndarray:
    """Lead time (minutes) from order to delivery of imports (keys: citizen, product code, need k)."""
    sigma = np.sqrt(np.log1p(cv**2))
    return lead_days * 1440.0 * keyed.lognormal(IMPORT_LEAD, -sigma**2 / 2, sigma, who, product, k)


class ImportChannel:
    """The imports component: books import orders with their lead times, last-mile legs and payments.

    Parameters
    ----------
    config
        The run's configuration (``needs.import_lead_cv``).
    products
        The catalogue (import prices and lead times).
    depot_node
        Van-graph node of the import depot.
    last_mile
        ``last_mile(who) -> (time_s, dist_m, destination nodes)``: van legs from the depot to homes.
    """

    def __init__(self, config, products, depot_node: int, last_mile) -> None:
        self.config = config
        self.products = products
        self.depot_node = depot_node
        self.last_mile = last_mile

    def place(self, orders, accounts, keyed: KeyedRandom, product: np.ndarray, who: np.ndarray, when: np.ndarray,
              designs: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Book imports of ``product`` by ``who`` at ``when`` (minutes); return their order ids."""
        price = self.products.import_price[product]
        lead_min = import_lead_minutes(keyed, self.products.import_lead_days[product], self.config.needs.import_lead_cv,
                                       who, product, k)
        time_s, dist_m, dest = self.last_mile(who)
        ids = orders.add_imports(who, product, when, when + lead_min, price, self.depot_node, dest, time_s, dist_m,
                                 machines=[d.machine for d in designs])
        accounts.imports(when, ids, who, price)
        return ids
