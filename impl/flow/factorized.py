"""Two-layer linear model y = W U x under the whitened squared loss, and gradient descent on it.

    L(W, U) = ½ ‖W U − A*‖_F²      (= ½ E‖W U x − A* x‖² − const for E[x xᵀ] = I)

`loss` is the definition (autograd differentiates it); `factor_gradients`,
`end_to_end_velocity`, `logistic_mode` and `half_growth_time` are the closed forms 002 states,
kept apart so the checks can compare them with autograd, with finite differences of
`gradient_descent` and with integrated ODEs. Everything is batched over leading dimensions and
runs on any device; float64 by default for the checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch


def _check_shapes(W: torch.Tensor, U: torch.Tensor, A_star: torch.Tensor) -> None:
    if W.shape[-1] != U.shape[-2] or A_star.shape[-2:] != (W.shape[-2], U.shape[-1]):
        raise ValueError(f"factorised model: W {tuple(W.shape)} · U {tuple(U.shape)} must be defined "
                         f"and match the target A* {tuple(A_star.shape)}")


def loss(W: torch.Tensor, U: torch.Tensor, A_star: torch.Tensor) -> torch.Tensor:
    """L = ½ ‖W U − A*‖_F² (summed over the last two axes)."""
    _check_shapes(W, U, A_star)
    return 0.5 * ((W @ U - A_star) ** 2).sum(dim=(-2, -1))


def factor_gradients(W: torch.Tensor, U: torch.Tensor, A_star: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂L/∂W, ∂L/∂U) = ((A − A*) Uᵀ, Wᵀ (A − A*)) with A = W U."""
    _check_shapes(W, U, A_star)
    error = W @ U - A_star
    return error @ U.mT, W.mT @ error


def end_to_end_velocity(W: torch.Tensor, U: torch.Tensor, A_star: torch.Tensor) -> torch.Tensor:
    """dA/dt under the factor flow: −(A − A*)(UᵀU) − (W Wᵀ)(A − A*)."""
    _check_shapes(W, U, A_star)
    error = W @ U - A_star
    return -(error @ (U.mT @ U)) - (W @ W.mT) @ error


def balance(W: torch.Tensor, U: torch.Tensor) -> torch.Tensor:
    """WᵀW − U Uᵀ (k × k): conserved by the gradient flow, zero for balanced factors."""
    return W.mT @ W - U @ U.mT


@dataclass
class Trajectory:
    """Gradient descent on L from (W₀, U₀): time t = η · step at each recorded step."""
    times: list[float] = field(default_factory=list)
    records: list = field(default_factory=list)
    W: torch.Tensor | None = None
    U: torch.Tensor | None = None


def gradient_descent(W: torch.Tensor, U: torch.Tensor, A_star: torch.Tensor, lr: float, steps: int, *,
                     record: Callable[[torch.Tensor, torch.Tensor], object] | None = None,
                     record_every: int = 1,
                     stop: Callable[[torch.Tensor, torch.Tensor], bool] | None = None) -> Trajectory:
    """Plain gradient descent W ← W − η ∂L/∂W, U ← U − η ∂L/∂U (simultaneous update).

    `record(W, U)` is called at step 0 and every `record_every` steps (and at the last step);
    `stop(W, U)`, checked at the recorded steps, ends the run early."""
    if lr <= 0 or steps < 0 or record_every < 1:
        raise ValueError(f"gradient_descent: needs lr > 0, steps >= 0, record_every >= 1; got lr={lr}, "
                         f"steps={steps}, record_every={record_every}")
    _check_shapes(W, U, A_star)
    W, U = W.clone(), U.clone()
    out = Trajectory()
    for step in range(steps + 1):
        if step % record_every == 0 or step == steps:
            out.times.append(lr * step)
            if record is not None:
                out.records.append(record(W, U))
            if stop is not None and stop(W, U):
                break
        if step == steps:
            break
        grad_W, grad_U = factor_gradients(W, U, A_star)
        W, U = W - lr * grad_W, U - lr * grad_U
    out.W, out.U = W, U
    return out


def logistic_mode(t, sigma: float, s0: float):
    """Closed-form solution of the balanced mode ODE ds/dt = 2 s (σ − s), s(0) = s0 >= 0:
    s(t) = σ s0 e^{2σt} / (σ − s0 + s0 e^{2σt}); for σ = 0, s(t) = s0 / (1 + 2 s0 t).

    Evaluated as σ / (1 + (σ/s0 − 1) e^{−2σt}), which equals the formula above and stays finite
    for large t (the quotient of two e^{2σt} overflows to inf/inf = nan once 2σt > 709)."""
    if sigma < 0 or s0 < 0:
        raise ValueError(f"logistic_mode: needs sigma >= 0 and s0 >= 0, got sigma={sigma}, s0={s0}")
    t = torch.as_tensor(t, dtype=torch.float64)
    if sigma == 0:
        return s0 / (1 + 2 * s0 * t)
    if s0 == 0:
        return torch.zeros_like(t)
    return sigma / (1 + (sigma / s0 - 1) * torch.exp(-2 * sigma * t))


def half_growth_time(sigma: float, s0: float) -> float:
    """t½ = ln(σ/s0 − 1)/(2σ): where `logistic_mode` reaches σ/2, for 0 < s0 < σ (the registry's
    formula; the symbolic form is `laws.half_time`)."""
    if not 0 < s0 < sigma:
        raise ValueError(f"half_growth_time: needs 0 < s0 < sigma, got sigma={sigma}, s0={s0}")
    return math.log(sigma / s0 - 1) / (2 * sigma)
