"""The Elman family: stock, residual, E1 (Mamba-gated), E5 (pure low-rank), X-gated.

- `naive`: plain step-by-step references (`*_reference`), and `tanh_derivative`.
- `fused`: the same recurrences with the input projections hoisted out of the loop and the loop
  one autograd node with its own backward (`*_fused`).
- `models`: the nn.Modules researchers use (`path="auto"` (the fused loop), `"fused"` or
  `"reference"`), each with
  `state_size`, `recurrent_matrix()`, `step(h, x_t)`, `step_jacobian(h, x_t)` and
  `path_arguments()` (the hook a variant overrides); `num_parameters(module)` (impl/parameters.py).
- `variants`: the experiments' variants: `FactoredElman` (each of E5's matrices dense or low rank,
  tanh optional), `LowRankStockElman` (stock Elman with W_h = U V), `ProjectedElman` (stock Elman
  + output projection).
"""

from .models import E1Layer, E5Layer, ResidualElman, StockElman, XGatedElman, num_parameters
from .naive import tanh_derivative

__all__ = ["E1Layer", "E5Layer", "ResidualElman", "StockElman", "XGatedElman", "num_parameters",
           "tanh_derivative"]
