"""Who a policy reaches: the targeting rule of subsidies, waivers and grants."""

from __future__ import annotations

import numpy as np

from citymodel.config import PolicyConfig


def eligible(income_quintile: int | np.ndarray, policy: PolicyConfig) -> np.ndarray:
    """Whether citizens in ``income_quintile`` (1 poorest … 5) are eligible for the policy's subsidies.

    Works on one quintile or an array of them; returns a boolean array of the same shape (0-d for a scalar).
    """
    return np.isin(income_quintile, policy.targeted_quintiles)
