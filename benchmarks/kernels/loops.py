"""The diagonal scan's compiled bound: the plainest time-major loops numba compiles, for timing only.

x_t = a_t ⊙ x_{t−1} + v_t over (B, T, N) float arrays, parallel over batch rows, innermost over
contiguous channels; the backward is the adjoint loop δ_t = g_t + a_{t+1} ⊙ δ_{t+1},
∂v = δ, ∂a_t = δ_t ⊙ x_{t−1} (x_0 = 0). No complex numbers, no shared diagonals, no h0, no
autograd: the least work any scan that returns its states (and, backwards, its two gradients)
must do. impl/diagonal_rnn/compiled.py is the product; this is what it is measured against
(written independently, so a slowdown planted in the product does not move the bound).

`loop_forward(a, v, empty)` and `loop_forward_backward(a, v, g, empty)` return fresh arrays, as the
product does, allocated by `empty(like)`: the benchmark passes torch's allocator, the product's. (The
first touch of a new 32 MiB output costs ~3× the pass itself on this VM; numpy's own allocator
asks Linux for transparent huge pages, which makes that touch cheap on average but stalls at
random on compaction — 4 ms median one round, 42 ms the next — so a bound allocated by numpy
would measure the allocator, not the loop.) `loop_forward_into(a, v, out)` writes into a
preallocated output.
"""

from __future__ import annotations

import numpy as np

try:
    from numba import njit, prange
except ImportError:                     # the benchmark then lists the bound as unavailable
    njit = None

if njit is not None:
    @njit(parallel=True, cache=True)
    def loop_forward_into(a, v, out):
        B, T, N = v.shape
        for b in prange(B):
            for n in range(N):
                out[b, 0, n] = v[b, 0, n]
            for t in range(1, T):
                for n in range(N):
                    out[b, t, n] = a[b, t, n] * out[b, t - 1, n] + v[b, t, n]

    @njit(parallel=True, cache=True)
    def _adjoint_into(a, x, g, grad_a, grad_v):
        B, T, N = x.shape
        for b in prange(B):
            for t in range(T - 1, -1, -1):
                for n in range(N):
                    delta = g[b, t, n] + (a[b, t + 1, n] * grad_v[b, t + 1, n] if t < T - 1 else 0.0)
                    grad_v[b, t, n] = delta
                    grad_a[b, t, n] = delta * x[b, t - 1, n] if t > 0 else 0.0

def available() -> bool:
    return njit is not None


def loop_forward(a: np.ndarray, v: np.ndarray, empty=np.empty_like) -> np.ndarray:
    out = empty(v)
    loop_forward_into(a, v, out)
    return out


def loop_forward_backward(a: np.ndarray, v: np.ndarray, g: np.ndarray,
                          empty=np.empty_like) -> tuple[np.ndarray, np.ndarray]:
    """The states, then (∂a, ∂v) of ⟨g, x⟩: three fresh (B, T, N) arrays, one pass forward, one back."""
    x = loop_forward(a, v, empty)
    grad_a, grad_v = empty(x), empty(x)
    _adjoint_into(a, x, g, grad_a, grad_v)
    return grad_a, grad_v
