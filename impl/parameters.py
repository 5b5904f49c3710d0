"""Parameter counts, one meaning for every model in `impl`.

`num_parameters(module)` is the number of real scalars an optimiser trains:
- only parameters with `requires_grad` (a frozen parameter is not trained; buffers such as power-
  iteration vectors are not parameters at all);
- a complex parameter counts as 2 per entry (its real and imaginary parts are two real numbers an
  optimiser updates, so a complex model and the real model that stores the same numbers as real and
  imaginary parts, as `impl.diagonal_rnn` does, have the same count).

The claims compare models at equal parameter budgets (the source documents count real weights), and
every model in `impl` today trains all its parameters in real dtypes, so this meaning gives the same
figures as each model's earlier count (tests/test_parameters.py pins it).
"""

from __future__ import annotations

from torch import nn


def num_parameters(module: nn.Module) -> int:
    """Real scalars `module` trains: entries of parameters with requires_grad, a complex entry as 2."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"num_parameters: expected a torch.nn.Module, got {type(module).__name__}")
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in module.parameters() if p.requires_grad)
