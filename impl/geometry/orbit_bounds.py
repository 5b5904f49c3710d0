"""The stated bounds and identities of 003's power-law orbit (GSA I §3, App. A), as written there.

`orbit.py` computes the orbit's quantities in float64 torch; this module holds the right-hand
sides the claims state about them (the sandwich and chart bounds, the KL and Bures bounds, the
tail bounds of App. A, the zeta limit and its rate), in high precision, at the caller's
precision: mpmath numbers (inside `mpmath.workdps`) or python-flint balls and power series
(inside `flint.ctx.workprec`). The numeric checks (numeric_checks/test_gsa_orbit.py) compare
them with the definitions (`naive.py`, arb sums) and look them up here at call time, so a
negative control plants a wrong constant by patching this module.

Notation as in `orbit.py`: H_{d,s} = Σ_{i≤d} i^{-s}, E_α, Var_α over p_i(α) = i^{-2α}/H_{d,2α},
I = 4 Var_α(log i); s = 2α in the zeta formulas.
"""

from __future__ import annotations

import functools

import mpmath
from flint import arb, arb_series

# ---------------------------------------------------------------- gsa.radial_monotone


def sandwich_lower(alpha, mean_log_rank):
    """2α E_α[log i] (lower bound of ρ for α ≥ 0)."""
    return 2 * alpha * mean_log_rank


def sandwich_upper(d: int, alpha):
    """2α log(d!)/d (upper bound of ρ for α ≥ 0)."""
    return 2 * alpha * mpmath.loggamma(d + 1) / d


def rho_prime_at_zero(d: int):
    """ρ'(0) = 2 log(d!)/d."""
    return 2 * mpmath.loggamma(d + 1) / d


def rho_prime(mean, var):
    """(11): ρ' = 2 E_α[log i], from the moments (E_α[log i], Var_α(log i))."""
    return 2 * mean


def rho_second(mean, var):
    """ρ'' = −I = −4 Var_α(log i), from the moments (E_α[log i], Var_α(log i))."""
    return -4 * var


# ---------------------------------------------------------------- gsa.chart_conditioning

def chart_minimiser(lo: float, hi: float) -> float:
    """(19): ρ' attains its minimum over [α−, α+] at the right end α+."""
    return hi


def chart_lower_bound(d: int, alpha, harmonic):
    """(20): ρ'(α) ≥ 2 d^{-2α} log d / H_{d,2α} (`harmonic` = H_{d,2α})."""
    return 2 * mpmath.power(d, -2 * mpmath.mpf(alpha)) * mpmath.log(d) / harmonic


def chart_weak_lower_bound(d: int, alpha):
    """(20), second form: 2 d^{-1-2α} log d."""
    return 2 * mpmath.power(d, -1 - 2 * mpmath.mpf(alpha)) * mpmath.log(d)


# ---------------------------------------------------------------- gsa.entropy_kl

def kl_upper_bound(d: int, alpha, beta):
    """KL(p_α ‖ p_β) ≤ (β − α)² (log d)² / 2."""
    return (beta - alpha) ** 2 * mpmath.log(d) ** 2 / 2


def fisher_bound(d: int):
    """I ≤ (log d)² (Popoviciu)."""
    return mpmath.log(d) ** 2


# ---------------------------------------------------------------- gsa.fisher_bures

def line_element_sq(d: int, var):
    """(F2): ds²/dα² = (d/4) I = d Var_α(log i)."""
    return d * var


def bures_length_bound(d: int, alpha, beta):
    """(F3): (√d/2) |β − α| log d, in arb balls."""
    return arb(d).sqrt() / 2 * abs(arb(beta) - arb(alpha)) * arb(d).log()


def bures_sq(d: int, h_sum, h_2a, h_2b):
    """(F1): d_BW² = 2d [1 − H_{d,α+β}/√(H_{d,2α} H_{d,2β})]."""
    return 2 * d * (1 - h_sum / (h_2a * h_2b).sqrt())


# ---------------------------------------------------------------- gsa.harmonic_tail_bounds (App. A)

def variable(center: arb, n: int) -> arb_series:
    """The power series of s at `center`, n coefficients: center + x."""
    return arb_series([center, 1], n)


def power_series(base: int, s: arb_series) -> arb_series:
    """base^{1−s}, a power series in s."""
    return ((1 - s) * arb(base).log()).exp()


def harmonic_tail_lower(d: int, s):
    """(A.1) ζ(s) − H_{d,s} ≥ (d+1)^{1−s}/(s−1)."""
    return power_series(d + 1, s) / (s - 1)


def harmonic_tail_upper(d: int, s):
    """(A.1) ζ(s) − H_{d,s} ≤ d^{1−s}/(s−1)."""
    return power_series(d, s) / (s - 1)


def log_tail_lower(d: int, s):
    """(A.3) −ζ'(s) − L_{d,s} ≥ (d+1)^{1−s}[log(d+1)/(s−1) + 1/(s−1)²]."""
    return power_series(d + 1, s) * (arb(d + 1).log() / (s - 1) + 1 / (s - 1) ** 2)


def log_tail_upper(d: int, s):
    """(A.3) −ζ'(s) − L_{d,s} ≤ d^{1−s}[log d/(s−1) + 1/(s−1)²]."""
    return power_series(d, s) * (arb(d).log() / (s - 1) + 1 / (s - 1) ** 2)


def minus_zeta_prime_ball(s: float) -> arb:
    """(A.2)'s left side −ζ'(s), from the arb power series of ζ at s."""
    return -variable(arb(s), 2).zeta().coeffs()[1]


# ---------------------------------------------------------------- gsa.zeta_limit

def zeta_limit_mp(alpha):
    """ρ'_∞(α) = −2ζ'(2α)/ζ(2α), in mpmath."""
    s = 2 * mpmath.mpf(alpha)
    return -2 * mpmath.zeta(s, 1, 1) / mpmath.zeta(s)


@functools.lru_cache(maxsize=64)
def zeta_at(s):
    """ζ(s) in mpmath (cached: the checks evaluate the rate bound at hundreds of widths per exponent,
    all at one precision)."""
    return mpmath.zeta(s)


def zeta_rate_bound_mp(d: int, alpha):
    """ρ'_∞ − ρ'_d ≤ (2/ζ(2α)) d^{1−2α} [log d/(2α−1) + 1/(2α−1)²] (d ≥ 3), in mpmath."""
    s = 2 * mpmath.mpf(alpha)
    return 2 / zeta_at(s) * mpmath.power(d, 1 - s) * (mpmath.log(d) / (s - 1) + 1 / (s - 1) ** 2)


def zeta_limit_series(s: arb_series, zeta: arb_series, minus_zeta_prime: arb_series) -> arb_series:
    """ρ'_∞ = −2ζ'(s)/ζ(s), s = 2α, from the series of ζ and −ζ'."""
    return 2 * minus_zeta_prime / zeta


def zeta_rate_bound_series(d: int, s: arb_series, zeta: arb_series) -> arb_series:
    """(2/ζ(s)) d^{1−s} [log d/(s−1) + 1/(s−1)²], s = 2α, a power series in s."""
    return 2 / zeta * power_series(d, s) * (arb(d).log() / (s - 1) + 1 / (s - 1) ** 2)
