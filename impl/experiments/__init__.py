"""The experiments' library: scales, interval statistics, cells (a frozen config → a result
record, run on any device, kept in the results store) and, one module per experiment family,
the cell functions and decision rules that `benchmarks/experiments/test_exp_*.py` declare, run and decide.

`from impl.experiments import t_interval, at_scale, ...` keeps working: the statistics and the
scale setting are re-exported here.
"""

from .scale import SCALES, ScaleError, at_scale, scale
from .stats import (bootstrap, gradient_snr, percentile_interval, seeds_to_decide, seeds_to_decide_difference,
                    simulated_coverage, t_interval, welch_interval)

__all__ = ["SCALES", "ScaleError", "at_scale", "scale", "bootstrap", "gradient_snr", "percentile_interval",
           "seeds_to_decide", "seeds_to_decide_difference", "simulated_coverage", "t_interval", "welch_interval"]
