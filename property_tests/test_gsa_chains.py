"""Residual Jacobian chains, square padding and strict balancedness (003, GSA I §2, §7),
checked on `impl.geometry.chains`.

What is compared with what:
- cocycle: impl's ordered product of layer Jacobians 𝒥(m, k) against the autograd Jacobian
  (torch.autograd.functional.jacobian) of the composed sub-network x_k ↦ x_m, which this file
  composes itself; the cocycle identity for every k ≤ l ≤ m; and central finite differences of
  the whole network (brute force, no derivatives at all).
- padding: the singular values of impl's P(W) (float64 LAPACK) against those of W computed by
  mpmath at 50 digits from W's exact dyadic entries, plus abs(m − n) zeros; ‖P(W)‖_F against the
  exact Frobenius norm (Fractions); the numerical rank of P(W) against W's exact rank (flint).
- balancedness: chains built by impl from the balancedness equation alone
  (W_{l+1} = Q (W_l W_lᵀ)^{1/2}) starting from an exact power law, their balancedness confirmed in
  mpmath: every factor's spectrum, measured by SVD, must be the same c i^{-α}; and chains of power
  laws with unequal (c, α) must miss balancedness by at least the Hoffman–Wielandt distance of
  their Gram spectra (computed in mpmath from (c, α)).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import flint
import mpmath
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import impl.geometry.chains as chains
from impl.precision import working_precision
from impl.spectral.spectra import matrix_with_spectrum, power_law_spectrum, random_orthogonal
from impl.testing import dyadic_rationals

DIGITS = 50
# float64 products of at most 6 Jacobians of norm O(1): both sides accumulate ~L·d round-offs.
PRODUCT_RTOL = 1e-12
# central differences, h = 1e-5: truncation h²|Φ'''|/6 ~ 1e-10, round-off eps/h ~ 1e-11.
FD_STEP, FD_RTOL = 1e-5, 1e-7
# a backward-stable SVD errs by a few eps·σ_1 per singular value.
SVD_RTOL = 1e-12


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).abs().max() / (1.0 + want.abs().max()))


# ------------------------------------------------------------- gsa.cocycle_chain_rule

ACTIVATIONS = {"tanh": torch.tanh, "sin": torch.sin, "softplus": torch.nn.functional.softplus}


def mlp_block(d: int, hidden: int, activation: str, gen: torch.Generator):
    """F(x) = W_2 act(W_1 x + b_1) + b_2, a smooth residual branch ℝ^d → ℝ^d."""
    W1 = torch.randn(hidden, d, dtype=torch.float64, generator=gen) / math.sqrt(d)
    b1 = torch.randn(hidden, dtype=torch.float64, generator=gen)
    W2 = torch.randn(d, hidden, dtype=torch.float64, generator=gen) / math.sqrt(hidden)
    b2 = torch.randn(d, dtype=torch.float64, generator=gen)
    act = ACTIVATIONS[activation]
    return lambda x: W2 @ act(W1 @ x + b1) + b2


@st.composite
def residual_networks(draw, max_width=8, max_depth=6):
    """(blocks, x0): L random smooth residual MLP blocks of width d and one input."""
    d, L = draw(st.integers(1, max_width), label="d"), draw(st.integers(1, max_depth), label="L")
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2 ** 31 - 1), label="seed"))
    blocks = [mlp_block(d, draw(st.integers(1, 8)), draw(st.sampled_from(sorted(ACTIVATIONS))), gen)
              for _ in range(L)]
    return blocks, torch.randn(d, dtype=torch.float64, generator=gen)


def composed(blocks):
    """The sub-network x ↦ (id + F_{m−1}) ∘ ⋯ ∘ (id + F_k)(x), composed here, not by impl."""
    def phi(x):
        for block in blocks:
            x = x + block(x)
        return x
    return phi


@pytest.mark.claim("gsa.cocycle_chain_rule")
@given(network=residual_networks())
def test_chain_product_is_the_jacobian_of_the_composed_map(network, evidence):
    blocks, x0 = network
    L, d = len(blocks), x0.shape[0]
    jacobians = chains.residual_jacobians(blocks, x0)
    states = [x0]
    for block in blocks:
        states.append(states[-1] + block(states[-1]))
    worst = 0.0
    for k, m in itertools.combinations_with_replacement(range(L + 1), 2):      # every 0 <= k <= m <= L
        want = torch.autograd.functional.jacobian(composed(blocks[k:m]), states[k])
        got = chains.chain_product(jacobians, k, m)
        err = relative_error(got, want)
        worst = max(worst, err)
        assert err <= PRODUCT_RTOL, (f"𝒥({m}, {k}) = J_{m - 1}⋯J_{k} differs from the autograd Jacobian of "
                                     f"blocks {k}..{m - 1} at x_{k} by {err:.3g} (d={d}, L={L}); "
                                     f"got {got.tolist()}, want {want.tolist()}")
    cocycle = 0.0
    for k, l, m in itertools.combinations_with_replacement(range(L + 1), 3):   # every k <= l <= m
        whole = chains.chain_product(jacobians, k, m)
        split = chains.chain_product(jacobians, l, m) @ chains.chain_product(jacobians, k, l)
        err = relative_error(split, whole)
        cocycle = max(cocycle, err)
        assert err <= PRODUCT_RTOL, (f"cocycle: 𝒥({m},{l}) 𝒥({l},{k}) differs from 𝒥({m},{k}) by {err:.3g} "
                                     f"(d={d}, L={L})")
    evidence.figure("max relative error of 𝒥(m, k) vs the autograd Jacobian, all k <= m", worst, "1", keep="max")
    evidence.figure("max relative error of the cocycle identity, all k <= l <= m", cocycle, "1", keep="max")
    evidence.figure("largest width d", d, "", keep="max")
    evidence.figure("largest depth L", L, "", keep="max")


@pytest.mark.claim("gsa.cocycle_chain_rule")
@pytest.mark.parametrize("d, L, seed", [(1, 3, 11), (3, 6, 12), (5, 4, 13), (8, 5, 14)])
def test_chain_product_matches_central_finite_differences(d, L, seed, evidence):
    """Brute force: column j of DΦ(x0) ≈ (Φ(x0 + h e_j) − Φ(x0 − h e_j)) / 2h."""
    gen = torch.Generator().manual_seed(seed)
    blocks = [mlp_block(d, 6, name, gen) for name in itertools.islice(itertools.cycle(sorted(ACTIVATIONS)), L)]
    x0 = torch.randn(d, dtype=torch.float64, generator=gen)
    phi = composed(blocks)
    eye = torch.eye(d, dtype=torch.float64)
    want = torch.stack([(phi(x0 + FD_STEP * e) - phi(x0 - FD_STEP * e)) / (2 * FD_STEP) for e in eye], dim=1)
    got = chains.chain_product(chains.residual_jacobians(blocks, x0), 0, L)
    err = relative_error(got, want)
    evidence.figure("max relative error of J_{L−1}⋯J_0 vs central differences (h = 1e-5)", err, "1", keep="max")
    assert err <= FD_RTOL, f"DΦ(x0) by the chain differs from central differences by {err:.3g} (d={d}, L={L})"


# ------------------------------------------------------------- gsa.padding_isometry

SHAPES = st.one_of(st.tuples(st.just(1), st.integers(1, 8)), st.tuples(st.integers(1, 8), st.just(1)),
                   st.tuples(st.integers(1, 8), st.integers(1, 8)))


@st.composite
def dyadic_matrices(draw):
    """W = B C with dyadic B (m×r), C (r×n): exact entries, rank <= r (r drawn from 0..min(m, n))."""
    m, n = draw(SHAPES, label="shape")
    r = draw(st.integers(0, min(m, n)), label="inner rank")
    entry = dyadic_rationals(max_numerator=8, denominator=4)
    B = [[draw(entry) for _ in range(r)] for _ in range(m)]
    C = [[draw(entry) for _ in range(n)] for _ in range(r)]
    return [[sum((B[i][t] * C[t][j] for t in range(r)), Fraction(0)) for j in range(n)] for i in range(m)]


@pytest.mark.claim("gsa.padding_isometry")
@given(exact=dyadic_matrices())
def test_padding_keeps_singular_values_and_norms(exact, evidence):
    m, n = len(exact), len(exact[0])
    W = torch.tensor([[float(v) for v in row] for row in exact], dtype=torch.float64)   # exact in float64
    P = chains.pad_to_square(W)
    D = max(m, n)
    assert P.shape == (D, D), f"P(W) has shape {tuple(P.shape)} for W {m}×{n}, expected {D}×{D}"
    with mpmath.workdps(DIGITS):
        sigma_W = mpmath.svd_r(mpmath.matrix([[mpmath.mpf(v.numerator) / v.denominator for v in row]
                                              for row in exact]), compute_uv=False)
        want = sorted([float(s) for s in sigma_W] + [0.0] * abs(m - n), reverse=True)
    want = torch.tensor(want, dtype=torch.float64)
    got = torch.linalg.svdvals(P)
    scale = 1.0 + float(want[0])
    err = float((got - want).abs().max()) / scale
    frobenius = math.sqrt(sum(v * v for row in exact for v in row))                     # exact sum of squares
    errors = {"singular values": err,
              "‖P‖_2 vs σ_1(W)": abs(float(torch.linalg.matrix_norm(P, ord=2)) - float(want[0])) / scale,
              "‖P‖_F vs ‖W‖_F": abs(float(torch.linalg.matrix_norm(P)) - frobenius) / (1.0 + frobenius)}
    rank = flint.fmpq_mat(m, n, [flint.fmpq(v.numerator, v.denominator) for row in exact for v in row]).rank()
    padded_rank = int(torch.linalg.matrix_rank(P))
    for name, value in errors.items():
        evidence.figure(f"max relative error: {name}", value, "1", keep="max")
    evidence.figure("smallest dimension min(m, n) covered", min(m, n), "", keep="min")
    evidence.figure("largest abs(m − n) covered", abs(m - n), "", keep="max")
    if rank < min(m, n):   # the figure's count is the number of rank-deficient draws
        evidence.figure("rank-deficient draws: largest rank deficit min(m, n) − rank", min(m, n) - rank, "",
                        keep="max")
    assert max(errors.values()) <= SVD_RTOL, (f"W {m}×{n} = {W.tolist()}: P(W)'s singular values {got.tolist()}, "
                                              f"expected σ(W) + {abs(m - n)} zeros = {want.tolist()}; errors {errors}")
    assert padded_rank == rank, f"W {m}×{n} has exact rank {rank} but P(W) has numerical rank {padded_rank}"
    assert torch.equal(P[:m, :n], W) and not P[m:].any() and not P[:, n:].any(), (
        f"P(W) is not W with zero rows/columns appended: W = {W.tolist()}, P = {P.tolist()}")


# ------------------------------------------------------------- gsa.strict_balancedness

# W_{l+1}ᵀ W_{l+1} = W_l W_lᵀ in float64: the square root of a d×d Gram matrix loses ~κ eps.
BALANCED_TOL = 1e-10
EXPONENTS = st.floats(0.0, 2.0)
SCALES = st.floats(0.1, 10.0)


def balancedness_defect_reference(chain) -> float:
    """max_l ‖W_{l+1}ᵀ W_{l+1} − W_l W_lᵀ‖_F / ‖W_l W_lᵀ‖_F from the float64 entries, in mpmath."""
    with working_precision(mpmath_dps=DIGITS):
        Ws = [mpmath.matrix(W.tolist()) for W in chain]
        return max(float(mpmath.mnorm(B.T * B - A * A.T, "f") / mpmath.mnorm(A * A.T, "f"))
                   for A, B in itertools.pairwise(Ws))


def power_law_parameters(W: torch.Tensor) -> tuple[float, float, float]:
    """(c, α, misfit) from W's singular values: c = σ_1, α = log(σ_1/σ_2)/log 2, and the largest
    relative deviation of σ_i from c i^{-α} (0 for an exact power law)."""
    sigma = torch.linalg.svdvals(W)
    c, alpha = float(sigma[0]), math.log(float(sigma[0] / sigma[1])) / math.log(2)
    law = power_law_spectrum(W.shape[-1], alpha, c)
    return c, alpha, float(((sigma - law) / law).abs().max())


@pytest.mark.claim("gsa.strict_balancedness")
@given(d=st.integers(2, 8), L=st.integers(2, 6), c=SCALES, alpha=EXPONENTS, seed=st.integers(0, 2 ** 31 - 1))
def test_balanced_power_law_chains_have_equal_scale_and_exponent(d, L, c, alpha, seed, evidence):
    """The chain is built from the balancedness equation alone, from W_0 = U diag(c i^{-α}) Vᵀ;
    the conclusion (every factor has the same (c, α)) is then measured by SVD of each factor."""
    gen = torch.Generator().manual_seed(seed)
    chain = chains.balanced_chain(matrix_with_spectrum(power_law_spectrum(d, alpha, c), generator=gen), L,
                                  generator=gen)
    defect = balancedness_defect_reference(chain)
    evidence.figure("max relative balancedness defect of built chains (mpmath)", defect, "1", keep="max")
    assert defect <= BALANCED_TOL, (f"the built chain is not balanced: defect {defect:.3g} "
                                    f"(d={d}, L={L}, c={c}, α={alpha})")
    params = [power_law_parameters(W) for W in chain]
    for l, ((c0, a0, misfit0), (c1, a1, misfit1)) in enumerate(itertools.pairwise(params)):
        gaps = {"c": abs(c1 - c0) / c0, "α": abs(a1 - a0), "power-law misfit": max(misfit0, misfit1)}
        evidence.figure("max relative scale gap abs(c_{l+1} − c_l)/c_l", gaps["c"], "1", keep="max")
        evidence.figure("max exponent gap abs(α_{l+1} − α_l)", gaps["α"], "1", keep="max")
        assert max(gaps.values()) <= BALANCED_TOL, (
            f"balanced exact power-law chain (d={d}, c={c}, α={alpha}): layer {l} has (c, α) = ({c0}, {a0}), "
            f"layer {l + 1} has ({c1}, {a1}); gaps {gaps}")


def hoffman_wielandt_gap(d: int, first: tuple[float, float], second: tuple[float, float]) -> float:
    """‖σ'² − σ²‖_2 / ‖σ²‖_2 for σ = c i^{-α}, σ' = c' i^{-α'} (sorted Gram spectra), in mpmath:
    no pair of symmetric matrices with these spectra is closer in Frobenius norm."""
    with working_precision(mpmath_dps=DIGITS):
        (c, a), (c2, a2) = [(mpmath.mpf(x), mpmath.mpf(y)) for x, y in (first, second)]
        gram = [c ** 2 * mpmath.power(i, -2 * a) for i in range(1, d + 1)]
        gram2 = [c2 ** 2 * mpmath.power(i, -2 * a2) for i in range(1, d + 1)]
        return float(mpmath.norm([x - y for x, y in zip(gram2, gram)]) / mpmath.norm(gram))


@pytest.mark.claim("gsa.strict_balancedness")
@given(d=st.integers(2, 8), c=SCALES, alpha=EXPONENTS, dc=st.floats(-0.5, 0.5), dalpha=st.floats(-0.5, 0.5),
       aligned=st.booleans(), seed=st.integers(0, 2 ** 31 - 1))
def test_unequal_power_laws_are_not_balanced(d, c, alpha, dc, dalpha, aligned, seed, evidence):
    """W_0 = U_1 diag(c i^{-α}) V_0ᵀ, W_1 = U_2 diag(c' i^{-α'}) V_1ᵀ with (c', α') ≠ (c, α); with
    V_1 = U_1 (aligned: the Gram matrices commute, the best case) or random V_1. The defect must
    reach the Hoffman–Wielandt gap (equal it when aligned), which is far above round-off."""
    c2, alpha2 = c * (1 + dc), max(alpha + dalpha, 0.0)
    assume(abs(dc) >= 1e-3 or abs(alpha2 - alpha) >= 1e-3)
    gen = torch.Generator().manual_seed(seed)
    U1, U2, V0 = random_orthogonal(d, 3, generator=gen)
    V1 = U1 if aligned else random_orthogonal(d, generator=gen)
    W0 = U1 @ torch.diag(power_law_spectrum(d, alpha, c)) @ V0.mT
    W1 = U2 @ torch.diag(power_law_spectrum(d, alpha2, c2)) @ V1.mT
    defect = float(chains.balancedness_defect([W0, W1]))
    bound = hoffman_wielandt_gap(d, (c, alpha), (c2, alpha2))
    evidence.figure("min Hoffman–Wielandt gap of unequal (c, α) pairs drawn", bound, "1", keep="min")
    evidence.figure("min balancedness defect of unequal (c, α) pairs", defect, "1", keep="min")
    assert bound > 1e3 * BALANCED_TOL, (f"gap {bound:.3g} too small to decide for (c, α) = ({c}, {alpha}) "
                                        f"vs ({c2}, {alpha2})")
    assert defect >= bound * (1 - 1e-9) - 1e-13, (
        f"(c, α) = ({c}, {alpha}) and ({c2}, {alpha2}) (d={d}, aligned={aligned}): balancedness defect "
        f"{defect:.6g} is below the Hoffman–Wielandt gap {bound:.6g} of their Gram spectra")
    if aligned:
        assert abs(defect - bound) <= 1e-9 * bound + 1e-13, (
            f"aligned factors: defect {defect:.12g} should equal the spectral gap {bound:.12g} (d={d})")
