"""Channel choice: a multinomial logit over import, platform and self-fabrication (vectorised).

For need ``n`` of citizen ``i`` and alternative ``j`` the utility is::

    U_nj = ASC_j + personal_j − β_price,i · price_nj − β_time · days_nj
           − β_travel · travel_hours_nj + β_skill · skill_i · [j = self_fabrication] + ε_nj

with ``β_price,i = beta_price · (median income / income_i) ^ income_elasticity``
(poorer citizens weigh price more), ``personal_j`` the product's personalisation
value for the two local channels, and ε i.i.d. Gumbel, so the choice is
``argmax`` (the Gumbel-max draw of a logit). Unavailable alternatives get −inf.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel.config import ChoiceConfig

IMPORT, PLATFORM, SELF_FABRICATION = 0, 1, 2


@dataclass
class Alternatives:
    """Attributes of the three alternatives for a batch of needs (arrays of shape [n, 3]).

    Attributes
    ----------
    price
        Price to the citizen (£).
    days
        Expected time from order to receipt (days).
    travel_hours
        The citizen's own travel (hours).
    personal
        Personalisation value (utils).
    available
        Whether the alternative can be chosen.
    """

    price: np.ndarray
    days: np.ndarray
    travel_hours: np.ndarray
    personal: np.ndarray
    available: np.ndarray


def utilities(alts: Alternatives, income: np.ndarray, skill: np.ndarray, median_income: float,
              cfg: ChoiceConfig) -> np.ndarray:
    """Deterministic utilities, shape [n, 3]; −inf where unavailable."""
    beta_price = cfg.beta_price * (median_income / income) ** cfg.income_elasticity
    u = (
        alts.personal
        - beta_price[:, None] * alts.price
        - cfg.beta_time * alts.days
        - cfg.beta_travel * alts.travel_hours
    )
    u[:, PLATFORM] += cfg.asc_platform
    u[:, SELF_FABRICATION] += cfg.asc_self_fabrication + cfg.beta_skill * skill
    return np.where(alts.available, u, -np.inf)


def choose(u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one alternative per row with logit probabilities (Gumbel-max)."""
    return np.argmax(u + rng.gumbel(size=u.shape), axis=1)


def probabilities(u: np.ndarray) -> np.ndarray:
    """Logit choice probabilities, rows summing to 1."""
    z = u - u.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
