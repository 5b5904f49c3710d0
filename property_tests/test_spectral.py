"""The Lean theorems of SpectralLowRank.lean (000) as properties of impl's power-law spectra.

- spectral.power_law_decreasing: impl's σ_i = c·i^{−α} (1-based, σ_1 = c) is strictly decreasing,
  in float64 for every draw, and in float32 wherever the true relative gap exceeds its rounding.
- spectral.power_law_positive: impl's i^{−α} > 0 for every α and i whose true value the float
  format can hold (a positive subnormal at least); the exponent α·log i at which impl's value
  first underflows to 0 is measured and must not come before the format's own limit.
- spectral.condition_grows: κ_r = σ_1/σ_r from impl's condition_number and from the SVD (LAPACK)
  of impl matrices built with the spectrum grows strictly in r; κ_1 = 1, and Lean's
  (r + 1)^α (0-based) is κ_{r+1}, checked against mpmath at 50 digits.
- spectral.manifold_dim_mono (P): impl's rank_manifold_dimension(d, r) = 2dr − r² is strictly
  increasing on 0 ≤ r ≤ d, and equals d² − (d − r)² (d² minus the normal space's dimension).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

# impl functions are looked up at call time (spectra.f), so the negative controls can replace them
from impl.spectral import rank_formulas, spectra
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)

F64, F32 = torch.float64, torch.float32
DIGITS = 50
EPS = {F64: float(torch.finfo(F64).eps), F32: float(torch.finfo(F32).eps)}
# −log of the smallest positive subnormal (the format's floor) and log of the largest finite value
UNDERFLOW = {t: -math.log(float(np.finfo(np.float64 if t is F64 else np.float32).smallest_subnormal))
             for t in (F64, F32)}
OVERFLOW = {t: math.log(float(torch.finfo(t).max)) for t in (F64, F32)}



# ------------------------------------------------------------- spectral.power_law_decreasing

# α log d <= 20·log 4096 ≈ 166, far from underflow; α >= 1e-3 keeps adjacent float64 values
# α·log(1 + 1/d) >= 2.4e-7 apart in relative terms, 10⁹ ulp.
exponents = st.floats(1e-3, 20)
widths = st.integers(2, 4096)
scales = st.floats(1e-3, 1e3)


@pytest.mark.claim("spectral.power_law_decreasing")
@given(alpha=exponents, d=widths, c=scales)
def test_power_law_is_strictly_decreasing(alpha, d, c, evidence):
    sigma = spectra.power_law_spectrum(d, alpha, c)
    assert sigma[0] == c, f"σ_1 = {float(sigma[0])} but c·1^(−α) = {c} (α={alpha}, d={d}): not 1-based"
    steps = sigma[1:] - sigma[:-1]
    if not torch.all(steps < 0):
        i = int(torch.nonzero(steps >= 0)[0]) + 1
        raise AssertionError(f"float64: σ_{i + 1} = {float(sigma[i])} >= σ_{i} = {float(sigma[i - 1])} "
                             f"for α={alpha}, c={c}, d={d}")
    evidence.figure("float64: min relative gap (σ_i − σ_(i+1))/σ_i", float((-steps / sigma[:-1]).min()), "1",
                    keep="min")

    # float32: rounding (relative error <= a few eps each) may tie two values only where their true
    # relative gap 1 − (i/(i+1))^α is below 4 eps, or where σ_(i+1) is below the smallest normal
    # float32 (subnormals lose relative precision); elsewhere strictness is required, order never reversed
    low = spectra.power_law_spectrum(d, alpha, c, dtype=F32)
    i = torch.arange(1, d, dtype=F64)
    true_gap = -torch.expm1(alpha * torch.log(i / (i + 1)))
    steps32 = low[1:] - low[:-1]
    normal = sigma[1:] >= torch.finfo(F32).tiny
    resolved = (true_gap > 4 * EPS[F32]) & normal
    bad = (steps32 > 0) | (resolved & (steps32 >= 0))
    assert not torch.any(bad), (
        f"float32: σ_(i+1) >= σ_i at i = {(torch.nonzero(bad)[:, 0] + 1).tolist()[:5]} with true relative "
        f"gaps {true_gap[bad].tolist()[:5]} (α={alpha}, c={c}, d={d})")
    evidence.figure("float32: adjacent pairs tied by rounding (allowed only where the true gap < 4 eps "
                    "or below the normal range)", int((steps32 == 0).sum()), "pairs", keep="max")
    evidence.figure("α range drawn: max α", alpha, "1", keep="max")
    evidence.figure("α range drawn: min α", alpha, "1", keep="min")
    evidence.figure("max width d", d, "1", keep="max")


# ------------------------------------------------------------- spectral.power_law_positive

formats = st.sampled_from([F64, F32])
indices = st.integers(1, 100_000)


@st.composite
def representable_powers(draw):
    """(dtype, i, α) with i^{−α} inside the format's range: between the smallest positive subnormal
    (times e, a margin for the rounding of α·log i) and the largest finite value (over e)."""
    dtype, i = draw(formats), draw(indices)
    if i == 1:
        return dtype, i, draw(st.floats(-1e6, 1e6))
    # the exponent t = α·log i, with extra weight near the underflow floor, where bugs hide
    near_floor = st.floats(UNDERFLOW[dtype] - 60, UNDERFLOW[dtype] - 1)
    t = draw(st.one_of(st.floats(-(OVERFLOW[dtype] - 1), UNDERFLOW[dtype] - 1), near_floor))
    return dtype, i, t / math.log(i)


@pytest.mark.claim("spectral.power_law_positive")
@given(case=representable_powers())
def test_power_law_value_is_positive_where_the_format_can_hold_it(case, evidence):
    dtype, i, alpha = case
    value = spectra.power_law_spectrum(i, alpha, dtype=dtype)[-1]
    with mpmath.workdps(DIGITS):
        want = mpmath.power(i, -mpmath.mpf(alpha))
    assert torch.isfinite(value) and value > 0, (
        f"{dtype}: impl's σ_{i} = {float(value)} for α = {alpha!r} (α·log i = {alpha * math.log(i):.6g}), "
        f"but i^(−α) = {mpmath.nstr(want, 8)} is representable (floor e^−{UNDERFLOW[dtype]:.2f})")
    name = "float64" if dtype is F64 else "float32"
    evidence.figure(f"{name}: smallest positive value seen", float(value), "1", keep="min")
    evidence.figure(f"{name}: largest α·log i drawn", alpha * math.log(i) if i > 1 else 0.0, "1", keep="max")


def first_zero_exponent(dtype, i: int) -> float:
    """The exponent t = α·log i at which impl's σ_i = i^{−α} first rounds to 0, by bisection on α."""
    lo, hi = 0.0, 2 * UNDERFLOW[dtype]
    for _ in range(80):
        mid = (lo + hi) / 2
        value = spectra.power_law_spectrum(i, mid / math.log(i), dtype=dtype)[-1]
        lo, hi = (mid, hi) if value > 0 else (lo, mid)
    return hi


@pytest.mark.claim("spectral.power_law_positive")
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_underflow_starts_only_at_the_format_floor(dtype, evidence):
    """Mathematically i^{−α} > 0 always; in floating point it rounds to 0 once α·log i passes
    −log(smallest subnormal) (+ log 2 for round-to-nearest). impl must not underflow before that."""
    name = "float64" if dtype is F64 else "float32"
    for i in (2, 1000, 4096, 10**5):
        t = first_zero_exponent(dtype, i)
        evidence.figure(f"{name}: α·log i where impl's i^(−α) first underflows to 0 (i = {i})", t, "1")
        assert t >= UNDERFLOW[dtype], (
            f"{name}: impl's σ_{i} = i^(−α) is 0 from α·log i = {t:.4f}, although values down to "
            f"e^−{UNDERFLOW[dtype]:.4f} (smallest subnormal) are representable")
    evidence.note(f"{name}: impl's i^(−α) > 0 exactly while α·log i < −log(smallest subnormal) + log 2 "
                  f"≈ {UNDERFLOW[dtype] + math.log(2):.2f}; beyond it the float value is 0 (the claim, "
                  "a statement about reals, is checked only inside that range)")


# ------------------------------------------------------------- spectral.condition_grows

grow_exponents = st.floats(0.01, 4)
matrix_sizes = st.integers(2, 48)
seeds = st.integers(0, 2**31 - 1)


@pytest.mark.claim("spectral.condition_grows")
@given(alpha=grow_exponents, d=matrix_sizes, extra=st.integers(0, 8), seed=seeds)
def test_condition_number_grows_strictly_with_rank(alpha, d, extra, seed, evidence):
    sigma = spectra.power_law_spectrum(d, alpha)
    kappa = torch.stack([spectra.condition_number(sigma, r) for r in range(1, d + 1)])
    assert kappa[0] == 1, f"κ_1 = {float(kappa[0])}, not σ_1/σ_1 = 1 (α={alpha}, d={d})"
    assert torch.all(kappa[1:] > kappa[:-1]), (
        f"condition_number not strictly increasing in r: κ = {kappa.tolist()[:8]}… (α={alpha}, d={d})")

    # the same ratios from the singular values LAPACK finds in an impl matrix (rows = d + extra)
    n = d + extra
    M = spectra.matrix_with_spectrum(sigma, n, n, generator=torch.Generator().manual_seed(seed))
    s = torch.linalg.svdvals(M)[:d]
    kappa_svd = s[0] / s
    # backward-stable SVD: |Δσ_r| <= n·eps·σ_1, so κ_r carries relative error <= n·eps·κ_r (×10 margin)
    budget = 10 * n * EPS[F64] * kappa
    rel = ((kappa_svd - kappa).abs() / kappa)
    assert torch.all(rel <= budget), (
        f"SVD of an impl matrix: κ_r = σ_1/σ_r differs from condition_number by {float(rel.max()):.3g} "
        f"relative (> 10·n·eps·κ_r) at r = {int(torch.argmax(rel / budget)) + 1} (α={alpha}, d={d}, n={n})")
    assert torch.all(kappa_svd[1:] > kappa_svd[:-1]), (
        f"SVD κ_r not strictly increasing: {kappa_svd.tolist()[:8]}… (α={alpha}, d={d}, n={n})")
    evidence.figure("max relative error of SVD κ_r vs condition_number, in units of n·eps·κ_r",
                    float((rel / (n * EPS[F64] * kappa)).max()), "1", keep="max")

    # indexing: κ_r = r^α (1-based); Lean's powerLawCondition r = (r+1)^α is κ_{r+1}, not κ_r
    r = d - 1
    with mpmath.workdps(DIGITS):
        lean = float(mpmath.power(r + 1, mpmath.mpf(alpha)))
        ours = float(mpmath.power(r, mpmath.mpf(alpha)))
    # the float64 spectrum carries relative error <= (1 + α log d)·eps per value
    tol = 4 * (1 + alpha * math.log(d)) * EPS[F64]
    assert abs(float(kappa[r]) / lean - 1) <= tol and abs(float(kappa[r - 1]) / ours - 1) <= tol, (
        f"κ_{r + 1} = {float(kappa[r])} vs Lean's (r+1)^α = {lean} at r = {r}; κ_{r} = {float(kappa[r - 1])} vs "
        f"r^α = {ours} (α={alpha}, d={d})")
    evidence.figure("min relative growth κ_(r+1)/κ_r − 1", float((kappa[1:] / kappa[:-1] - 1).min()), "1",
                    keep="min")


# ------------------------------------------------------------- spectral.manifold_dim_mono

@st.composite
def ranks_below_width(draw):
    """(d, r₁, r₂) with 0 <= r₁ < r₂ <= d."""
    d = draw(st.integers(1, 10**6))
    r2 = draw(st.integers(1, d))
    return d, draw(st.integers(0, r2 - 1)), r2


@pytest.mark.claim("spectral.manifold_dim_mono")
@given(case=ranks_below_width())
def test_rank_manifold_dimension_increases_up_to_full_rank(case, evidence):
    d, r1, r2 = case
    low, high = rank_formulas.rank_manifold_dimension(d, r1), rank_formulas.rank_manifold_dimension(d, r2)
    # dimension = d² − dim of the normal space (matrices (d−r)×(d−r) in the complementary block)
    for r, dim in ((r1, low), (r2, high)):
        assert dim == d * d - (d - r) ** 2, f"dim(d={d}, r={r}) = {dim}, but d² − (d−r)² = {d * d - (d - r) ** 2}"
    assert low < high, f"2dr − r² not increasing: d={d}, r₁={r1} → {low}, r₂={r2} → {high}"
    evidence.figure("max d drawn", d, "1", keep="max")


@pytest.mark.claim("spectral.manifold_dim_mono")
def test_rank_manifold_dimension_on_every_pair_of_small_ranks(evidence):
    """All pairs r₁ < r₂ <= d for d <= 60, and the step past full rank (r = d + 1), where 2dr − r²
    stops increasing: the hypothesis r₂ <= d is needed."""
    pairs = 0
    for d in range(1, 61):
        dims = [rank_formulas.rank_manifold_dimension(d, r) for r in range(d + 1)]
        assert dims == [d * d - (d - r) ** 2 for r in range(d + 1)], f"d={d}: {dims}"
        assert all(a < b for a, b in zip(dims, dims[1:])), f"d={d}: not strictly increasing: {dims}"
        pairs += d * (d + 1) // 2
        assert 2 * d * (d + 1) - (d + 1) ** 2 < dims[-1], f"d={d}: 2dr − r² still grows past r = d"
    evidence.figure("pairs r₁ < r₂ <= d checked exhaustively (d <= 60)", pairs, "pairs")
