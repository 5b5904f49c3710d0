"""Plain step-by-step reference of the linear RNN: what "correct" means.

    h_t = A h_{t-1} + B x_t,   t = 1..T,   h_0 given (zeros by default)

Shapes: A (n, n), B (n, m), x (batch, T, m), h0 (batch, n) → states (batch, T, n).
Readable on purpose; run it in float64 when it is the reference of a check.
"""

from __future__ import annotations

import torch

from .contracts import check_linear_rnn_shapes


def linear_rnn_reference(A: torch.Tensor, B: torch.Tensor, x: torch.Tensor,
                         h0: torch.Tensor | None = None) -> torch.Tensor:
    check_linear_rnn_shapes(A, B, x, h0, "linear_rnn_reference")
    batch, T, _ = x.shape
    h = torch.zeros(batch, A.shape[0], dtype=x.dtype, device=x.device) if h0 is None else h0
    states = []
    for t in range(T):
        h = h @ A.T + x[:, t] @ B.T
        states.append(h)
    if not states:
        return x.new_zeros(batch, 0, A.shape[0])
    return torch.stack(states, dim=1)
