"""Fast paths of the Elman family: every input projection hoisted out of the time loop.

Same contract as `naive.py` (same arguments, same (outputs, h_T)). What does
not depend on h — the input projections, the gates, the output projection —
is computed for all T steps in one batched matmul; only the h-dependent part
of the pre-activation stays in the loop, which a tanh recurrence cannot avoid
(no associative scan exists for it). The loop and its backward run in `_TanhRecurrence`,
without a graph node per step; the weight gradients are one matmul over all steps.

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
from torch.autograd.function import once_differentiable

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


class _TanhRecurrence(torch.autograd.Function):
    """h_t = [h_{t-1} +] tanh(u_t + h_{t-1} Mᵀ) with its own backward.

    Autograd through the step loop would keep one graph node per step and, for u[:, t], build a
    zero tensor of u's full size per step (T² memory traffic), and would accumulate the gradient
    of M with one small matmul per step. Here the backward loop carries only ∂/∂h through the
    steps (one matmul by M per step, which no implementation can avoid) and the gradients of M's
    weights are matmuls over all B·T steps at once.

    M enters through a `linear_map` (`DENSE` for M = W_h, `FACTORED` for E5's M = U V), which gives
    h ↦ [add +] h Mᵀ, g ↦ g M, and the weight gradients from all ∂L/∂z (Z) and h_{t-1} (H).
    """

    @staticmethod
    def forward(ctx, u, h0, residual, linear_map, *weights):
        batch, T, n = u.shape
        h = u.new_zeros(batch, n) if h0 is None else h0
        states = torch.empty_like(u)
        for t, u_t in enumerate(u.unbind(1)):
            if residual:
                h = h + torch.tanh(linear_map.apply(h, *weights, add=u_t))
                states[:, t] = h
            else:                                      # straight into the output: no copy per step
                h = torch.tanh(linear_map.apply(h, *weights, add=u_t), out=states[:, t])
        ctx.save_for_backward(u.new_zeros(batch, n) if h0 is None else h0, states, *weights)
        ctx.residual, ctx.linear_map, ctx.has_h0 = residual, linear_map, h0 is not None
        return states

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_states):
        h0, states, *weights = ctx.saved_tensors
        previous = torch.cat([h0.unsqueeze(1), states[:, :-1]], dim=1)        # h_{t-1}
        # tanh(z_t) = h_t (stock) or h_t − h_{t-1} (residual); tanh'(z) = 1 − tanh(z)²
        activation = states - previous if ctx.residual else states
        slope = 1 - activation * activation
        grad_z = torch.empty_like(states)
        carry = torch.zeros_like(h0)                                           # ∂L/∂h_t from later steps
        for t in range(states.shape[1] - 1, -1, -1):
            total = grad_states[:, t] + carry                                  # ∂L/∂h_t
            torch.mul(total, slope[:, t], out=grad_z[:, t])
            carry = ctx.linear_map.transpose(grad_z[:, t], *weights)
            if ctx.residual:
                carry += total
        n = states.shape[-1]
        needed = ctx.needs_input_grad[4:]
        grad_weights = (ctx.linear_map.weight_gradients(grad_z.reshape(-1, n), previous.reshape(-1, n), *weights)
                        if any(needed) else (None,) * len(weights))
        grad_h0 = carry if ctx.has_h0 and ctx.needs_input_grad[1] else None
        return (grad_z if ctx.needs_input_grad[0] else None, grad_h0, None, None,
                *(g if need else None for g, need in zip(grad_weights, needed)))


class DENSE:
    """M = W (n × n)."""

    @staticmethod
    def apply(h, W, add=None):
        return h @ W.T if add is None else torch.addmm(add, h, W.T)

    @staticmethod
    def transpose(g, W):
        return g @ W

    @staticmethod
    def weight_gradients(Z, H, W):                  # z = h Wᵀ: ∂W = Σ_steps z̄ᵀ h
        return (Z.T @ H,)


class FACTORED:
    """M = U V, U (n × r), V (r × n): two thin matmuls instead of one n × n."""

    @staticmethod
    def apply(h, U, V, add=None):
        return (h @ V.T) @ U.T if add is None else torch.addmm(add, h @ V.T, U.T)

    @staticmethod
    def transpose(g, U, V):
        return (g @ U) @ V

    @staticmethod
    def weight_gradients(Z, H, U, V):               # z = (h Vᵀ) Uᵀ: ∂U = z̄ᵀ (h Vᵀ), ∂V = (z̄ U)ᵀ h
        return Z.T @ (H @ V.T), (Z @ U).T @ H


def _tanh_loop(u: torch.Tensor, W_h: torch.Tensor, h0: torch.Tensor | None, *, residual: bool = False):
    """States of h_t = [h_{t-1} +] tanh(u_t + W_h h_{t-1}) for precomputed u (batch, T, n)."""
    return _run(u, h0, residual, DENSE, W_h)


def _run(u, h0, residual, linear_map, *weights):
    batch, T, n = u.shape
    if T == 0:
        return u.new_zeros(batch, 0, n), (u.new_zeros(batch, n) if h0 is None else h0)
    states = _TanhRecurrence.apply(u, h0, residual, linear_map, *weights)
    return states, states[:, -1]


@_float32_for_half
def elman_fused(W_x, W_h, b, x, h0=None):
    return _tanh_loop(x @ W_x.T + b, W_h, h0)


@_float32_for_half
def residual_elman_fused(W_x, W_h, b, x, h0=None):
    return _tanh_loop(x @ W_x.T + b, W_h, h0, residual=True)


@_float32_for_half
def e1_fused(W_in, W_x, W_h, b, W_out, x, h0=None):
    d_in = W_h.shape[0]
    # (batch, T, 2·d_in) in one matmul; split, not sliced: a slice's backward writes each half's
    # gradient into a zero-filled full-size tensor (two fills of B·T·2d), split's is one cat
    x_part, z_part = (x @ W_in.T).split(d_in, dim=-1)
    u = F.silu(x_part) @ W_x.T + b
    states, h = _tanh_loop(u, W_h, h0)
    return (states * F.silu(z_part)) @ W_out.T, h


@_float32_for_half
def e5_fused(U_h, V_h, U_x, V_x, U_z, V_z, b, x, h0=None):
    u = (x @ V_x.T) @ U_x.T + b
    gate = F.silu((x @ V_z.T) @ U_z.T)
    # keep the factors apart in the loop: two thin (d×r) matmuls instead of one d×d
    states, h = _run(u, h0, False, FACTORED, U_h, V_h)
    return states * gate, h


@_float32_for_half
def xgated_fused(W_in, W_x, W_h, b, W_gate, b_gate, W_out, x, h0=None):
    xp = x @ W_in.T
    u = xp @ W_x.T + b
    gate = F.silu(xp @ W_gate.T + b_gate)
    states, h = _tanh_loop(u, W_h, h0)
    return (states * gate) @ W_out.T, h
