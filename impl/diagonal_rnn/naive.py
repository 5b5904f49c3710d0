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

from .contracts import check_rnn_inputs, check_scan_inputs, result_dtype


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
