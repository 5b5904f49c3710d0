"""The diagonal linear RNN (LRU) as a module, with explicit shapes, dtype and device.

    x_k = λ ⊙ x_{k-1} + (γ ⊙ B) u_k,   y_k = Re(C x_k) + D ⊙ u_k   (y_k = x_k without a readout)

λ = exp(−exp(ν_log) + i·exp(θ_log)) (the LRU's stable parametrisation: |λ| < 1 for every
finite ν_log), γ = exp(γ_log) the input normalisation, initialised to √(1 − |λ|²) so that a
white-noise input gives states of unit variance. A real model keeps λ = exp(−exp(ν_log)) in
(0, 1) and real B, C. The ring initialisation (Orvieto et al. 2023, arXiv 2303.06349) draws
u1, u2 ~ U[0, 1) and sets |λ|² = u1 (r_max² − r_min²) + r_min², arg λ = max_phase · u2, so
|λ|² is uniform on [r_min², r_max²] and λ uniform on the annulus for a full phase.

Readout and initialisation as in the paper's own code (its appendix, `init_lru_parameters` and
`forward`, N the state and H the model dimension): y_k = Re(C x_k) + D ⊙ u_k, with
    B_re, B_im ~ N(0, 1/(2H)) each,   C_re, C_im ~ N(0, 1/N) each,   D ~ N(0, 1) of shape (H,).
Read from a verbatim copy of that appendix code and from the faithful JAX reimplementation
NicolasZucchet/minimal-LRU (lru/model.py: `matrix_init` with normalization √(2·d_model) for B,
√d_hidden for C, plain N(0, 1) for D, and `(C @ h).real + D * x`). So E|(B u)_n|² = 1 for unit
inputs, γ keeps E|x_n|² = 1, and Re(C x) has variance N · (1/N) · 1 = 1 per output.
Here H splits into input_dim m (B: std (2m)^-½ per part) and output_dim p (C: std N^-½ per
part); D ⊙ u needs u and y in the same space, so the skip exists only when p = m (`skip=None`
decides that; `skip=True` demands it, `skip=False` drops it). Without a readout (output_dim
None) the module returns the states and has no D. A real model draws B ~ N(0, 1/m) and
C ~ N(0, 1/N) (the same variances of B u and of y) and the same D.
"""

from __future__ import annotations

import importlib.util
import math

import torch
from torch import nn

from ..parameters import num_parameters  # re-exported: impl.diagonal_rnn.num_parameters
from .naive import diagonal_rnn_reference
from .compiled import compiled_usable, diagonal_rnn_compiled
from .chunked import compute_dtype, diagonal_rnn_scan

PATHS = ("auto", "chunked", "compiled", "triton", "reference")


def _check_ring(r_min: float, r_max: float, max_phase: float, where: str) -> None:
    if not 0.0 <= r_min < r_max <= 1.0:
        raise ValueError(f"{where}: need 0 <= r_min < r_max <= 1, got r_min={r_min}, r_max={r_max}")
    if not max_phase > 0.0:
        raise ValueError(f"{where}: max_phase must be > 0, got {max_phase}")


def lru_ring_parameters(n: int, r_min: float = 0.0, r_max: float = 1.0, max_phase: float = 2 * math.pi, *,
                        generator: torch.Generator | None = None, dtype=torch.float64,
                        device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(ν_log, θ_log), each (n,), of n eigenvalues drawn by the ring initialisation.

    Drawn in float64 (on the generator's device when one is given) and then cast, so a seed
    gives the same eigenvalues in every dtype up to rounding. ν_log = +inf (λ = 0) has
    probability 2^-53 when r_min = 0.
    """
    _check_ring(r_min, r_max, max_phase, "lru_ring_parameters")
    if n < 0:
        raise ValueError(f"lru_ring_parameters: n must be >= 0, got {n}")
    draw_on = generator.device if generator is not None else device
    u1 = torch.rand(n, generator=generator, dtype=torch.float64, device=draw_on)
    u2 = torch.rand(n, generator=generator, dtype=torch.float64, device=draw_on)
    modulus_sq = u1 * (r_max ** 2 - r_min ** 2) + r_min ** 2     # uniform on [r_min², r_max²)
    nu = -0.5 * torch.log(modulus_sq)                            # |λ| = exp(−ν)
    theta = max_phase * u2
    return (torch.log(nu).to(dtype=dtype, device=device), torch.log(theta).to(dtype=dtype, device=device))


def eigenvalues_from_parameters(nu_log: torch.Tensor, theta_log: torch.Tensor | None) -> torch.Tensor:
    """λ = exp(−exp(ν_log) + i exp(θ_log)); real λ = exp(−exp(ν_log)) when θ_log is None."""
    if theta_log is None:
        return torch.exp(-torch.exp(nu_log))
    return torch.exp(torch.complex(-torch.exp(nu_log), torch.exp(theta_log)))


def lru_ring_init(n: int, r_min: float = 0.0, r_max: float = 1.0, max_phase: float = 2 * math.pi, *,
                  generator: torch.Generator | None = None, dtype=torch.complex64, device=None) -> torch.Tensor:
    """n eigenvalues (n,) of the ring initialisation, through the stored (ν_log, θ_log)
    parametrisation. A real `dtype` gives the moduli |λ| (the real model's eigenvalues)."""
    real_dtype = dtype.to_real() if dtype.is_complex else dtype
    nu_log, theta_log = lru_ring_parameters(n, r_min, r_max, max_phase, generator=generator,
                                            dtype=torch.float64, device=device)
    lam = eigenvalues_from_parameters(nu_log, theta_log if dtype.is_complex else None)
    return lam.to(dtype) if dtype.is_complex else lam.to(real_dtype)


def vandermonde_matrix(nodes: torch.Tensor, columns: int) -> torch.Tensor:
    """V (N, columns) with V[n, j] = nodes[n]^j, j = 0..columns−1: with scalar input and B = 1,
    x_L = V ū for the reversed inputs ū = (u_L, …, u_1). Built by repeated multiplication
    (cumprod), so small dyadic nodes give exact entries."""
    if nodes.dim() != 1:
        raise ValueError(f"vandermonde_matrix: nodes must be (N,), got shape {tuple(nodes.shape)}")
    if columns < 0:
        raise ValueError(f"vandermonde_matrix: columns must be >= 0, got {columns}")
    ones = torch.ones(nodes.shape[0], 1, dtype=nodes.dtype, device=nodes.device)
    if columns <= 1:
        return ones[:, :columns]
    powers = torch.cumprod(nodes.unsqueeze(1).expand(-1, columns - 1), dim=1)
    return torch.cat([ones, powers], dim=1)


def _triton_module():
    from . import triton_scan  # imported on first use: see its docstring on TRITON_INTERPRET
    return triton_scan


class DiagonalLinearRNN(nn.Module):
    """x_k = λ ⊙ x_{k-1} + (γ ⊙ B) u_k, y_k = Re(C x_k) + D ⊙ u_k: the LRU.

    state_dim N, input_dim m, output_dim p (None: no readout, the module returns the states).
    skip: the paper's D ⊙ u term (None: present exactly when p = m; True: present, needs p = m;
    False: absent). Initial values as in the paper's code (see the module docstring).
    complex: complex λ, B, C (the LRU) or real ones. r_min, r_max, max_phase: the ring
    initialisation of λ. dtype: the real dtype of the parameters (complex quantities are
    stored as real and imaginary parts, so optimisers treat them as real numbers).
    path: "chunked" (chunked torch scan, chunked.py), "compiled" (numba-compiled CPU loop, compiled.py),
    "reference" (step loop), "triton" (Triton kernel), "auto" (the default: Triton on CUDA when
    triton is installed, the compiled loop on a CPU when numba is installed, else the chunked scan).
    """

    def __init__(self, state_dim: int, input_dim: int, output_dim: int | None = None, *, complex: bool = True,
                 r_min: float = 0.0, r_max: float = 1.0, max_phase: float = 2 * math.pi,
                 dtype=torch.float32, device=None, path: str = "auto", skip: bool | None = None,
                 generator: torch.Generator | None = None):
        super().__init__()
        if state_dim < 1 or input_dim < 1 or (output_dim is not None and output_dim < 1):
            raise ValueError(f"DiagonalLinearRNN: state_dim, input_dim (and output_dim) must be >= 1, got "
                             f"{state_dim}, {input_dim}, {output_dim}")
        if skip is None:
            skip = output_dim == input_dim
        elif skip and output_dim != input_dim:
            raise ValueError(f"DiagonalLinearRNN: skip=True (y += D ⊙ u) needs output_dim == input_dim, got "
                             f"input_dim={input_dim}, output_dim={output_dim}")
        _check_ring(r_min, r_max, max_phase, "DiagonalLinearRNN")
        if not dtype.is_floating_point:
            raise ValueError(f"DiagonalLinearRNN: dtype must be a real floating dtype (complex quantities "
                             f"are stored as two real parameters), got {dtype}")
        if complex and dtype not in (torch.float32, torch.float64):
            raise ValueError(f"DiagonalLinearRNN: a complex model needs dtype float32 or float64 "
                             f"(torch has no complex {str(dtype).removeprefix('torch.')}), got {dtype}")
        if path not in PATHS:
            raise ValueError(f"DiagonalLinearRNN: path must be one of {PATHS}, got {path!r}")
        self.state_dim, self.input_dim, self.output_dim = state_dim, input_dim, output_dim
        self.is_complex, self.path, self.skip = complex, path, skip
        self.r_min, self.r_max, self.max_phase = r_min, r_max, max_phase
        kw = {"dtype": dtype, "device": device}
        randn_on = generator.device if generator is not None else device

        def randn(*shape, std):
            return (torch.randn(*shape, generator=generator, dtype=torch.float64, device=randn_on) * std).to(**kw)

        nu_log, theta_log = lru_ring_parameters(state_dim, r_min, r_max, max_phase, generator=generator, **kw)
        self.nu_log = nn.Parameter(nu_log)
        self.theta_log = nn.Parameter(theta_log) if complex else None
        modulus_sq = torch.exp(-2 * torch.exp(nu_log.double()))
        self.gamma_log = nn.Parameter((0.5 * torch.log1p(-modulus_sq)).to(**kw))   # γ = √(1 − |λ|²)
        # the paper's code: B's two parts share the variance 1/m; C's each have 1/N, since Re(C x)
        # keeps only half of C x's variance; D ~ N(0, 1). Drawn in this order (B, C, D).
        parts = 2 if complex else 1
        self.B_re = nn.Parameter(randn(state_dim, input_dim, std=(parts * input_dim) ** -0.5))
        self.B_im = nn.Parameter(randn(state_dim, input_dim, std=(2 * input_dim) ** -0.5)) if complex else None
        if output_dim is None:
            self.C_re = self.C_im = None
        else:
            self.C_re = nn.Parameter(randn(output_dim, state_dim, std=state_dim ** -0.5))
            self.C_im = nn.Parameter(randn(output_dim, state_dim, std=state_dim ** -0.5)) if complex else None
        self.D = nn.Parameter(randn(input_dim, std=1.0)) if skip else None

    # ------------------------------------------------------------ the quantities of the recurrence

    @property
    def state_size(self) -> int:
        """N, the number of state coordinates (complex numbers for a complex model)."""
        return self.state_dim

    @property
    def real_state_size(self) -> int:
        """Real numbers held by the state: 2N for a complex model, N for a real one."""
        return self.state_dim * (2 if self.is_complex else 1)

    @property
    def num_parameters(self) -> int:
        """Real scalars the model trains (`impl.parameters.num_parameters`; λ, B, C are stored as
        real and imaginary parts, so each complex number counts as 2)."""
        return num_parameters(self)

    @property
    def dtype(self) -> torch.dtype:
        """The real dtype of the parameters (read from them, so it follows `.to(dtype)`)."""
        return self.nu_log.dtype

    @property
    def state_dtype(self) -> torch.dtype:
        """The dtype of the states: the complex counterpart of `dtype` for a complex model."""
        return self.dtype.to_complex() if self.is_complex else self.dtype

    def _upcast(self, p: torch.Tensor | None) -> torch.Tensor | None:
        # half-precision parameters: λ and γ ⊙ B are formed in float32 (λ^t amplifies a rounded λ t-fold)
        return None if p is None else p.to(compute_dtype(p.dtype))

    @property
    def eigenvalues(self) -> torch.Tensor:
        """λ (N,), complex or real: the diagonal of Λ (float32 for half-precision parameters)."""
        return eigenvalues_from_parameters(self._upcast(self.nu_log), self._upcast(self.theta_log))

    @property
    def gamma(self) -> torch.Tensor:
        """The input normalisation γ (N,)."""
        return torch.exp(self._upcast(self.gamma_log))

    @property
    def input_matrix(self) -> torch.Tensor:
        """The effective input map γ ⊙ B (N, m), complex for a complex model."""
        B_re, B_im = self._upcast(self.B_re), self._upcast(self.B_im)
        return self.gamma.unsqueeze(1) * (B_re if B_im is None else torch.complex(B_re, B_im))

    @property
    def skip_weights(self) -> torch.Tensor | None:
        """D (p,) of the skip term D ⊙ u_k, or None without one."""
        return self.D

    @property
    def readout_matrix(self) -> torch.Tensor | None:
        """C (p, N), or None without a readout."""
        if self.C_re is None:
            return None
        return self.C_re if self.C_im is None else torch.complex(self.C_re, self.C_im)

    # ------------------------------------------------------------ running it

    def resolved_path(self, device: torch.device | str) -> str:
        """The path that runs on `device`: "auto" becomes "triton" on CUDA with triton installed,
        "compiled" on a CPU with numba installed, else "chunked"."""
        if self.path != "auto":
            return self.path
        if torch.device(device).type == "cuda" and importlib.util.find_spec("triton") is not None:
            return "triton" if _triton_module().triton_usable(device) else "chunked"
        return "compiled" if compiled_usable(self.state_dtype, device) else "chunked"

    def _states(self, u: torch.Tensor, h0: torch.Tensor | None) -> torch.Tensor:
        """The states in the compute precision (float32 for half-precision parameters)."""
        if u.dim() != 3 or u.shape[-1] != self.input_dim:
            raise ValueError(f"DiagonalLinearRNN: u must be (batch, T, {self.input_dim}), got shape {tuple(u.shape)}")
        if u.is_complex() or not u.is_floating_point():
            raise ValueError(f"DiagonalLinearRNN: u must be real floating point, got {u.dtype} "
                             f"of shape {tuple(u.shape)}")
        if h0 is not None and tuple(h0.shape) != (u.shape[0], self.state_dim):
            raise ValueError(f"DiagonalLinearRNN: h0 must be ({u.shape[0]}, {self.state_dim}), "
                             f"got shape {tuple(h0.shape)}")
        path = self.resolved_path(u.device)
        if path == "chunked":
            fn = diagonal_rnn_scan
        elif path == "compiled":
            fn = diagonal_rnn_compiled
        elif path == "reference":
            fn = diagonal_rnn_reference
        else:
            fn = _triton_module().diagonal_rnn_triton
        lam = self.eigenvalues
        return fn(lam, self.input_matrix, u.to(lam.dtype.to_real()), h0)

    def states(self, u: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        """All states x_1..x_T (batch, T, N), in `state_dtype`, for real inputs u (batch, T, m)."""
        return self._states(u, h0).to(self.state_dtype)

    def forward(self, u: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs y (batch, T, p) = Re(C x_k) + D ⊙ u_k in `dtype`, or the states (batch, T, N)
        without a readout. Half-precision models read out in float32 and round once."""
        x = self._states(u, h0)
        if self.C_re is None:
            return x.to(self.state_dtype)
        C_re, C_im = self._upcast(self.C_re), self._upcast(self.C_im)
        y = x @ (C_re if C_im is None else torch.complex(C_re, C_im)).T
        y = y.real if y.is_complex() else y
        if self.D is not None:
            y = y + self._upcast(self.D) * u.to(y.dtype)
        return y.to(self.dtype)

    def final_state(self, u: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        """x_T (batch, N); h0 (or zeros) when T = 0."""
        x = self.states(u, h0)
        if x.shape[1] > 0:
            return x[:, -1]
        return torch.zeros(u.shape[0], self.state_dim, dtype=self.state_dtype, device=u.device) if h0 is None else h0
