"""Slack, chart drift, near-identity expansions and exact power-law chains (003, GSA I §4),
checked on `impl.geometry.chains` against mpmath at 50 digits.

What is compared with what:
- the reference: σ_1, ‖·‖_F, ρ(Ĵ) = log(d σ_1²/‖J‖_F²) and slacks of the float64 matrices are
  recomputed in mpmath at 50 digits from their definitions (eigenvalues of JᵀJ by mpmath.eigsy),
  ρ(α) and ρ'(α) by `impl.geometry.naive` (a term sum and mpmath's numerical differentiation of
  it), not by the closed forms of `impl.geometry.orbit`;
- gsa.radial_shortness: impl's slack, ρ(Ĵ_l), fitted exponents and residuals against those
  references; slack ≥ 0, = 0 on aligned pairs, > 0 off alignment; the mean-value step (C2) (a ξ
  between α_l and α_{l+1} is found by root finding on the mpmath ρ') and the bounds (C2), (C3),
  for three chart maps (top-radial, Bures projection, log-spectrum least squares);
- gsa.near_identity_scaling: impl's leading terms (57), (58), (61), (62), (59)–(60) (torch eigvalsh
  of the symmetric parts) against the exact mpmath values for L = 8 … 4096; the errors' log-log
  slopes (fitted for L >= 64) must show the stated orders;
- gsa.exact_power_law_chain: chains U_l diag(c_l i^{-α_l}) V_lᵀ, where the true α_l is known by
  construction: every chart must return it; residuals, chart errors, (66) and the path lengths.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import impl.geometry.chains as chains
from impl.geometry import naive, orbit
from impl.precision import working_precision
from impl.spectral.spectra import matrix_with_spectrum, power_law_spectrum, random_orthogonal

DIGITS = 50
# float64 logs of norms of O(1)–O(10) matrices: a few eps of absolute error.
LOG_ATOL = 1e-13
BOUNDS = (0.0, 3.0)            # the exponent interval [α_−, α_+] of the charts


def to_mp(M: torch.Tensor) -> mpmath.matrix:
    return mpmath.matrix(M.tolist())


def gram_spectrum(M: mpmath.matrix) -> list:
    """Eigenvalues of MᵀM (σ_i²), descending."""
    return sorted(mpmath.eigsy(M.T * M, eigvals_only=True), reverse=True)


def log_sigma1(M: mpmath.matrix):
    return mpmath.log(gram_spectrum(M)[0]) / 2


def rho_of_matrix(M: mpmath.matrix):
    """ρ(Ĵ) = log λ_1(ĴᵀĴ), Ĵ = √d M/‖M‖_F, from the definition."""
    spectrum = gram_spectrum(M)
    return mpmath.log(M.rows * spectrum[0] / mpmath.fsum(spectrum))


def slack_reference(J_next: mpmath.matrix, J: mpmath.matrix):
    return log_sigma1(J_next) + log_sigma1(J) - log_sigma1(J_next * J)


def loglog_slope(Ls, errors) -> float:
    """Least-squares slope of log|error| on log L."""
    return float(np.polyfit(np.log(np.asarray(Ls, dtype=float)),
                            np.log(np.abs(np.asarray([float(e) for e in errors]))), 1)[0])


# ------------------------------------------------------------- gsa.radial_shortness (a): slack

ALIGNMENTS = ("generic", "aligned", "aligned in a degenerate top subspace", "tilted")


@st.composite
def matrix_pairs(draw):
    """(J_next, J, alignment, θ): J = U Σ Vᵀ, J_next = U' Σ' V'ᵀ; the angle θ between J_next's top right
    singular vector and J's top left one is 0 (aligned), in [1e-4, π/2] (tilted), or random (generic);
    'degenerate' gives J a double σ_1 and aligns J_next with a mix of its two top left vectors. There J
    is a signed permutation of an exact diagonal (a random orthogonal U would split the double σ_1 by
    round-off, and the slack would be of that size instead of 0)."""
    d = draw(st.integers(2, 8), label="d")
    alignment = draw(st.sampled_from(ALIGNMENTS), label="alignment")
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2 ** 31 - 1), label="seed"))
    if alignment == "generic":
        return (torch.randn(d, d, dtype=torch.float64, generator=gen),
                torch.randn(d, d, dtype=torch.float64, generator=gen), alignment, None)
    # singular values: σ_1 > σ_2 by a factor >= 1.1 (σ_1 = σ_2 for J when degenerate)
    def spectrum():
        tail = sorted(draw(st.lists(st.floats(0.1, 1.0), min_size=d - 1, max_size=d - 1)), reverse=True)
        return torch.tensor([tail[0] * draw(st.floats(1.1, 3.0))] + tail, dtype=torch.float64)
    sigma, sigma_next = spectrum(), spectrum()
    U, V, U_next = random_orthogonal(d, 3, generator=gen)
    if alignment.startswith("aligned in"):
        sigma[0] = sigma[1]
        U, V = (torch.eye(d, dtype=torch.float64)[torch.randperm(d, generator=gen)]
                * torch.where(torch.rand(d, generator=gen) < 0.5, -1.0, 1.0).to(torch.float64) for _ in range(2))
    theta = None
    if alignment.startswith("aligned in"):        # any unit vector of span(u_1, u_2) will do
        phi = draw(st.floats(0, 2 * math.pi), label="φ")
        target = math.cos(phi) * U[:, 0] + math.sin(phi) * U[:, 1]
    else:
        theta = 0.0 if alignment == "aligned" else draw(st.floats(1e-4, math.pi / 2), label="θ")
        target = math.cos(theta) * U[:, 0] + math.sin(theta) * U[:, 1]
    # V' = an orthonormal basis whose first vector is the target (QR of [target, random columns])
    V_next, _ = torch.linalg.qr(torch.cat([target[:, None], torch.randn(d, d - 1, dtype=torch.float64,
                                                                         generator=gen)], dim=1))
    V_next = V_next * torch.sign(V_next[:, :1].mT @ target[:, None])[0]
    J = U @ torch.diag(sigma) @ V.mT
    J_next = U_next @ torch.diag(sigma_next) @ V_next.mT
    return J_next, J, alignment, theta


@pytest.mark.claim("gsa.radial_shortness")
@given(pair=matrix_pairs())
def test_slack_is_nonnegative_and_vanishes_exactly_on_alignment(pair, evidence):
    J_next, J, alignment, theta = pair
    d = J.shape[0]
    got = float(chains.slack(J_next, J))
    with mpmath.workdps(DIGITS):
        want = slack_reference(to_mp(J_next), to_mp(J))
    err = abs(got - float(want))
    evidence.figure("max abs error of impl's slack vs mpmath (50 digits)", err, "1", keep="max")
    assert err <= LOG_ATOL, (f"slack: impl {got!r}, mpmath {mpmath.nstr(want, 20)} (error {err:.3g}; d={d}, "
                             f"{alignment}, θ={theta})")
    # mpmath at 50 digits: exactly aligned pairs come out as ±1e-50
    assert want >= -1e-40 and got >= -LOG_ATOL, f"negative slack: mpmath {mpmath.nstr(want, 20)}, impl {got!r} (d={d})"
    if alignment.startswith("aligned"):
        # the float64 matrices are aligned up to round-off (~1e-16), so the slack is O(1e-32)
        evidence.figure(f"max mpmath slack of {alignment} pairs", want, "1", keep="max")
        assert want <= 1e-25, f"{alignment} pair (d={d}) has slack {mpmath.nstr(want, 10)}, expected 0"
    else:
        # off alignment the slack is strictly positive; for θ >= 1e-4 and a σ_1/σ_2 gap >= 1.1 it
        # is >= ~1e-10, far above the mpmath noise (1e-45)
        evidence.figure(f"min mpmath slack of {alignment} pairs", want, "1", keep="min")
        assert want > 1e-20, f"{alignment} pair (d={d}, θ={theta}) has slack {mpmath.nstr(want, 10)}, expected > 0"


# ------------------------------------------------------------- gsa.radial_shortness (b), (c): drift

@st.composite
def noisy_power_law_chains(draw, max_width=8, max_depth=6):
    """L full-rank factors with singular values i^{-α_l} · exp(0.3 z_i), α_l in [0, 1.5], z Gaussian:
    near power laws, so the least-squares and Bures charts leave nonzero radial residuals."""
    d, L = draw(st.integers(2, max_width), label="d"), draw(st.integers(2, max_depth), label="L")
    alphas = draw(st.lists(st.floats(0.0, 1.5), min_size=L, max_size=L), label="α")
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2 ** 31 - 1), label="seed"))
    sigma = power_law_spectrum(d, torch.tensor(alphas, dtype=torch.float64))
    sigma = sigma * torch.exp(0.3 * torch.randn(L, d, dtype=torch.float64, generator=gen))
    return matrix_with_spectrum(sigma, generator=gen)


def radial_derivative(d: int, alpha):
    """ρ'(α) by mpmath's differentiation of the term-sum ρ (impl.geometry.naive)."""
    return naive.top_radial_derivative(d, alpha)


@pytest.mark.claim("gsa.radial_shortness")
@given(J=noisy_power_law_chains(max_width=4, max_depth=4))
def test_fitted_exponent_drift_obeys_the_mean_value_bounds(J, evidence):
    check_drift(J, evidence)


@pytest.mark.sweep
@pytest.mark.claim("gsa.radial_shortness")
@given(J=noisy_power_law_chains(max_width=12, max_depth=8))
def test_fitted_exponent_drift_obeys_the_mean_value_bounds_wide_deep(J, evidence):
    check_drift(J, evidence)


def check_drift(J: torch.Tensor, evidence):
    """For each chart: impl's ρ_l and r_l against the mpmath definitions; (C2) with ξ_l found by
    root finding (ρ'(ξ) = quotient); the signed and unsigned bounds of (C2) and the sum (C3).
    m_ρ = ρ'(α_+) with α_+ = max_l α_l, the tightest interval holding the fitted exponents
    (any larger α_+ only weakens the bound)."""
    L, d = J.shape[0], J.shape[-1]
    rho = orbit.top_radial_of_matrix(J)
    with working_precision(mpmath_dps=DIGITS):
        rho_ref = [rho_of_matrix(to_mp(M)) for M in J]
        for chart in chains.CHARTS:
            alpha = chains.fitted_exponents(J, chart, bounds=BOUNDS)
            r = chains.radial_residuals(J, alpha)
            a = [mpmath.mpf(float(x)) for x in alpha]
            m_rho = radial_derivative(d, max(a))
            r_ref = [p - naive.top_radial(d, x) for p, x in zip(rho_ref, a)]
            agree = max(max(abs(float(rho[l]) - float(rho_ref[l])), abs(float(r[l]) - float(r_ref[l])))
                        for l in range(L))
            evidence.figure(f"max abs error of impl's ρ_l, r_l vs mpmath ({chart} chart)", agree, "1", keep="max")
            assert agree <= LOG_ATOL, f"{chart}: impl's ρ_l or r_l differ from mpmath by {agree:.3g} (d={d})"
            assert all(BOUNDS[0] <= x <= BOUNDS[1] for x in alpha.tolist()), (
                f"{chart}: α {alpha.tolist()} leaves {BOUNDS}")
            drift_sum = radial_sum = residual_sum = 0.0
            for l in range(L - 1):
                step = a[l + 1] - a[l]
                numerator = (rho_ref[l + 1] - rho_ref[l]) - (r_ref[l + 1] - r_ref[l])   # = ρ(α_{l+1}) − ρ(α_l)
                if step == 0:
                    assert abs(numerator) <= mpmath.mpf(10) ** (-DIGITS + 5), (
                        f"{chart}: α_l = α_(l+1) but Δρ − Δr = {numerator}")
                else:
                    xi = find_mean_value_point(d, a[l], a[l + 1], numerator / step)
                    rebuilt = numerator / radial_derivative(d, xi)
                    mvt = float(abs(rebuilt - step))
                    evidence.figure(f"max abs error of (C2): Δα vs [Δρ − Δr]/ρ'(ξ) ({chart} chart)", mvt, "1",
                                    keep="max")
                    assert mvt <= 1e-30, (f"{chart} (C2): α_(l+1) − α_l = {mpmath.nstr(step, 15)} but "
                                          f"[Δρ − Δr]/ρ'(ξ) = {mpmath.nstr(rebuilt, 15)} at ξ = {mpmath.nstr(xi, 15)} "
                                          f"(l={l}, d={d})")
                drift, radial, residual = (abs(float(step)), abs(float(rho[l + 1] - rho[l])),
                                           abs(float(r[l + 1] - r[l])))
                unsigned = radial + abs(float(r[l])) + abs(float(r[l + 1]))
                for name, bound in (("signed", radial + residual), ("unsigned", unsigned)):
                    ratio = drift * float(m_rho) / bound if bound > 0 else 0.0
                    evidence.figure(f"max abs(Δα) m_ρ / ({name} bound numerator) ({chart} chart)", ratio, "1",
                                    keep="max")
                    assert drift <= bound / float(m_rho) + 1e-12, (
                        f"{chart} (C2, {name}): abs(Δα) = {drift:.6g} > {bound:.6g}/m_ρ = {bound / float(m_rho):.6g} "
                        f"(l={l}, d={d}, α = {alpha.tolist()}, r = {r.tolist()})")
                drift_sum, radial_sum, residual_sum = drift_sum + drift, radial_sum + radial, residual_sum + residual
            assert drift_sum <= (radial_sum + residual_sum) / float(m_rho) + 1e-12 * L, (
                f"{chart} (C3): Σ abs(Δα) = {drift_sum:.6g} > (Σ abs(Δρ) + Σ abs(Δr))/m_ρ = "
                f"{(radial_sum + residual_sum) / float(m_rho):.6g} (d={d}, L={L})")
            if chart != "top_radial":
                evidence.figure(f"max abs radial residual ({chart} chart)", float(r.abs().max()), "1", keep="max")


def find_mean_value_point(d: int, a, b, quotient):
    """ξ between a and b with ρ'(ξ) = quotient (mpmath). ρ' is continuous and decreasing, so such a
    ξ exists iff ρ'(max) <= quotient <= ρ'(min) (asserted first, with the numbers)."""
    lo, hi = min(a, b), max(a, b)
    top, bottom = radial_derivative(d, lo), radial_derivative(d, hi)
    fuzz = mpmath.mpf(10) ** (-DIGITS + 10)          # mpmath.diff's error at 50 digits is far below this
    assert bottom - fuzz <= quotient <= top + fuzz, (
        f"no mean-value point: [ρ(b) − ρ(a)]/(b − a) = {mpmath.nstr(quotient, 15)} outside "
        f"[ρ'({mpmath.nstr(hi, 10)}), ρ'({mpmath.nstr(lo, 10)})] = [{mpmath.nstr(bottom, 15)}, "
        f"{mpmath.nstr(top, 15)}] (d={d})")
    if quotient >= top:
        return lo
    if quotient <= bottom:
        return hi
    return mpmath.findroot(lambda x: radial_derivative(d, x) - quotient, (lo, hi), solver="anderson")


# ------------------------------------------------------------- gsa.near_identity_scaling

LS = [2 ** k for k in range(3, 13)]                 # 8 … 4096
FIT_FROM = 64                                       # slopes fitted on L >= 64 (7 points), past the pre-asymptotic range
# (width d, seed, K = ‖A‖_2) of the generator triples (A_l, A_{l+1}, B): A_{l+1} − A_l = O(1) (unrelated
# factors) and A_l + B/L (close factors)
GENERATORS = [(2, 101, 2.0), (4, 102, 2.0), (6, 103, 2.0)]
SWEEP_GENERATORS = [(3, 201, 0.5), (5, 202, 5.0), (8, 203, 2.0), (12, 204, 3.0), (16, 205, 1.0)]


def generator_triple(d: int, seed: int, K: float) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    G = torch.randn(3, d, d, dtype=torch.float64, generator=gen)
    return tuple(G * (K / torch.linalg.matrix_norm(G, ord=2, keepdim=True)))


def near_identity_case(d: int, seed: int, K: float) -> dict:
    """The generators and, per L, the mpmath values of the exact quantities of the near-identity pair."""
    A, A_next, B = generator_triple(d, seed, K)
    rows = []
    with working_precision(mpmath_dps=DIGITS):
        Am, Anm, Bm = to_mp(A), to_mp(A_next), to_mp(B)
        eye = mpmath.eye(d)
        for L in LS:
            J, J_next, J_close = eye + Am / L, eye + Anm / L, eye + (Am + Bm / L) / L
            rows.append(dict(L=L, log_sigma=log_sigma1(J), log_sigma_product=log_sigma1(J_next * J),
                             rho=rho_of_matrix(J), rho_next=rho_of_matrix(J_next),
                             rho_product=rho_of_matrix(J_next * J),
                             slack=slack_reference(J_next, J), slack_close=slack_reference(J_close, J)))
    return dict(d=d, K=K, A=A, A_next=A_next, B=B, refs=rows)


@pytest.fixture(scope="module")
def near_identity_cases():
    return [near_identity_case(*g) for g in GENERATORS]


def assert_order(evidence, label: str, errors, order: float, tolerance: float = 0.2):
    """The errors' log-log slope over L >= FIT_FROM must be <= −order + tolerance (O(L^-order))."""
    pick = [i for i, L in enumerate(LS) if L >= FIT_FROM]
    slope = loglog_slope([LS[i] for i in pick], [errors[i] for i in pick])
    scaled = max(float(abs(errors[i])) * LS[i] ** order for i in pick)
    evidence.figure(f"max log-log slope: {label}", slope, "1", keep="max")
    evidence.figure(f"max L^{order:g}·abs(error), L >= {FIT_FROM}: {label}", scaled, "1", keep="max")
    assert slope <= -order + tolerance, (
        f"{label}: error slope {slope:.3f} in log L (expected <= {-order + tolerance:g} for O(L^-{order:g})); "
        f"errors {[f'{float(e):.3e}' for e in errors]} at L = {LS}")
    return slope


def assert_layer_and_product_expansions(evidence, case: dict, expansion, labels: dict[str, str]) -> None:
    """One layer (generator A_l) and the product of two (generator A_l + A_(l+1)): the high-precision
    reference minus the claim's `expansion` at that generator is O(L^-2). `labels` maps the two
    reference columns (one layer first, then the product) to their labels in the evidence."""
    A, A_next, refs = case["A"], case["A_next"], case["refs"]
    for (measured, label), generator in zip(labels.items(), (A, A + A_next)):
        assert_order(evidence, label, [r[measured] - float(expansion(generator, r["L"])) for r in refs], 2)


def check_log_norm_expansions(case: dict, evidence):
    assert_layer_and_product_expansions(evidence, case, chains.near_identity_log_norm, {
        "log_sigma": "(57) log σ_1(J_l) − μ_1(S_l)/L",
        "log_sigma_product": "(58) log σ_1(J_(l+1) J_l) − μ_1(S_l + S_(l+1))/L"})


def check_radial_expansions(case: dict, evidence):
    assert_layer_and_product_expansions(evidence, case, chains.near_identity_radial, {
        "rho": "(61) ρ(Ĵ_l) − 2(μ_1(S_l) − tr S_l/d)/L",
        "rho_product": "(62) ρ(normalised J_(l+1) J_l) − 2(μ_1(S_l + S_(l+1)) − tr(S_l + S_(l+1))/d)/L"})
    # (63): the radial displacement itself is O(1/L)
    assert_order(evidence, "(63) abs(ρ(Ĵ_(l+1)) − ρ(Ĵ_l)) itself", [r["rho_next"] - r["rho"] for r in case["refs"]],
                 1, tolerance=0.1)


def check_slack_orders(case: dict, evidence):
    d, A, A_next, refs = case["d"], case["A"], case["A_next"], case["refs"]
    slack = [r["slack"] for r in refs]
    bracket = [float(chains.near_identity_slack(A, A_next, r["L"])) for r in refs]
    assert_order(evidence, "(59)–(60) slack − [μ_1(S_l) + μ_1(S_(l+1)) − μ_1(S_l + S_(l+1))]/L",
                 [s - b for s, b in zip(slack, bracket)], 2)
    # Θ(1/L) for unrelated generators: the bracket is positive and the slope is −1 (two-sided)
    assert bracket[0] * LS[0] > 1e-3, f"d={d}: the bracket L·[…] = {bracket[0] * LS[0]:.3g} is not positive"
    slope = assert_order(evidence, "slack of unrelated factors", slack, 1, tolerance=0.1)
    assert slope >= -1.1, f"d={d}: slack slope {slope:.3f}: not Θ(1/L) (slacks {[float(x) for x in slack]})"
    evidence.figure("min slack·L at the largest L (unrelated factors)", float(slack[-1]) * LS[-1], "1", keep="min")
    # A_{l+1} = A_l + B/L with a spectral gap of S_l: O(L^-3)
    top = torch.linalg.eigvalsh((A + A.mT) / 2)
    evidence.figure("min spectral gap μ_1(S_l) − μ_2(S_l) (close factors)", float(top[-1] - top[-2]), "1", keep="min")
    assert_order(evidence, "slack of close factors A_(l+1) = A_l + B/L", [r["slack_close"] for r in refs], 3)


@pytest.mark.claim("gsa.near_identity_scaling")
def test_log_norm_expansions_57_58_are_second_order(near_identity_cases, evidence):
    for case in near_identity_cases:
        check_log_norm_expansions(case, evidence)
    evidence.note(f"generators (d, seed, ‖A‖_2) = {GENERATORS}; L = {LS[0]} … {LS[-1]}, slopes fitted on "
                  f"L >= {FIT_FROM}; exact values in mpmath at {DIGITS} digits, leading terms by impl")


@pytest.mark.claim("gsa.near_identity_scaling")
def test_radial_expansions_61_62_are_second_order(near_identity_cases, evidence):
    for case in near_identity_cases:
        check_radial_expansions(case, evidence)


@pytest.mark.claim("gsa.near_identity_scaling")
def test_slack_is_first_order_and_third_order_for_close_factors(near_identity_cases, evidence):
    for case in near_identity_cases:
        check_slack_orders(case, evidence)


@pytest.mark.claim("gsa.near_identity_scaling")
def test_float64_measurements_on_near_identity_chains(near_identity_cases, evidence):
    """impl's chain I + A_l/L and its float64 measurements (slack, ρ(Ĵ)) against the mpmath values:
    absolute errors stay at round-off (~1e-16), so float64 resolves the Θ(1/L) slack at every L, and
    the O(L^-3) slack of close factors (~1e-9 at L = 1024) to 1 % up to L = 1024."""
    for case in near_identity_cases:
        A, A_next, B = case["A"], case["A_next"], case["B"]
        for r in case["refs"]:
            L = r["L"]
            J, J_next, J_close = chains.near_identity_chain(torch.stack([A, A_next, A + B / L]), L)
            errors = {"slack": abs(float(chains.slack(J_next, J)) - float(r["slack"])),
                      "ρ(Ĵ_l)": abs(float(orbit.top_radial_of_matrix(J)) - float(r["rho"])),
                      "slack of close factors": abs(float(chains.slack(J_close, J)) - float(r["slack_close"]))}
            for name, err in errors.items():
                evidence.figure(f"max abs error of impl's float64 {name} on I + A/L, L <= {LS[-1]}", err, "1",
                                keep="max")
                assert err <= LOG_ATOL, f"d={case['d']}, L={L}: impl's float64 {name} is off by {err:.3g}"
            if L <= 1024:
                relative = errors["slack of close factors"] / float(r["slack_close"])
                evidence.figure("max relative float64 error of the close-factor slack, L <= 1024", relative, "1",
                                keep="max")
                assert relative <= 1e-2, (f"d={case['d']}, L={L}: float64 close-factor slack off by "
                                          f"{relative:.3g} relative")


@pytest.mark.sweep
@pytest.mark.claim("gsa.near_identity_scaling")
@pytest.mark.parametrize("generators", SWEEP_GENERATORS, ids=lambda g: f"d{g[0]}-K{g[2]}")
def test_near_identity_orders_sweep(generators, evidence):
    case = near_identity_case(*generators)
    for check in (check_log_norm_expansions, check_radial_expansions, check_slack_orders):
        check(case, evidence)


# ------------------------------------------------------------- gsa.exact_power_law_chain

# α from a float64 chain: ρ and log σ carry ~1e-15 (SVD of σ_d at κ = d^α <= 64^2.5 adds <= 1e-11), and
# the top-radial chart divides by ρ'(α) >= ρ'(3) ≈ 0.02 (d = 2): 1e-10 leaves two decades.
ALPHA_ATOL = 1e-10


@st.composite
def exact_power_law_chains(draw, max_width=16, max_depth=6):
    """(J (L, d, d), α (L,), window): J_l = U_l diag(c_l i^{-α_l}) V_lᵀ, α_l in [0, 2.5] ⊂ [α_−, α_+]."""
    d, L = draw(st.integers(2, max_width), label="d"), draw(st.integers(2, max_depth), label="L")
    alpha = torch.tensor(draw(st.lists(st.floats(0.0, 2.5), min_size=L, max_size=L), label="α"), dtype=torch.float64)
    c = torch.tensor(draw(st.lists(st.floats(0.1, 10.0), min_size=L, max_size=L), label="c"), dtype=torch.float64)
    lo = draw(st.integers(1, d - 1), label="window lo")
    window = (lo, draw(st.integers(lo + 1, d), label="window hi"))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2 ** 31 - 1), label="seed"))
    return matrix_with_spectrum(power_law_spectrum(d, alpha, c), generator=gen), alpha, window


@pytest.mark.claim("gsa.exact_power_law_chain")
@pytest.mark.parametrize("chart", chains.CHARTS)
@given(chain=exact_power_law_chains())
def test_every_chart_recovers_the_exponent_of_an_exact_chain(chart, chain, evidence):
    check_recovery(chart, chain, evidence)


def check_recovery(chart: str, chain, evidence):
    """The chart's α_l against the true α_l of the construction (rank window drawn for least squares)."""
    J, alpha, window = chain
    got = chains.fitted_exponents(J, chart, bounds=BOUNDS, window=window)
    err = float((got - alpha).abs().max())
    evidence.figure(f"max abs error of the recovered α ({chart} chart)", err, "1", keep="max")
    assert err <= ALPHA_ATOL, (f"{chart} chart on an exact chain (d={J.shape[-1]}, window {window}): recovered "
                               f"{got.tolist()}, true α {alpha.tolist()} (error {err:.3g})")


@pytest.mark.sweep
@pytest.mark.claim("gsa.exact_power_law_chain")
@pytest.mark.parametrize("chart", chains.CHARTS)
@given(chain=exact_power_law_chains(max_width=64, max_depth=10))
def test_every_chart_recovers_the_exponent_of_an_exact_chain_wide_deep(chart, chain, evidence):
    check_recovery(chart, chain, evidence)


@pytest.mark.claim("gsa.exact_power_law_chain")
@given(chain=exact_power_law_chains(max_width=6, max_depth=4))
def test_exact_chain_has_zero_residuals_and_equal_path_lengths(chain, evidence):
    J, alpha, _ = chain
    check_exact_chain(J, alpha, evidence)


@pytest.mark.sweep
@pytest.mark.claim("gsa.exact_power_law_chain")
@given(chain=exact_power_law_chains(max_width=16, max_depth=8))
def test_exact_chain_has_zero_residuals_and_equal_path_lengths_wide_deep(chain, evidence):
    J, alpha, _ = chain
    check_exact_chain(J, alpha, evidence)


def check_exact_chain(J: torch.Tensor, alpha: torch.Tensor, evidence):
    """Residuals, chart errors, (66) with m_ρ = ρ'(max_l α_l) and the two Bures path lengths."""
    L, d = J.shape[0], J.shape[-1]
    fitted = chains.fitted_exponents(J, "top_radial", bounds=BOUNDS)
    residual = float(chains.radial_residuals(J, fitted).abs().max())
    residual_true = float(chains.radial_residuals(J, alpha).abs().max())
    J_hat = orbit.frobenius_normalise(J)
    cartan = torch.diag_embed(torch.linalg.svdvals(J_hat) ** 2)
    general = float(orbit.bures_wasserstein(cartan, torch.diag_embed(orbit.orbit_eigenvalues(d, alpha))).max())
    hellinger_form = float(chains.bures_chart_error(J, alpha).max())
    rho = orbit.top_radial_of_matrix(J)
    with working_precision(mpmath_dps=DIGITS):
        spectra = [[x * d / mpmath.fsum(s) for x in s] for s in (gram_spectrum(to_mp(M)) for M in J)]
        chart_ref = max(naive.bures_wasserstein_diagonal(s, naive.eigenvalues(d, float(a)))
                        for s, a in zip(spectra, alpha))
        m_rho = float(radial_derivative(d, float(alpha.max())))
        actual_length = mpmath.fsum(naive.bures_wasserstein_diagonal(s, t) for s, t in itertools.pairwise(spectra))
        orbit_points = [naive.eigenvalues(d, float(a)) for a in fitted]
        fitted_length = mpmath.fsum(naive.bures_wasserstein_diagonal(p, q) for p, q in itertools.pairwise(orbit_points))
    closed_form_length = float(orbit.bures_wasserstein_orbit(d, fitted[:-1], fitted[1:]).sum())
    figures = {"abs r_l (top-radial chart)": (residual, 1e-13), "abs ρ(Ĵ_l) − ρ(α_l) (true α)": (residual_true, 1e-13),
               # trace − 2·fidelity cancels: the general-matrix d_BW is only good to √(eps·d)
               "d_BW(Cartan(Ĵ_l), A_(α_l)), general matrix formula": (general, 1e-6),
               "d_BW(Cartan(Ĵ_l), A_(α_l)), √(2d)·Hellinger (impl)": (hellinger_form, 1e-13),
               "d_BW(Cartan(Ĵ_l), A_(α_l)), mpmath": (float(chart_ref), 1e-13),
               # both lengths in mpmath; the fitted α carry ~1e-15, the float64 matrices ~1e-16 per entry
               "abs gap of fitted vs actual Bures path length (mpmath, per step)":
                   (float(abs(fitted_length - actual_length)) / (L - 1), 1e-12),
               # impl's closed form (F1) has a √eps floor between (nearly) coincident orbit points
               "abs gap of impl's closed-form fitted length vs actual (per step)":
                   (abs(closed_form_length - float(actual_length)) / (L - 1), 1e-7)}
    for name, (value, bound) in figures.items():
        evidence.figure(f"max {name}", value, "1", keep="max")
        assert value <= bound, f"exact chain (d={d}, α = {alpha.tolist()}): {name} = {value:.3g} > {bound:g}"
    for l in range(L - 1):                       # (66) with the measured radial displacement
        drift, radial = abs(float(alpha[l + 1] - alpha[l])), abs(float(rho[l + 1] - rho[l]))
        evidence.figure("max abs(Δα) m_ρ / abs(Δρ) on exact chains ((66), <= 1)",
                        drift * m_rho / radial if radial else 0.0, "1", keep="max")
        assert drift <= radial / m_rho + 1e-12, (f"(66): abs(α_(l+1) − α_l) = {drift:.6g} > abs(Δρ)/m_ρ = "
                                                 f"{radial / m_rho:.6g} (l={l}, d={d}, α = {alpha.tolist()})")
