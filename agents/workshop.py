"""The PublicWorkshop agent: open-access capacity in a library, school, community or youth centre, mall."""

from __future__ import annotations

from citymodel.agents.facility import FacilityAgent


class PublicWorkshop(FacilityAgent):
    """Open-access machines in a public space (Srai et al. 2016 §4.5).

    Hosts citizens who fabricate (self-fabrication), trains skills, and takes
    platform orders with spare capacity. Fees and machines are the policy levers.
    """
