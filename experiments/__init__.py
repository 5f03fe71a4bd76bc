"""Experiments on the model: parameter sweeps on Dask (spec, designs, seeds, runner, results, analysis)."""
