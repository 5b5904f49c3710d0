"""Validation of the spectral toolkit (impl/spectral: svd, fits, tail_fit, effective_rank).

Each fitter is run on synthetic data whose answer is known and compared with that answer within
a tolerance derived from the noise (stated where it is used), or with an independent computation:
- rank-exponent fits: exact power laws σ_i = i^{−α} with multiplicative log-normal noise
  (sd s = 0.05), α in [0.3, 2], n in [200, 2000];
- model comparison: power laws, exponentials, stretched exponentials; BIC must pick the true
  family (≥ 18 of 20 draws), and each model's least-squares optimum is checked with numpy/scipy;
- density-tail fit, both xmin searches (WeightWatcher's, the default, and the minimum-tail one):
  a brute-force Clauset–Shalizi–Newman search written here from the paper's definitions (analytic
  MLE per xmin, smallest KS distance) with each search's candidates, the `powerlaw` package's own
  xmin search over the same candidates, and Pareto samples with known a (WeightWatcher's own
  figures on real weights: tests/test_spectrum_cli.py);
- exponent conversion a ↔ α: ranked Pareto samples;
- randomized SVD: the exact SVD, and the spectrum a matrix was built with;
- effective ranks: Python loops over the definitions, and closed cases (k equal values).
Each validation helper is also run on a deliberately wrong fitter, which it must reject.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from impl.geometry import orbit
from impl.spectral import effective_rank, fits, svd, tail_fit
from impl.spectral.spectra import matrix_with_spectrum, power_law_spectrum
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)

NOISE_SD = 0.05
Z_LIMIT = 5.0  # tolerances derived from a standard error allow 5 of them
# OLS slope of log σ on log i with iid noise of sd s has stderr s/√Sxx, Sxx = Σ(log i − mean)² over
# the window; on a whole spectrum of n ≥ 200, Sxx ≥ 0.8 n, so 5 standard errors are ≤ 0.02.
LS_TOLERANCE = 0.02


def least_squares_stderr(lo: int, hi: int, noise_sd: float = NOISE_SD) -> float:
    log_i = np.log(np.arange(lo, hi + 1))
    return noise_sd / math.sqrt(((log_i - log_i.mean()) ** 2).sum())



rank_exponents = st.floats(0.3, 2.0)
spectrum_sizes = st.integers(200, 2000)
seeds = st.integers(0, 2**31 - 1)


def noisy_power_law(n: int, alpha: float, seed: int, noise_sd: float = NOISE_SD) -> np.ndarray:
    """σ_i = i^{−α} e^{ε_i}, ε_i ~ N(0, noise_sd²), in the order of i (not re-sorted)."""
    noise = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (power_law_spectrum(n, alpha) * torch.exp(noise_sd * noise)).numpy()


# ------------------------------------------------------------------ least-squares rank exponent

def check_least_squares(fitter, sigma, alpha, window=None) -> float:
    """|α̂ − α| ≤ 5 standard errors of the window (≤ LS_TOLERANCE on a whole spectrum); returns
    the error in standard errors."""
    got = fitter(sigma, window).alpha
    tolerance = Z_LIMIT * least_squares_stderr(*(window or (1, len(sigma))))
    assert abs(got - alpha) <= tolerance, (
        f"α̂ = {got:.5f} vs α = {alpha:.5f} (n = {len(sigma)}, window {window}): "
        f"error {abs(got - alpha):.4f} > {tolerance:.4f}")
    return abs(got - alpha) / (tolerance / Z_LIMIT)


@given(alpha=rank_exponents, n=spectrum_sizes, seed=seeds)
def test_least_squares_recovers_rank_exponent(alpha, n, seed):
    sigma = noisy_power_law(n, alpha, seed)
    assert Z_LIMIT * least_squares_stderr(1, n) <= LS_TOLERANCE
    check_least_squares(fits.fit_rank_power_law, sigma, alpha)
    # a window through the middle of the spectrum sees the same exponent (with a wider tolerance)
    check_least_squares(fits.fit_rank_power_law, sigma, alpha, window=(n // 10, n // 2))
    fit = fits.fit_rank_power_law(sigma)
    # the reported standard error is s/√Sxx with s estimated from n − 2 residuals: relative
    # spread of that estimate ≈ 1/√(2n) ≤ 5% at n = 200, so 25% is 5 of those.
    assert fit.stderr == pytest.approx(least_squares_stderr(1, n), rel=0.25)
    assert fit.residual_rms == pytest.approx(NOISE_SD, rel=0.25)
    assert fit.n_points == n and fit.window == (1, n) and fit.r2 > 0.9


def test_least_squares_is_exact_on_an_exact_power_law():
    sigma = 3.0 * power_law_spectrum(500, 1.35)
    fit = fits.fit_rank_power_law(sigma, window=(5, 250))
    assert abs(fit.alpha - 1.35) < 1e-12 and abs(fit.log_c - math.log(3.0)) < 1e-11
    assert fit.r2 == pytest.approx(1.0, abs=1e-12) and fit.n_points == 246


def test_least_squares_check_rejects_log_sigma_on_i():
    """Failing control: a fitter that regresses log σ on i (not log i) misses α by far."""
    def slope_on_rank(sigma, window):
        i = np.arange(1, len(sigma) + 1, dtype=float)
        return fits.PowerLawFit(-np.polyfit(i, np.log(sigma), 1)[0], 0.0, 0.0, (1, len(sigma)), len(sigma),
                                0.0, 0.0)
    with pytest.raises(AssertionError, match="error"):
        check_least_squares(slope_on_rank, noisy_power_law(500, 1.0, seed=1), 1.0)


@pytest.mark.parametrize("window, problem", [((0, 10), "window"), ((5, 5), "window"), ((1, 101), "n = 100"),
                                             ((90, 100), "σ must be positive")])
def test_fit_rejects_bad_windows_and_values(window, problem):
    sigma = power_law_spectrum(100, 1.0).numpy()
    sigma[95] = 0.0
    with pytest.raises(ValueError, match=problem):
        fits.fit_rank_power_law(sigma, window=window)
    with pytest.raises(ValueError, match="1-D"):
        fits.fit_rank_power_law(np.ones((3, 4)))


# ------------------------------------------------------------------ maximum-likelihood rank exponent

def mle_standard_error(n: int, alpha: float, noise_sd: float) -> float:
    """Delta method for the MLE under multiplicative noise e^{ε_i}: the energies w_i ∝ i^{−2α}e^{2ε_i}
    move the matched moment m = Σ w_i log i by δm = 2 Σ w_i ε_i (log i − m), and dE_α[log i]/dα
    = −2 Var_w(log i), so sd(α̂) = s √(Σ w_i² (log i − m)²) / Var_w(log i). Written from the
    definitions in numpy (not the fitter's code)."""
    log_i = np.log(np.arange(1, n + 1))
    w = np.exp(-2 * alpha * log_i)
    w /= w.sum()
    m = w @ log_i
    return noise_sd * math.sqrt((w ** 2) @ (log_i - m) ** 2) / (w @ (log_i - m) ** 2)


def check_mle(fitter, sigma, alpha) -> float:
    """|α̂ − α| ≤ 5 delta-method standard errors; returns the error in standard errors."""
    got = fitter(sigma).alpha
    se = mle_standard_error(len(sigma), alpha, NOISE_SD)
    assert abs(got - alpha) <= Z_LIMIT * se, (
        f"MLE α̂ = {got:.5f} vs α = {alpha:.5f} (n = {len(sigma)}): error {abs(got - alpha):.4f} "
        f"> {Z_LIMIT} × {se:.4f}")
    return abs(got - alpha) / se


@given(alpha=rank_exponents, n=spectrum_sizes, seed=seeds)
def test_mle_recovers_rank_exponent(alpha, n, seed):
    check_mle(fits.fit_rank_power_law_mle, noisy_power_law(n, alpha, seed), alpha)


@given(alpha=rank_exponents, n=spectrum_sizes)
def test_mle_is_exact_on_an_exact_power_law_and_matches_the_orbit_moment(alpha, n):
    """Noise-free data lies in the family, so the MLE is α itself; and at the fitted α the orbit's
    own E_α[log i] (impl.geometry.orbit, ranks 1..n) equals the matched moment Σ w_i log i."""
    fit = fits.fit_rank_power_law_mle(2.0 * power_law_spectrum(n, alpha))
    assert abs(fit.alpha - alpha) < 1e-9
    assert float(orbit.expected_log_rank(n, fit.alpha)) == pytest.approx(fit.mean_log_rank, abs=1e-10)


def test_mle_check_rejects_sigma_instead_of_energy():
    """Failing control: moment-matching σ_i/Σσ (not σ²) fits i^{−α} with the Gibbs i^{−2α}: α/2."""
    def mle_on_sigma(sigma):
        return fits.fit_rank_power_law_mle(np.sqrt(sigma))
    with pytest.raises(AssertionError, match="MLE"):
        check_mle(mle_on_sigma, noisy_power_law(800, 1.0, seed=2), 1.0)


def test_mle_rejects_energy_at_one_end():
    with pytest.raises(ValueError, match="positive"):
        fits.fit_rank_power_law_mle(np.array([1.0, 0.0, 0.0]), window=(1, 2))
    with pytest.raises(ValueError, match="one end.*no finite exponent"):
        fits.fit_rank_power_law_mle(np.array([1.0, 1e-200, 1e-200]))  # σ² underflows: all energy at rank 1


# ------------------------------------------------------------------ model comparison

def synthetic_spectrum(family: str, n: int, rng: np.random.Generator) -> np.ndarray:
    i = np.arange(1, n + 1)
    log_sigma = {"power_law": lambda: -rng.uniform(0.3, 2.0) * np.log(i),
                 "exponential": lambda: -rng.uniform(3.0, 9.0) * i / n,
                 "stretched_exponential": lambda: -(i / (n / 10)) ** rng.uniform(0.3, 0.7)}[family]()
    return np.exp(log_sigma + NOISE_SD * rng.standard_normal(n))


@pytest.mark.parametrize("family", fits.MODELS)
def test_model_comparison_picks_the_true_family(family):
    """20 seeded spectra per family (n in [200, 2000]). BIC picks the true family in ≥ 18 of 20:
    the stretched exponential nests the exponential (γ = 1) and the power law (γ → 0), so it wins
    by chance now and then (measured: 2 in 100 draws for each); the power law may never win on
    data of another family, and never by less than the decisive ΔBIC of 10 (registry)."""
    rng = np.random.default_rng(["power_law", "exponential", "stretched_exponential"].index(family))
    picks = []
    for _ in range(20):
        comparison = fits.compare_spectral_models(synthetic_spectrum(family, int(rng.integers(200, 2001)), rng))
        picks.append(comparison.best_bic)
        if family != "power_law":
            power = comparison.fits["power_law"].bic
            best = comparison.fits[comparison.best_bic].bic
            assert power - best >= 10, f"power law within ΔBIC {power - best:.1f} of {comparison.best_bic} on {family} data"
    assert picks.count(family) >= 18, f"{family} data: BIC picked {picks}"


def test_model_fits_match_scipy_least_squares():
    """Each model's RSS is the least-squares optimum: numpy's polyfit for the two linear models,
    scipy's curve_fit from the true parameters for the stretched exponential (ours may be lower,
    never higher, than a local optimiser's)."""
    from scipy.optimize import curve_fit

    rng = np.random.default_rng(7)
    n = 600
    i = np.arange(1, n + 1, dtype=float)
    y = np.log(synthetic_spectrum("stretched_exponential", n, rng))
    comparison = fits.compare_spectral_models(np.exp(y))
    for name, x in (("power_law", np.log(i)), ("exponential", i)):
        residual = y - np.polyval(np.polyfit(x, y, 1), x)
        assert comparison.fits[name].rss == pytest.approx(residual @ residual, rel=1e-9)

    def stretched(i, log_c, tau, gamma):
        return log_c - (i / tau) ** gamma

    params, _ = curve_fit(stretched, i, y, p0=(0.0, n / 10, 0.5), bounds=([-10, 1e-3, 1e-2], [10, 1e6, 10]))
    residual = y - stretched(i, *params)
    ours = comparison.fits["stretched_exponential"]
    assert ours.rss <= (residual @ residual) * (1 + 1e-6)
    assert ours.params["gamma"] == pytest.approx(params[2], rel=1e-3)
    # AIC/BIC of the registry: n ln(RSS/n) + 2p and + p ln n
    assert ours.aic == pytest.approx(n * math.log(ours.rss / n) + 6, rel=1e-12)
    assert ours.bic == pytest.approx(n * math.log(ours.rss / n) + 3 * math.log(n), rel=1e-12)


def test_model_comparison_needs_four_points():
    with pytest.raises(ValueError, match="at least 4"):
        fits.compare_spectral_models(np.array([3.0, 2.0, 1.0]))


# ------------------------------------------------------------------ density-tail fit

def pareto_sample(a: float, n: int, seed: int) -> np.ndarray:
    """n draws of p(λ) = (a − 1) λ^{−a} on λ ≥ 1, by inversion."""
    return np.random.default_rng(seed).uniform(size=n) ** (-1.0 / (a - 1.0))


def two_regime_sample(seed: int) -> np.ndarray:
    """360 values uniform on [1, 2] under 30 Pareto values of a = 4 above 2: on seeds 0 and 3 the
    KS distance is smallest for a tail of about 30 values, which the minimum-tail search (> 50
    values) cannot reach, so the two searches pick different xmin (measured: 32 and 29 values,
    a = 3.94 and 4.06, 0.12 and 0.11 standard errors from 4, against 241 and 230 values, a = 5.40
    and 5.77, 4.9 and 5.6 standard errors from 4)."""
    rng = np.random.default_rng(seed)
    body = rng.uniform(1.0, 2.0, size=360)
    return np.concatenate([body, 2.0 * rng.uniform(size=30) ** (-1.0 / 3.0)])


def brute_force_csn(values: np.ndarray, min_tail: int | None) -> tuple[float, float, float]:
    """Clauset–Shalizi–Newman from the definitions: for each candidate xmin, α = 1 + n/Σ ln(x/xmin)
    and the KS distance between the tail's empirical CDF and 1 − (x/xmin)^{1−α}; the xmin of the
    smallest distance. Candidates: min_tail=None, WeightWatcher's (every value but the largest);
    else the `powerlaw` package's (distinct values below the min_tail-th largest, the largest of
    them left out). Empirical CDF j/n just below the j-th point (the samples here have no ties)."""
    x = np.sort(values)
    candidates = x[:-1] if min_tail is None else np.unique(x[x < x[-min_tail]])[:-1]
    best = (math.inf, math.nan, math.nan)
    for xmin in candidates:
        tail = x[x >= xmin]
        n = tail.shape[0]
        alpha = 1 + n / np.log(tail / xmin).sum()
        distance = np.abs(np.arange(n) / n - (1 - (tail / xmin) ** (1 - alpha))).max()
        if distance < best[0]:
            best = (distance, xmin, alpha)
    return best[2], best[1], best[0]


SAMPLES = {"pareto 2.5": lambda: pareto_sample(2.5, 1000, 3), "pareto 4": lambda: pareto_sample(4.0, 400, 4),
           "two regimes 0": lambda: two_regime_sample(0), "two regimes 3": lambda: two_regime_sample(3)}


@pytest.mark.filterwarnings("ignore:Standard error for the MLE:DeprecationWarning")  # powerlaw's own
@pytest.mark.parametrize("min_tail", [None, tail_fit.MIN_TAIL])
@pytest.mark.parametrize("sample", list(SAMPLES))
def test_tail_fit_matches_brute_force_and_the_package_search(sample, min_tail):
    """The vectorised xmin search against the brute-force loop above and the `powerlaw` package's
    own search over the same candidates (min_tail None: Fit(xmin=(λ_min, 2λ_max)), every value but
    the largest; else Fit(xmin=(λ_min, λ_(min_tail)))): identical xmin; a and D to 1e-10 of the
    brute force (both closed form), a to 1e-5 of the package (Nelder–Mead outside 1.5 < a ≤ 3)."""
    import powerlaw

    values = SAMPLES[sample]()
    fit = tail_fit.fit_eigenvalue_tail(values, min_tail=min_tail)
    alpha, xmin, distance = brute_force_csn(values, min_tail)
    assert fit.xmin == xmin and fit.n_tail == np.count_nonzero(values >= xmin)
    assert fit.n_positive == values.shape[0]
    assert (fit.alpha, fit.ks_distance) == pytest.approx((alpha, distance), rel=1e-10)
    ranked = np.sort(values)
    top = 2 * ranked[-1] if min_tail is None else ranked[-min_tail]
    package = powerlaw.Fit(values, xmin=(ranked[0], top), parameter_ranges=tail_fit.ALPHA_RANGE, verbose=0)
    assert float(package.xmin) == fit.xmin
    assert float(package.power_law.alpha) == pytest.approx(fit.alpha, rel=1e-5)
    if sample == "pareto 2.5":  # the package's default search (its (0, 3) range) agrees here too
        default = powerlaw.Fit(values, verbose=0)
        assert float(default.xmin) == fit.xmin
        assert float(default.power_law.alpha) == pytest.approx(fit.alpha, rel=1e-12)


@pytest.mark.filterwarnings("ignore:Standard error for the MLE:DeprecationWarning")
def test_the_two_searches_differ_where_the_best_tail_is_short():
    """Negative control for the search switch: on the two-regime samples the minimum-tail search
    cannot reach the short tail that the default (WeightWatcher's) search picks, and its a is off
    the true 4 by more than 4 of its standard errors, where the default's is within 1."""
    for seed in (0, 3):
        values = two_regime_sample(seed)
        short, strict = tail_fit.fit_eigenvalue_tail(values), tail_fit.fit_eigenvalue_tail(values, min_tail=50)
        assert short.n_tail <= 50 < strict.n_tail, (short, strict)
        assert abs(short.alpha - 4.0) <= short.alpha_stderr, short
        assert abs(strict.alpha - 4.0) > 4 * strict.alpha_stderr, strict


@pytest.mark.parametrize("min_tail", [None, tail_fit.MIN_TAIL])
@pytest.mark.parametrize("a, n, seed", [(2.5, 2000, 11), (4.0, 2000, 12), (6.0, 2000, 13)])
def test_tail_fit_recovers_pareto_exponent(a, n, seed, min_tail):
    """|â − a| ≤ 5 (â − 1)/√n_tail, the MLE's standard error (a ≥ 3 included: powerlaw 2.0 caps
    valid fits at a < 3 by default, which the fitter lifts)."""
    fit = tail_fit.fit_eigenvalue_tail(pareto_sample(a, n, seed), compare=("exponential",), min_tail=min_tail)
    assert abs(fit.alpha - a) <= Z_LIMIT * fit.alpha_stderr, (
        f"â = {fit.alpha:.4f} vs a = {a} (n_tail {fit.n_tail}, stderr {fit.alpha_stderr:.4f})")
    R, p = fit.comparisons["exponential"]
    assert R > 0 and p < 0.05, f"power law vs exponential on Pareto data: R = {R}, p = {p}"


def test_tail_fit_refuses_too_few_points_and_warnings():
    sigma = torch.cat([power_law_spectrum(30, 0.5), torch.zeros(170)])  # a rank-30 spectrum of 200
    with pytest.raises(tail_fit.TailFitError, match=r"layer\.3: 30 positive eigenvalues \(of 200\): a tail fit "
                                                    r"with min_tail 50 needs more than 50"):
        tail_fit.fit_eigenvalue_tail(sigma ** 2, name="layer.3", min_tail=tail_fit.MIN_TAIL)
    assert tail_fit.fit_eigenvalue_tail(sigma ** 2, name="layer.3").n_positive == 30  # the default fits it
    with pytest.raises(tail_fit.TailFitError, match=r"layer\.4: 19 positive eigenvalues \(of 200\): "
                                                    r"WeightWatcher's search needs at least 20"):
        tail_fit.fit_eigenvalue_tail(torch.cat([sigma[:19], torch.zeros(181)]) ** 2, name="layer.4")
    for bad in (1, True, 2.5):
        with pytest.raises(ValueError, match="min_tail must be None"):
            tail_fit.fit_eigenvalue_tail(sigma ** 2, min_tail=bad)
    with pytest.raises(ValueError, match="truncated_power_law"):
        tail_fit.fit_eigenvalue_tail(pareto_sample(2.5, 500, 0), compare=("truncated_power_law",))
    # powerlaw only warns when the lognormal fit fails, and still returns R and p: an error here
    with pytest.raises(tail_fit.TailFitError, match="No valid fits found for distribution lognormal"):
        tail_fit.fit_eigenvalue_tail(pareto_sample(2.5, 1536, 21), name="pareto", compare=("lognormal",))


# ------------------------------------------------------------------ exponent conversion

# α̂·2(a − 1) of a ranked Pareto sample does not depend on a (ln λ = −ln U/(a − 1)): over 200
# samples of n = 20000 it had mean 1.0005, sd 1.3%, largest deviation 3.5%; 5 sd allowed.
CONVERSION_TOLERANCE = 0.065


def check_conversion(convert, a: float, seed: int) -> float:
    """σ_k = √λ_(k) of n = 20000 ranked Pareto eigenvalues: the OLS rank exponent over ranks
    20 … 10000 (0.1% … 50%) must be convert(a) within CONVERSION_TOLERANCE (relative)."""
    sigma = np.sqrt(np.sort(pareto_sample(a, 20000, seed))[::-1])
    got = fits.fit_rank_power_law(sigma, window=(20, 10000)).alpha
    want = convert(a)
    assert abs(got / want - 1) <= CONVERSION_TOLERANCE, f"a = {a}: α̂ = {got:.4f}, converted a: {want:.4f}"
    return got


@pytest.mark.parametrize("a, seed", [(2.0, 1), (2.5, 2), (3.0, 3), (4.0, 4)])
def test_tail_exponent_converts_to_rank_exponent_on_pareto_samples(a, seed):
    got = check_conversion(fits.rank_exponent_from_tail, a, seed)
    # and back: a = 1 + 1/(2α̂), where a relative error δ in α̂ is δ(a − 1)/a in a
    assert fits.tail_exponent_from_rank(got) == pytest.approx(a, rel=CONVERSION_TOLERANCE * (a - 1) / a * 1.1)


def test_conversion_check_rejects_the_eigenvalue_rank_exponent():
    """Failing control: 1/(a − 1) is the rank exponent of the eigenvalues λ_k, not of σ_k = √λ_k."""
    with pytest.raises(AssertionError, match="converted"):
        check_conversion(lambda a: 1 / (a - 1), 2.5, seed=2)


@given(alpha=st.floats(1e-3, 1e3))
def test_exponent_conversions_are_inverse(alpha):
    assert fits.rank_exponent_from_tail(fits.tail_exponent_from_rank(alpha)) == pytest.approx(alpha, rel=1e-12)
    assert fits.tail_exponent_from_rank(np.array([alpha])).shape == (1,)


def test_exponent_conversions_reject_out_of_range():
    with pytest.raises(ValueError, match="a must be > 1"):
        fits.rank_exponent_from_tail(1.0)
    with pytest.raises(ValueError, match="α must be > 0"):
        fits.tail_exponent_from_rank(np.array([0.5, -1.0]))


# ------------------------------------------------------------------ singular values

def test_exact_singular_values_are_the_prescribed_spectrum():
    g = torch.Generator().manual_seed(0)
    sigma = power_law_spectrum(60, 0.8).expand(3, 60)
    W = matrix_with_spectrum(sigma, 90, 70, generator=g)
    got = svd.singular_values(W.to(torch.float32))
    assert got.values.dtype == torch.float64 and got.values.shape == (3, 70)
    assert torch.allclose(got.values[..., :60], sigma, rtol=1e-6, atol=1e-6)  # float32 storage of W
    assert float((svd.singular_values(W).values[..., :60] - sigma).abs().max()) < 1e-13
    assert svd.singular_values(W, k=5).values.shape == (3, 5)


def slowly_decaying_matrices(seed: int = 1) -> torch.Tensor:
    """A batch of four 200 × 150 matrices with σ_i = i^{−1}: slow decay, the hard case for a range finder."""
    sigma = power_law_spectrum(150, 1.0).expand(4, 150)
    return matrix_with_spectrum(sigma, 200, 150, generator=torch.Generator().manual_seed(seed))


def check_randomized(result: svd.SingularValues, W: torch.Tensor) -> torch.Tensor:
    """0 ≤ σ_j − σ̂_j ≤ error_bound_j for the returned top k, against the exact SVD; rounding
    slack 1e-12 (σ_1 = 1). Returns the errors."""
    gap = svd.singular_values(W, k=result.values.shape[-1]).values - result.values
    rounding = 1e-12
    assert gap.min() >= -rounding, f"randomized value above the exact one by {-gap.min():.3g}"
    excess = gap - result.error_bound
    assert excess.max() <= rounding, (f"error exceeds its bound by {float(excess.max()):.3g} "
                                      f"(largest error {float(gap.max()):.3g})")
    return gap


@pytest.mark.parametrize("power_iterations", [0, 2])
def test_randomized_singular_values_within_their_error_bound(power_iterations):
    W = slowly_decaying_matrices()
    got = svd.singular_values(W, "randomized", k=20, power_iterations=power_iterations,
                              generator=torch.Generator().manual_seed(2))
    check_randomized(got, W)
    if power_iterations:  # informative, not only valid: E ≈ ‖(σ_31 … σ_150)‖ ≈ 0.18 bounds σ_1 to 2%
        assert float(got.error_bound[..., 0].max()) < 0.02


def test_randomized_check_rejects_a_bound_without_the_residual():
    """Failing control: HMT's bound with the residual left out (0) is violated without power iterations."""
    W = slowly_decaying_matrices()
    got = svd.singular_values(W, "randomized", k=20, power_iterations=0, generator=torch.Generator().manual_seed(2))
    with pytest.raises(AssertionError, match="exceeds its bound"):
        check_randomized(svd.SingularValues(got.values, got.method, torch.zeros_like(got.error_bound)), W)


def test_singular_values_reject_bad_input():
    W = torch.ones(5, 4)
    with pytest.raises(ValueError, match="needs k"):
        svd.singular_values(W, "randomized")
    with pytest.raises(ValueError, match=r"k must be an int in 1\.\.4.*\(5, 4\)"):
        svd.singular_values(W, "randomized", k=5)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., m, n\).*\(4,\)"):
        svd.singular_values(torch.ones(4))
    with pytest.raises(ValueError, match="method"):
        svd.singular_values(W, "lanczos")


# ------------------------------------------------------------------ effective ranks

positive_spectra = st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=40)


@given(values=positive_spectra, eps=st.sampled_from([0.0, 0.01, 0.05, 0.3]))
def test_effective_ranks_match_their_definitions(values, eps):
    energy = [Fraction(v) ** 2 for v in sorted(values, reverse=True)]
    total = sum(energy)
    partial = [sum(energy[:r]) for r in range(1, len(energy) + 1)]
    # exact rationals decide the truncation rank; skip draws within rounding of the threshold
    assume(all(abs(p - (1 - Fraction(eps)) * total) > Fraction(1, 10**9) * total for p in partial[:-1]))
    truncation = next(r for r, p in enumerate(partial, 1) if p >= (1 - Fraction(eps)) * total)
    sigma = torch.tensor(values, dtype=torch.float64)
    assert int(effective_rank.truncation_rank(sigma, eps)) == truncation

    e = [float(x) for x in energy]
    s = math.fsum(e)
    assert float(effective_rank.participation_ratio(sigma)) == pytest.approx(s ** 2 / math.fsum(x * x for x in e),
                                                                            rel=1e-12)
    entropy = -math.fsum(x / s * math.log(x / s) for x in e)
    assert float(effective_rank.entropy_effective_rank(sigma)) == pytest.approx(math.exp(entropy), rel=1e-12)
    assert float(effective_rank.stable_rank(sigma)) == pytest.approx(s / max(e), rel=1e-12)


@pytest.mark.parametrize("k", [1, 7, 64])
def test_effective_ranks_of_equal_values_and_orthogonal_matrices(k):
    sigma = torch.cat([torch.full((k,), 2.5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)])
    for measure in (effective_rank.participation_ratio, effective_rank.entropy_effective_rank,
                    effective_rank.stable_rank):
        assert float(measure(sigma)) == pytest.approx(k, rel=1e-12), measure.__name__
    Q = torch.linalg.qr(torch.randn(k, k, generator=torch.Generator().manual_seed(k), dtype=torch.float64)).Q
    assert float(effective_rank.stable_rank(svd.singular_values(Q).values)) == pytest.approx(k, rel=1e-12)


def test_numerical_rank_counts_values_above_rounding_noise():
    g = torch.Generator().manual_seed(5)
    sigma = power_law_spectrum(20, 0.5)
    low_rank = matrix_with_spectrum(sigma, 100, 80, generator=g)  # rank 20; the float64 SVD leaves ~1e-16
    computed = svd.singular_values(low_rank).values
    assert float(computed[20:].max()) > 0  # rounding, not exact zeros
    assert int(effective_rank.numerical_rank(computed, (100, 80))) == 20
    full = matrix_with_spectrum(power_law_spectrum(80, 1.4), 100, 80, generator=g)
    for dtype, expected in ((torch.float32, 80), (torch.bfloat16, None)):
        stored = full.to(dtype)
        values = svd.singular_values(stored).values
        rank = int(effective_rank.numerical_rank(values, (100, 80), dtype))
        # bfloat16: the floor ½ε‖W‖_F = 0.0039·1.1 lies between σ_40 and σ_60 of i^{−1.4}, so the
        # rank is where the spectrum crosses it, counted here by a loop
        floor = 0.5 * torch.finfo(dtype).eps * float(values.norm())
        assert rank == (expected or sum(1 for v in values.tolist() if v > floor)) and 40 < rank <= 80


def test_effective_ranks_are_batched_and_reject_zero_spectra():
    sigma = torch.stack([power_law_spectrum(50, a) for a in (0.5, 1.0, 2.0)]).reshape(3, 1, 50)
    for measure in (effective_rank.participation_ratio, effective_rank.entropy_effective_rank,
                    effective_rank.stable_rank):
        got = measure(sigma)
        assert got.shape == (3, 1)
        assert torch.all(got[:-1] > got[1:]), f"{measure.__name__} must fall as α grows"
    with pytest.raises(ValueError, match="all zero"):
        effective_rank.participation_ratio(torch.zeros(2, 4))
