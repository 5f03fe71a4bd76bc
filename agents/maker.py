"""The Maker agent: a small producer selling spare machine capacity as piece work on the platform."""

from __future__ import annotations

from citymodel.agents.facility import FacilityAgent


class Maker(FacilityAgent):
    """A citizen-owned or professional workshop (the Opendesk maker, Srai et al. 2016 §4.4).

    Attributes
    ----------
    owner
        Citizen id of the owner (−1 for a professional maker placed at a craft site).
    """

    owner: int = -1
