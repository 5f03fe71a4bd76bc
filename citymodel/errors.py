"""User-facing errors: one clear line naming the input and what was expected."""


class CitymodelError(Exception):
    """An error caused by a user's input (file, option, parameter).

    The CLI prints ``str(error)`` on one line and exits non-zero without a
    traceback; ``--debug`` shows the traceback.
    """


class MapError(CitymodelError):
    """A map source cannot be read, is not OSM, or has no streets for a mode."""


class ConfigError(CitymodelError):
    """A configuration value or file is invalid."""
