"""Adoption of distributed manufacturing: a Bass-type hazard on the social network (vectorised).

Once per simulated day every unaware citizen becomes aware with probability
``1 − exp(−(p + q·A_i)·Δt)``, where ``A_i`` is the share of the citizen's ties
who are aware or beyond (or the share of the whole population when
``adoption.well_mixed``), ``p`` and ``q`` are per year and ``Δt = 1/365`` year.
With everyone tied to everyone this is the discrete-time Bass model, whose
adopter share tends to ``F(t)`` of Bass (1969) as Δt → 0 (the ``bass`` check).

Prosumers are made by behaviour (a citizen who completes a self-fabrication
order); a prosumer becomes a maker (buys a machine) with hazard
``maker_rate · affordability · (1 + maker_imitation · M_i)``, ``M_i`` the share
of ties who are makers and affordability = (income / median) · cost / (cost − grant).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DAYS_PER_YEAR = 365.0


def tie_share(ties: sp.csr_matrix, flag: np.ndarray, degree: np.ndarray) -> np.ndarray:
    """Share of each citizen's ties for which ``flag`` is true (0 without ties).

    Counts and degrees are whole numbers held exactly in float64, so the share is the
    correctly rounded quotient ``count / degree`` — what a loop over one citizen's ties gives.
    """
    counts = np.asarray(ties @ flag.astype(ties.dtype), dtype=np.float64)
    return np.divide(counts, np.asarray(degree, dtype=np.float64), out=np.zeros(len(flag), dtype=np.float64),
                     where=np.asarray(degree) > 0)


def awareness_probability(p: float, q: float, adopted_share: np.ndarray, dt_years: float) -> np.ndarray:
    """Probability of becoming aware within ``dt_years`` under hazard ``p + q·share`` (per year)."""
    return 1.0 - np.exp(-(p + q * adopted_share) * dt_years)


def maker_probability(rate: float, income: np.ndarray, median_income: float, machine_cost: float,
                      grant: np.ndarray, imitation: float, maker_share: np.ndarray,
                      dt_years: float) -> np.ndarray:
    """Probability that a prosumer buys a machine within ``dt_years``."""
    net_cost = np.maximum(machine_cost - grant, 0.1 * machine_cost)
    affordability = (income / median_income) * (machine_cost / net_cost)
    hazard = rate * affordability * (1.0 + imitation * maker_share)
    return 1.0 - np.exp(-hazard * dt_years)
