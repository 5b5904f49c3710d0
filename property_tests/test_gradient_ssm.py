"""gradient.mamba2_h_independent on impl's selective SSM (impl.ssm), with autograd.

The Jacobian ∂S_t/∂S_{t−1} of one step is taken with torch.func.jacrev — of the SSM core's step
(`impl.ssm.naive.ssd_step`, given x_t, Δ_t, B_t, C_t) and of the whole layer's `Mamba2Layer.step`
(given the token u_t and the conv window) — and compared:
- at two different states S_{t−1} (same input): identical;
- with the closed form diag(exp(Δ_t A)) (one scalar per head on its headdim·d_state block), where
  exp(Δ_t A) is evaluated in mpmath at 50 digits — for the layer from its weights: Δ_t =
  softplus(W_Δ u_t + dt_bias), A = −exp(A_log), all in mpmath;
- at two different inputs u_t, u′_t: different, by the amount the closed form predicts.
"""

from __future__ import annotations

import math

import mpmath
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import jacrev

import impl.ssm.naive as naive
from impl.precision import working_precision
from impl.ssm import Mamba2Layer

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
SAME = 1e-14           # "identical": a few float64 ulps of entries ≤ 1 (autograd of a product by a constant is exact)
CLOSED_FORM = 1e-13    # exp(fl(Δ·A)) in float64 vs exp(Δ·A) at 50 digits: |Δ A| ≤ 32 → ≤ ~32 ulps relative


def examples(share: float) -> int:
    """A share of the active hypothesis profile's example count (dev and ci 40, quick 25, thorough
    1000), for the costlier checks: they scale with the profile instead of pinning a number."""
    return max(3, round(settings().max_examples * share))


def f64(*shape, gen, scale=1.0):
    return (torch.randn(*shape, dtype=torch.float64, generator=gen) * scale).to(DEVICE)


def block_diagonal_decay(decays: list[mpmath.mpf], block: int) -> torch.Tensor:
    """diag(a_1 I_block, …, a_H I_block) from 50-digit head decays."""
    values = torch.tensor([float(a) for a in decays], dtype=torch.float64).repeat_interleave(block)
    return torch.diag(values).to(DEVICE)


def state_jacobian(step, h: torch.Tensor) -> torch.Tensor:
    """∂ step(h) / ∂ h for one sequence, flattened to (state size, state size)."""
    J = jacrev(step)(h)
    return J.reshape(h.numel(), h.numel()).detach()


@pytest.mark.claim("gradient.mamba2_h_independent")
@settings(max_examples=examples(0.25))
@given(heads=st.integers(1, 3), headdim=st.integers(1, 4), d_state=st.integers(1, 4), seed=st.integers(0, 2**16),
       state_scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_core_step_jacobian_is_exp_dt_A_whatever_the_state(heads, headdim, d_state, seed, state_scale, evidence):
    """SSM core: J(S) = J(S′) for two random states (S′ scaled by 1e-3 … 1e3), and both equal
    diag(exp(Δ_t A)) per head, with exp(Δ A) in mpmath at 50 digits."""
    gen = torch.Generator().manual_seed(seed)
    x_t, B_t, C_t = f64(1, heads, headdim, gen=gen), f64(1, heads, d_state, gen=gen), f64(1, heads, d_state, gen=gen)
    dt_t = torch.exp(torch.empty(1, heads, dtype=torch.float64).uniform_(math.log(1e-3), math.log(2.0),
                                                                          generator=gen)).to(DEVICE)
    A = -torch.exp(torch.empty(heads, dtype=torch.float64).uniform_(0.0, math.log(16.0), generator=gen)).to(DEVICE)
    D = f64(heads, gen=gen)
    S1 = f64(1, heads, headdim, d_state, gen=gen)
    S2 = f64(1, heads, headdim, d_state, gen=gen, scale=state_scale)

    def step(S):
        return naive.ssd_step(S, x_t, dt_t, A, B_t, C_t, D)[1]

    J1, J2 = state_jacobian(step, S1), state_jacobian(step, S2)
    with mpmath.workdps(50):
        decays = [mpmath.exp(mpmath.mpf(float(dt_t[0, k])) * mpmath.mpf(float(A[k]))) for k in range(heads)]
    closed = block_diagonal_decay(decays, headdim * d_state)
    gap = float((J1 - J2).abs().max())
    off = float((J1 - closed).abs().max())
    evidence.figure("core step: max |J(S) − J(S′)|", gap, "1", keep="max")
    evidence.figure("core step: max |J − diag(exp(Δ A))| (mpmath 50 digits)", off, "1", keep="max")
    assert gap <= SAME, f"∂S_t/∂S_(t−1) differs by {gap:.3g} between two states (heads={heads}, seed={seed})"
    assert off <= CLOSED_FORM, (f"∂S_t/∂S_(t−1) is not diag(exp(Δ A)): max deviation {off:.3g}; "
                                f"exp(Δ A) = {[mpmath.nstr(a, 17) for a in decays]}, "
                                f"diag(J) = {J1.diagonal()[:: headdim * d_state].tolist()}")


def small_layer(seed: int, d_conv: int) -> Mamba2Layer:
    """dim 4, 2 heads of headdim 4, d_state 3, float64; Δ bias and A redrawn so that the decays
    exp(Δ A) stay well inside (0, 1) and visibly move with the input (Mamba2's init, Δ ≈ 1e-3…0.1,
    keeps them near 1)."""
    torch.manual_seed(seed)
    layer = Mamba2Layer(4, d_state=3, expand=2, headdim=4, d_conv=d_conv, dtype=torch.float64, device=DEVICE)
    with torch.no_grad():
        layer.dt_bias.uniform_(-3.0, 1.5)
        layer.A_log.uniform_(math.log(0.5), math.log(4.0))
    return layer


def layer_decays(layer: Mamba2Layer, u_t: torch.Tensor) -> list[mpmath.mpf]:
    """exp(Δ A) per head from the layer's weights, in mpmath (50 digits): Δ = softplus(W_Δ u + dt_bias)
    with W_Δ the last `heads` rows of in_proj (Mamba2 feeds Δ straight from in_proj, not through the conv)."""
    W = layer.in_proj.weight.detach().cpu().tolist()
    u = u_t.detach().cpu().reshape(-1).tolist()
    bias, A_log = layer.dt_bias.detach().cpu().tolist(), layer.A_log.detach().cpu().tolist()
    decays = []
    with working_precision(mpmath_dps=50):
        for k in range(layer.nheads):
            row = W[len(W) - layer.nheads + k]
            pre = mpmath.fsum(mpmath.mpf(w) * mpmath.mpf(x) for w, x in zip(row, u, strict=True)) + mpmath.mpf(bias[k])
            dt = mpmath.log1p(mpmath.exp(pre))
            decays.append(mpmath.exp(-dt * mpmath.exp(mpmath.mpf(A_log[k]))))
    return decays


@pytest.mark.claim("gradient.mamba2_h_independent")
@settings(max_examples=examples(0.15))
@given(seed=st.integers(0, 2**16), d_conv=st.integers(1, 4), state_scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_layer_step_jacobian_depends_on_the_input_only(seed, d_conv, state_scale, evidence):
    """Mamba2Layer.step: ∂S_t/∂S_{t−1} is the same at two states (and at two conv windows), equals
    diag(exp(Δ(u_t) A)) computed from the weights in mpmath, and changes with the token u_t by what
    the closed form predicts."""
    layer = small_layer(seed, d_conv)
    gen = torch.Generator().manual_seed(seed + 1)
    S1 = f64(1, layer.nheads, layer.headdim, layer.d_state, gen=gen)
    S2 = f64(1, layer.nheads, layer.headdim, layer.d_state, gen=gen, scale=state_scale)
    window1 = f64(1, layer.conv_dim, d_conv - 1, gen=gen)
    window2 = f64(1, layer.conv_dim, d_conv - 1, gen=gen)
    u, u_other = f64(1, layer.dim, gen=gen), f64(1, layer.dim, gen=gen)

    def jacobian(S, u_t, window):
        return state_jacobian(lambda s: layer.step(u_t, s, window)[1], S)

    J = jacobian(S1, u, window1)
    gap_state = float((J - jacobian(S2, u, window1)).abs().max())
    gap_window = float((J - jacobian(S1, u, window2)).abs().max())
    block = layer.headdim * layer.d_state
    decays, decays_other = layer_decays(layer, u), layer_decays(layer, u_other)
    off = float((J - block_diagonal_decay(decays, block)).abs().max())
    J_other = jacobian(S1, u_other, window1)
    change = float((J - J_other).abs().max())
    predicted = max(abs(float(a - b)) for a, b in zip(decays, decays_other, strict=True))

    evidence.figure("layer step: max |J(S) − J(S′)|", gap_state, "1", keep="max")
    evidence.figure("layer step: max |J − diag(exp(Δ(u) A))| (mpmath 50 digits)", off, "1", keep="max")
    evidence.figure("layer step: smallest max |J(u) − J(u′)| (change with the input)", change, "1", keep="min")
    assert gap_state <= SAME, f"∂S_t/∂S_(t−1) differs by {gap_state:.3g} between two states (seed={seed})"
    assert gap_window <= SAME, f"∂S_t/∂S_(t−1) differs by {gap_window:.3g} between two conv windows (seed={seed})"
    assert off <= CLOSED_FORM, (f"∂S_t/∂S_(t−1) is not diag(exp(Δ(u) A)): deviation {off:.3g}; exp(Δ A) = "
                                f"{[mpmath.nstr(a, 17) for a in decays]}, diag(J) = {J.diagonal()[::block].tolist()}")
    assert abs(change - predicted) <= CLOSED_FORM, (
        f"J(u) − J(u′) = {change:.6g}, the closed form predicts {predicted:.6g} (seed={seed})")
    assert change > 0 and predicted > 1e-8, (f"the Jacobian did not change with the input: max |J(u) − J(u′)| = "
                                             f"{change:.3g} (predicted {predicted:.3g}, seed={seed})")
