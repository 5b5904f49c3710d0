"""Plain step-by-step reference of the Mamba2 SSM core (the SSD recurrence): what "correct" means.

Per head h (H heads, each with a (P, N) state; P = headdim, N = d_state):

    a_t = exp(Δ_t A)                          scalar decay of the head, in (0, 1] since A < 0, Δ_t > 0
    S_t = a_t S_{t-1} + Δ_t x_t B_tᵀ          (P, N) state: outer product of the head's input and B_t
    y_t = S_t C_t + D x_t                     (P,) output

Shapes (batch b, time T):
    x  (b, T, H, P)   inputs of the heads
    dt (b, T, H)      Δ_t > 0 (already through softplus)
    A  (H,)           negative scalar per head
    B  (b, T, H, N)   input projection of the state (Mamba2 shares one B over the heads; pass it expanded)
    C  (b, T, H, N)   output projection of the state
    D  (H,) or None   skip connection
    h0 (b, H, P, N) or None (zeros)
Returns y (b, T, H, P) and the final state (b, H, P, N).

Readable on purpose; run it in float64 when it is the reference of a check.
"""

from __future__ import annotations

import torch

from .contracts import check_ssd_inputs


def ssd_step(h: torch.Tensor, x_t: torch.Tensor, dt_t: torch.Tensor, A: torch.Tensor,
             B_t: torch.Tensor, C_t: torch.Tensor, D: torch.Tensor | None = None):
    """One step of the recurrence. h (b, H, P, N), x_t (b, H, P), dt_t (b, H), A (H,), B_t and C_t
    (b, H, N), D (H,) or None. Returns (y_t (b, H, P), new state (b, H, P, N)).

    The decay exp(Δ_t A) is computed from the step's inputs only; the new state is linear in h."""
    decay = torch.exp(dt_t * A)                                           # (b, H)
    h = decay[..., None, None] * h + (dt_t[..., None] * x_t)[..., :, None] * B_t[..., None, :]
    y = (h * C_t[..., None, :]).sum(-1)                                   # S_t C_t, (b, H, P)
    if D is not None:
        y = y + D[:, None] * x_t
    return y, h


def ssd_reference(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                  D: torch.Tensor | None = None, h0: torch.Tensor | None = None):
    """The SSD recurrence, one step at a time. Returns (y (b, T, H, P), final state (b, H, P, N))."""
    b, T, H, P, N = check_ssd_inputs(x, dt, A, B, C, D, h0)
    h = x.new_zeros(b, H, P, N) if h0 is None else h0
    ys = []
    # unbind, not x[:, t]: the backward of T indexings would build T zero tensors of each input's size
    for x_t, dt_t, B_t, C_t in zip(x.unbind(1), dt.unbind(1), B.unbind(1), C.unbind(1)):
        y_t, h = ssd_step(h, x_t, dt_t, A, B_t, C_t, D)
        ys.append(y_t)
    y = torch.stack(ys, dim=1) if ys else x.new_zeros(b, 0, H, P)
    return y, h
