"""citymodel: an agent-based model of distributed manufacturing in a smart city.

>>> from citymodel import CityModel, Config
>>> model = CityModel(citizens=2000, days=7, seed=1)
>>> model.run_model()

``CityModel`` and ``Config`` are imported on first use, so ``import citymodel``
(and the command line) stays fast.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("citymodel")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["CityModel", "Config", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "CityModel":
        from citymodel.model import CityModel

        return CityModel
    if name == "Config":
        from citymodel.config import Config

        return Config
    msg = f"module 'citymodel' has no attribute {name!r}"
    raise AttributeError(msg)
