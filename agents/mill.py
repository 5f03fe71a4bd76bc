"""The TextileMill agent: a small-batch 3D-weaving mill serving city textile demand."""

from __future__ import annotations

from citymodel.agents.facility import FacilityAgent


class TextileMill(FacilityAgent):
    """Re-shored luxury textile production (Srai et al. 2016 §4.5, West Riding 3D weaving).

    Runs batches of up to ``batch_size`` textile orders per loom with a set-up
    time per batch; larger capacity than a workshop, faster than offshore import.
    """
