"""The Mamba2 layer (SSD form) as a module, with explicit shapes, dtype and device.

    z, xBC, dt_raw = split(in_proj(u))                  u (batch, T, dim)
    xBC = silu(causal depthwise conv1d(xBC))            kernel d_conv over time, one filter per channel
    x, B, C = split(xBC)                                x (d_inner = expand·dim), B and C (d_state)
    Δ = softplus(dt_raw + dt_bias)                      one Δ per head and step, from the input only
    A = −exp(A_log)                                     one negative scalar per head
    y, S = SSD(x (heads × headdim), Δ, A, B, C, D)      the SSM core (impl.ssm.naive / chunked)
    out = out_proj(RMSNorm(y ⊙ silu(z)))                gated RMSNorm as Mamba2's (norm after the gate)

Simplifications kept on purpose: one group (B and C are shared by all heads, Mamba2's default
ngroups = 1), no bias in the projections, no Δ clamping, no "D has headdim" option. The
initialisation follows Mamba2: Δ log-uniform in [dt_min, dt_max] through dt_bias = softplus⁻¹(Δ),
A uniform in [1, 16] (as −A), D = 1, norm weight 1; the depthwise conv's weight and bias uniform
in ±1/√d_conv (nn.Conv1d's default), the projections nn.Linear's default. Drawn from torch's
global generator (seed it with torch.manual_seed for a fixed layer).

The layer's recurrent state is two parts: the SSM state S (batch, heads, headdim, d_state) and the
convolution's window of the last d_conv − 1 pre-conv inputs (batch, conv_dim, d_conv − 1). Both
start at zero; `forward` can take and return them, and `step` advances them by one token.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..parameters import num_parameters  # re-exported: impl.ssm.num_parameters
from . import chunked, naive

PATHS = ("auto", "chunked", "reference")     # "auto": the chunked algorithm


class Mamba2Layer(nn.Module):
    """A Mamba2 (SSD) mixer layer: (batch, T, dim) → (batch, T, dim). See the module docstring."""

    def __init__(self, dim: int, d_state: int = 64, expand: int = 2, headdim: int = 64, d_conv: int = 4, *,
                 chunk_size: int = 64, dt_min: float = 1e-3, dt_max: float = 0.1, norm_eps: float = 1e-5,
                 dtype=torch.float32, device=None, path: str = "auto"):
        super().__init__()
        for name, value in (("dim", dim), ("d_state", d_state), ("expand", expand), ("headdim", headdim),
                            ("d_conv", d_conv), ("chunk_size", chunk_size)):
            if value < 1:
                raise ValueError(f"Mamba2Layer: {name} must be >= 1, got {value}")
        if (expand * dim) % headdim:
            raise ValueError(f"Mamba2Layer: expand·dim = {expand * dim} must be a multiple of headdim = {headdim}")
        if path not in PATHS:
            raise ValueError(f"Mamba2Layer: path must be one of {PATHS}, got {path!r}")
        if not 0 < dt_min <= dt_max:
            raise ValueError(f"Mamba2Layer: need 0 < dt_min <= dt_max, got {dt_min}, {dt_max}")
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise ValueError(f"Mamba2Layer: dtype must be a real floating torch.dtype, got {dtype!r}")
        kw = dict(dtype=dtype, device=device)
        self.dim, self.d_state, self.expand, self.headdim, self.d_conv = dim, d_state, expand, headdim, d_conv
        self.d_inner = expand * dim
        self.nheads = self.d_inner // headdim
        self.conv_dim = self.d_inner + 2 * d_state           # the conv runs over x, B and C together
        self.chunk_size, self.norm_eps, self.path = chunk_size, norm_eps, path

        self.in_proj = nn.Linear(dim, 2 * self.d_inner + 2 * d_state + self.nheads, bias=False, **kw)
        self.conv_weight = nn.Parameter(torch.empty(self.conv_dim, 1, d_conv, **kw))
        self.conv_bias = nn.Parameter(torch.empty(self.conv_dim, **kw))
        bound = 1 / math.sqrt(d_conv)                         # nn.Conv1d's default init for fan_in = d_conv
        nn.init.uniform_(self.conv_weight, -bound, bound)
        nn.init.uniform_(self.conv_bias, -bound, bound)
        # Δ at init: log-uniform in [dt_min, dt_max]; dt_bias = softplus⁻¹(Δ) = Δ + log(1 − exp(−Δ))
        log_dt = torch.rand(self.nheads, **kw) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        dt = torch.exp(log_dt)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.empty(self.nheads, **kw).uniform_(1, 16)))
        self.D = nn.Parameter(torch.ones(self.nheads, **kw))
        self.norm_weight = nn.Parameter(torch.ones(self.d_inner, **kw))
        self.out_proj = nn.Linear(self.d_inner, dim, bias=False, **kw)

    # ------------------------------------------------------------------ sizes

    @property
    def state_size(self) -> int:
        """Scalars in the SSM state per sequence: heads · headdim · d_state (= d_inner · d_state)."""
        return self.nheads * self.headdim * self.d_state

    @property
    def conv_state_size(self) -> int:
        """Scalars in the convolution's window per sequence: conv_dim · (d_conv − 1)."""
        return self.conv_dim * (self.d_conv - 1)

    @property
    def num_parameters(self) -> int:
        """Real scalars the layer trains (`impl.parameters.num_parameters`)."""
        return num_parameters(self)

    @property
    def A(self) -> torch.Tensor:
        """The per-head decay rate, A = −exp(A_log) < 0, (heads,)."""
        return -torch.exp(self.A_log)

    def initial_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero (ssm_state (batch, heads, headdim, d_state), conv_state (batch, conv_dim, d_conv − 1))."""
        p = self.in_proj.weight
        return (p.new_zeros(batch, self.nheads, self.headdim, self.d_state),
                p.new_zeros(batch, self.conv_dim, self.d_conv - 1))

    # ------------------------------------------------------------------ pieces shared by forward and step

    def _check_dtype(self, u: torch.Tensor, name: str):
        if u.dtype != self.in_proj.weight.dtype:
            raise ValueError(f"Mamba2Layer: {name} has dtype {u.dtype}, the parameters {self.in_proj.weight.dtype}")

    def _check_states(self, batch: int, ssm_state, conv_state):
        if ssm_state is not None and ssm_state.shape != (batch, self.nheads, self.headdim, self.d_state):
            raise ValueError(f"Mamba2Layer: ssm_state must be ({batch}, {self.nheads}, {self.headdim}, "
                             f"{self.d_state}), got {tuple(ssm_state.shape)}")
        if conv_state is not None and conv_state.shape != (batch, self.conv_dim, self.d_conv - 1):
            raise ValueError(f"Mamba2Layer: conv_state must be ({batch}, {self.conv_dim}, {self.d_conv - 1}), "
                             f"got {tuple(conv_state.shape)}")

    def _split_projection(self, u: torch.Tensor):
        z, xBC, dt_raw = torch.split(self.in_proj(u), [self.d_inner, self.conv_dim, self.nheads], dim=-1)
        return z, xBC, dt_raw

    def _conv(self, xBC: torch.Tensor, conv_state: torch.Tensor | None):
        """Causal depthwise conv over time of xBC (batch, T, conv_dim), preceded by the window
        conv_state (zeros if None). Returns silu(conv) (batch, T, conv_dim) and the new window."""
        batch = xBC.shape[0]
        if conv_state is None:
            conv_state = xBC.new_zeros(batch, self.conv_dim, self.d_conv - 1)
        if xBC.shape[1] == 0:                        # an empty sequence leaves the window as it was
            return xBC, conv_state
        window = torch.cat([conv_state, xBC.transpose(1, 2)], dim=-1)      # (batch, conv_dim, d_conv−1+T)
        out = F.conv1d(window, self.conv_weight, self.conv_bias, groups=self.conv_dim)
        return F.silu(out.transpose(1, 2)), window[..., window.shape[-1] - (self.d_conv - 1):]

    def _ssm_inputs(self, xBC: torch.Tensor, dt_raw: torch.Tensor):
        """Heads' inputs x (..., H, P), Δ (..., H), B and C (..., H, N) broadcast over heads."""
        x, B, C = torch.split(xBC, [self.d_inner, self.d_state, self.d_state], dim=-1)
        x = x.unflatten(-1, (self.nheads, self.headdim))
        heads = (*B.shape[:-1], self.nheads, self.d_state)
        B, C = B.unsqueeze(-2).expand(heads), C.unsqueeze(-2).expand(heads)
        dt = F.softplus(dt_raw + self.dt_bias)
        return x, dt, B, C

    def _output(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """out_proj(RMSNorm(y ⊙ silu(z))) for y and z (..., d_inner)."""
        g = y * F.silu(z)
        g = g * torch.rsqrt(g.pow(2).mean(-1, keepdim=True) + self.norm_eps) * self.norm_weight
        return self.out_proj(g)

    # ------------------------------------------------------------------ the layer

    def forward(self, u: torch.Tensor, ssm_state: torch.Tensor | None = None,
                conv_state: torch.Tensor | None = None, *, return_state: bool = False):
        """u (batch, T, dim) → out (batch, T, dim); with return_state also (ssm_state, conv_state) at the end."""
        if u.dim() != 3 or u.shape[-1] != self.dim:
            raise ValueError(f"Mamba2Layer: u must be (batch, T, {self.dim}), got {tuple(u.shape)}")
        self._check_dtype(u, "u")
        batch = u.shape[0]
        self._check_states(batch, ssm_state, conv_state)
        z, xBC, dt_raw = self._split_projection(u)
        xBC, conv_state = self._conv(xBC, conv_state)
        x, dt, B, C = self._ssm_inputs(xBC, dt_raw)
        if self.path in ("auto", "chunked"):
            y, ssm_state = chunked.ssd_chunked(x, dt, self.A, B, C, self.D, ssm_state, chunk_size=self.chunk_size)
        else:
            y, ssm_state = naive.ssd_reference(x, dt, self.A, B, C, self.D, ssm_state)
        out = self._output(y.flatten(-2), z)
        return (out, (ssm_state, conv_state)) if return_state else out

    def step(self, u_t: torch.Tensor, ssm_state: torch.Tensor, conv_state: torch.Tensor):
        """One token: u_t (batch, dim), states as from `initial_state`. Returns (out_t (batch, dim),
        new ssm_state, new conv_state). The SSM part is `naive.ssd_step`: its decay exp(Δ_t A)
        depends on u_t (through Δ_t) and never on ssm_state."""
        if u_t.dim() != 2 or u_t.shape[-1] != self.dim:
            raise ValueError(f"Mamba2Layer.step: u_t must be (batch, {self.dim}), got {tuple(u_t.shape)}")
        self._check_dtype(u_t, "u_t")
        self._check_states(u_t.shape[0], ssm_state, conv_state)
        z, xBC, dt_raw = self._split_projection(u_t[:, None])
        xBC, conv_state = self._conv(xBC, conv_state)
        x, dt, B, C = self._ssm_inputs(xBC[:, 0], dt_raw[:, 0])
        y, ssm_state = naive.ssd_step(ssm_state, x, dt, self.A, B, C, self.D)
        return self._output(y.flatten(-2), z[:, 0]), ssm_state, conv_state

    def extra_repr(self) -> str:
        return (f"dim={self.dim}, d_state={self.d_state}, expand={self.expand}, headdim={self.headdim}, "
                f"nheads={self.nheads}, d_conv={self.d_conv}, path={self.path!r}")
