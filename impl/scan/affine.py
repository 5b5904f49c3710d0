"""The affine monoid and a parallel prefix scan over it.

An element (M, v) is the map h ↦ M h + v. Applying e1 first, then e2:

    e2 ∘ e1 = (M2 M1, M2 v1 + v2),   identity (I, 0).

Composition of maps is associative, so all prefixes e_t ∘ … ∘ e_1 can be
computed in ⌈log2 T⌉ rounds (Hillis–Steele): round k combines every element
with the one 2^k places earlier. A linear recurrence h_t = M_t h_{t-1} + v_t
from h_0 is then h_t = (prefix_t applied to h_0).
"""

from __future__ import annotations

import torch


def affine_identity(n: int, *, batch_shape=(), dtype=torch.float64, device=None):
    eye = torch.eye(n, dtype=dtype, device=device).expand(*batch_shape, n, n)
    return eye.clone(), torch.zeros(*batch_shape, n, dtype=dtype, device=device)


def affine_combine(first, second):
    """second ∘ first: apply `first`, then `second`. Each is (M (..., n, n), v (..., n))."""
    m1, v1 = first
    m2, v2 = second
    return m2 @ m1, (m2 @ v1.unsqueeze(-1)).squeeze(-1) + v2


def affine_scan(M: torch.Tensor, v: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """All states of h_t = M_t h_{t-1} + v_t, t = 1..T, by a parallel prefix scan.

    M: (..., T, n, n) transition per step (broadcast over leading dims allowed);
    v: (..., T, n) input per step; h0: (..., n) or None for zeros.
    Returns (..., T, n), the states h_1 … h_T.
    """
    if M.dim() < 3 or v.dim() < 2:
        raise ValueError(f"affine_scan: M must be (..., T, n, n) and v (..., T, n); "
                         f"got M {tuple(M.shape)}, v {tuple(v.shape)}")
    T, n = v.shape[-2], v.shape[-1]
    if M.shape[-3:] != (T, n, n):
        raise ValueError(f"affine_scan: M has shape {tuple(M.shape)}, expected (..., {T}, {n}, {n}) "
                         f"to match v {tuple(v.shape)}")
    batch = torch.broadcast_shapes(M.shape[:-3], v.shape[:-2])
    M = M.expand(*batch, T, n, n)
    v = v.expand(*batch, T, n)
    offset = 1
    while offset < T:
        # element t becomes e_t ∘ … ∘ e_{t-2·offset+1}: combine with the prefix `offset` places back
        m_new, v_new = affine_combine((M[..., :-offset, :, :], v[..., :-offset, :]),
                                      (M[..., offset:, :, :], v[..., offset:, :]))
        M = torch.cat([M[..., :offset, :, :], m_new], dim=-3)
        v = torch.cat([v[..., :offset, :], v_new], dim=-2)
        offset *= 2
    if h0 is None:
        return v
    return (M @ h0.unsqueeze(-2).unsqueeze(-1)).squeeze(-1) + v
