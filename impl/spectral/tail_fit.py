"""Density-tail fits of eigenvalue spectra with the `powerlaw` package (Clauset–Shalizi–Newman).

The exponent here is WeightWatcher's alpha: the tail exponent a of the density of the eigenvalues
λ of WᵀW (λ = σ²), p(λ) ∝ λ^{−a} for λ ≥ xmin, fitted by maximum likelihood for each candidate
xmin, xmin chosen by the smallest Kolmogorov–Smirnov distance. It is NOT the rank exponent α of
`impl.spectral.fits` (α = 1/(2(a − 1)), `fits.rank_exponent_from_tail`).

xmin is chosen by the package's criterion (smallest KS distance D among the candidate xmins, with
the package's candidates and empirical-CDF convention), evaluated here for all candidates at once
in numpy with the closed-form continuous MLE a = 1 + n/Σ ln(λ/xmin); the package then fits the
tail at that xmin and supplies a, D and the comparisons. The package's own search fits every
candidate in Python, by Nelder–Mead wherever a > 3: on the 39 matrices of all-MiniLM-L6-v2 it
took 8.5 s against 0.15 s here, and chose the same xmin and a for all 39 (measured on a loaded
2-core machine; tests/test_spectral_fitters.py compares the two searches).

`powerlaw` reports many failures only as warnings and still returns numbers (REFERENCE §5): here
every warning is an error (TailFitError naming the matrix), with one exception, the package's
own DeprecationWarning about its `sigma` attribute, which it raises internally on every fit.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch

# A tail fit needs many points: the xmin search is restricted so that at least MIN_TAIL
# eigenvalues lie at or above xmin (a rank-r matrix has only r nonzero eigenvalues).
MIN_TAIL = 50
# candidates × eigenvalues evaluated per numpy block of the xmin search (memory ~ 8 bytes each)
_BLOCK = 1 << 22
# powerlaw 2.0 counts a power-law fit as valid only for alpha in (0, 3) by default: its xmin search
# then silently prefers tails with a < 3 and fails outright when every candidate has a > 3 (a
# Pareto sample with a = 4: "No valid values for xmin found"), and a fit at a fixed xmin with
# a > 3 is flagged invalid. WeightWatcher reports alphas up to about 6 (older powerlaw had no such
# cap): the range used here is a > 1, the normalisable tails.
ALPHA_RANGE = {"alpha": [1, None]}
# distribution_compare alternatives that are not nested in the power law. The power law vs the
# truncated power law is refused: powerlaw 2.0 treats it as nested whatever `nested` says.
ALTERNATIVES = ("exponential", "lognormal", "stretched_exponential")


class TailFitError(ValueError):
    """The tail could not be fitted (too few points, or the fit warned); the message names the matrix."""


@dataclass(frozen=True)
class TailFit:
    alpha: float          # the density tail exponent a (WeightWatcher alpha)
    alpha_stderr: float   # (a − 1)/√n_tail, the MLE's asymptotic standard error
    xmin: float
    ks_distance: float    # Kolmogorov–Smirnov distance D of the tail fit
    n_tail: int           # eigenvalues ≥ xmin
    n_positive: int       # eigenvalues kept (above the numerical-zero floor)
    comparisons: dict     # alternative → (R, p): R > 0 favours the power law


@contextlib.contextmanager
def _warnings_as_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message="Standard error for the MLE should be accessed",
                                category=DeprecationWarning)
        yield


def positive_eigenvalues(eigenvalues) -> np.ndarray:
    """The eigenvalues above the numerical-zero floor λ_max·(N·ε_64)² (N = count), ascending.

    That floor is the usual numerical-rank tolerance σ_max·N·ε on the singular values, squared."""
    values = torch.as_tensor(eigenvalues).detach().to("cpu", torch.float64).numpy()
    if values.ndim != 1:
        raise TailFitError(f"fit_eigenvalue_tail: eigenvalues must be 1-D, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise TailFitError("fit_eigenvalue_tail: eigenvalues must be finite")
    top = values.max(initial=0.0)
    floor = top * (values.shape[0] * np.finfo(np.float64).eps) ** 2
    return np.sort(values[values > floor])


def select_xmin(values: np.ndarray, min_tail: int) -> tuple[float, float, float]:
    """(xmin, a, D) minimising the KS distance D, by the `powerlaw` package's rules.

    values: ascending, positive. Candidates: the distinct values below the min_tail-th largest,
    the largest of them left out (as the package does). For each, a = 1 + n_t/Σ_{tail} ln(λ/xmin)
    and D = max over the tail of |C_emp − (1 − (λ/xmin)^{1−a})|, C_emp = (number of tail values
    below λ)/n_t, the package's empirical CDF."""
    n = values.shape[0]
    logs = np.log(values)
    starts = np.unique(values[values < values[-min_tail]], return_index=True)[1][:-1]
    if starts.shape[0] == 0:
        return math.nan, math.nan, math.nan
    suffix_logs = np.cumsum(logs[::-1])[::-1]  # Σ_{i ≥ j} ln λ_i
    below = np.searchsorted(values, values, side="left")  # values strictly below λ_i
    n_tail = n - starts
    spread = suffix_logs[starts] - n_tail * logs[starts]
    with np.errstate(divide="ignore"):
        alphas = 1 + n_tail / spread  # spread = 0 (a flat tail) gives a = inf: never chosen below
    distances = np.empty(starts.shape[0])
    block = max(1, _BLOCK // n)
    for b in range(0, starts.shape[0], block):
        j = starts[b:b + block, None]
        a = alphas[b:b + block, None]
        inside = np.arange(n)[None, :] >= j
        with np.errstate(over="ignore", invalid="ignore"):
            theory = 1 - np.exp((1 - a) * (logs[None, :] - logs[j]))
        empirical = (below[None, :] - j) / (n - j)
        distances[b:b + block] = np.where(inside, np.abs(empirical - theory), 0.0).max(axis=1)
    distances[~np.isfinite(alphas)] = np.inf
    best = int(np.argmin(distances))
    return float(values[starts[best]]), float(alphas[best]), float(distances[best])


def fit_eigenvalue_tail(eigenvalues, *, name: str = "matrix", min_tail: int = MIN_TAIL,
                        compare: tuple[str, ...] = ()) -> TailFit:
    """Clauset–Shalizi–Newman power-law fit of the tail of `eigenvalues` (of WᵀW for matrix `name`).

    xmin is searched among the eigenvalues below the min_tail-th largest one (`select_xmin`), so
    the tail keeps at least min_tail points; fewer than min_tail + 1 positive eigenvalues is an
    error. a and D are the package's fit at that xmin. `compare` names alternatives from
    ALTERNATIVES for `distribution_compare` (log-likelihood ratio R > 0 favouring the power law,
    and its p-value; non-nested normalisation)."""
    import powerlaw  # slow to import; only the tail fit needs it

    unknown = [c for c in compare if c not in ALTERNATIVES]
    if unknown:
        raise ValueError(f"fit_eigenvalue_tail: cannot compare with {unknown}; choose from {ALTERNATIVES} "
                         f"(the truncated power law is nested in the power law, and powerlaw 2.0 "
                         f"ignores nested=False for that pair)")
    if min_tail < 2:
        raise ValueError(f"fit_eigenvalue_tail: min_tail must be >= 2, got {min_tail}")
    values = positive_eigenvalues(eigenvalues)
    if values.shape[0] <= min_tail:
        raise TailFitError(f"{name}: {values.shape[0]} positive eigenvalues (of {len(eigenvalues)}): a tail fit "
                           f"needs more than {min_tail}")
    chosen, _, _ = select_xmin(values, min_tail)
    if not math.isfinite(chosen):
        raise TailFitError(f"{name}: {values.shape[0]} positive eigenvalues leave no candidate xmin with "
                           f"{min_tail} or more values at or above it")
    try:
        with _warnings_as_errors():
            fit = powerlaw.Fit(values, xmin=chosen, parameter_ranges=ALPHA_RANGE, verbose=0)
            law = fit.power_law
            alpha, xmin, ks = float(law.alpha), float(fit.xmin), float(law.D)
            comparisons = {alt: tuple(map(float, fit.distribution_compare("power_law", alt, nested=False)))
                           for alt in compare}
    except Warning as warning:
        raise TailFitError(f"{name}: the power-law tail fit of {values.shape[0]} eigenvalues failed: "
                           f"{type(warning).__name__}: {warning}") from None
    if getattr(law, "noise_flag", False) or not np.isfinite([alpha, xmin, ks]).all():
        raise TailFitError(f"{name}: the power-law tail fit of {values.shape[0]} eigenvalues at xmin {xmin} "
                           f"is not valid (alpha {alpha}, D {ks})")
    n_tail = int(np.count_nonzero(values >= xmin))
    return TailFit(alpha=alpha, alpha_stderr=(alpha - 1) / np.sqrt(n_tail), xmin=xmin, ks_distance=ks,
                   n_tail=n_tail, n_positive=int(values.shape[0]), comparisons=comparisons)
