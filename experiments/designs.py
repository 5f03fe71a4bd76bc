"""Design points of a sweep: a full grid, or SALib's Latin hypercube, Sobol' and Morris samples.

The samplers are SALib 1.6's own (``SALib.sample.latin``, ``SALib.sample.sobol``,
``SALib.sample.morris``), seeded from the sweep's seed, so a spec always gives the
same points. Integer settings (e.g. ``citizens``) are sampled as real numbers and
rounded for the run; the unrounded matrix is kept for the analysis.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from SALib.sample import latin, morris, sobol

from .seeds import design_seed
from .spec import Parameter, SweepSpec, grid_values


@dataclass(frozen=True)
class Design:
    """The points of a sweep.

    Attributes
    ----------
    name : str
        ``grid``, ``lhs``, ``sobol`` or ``morris``.
    parameters : tuple of Parameter
        The varied settings (columns of ``points``, in order).
    points : pandas.DataFrame
        One row per point (index 0..n-1 = point number), one column per parameter
        name, holding the values the runs use (integers rounded).
    matrix : numpy.ndarray
        The sampler's unrounded ``(n_points, n_parameters)`` matrix (floats); for a
        grid, the point values as floats (NaN for non-numeric settings).
    problem : dict
        SALib's problem definition (``num_vars``, ``names``, ``bounds``).
    samples, levels, second_order, seed
        The sampler's N, Morris levels, Sobol second order and seed.
    """

    name: str
    parameters: tuple[Parameter, ...]
    points: pd.DataFrame
    matrix: np.ndarray
    problem: dict[str, Any]
    samples: int | None
    levels: int
    second_order: bool
    seed: int

    def __len__(self) -> int:
        return len(self.points)


def salib_problem(parameters: Sequence[Parameter]) -> dict[str, Any]:
    """SALib's problem dict of the ranges (``names`` = parameter names as written)."""
    return {"num_vars": len(parameters), "names": [p.name for p in parameters],
            "bounds": [[p.low, p.high] for p in parameters]}


def make_design(parameters: Sequence[Parameter], design: str, *, samples: int | None = None,
                levels: int = 4, second_order: bool = False, seed: int = 0) -> Design:
    """Sample the design points.

    Parameters
    ----------
    parameters
        Lists of values (grid) or ranges (any design).
    design
        ``grid`` (every combination, in spec order, last parameter fastest), ``lhs``
        (N points), ``sobol`` (Saltelli/Sobol' scheme: N(D+2) points, N(2D+2) with
        ``second_order``) or ``morris`` (N trajectories of D+1 points).
    samples
        N of lhs / sobol / morris.
    levels
        Grid values of a range without its own ``levels``; Morris ``num_levels``.
    second_order
        Sobol only.
    seed
        The sweep's seed (the sampler's seed derives from it).
    """
    parameters = tuple(parameters)
    sampler_seed = design_seed(seed)
    problem = salib_problem(parameters) if design != "grid" else {
        "num_vars": len(parameters), "names": [p.name for p in parameters], "bounds": []}
    if design == "grid":
        combos = list(itertools.product(*(grid_values(p, levels) for p in parameters)))
        points = pd.DataFrame(combos, columns=[p.name for p in parameters]) if parameters \
            else pd.DataFrame(index=range(1))
        matrix = np.array([[float(v) if isinstance(v, int | float) else np.nan for v in row]
                           for row in combos], dtype=float).reshape(len(combos), len(parameters))
    else:
        if design == "lhs":
            matrix = latin.sample(problem, samples, seed=sampler_seed)
        elif design == "sobol":
            matrix = sobol.sample(problem, samples, calc_second_order=second_order, seed=sampler_seed)
        elif design == "morris":
            matrix = morris.sample(problem, samples, num_levels=levels, seed=sampler_seed)
        else:
            msg = f"unknown design {design!r}"
            raise ValueError(msg)
        matrix = np.asarray(matrix, dtype=float)
        points = pd.DataFrame({p.name: _as_run_values(matrix[:, j], p) for j, p in enumerate(parameters)})
    points.index = pd.RangeIndex(len(points), name="point")
    return Design(name=design, parameters=parameters, points=points, matrix=matrix, problem=problem,
                  samples=samples, levels=levels, second_order=second_order, seed=sampler_seed)


def design_of(spec: SweepSpec) -> Design:
    """The design of a validated spec."""
    return make_design(spec.parameters, spec.design, samples=spec.samples, levels=spec.levels,
                       second_order=spec.second_order, seed=spec.seed)


def _as_run_values(column: np.ndarray, param: Parameter) -> list[Any]:
    # clip: SALib's level arithmetic can overshoot a bound by one ulp (0.2 -> 0.20000000000000004)
    if param.dtype == "int":
        return [int(v) for v in np.clip(np.round(column), param.low, param.high)]
    return [float(v) for v in np.clip(column, param.low, param.high)]


def point_values(design: Design, point: int) -> dict[str, Any]:
    """Canonical configuration key -> value of one design point (plain Python values)."""
    out = {}
    for p in design.parameters:
        value = design.points[p.name].iloc[point]  # per column: a row would upcast ints to float
        out[p.key] = value.item() if hasattr(value, "item") else value
    return out
