"""Plain step-by-step references of the Elman family: what "correct" means.

Every function runs the recurrence one time step at a time, with every
projection computed inside the loop exactly as the equations are written.
Readable on purpose; run it in float64 when it is the reference of a check.

Shapes: x (batch, T, input_dim), h0 (batch, n) or None for zeros. Each returns
(outputs (batch, T, ·), h_T (batch, n)); with T = 0 the outputs are empty and
h_T = h0. Weights follow torch.nn.Linear: a matrix W (out, in) maps v to W v,
written `v @ W.T` on a batch of row vectors. Recurrent matrices arrive already
constrained (a spectrally normalised W_h is normalised by the module).

    stock:     h_t = tanh(W_x x_t + W_h h_{t-1} + b)
    residual:  h_t = h_{t-1} + tanh(W_x x_t + W_h h_{t-1} + b)
    E1:        x_t, z_t = split(W_in x_t); h_t = tanh(W_x silu(x_t) + W_h h_{t-1} + b);
               y_t = W_out (h_t ⊙ silu(z_t))
    E5:        h_t = tanh(U_h V_h h_{t-1} + U_x V_x x_t + b); y_t = h_t ⊙ silu(U_z V_z x_t)
    X-gated:   x_t = W_in x_t; h_t = tanh(W_x x_t + W_h h_{t-1} + b);
               y_t = W_out (h_t ⊙ silu(W_gate x_t + b_gate))
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def tanh_derivative(z: torch.Tensor) -> torch.Tensor:
    """tanh'(z) in closed form, 1 − tanh(z)²: the per-coordinate factor of a tanh step's Jacobian.
    (In floating point it rounds to 0 for large abs(z) and to 1 for tiny abs(z).)"""
    t = torch.tanh(z)
    return 1 - t * t


def _start(h0: torch.Tensor | None, x: torch.Tensor, n: int) -> torch.Tensor:
    return x.new_zeros(x.shape[0], n) if h0 is None else h0


def _stack(steps: list[torch.Tensor], x: torch.Tensor, width: int) -> torch.Tensor:
    return torch.stack(steps, dim=1) if steps else x.new_zeros(x.shape[0], 0, width)


def elman_reference(W_x, W_h, b, x, h0=None):
    """Stock Elman; outputs are the states h_1 … h_T."""
    h = _start(h0, x, W_h.shape[0])
    states = []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ W_x.T + h @ W_h.T + b)
        states.append(h)
    return _stack(states, x, W_h.shape[0]), h


def residual_elman_reference(W_x, W_h, b, x, h0=None):
    """Residual Elman (a skip connection around the tanh step); outputs are the states."""
    h = _start(h0, x, W_h.shape[0])
    states = []
    for t in range(x.shape[1]):
        h = h + torch.tanh(x[:, t] @ W_x.T + h @ W_h.T + b)
        states.append(h)
    return _stack(states, x, W_h.shape[0]), h


def e1_reference(W_in, W_x, W_h, b, W_out, x, h0=None):
    """E1 "Mamba-gated Elman": W_in (2·d_in, dim), W_x and W_h (d_in, d_in), W_out (dim, d_in)."""
    d_in = W_h.shape[0]
    h = _start(h0, x, d_in)
    outputs = []
    for t in range(x.shape[1]):
        xz = x[:, t] @ W_in.T
        x_t, z_t = F.silu(xz[:, :d_in]), xz[:, d_in:]
        h = torch.tanh(x_t @ W_x.T + h @ W_h.T + b)
        outputs.append((h * F.silu(z_t)) @ W_out.T)
    return _stack(outputs, x, W_out.shape[0]), h


def e5_reference(U_h, V_h, U_x, V_x, U_z, V_z, b, x, h0=None):
    """E5 "pure low-rank Elman": every U (d, r), every V (r, d); no in/out projections."""
    h = _start(h0, x, U_h.shape[0])
    outputs = []
    for t in range(x.shape[1]):
        x_t = x[:, t]
        h = torch.tanh((h @ V_h.T) @ U_h.T + (x_t @ V_x.T) @ U_x.T + b)
        outputs.append(h * F.silu((x_t @ V_z.T) @ U_z.T))
    return _stack(outputs, x, U_h.shape[0]), h


def xgated_reference(W_in, W_x, W_h, b, W_gate, b_gate, W_out, x, h0=None):
    """X-gated Elman: W_in (d_in, dim), W_x, W_h, W_gate (d_in, d_in), W_out (dim, d_in)."""
    h = _start(h0, x, W_h.shape[0])
    outputs = []
    for t in range(x.shape[1]):
        x_t = x[:, t] @ W_in.T
        h = torch.tanh(x_t @ W_x.T + h @ W_h.T + b)
        outputs.append((h * F.silu(x_t @ W_gate.T + b_gate)) @ W_out.T)
    return _stack(outputs, x, W_out.shape[0]), h
