"""The model's vocabulary: channels, adoption stages, facility kinds, machines, modes, products and thresholds.

Every module that names one of these imports it from here, so a channel, a
stage or a facility kind is spelled once. Codes are the positions in the tuples
(``CHANNELS[IMPORT] == "import"``); the output tables store the names.
"""

from __future__ import annotations

# ----------------------------------------------------------------------------- order channels
CHANNELS: tuple[str, ...] = ("import", "platform", "self_fabrication")
"""How a need is met: a mass-produced import, a local order on the DM platform, or making it at a workshop."""
IMPORT, PLATFORM, SELF_FABRICATION = range(3)

# ----------------------------------------------------------------------------- adoption stages
STAGES: tuple[str, ...] = ("unaware", "aware", "prosumer", "maker")
"""Adoption stages of a citizen, each one further than the previous."""
UNAWARE, AWARE, PROSUMER, MAKER = range(4)

# ----------------------------------------------------------------------------- facilities
PUBLIC_WORKSHOP_KINDS: tuple[str, ...] = (
    "library", "school", "college", "community_centre", "arts_centre", "youth_centre", "shopping_centre",
    "makerspace",
)
"""Facility kinds that are open-access public workshops (Srai et al. 2016 §4.5)."""
FACILITY_KINDS: tuple[str, ...] = (*PUBLIC_WORKSHOP_KINDS, "maker", "textile_mill")
"""Every kind of facility with machines."""
ORDER_ORIGIN_KINDS: tuple[str, ...] = ("import", *FACILITY_KINDS)
"""Where an order is made: an import or a facility kind (``orders.facility_kind``)."""
TRIP_AGENT_KINDS: tuple[str, ...] = ("citizen", *FACILITY_KINDS)
"""Who travels (``trips.agent_kind``)."""
MACHINES: tuple[str, ...] = ("3d_printer", "laser_cutter", "cnc_router", "knitting")
"""Machine types of the default catalogue (a configuration may add more)."""
PRODUCTS: tuple[str, ...] = ("furniture", "textiles", "household", "personalised")
"""Product categories of the default catalogue (``needs.products``)."""

# ----------------------------------------------------------------------------- orders and trips
STATUSES: tuple[str, ...] = ("in_progress", "delivered", "cancelled")
"""Order status; created = delivered + in progress + cancelled."""
IN_PROGRESS, DELIVERED, CANCELLED = range(3)
TRIP_PURPOSES: tuple[str, ...] = ("self_fabrication", "return_home", "delivery")
"""Why a trip is made."""

# ----------------------------------------------------------------------------- travel
MODES: tuple[str, ...] = ("walk", "bike", "cargo_bike", "van")
"""Travel modes."""
GRAPH_OF_MODE: dict[str, str] = {"walk": "walk", "bike": "bike", "cargo_bike": "bike", "van": "van"}
"""The street graph each mode travels on (cargo bikes ride the bike graph at their own speed)."""
VEHICLE_MODES: tuple[str, ...] = ("cargo_bike", "van")
"""Modes whose kilometres count as delivery vehicle-km."""

# ----------------------------------------------------------------------------- time and thresholds
MINUTES_PER_HOUR = 60.0
MINUTES_PER_DAY = 1440.0
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
DAYS_PER_YEAR = 365.0
MINUTES_PER_YEAR = DAYS_PER_YEAR * MINUTES_PER_DAY
ACCESS_WALK_MIN = 15.0
"""Walking minutes within which a citizen has access to a workshop: the 15-minute city
(Moreno et al. 2021, PARAMETERS §10)."""
ACCESS_WALK_S = ACCESS_WALK_MIN * 60.0
"""The same threshold in seconds."""
