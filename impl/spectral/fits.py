"""Fits of a rank-ordered singular spectrum σ_1 ≥ σ_2 ≥ … ≥ σ_n, and exponent conversions.

Two exponents are in use and every figure must say which (REFERENCE §5):
- the RANK exponent α of singular values, σ_i ∝ i^{−α} (the documents' α; this module);
- the DENSITY-TAIL exponent a of the eigenvalues λ = σ² of WᵀW, p(λ) ∝ λ^{−a} (WeightWatcher's
  alpha; `impl.spectral.tail_fit`). If p(λ) ∝ λ^{−a} then λ_k ∝ k^{−1/(a−1)}, so α = 1/(2(a − 1)).

Fits (values are taken in the order given: rank i is the 1-based position; a window (lo, hi) is
1-based and inclusive; the default is the whole spectrum):
- `fit_rank_power_law`: α = −slope of the ordinary least-squares line of log σ_i on log i;
- `fit_rank_power_law_mle`: maximum likelihood of the Gibbs family p_i(α) ∝ i^{−2α} (the orbit
  family of `impl.geometry.orbit`, on the window's ranks) for the energy distribution
  w_i = σ_i²/Σσ²: an exponential family, so the MLE solves E_α[log i] = Σ w_i log i;
- `compare_spectral_models`: power law, exponential c e^{−βi} and stretched exponential
  c exp(−(i/τ)^γ), each fitted by least squares on log σ_i, with R² (of log σ), AIC and BIC in the
  registry's convention (observed.power_law_best_model): AIC = n ln(RSS/n) + 2p,
  BIC = n ln(RSS/n) + p ln n, p = 2, 2, 3 parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import brentq, minimize_scalar
from scipy.special import softmax

MODELS = ("power_law", "exponential", "stretched_exponential")
# Range of the stretching exponent γ. As γ → 0 the stretched exponential tends to the power law
# ((i^γ − 1)/γ → log i) and at γ = 1 it is the exponential: it nests both, which is why the
# comparison penalises its third parameter (AIC/BIC) rather than trusting its RSS.
STRETCH_RANGE = (1e-2, 10.0)


def _spectrum(sigma) -> np.ndarray:
    values = torch.as_tensor(sigma).detach().to("cpu", torch.float64).numpy()
    if values.ndim != 1:
        raise ValueError(f"spectral fit: sigma must be 1-D (one spectrum), got shape {values.shape}")
    return values


def _window_values(sigma, window, what: str) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(ranks i, σ_i) of the window, validated: 1 ≤ lo < hi ≤ n, σ positive and finite there."""
    values = _spectrum(sigma)
    n = values.shape[0]
    lo, hi = (1, n) if window is None else (int(window[0]), int(window[1]))
    if not 1 <= lo < hi <= n:
        raise ValueError(f"{what}: window {window} must satisfy 1 <= lo < hi <= n = {n} "
                         f"(1-based inclusive ranks, at least 2 points)")
    inside = values[lo - 1:hi]
    bad = ~(np.isfinite(inside) & (inside > 0))
    if bad.any():
        first = lo + int(np.argmax(bad))
        raise ValueError(f"{what}: σ must be positive and finite in window ({lo}, {hi}) of n = {n}; "
                         f"σ_{first} = {values[first - 1]!r}")
    return np.arange(lo, hi + 1, dtype=np.float64), inside, (lo, hi)


@dataclass(frozen=True)
class LinearFit:
    """y ≈ intercept + slope·x by ordinary least squares."""
    slope: float
    intercept: float
    slope_stderr: float  # √(RSS/(n−2) / Σ(x − x̄)²); nan for n = 2
    rss: float
    tss: float

    @property
    def r2(self) -> float:
        return 1.0 - self.rss / self.tss if self.tss > 0 else 1.0  # a flat y is fitted exactly


def _ols(x: np.ndarray, y: np.ndarray) -> LinearFit:
    xc, yc = x - x.mean(), y - y.mean()
    sxx = float(xc @ xc)
    slope = float(xc @ yc) / sxx
    residual = yc - slope * xc
    rss = float(residual @ residual)
    n = x.shape[0]
    stderr = math.sqrt(rss / (n - 2) / sxx) if n > 2 else math.nan
    return LinearFit(slope, float(y.mean() - slope * x.mean()), stderr, rss, float(yc @ yc))


# ------------------------------------------------------------------ the rank power law

@dataclass(frozen=True)
class PowerLawFit:
    """log σ_i ≈ log_c − α log i on the window's ranks."""
    alpha: float
    log_c: float
    r2: float             # of log σ
    window: tuple[int, int]
    n_points: int
    stderr: float         # standard error of α (OLS, Gaussian residuals); nan for 2 points
    residual_rms: float   # √(RSS/n) in log σ (natural log)


def fit_rank_power_law(sigma, window: tuple[int, int] | None = None) -> PowerLawFit:
    """α = −slope of OLS of log σ_i on log i over the 1-based inclusive rank window (lo, hi)."""
    ranks, values, window = _window_values(sigma, window, "fit_rank_power_law")
    line = _ols(np.log(ranks), np.log(values))
    n = ranks.shape[0]
    return PowerLawFit(alpha=-line.slope, log_c=line.intercept, r2=line.r2, window=window, n_points=n,
                       stderr=line.slope_stderr, residual_rms=math.sqrt(line.rss / n))


@dataclass(frozen=True)
class PowerLawMLE:
    """α of the Gibbs family p_i ∝ i^{−2α} on the window's ranks, fitted to w_i = σ_i²/Σσ²."""
    alpha: float
    window: tuple[int, int]
    n_points: int
    mean_log_rank: float  # the matched moment Σ w_i log i


def _gibbs_mean_log_rank(log_ranks: np.ndarray, alpha: float) -> float:
    """E_α[log i] for p_i ∝ i^{−2α} on the given ranks (orbit.expected_log_rank on ranks lo..hi)."""
    return float(softmax(-2 * alpha * log_ranks) @ log_ranks)


def fit_rank_power_law_mle(sigma, window: tuple[int, int] | None = None) -> PowerLawMLE:
    """Maximum-likelihood rank exponent: the root of E_α[log i] = Σ w_i log i, w_i = σ_i²/Σσ².

    E_α[log i] decreases strictly in α (its derivative is −2 Var_α(log i)) from log hi (α → −∞)
    to log lo (α → +∞), so the root is unique when the target lies strictly inside; it is
    bracketed by doubling and found by Brent's method to 1e-12 in α."""
    ranks, values, window = _window_values(sigma, window, "fit_rank_power_law_mle")
    log_ranks = np.log(ranks)
    energies = (values / values.max()) ** 2
    target = float((energies / energies.sum()) @ log_ranks)
    lo_log, hi_log = float(log_ranks[0]), float(log_ranks[-1])
    margin = 1e-12 * max(1.0, hi_log)
    if not lo_log + margin < target < hi_log - margin:
        raise ValueError(f"fit_rank_power_law_mle: the energy sits at one end of window {window} "
                         f"(Σ w log i = {target:.6g}, log-rank range [{lo_log:.6g}, {hi_log:.6g}]): "
                         f"no finite exponent")
    excess = lambda alpha: _gibbs_mean_log_rank(log_ranks, alpha) - target  # noqa: E731
    bound = 1.0
    while excess(bound) > 0 or excess(-bound) < 0:
        bound *= 2
        if bound > 1e6:
            raise ValueError(f"fit_rank_power_law_mle: no root within |α| <= 1e6 on window {window}")
    alpha = brentq(excess, -bound, bound, xtol=1e-12, rtol=4 * np.finfo(float).eps)
    return PowerLawMLE(alpha=float(alpha), window=window, n_points=ranks.shape[0], mean_log_rank=target)


# ------------------------------------------------------------------ competing models

@dataclass(frozen=True)
class ModelFit:
    """One model fitted by least squares on log σ over the window."""
    name: str
    params: dict
    n_params: int
    rss: float
    r2: float
    aic: float
    bic: float


@dataclass(frozen=True)
class ModelComparison:
    fits: dict          # name → ModelFit, for every name in MODELS
    window: tuple[int, int]
    n_points: int

    def best(self, criterion: str = "bic") -> str:
        return min(self.fits, key=lambda name: getattr(self.fits[name], criterion))

    def margin(self, criterion: str = "bic") -> float:
        """How far the best model is ahead of the runner-up (ΔAIC or ΔBIC ≥ 0)."""
        scores = sorted(getattr(f, criterion) for f in self.fits.values())
        return scores[1] - scores[0]

    @property
    def best_aic(self) -> str:
        return self.best("aic")

    @property
    def best_bic(self) -> str:
        return self.best("bic")


def _model_fit(name: str, params: dict, n_params: int, rss: float, tss: float, n: int) -> ModelFit:
    # RSS = 0 (an exact fit) would give −∞: floor it at the smallest normal double per point.
    log_mse = math.log(max(rss / n, np.finfo(float).tiny))
    r2 = 1.0 - rss / tss if tss > 0 else 1.0
    return ModelFit(name, params, n_params, rss, r2, n * log_mse + 2 * n_params,
                    n * log_mse + n_params * math.log(n))


def _stretched_line(ranks: np.ndarray, y: np.ndarray, gamma: float) -> tuple[float, float, float]:
    """For fixed γ the model y = log c − b (i/hi)^γ is linear in (log c, b ≥ 0): (log c, b, RSS)."""
    x = (ranks / ranks[-1]) ** gamma
    line = _ols(x, y)
    if line.slope <= 0:
        return line.intercept, -line.slope, line.rss
    return float(y.mean()), 0.0, line.tss  # a rising spectrum: the best decaying member is flat


def _fit_stretched(ranks: np.ndarray, y: np.ndarray) -> tuple[dict, float]:
    """Variable projection: log c and b are solved in closed form for each γ; γ by a log-grid
    scan over STRETCH_RANGE, then a bounded Brent refinement of log γ around the best grid point."""
    log_grid = np.linspace(math.log(STRETCH_RANGE[0]), math.log(STRETCH_RANGE[1]), 61)
    profile = lambda log_gamma: _stretched_line(ranks, y, math.exp(log_gamma))[2]  # noqa: E731
    best = int(np.argmin([profile(g) for g in log_grid]))
    lo, hi = log_grid[max(best - 1, 0)], log_grid[min(best + 1, len(log_grid) - 1)]
    log_gamma = minimize_scalar(profile, bounds=(lo, hi), method="bounded",
                                options={"xatol": 1e-10}).x
    if profile(log_grid[best]) < profile(log_gamma):
        log_gamma = log_grid[best]
    gamma = math.exp(log_gamma)
    log_c, b, rss = _stretched_line(ranks, y, gamma)
    tau = ranks[-1] * b ** (-1 / gamma) if b > 0 else math.inf
    return {"log_c": log_c, "tau": float(tau), "gamma": gamma}, rss


def compare_spectral_models(sigma, window: tuple[int, int] | None = None) -> ModelComparison:
    """Power law, exponential and stretched exponential on log σ over the window; see the module doc."""
    ranks, values, window = _window_values(sigma, window, "compare_spectral_models")
    n = ranks.shape[0]
    if n < 4:
        raise ValueError(f"compare_spectral_models: window {window} has {n} points; the stretched "
                         f"exponential has 3 parameters, so at least 4 are needed")
    y = np.log(values)
    tss = float(((y - y.mean()) ** 2).sum())
    power = _ols(np.log(ranks), y)
    exponential = _ols(ranks, y)
    stretched, stretched_rss = _fit_stretched(ranks, y)
    fits = {
        "power_law": _model_fit("power_law", {"log_c": power.intercept, "alpha": -power.slope}, 2,
                                power.rss, tss, n),
        "exponential": _model_fit("exponential", {"log_c": exponential.intercept, "beta": -exponential.slope},
                                  2, exponential.rss, tss, n),
        "stretched_exponential": _model_fit("stretched_exponential", stretched, 3, stretched_rss, tss, n),
    }
    return ModelComparison(fits, window, n)


# ------------------------------------------------------------------ exponent conversions

def _scalar_or_array(values: np.ndarray):
    return float(values) if values.ndim == 0 else values


def rank_exponent_from_tail(a):
    """α = 1/(2(a − 1)): the singular-value rank exponent implied by an eigenvalue density p(λ) ∝ λ^{−a}."""
    a = np.asarray(a, dtype=np.float64)
    if not np.all(a > 1):
        raise ValueError(f"rank_exponent_from_tail: the density tail exponent a must be > 1, got {a}")
    return _scalar_or_array(1.0 / (2.0 * (a - 1.0)))


def tail_exponent_from_rank(alpha):
    """a = 1 + 1/(2α): the eigenvalue-density tail exponent implied by σ_k ∝ k^{−α} (α > 0)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    if not np.all(alpha > 0):
        raise ValueError(f"tail_exponent_from_rank: the rank exponent α must be > 0, got {alpha}")
    return _scalar_or_array(1.0 + 1.0 / (2.0 * alpha))
