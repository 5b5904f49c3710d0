"""The polynomial RNN of Associativity.lean: h_t = abs(w h_{t-1} + x_t)^α.

`w` may be
- a scalar (a Python number or a 0-d tensor): the same factor on every coordinate;
- a vector (n,): elementwise, i.e. a diagonal recurrence;
- a matrix (n, n): a dense recurrence, w h = W @ h.
abs(·)^α is elementwise. The Lean theorem `polynomial_rnn_not_associative` says that for
α > 0, α ≠ 1 two such steps are in general not one step of the same form; checks of that
claim run on these functions.

Shapes: h (..., n), x_t (..., n) for `polynomial_step`; x (batch, T, n), h0 (batch, n)
for the loop. Runs in the dtype and on the device of its inputs.
"""

from __future__ import annotations

import torch


def _apply_w(w, h: torch.Tensor) -> torch.Tensor:
    if not torch.is_tensor(w) or w.dim() <= 1:       # scalar or (n,) vector: elementwise
        return w * h
    return h @ w.T                                   # (n, n) matrix acting on column vectors


def _check_alpha(alpha: float) -> None:
    # the Lean theorem's hypothesis; α = 0 would make every step the constant 1 (0^0 = 1 in torch)
    if not alpha > 0:
        raise ValueError(f"polynomial RNN: alpha must be > 0, got {alpha}")


def _check_w(w, n: int) -> None:
    if torch.is_tensor(w) and w.dim() > 2:
        raise ValueError(f"polynomial RNN: w must be a scalar, (n,) or (n, n), got shape {tuple(w.shape)}")
    if torch.is_tensor(w) and w.dim() >= 1 and (w.shape[-1] != n or (w.dim() == 2 and w.shape[0] != n)):
        raise ValueError(f"polynomial RNN: w of shape {tuple(w.shape)} does not fit states of size {n}")


def _check(w, h: torch.Tensor, x_t: torch.Tensor, alpha: float) -> None:
    _check_alpha(alpha)
    _check_w(w, x_t.shape[-1] if x_t.dim() else 1)
    if h.shape[-1:] != x_t.shape[-1:]:
        raise ValueError(f"polynomial RNN: h {tuple(h.shape)} and x_t {tuple(x_t.shape)} differ in size")


def polynomial_step(h: torch.Tensor, x_t: torch.Tensor, w, alpha: float) -> torch.Tensor:
    """One step h ↦ abs(w h + x_t)^α."""
    _check(w, h, x_t, alpha)
    return (_apply_w(w, h) + x_t).abs() ** alpha


def polynomial_rnn_reference(w, x: torch.Tensor, alpha: float,
                             h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All states h_1 … h_T, (batch, T, n), and h_T, by the plain loop from h0 (zeros by default)."""
    if x.dim() != 3:
        raise ValueError(f"polynomial RNN: x must be (batch, T, n), got {tuple(x.shape)}")
    batch, T, n = x.shape
    _check_alpha(alpha)              # checked here too, so an empty sequence does not let a bad α pass
    _check_w(w, n)
    if h0 is not None and tuple(h0.shape) != (batch, n):
        raise ValueError(f"polynomial RNN: h0 must be ({batch}, {n}), got {tuple(h0.shape)}")
    h = x.new_zeros(batch, n) if h0 is None else h0
    states = []
    for t in range(T):
        h = polynomial_step(h, x[:, t], w, alpha)
        states.append(h)
    return (torch.stack(states, dim=1) if states else x.new_zeros(batch, 0, n)), h
