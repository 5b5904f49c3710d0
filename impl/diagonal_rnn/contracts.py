"""Shape contracts of the diagonal RNN and its scan, shared by the reference and every fast path:
a ValueError naming the function, the tensor and its shape."""

from __future__ import annotations

import torch

from ..contracts import require_shape, result_dtype

__all__ = ["check_rnn_inputs", "check_scan_inputs", "result_dtype"]


def check_rnn_inputs(lam: torch.Tensor, B: torch.Tensor, u: torch.Tensor,
                     h0: torch.Tensor | None, where: str) -> None:
    """ValueError naming the offending tensor and its shape; shared by every path."""
    require_shape(lam.dim() == 1, where, "eigenvalues lam", "(N,)", lam)
    N = lam.shape[0]
    require_shape(B.dim() == 2 and B.shape[0] == N, where, "B", f"({N}, m) to match lam ({N},)", B)
    require_shape(u.dim() == 3 and u.shape[-1] == B.shape[1], where, "inputs u", f"(batch, T, {B.shape[1]})", u)
    if h0 is not None:
        require_shape(tuple(h0.shape) == (u.shape[0], N), where, "h0", f"({u.shape[0]}, {N})", h0)


def check_scan_inputs(a: torch.Tensor, v: torch.Tensor, h0: torch.Tensor | None, where: str) -> None:
    """a: per-step coefficients broadcastable to v (..., T, N); h0: (..., N) or None."""
    if v.dim() < 2:
        raise ValueError(f"{where}: v must be (..., T, N), got shape {tuple(v.shape)}")
    try:
        fits = torch.broadcast_shapes(a.shape, v.shape) == v.shape
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(f"{where}: a of shape {tuple(a.shape)} does not broadcast to v of shape "
                         f"{tuple(v.shape)}")
    if h0 is not None and tuple(h0.shape) != (*v.shape[:-2], v.shape[-1]):
        raise ValueError(f"{where}: h0 must be {(*v.shape[:-2], v.shape[-1])} to match v "
                         f"{tuple(v.shape)}, got shape {tuple(h0.shape)}")
