"""The experiments' library: interval statistics (`stats.py`), shared helpers (`common.py`) and,
one module per experiment family, the cell functions and decision rules that
`benchmarks/experiments/test_exp_*.py` declare, run and decide. How a cell runs (the cell
protocol, the device and scale settings) is the harness's: claims/cells.py, device.py, scale.py.

`from impl.experiments import t_interval, at_scale, ...` keeps working: the statistics and the
scale setting are re-exported here.
"""

from claims.scale import SCALES, ScaleError, at_scale, scale
from .stats import (bootstrap, gradient_snr, percentile_interval, seeds_to_decide, seeds_to_decide_difference,
                    simulated_coverage, t_interval, welch_interval)

__all__ = ["SCALES", "ScaleError", "at_scale", "scale", "bootstrap", "gradient_snr", "percentile_interval",
           "seeds_to_decide", "seeds_to_decide_difference", "simulated_coverage", "t_interval", "welch_interval"]
