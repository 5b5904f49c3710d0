"""Fast paths of the Elman family: every input projection hoisted out of the time loop.

Same contract as `naive.py` (same arguments, same (outputs, h_T)). What does
not depend on h — the input projections, the gates, the output projection —
is computed for all T steps in one batched matmul; only the h-dependent part
of the pre-activation stays in the loop, which a tanh recurrence cannot avoid
(no associative scan exists for it).

For half-precision inputs (bfloat16, float16) the whole computation runs in float32 and
only the results are rounded back, as the fused kernels of mamba and flash-linear-attention
keep their state in float32: a bfloat16 state cannot even absorb a residual update
(at abs(h) = 64 its spacing is 0.5, so h + tanh(z) rounds back to h for abs(tanh(z)) < 0.25).
"""

from __future__ import annotations

import functools
import inspect

import torch
import torch.nn.functional as F

HALF_PRECISION = (torch.bfloat16, torch.float16)


def _float32_for_half(fn):
    """Run `fn` in float32 when its input x is half precision; round the results back to x's dtype."""
    x_index = list(inspect.signature(fn).parameters).index("x")

    @functools.wraps(fn)
    def run(*args, **kwargs):
        dtype = (args[x_index] if len(args) > x_index else kwargs["x"]).dtype
        if dtype not in HALF_PRECISION:
            return fn(*args, **kwargs)
        upcast = lambda a: a.float() if torch.is_tensor(a) else a  # noqa: E731
        outputs, h = fn(*map(upcast, args), **{k: upcast(v) for k, v in kwargs.items()})
        return outputs.to(dtype), h.to(dtype)
    return run


def _tanh_loop(u: torch.Tensor, recurrent, h0: torch.Tensor | None, *, residual: bool = False):
    """States of h_t = [h_{t-1} +] tanh(u_t + recurrent(h_{t-1})) for precomputed u (batch, T, n)."""
    batch, T, n = u.shape
    h = u.new_zeros(batch, n) if h0 is None else h0
    states = []
    for t in range(T):
        step = torch.tanh(u[:, t] + recurrent(h))
        h = h + step if residual else step
        states.append(h)
    return (torch.stack(states, dim=1) if states else u.new_zeros(batch, 0, n)), h


@_float32_for_half
def elman_fast(W_x, W_h, b, x, h0=None):
    W_hT = W_h.T
    return _tanh_loop(x @ W_x.T + b, lambda h: h @ W_hT, h0)


@_float32_for_half
def residual_elman_fast(W_x, W_h, b, x, h0=None):
    W_hT = W_h.T
    return _tanh_loop(x @ W_x.T + b, lambda h: h @ W_hT, h0, residual=True)


@_float32_for_half
def e1_fast(W_in, W_x, W_h, b, W_out, x, h0=None):
    d_in = W_h.shape[0]
    xz = x @ W_in.T                                          # (batch, T, 2·d_in) in one matmul
    u = F.silu(xz[..., :d_in]) @ W_x.T + b
    W_hT = W_h.T
    states, h = _tanh_loop(u, lambda h: h @ W_hT, h0)
    return (states * F.silu(xz[..., d_in:])) @ W_out.T, h


@_float32_for_half
def e5_fast(U_h, V_h, U_x, V_x, U_z, V_z, b, x, h0=None):
    u = (x @ V_x.T) @ U_x.T + b
    gate = F.silu((x @ V_z.T) @ U_z.T)
    V_hT, U_hT = V_h.T, U_h.T
    # keep the factors apart in the loop: two thin (d×r) matmuls instead of one d×d
    states, h = _tanh_loop(u, lambda h: (h @ V_hT) @ U_hT, h0)
    return states * gate, h


@_float32_for_half
def xgated_fast(W_in, W_x, W_h, b, W_gate, b_gate, W_out, x, h0=None):
    xp = x @ W_in.T
    u = xp @ W_x.T + b
    gate = F.silu(xp @ W_gate.T + b_gate)
    W_hT = W_h.T
    states, h = _tanh_loop(u, lambda h: h @ W_hT, h0)
    return (states * gate) @ W_out.T, h
