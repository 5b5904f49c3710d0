"""Density-tail fits of eigenvalue spectra (Clauset–Shalizi–Newman), WeightWatcher's alpha by default.

The exponent is the tail exponent a of the density of the eigenvalues λ of WᵀW (λ = σ², not
normalised by N), p(λ) ∝ λ^{−a} for λ ≥ xmin, with the continuous maximum-likelihood estimate
a = 1 + n_t/Σ_{λ ≥ xmin} ln(λ/xmin) for each candidate xmin, and xmin chosen by the smallest
Kolmogorov–Smirnov distance D = max over the tail of |C_emp − (1 − (λ/xmin)^{1−a})|, C_emp = (number
of tail values below λ)/n_t. It is NOT the rank exponent α of `impl.spectral.fits`
(α = 1/(2(a − 1)), `fits.rank_exponent_from_tail`).

Two searches for xmin (`fit_eigenvalue_tail(min_tail=…)`):
- min_tail=None (the default): WeightWatcher's. What `WeightWatcher().analyze()` 0.7.7 reports as
  alpha with its defaults (its own fitter `pl_package="ww"`, no xmax, no fix_fingers): every
  eigenvalue but the largest is a candidate xmin, so the tail may be as short as 2 eigenvalues (on
  all-MiniLM-L6-v2 WeightWatcher picks tails of 9 to 284). tests/test_spectrum_cli.py compares
  this with WeightWatcher's own figures for the 39 matrices of all-MiniLM-L6-v2
  (tests/data/weightwatcher_minilm_alpha.json): a agrees to 3e-13, D to 1e-14, n_tail exactly.
- min_tail=k (`claims spectrum --min-tail 50`, MIN_TAIL): the stricter search of the `powerlaw`
  package's `Fit(xmin=(λ_min, λ_(k)))`: candidates are the eigenvalues below the k-th largest, the
  largest of them left out, so every tail keeps more than k values. A short tail gives a noisy a
  (standard error (a − 1)/√n_t: 0.6 on 16 eigenvalues at a = 3.5); on all-MiniLM-L6-v2 the two
  searches pick the same xmin on 19 of 39 matrices, and a differs by up to 7.1 on the others
  (pooler.dense: 12.35 on 16 eigenvalues, 5.29 with min_tail 50).
Both searches evaluate every candidate at once in numpy (`select_xmin`). The `powerlaw` package
then fits the tail at the chosen xmin: it supplies the comparisons with other distributions and
its warnings, and its a is checked against the closed form (the package may run Nelder–Mead on the
same likelihood outside 1.5 < a ≤ 3; on all-MiniLM-L6-v2 the two agree to 3e-15). a and D reported
are the closed-form values, as WeightWatcher reports them.

Where this differs from WeightWatcher (none of it changes a on all-MiniLM-L6-v2):
- WeightWatcher drops eigenvalues ≤ 1e-5 (absolute; 1e-4 on CUDA); here the floor is relative,
  λ_max·(N·ε_64)² (`positive_eigenvalues`), so tiny eigenvalues stay candidates (25 of the 39
  all-MiniLM-L6-v2 matrices have some; they rarely win: their tails are nearly the whole spectrum);
- tied eigenvalues: one candidate per distinct value and a grouped empirical CDF (the `powerlaw`
  package's convention); WeightWatcher takes every position. Identical for distinct eigenvalues;
- below 20 eigenvalues WeightWatcher switches to another estimator (bias-corrected a, a penalised
  KS objective): not reproduced, such spectra are refused with the default search.

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

# The stricter search (`claims spectrum --min-tail 50`): at least MIN_TAIL eigenvalues lie at or
# above every candidate xmin (a rank-r matrix has only r nonzero eigenvalues).
MIN_TAIL = 50
# WeightWatcher fits spectra of fewer eigenvalues with another estimator (see the docstring)
WEIGHTWATCHER_MIN_EIGENVALUES = 20
# the package's a (Nelder–Mead outside 1.5 < a ≤ 3) must agree with the closed form this well
PACKAGE_ALPHA_RTOL = 1e-3
# candidates × eigenvalues evaluated per numpy block of the xmin search (memory ~ 8 bytes each)
_BLOCK = 1 << 22
# powerlaw 2.0 counts a power-law fit as valid only for alpha in (0, 3) by default: its xmin search
# then silently prefers tails with a < 3 and fails outright when every candidate has a > 3 (a
# Pareto sample with a = 4: "No valid values for xmin found"), and a fit at a fixed xmin with
# a > 3 is flagged invalid. WeightWatcher reports alphas above 3 (up to 12.4 on all-MiniLM-L6-v2's
# pooler; older powerlaw had no such cap): the range used here is a > 1, the normalisable tails.
ALPHA_RANGE = {"alpha": [1, None]}
# distribution_compare alternatives that are not nested in the power law. The power law vs the
# truncated power law is refused: powerlaw 2.0 treats it as nested whatever `nested` says.
ALTERNATIVES = ("exponential", "lognormal", "stretched_exponential")


class TailFitError(ValueError):
    """The tail could not be fitted (too few points, or the fit warned); the message names the matrix."""


@dataclass(frozen=True)
class TailFit:
    alpha: float          # the density tail exponent a (WeightWatcher's alpha with the default search)
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


def select_xmin(values: np.ndarray, min_tail: int | None = None) -> tuple[float, float, float]:
    """(xmin, a, D) minimising the KS distance D (the first such candidate on ties).

    values: ascending, positive. Candidates: min_tail=None, every distinct value but the largest
    (WeightWatcher's search); min_tail=k, the distinct values below the k-th largest, the largest
    of them left out (the `powerlaw` package's search over xmin < λ_(k)). For each,
    a = 1 + n_t/Σ_{tail} ln(λ/xmin) and D = max over the tail of |C_emp − (1 − (λ/xmin)^{1−a})|,
    C_emp = (number of tail values below λ)/n_t."""
    n = values.shape[0]
    logs = np.log(values)
    if min_tail is None:
        starts = np.unique(values, return_index=True)[1][:-1]
    else:
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


def fit_eigenvalue_tail(eigenvalues, *, name: str = "matrix", min_tail: int | None = None,
                        compare: tuple[str, ...] = ()) -> TailFit:
    """Clauset–Shalizi–Newman power-law fit of the tail of `eigenvalues` (of WᵀW for matrix `name`).

    min_tail=None: WeightWatcher's xmin search (every eigenvalue but the largest a candidate; at
    least WEIGHTWATCHER_MIN_EIGENVALUES positive eigenvalues needed). min_tail=k: the stricter
    search whose tails keep more than k eigenvalues (more than k positive eigenvalues needed).
    a and D are the closed-form values at the chosen xmin (`select_xmin`); the `powerlaw` package
    fits the same tail, and its a must agree within PACKAGE_ALPHA_RTOL. `compare` names
    alternatives from ALTERNATIVES for `distribution_compare` (log-likelihood ratio R > 0 favouring
    the power law, and its p-value; non-nested normalisation)."""
    import powerlaw  # slow to import; only the tail fit needs it

    unknown = [c for c in compare if c not in ALTERNATIVES]
    if unknown:
        raise ValueError(f"fit_eigenvalue_tail: cannot compare with {unknown}; choose from {ALTERNATIVES} "
                         f"(the truncated power law is nested in the power law, and powerlaw 2.0 "
                         f"ignores nested=False for that pair)")
    if min_tail is not None and (isinstance(min_tail, bool) or not isinstance(min_tail, int) or min_tail < 2):
        raise ValueError(f"fit_eigenvalue_tail: min_tail must be None (WeightWatcher's search) or an "
                         f"integer >= 2, got {min_tail!r}")
    values = positive_eigenvalues(eigenvalues)
    if min_tail is None and values.shape[0] < WEIGHTWATCHER_MIN_EIGENVALUES:
        raise TailFitError(f"{name}: {values.shape[0]} positive eigenvalues (of {len(eigenvalues)}): "
                           f"WeightWatcher's search needs at least {WEIGHTWATCHER_MIN_EIGENVALUES} (below "
                           f"that WeightWatcher uses another estimator, not reproduced here)")
    if min_tail is not None and values.shape[0] <= min_tail:
        raise TailFitError(f"{name}: {values.shape[0]} positive eigenvalues (of {len(eigenvalues)}): a tail fit "
                           f"with min_tail {min_tail} needs more than {min_tail}")
    xmin, alpha, ks = select_xmin(values, min_tail)
    if not math.isfinite(xmin):
        raise TailFitError(f"{name}: {values.shape[0]} positive eigenvalues leave no candidate xmin"
                           + ("" if min_tail is None else f" with {min_tail} or more values at or above it"))
    try:
        with _warnings_as_errors():
            fit = powerlaw.Fit(values, xmin=xmin, parameter_ranges=ALPHA_RANGE, verbose=0)
            law = fit.power_law
            package_alpha, package_xmin = float(law.alpha), float(fit.xmin)
            comparisons = {alt: tuple(map(float, fit.distribution_compare("power_law", alt, nested=False)))
                           for alt in compare}
    except Warning as warning:
        raise TailFitError(f"{name}: the power-law tail fit of {values.shape[0]} eigenvalues failed: "
                           f"{type(warning).__name__}: {warning}") from None
    if (getattr(law, "noise_flag", False) or package_xmin != xmin or not math.isfinite(alpha)
            or not abs(package_alpha - alpha) <= PACKAGE_ALPHA_RTOL * alpha):
        raise TailFitError(f"{name}: the power-law tail fit of {values.shape[0]} eigenvalues at xmin {xmin} "
                           f"is not valid (closed-form a {alpha}, the powerlaw package's a {package_alpha} "
                           f"at xmin {package_xmin}, D {ks})")
    n_tail = int(np.count_nonzero(values >= xmin))
    return TailFit(alpha=alpha, alpha_stderr=(alpha - 1) / np.sqrt(n_tail), xmin=xmin, ks_distance=ks,
                   n_tail=n_tail, n_positive=int(values.shape[0]), comparisons=comparisons)
