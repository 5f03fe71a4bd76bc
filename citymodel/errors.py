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


class CitymodelWarning(UserWarning):
    """Something a user should know about their input that does not stop the run.

    The CLI prints each one as a single ``citymodel: warning: ...`` line.
    """


class MapWarning(CitymodelWarning):
    """A map loads but is doubtful, e.g. most of its streets are unreachable."""
