"""Spectral tails on the power-law orbit (003 §5): tail sums, their integral bounds, truncation-rank
bounds, the tail-mass derivative, rank plateaux and rank transitions.

Notation (REFERENCE.md §3, reconstructed): with s = 2α,
    Σ_{i=k+1}^{d} i^{-s}                      (tail sum),
    T_k(α) = Σ_{i>k} i^{-2α} / H_{d,2α}         (tail mass, `orbit.tail_mass`),
    r_ε(α) = min{k : T_k(α) ≤ ε}               (truncation rank, `orbit.orbit_truncation_rank`).

The bound functions below ARE the claims' formulas (Lemma 5.4, Theorem 5.5, Lemma 5.8); the checks in
`numeric_checks/test_gsa_tails.py` compare them with independently computed true values. The bound
formulas accept a float or a python-flint ball (`flint.arb`) for the exponent and ε, so the certified
checks evaluate exactly these formulas in ball arithmetic.
"""

from __future__ import annotations

import math

import flint
import numpy as np
import scipy.optimize
import torch

from . import orbit

# Euler–Maclaurin takes over from the direct sum at index max(k, EM_START, 64|s|): there the
# remainder after the B_6 term is below (s)_7 / (1209600 a^6) relative to the terms, < 1e-20.
EM_START = 1000
_EM_COEFFICIENTS = (1 / 12, -1 / 720, 1 / 30240)     # B_{2j} / (2j)!, j = 1, 2, 3


def _check_ranks(k: int, d: int, *, k_min: int = 0, name: str = "") -> None:
    if d < 1 or not k_min <= k <= d:
        raise ValueError(f"{name}: needs integers {k_min} <= k <= d and d >= 1, got k={k}, d={d}")


def _is_ball(*xs) -> bool:
    return any(isinstance(x, flint.arb) for x in xs)


def _power(x, y):
    """x^y for x > 0; +inf on float overflow (a bound beyond every width)."""
    if _is_ball(x, y):
        return flint.arb(x) ** y
    try:
        return float(x) ** y
    except OverflowError:
        return math.inf


def _power_integral(a: int, b: int, s):
    """∫_a^b x^{-s} dx = (a^{1−s} − b^{1−s})/(s−1) for integers 1 ≤ a ≤ b (log(b/a) at s = 1),
    written as a^{1−s} L expm1(u)/u with L = log1p((b−a)/a), u = (1−s)L: no cancellation near s = 1."""
    if _is_ball(s):
        L = (flint.arb(b - a) / a).log1p()
        u = (1 - s) * L
        return L if u == 0 else flint.arb(a) ** (1 - s) * L * u.expm1() / u
    L = math.log1p((b - a) / a)
    u = (1 - s) * L
    return L * (1.0 if u == 0 else float(a) ** (1 - s) * math.expm1(u) / u)


def power_law_tail_sum(s, k: int, d: int) -> float:
    """Σ_{i=k+1}^{d} i^{-s} in float64 for any real s and 0 ≤ k ≤ d (d may be huge).

    Terms up to index max(k, EM_START, ⌈64|s|⌉) are summed exactly rounded (math.fsum of correctly
    rounded powers); the rest by Euler–Maclaurin with three Bernoulli corrections."""
    _check_ranks(k, d, name="power_law_tail_sum")
    s = float(s)
    direct_end = min(d, max(k, EM_START, math.ceil(64 * abs(s))))
    total = math.fsum(np.power(np.arange(k + 1, direct_end + 1, dtype=np.float64), -s))
    if d == direct_end:
        return total
    a, b = float(direct_end + 1), float(d)
    parts = [total, _power_integral(direct_end + 1, d, s), (a ** -s + b ** -s) / 2]
    rising = s                                                   # (s)_n = s (s+1) … (s+n−1)
    for j, coefficient in enumerate(_EM_COEFFICIENTS, start=1):
        n = 2 * j - 1                                            # f^{(n)}(x) = −(s)_n x^{−s−n}, n odd
        parts.append(-coefficient * rising * (b ** (-s - n) - a ** (-s - n)))
        rising *= (s + n) * (s + n + 1)
    return math.fsum(parts)


def tail_sum_bounds(s, k: int, d: int):
    """(79): ((k+1)^{1−s} − (d+1)^{1−s})/(s−1) ≤ Σ_{i=k+1}^{d} i^{-s} ≤ (k^{1−s} − d^{1−s})/(s−1),
    for s > 0 and 1 ≤ k < d (the logs at s = 1). Returns (lower, upper); s may be an arb ball."""
    _check_ranks(k, d, k_min=1, name="tail_sum_bounds")
    if not _is_ball(s) and not s > 0:
        raise ValueError(f"tail_sum_bounds: the exponent s must be > 0, got {s}")
    return _power_integral(k + 1, d + 1, s), _power_integral(k, d, s)


def zeta_bound(s):
    """(80): ζ(s) ≤ s/(s−1) for s > 1 (so also H_{d,s} ≤ s/(s−1))."""
    if not _is_ball(s) and not s > 1:
        raise ValueError(f"zeta_bound: the exponent s must be > 1, got {s}")
    return s / (s - 1)


def infinite_tail_bound(s, k: int):
    """(80): Σ_{i>k} i^{-s} ≤ k^{1−s}/(s−1) for s > 1, k ≥ 1; hence T_k ≤ k^{1−s}/(s−1) with s = 2α."""
    if k < 1 or (not _is_ball(s) and not s > 1):
        raise ValueError(f"infinite_tail_bound: needs s > 1 and k >= 1, got s={s}, k={k}")
    return _power(k, 1 - s) / (s - 1)


def truncation_rank_bound_values(s, eps, d: int):
    """The real numbers behind Theorem 5.5's bounds for s = 2α > 1:
    x_up = ((s−1)ε)^{−1/(s−1)}  (r_ε ≤ ⌈x_up⌉) and x_low = (sε + (d+1)^{1−s})^{−1/(s−1)} − 1  (r_ε ≥ x_low).
    s and ε may be arb balls (certified checks compare r − 1 < x_up and r ≥ x_low in balls)."""
    if d < 1:
        raise ValueError(f"truncation_rank_bound_values: the width d must be >= 1, got {d}")
    if not _is_ball(s, eps) and not (s > 1 and 0 < eps < 1):
        raise ValueError(f"truncation_rank_bound_values: needs s = 2α > 1 and 0 < ε < 1, got s={s}, ε={eps}")
    x_up = _power((s - 1) * eps, -1 / (s - 1))
    x_low = _power(s * eps + _power(d + 1, 1 - s), -1 / (s - 1)) - 1
    return x_low, x_up


def truncation_rank_bounds(alpha: float, eps: float, d: int) -> tuple[float, int]:
    """Theorem 5.5 for s = 2α > 1: (x_low, min(d, ⌈x_up⌉)), with x_low ≤ r_ε(α) ≤ min(d, ⌈x_up⌉)."""
    x_low, x_up = truncation_rank_bound_values(2 * float(alpha), float(eps), d)
    return x_low, d if x_up >= d else math.ceil(x_up)


def linear_rank_fraction(s: float, eps: float) -> float:
    """For s = 2α < 1: lim_{d→∞} r_ε/d = (1 − ε)^{1/(1−s)} (the width-linear regime)."""
    if not (s < 1 and 0 < eps < 1):
        raise ValueError(f"linear_rank_fraction: needs s < 1 and 0 < ε < 1, got s={s}, ε={eps}")
    return (1 - eps) ** (1 / (1 - s))


def tail_mass_derivative(d: int, k: int, alpha) -> torch.Tensor:
    """∂_α T_k(α) = −∂_α F_α(k) = −2 F (1 − F) (E_α[log i | i > k] − E_α[log i | i ≤ k])  (≤ 0),
    F = Σ_{i≤k} p_i(α). Computed as −2 (F S_> − T S_≤), S_≤ = Σ_{i≤k} p_i log i, S_> = Σ_{i>k} p_i log i,
    T = Σ_{i>k} p_i summed directly (no 1 − F cancellation); 0 at k ∈ {0, d}. Broadcasts over α."""
    _check_ranks(k, d, name="tail_mass_derivative")
    p = orbit.gibbs_probabilities(d, alpha)
    log_i = torch.log(torch.arange(1, d + 1, dtype=orbit.DTYPE, device=p.device))
    head, tail = p[..., :k], p[..., k:]
    F, T = head.sum(-1), tail.sum(-1)
    S_head, S_tail = head @ log_i[:k], tail @ log_i[k:]
    return -2 * (F * S_tail - T * S_head)


def tail_mass_lipschitz_constant(d: int) -> float:
    """Lemma 5.8: abs(T_k(α) − T_k(β)) ≤ ((log d)/2) abs(α − β) for all k, α, β."""
    if d < 1:
        raise ValueError(f"tail_mass_lipschitz_constant: the width d must be >= 1, got {d}")
    return math.log(d) / 2


def plateau_endpoints(d: int, eps: float, alpha_lo: float, alpha_hi: float) -> dict[int, float]:
    """{k: α_k} for every k ∈ 1..d−1 whose root of T_k(α) = ε lies in [alpha_lo, alpha_hi].

    T_k is continuous and strictly decreasing in α (from 1 to 0) for 1 ≤ k < d, so each root is unique;
    it is found by Brent's method on `orbit.tail_mass`. The plateau P_k = {r_ε = k} is [α_k, α_{k−1})."""
    if not (0 < eps < 1 and alpha_lo < alpha_hi):
        raise ValueError(f"plateau_endpoints: needs 0 < ε < 1 and alpha_lo < alpha_hi, "
                         f"got ε={eps}, [{alpha_lo}, {alpha_hi}]")
    ks = torch.arange(1, d)
    at_lo = orbit.tail_mass(d, ks, alpha_lo) - eps
    at_hi = orbit.tail_mass(d, ks, alpha_hi) - eps
    roots = {}
    for k in ks[(at_lo >= 0) & (at_hi <= 0)].tolist():
        roots[k] = scipy.optimize.brentq(lambda a: float(orbit.tail_mass(d, k, a)) - eps,
                                         alpha_lo, alpha_hi, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    return roots


def rank_transitions(alphas, eps: float, d: int) -> list[int]:
    """Indices l with r_ε(α_{l+1}) ≠ r_ε(α_l) along a sequence of exponents α_0, …, α_L."""
    ranks = orbit.orbit_truncation_rank(d, torch.as_tensor(alphas, dtype=orbit.DTYPE), eps)
    if ranks.ndim != 1:
        raise ValueError(f"rank_transitions: alphas must be a sequence (1-D), got shape {tuple(ranks.shape)}")
    return torch.nonzero(ranks[1:] != ranks[:-1]).flatten().tolist()
