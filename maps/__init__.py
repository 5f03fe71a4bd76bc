"""Street maps for citymodel: OSM sources -> per-mode graphs -> fast routers.

>>> from citymodel.maps import load_city
>>> city = load_city("default")  # embedded central Leeds (also "helsinki"); see city.attribution
>>> r = city.router("walk")
>>> r.travel_time(city.pois.node_walk[0], city.pois.node_walk[1])  # seconds
"""

from citymodel.errors import MapError

from .cache import clear_shared_cities, shared_city
from .city import ATTRIBUTION, DERIVED_MODES, MODES, City
from .info import map_info
from .load import DEFAULT_MAP, load_city
from .pois import POI_KINDS
from .router import Router

__all__ = ["ATTRIBUTION", "DEFAULT_MAP", "DERIVED_MODES", "MODES", "POI_KINDS", "City",
           "MapError", "Router", "clear_shared_cities", "load_city", "map_info", "shared_city"]
