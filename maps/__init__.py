"""Street maps for citymodel: OSM sources -> per-mode graphs -> fast routers.

>>> from citymodel.maps import load_city
>>> city = load_city("default")          # embedded central Helsinki (© OpenStreetMap contributors, ODbL)
>>> r = city.router("walk")
>>> r.travel_time(city.pois.node_walk[0], city.pois.node_walk[1])  # seconds
"""

from citymodel.maps.city import ATTRIBUTION, DERIVED_MODES, MODES, City
from citymodel.maps.load import DEFAULT_MAP, load_city
from citymodel.maps.pois import POI_KINDS
from citymodel.maps.router import Router

__all__ = ["ATTRIBUTION", "DEFAULT_MAP", "DERIVED_MODES", "MODES", "POI_KINDS", "City",
           "Router", "load_city"]
