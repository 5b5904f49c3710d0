"""The Elman family as modules, with explicit shapes, dtype and device.

Every module takes x (batch, T, input_dim) and an optional h0 (batch, state_size)
and returns (y (batch, T, output_dim), h_T (batch, state_size)). `path="fused"`
runs `fused.py` (input projections hoisted out of the loop, the loop one autograd node),
`path="reference"` the plain loop of `naive.py`, `path="auto"` (the default) the fused loop;
all looked up at call time (impl/README.md: one naming of paths across models). For
bfloat16/float16 modules the fused path computes in float32 and rounds its results (see
`fused.py`); the reference path computes in the module's dtype.

Each module also exposes, for gradient analysis:
- `state_size`: the dimension of the recurrent state h (E1 and X-gated: d_in = expansion·dim);
- `recurrent_matrix()`: the matrix the step applies to h (normalised W_h, or U_h V_h for E5);
- `step(h, x_t)`: one step h_{t-1} ↦ h_t for h (..., state_size), x_t (..., input_dim);
- `step_jacobian(h, x_t)`: ∂h_t/∂h_{t-1} in closed form, (..., state_size, state_size).
`num_parameters(module)` (impl/parameters.py) counts the real scalars a module trains.

Spectral normalisation (E1, X-gated, as in the public `ekg/elman` code): the step uses
W_h · 0.99 / σ̂ with σ̂ = abs(uᵀ W_h v), where u, v come from 3 power-iteration steps that
continue from the stored u (buffers `spectral_u`, `spectral_v`, no gradient through them;
the gradient does flow through σ̂). As in torch.nn.utils.spectral_norm the iteration
advances only in training mode, so in eval mode the normalised matrix is a fixed function
of W_h — call `.eval()` before taking Jacobians or comparing paths, and
`refresh_spectral_norm(steps)` after editing W_h by hand. σ̂ ≤ σ_max(W_h) always, so
‖normalised W_h‖₂ ≥ 0.99: at construction (3 steps from a random u) it is a little above
(1.05 in one draw of a 768×768 Xavier W_h); over training, as the iteration converges, it tends to 0.99.

Initial values are drawn on the CPU in float64 (from `generator` when given, for fixed
seeds independent of dtype and device) and copied in; on `device="meta"` nothing is
drawn, which makes parameter counting of large configurations free.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..parameters import num_parameters  # noqa: F401  (re-exported: impl.elman.num_parameters)
from . import fused, naive

PATHS = ("auto", "fused", "reference")
SPECTRAL_TARGET = 0.99
POWER_ITERATION_STEPS = 3
_EPS = 1e-8                       # guards the normalisation when W_h = 0 (as the source does)


def _power_iteration(W: torch.Tensor, u: torch.Tensor, steps: int = POWER_ITERATION_STEPS):
    """Unit vectors (u, v) after `steps` rounds v ∝ Wᵀu, u ∝ W v; uᵀ W v then estimates σ_max(W)."""
    for _ in range(steps):
        v = W.T @ u
        v = v / (v.norm() + _EPS)
        u = W @ v
        u = u / (u.norm() + _EPS)
    return u, v


# Initial values: float64 on the CPU, then copied into the parameter (skipped on "meta").
def _orthogonal(rows, cols, gain, generator):
    return nn.init.orthogonal_(torch.empty(rows, cols, dtype=torch.float64), gain, generator=generator)


def _xavier(rows, cols, gain, generator):
    return nn.init.xavier_uniform_(torch.empty(rows, cols, dtype=torch.float64), gain, generator=generator)


def _fill(param: torch.Tensor, make) -> None:
    if param.device.type != "meta":
        with torch.no_grad():
            param.copy_(make())


class _TanhRecurrence(nn.Module):
    """Shared plumbing: validation, path dispatch, the tanh step and its closed-form Jacobian.

    A subclass sets `family` (the name stem of its path functions), builds its parameters
    and defines `pre_activation`, `recurrent_matrix` and `path_arguments`."""

    family = ""

    def __init__(self, input_dim: int, state_size: int, output_dim: int, *, path: str, dtype, device):
        super().__init__()
        name = type(self).__name__
        if input_dim < 1 or state_size < 1:
            raise ValueError(f"{name}: input_dim and state_size must be >= 1, got {input_dim}, {state_size}")
        if path not in PATHS:
            raise ValueError(f"{name}: path must be one of {PATHS}, got {path!r}")
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise ValueError(f"{name}: dtype must be a floating torch.dtype, got {dtype!r}")
        self.input_dim, self._state_size, self.output_dim, self.path = input_dim, state_size, output_dim, path
        self._factory = dict(dtype=dtype, device=device)

    @property
    def state_size(self) -> int:
        """Dimension of the recurrent state h."""
        return self._state_size

    def _parameter(self, *shape: int) -> nn.Parameter:
        return nn.Parameter(torch.zeros(*shape, **self._factory))

    # ---------------------------------------------------------------- validation
    def _dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def _check_sequence(self, x: torch.Tensor, h0: torch.Tensor | None) -> None:
        name = type(self).__name__
        if x.dim() != 3 or x.shape[-1] != self.input_dim:
            raise ValueError(f"{name}: x must be (batch, T, {self.input_dim}), got {tuple(x.shape)}")
        if x.dtype != self._dtype():
            raise ValueError(f"{name}: x has dtype {x.dtype}, the parameters {self._dtype()}")
        if h0 is not None and tuple(h0.shape) != (x.shape[0], self.state_size):
            raise ValueError(f"{name}: h0 must be ({x.shape[0]}, {self.state_size}) for x of shape "
                             f"{tuple(x.shape)}, got {tuple(h0.shape)}")

    def _check_step(self, h: torch.Tensor, x_t: torch.Tensor) -> None:
        name = type(self).__name__
        if h.dim() < 1 or h.shape[-1] != self.state_size:
            raise ValueError(f"{name}: h must be (..., {self.state_size}), got {tuple(h.shape)}")
        if x_t.dim() < 1 or x_t.shape[-1] != self.input_dim:
            raise ValueError(f"{name}: x_t must be (..., {self.input_dim}), got {tuple(x_t.shape)}")
        try:
            torch.broadcast_shapes(h.shape[:-1], x_t.shape[:-1])
        except RuntimeError:
            raise ValueError(f"{name}: leading dimensions of h {tuple(h.shape)} and x_t "
                             f"{tuple(x_t.shape)} do not broadcast") from None

    # ---------------------------------------------------------------- the recurrence
    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None):
        """(y (batch, T, output_dim), h_T (batch, state_size)) for x (batch, T, input_dim)."""
        self._check_sequence(x, h0)
        path = self.resolved_path
        run = getattr(fused if path == "fused" else naive, f"{self.family}_{path}")
        return run(*self.path_arguments(), x, h0)

    @property
    def resolved_path(self) -> str:
        """The path that runs: "auto" is the fused loop (the fastest on every device)."""
        return "fused" if self.path == "auto" else self.path

    def pre_activation(self, h: torch.Tensor, x_t: torch.Tensor) -> torch.Tensor:
        """z_t, the argument of the step's tanh, (..., state_size)."""
        raise NotImplementedError

    def recurrent_matrix(self) -> torch.Tensor:
        """The (state_size, state_size) matrix applied to h_{t-1} inside the tanh."""
        raise NotImplementedError

    def path_arguments(self) -> tuple:
        """The tensors `forward` passes to the path function (`fast.<family>_fast` or
        `naive.<family>_reference`) before x and h0, built at every call (so in training mode E1's and
        X-gated's power iteration advances, as in a forward). The hook for a variant that builds a
        matrix differently (impl.elman.variants.LowRankStockElman returns W_h = U V)."""
        raise NotImplementedError

    def step(self, h: torch.Tensor, x_t: torch.Tensor) -> torch.Tensor:
        """h_t = tanh(z_t) for h = h_{t-1} (..., state_size) and x_t (..., input_dim)."""
        self._check_step(h, x_t)
        return torch.tanh(self.pre_activation(h, x_t))

    def step_jacobian(self, h: torch.Tensor, x_t: torch.Tensor) -> torch.Tensor:
        """∂h_t/∂h_{t-1} = diag(tanh'(z_t)) · recurrent_matrix(), (..., state_size, state_size)."""
        self._check_step(h, x_t)
        return naive.tanh_derivative(self.pre_activation(h, x_t)).unsqueeze(-1) * self.recurrent_matrix()


class _SpectralNormMixin:
    """W_h normalised to spectral norm 0.99 by a 3-step power iteration (see the module docstring)."""

    def _init_spectral_norm(self, enabled: bool, generator) -> None:
        self.spectral_norm = enabled
        n = self.state_size
        self.register_buffer("spectral_u", torch.zeros(n, **self._factory))
        self.register_buffer("spectral_v", torch.zeros(n, **self._factory))
        if enabled and self.W_h.device.type != "meta":
            u0 = torch.randn(n, dtype=torch.float64, generator=generator)
            with torch.no_grad():
                self.spectral_u.copy_(u0 / u0.norm())
                self._advance_power_iteration()

    def _advance_power_iteration(self, steps: int = POWER_ITERATION_STEPS) -> None:
        with torch.no_grad():
            u, v = _power_iteration(self.W_h, self.spectral_u, steps)
            self.spectral_u.copy_(u)
            self.spectral_v.copy_(v)

    def refresh_spectral_norm(self, steps: int = POWER_ITERATION_STEPS) -> None:
        """Run `steps` power-iteration steps now, in any mode. Needed after W_h is edited or loaded
        outside training: in eval mode the stored u, v are otherwise stale, and σ̂ = abs(uᵀ W_h v)
        for a changed W_h can be far below σ_max (the normalised matrix then far above 0.99)."""
        if self.spectral_norm:
            self._advance_power_iteration(steps)

    def recurrent_matrix(self, dtype: torch.dtype | None = None) -> torch.Tensor:
        """W_h · 0.99 / σ̂ (or W_h itself with spectral_norm=False), computed in `dtype` (default:
        the parameters'); advances the iteration in training mode."""
        W = self.W_h if dtype is None else self.W_h.to(dtype)
        if not self.spectral_norm:
            return W
        if self.training:
            self._advance_power_iteration()
        sigma = (self.spectral_u.to(W.dtype) @ W @ self.spectral_v.to(W.dtype)).abs()
        return W * (SPECTRAL_TARGET / (sigma + _EPS))

    def _fast_path_dtype(self) -> torch.dtype | None:
        """float32 for a half-precision module on the fast path (which computes in float32), so
        that the normalisation's backward — a near-cancellation, since W_h ↦ W_h/σ̂ is scale
        invariant — is not done in bfloat16 either."""
        if self.resolved_path == "fused" and self.W_h.dtype in fused.HALF_PRECISION:
            return torch.float32
        return None


class StockElman(_TanhRecurrence):
    """h_t = tanh(W_x x_t + W_h h_{t-1} + b); the outputs are the states (output_dim = state_size).

    Init: W_x Xavier-uniform, W_h orthogonal × recurrent_gain (spectral norm recurrent_gain), b = 0."""

    family = "elman"

    def __init__(self, input_dim: int, state_size: int, *, recurrent_gain: float = 0.9,
                 dtype=torch.float32, device=None, path: str = "auto", generator=None):
        super().__init__(input_dim, state_size, state_size, path=path, dtype=dtype, device=device)
        self.W_x = self._parameter(state_size, input_dim)
        self.W_h = self._parameter(state_size, state_size)
        self.b = self._parameter(state_size)
        _fill(self.W_x, lambda: _xavier(state_size, input_dim, 1.0, generator))
        _fill(self.W_h, lambda: _orthogonal(state_size, state_size, recurrent_gain, generator))

    def pre_activation(self, h, x_t):
        return F.linear(x_t, self.W_x, self.b) + F.linear(h, self.W_h)

    def recurrent_matrix(self):
        return self.W_h

    def path_arguments(self):
        return self.W_x, self.W_h, self.b

    def extra_repr(self):
        return f"input_dim={self.input_dim}, state_size={self.state_size}, path={self.path!r}"


class ResidualElman(StockElman):
    """h_t = h_{t-1} + tanh(W_x x_t + W_h h_{t-1} + b): a skip connection around the tanh step,
    so ∂h_t/∂h_{t-1} = I + diag(tanh'(z_t)) W_h. The default recurrent_gain 0.5 keeps that
    Jacobian's norm at most 1.5 at init."""

    family = "residual_elman"

    def __init__(self, input_dim: int, state_size: int, *, recurrent_gain: float = 0.5,
                 dtype=torch.float32, device=None, path: str = "auto", generator=None):
        super().__init__(input_dim, state_size, recurrent_gain=recurrent_gain, dtype=dtype,
                         device=device, path=path, generator=generator)

    def step(self, h, x_t):
        self._check_step(h, x_t)
        return h + torch.tanh(self.pre_activation(h, x_t))

    def step_jacobian(self, h, x_t):
        eye = torch.eye(self.state_size, dtype=h.dtype, device=h.device)
        return eye + super().step_jacobian(h, x_t)


class E1Layer(_SpectralNormMixin, _TanhRecurrence):
    """E1 "Mamba-gated Elman" (REFERENCE §2): x, z = split(in_proj(x)); x = silu(x);
    h_t = tanh(W_x x_t + W_h h_{t-1} + b) with W_x, W_h (d_in, d_in), d_in = int(expansion·dim);
    y_t = out_proj(h_t ⊙ silu(z_t)). State size d_in (768 for the dim 512 / expansion 1.5 run).

    Init: in_proj, out_proj, W_x Xavier-uniform; W_h Xavier-uniform × recurrent_gain (the scale
    does not matter once spectral_norm rescales it to 0.99); b = 0."""

    family = "e1"

    def __init__(self, dim: int, expansion: float = 1.5, *, spectral_norm: bool = True,
                 recurrent_gain: float = 0.1, dtype=torch.float32, device=None, path: str = "auto",
                 generator=None):
        d_in = int(dim * expansion)
        if d_in < 1:
            raise ValueError(f"E1Layer: int(dim · expansion) must be >= 1, got dim={dim}, expansion={expansion}")
        super().__init__(dim, d_in, dim, path=path, dtype=dtype, device=device)
        self.dim, self.expansion, self.d_inner = dim, expansion, d_in
        self.in_proj = nn.Linear(dim, 2 * d_in, bias=False, **self._factory)
        self.W_x = self._parameter(d_in, d_in)
        self.W_h = self._parameter(d_in, d_in)
        self.b = self._parameter(d_in)
        self.out_proj = nn.Linear(d_in, dim, bias=False, **self._factory)
        _fill(self.in_proj.weight, lambda: _xavier(2 * d_in, dim, 1.0, generator))
        _fill(self.W_x, lambda: _xavier(d_in, d_in, 1.0, generator))
        _fill(self.W_h, lambda: _xavier(d_in, d_in, recurrent_gain, generator))
        _fill(self.out_proj.weight, lambda: _xavier(dim, d_in, 1.0, generator))
        self._init_spectral_norm(spectral_norm, generator)

    def pre_activation(self, h, x_t):
        x_part = F.linear(x_t, self.in_proj.weight[: self.d_inner])      # the x half of the split
        return F.linear(F.silu(x_part), self.W_x, self.b) + F.linear(h, self.recurrent_matrix())

    def path_arguments(self):
        return (self.in_proj.weight, self.W_x, self.recurrent_matrix(self._fast_path_dtype()), self.b,
                self.out_proj.weight)

    def extra_repr(self):
        return (f"dim={self.dim}, expansion={self.expansion}, d_inner={self.d_inner}, "
                f"spectral_norm={self.spectral_norm}, path={self.path!r}")


class E5Layer(_TanhRecurrence):
    """E5 "pure low-rank Elman" (REFERENCE §2): h_t = tanh(U_h V_h h_{t-1} + U_x V_x x_t + b),
    y_t = h_t ⊙ silu(U_z V_z x_t); each U (dim, rank), each V (rank, dim); no in/out projections,
    so state_size = dim and num_parameters = 6·dim·rank + dim.

    Init: every U and V orthogonal × 0.5 (so each product U V has singular values ≤ 0.25); b = 0."""

    family = "e5"

    def __init__(self, dim: int, rank: int, *, dtype=torch.float32, device=None, path: str = "auto",
                 generator=None):
        if not 1 <= rank <= dim:
            raise ValueError(f"E5Layer: rank must be in [1, dim={dim}], got {rank}")
        super().__init__(dim, dim, dim, path=path, dtype=dtype, device=device)
        self.dim, self.rank = dim, rank
        for name in ("h", "x", "z"):
            U, V = self._parameter(dim, rank), self._parameter(rank, dim)
            setattr(self, f"U_{name}", U)
            setattr(self, f"V_{name}", V)
            _fill(U, lambda: _orthogonal(dim, rank, 0.5, generator))
            _fill(V, lambda: _orthogonal(rank, dim, 0.5, generator))
        self.b = self._parameter(dim)

    def pre_activation(self, h, x_t):
        return F.linear(F.linear(h, self.V_h), self.U_h) + F.linear(F.linear(x_t, self.V_x), self.U_x, self.b)

    def recurrent_matrix(self):
        return self.U_h @ self.V_h

    def path_arguments(self):
        return self.U_h, self.V_h, self.U_x, self.V_x, self.U_z, self.V_z, self.b

    def extra_repr(self):
        return f"dim={self.dim}, rank={self.rank}, path={self.path!r}"


class XGatedElman(_SpectralNormMixin, _TanhRecurrence):
    """X-gated Elman (REFERENCE §2): x_t = in_proj(x_t); h_t = tanh(W_x x_t + W_h h_{t-1} + b);
    y_t = out_proj(h_t ⊙ silu(W_gate x_t + b_gate)); W_h spectrally normalised to 0.99.
    State size d_in = int(expansion·dim).

    Init: in_proj, out_proj, W_x, W_gate Xavier-uniform; W_h Xavier-uniform × recurrent_gain;
    biases 0."""

    family = "xgated"

    def __init__(self, dim: int, expansion: float = 1.0, *, spectral_norm: bool = True,
                 recurrent_gain: float = 1.0, dtype=torch.float32, device=None, path: str = "auto",
                 generator=None):
        d_in = int(dim * expansion)
        if d_in < 1:
            raise ValueError(f"XGatedElman: int(dim · expansion) must be >= 1, got dim={dim}, "
                             f"expansion={expansion}")
        super().__init__(dim, d_in, dim, path=path, dtype=dtype, device=device)
        self.dim, self.expansion, self.d_inner = dim, expansion, d_in
        self.in_proj = nn.Linear(dim, d_in, bias=False, **self._factory)
        self.W_x = self._parameter(d_in, d_in)
        self.W_h = self._parameter(d_in, d_in)
        self.b = self._parameter(d_in)
        self.W_gate = self._parameter(d_in, d_in)
        self.b_gate = self._parameter(d_in)
        self.out_proj = nn.Linear(d_in, dim, bias=False, **self._factory)
        _fill(self.in_proj.weight, lambda: _xavier(d_in, dim, 1.0, generator))
        _fill(self.W_x, lambda: _xavier(d_in, d_in, 1.0, generator))
        _fill(self.W_h, lambda: _xavier(d_in, d_in, recurrent_gain, generator))
        _fill(self.W_gate, lambda: _xavier(d_in, d_in, 1.0, generator))
        _fill(self.out_proj.weight, lambda: _xavier(dim, d_in, 1.0, generator))
        self._init_spectral_norm(spectral_norm, generator)

    def pre_activation(self, h, x_t):
        return F.linear(F.linear(x_t, self.in_proj.weight), self.W_x, self.b) + F.linear(h, self.recurrent_matrix())

    def path_arguments(self):
        return (self.in_proj.weight, self.W_x, self.recurrent_matrix(self._fast_path_dtype()), self.b,
                self.W_gate, self.b_gate, self.out_proj.weight)

    def extra_repr(self):
        return (f"dim={self.dim}, expansion={self.expansion}, d_inner={self.d_inner}, "
                f"spectral_norm={self.spectral_norm}, path={self.path!r}")
