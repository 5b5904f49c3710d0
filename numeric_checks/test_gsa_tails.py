"""Spectral tails on the GSA orbit (003 §5): tail sums, truncation ranks, tail-mass derivative and
Lipschitz bound, rank plateaux and transitions, checked against independent computations.

What is compared with what:
- impl's float64 tail sum (`tails.power_law_tail_sum`, direct sum + Euler–Maclaurin) and the bound
  formulas of `impl.geometry.tails` (the claims' own formulas) against TRUE tail sums: term-by-term
  mpmath sums at 50 digits (d ≤ 2000) or Hurwitz-zeta / digamma enclosures in python-flint balls
  (ζ(s, k+1) − ζ(s, d+1); ψ(d+1) − ψ(k+1) at s = 1) for d up to 10⁶;
- truncation ranks: impl's two paths (`orbit.orbit_truncation_rank`, `spectra.truncation_rank` on a
  power-law spectrum) against the mpmath walk over partial sums (`naive.truncation_rank`); true
  ranks for large d by a binary search whose every comparison T_k ≤ ε is decided in balls;
- the closed-form ∂_α T_k (`tails.tail_mass_derivative`) and the Lipschitz constant against a central
  difference of the definition T_k = Σ_{i>k} p_i at 60 digits (step 1e-20: error ≲ 1e-35);
- plateau endpoints (`tails.plateau_endpoints`, Brent on float64 T_k) against sign changes of the
  mpmath definition, and impl's transitions against mpmath ranks.
Certified checks (kind C) evaluate the same impl formulas on arb balls (`flint.ctx.prec` = 200).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import flint
import mpmath
import numpy as np
import pytest
import torch

import impl.geometry.naive as naive
import impl.geometry.orbit as orbit
import impl.geometry.tails as tails
import impl.spectral.spectra as spectra
from impl.precision import working_precision

DIGITS = 50
BALL_BITS = 200
DIRECT_SUM_MAX_D = 2000      # mpmath term sums up to this many terms, flint Hurwitz zeta beyond
BALL_DIRECT_MAX = 64         # ball sums: term by term up to this many terms, Hurwitz zeta beyond

# -------------------------------------------------------------------- true values


def mp_tail_sum(s, k: int, d: int) -> mpmath.mpf:
    """Σ_{i=k+1}^{d} i^{-s} as an mpf: the term sum at the working precision for d − k ≤ 2000, else from
    a flint Hurwitz-zeta / digamma enclosure (`ball_tail_sum`). s is converted exactly (float or Fraction)."""
    if d - k > DIRECT_SUM_MAX_D:
        return mp_hurwitz_tail(s, k, d)
    s = mpmath.mpf(s.numerator) / s.denominator if isinstance(s, Fraction) else mpmath.mpf(s)
    return mpmath.fsum(mpmath.power(i, -s) for i in range(k + 1, d + 1))


def mp_hurwitz_tail(s, k: int, d: int | None) -> mpmath.mpf:
    """Σ_{k<i≤d} i^{-s} (d = None: Σ_{i>k}, s > 1) as the midpoint of a flint enclosure whose radius is
    checked to be < 1e-40 relative. (Not mpmath.zeta(s, a): at 50 digits it loses relative accuracy for
    large a and s, e.g. 6e-11 at s = 20, a = 1001.)"""
    with working_precision(flint_bits=BALL_BITS):
        enclosure = ball(s).zeta(flint.arb(k + 1)) if d is None else ball_tail_sum(ball(s), k, d)
    assert enclosure.rad() < abs(enclosure.mid()) * flint.arb("1e-40"), f"loose enclosure {enclosure}"
    return mpmath.mpf(enclosure.mid().str(60, radius=False))


def ball(x) -> flint.arb:
    """An arb ball holding x exactly when x is a Fraction, an int or a float."""
    if isinstance(x, Fraction):
        return flint.arb(flint.fmpq(x.numerator, x.denominator))
    return flint.arb(x)


def ball_tail_sum(s: flint.arb, k: int, d: int) -> flint.arb:
    """An enclosure of Σ_{i=k+1}^{d} i^{-s} (k = 0 gives H_{d,s}): the term sum for d − k ≤ 64, else
    ζ(s, k+1) − ζ(s, d+1) (ψ(d+1) − ψ(k+1) at s = 1)."""
    if d - k <= BALL_DIRECT_MAX:
        return sum((flint.arb(i) ** (-s) for i in range(k + 1, d + 1)), flint.arb(0))
    if s == 1:
        return flint.arb(d + 1).digamma() - flint.arb(k + 1).digamma()
    return s.zeta(flint.arb(k + 1)) - s.zeta(flint.arb(d + 1))


def certified_rank(s: flint.arb, eps: flint.arb, d: int) -> int:
    """r_ε = min{k : T_k ≤ ε} by binary search (T_k is decreasing in k); every comparison of
    T_k = tail_k / H_{d,s} with ε is decided in balls, or the search fails with the numbers."""
    total = ball_tail_sum(s, 0, d)
    lo, hi = 0, d                       # T_0 = 1 > ε, T_d = 0 ≤ ε
    while hi - lo > 1:
        mid = (lo + hi) // 2
        gap = ball_tail_sum(s, mid, d) / total - eps
        if gap <= 0:
            hi = mid
        elif gap > 0:
            lo = mid
        else:
            raise AssertionError(f"undecided: T_{mid} − ε = {gap} for s={s}, ε={eps}, d={d}")
    return hi


def mp_tail_masses(d: int, alpha) -> list:
    """[T_0, …, T_d] from the definition T_k = Σ_{i>k} p_i (suffix sums of naive probabilities)."""
    tail, out = mpmath.mpf(0), []
    for p in reversed(naive.probabilities(d, alpha)):
        out.append(tail)
        tail += p
    out.append(tail)
    return out[::-1]


FD_STEP = mpmath.mpf("1e-20")


def mp_tail_mass_derivatives(d: int, alpha) -> list:
    """[∂_α T_k(α)]_{k=0..d} by a central difference of the definition at 60 digits: truncation error
    h² |T'''| ~ 1e-40 (log d)³ and rounding 1e-60/h = 1e-40, so abs error ≲ 1e-35."""
    with working_precision(mpmath_dps=DIGITS + 10):
        a = mpmath.mpf(alpha)
        up, down = mp_tail_masses(d, a + FD_STEP), mp_tail_masses(d, a - FD_STEP)
        return [(u - v) / (2 * FD_STEP) for u, v in zip(up, down)]


# ==================================================================== gsa.tail_integral_bounds

S_NEAR_ONE = [1 - 1e-6, 1.0, 1 + 1e-6]
S_GRID = [0.05, 0.3, 0.5, 0.9, *S_NEAR_ONE, 1.1, 1.5, 2.0, 3.0, 4.5, 6.0]
KD_GRID = [(1, 2), (1, 10), (3, 10), (9, 10), (1, 100), (50, 100), (99, 100), (1, 1000), (500, 1000),
           (999, 1000), (1, 10 ** 4), (100, 10 ** 5), (1, 10 ** 6), (10 ** 3, 10 ** 6), (10 ** 5, 10 ** 6),
           (10 ** 6 - 1, 10 ** 6)]


@pytest.mark.claim("gsa.tail_integral_bounds")
def test_tail_sum_matches_the_exact_sum(evidence):
    """impl's float64 tail sum vs the exact one (mpmath term sum / Hurwitz zeta at 50 digits).
    Tolerance 1e-13 relative: powers are within 1 ulp, the direct part is summed exactly (fsum),
    the Euler–Maclaurin remainder is < 1e-20, the integral term costs a few ulp."""
    worst = 0.0
    with working_precision(mpmath_dps=DIGITS):
        # k = 0 (the full H_{d,s}) and s = 20 (Euler–Maclaurin start pushed to 64 s) as well
        for s in [*S_GRID, 20.0]:
            for k, d in [*KD_GRID, (0, 10 ** 6), (0, 1)]:
                got, want = tails.power_law_tail_sum(s, k, d), mp_tail_sum(s, k, d)
                err = float(abs(got - want) / want)
                worst = max(worst, err)
                assert err <= 1e-13, (f"power_law_tail_sum(s={s}, k={k}, d={d}) = {got!r} but the exact sum "
                                      f"is {mpmath.nstr(want, 20)} (relative error {err:.3g})")
    evidence.figure("max relative error of power_law_tail_sum vs the exact sum", worst, "1")
    evidence.note(f"s ∈ {S_GRID + [20.0]}, (k, d) ∈ {KD_GRID} plus k = 0; exact sums: mpmath fsum "
                  f"(d ≤ {DIRECT_SUM_MAX_D}) or Hurwitz zeta / digamma at {DIGITS} digits")


@pytest.mark.claim("gsa.tail_integral_bounds")
def test_tail_sums_lie_within_the_integral_bounds(evidence):
    """(79): impl's bounds (the claim's formulas, float64) bracket the exact tail sum on the grid,
    including s = 1 ± 1e-6 and s = 1 (log form). Compared exactly (floats converted to mpf)."""
    slack_low, slack_up, count = math.inf, math.inf, 0
    with working_precision(mpmath_dps=DIGITS):
        for s in S_GRID:
            for k, d in KD_GRID:
                lower, upper = tails.tail_sum_bounds(s, k, d)
                true = mp_tail_sum(s, k, d)
                assert mpmath.mpf(lower) <= true <= mpmath.mpf(upper), (
                    f"(79) fails at s={s}, k={k}, d={d}: lower {lower!r}, true sum {mpmath.nstr(true, 20)}, "
                    f"upper {upper!r} (true − lower = {mpmath.nstr(true - lower, 5)}, "
                    f"upper − true = {mpmath.nstr(upper - true, 5)})")
                slack_low = min(slack_low, float((true - lower) / true))
                slack_up = min(slack_up, float((upper - true) / true))
                count += 1
    evidence.figure("cases (s, k, d) checked", count, "1")
    evidence.figure("min relative slack (sum − lower)/sum", slack_low, "1")
    evidence.figure("min relative slack (upper − sum)/sum", slack_up, "1")


@pytest.mark.claim("gsa.tail_integral_bounds")
def test_zeta_and_infinite_tail_bounds(evidence):
    """(80) for s > 1: 1 ≤ H_{d,s} ≤ ζ(s) ≤ s/(s−1); Σ_{k<i≤d} ≤ Σ_{i>k} ≤ k^{1−s}/(s−1); and the orbit
    tail mass T_k = tail/H_{d,s} ≤ k^{1−s}/(s−1). True values as in mp_tail_sum; Σ_{i>k} = ζ(s, k+1) and ζ(s) = ζ(s, 1)
    from flint enclosures."""
    worst_zeta, worst_tail = 0.0, 0.0
    with working_precision(mpmath_dps=DIGITS):
        for s in [x for x in S_GRID if x > 1] + [1.01, 1.001]:
            zeta, zeta_bound = mp_hurwitz_tail(s, 0, None), mpmath.mpf(tails.zeta_bound(s))
            assert zeta <= zeta_bound, f"ζ({s}) = {mpmath.nstr(zeta, 20)} > s/(s−1) = {zeta_bound}"
            worst_zeta = max(worst_zeta, float(zeta / zeta_bound))
            for k, d in KD_GRID:
                H, tail = mp_tail_sum(s, 0, d), mp_tail_sum(s, k, d)
                infinite, bound = mp_hurwitz_tail(s, k, None), mpmath.mpf(tails.infinite_tail_bound(s, k))
                assert 1 <= H <= zeta, f"H_(d,s) = {mpmath.nstr(H, 20)} outside [1, ζ(s) = {zeta}] (s={s}, d={d})"
                assert tail <= infinite <= bound, (
                    f"(80) fails at s={s}, k={k}: finite tail {mpmath.nstr(tail, 15)}, Σ_(i>k) = "
                    f"{mpmath.nstr(infinite, 15)}, bound k^(1−s)/(s−1) = {mpmath.nstr(bound, 15)}")
                assert tail / H <= bound, (f"T_k = {mpmath.nstr(tail / H, 15)} > k^(1−s)/(s−1) = "
                                           f"{mpmath.nstr(bound, 15)} at s={s}, k={k}, d={d}")
                worst_tail = max(worst_tail, float(infinite / bound))
    evidence.figure("max ζ(s) / (s/(s−1)) over the grid", worst_zeta, "1")
    evidence.figure("max Σ_(i>k) i^-s / (k^(1−s)/(s−1)) over the grid", worst_tail, "1")


# certified: exact rational exponents at the points, and a cover of s-intervals between them
S_RATIONAL = [Fraction(1, 20), Fraction(3, 10), Fraction(1, 2), Fraction(9, 10), Fraction(1) - Fraction(1, 10 ** 6),
              Fraction(1), Fraction(1) + Fraction(1, 10 ** 6), Fraction(11, 10), Fraction(3, 2), Fraction(2),
              Fraction(3), Fraction(9, 2), Fraction(6)]


def certify_positive(value: flint.arb, what: str) -> None:
    """A ball comparison is three-valued: only a certified `> 0` passes; a ball straddling 0 fails too."""
    if not value > 0:
        verdict = "certified false" if value <= 0 else "undecided"
        raise AssertionError(f"{what}: difference {value} is not certified > 0 ({verdict})")


@pytest.mark.claim("gsa.tail_integral_bounds")
def test_integral_bounds_certified_at_rational_exponents(evidence):
    """(79) and (80) in ball arithmetic at exact rational s (incl. 1 and 1 ± 10⁻⁶) for all (k, d) of the grid,
    d ≤ 10⁶: impl's bound formulas evaluated on arb balls vs enclosures of the true sums."""
    count = 0
    with working_precision(flint_bits=BALL_BITS):
        for q in S_RATIONAL:
            s = ball(q)
            for k, d in KD_GRID:
                true = ball_tail_sum(s, k, d)
                lower, upper = tails.tail_sum_bounds(s, k, d)
                certify_positive(true - lower, f"(79) lower at s={q}, k={k}, d={d}: sum {true} vs {lower}")
                certify_positive(upper - true, f"(79) upper at s={q}, k={k}, d={d}: sum {true} vs {upper}")
                count += 2
                if q > 1:
                    H = ball_tail_sum(s, 0, d)
                    bound = tails.infinite_tail_bound(s, k)
                    certify_positive(bound - s.zeta(flint.arb(k + 1)),
                                     f"(80) Σ_(i>k) ≤ k^(1−s)/(s−1) at s={q}, k={k}")
                    certify_positive(bound - true / H, f"(80) T_k ≤ k^(1−s)/(s−1) at s={q}, k={k}, d={d}")
                    certify_positive(s.zeta() - H, f"(80) H_(d,s) < ζ(s) at s={q}, d={d}")
                    count += 3
            if q > 1:
                certify_positive(tails.zeta_bound(s) - s.zeta(), f"(80) ζ(s) < s/(s−1) at s={q}")
                count += 1
    evidence.figure("inequalities certified at rational exponents", count, "1")
    evidence.note(f"exact s ∈ {[str(q) for q in S_RATIONAL]}, (k, d) ∈ {KD_GRID}; arb at {BALL_BITS} bits")


def cover(lo: Fraction, hi: Fraction, pieces: int, decide, max_intervals: int) -> int:
    """Split [lo, hi] into `pieces` and bisect until `decide(s0, s1)` certifies each subinterval;
    returns the number of subintervals used, or fails with the first one left undecided."""
    stack = [(lo + (hi - lo) * j / pieces, lo + (hi - lo) * (j + 1) / pieces) for j in range(pieces)]
    done = 0
    while stack:
        s0, s1 = stack.pop()
        if decide(s0, s1):
            done += 1
            continue
        assert done + len(stack) < max_intervals, (
            f"cover of [{float(lo)}, {float(hi)}] not certified within {max_intervals} subintervals: "
            f"undecided on [{float(s0)}, {float(s1)}]")
        mid = (s0 + s1) / 2
        stack += [(s0, mid), (mid, s1)]
    return done


KD_COVER = [(1, 2), (1, 10), (9, 10), (1, 100), (99, 100), (1, 1000), (999, 1000), (1, 10 ** 4)]
S_COVER = (Fraction(1, 4), Fraction(6))
S_COVER_ZETA = (Fraction(1) + Fraction(1, 64), Fraction(6))


@pytest.mark.sweep
@pytest.mark.claim("gsa.tail_integral_bounds")
def test_integral_bounds_certified_on_exponent_intervals(evidence):
    """(79) for EVERY s in [1/4, 6] and (80) for every s in [1 + 1/64, 6], certified by monotonicity:
    the tail sum, both integral bounds, ζ(s, k+1) and k^{1−s}/(s−1), s/(s−1) all decrease in s, so on
    [s0, s1] it suffices that sum(s1) > lower(s0), upper(s1) > sum(s0), bound(s1) > ζ(s0): point balls."""
    sums = {}

    def true(q, k, d):
        if (q, k, d) not in sums:
            sums[q, k, d] = ball_tail_sum(ball(q), k, d)
        return sums[q, k, d]

    totals = {}
    with working_precision(flint_bits=BALL_BITS):
        for k, d in KD_COVER:
            def bounds_hold(s0, s1, k=k, d=d):
                lower0, _ = tails.tail_sum_bounds(ball(s0), k, d)
                _, upper1 = tails.tail_sum_bounds(ball(s1), k, d)
                return bool(true(s1, k, d) - lower0 > 0 and upper1 - true(s0, k, d) > 0)
            totals[f"(79) k={k}, d={d}"] = cover(*S_COVER, 32, bounds_hold, 200000)

        def zeta_bounds_hold(s0, s1):
            b0, b1 = ball(s0), ball(s1)
            return bool(tails.zeta_bound(b1) - b0.zeta() > 0
                        and all(tails.infinite_tail_bound(b1, k) - b0.zeta(flint.arb(k + 1)) > 0
                                for k in (1, 10)))
        totals["(80) ζ and Σ_(i>k), k ∈ {1, 10}"] = cover(*S_COVER_ZETA, 64, zeta_bounds_hold, 60000)
    for name, n in totals.items():
        evidence.figure(f"certified subintervals {name}", n, "1")
    evidence.note(f"(79) certified for all s ∈ [{S_COVER[0]}, {S_COVER[1]}] at (k, d) ∈ {KD_COVER}; (80) for all "
                  f"s ∈ [{S_COVER_ZETA[0]}, {S_COVER_ZETA[1]}]. Below s = 1/4 both sides of (79) meet at s = 0 "
                  f"(gap O(s)), so only the rational points are certified there.")


# ==================================================================== gsa.truncation_rank_bounds

S_RANK = [1.05, 1.2, 1.5, 2.0, 3.0, 4.5, 6.0]
EPS_RANK = [1e-4, 1e-3, 1e-2, 0.1, 0.5]
D_WALK = [2, 10, 100, 500]          # mpmath walk over partial sums
D_BALL = [10 ** 4, 10 ** 5]          # certified binary search (Hurwitz zeta)


def impl_rank(path: str, d: int, alpha: float, eps: float) -> int:
    """impl's ε-truncation rank along one path; looked up at call time (negative controls patch it)."""
    if path == "orbit":
        return int(orbit.orbit_truncation_rank(d, alpha, eps))
    return int(spectra.truncation_rank(spectra.power_law_spectrum(d, alpha), eps))


# ε off simple fractions: at α = 0 (p_i = 1/d) or α = −1/2 a tail mass can equal ε = j/d exactly, and
# float64 rounding then decides the tie either way; such ties say nothing about the claims
EPS_GENERIC = [1e-4, 1.3e-3, 0.013, 0.107, 0.487]


@pytest.mark.claim("gsa.truncation_rank_bounds")
@pytest.mark.parametrize("path", ["orbit", "spectra"])
def test_truncation_rank_paths_agree_with_the_partial_sum_walk(path, evidence):
    """impl's rank (orbit closed form or spectra on σ_i = i^{-α}) vs the 50-digit walk over partial sums;
    exponents include s < 1, s = 1 and (orbit only: spectra sorts σ, so for α < 0 it ranks a reversed
    order) negative α. Integers: must agree exactly."""
    count = 0
    alphas = [0.0, 0.25, 0.5, *(s / 2 for s in S_RANK)]
    with working_precision(mpmath_dps=DIGITS):
        for d in D_WALK:
            for alpha in ([-1.5, -0.5] if path == "orbit" else []) + alphas:
                for eps in EPS_GENERIC:
                    got, want = impl_rank(path, d, alpha, eps), naive.truncation_rank(d, alpha, eps)
                    assert got == want, (f"{path} path: r_ε = {got} but the partial-sum walk gives {want} "
                                         f"(d={d}, α={alpha}, ε={eps})")
                    count += 1
    evidence.figure(f"(d, α, ε) cases where the {path} rank equals the mpmath walk", count, "1")


def true_rank(s: float, eps: float, d: int) -> int:
    if d in D_WALK:
        with working_precision(mpmath_dps=DIGITS):
            return naive.truncation_rank(d, s / 2, eps)
    with working_precision(flint_bits=BALL_BITS):
        return certified_rank(ball(s), ball(eps), d)


@pytest.mark.claim("gsa.truncation_rank_bounds")
def test_true_rank_lies_within_the_bounds(evidence):
    """Theorem 5.5: x_low ≤ r_ε ≤ min(d, ⌈((s−1)ε)^{−1/(s−1)}⌉) for s = 2α ∈ (1, 6], ε ∈ [1e-4, 0.5],
    d ≤ 10⁵, with impl's bounds and the TRUE rank (mpmath walk, or ball-certified search)."""
    tight_up, tight_low, count = math.inf, 0.0, 0
    for d in D_WALK + D_BALL:
        for s in S_RANK:
            for eps in EPS_RANK:
                r = true_rank(s, eps, d)
                lower, upper = tails.truncation_rank_bounds(s / 2, eps, d)
                assert lower <= r <= upper, (f"Theorem 5.5 fails at s={s}, ε={eps}, d={d}: true rank {r}, "
                                             f"bounds [{lower:.6g}, {upper}]")
                count += 1
                if upper < d:                           # the width-independent branch is active
                    tight_up = min(tight_up, r / upper)
                tight_low = max(tight_low, max(lower, 0) / r)
    evidence.figure("cases checked", count, "1")
    evidence.figure("min true rank / upper bound (where the bound is < d)", tight_up, "1")
    evidence.figure("max lower bound / true rank", tight_low, "1")


@pytest.mark.claim("gsa.truncation_rank_bounds")
def test_rank_stays_below_the_width_independent_bound(evidence):
    """For s > 1 the true r_ε (ball-certified) stays ≤ ⌈((s−1)ε)^{−1/(s−1)}⌉ as d grows 10² → 10⁶,
    and is nondecreasing in d (T_k = 1 − H_k/H_d grows with d)."""
    for s, eps in [(1.5, 0.1), (2.0, 1e-3), (2.0, 0.05), (3.0, 1e-3), (6.0, 1e-4)]:
        bound = tails.truncation_rank_bounds(s / 2, eps, 10 ** 15)[1]   # d beyond reach: the d-free part
        ranks = [true_rank(s, eps, 10 ** e) for e in range(2, 7)]
        assert all(r <= bound for r in ranks) and ranks == sorted(ranks), (
            f"s={s}, ε={eps}: ranks at d = 1e2..1e6 are {ranks}, width-independent upper bound {bound}")
        evidence.figure(f"r_ε at d = 1e6 / bound (s={s}, ε={eps})", ranks[-1] / bound, "1")
        evidence.note(f"s={s}, ε={eps}: r_ε at d = 1e2..1e6 = {ranks}, bound {bound}")


@pytest.mark.claim("gsa.truncation_rank_bounds")
def test_rank_grows_linearly_in_width_below_one(evidence):
    """For s < 1: r_ε/d → (1−ε)^{1/(1−s)}; the true rank (ball-certified) at d = 10²..10⁶, and impl's
    orbit rank at the same d must equal it. The error must shrink over the four decades (the
    expected rate is d^{s−1} from ζ(s) in H_{d,s}); the fitted log-log slope is reported."""
    for s in (0.3, 0.6, 0.8):
        for eps in (0.1, 0.5):
            limit = tails.linear_rank_fraction(s, eps)
            widths = [10 ** e for e in range(2, 7)]
            errors = []
            for d in widths:
                r = true_rank(s, eps, d)
                impl = int(orbit.orbit_truncation_rank(d, s / 2, eps))
                assert impl == r, f"orbit rank {impl} ≠ certified rank {r} at s={s}, ε={eps}, d={d}"
                errors.append(abs(r / d - limit))
            slope = float(np.polyfit(np.log(widths), np.log(np.maximum(errors, 1e-300)), 1)[0])
            assert errors[-1] <= errors[0] / 2 and slope <= -(1 - s) / 2, (
                f"r_ε/d does not approach (1−ε)^(1/(1−s)) = {limit:.6g} at s={s}, ε={eps}: "
                f"errors {[f'{e:.3g}' for e in errors]} at d = 1e2..1e6, log-log slope {slope:.3f}")
            evidence.figure(f"abs(r/d − limit) at d = 1e6 (s={s}, ε={eps})", errors[-1], "1")
            evidence.figure(f"log-log slope of the error in d (s={s}, ε={eps}; expected {s - 1:.1f})", slope, "1")


RANK_POINTS_C = [(Fraction(11, 10), Fraction(1, 100)), (Fraction(3, 2), Fraction(1, 10)),
                 (Fraction(3, 2), Fraction(1, 10 ** 4)), (Fraction(2), Fraction(1, 100)), (Fraction(2), Fraction(1, 2)),
                 (Fraction(3), Fraction(1, 1000)), (Fraction(6), Fraction(1, 10 ** 4))]


@pytest.mark.claim("gsa.truncation_rank_bounds")
def test_truncation_rank_bounds_certified(evidence):
    """Balls: the true rank r is certified by its decisive ranks (T_r ≤ ε < T_{r−1}, every step of the
    search decided), then r − 1 < x_up (so r ≤ ⌈x_up⌉) and r ≥ x_low are certified with impl's bound
    values evaluated on balls, at exact rational (s, ε) and d ∈ {10², 10⁴, 10⁶}."""
    count, tight = 0, 0.0
    with working_precision(flint_bits=BALL_BITS):
        for q, e in RANK_POINTS_C:
            s, eps = ball(q), ball(e)
            for d in (100, 10 ** 4, 10 ** 6):
                r = certified_rank(s, eps, d)
                x_low, x_up = tails.truncation_rank_bound_values(s, eps, d)
                certify_positive(x_up - (r - 1), f"upper bound at s={q}, ε={e}, d={d}: rank {r}, x_up {x_up}")
                certify_positive(r - x_low, f"lower bound at s={q}, ε={e}, d={d}: rank {r}, x_low {x_low}")
                count += 1
                tight = max(tight, float(x_low.mid()) / r)
    evidence.figure("(s, ε, d) points with both bounds certified", count, "1")
    evidence.figure("max x_low / r at the certified points", tight, "1")


# ==================================================================== gsa.truncation_rank_monotone

D_DERIV = [2, 3, 10, 50, 200]
ALPHA_DERIV = [-2.0, -1.0, -0.3, 0.0, 0.25, 0.5, 1.0, 2.0, 4.0]


@pytest.mark.claim("gsa.truncation_rank_monotone")
def test_tail_mass_derivative_matches_the_definition(evidence):
    """impl's closed form ∂_α T_k = −2F(1−F)(E[log i|i>k] − E[log i|i≤k]) vs the 60-digit central
    difference of T_k = Σ_{i>k} p_i, all k, incl. negative α; and its sign (≤ 0, < 0 for 0 < k < d).
    Tolerance 1e-12 (1 + |∂T|): float64 sums of d ≤ 200 probabilities times logs ≤ log 200."""
    worst, count = 0.0, 0
    for d in D_DERIV:
        for alpha in ALPHA_DERIV:
            want = mp_tail_mass_derivatives(d, alpha)
            for k in range(d + 1):
                got = float(tails.tail_mass_derivative(d, k, alpha))
                err = abs(got - float(want[k]))
                worst = max(worst, err / (1 + abs(float(want[k]))))
                assert err <= 1e-12 * (1 + abs(float(want[k]))), (
                    f"∂_α T_{k} at d={d}, α={alpha}: closed form {got!r}, derivative of the definition "
                    f"{mpmath.nstr(want[k], 17)} (error {err:.3g})")
                assert (want[k] < 0 and got < 0) if 0 < k < d else abs(want[k]) < 1e-30, (
                    f"sign of ∂_α T_{k} at d={d}, α={alpha}: closed form {got!r}, definition {mpmath.nstr(want[k], 5)}")
                count += 1
    evidence.figure("max error of the closed-form ∂_α T_k / (1 + |∂_α T_k|)", worst, "1")
    evidence.figure("(d, k, α) cases", count, "1")


# ==================================================================== gsa.tail_mass_lipschitz

D_LIPSCHITZ = [2, 3, 5, 10, 30, 100]
ALPHA_FINE = np.linspace(-3, 3, 121)


@pytest.mark.claim("gsa.tail_mass_lipschitz")
def test_tail_mass_slope_is_at_most_half_log_d(evidence):
    """sup over α ∈ [−3, 3] (step 0.05) and all k of |∂_α T_k| (60-digit difference of the definition)
    ≤ (log d)/2 from impl; 1e-30 allowance for the difference's error. The bound is attained at d = 2,
    α = 0 (T_1 = q, ∂ = −2 log 2 q(1−q), q = 1/2), so the ratio there is 1."""
    for d in D_LIPSCHITZ:
        bound = tails.tail_mass_lipschitz_constant(d)
        sup, where = mpmath.mpf(0), None
        for alpha in ALPHA_FINE:
            slopes = mp_tail_mass_derivatives(d, float(alpha))
            k = max(range(d + 1), key=lambda j: abs(slopes[j]))
            if abs(slopes[k]) > sup:
                sup, where = abs(slopes[k]), (float(alpha), k)
        assert sup <= bound + 1e-30, (f"d={d}: |∂_α T_k| reaches {mpmath.nstr(sup, 17)} at (α, k) = {where}, "
                                      f"above (log d)/2 = {bound!r}")
        evidence.figure(f"sup |∂_α T_k| / ((log d)/2) at d={d}", float(sup / bound), "1")


@pytest.mark.claim("gsa.tail_mass_lipschitz")
def test_tail_mass_differences_on_random_pairs(evidence):
    """abs(T_k(α) − T_k(β)) ≤ ((log d)/2) abs(α − β) on 150 random (d, k, α, β), α, β ∈ [−4, 4],
    some pairs 1e-6 apart, plus a pair 1e-6 apart at d = 2, α = 0 where the constant is attained;
    T_k from the definition at 50 digits."""
    rng = np.random.default_rng(20240517)

    def draw():
        d = int(rng.integers(2, 120))
        alpha = float(rng.uniform(-4, 4))
        beta = alpha + (float(rng.uniform(-1e-6, 1e-6)) if rng.random() < 0.3 else float(rng.uniform(-4, 4)))
        return d, int(rng.integers(0, d + 1)), alpha, beta
    worst = 0.0
    with working_precision(mpmath_dps=DIGITS):
        for d, k, alpha, beta in [(2, 1, -5e-7, 5e-7), *(draw() for _ in range(150))]:
            change = abs(naive.tail_mass(d, k, alpha) - naive.tail_mass(d, k, beta))
            allowed = mpmath.mpf(tails.tail_mass_lipschitz_constant(d)) * abs(mpmath.mpf(alpha) - mpmath.mpf(beta))
            assert change <= allowed, (f"|T_{k}({alpha}) − T_{k}({beta})| = {mpmath.nstr(change, 10)} > "
                                       f"(log d)/2 |α − β| = {mpmath.nstr(allowed, 10)} (d={d})")
            if allowed > 0:
                worst = max(worst, float(change / allowed))
    evidence.figure("max |ΔT_k| / ((log d)/2 |Δα|) over random pairs", worst, "1")


# ==================================================================== gsa.rank_transitions

@pytest.mark.claim("gsa.rank_transitions")
def test_plateaux_are_intervals(evidence):
    """(R1): on a grid α ∈ [−1, 3] (step 0.005), each {α : r_ε(α) = k} of impl's orbit rank is one
    contiguous run; at every boundary impl's ranks equal the 50-digit partial-sum walk."""
    grid = np.linspace(-1, 3, 801)
    boundaries = 0
    for d in (5, 20, 60):
        for eps in EPS_GENERIC[2:]:
            ranks = orbit.orbit_truncation_rank(d, torch.tensor(grid), eps).tolist()
            for k in set(ranks):
                where = [j for j, r in enumerate(ranks) if r == k]
                assert where[-1] - where[0] + 1 == len(where), (
                    f"plateau r_ε = {k} is not an interval at d={d}, ε={eps}: grid α from {grid[where[0]]:.3f} "
                    f"to {grid[where[-1]]:.3f} but {where[-1] - where[0] + 1 - len(where)} points between differ")
            with working_precision(mpmath_dps=DIGITS):
                for j in (j for j in range(len(grid) - 1) if ranks[j] != ranks[j + 1]):
                    for i in (j, j + 1):
                        want = naive.truncation_rank(d, float(grid[i]), eps)
                        assert ranks[i] == want, (f"orbit rank {ranks[i]} ≠ walk {want} at a plateau boundary "
                                                  f"α={grid[i]:.3f} (d={d}, ε={eps})")
                    boundaries += 1
    evidence.figure("plateau boundaries verified against mpmath", boundaries, "1")


ROOT_HALF_WIDTH = 1e-10              # float64 roots: T_k errors ~1e-16 over |∂T_k| ≥ 1e-4 here


def random_exponent_sequences(seed: int):
    """(d, ε, α_0..α_40), d ∈ {10, 40, 100}: random walks in [0.05, 2.5] with normal steps (σ 0.3)."""
    rng = np.random.default_rng(seed)
    for d in (10, 40, 100):
        eps = float(rng.uniform(0.01, 0.5))
        steps = rng.normal(0, 0.3, 40)
        alphas = np.clip(rng.uniform(0.05, 2.5) + np.concatenate([[0], np.cumsum(steps)]), 0.05, 2.5)
        yield d, eps, alphas.tolist()


@functools.lru_cache(maxsize=None)      # both (R2) checks walk the same sequences
def verified_endpoints(d: int, eps: float) -> dict[int, float]:
    """impl's plateau endpoints, each confirmed by a sign change of T_k − ε (mpmath definition, 50 digits)
    across [b − 1e-10, b + 1e-10], so the true root is within 1e-10 of impl's."""
    # the bracket holds every root of T_k = ε, 1 ≤ k < d, for ε ∈ [0.01, 0.5]: T_1(10) < 1e-5, and at
    # α = −(d/2 + 10) the top mass T_{d−1} ≈ (2|α| + 1)/d > 1/2
    endpoints = tails.plateau_endpoints(d, eps, -(d / 2 + 10), 10.0)
    assert sorted(endpoints) == list(range(1, d)), (
        f"plateau endpoints found for k = {sorted(endpoints)}, expected 1..{d - 1} (d={d}, ε={eps})")
    with working_precision(mpmath_dps=DIGITS):
        for k, b in endpoints.items():
            before, after = naive.tail_mass(d, k, b - ROOT_HALF_WIDTH), naive.tail_mass(d, k, b + ROOT_HALF_WIDTH)
            assert before > eps >= after, (
                f"endpoint of T_{k} = ε at α = {b!r} (d={d}, ε={eps}) is not a root of the definition: "
                f"T_k(α ∓ 1e-10) = {mpmath.nstr(before, 12)}, {mpmath.nstr(after, 12)}")
    return endpoints


@pytest.mark.claim("gsa.rank_transitions")
def test_transitions_straddle_plateau_endpoints(evidence):
    """(R2) on random exponent sequences: impl's transitions equal those of the mpmath walk; each transition
    step has a verified plateau endpoint between α_l and α_{l+1}; |α_{l+1} − α_l| ≥ dist(α_l, B); and the
    number of transitions ≤ TV/γ with γ = min_l dist(α_l, B)."""
    total, worst_ratio = 0, 0.0
    for seed in (1, 2):
        for d, eps, alphas in random_exponent_sequences(seed):
            B = np.array(sorted(verified_endpoints(d, eps).values()))
            with working_precision(mpmath_dps=DIGITS):
                walk = [naive.truncation_rank(d, a, eps) for a in alphas]
            steps = tails.rank_transitions(alphas, eps, d)
            want = [j for j in range(len(alphas) - 1) if walk[j] != walk[j + 1]]
            assert steps == want, f"impl transitions {steps} ≠ walk transitions {want} (d={d}, ε={eps})"
            dist = [float(np.min(np.abs(B - a))) for a in alphas]
            for j in steps:
                a, b = sorted((alphas[j], alphas[j + 1]))
                assert np.any((B >= a) & (B <= b)), (
                    f"transition r {walk[j]} → {walk[j + 1]} between α = {alphas[j]:.6f} and {alphas[j + 1]:.6f} "
                    f"has no plateau endpoint between them (d={d}, ε={eps}; nearest {B[np.argmin(np.abs(B - a))]:.6f})")
                assert abs(alphas[j + 1] - alphas[j]) >= dist[j], (
                    f"step {abs(alphas[j + 1] - alphas[j]):.3g} < dist(α_l, B) = {dist[j]:.3g} at l={j} (d={d})")
            tv, gamma = float(np.sum(np.abs(np.diff(alphas)))), min(dist)
            assert len(steps) <= tv / gamma, f"{len(steps)} transitions > TV/γ = {tv:.4g}/{gamma:.3g} (d={d}, ε={eps})"
            total += len(steps)
            worst_ratio = max(worst_ratio, len(steps) * gamma / tv)
    evidence.figure("transition steps checked", total, "1")
    evidence.figure("max transitions / (TV/γ)", worst_ratio, "1")


@pytest.mark.claim("gsa.rank_transitions")
def test_tail_margin_gives_the_endpoint_distance(evidence):
    """(R2), margin form: with η = min_{l, 0<k<d} abs(T_k(α_l) − ε) (mpmath), γ = η / ((log d)/2) = 2η/log d
    (impl's Lipschitz constant) satisfies dist(α_l, B) ≥ γ for every l, so transitions ≤ TV/γ."""
    worst = math.inf
    for seed in (1, 2):
        for d, eps, alphas in random_exponent_sequences(seed):
            B = np.array(sorted(verified_endpoints(d, eps).values()))
            with working_precision(mpmath_dps=DIGITS):
                eta = min(abs(t - eps) for a in alphas for t in mp_tail_masses(d, a)[1:d])
            gamma = float(eta) / tails.tail_mass_lipschitz_constant(d)
            dist = min(float(np.min(np.abs(B - a))) for a in alphas)
            transitions = len(tails.rank_transitions(alphas, eps, d))
            tv = float(np.sum(np.abs(np.diff(alphas))))
            assert dist >= gamma and transitions <= tv / gamma, (
                f"margin η = {float(eta):.3g} gives γ = 2η/log d = {gamma:.3g}, but min dist(α_l, B) = {dist:.3g}; "
                f"transitions {transitions}, TV/γ = {tv / gamma:.4g} (d={d}, ε={eps})")
            worst = min(worst, dist / gamma)
    evidence.figure("min dist(α_l, B) / (2η/log d)", worst, "1")
