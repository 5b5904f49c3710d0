"""Triton kernel of the diagonal scan x_t = a_t ⊙ x_{t-1} + v_t (real and complex).

One program owns a block of BLOCK_N channels of one sequence and walks through time in
chunks of BLOCK_T steps: inside a chunk `tl.associative_scan` composes the steps over the
elementwise affine monoid (the same law as `chunked.diagonal_combine`), and the state at the end
of the chunk is carried into the next one. Complex tensors are handled as two real planes
(the kernel reads the interleaved real/imaginary parts of `torch.view_as_real`), with the
complex product written out in the combine function.

Loads are upcast to float32 (float64 for float64 / complex128 inputs) and the states are
written in that precision; the caller rounds them to the input dtype once. The backward pass
is the adjoint recurrence δ_t = g_t + conj(a_{t+1}) ⊙ δ_{t+1}, a scan run backwards in time,
so it launches the same kernel on time-reversed tensors.

Triton is optional: without it (or without CUDA) the model uses `chunked.diagonal_scan`.
Without a GPU the kernel runs only under the Triton interpreter, which must be switched on
(TRITON_INTERPRET=1) before this module is imported: `triton.jit` reads the variable when it
decorates the kernel, not when it launches it.
"""

from __future__ import annotations

import torch

from .contracts import check_rnn_inputs, check_scan_inputs, result_dtype
from .chunked import compute_dtype

try:
    import triton
    import triton.language as tl
except ImportError:  # triton is an optional dependency
    triton = None

HAS_TRITON = triton is not None


def interpreter_active() -> bool:
    """Whether this module's kernel was built for the Triton interpreter (runs on CPU tensors)."""
    return HAS_TRITON and not isinstance(_diagonal_scan_kernel, triton.runtime.JITFunction)


def triton_usable(device: torch.device | str) -> bool:
    """Whether the Triton kernel can run on tensors of `device`: CUDA, or CPU under the interpreter."""
    if not HAS_TRITON:
        return False
    device = torch.device(device)
    return device.type == "cpu" if interpreter_active() else device.type == "cuda"


if HAS_TRITON:
    @triton.jit
    def _combine_real(a1, v1, a2, v2):
        return a2 * a1, a2 * v1 + v2

    @triton.jit
    def _combine_complex(ar1, ai1, vr1, vi1, ar2, ai2, vr2, vi2):
        # (a2·a1, a2·v1 + v2) in complex arithmetic, on real and imaginary planes
        return (ar2 * ar1 - ai2 * ai1, ar2 * ai1 + ai2 * ar1,
                ar2 * vr1 - ai2 * vi1 + vr2, ar2 * vi1 + ai2 * vr1 + vi2)

    @triton.jit
    def _diagonal_scan_kernel(a_ptr, v_ptr, h0_ptr, out_ptr, T, N,
                              sa_b, sa_t, sa_n, sv_b, sv_t, sv_n, sh_b, sh_n, so_b, so_t, so_n,
                              HAS_H0: tl.constexpr, IS_COMPLEX: tl.constexpr, COMPUTE: tl.constexpr,
                              BLOCK_T: tl.constexpr, BLOCK_N: tl.constexpr):
        # strides are in real elements; for complex tensors the imaginary part sits one element on
        pid_b = tl.program_id(0)
        n = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
        n_ok = n < N
        steps = tl.arange(0, BLOCK_T)
        last_row = (steps == BLOCK_T - 1)[:, None]
        if HAS_H0:
            h_r = tl.load(h0_ptr + pid_b * sh_b + n * sh_n, mask=n_ok, other=0.0).to(COMPUTE)
            if IS_COMPLEX:
                h_i = tl.load(h0_ptr + pid_b * sh_b + n * sh_n + 1, mask=n_ok, other=0.0).to(COMPUTE)
        else:
            h_r = tl.zeros([BLOCK_N], dtype=COMPUTE)
            if IS_COMPLEX:
                h_i = tl.zeros([BLOCK_N], dtype=COMPUTE)
        for t0 in range(0, T, BLOCK_T):
            t = t0 + steps
            ok = (t < T)[:, None] & n_ok[None, :]
            # padding steps past T are the identity (a = 1, v = 0), so the last row of the chunk
            # always holds the state after the chunk's last real step
            a_off = a_ptr + pid_b * sa_b + t[:, None] * sa_t + n[None, :] * sa_n
            v_off = v_ptr + pid_b * sv_b + t[:, None] * sv_t + n[None, :] * sv_n
            o_off = out_ptr + pid_b * so_b + t[:, None] * so_t + n[None, :] * so_n
            a_r = tl.load(a_off, mask=ok, other=1.0).to(COMPUTE)
            v_r = tl.load(v_off, mask=ok, other=0.0).to(COMPUTE)
            if IS_COMPLEX:
                a_i = tl.load(a_off + 1, mask=ok, other=0.0).to(COMPUTE)
                v_i = tl.load(v_off + 1, mask=ok, other=0.0).to(COMPUTE)
                p_ar, p_ai, p_vr, p_vi = tl.associative_scan((a_r, a_i, v_r, v_i), 0, _combine_complex)
                x_r = p_ar * h_r[None, :] - p_ai * h_i[None, :] + p_vr
                x_i = p_ar * h_i[None, :] + p_ai * h_r[None, :] + p_vi
                tl.store(o_off, x_r, mask=ok)
                tl.store(o_off + 1, x_i, mask=ok)
                h_r = tl.sum(tl.where(last_row, x_r, 0.0), axis=0)
                h_i = tl.sum(tl.where(last_row, x_i, 0.0), axis=0)
            else:
                p_a, p_v = tl.associative_scan((a_r, v_r), 0, _combine_real)
                x_r = p_a * h_r[None, :] + p_v
                tl.store(o_off, x_r, mask=ok)
                h_r = tl.sum(tl.where(last_row, x_r, 0.0), axis=0)


def _real_view(x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """The tensor the kernel reads (real planes for complex) and its strides in real elements."""
    if x.is_complex():
        real = torch.view_as_real(x.resolve_conj())
        return real, tuple(real.stride()[:-1])
    return x, tuple(x.stride())


def _launch(a: torch.Tensor, v: torch.Tensor, h0: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """Forward scan on (batch, T, N) tensors (a may be a stride-0 broadcast view); returns the
    states in `dtype` (the compute dtype)."""
    batch, T, N = v.shape
    out = torch.empty(batch, T, N, dtype=dtype, device=v.device)
    if T == 0 or batch == 0 or N == 0:
        return out
    a_k, sa = _real_view(a)
    v_k, sv = _real_view(v)
    o_k, so = _real_view(out)
    if h0 is not None:
        h_k, sh = _real_view(h0)
    else:
        h_k, sh = o_k, (0, 0)                       # never read: HAS_H0 is False
    block_n = min(64, triton.next_power_of_2(N))
    block_t = min(64, max(16, triton.next_power_of_2(T)))
    grid = (batch, triton.cdiv(N, block_n))
    _diagonal_scan_kernel[grid](a_k, v_k, h_k, o_k, T, N, *sa, *sv, *sh, *so,
                                HAS_H0=h0 is not None, IS_COMPLEX=dtype.is_complex,
                                COMPUTE=tl.float64 if dtype.to_real() == torch.float64 else tl.float32,
                                BLOCK_T=block_t, BLOCK_N=block_n)
    return out


class _DiagonalScan(torch.autograd.Function):
    """Forward and backward both run the Triton kernel; gradients follow torch's complex
    convention (the conjugate Wirtinger derivative), like autograd through `chunked.diagonal_scan`."""

    @staticmethod
    def forward(ctx, a, v, h0, dtype):
        out = _launch(a, v, h0, dtype)
        ctx.save_for_backward(a, h0, out)
        ctx.dtype = dtype
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, h0, out = ctx.saved_tensors
        dtype = ctx.dtype
        grad_out = grad_out.to(dtype)
        a_full = a.to(dtype).expand(out.shape)
        # δ_t = g_t + conj(a_{t+1}) δ_{t+1}: reversed in time it is a forward scan whose
        # coefficient at the first reversed step (a_{T+1}) multiplies a zero state
        a_next = torch.cat([a_full[:, 1:], torch.ones_like(a_full[:, :1])], dim=1)
        a_rev = a_next.conj().flip(1)
        delta = _launch(a_rev, grad_out.flip(1), None, dtype).flip(1)
        grad_a = grad_v = grad_h0 = None
        if ctx.needs_input_grad[0]:
            first = torch.zeros_like(out[:, :1]) if h0 is None else h0.to(dtype).unsqueeze(1)
            previous = torch.cat([first, out[:, :-1]], dim=1)     # x_{t-1}
            grad_a = delta * previous.conj()
        if ctx.needs_input_grad[1]:
            grad_v = delta
        if h0 is not None and ctx.needs_input_grad[2]:
            grad_h0 = a_full[:, 0].conj() * delta[:, 0]
        return grad_a, grad_v, grad_h0, None


def diagonal_scan_triton(a: torch.Tensor, v: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """Same contract as `chunked.diagonal_scan`, for v (batch, T, N), run by the Triton kernel."""
    if not HAS_TRITON:
        raise RuntimeError("diagonal_scan_triton: triton is not installed")
    check_scan_inputs(a, v, h0, "diagonal_scan_triton")
    if v.dim() != 3:
        raise ValueError(f"diagonal_scan_triton: v must be (batch, T, N), got shape {tuple(v.shape)}")
    if not triton_usable(v.device):
        raise RuntimeError(f"diagonal_scan_triton: tensors on {v.device} need "
                           + ("a CPU device under TRITON_INTERPRET=1" if interpreter_active()
                              else "CUDA (or TRITON_INTERPRET=1 set before importing this module)"))
    out_dtype = result_dtype(a, v) if h0 is None else result_dtype(a, v, h0)
    dtype = compute_dtype(out_dtype)
    # inputs keep their dtype (the kernel upcasts on load); only the kind (real/complex) must match
    if out_dtype.is_complex:
        a, v = a.to(dtype), v.to(dtype)
        h0 = None if h0 is None else h0.to(dtype)
    a = a.reshape((1,) * (3 - a.dim()) + tuple(a.shape)).expand(v.shape)
    return _DiagonalScan.apply(a, v, h0, dtype).to(out_dtype)


def diagonal_rnn_triton(lam: torch.Tensor, B: torch.Tensor, u: torch.Tensor,
                        h0: torch.Tensor | None = None) -> torch.Tensor:
    """States x_1..x_T (batch, T, N) of x_k = λ ⊙ x_{k-1} + B u_k, scanned by the Triton kernel."""
    check_rnn_inputs(lam, B, u, h0, "diagonal_rnn_triton")
    out_dtype = result_dtype(lam, B, u) if h0 is None else result_dtype(lam, B, u, h0)
    dtype = compute_dtype(out_dtype)
    v = u.to(dtype) @ B.to(dtype).T                # (batch, T, N): all input projections at once
    return diagonal_scan_triton(lam.to(dtype), v, None if h0 is None else h0.to(dtype)).to(out_dtype)
