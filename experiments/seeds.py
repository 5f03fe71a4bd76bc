"""Run seeds from the sweep's seed, the point and the replicate (numpy SeedSequence).

A run's seed is a fixed function of ``(sweep seed, point, replicate)``: it does not
depend on the worker count, the order in which runs finish or the backend, so a
sweep gives the same table on a laptop and on a cluster. Replicate ``k`` of every
point of a comparison can share a seed (common random numbers) by passing the same
``point``.
"""

from __future__ import annotations

import numpy as np

# spawn keys of other streams derived from the sweep seed (a one-element key never
# equals a run's two-element key)
DESIGN_STREAM = 0


def run_seed(sweep_seed: int, point: int, replicate: int) -> int:
    """The seed of one run, a 63-bit non-negative integer.

    Parameters
    ----------
    sweep_seed
        The spec's ``seed`` (>= 0).
    point
        Design point index (>= 0).
    replicate
        Replicate index at that point (>= 0).

    Returns
    -------
    int
        ``SeedSequence(sweep_seed, spawn_key=(point, replicate))``'s first 64-bit
        word, shifted to 63 bits (fits a signed int64 column).
    """
    if min(sweep_seed, point, replicate) < 0:
        msg = f"seeds need non-negative integers, got seed={sweep_seed}, point={point}, replicate={replicate}"
        raise ValueError(msg)
    sequence = np.random.SeedSequence(sweep_seed, spawn_key=(point, replicate))
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def design_seed(sweep_seed: int) -> int:
    """The seed given to SALib's sampler (and analysers' bootstrap), a 32-bit integer."""
    sequence = np.random.SeedSequence(sweep_seed, spawn_key=(DESIGN_STREAM,))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])
