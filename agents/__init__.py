"""The five agent types of the city: Citizen, Designer, Maker, PublicWorkshop, TextileMill."""

from citymodel.agents.citizen import CHANNELS, Citizen
from citymodel.agents.designer import Design, DesignCatalogue, Designer, publish_designs
from citymodel.agents.facility import FacilityAgent
from citymodel.agents.maker import Maker
from citymodel.agents.mill import TextileMill
from citymodel.agents.workshop import PublicWorkshop

__all__ = ["CHANNELS", "Citizen", "Design", "DesignCatalogue", "Designer", "FacilityAgent", "Maker", "PublicWorkshop",
           "TextileMill", "publish_designs"]
