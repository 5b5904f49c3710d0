"""The linear RNN as a module, with explicit shapes, dtype and device."""

from __future__ import annotations

import torch
from torch import nn

from .chunked import linear_rnn_chunked
from .naive import linear_rnn_reference
from .scan import linear_rnn_scan

# "chunked": the fast path (CPU); "scan": the log-depth parallel form; "reference": the step loop
PATHS = {"chunked": linear_rnn_chunked, "scan": linear_rnn_scan, "reference": linear_rnn_reference,
         "auto": linear_rnn_chunked}                # "auto": the chunked fast path


class LinearRNN(nn.Module):
    """h_t = A h_{t-1} + B x_t, y_t = C h_t.

    state_dim n, input_dim m, output_dim p (None: no readout, y = h).
    rank r (None: dense A): A = U V with U (n, r), V (r, n), so rank A ≤ r while
    the state keeps dimension n.

    path: "chunked" (the fast path, `chunked.linear_rnn_chunked`), "scan" (the log-depth parallel
    form, `scan.linear_rnn_scan`: ⌈log2 T⌉ rounds of n × n products, slower on a CPU) or "reference"
    (the step loop); all three compute the same states.

    Init (Gaussian, from `generator` when given): dense A entries N(0, 0.81/n), so by the
    circular law its spectral radius is ≈ 0.9 for large n; low-rank U, V entries N(0, f²) with
    f² = 0.9/√(r n), which gives U V the same spectral radius ≈ 0.9 for large r (for small r the
    radius scatters around a smaller value: one eigenvalue, N(0, 0.81) for r = 1); B entries
    N(0, 1/m), C entries N(0, 1/n).
    """

    def __init__(self, state_dim: int, input_dim: int, output_dim: int | None = None, *,
                 rank: int | None = None, dtype=torch.float32, device=None, path: str = "auto",
                 generator: torch.Generator | None = None):
        super().__init__()
        if state_dim < 1 or input_dim < 1 or (output_dim is not None and output_dim < 1):
            raise ValueError(f"LinearRNN: state_dim, input_dim (and output_dim) must be >= 1, got "
                             f"{state_dim}, {input_dim}, {output_dim}")
        if rank is not None and not 0 <= rank <= state_dim:
            raise ValueError(f"LinearRNN: rank must be in [0, state_dim={state_dim}], got {rank}")
        if path not in PATHS:
            raise ValueError(f"LinearRNN: path must be one of {sorted(PATHS)}, got {path!r}")
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise ValueError(f"LinearRNN: dtype must be a real floating torch.dtype, got {dtype!r}")
        kw = dict(dtype=dtype, device=device, generator=generator)
        self.state_dim, self.input_dim, self.rank, self.path = state_dim, input_dim, rank, path
        scale = 0.9 / state_dim ** 0.5                 # keeps the spectral radius below ~1 at init
        if rank is None:
            self.A = nn.Parameter(torch.randn(state_dim, state_dim, **kw) * scale)
        else:
            # U V's nonzero eigenvalues are those of V U (r × r, entries of variance n·f⁴ for factor
            # entries of scale f): radius ≈ √(r n)·f², so f² = 0.9/√(r n) matches the dense case
            factor = (0.9 / max(rank * state_dim, 1) ** 0.5) ** 0.5
            self.U = nn.Parameter(torch.randn(state_dim, rank, **kw) * factor)
            self.V = nn.Parameter(torch.randn(rank, state_dim, **kw) * factor)
        self.B = nn.Parameter(torch.randn(state_dim, input_dim, **kw) / input_dim ** 0.5)
        self.C = (nn.Parameter(torch.randn(output_dim, state_dim, **kw) / state_dim ** 0.5)
                  if output_dim is not None else None)

    @property
    def transition(self) -> torch.Tensor:
        """The recurrent matrix A (n, n) — U V for a low-rank model."""
        return self.A if self.rank is None else self.U @ self.V

    def states(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        """All states h_1..h_T, (batch, T, n), for inputs x (batch, T, m) of the parameters' dtype."""
        if x.dim() != 3 or x.shape[-1] != self.input_dim:
            raise ValueError(f"LinearRNN: x must be (batch, T, {self.input_dim}), got {tuple(x.shape)}")
        if x.dtype != self.B.dtype:
            raise ValueError(f"LinearRNN: x has dtype {x.dtype}, the parameters {self.B.dtype}")
        if h0 is not None and h0.shape != (x.shape[0], self.state_dim):
            raise ValueError(f"LinearRNN: h0 must be ({x.shape[0]}, {self.state_dim}), got {tuple(h0.shape)}")
        return PATHS[self.path](self.transition, self.B, x, h0)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        h = self.states(x, h0)
        return h if self.C is None else h @ self.C.T


def krylov_matrix(A: torch.Tensor, B: torch.Tensor, steps: int) -> torch.Tensor:
    """[B, A B, …, A^{steps-1} B] (n, m·steps): its column space is the set of states reachable in
    `steps` steps from h_0 = 0 (the controllability matrix when steps = n)."""
    blocks, block = [], B
    for _ in range(steps):
        blocks.append(block)
        block = A @ block
    return torch.cat(blocks, dim=1) if blocks else B.new_zeros(B.shape[0], 0)
