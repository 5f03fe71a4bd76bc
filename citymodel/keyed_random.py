"""Counter-based ("keyed") random numbers: each draw is a fixed function of (seed, stream, keys).

The model's dynamics draw from :class:`KeyedRandom` so that the same draw comes
out whether agents are stepped one at a time (the typical-Mesa reference in
``citymodel.reference``) or a million at once (the vectorised model): a draw
depends on the run's seed, a stream number and integer keys such as
(citizen, product, k-th need), never on the order in which draws are made.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaincinv, ndtri

# Keyed streams of the dynamics. Keys: needs (citizen, product, k[, alternative]); daily draws (citizen, day + 1).
NEED_GAP, CHOICE_NOISE, DESIGN_PICK, MACHINE_TIME, IMPORT_LEAD, AWARENESS, TRAINING, MACHINE_PURCHASE = range(8)
ATTEMPT = 8
"""Keys (order id, attempt): whether a self-fabrication attempt fails."""
SETUP_STREAMS = ("population", "ties", "needs", "choice", "durations", "adoption", "designers", "imports", "zones")
"""Names of the set-up generators (``numpy.random.Generator`` spawned from the run's seed, in this order)."""

_U64 = np.uint64
_KEY_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                    0xFF51AFD7ED558CCD)


def _mix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser on a uint64 array (in place; wrap-around arithmetic)."""
    x ^= x >> _U64(30)
    x *= _U64(0xBF58476D1CE4E5B9)
    x ^= x >> _U64(27)
    x *= _U64(0x94D049BB133111EB)
    x ^= x >> _U64(31)
    return x


class KeyedRandom:
    """Counter-based random numbers: each draw is a fixed function of (seed, stream, keys).

    ``uniform(stream, a, b, ...)`` hashes the seed, the stream number and the
    non-negative integer keys (arrays broadcast against each other) with two
    rounds of the SplitMix64 finaliser and returns 53-bit uniforms in (0, 1).
    The same keys give the same numbers whether drawn one at a time or a
    million at once, so a loop over agents and a vectorised step agree exactly.
    Distributions are inverse transforms of these uniforms (numpy/scipy ufuncs,
    applied the same way by every caller).

    Parameters
    ----------
    seed
        The run's seed (``run.seed``).
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        mask = (1 << 64) - 1
        bases = []
        for stream in range(16):
            z = (self.seed * 0x9E3779B97F4A7C15 + (stream + 1) * 0xBF58476D1CE4E5B9) & mask
            bases.append(int(_mix64(np.array([z], dtype=_U64))[0]))
        self._bases = [_U64(b) for b in bases]
        self._mult = [_U64(m) for m in _KEY_MULTIPLIERS]

    def uniform(self, stream: int, *keys: int | np.ndarray) -> np.ndarray:
        """Uniforms in (0, 1), shape of the broadcast keys (at least 1-d)."""
        x: np.ndarray | None = None
        for j, key in enumerate(keys):
            term = np.array(key, dtype=_U64, ndmin=1) * self._mult[j]
            x = term if x is None else x + term
        x += self._bases[stream]
        x = _mix64(x)
        x += self._mult[-1]
        x = _mix64(x)
        return ((x >> _U64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)

    def exponential(self, stream: int, mean: float | np.ndarray, *keys: int | np.ndarray) -> np.ndarray:
        """Exponential draws with the given mean (``mean · −ln U``)."""
        return mean * -np.log(self.uniform(stream, *keys))

    def gumbel(self, stream: int, *keys: int | np.ndarray) -> np.ndarray:
        """Standard Gumbel draws (``−ln(−ln U)``)."""
        return -np.log(-np.log(self.uniform(stream, *keys)))

    def gamma(self, stream: int, shape: float, scale: float | np.ndarray, *keys: int | np.ndarray) -> np.ndarray:
        """Gamma draws (inverse of the regularised incomplete gamma function, times ``scale``)."""
        return gammaincinv(shape, self.uniform(stream, *keys)) * scale

    def lognormal(self, stream: int, mu: float, sigma: float, *keys: int | np.ndarray) -> np.ndarray:
        """Lognormal draws ``exp(mu + sigma · Φ⁻¹(U))``."""
        return np.exp(mu + sigma * ndtri(self.uniform(stream, *keys)))

    def choice(self, stream: int, cdf: np.ndarray, *keys: int | np.ndarray) -> np.ndarray:
        """Indices drawn with cumulative probabilities ``cdf`` (last entry 1), as ``Generator.choice``."""
        return np.searchsorted(cdf, self.uniform(stream, *keys), side="right")


def setup_generators(seed: int) -> dict[str, np.random.Generator]:
    """The set-up generators of a run, one per name in :data:`SETUP_STREAMS`, spawned from ``seed``."""
    seeds = np.random.SeedSequence(seed).spawn(len(SETUP_STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(SETUP_STREAMS, seeds, strict=True)}


def need_cdf(weights: np.ndarray) -> np.ndarray:
    """The cumulative distribution ``Generator.choice`` builds from probabilities ``weights``."""
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return cdf
