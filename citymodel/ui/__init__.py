"""The web app (``citymodel ui``): watch a city run, try a what-if on the map, take the data away.

Modules: ``server`` (starts Solara), ``app`` (the page), ``session`` (one tab's
run), ``model_factory`` (the one place models are built), ``levers`` (what can
be changed, and the check that refuses bad values), ``map_background`` /
``map_overlay`` / ``map_view`` (the map), ``live_metrics`` / ``charts`` /
``chart_view`` (the charts), ``controls`` and ``panels`` (the sidebar and side
panels), ``export`` (zip, PNG, GIF).
"""
