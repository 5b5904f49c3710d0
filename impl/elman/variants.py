"""Elman layer variants for the experiments: `FactoredElman` (the rank sweeps,
impl/experiments/rank_sweeps.py), `LowRankStockElman` and `ProjectedElman` (the gradient-SNR
experiments, impl/experiments/gradients.py).

`FactoredElman` is the E5 layer (REFERENCE §2) with each of its three matrices made dense or
low rank independently, and with the tanh optionally removed:

    h_t = φ(W_h h_{t-1} + W_x x_t + b),    y_t = h_t ⊙ silu(W_z x_t),    φ = tanh or identity,

each W ∈ {W_h, W_x, W_z} either one dense (dim, dim) matrix (rank None) or U V with U (dim, r),
V (r, dim). With all three of rank r and φ = tanh it is E5Layer's recurrence; φ = identity gives
the low-rank linear RNN of the linear-vs-Elman comparison with the same gating and parameters
(the only change is the missing tanh); dense / low-rank W_h × W_x is the 2 × 2 design of
observed.multi_matrix.

Stability: the matrix applied to h is W_h · min(1, cap/‖W_h‖₂) (cap 0.99, the norm exact by SVD,
with gradient through it). A linear recurrence with ‖W_h‖₂ > 1 grows geometrically along the
sequence, so its rank sweep would measure divergence, not capacity (the registry's note on
observed.linear_vs_elman_ratio); the Elman gets the same cap so that the tanh is the only
difference. The cap is inactive while ‖W_h‖₂ ≤ cap (always at initialisation, where ‖W_h‖₂ = 0.25).
The exact norm (not E1's power iteration) keeps forward passes free of side effects, so a
measurement may run the model any number of times without changing its next training step.

Init as E5Layer: each U and V orthogonal × 0.5 (so U V has r singular values 0.25); a dense W
orthogonal × 0.25 (the same spectrum at r = dim); b = 0. Drawn in float64 from `generator`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .models import StockElman

SPECTRAL_CAP = 0.99
MATRICES = ("h", "x", "z")


def _orthogonal(rows: int, cols: int, gain: float, generator) -> torch.Tensor:
    return nn.init.orthogonal_(torch.empty(rows, cols, dtype=torch.float64), gain, generator=generator)


class FactoredElman(nn.Module):
    """φ(W_h h + W_x x + b) gated by silu(W_z x); each W dense (rank None) or U V of its rank.

    Parameters: `W_<m>` for a dense matrix m ∈ {h, x, z}, else `U_<m>` (dim, r), `V_<m>` (r, dim).
    forward(x (batch, T, dim), h0 (batch, dim) or None) → (y (batch, T, dim), h_T (batch, dim))."""

    def __init__(self, dim: int, rank_h: int | None, rank_x: int | None, rank_z: int | None, *,
                 nonlinear: bool = True, cap: float = SPECTRAL_CAP, generator: torch.Generator | None = None):
        super().__init__()
        ranks = dict(zip(MATRICES, (rank_h, rank_x, rank_z)))
        for name, rank in ranks.items():
            if rank is not None and not 1 <= rank <= dim:
                raise ValueError(f"FactoredElman: rank_{name} must be None (dense) or in [1, {dim}], got {rank}")
        if not cap > 0:
            raise ValueError(f"FactoredElman: cap must be > 0, got {cap}")
        self.dim, self.ranks, self.nonlinear, self.cap = dim, ranks, nonlinear, cap
        for name, rank in ranks.items():
            if rank is None:
                self._add(f"W_{name}", _orthogonal(dim, dim, 0.25, generator))
            else:
                self._add(f"U_{name}", _orthogonal(dim, rank, 0.5, generator))
                self._add(f"V_{name}", _orthogonal(rank, dim, 0.5, generator))
        self.b = nn.Parameter(torch.zeros(dim))

    def _add(self, name: str, value: torch.Tensor) -> None:
        self.register_parameter(name, nn.Parameter(value.float()))

    def matrix(self, name: str) -> torch.Tensor:
        """W_name as one (dim, dim) matrix (U V for a low-rank one), before any cap."""
        if self.ranks[name] is None:
            return getattr(self, f"W_{name}")
        return getattr(self, f"U_{name}") @ getattr(self, f"V_{name}")

    def cap_scale(self) -> torch.Tensor:
        """min(1, cap/‖W_h‖₂), differentiable."""
        norm = torch.linalg.matrix_norm(self.matrix("h"), ord=2)
        return torch.clamp(self.cap / norm, max=1.0)

    def recurrent_matrix(self) -> torch.Tensor:
        """The matrix the step applies to h: W_h · min(1, cap/‖W_h‖₂)."""
        return self.matrix("h") * self.cap_scale()

    def input_matrix(self) -> torch.Tensor:
        """W_x as one (dim, dim) matrix."""
        return self.matrix("x")

    def _project(self, name: str, v: torch.Tensor) -> torch.Tensor:
        """W_name v on row vectors, through the factors when low rank (two thin matmuls)."""
        if self.ranks[name] is None:
            return F.linear(v, getattr(self, f"W_{name}"))
        return F.linear(F.linear(v, getattr(self, f"V_{name}")), getattr(self, f"U_{name}"))

    def states(self, x: torch.Tensor, h0: torch.Tensor | None = None):
        """(h_1 … h_T (batch, T, dim), h_T (batch, dim)) for x (batch, T, dim)."""
        if x.dim() != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"FactoredElman: x must be (batch, T, {self.dim}), got {tuple(x.shape)}")
        # what does not depend on h is computed for all steps at once; the cap scale is folded
        # into the factor applied last, so the loop keeps W_h's factors apart
        u = self._project("x", x) + self.b
        scale = self.cap_scale()
        if self.ranks["h"] is None:
            recurrent = lambda h, W=(self.W_h * scale).T: h @ W            # noqa: E731
        else:
            recurrent = lambda h, V=self.V_h.T, U=(self.U_h * scale).T: (h @ V) @ U  # noqa: E731
        phi = torch.tanh if self.nonlinear else (lambda z: z)
        h = x.new_zeros(x.shape[0], self.dim) if h0 is None else h0
        states = []
        for t in range(x.shape[1]):
            h = phi(u[:, t] + recurrent(h))
            states.append(h)
        return (torch.stack(states, dim=1) if states else x.new_zeros(x.shape)), h

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None):
        states, h = self.states(x, h0)
        return states * F.silu(self._project("z", x)), h

    def extra_repr(self) -> str:
        ranks = ", ".join(f"rank_{k}={v}" for k, v in self.ranks.items())
        return f"dim={self.dim}, {ranks}, nonlinear={self.nonlinear}, cap={self.cap}"


# ---------------------------------------------------------------- stock Elman, W_h = U V

class LowRankStockElman(StockElman):
    """StockElman with W_h = U V (U (n, r), V (r, n)); W_x, b and the step are the stock ones.

    Built from the same generator draws as the dense layer (W_x identical for a seed; the dense
    W_h is drawn and discarded), then U, V orthogonal × sqrt(recurrent_gain), so that U V has r
    singular values equal to the dense W_h's spectral norm. After each forward, `effective`
    holds the U V of that pass, for the gradient ∂L/∂W at W = U V."""

    def __init__(self, input_dim: int, state_size: int, rank: int, *, recurrent_gain: float = 0.9,
                 generator=None):
        if not 1 <= rank < state_size:
            raise ValueError(f"LowRankStockElman: rank must be in [1, {state_size}), got {rank}")
        super().__init__(input_dim, state_size, recurrent_gain=recurrent_gain, generator=generator)
        del self.W_h
        self.rank = rank
        gain = recurrent_gain ** 0.5
        for name, shape in (("U", (state_size, rank)), ("V", (rank, state_size))):
            value = nn.init.orthogonal_(torch.empty(*shape, dtype=torch.float64), gain, generator=generator)
            self.register_parameter(name, nn.Parameter(value.float()))
        self.effective: torch.Tensor | None = None

    def recurrent_matrix(self):
        return self.U @ self.V

    def pre_activation(self, h, x_t):
        return F.linear(x_t, self.W_x, self.b) + F.linear(h, self.recurrent_matrix())

    def path_arguments(self):
        self.effective = self.recurrent_matrix()
        return self.W_x, self.effective, self.b


class ProjectedElman(nn.Module):
    """A stock Elman (rank None: dense W_h; else W_h = U V) followed by a bias-free linear map
    state → dim. The projection is drawn first, so that the dense and low-rank variants of a seed
    share it (and W_x) exactly."""

    def __init__(self, dim: int, rank: int | None, generator):
        super().__init__()
        self.out_proj = nn.Linear(dim, dim, bias=False)
        with torch.no_grad():
            self.out_proj.weight.copy_(nn.init.xavier_uniform_(torch.empty(dim, dim, dtype=torch.float64),
                                                               generator=generator))
        self.recurrence = (StockElman(dim, dim, generator=generator) if rank is None
                           else LowRankStockElman(dim, dim, rank, generator=generator))

    def forward(self, x):
        return self.out_proj(self.recurrence(x)[0])
