"""Compiled CPU path of the diagonal scan: the time-major loop x_t = a_t ⊙ x_{t−1} + v_t, compiled by numba.

The chunked torch scan (`chunked.py`) spends its time in ~4√T small elementwise ops over strided
slices; the plain loop, compiled, reads a and v and writes x once, at the speed of one memory
pass. Each task of the parallel loop owns one batch row and one block of channels and walks it
through time; the innermost loop runs over contiguous channels so LLVM vectorises it.

- forward: x_t = a_t ⊙ x_{t−1} + v_t, x_0 = h0 (zeros when None), written into the output.
- backward (its own reverse-time loop, the adjoint): δ_t = g_t + conj(a_{t+1}) ⊙ δ_{t+1}, δ_T = g_T;
  ∂v = δ, ∂a_t = δ_t ⊙ conj(x_{t−1}), ∂h0 = conj(a_1) ⊙ δ_1 (torch's conjugate Wirtinger convention,
  as the chunked scan). A constant diagonal (a without a time axis) gets its gradient summed over
  time inside the loop, so no (B, T, N) buffer is made for it.

Tensors are handed to numba through `Tensor.numpy()` (shared memory, no copy) when they are
contiguous CPU tensors of the compute dtype; half-precision inputs are scanned in float32 and the
states rounded back once, as the chunked scan does. Without numba (`NUMBA_AVAILABLE` false) or on
another device, `diagonal_scan_compiled` falls back to the chunked torch scan; `compiled_usable`
says which runs. The kernels are cached on disk by numba (`cache=True`, in __pycache__ beside this
file), so a process compiles each dtype once per install.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from . import chunked
from .contracts import check_rnn_inputs, check_scan_inputs, result_dtype

try:
    import numba
    from numba import njit, prange
    NUMBA_AVAILABLE = True
except ImportError:                   # the chunked torch scan stays the portable fallback
    numba = None
    NUMBA_AVAILABLE = False

# dtypes the compiled loops run in (half types are scanned in their float32 compute dtype)
COMPILED_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)


def compiled_usable(dtype: torch.dtype, device: torch.device | str = "cpu") -> bool:
    """True when the compiled loop runs states of `dtype` on `device` (CPU, numba installed)."""
    return (NUMBA_AVAILABLE and torch.device(device).type == "cpu"
            and chunked.compute_dtype(dtype) in COMPILED_DTYPES)


if NUMBA_AVAILABLE:
    @njit(inline="always", cache=True)
    def _task(task, blocks, block, N, a_rows):
        """Task number → (batch row, its row of a, first channel, end channel)."""
        b = task // blocks
        lo = (task % blocks) * block
        return b, (b if a_rows > 1 else 0), lo, min(lo + block, N)

    @njit(parallel=True, cache=True)
    def _forward_kernel(a, v, h0, out, block):
        """out[b, t] = a[·, ·] ⊙ out[b, t−1] + v[b, t], out[b, −1] = h0[b]. a is (1 or B, 1 or T, N).

        One task per batch row and block of `block` channels; every step reads and writes contiguous
        row slices (a task that owns whole rows streams through memory, see `_block`)."""
        B, T, N = v.shape
        a_per_step = a.shape[1] > 1
        blocks = (N + block - 1) // block
        for task in prange(B * blocks):
            b, ab, lo, hi = _task(task, blocks, block, N, a.shape[0])
            previous = h0[b, lo:hi]
            for t in range(T):
                a_t = a[ab, t if a_per_step else 0, lo:hi]
                v_t = v[b, t, lo:hi]
                x_t = out[b, t, lo:hi]
                for n in range(hi - lo):
                    x_t[n] = a_t[n] * previous[n] + v_t[n]
                previous = x_t

    @njit(parallel=True, cache=True)
    def _backward_kernel(a, grad, out, h0, block, grad_v, grad_a, grad_h0):
        """The adjoint, backwards in time: grad_v = δ, grad_a (B, 1 or T, N) = δ ⊙ conj(x_{t−1})
        (summed over time when a has no time axis), grad_h0 = conj(a_1) ⊙ δ_1."""
        B, T, N = grad.shape
        a_per_step = a.shape[1] > 1
        blocks = (N + block - 1) // block
        for task in prange(B * blocks):
            b, ab, lo, hi = _task(task, blocks, block, N, a.shape[0])
            width = hi - lo
            if not a_per_step:
                grad_a[b, 0, lo:hi] = 0
            for t in range(T - 1, -1, -1):
                g_t = grad[b, t, lo:hi]
                delta_t = grad_v[b, t, lo:hi]
                if t == T - 1:
                    for n in range(width):
                        delta_t[n] = g_t[n]
                else:
                    a_next = a[ab, t + 1 if a_per_step else 0, lo:hi]
                    delta_next = grad_v[b, t + 1, lo:hi]
                    for n in range(width):
                        delta_t[n] = g_t[n] + np.conj(a_next[n]) * delta_next[n]
                x_before = out[b, t - 1, lo:hi] if t > 0 else h0[b, lo:hi]
                if a_per_step:
                    grad_a_t = grad_a[b, t, lo:hi]
                    for n in range(width):
                        grad_a_t[n] = delta_t[n] * np.conj(x_before[n])
                else:
                    grad_a_sum = grad_a[b, 0, lo:hi]
                    for n in range(width):
                        grad_a_sum[n] += delta_t[n] * np.conj(x_before[n])
            a_first, delta_first, grad_h0_b = a[ab, 0, lo:hi], grad_v[b, 0, lo:hi], grad_h0[b, lo:hi]
            for n in range(width):
                grad_h0_b[n] = np.conj(a_first[n]) * delta_first[n]


def _block(B: int, N: int) -> int:
    """Channels per task. Whole rows where the batch alone keeps every numba thread busy: a task
    that owns a row streams through contiguous memory, while blocks of 64 channels ran 2× slower
    than whole rows of 256 (prefetch across the 1 KiB stride). Fewer rows than threads: split the
    channels into as many blocks as it takes, each ≥ 64 channels."""
    blocks = max(1, min(N // 64, math.ceil(numba.get_num_threads() / B)))
    return math.ceil(N / blocks)


def _array(t: torch.Tensor):
    """The tensor's memory as a numpy array (no copy for a contiguous CPU tensor without conj/neg bits)."""
    return t.detach().resolve_conj().resolve_neg().contiguous().numpy()


class _CompiledScan(torch.autograd.Function):
    """The compiled forward loop; backward the compiled reverse-time loop. a is (1 or B, 1 or T, N),
    v (B, T, N), h0 (B, N) or None, all contiguous CPU tensors of one compiled dtype."""

    @staticmethod
    def forward(ctx, a, v, h0):
        B, T, N = v.shape
        start = torch.zeros(B, N, dtype=v.dtype) if h0 is None else h0.detach().contiguous()
        out = torch.empty_like(v, memory_format=torch.contiguous_format)
        block = _block(B, N)
        _forward_kernel(_array(a), _array(v), _array(start), out.numpy(), block)
        ctx.save_for_backward(a, start, out)
        ctx.has_h0, ctx.block = h0 is not None, block
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        a, start, out = ctx.saved_tensors
        B, T, N = out.shape
        grad_v = torch.empty_like(out)
        grad_a = torch.empty(B, a.shape[1], N, dtype=out.dtype)     # per batch row; summed below if a is shared
        grad_h0 = torch.empty_like(start)
        _backward_kernel(_array(a), _array(grad_out.to(out.dtype)), out.numpy(), start.numpy(), ctx.block,
                         grad_v.numpy(), grad_a.numpy(), grad_h0.numpy())
        if a.shape[0] == 1 and B > 1:
            grad_a = grad_a.sum(0, keepdim=True)
        return (grad_a if ctx.needs_input_grad[0] else None, grad_v if ctx.needs_input_grad[1] else None,
                grad_h0 if ctx.has_h0 and ctx.needs_input_grad[2] else None)


def _compact_diagonal(a: torch.Tensor, v_shape: torch.Size, dtype: torch.dtype) -> torch.Tensor:
    """a as (1 or B, 1 or T, N) in `dtype`, keeping a shared batch or time axis unexpanded (a constant
    diagonal stays (1, 1, N)). Differentiable: the gradient of a broadcast axis is summed by autograd."""
    *batch, T, N = v_shape
    padded = a.to(dtype).reshape((1,) * (len(v_shape) - a.dim()) + tuple(a.shape))
    steps = T if padded.shape[-2] != 1 else 1
    shared_batch = all(size == 1 for size in padded.shape[:-2])
    batch_target = [1] * len(batch) if shared_batch else batch
    full = padded.expand(*batch_target, steps, N)
    return full.reshape(-1, steps, N).contiguous()


def diagonal_scan_compiled(a: torch.Tensor, v: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """All states of x_t = a_t ⊙ x_{t-1} + v_t by the compiled loop (the chunked torch scan when
    `compiled_usable` is false). Same contract as `chunked.diagonal_scan`."""
    check_scan_inputs(a, v, h0, "diagonal_scan_compiled")
    out_dtype = result_dtype(a, v) if h0 is None else result_dtype(a, v, h0)
    if not compiled_usable(out_dtype, v.device):
        return chunked.diagonal_scan(a, v, h0)
    dtype = chunked.compute_dtype(out_dtype)
    *batch, T, N = v.shape
    if T == 0 or N == 0 or math.prod(batch) == 0:
        return v.new_zeros(v.shape, dtype=out_dtype)
    flat_v = v.to(dtype).reshape(-1, T, N).contiguous()
    flat_h0 = None if h0 is None else h0.to(dtype).reshape(-1, N).contiguous()
    out = _CompiledScan.apply(_compact_diagonal(a, v.shape, dtype), flat_v, flat_h0)
    return out.reshape(v.shape).to(out_dtype)


def diagonal_rnn_compiled(lam: torch.Tensor, B: torch.Tensor, u: torch.Tensor,
                          h0: torch.Tensor | None = None) -> torch.Tensor:
    """States x_1..x_T (batch, T, N) of x_k = λ ⊙ x_{k-1} + B u_k: one matmul for all input
    projections, then the compiled loop. Same contract as `naive.diagonal_rnn_reference`."""
    check_rnn_inputs(lam, B, u, h0, "diagonal_rnn_compiled")
    out_dtype = result_dtype(lam, B, u) if h0 is None else result_dtype(lam, B, u, h0)
    dtype = chunked.compute_dtype(out_dtype)
    v = u.to(dtype) @ B.to(dtype).T
    return diagonal_scan_compiled(lam.to(dtype), v, None if h0 is None else h0.to(dtype)).to(out_dtype)
