"""Shape contract of the linear RNN, shared by the reference and every path: a ValueError naming
the function, the tensor and its shape."""

from __future__ import annotations

import torch

from ..contracts import require_shape


def check_linear_rnn_shapes(A: torch.Tensor, B: torch.Tensor, x: torch.Tensor, h0: torch.Tensor | None,
                            where: str) -> None:
    """A (n, n), B (n, m), x (batch, T, m), h0 (batch, n) or None; a ValueError naming `where` otherwise."""
    require_shape(A.dim() == 2 and A.shape[0] == A.shape[1], where, "A", "(n, n)", A)
    n = A.shape[0]
    require_shape(B.dim() == 2 and B.shape[0] == n, where, "B", f"({n}, m) to match A", B)
    require_shape(x.dim() == 3 and x.shape[-1] == B.shape[1], where, "x", f"(batch, T, {B.shape[1]})", x)
    if h0 is not None:
        require_shape(tuple(h0.shape) == (x.shape[0], n), where, "h0", f"({x.shape[0]}, {n})", h0)
