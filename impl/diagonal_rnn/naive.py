"""Plain step-by-step reference of the diagonal linear RNN: what "correct" means.

    x_k = λ ⊙ x_{k-1} + B u_k,   k = 1..T,   x_0 = h0 (zeros by default)

λ is the diagonal of Λ, a vector of N eigenvalues (real or complex), so the
transition is an elementwise product and no N×N matrix is ever formed.
Shapes: λ (N,), B (N, m), u (batch, T, m), h0 (batch, N) → states (batch, T, N).
The states have the promoted dtype of λ, B and u (complex as soon as one is).
Readable on purpose; run it in float64 / complex128 when it is the reference of a check.
"""

from __future__ import annotations

import torch


def check_rnn_inputs(lam: torch.Tensor, B: torch.Tensor, u: torch.Tensor,
                     h0: torch.Tensor | None, where: str) -> None:
    """ValueError naming the offending tensor and its shape; shared by every path."""
    if lam.dim() != 1:
        raise ValueError(f"{where}: eigenvalues lam must be (N,), got shape {tuple(lam.shape)}")
    N = lam.shape[0]
    if B.dim() != 2 or B.shape[0] != N:
        raise ValueError(f"{where}: B must be ({N}, m) to match lam ({N},), got shape {tuple(B.shape)}")
    if u.dim() != 3 or u.shape[-1] != B.shape[1]:
        raise ValueError(f"{where}: inputs u must be (batch, T, {B.shape[1]}), got shape {tuple(u.shape)}")
    if h0 is not None and tuple(h0.shape) != (u.shape[0], N):
        raise ValueError(f"{where}: h0 must be ({u.shape[0]}, {N}), got shape {tuple(h0.shape)}")


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


def result_dtype(*tensors: torch.Tensor) -> torch.dtype:
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype


def diagonal_scan_reference(a: torch.Tensor, v: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """All states of x_t = a_t ⊙ x_{t-1} + v_t, t = 1..T, one step at a time.

    v: (..., T, N); a: broadcastable to v (a constant diagonal is a (N,) vector; a selective,
    time-varying one is (..., T, N)); h0: (..., N) or None for zeros. Returns (..., T, N).
    """
    check_scan_inputs(a, v, h0, "diagonal_scan_reference")
    dtype = result_dtype(a, v) if h0 is None else result_dtype(a, v, h0)
    a = a.to(dtype).expand(*v.shape)
    v = v.to(dtype)
    x = torch.zeros_like(v[..., 0, :]) if h0 is None else h0.to(dtype)
    states = []
    # unbind, not a[..., t, :]: the backward of T indexings would build T zero tensors of v's size
    for a_t, v_t in zip(a.unbind(-2), v.unbind(-2)):
        x = a_t * x + v_t
        states.append(x)
    if not states:
        return v.new_zeros(v.shape)
    return torch.stack(states, dim=-2)


def diagonal_rnn_reference(lam: torch.Tensor, B: torch.Tensor, u: torch.Tensor,
                           h0: torch.Tensor | None = None) -> torch.Tensor:
    """States x_1..x_T (batch, T, N) of x_k = λ ⊙ x_{k-1} + B u_k, one step at a time."""
    check_rnn_inputs(lam, B, u, h0, "diagonal_rnn_reference")
    dtype = result_dtype(lam, B, u) if h0 is None else result_dtype(lam, B, u, h0)
    lam, B, u = lam.to(dtype), B.to(dtype), u.to(dtype)
    batch, T, _ = u.shape
    x = torch.zeros(batch, lam.shape[0], dtype=dtype, device=u.device) if h0 is None else h0.to(dtype)
    states = []
    for k in range(T):
        x = lam * x + u[:, k] @ B.T
        states.append(x)
    if not states:
        return u.new_zeros(batch, 0, lam.shape[0])
    return torch.stack(states, dim=1)
