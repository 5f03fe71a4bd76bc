"""Who a policy reaches and where: the targeting rule of subsidies, waivers and grants.

A citizen is eligible (:func:`eligible`) by income quintile (``policy.targeting =
"income_quintile"``, ``policy.targeted_quintiles``) or by the IMD decile of their
zone (``"imd_decile"``, ``policy.targeted_imd_deciles``; citizens without a zone
are not eligible then). Waivers and material subsidies cover use of the
``policy.subsidised_machines`` at workshops of the ``policy.subsidised_kinds``
(:func:`subsidy_applies`): "free 3D printing in libraries" is
``subsidised_kinds = ["library"]``, ``subsidised_machines = ["3d_printer"]``.
"""

from __future__ import annotations

import numpy as np

from citymodel.config import PolicyConfig


def eligible(income_quintile: int | np.ndarray, policy: PolicyConfig,
             imd_decile: int | np.ndarray | None = None) -> np.ndarray:
    """Whether citizens (income quintile 1 poorest … 5; IMD decile of their zone, −1 without) are eligible.

    Works on one citizen or arrays of them; returns a boolean array of the same shape (0-d for a scalar).
    """
    if policy.targeting == "imd_decile":
        if imd_decile is None:
            return np.zeros(np.shape(income_quintile), dtype=bool)
        return np.isin(imd_decile, policy.targeted_imd_deciles)
    return np.isin(income_quintile, policy.targeted_quintiles)


def subsidy_applies(workshop_kind: str, machine: str, policy: PolicyConfig) -> bool:
    """Whether the waiver and material subsidy cover ``machine`` at a workshop of ``workshop_kind``."""
    return workshop_kind in policy.subsidised_kinds and machine in policy.subsidised_machines
