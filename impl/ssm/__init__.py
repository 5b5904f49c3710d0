"""Mamba2-style selective SSM (the SSD form): S_t = exp(Δ_t A) S_{t-1} + Δ_t x_t B_tᵀ, y_t = S_t C_t + D x_t.

- `naive.ssd_reference` / `naive.ssd_step`: the step-by-step loop and one step (the reference).
- `chunked.ssd_chunked`: the chunked SSD algorithm (the fast path), same contract.
- `Mamba2Layer`: the layer (in_proj, causal conv, SSM core, gated RMSNorm, out_proj);
  `path="chunked"` or `"reference"`; `num_parameters(module)` counts trainable scalars.
"""

from .chunked import ssd_chunked
from .model import Mamba2Layer, num_parameters
from .naive import ssd_reference, ssd_step

__all__ = ["Mamba2Layer", "num_parameters", "ssd_chunked", "ssd_reference", "ssd_step"]
