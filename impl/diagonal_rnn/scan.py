"""Fast path of the diagonal linear RNN: a parallel prefix scan over the elementwise affine monoid.

An element (a, v) of the monoid is the map x ↦ a ⊙ x + v with a diagonal transition,
kept as a vector a (real or complex). Applying e1 first, then e2:

    e2 ∘ e1 = (a2 ⊙ a1, a2 ⊙ v1 + v2),   identity (1, 0).

Composition is associative, so the prefixes e_t ∘ … ∘ e_1 of all T steps take ⌈log2 T⌉
rounds (Hillis–Steele): round k combines every element with the one 2^k places earlier.
This is `impl.scan.affine_scan` with the N×N matrices replaced by their diagonals:
O(T log T · N) work and no N×N matrix is ever formed.

Half-precision inputs (bfloat16, float16) are scanned in float32 and the states rounded
back once at the end, as fused kernels do; a product of many half-precision factors would
otherwise lose a rounding per round.
"""

from __future__ import annotations

import torch

from .naive import check_rnn_inputs, check_scan_inputs, result_dtype

_COMPUTE_DTYPE = {torch.bfloat16: torch.float32, torch.float16: torch.float32, torch.complex32: torch.complex64}


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the scan runs in for states of `dtype` (float32 for half types, else itself)."""
    return _COMPUTE_DTYPE.get(dtype, dtype)


def diagonal_combine(first, second):
    """second ∘ first: apply `first`, then `second`. Each is (a (..., N), v (..., N))."""
    a1, v1 = first
    a2, v2 = second
    return a2 * a1, a2 * v1 + v2


def diagonal_scan(a: torch.Tensor, v: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """All states of x_t = a_t ⊙ x_{t-1} + v_t, t = 1..T, by a parallel prefix scan.

    Same contract as `naive.diagonal_scan_reference`: v (..., T, N); a broadcastable to v
    ((N,) for a constant diagonal); h0 (..., N) or None for zeros. Returns (..., T, N).
    """
    check_scan_inputs(a, v, h0, "diagonal_scan")
    out_dtype = result_dtype(a, v) if h0 is None else result_dtype(a, v, h0)
    dtype = compute_dtype(out_dtype)
    T, N = v.shape[-2], v.shape[-1]
    if T == 0:
        return v.new_zeros(v.shape, dtype=out_dtype)
    # give a its time axis without copying its (possibly broadcast) batch axes
    a = a.to(dtype).reshape((1,) * (v.dim() - a.dim()) + tuple(a.shape))
    a = a.expand(*a.shape[:-2], T, N)
    v = v.to(dtype)
    offset = 1
    while offset < T:
        # element t becomes e_t ∘ … ∘ e_{t-2·offset+1}: combine with the prefix `offset` places back
        a_new, v_new = diagonal_combine((a[..., :-offset, :], v[..., :-offset, :]),
                                        (a[..., offset:, :], v[..., offset:, :]))
        a = torch.cat([a[..., :offset, :], a_new], dim=-2)
        v = torch.cat([v[..., :offset, :], v_new], dim=-2)
        offset *= 2
    if h0 is not None:
        v = a * h0.to(dtype).unsqueeze(-2) + v          # the prefix a_t ⊙ … ⊙ a_1 carries h0 to step t
    return v.to(out_dtype)


def diagonal_rnn_scan(lam: torch.Tensor, B: torch.Tensor, u: torch.Tensor,
                      h0: torch.Tensor | None = None) -> torch.Tensor:
    """States x_1..x_T (batch, T, N) of x_k = λ ⊙ x_{k-1} + B u_k by the parallel scan.

    Same contract as `naive.diagonal_rnn_reference`; the inputs of all steps are projected at
    once (one matmul), then `diagonal_scan` composes the steps.
    """
    check_rnn_inputs(lam, B, u, h0, "diagonal_rnn_scan")
    out_dtype = result_dtype(lam, B, u) if h0 is None else result_dtype(lam, B, u, h0)
    dtype = compute_dtype(out_dtype)
    v = u.to(dtype) @ B.to(dtype).T                # (batch, T, N): all input projections at once
    return diagonal_scan(lam.to(dtype), v, None if h0 is None else h0.to(dtype)).to(out_dtype)
