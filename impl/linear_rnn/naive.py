"""Plain step-by-step reference of the linear RNN: what "correct" means.

    h_t = A h_{t-1} + B x_t,   t = 1..T,   h_0 given (zeros by default)

Shapes: A (n, n), B (n, m), x (batch, T, m), h0 (batch, n) → states (batch, T, n).
Readable on purpose; run it in float64 when it is the reference of a check.
"""

from __future__ import annotations

import torch


def check_linear_rnn_shapes(A: torch.Tensor, B: torch.Tensor, x: torch.Tensor, h0: torch.Tensor | None,
                            where: str) -> None:
    """A (n, n), B (n, m), x (batch, T, m), h0 (batch, n) or None; a ValueError naming `where` otherwise."""
    if A.dim() != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{where}: A must be (n, n), got shape {tuple(A.shape)}")
    n = A.shape[0]
    if B.dim() != 2 or B.shape[0] != n:
        raise ValueError(f"{where}: B must be ({n}, m) to match A, got shape {tuple(B.shape)}")
    if x.dim() != 3 or x.shape[-1] != B.shape[1]:
        raise ValueError(f"{where}: x must be (batch, T, {B.shape[1]}), got shape {tuple(x.shape)}")
    if h0 is not None and tuple(h0.shape) != (x.shape[0], n):
        raise ValueError(f"{where}: h0 must be ({x.shape[0]}, {n}), got shape {tuple(h0.shape)}")


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
