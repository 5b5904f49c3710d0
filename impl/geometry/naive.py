"""High-precision reference for `orbit.py`: every quantity from its *definition*, in mpmath.

Nothing here uses the closed forms that `orbit.py` implements (those are what the numeric checks
test): entropy is −Σ p log p, KL is Σ p log(p/q), ρ' and ρ'' are derivatives of ρ taken by
mpmath's numerical differentiation, the Fisher information is E[(∂_α log p)²], and the
Bures–Wasserstein distance is the matrix definition on diagonal matrices. The caller sets the
working precision (`mpmath.mp.dps`, or `with mpmath.workdps(50):`); results are mpf.
"""

from __future__ import annotations

import mpmath


def harmonic(d: int, s):
    """H_{d,s} = Σ_{i=1}^{d} i^{-s}, summed term by term."""
    s = mpmath.mpf(s)
    return mpmath.fsum(mpmath.power(i, -s) for i in range(1, d + 1))


def weights(d: int, alpha) -> list:
    """Unnormalised orbit weights w_i = i^{-2α}."""
    alpha = mpmath.mpf(alpha)
    return [mpmath.power(i, -2 * alpha) for i in range(1, d + 1)]


def probabilities(d: int, alpha) -> list:
    w = weights(d, alpha)
    total = mpmath.fsum(w)
    return [x / total for x in w]


def eigenvalues(d: int, alpha) -> list:
    """λ_i = d p_i: eigenvalues of ĴᵀĴ for Ĵ with σ_i ∝ i^{-α} scaled to ‖Ĵ‖_F² = d."""
    return [d * p for p in probabilities(d, alpha)]


def expectation(d: int, alpha, f) -> mpmath.mpf:
    return mpmath.fsum(p * f(i) for i, p in zip(range(1, d + 1), probabilities(d, alpha)))


def top_radial(d: int, alpha):
    """ρ(α) = log λ_1(α), the rank-1 coordinate of the orbit point (i = 1 carries weight 1^{-2α} = 1).

    For α ≥ 0 this is the log of the largest eigenvalue of the normalised Gram matrix; for α < 0 the
    ranks are in increasing order and ρ stays the rank-1 coordinate, as the claims define it."""
    return mpmath.log(eigenvalues(d, alpha)[0])


def top_radial_derivative(d: int, alpha, n: int = 1):
    """n-th derivative of ρ in α, by mpmath's numerical differentiation of the definition."""
    return mpmath.diff(lambda a: top_radial(d, a), mpmath.mpf(alpha), n)


def fisher_information(d: int, alpha):
    """I(α) = E_α[(∂_α log p_i(α))²], the score's derivative taken numerically."""
    alpha = mpmath.mpf(alpha)
    ps = probabilities(d, alpha)
    total = mpmath.mpf(0)
    for i, p in zip(range(1, d + 1), ps):
        score = mpmath.diff(lambda a: mpmath.log(probabilities_at(d, a, i)), alpha)
        total += p * score ** 2
    return total


def probabilities_at(d: int, alpha, i: int):
    """p_i(α) alone (for derivatives of one coordinate)."""
    alpha = mpmath.mpf(alpha)
    return mpmath.power(i, -2 * alpha) / harmonic(d, 2 * alpha)


def entropy(d: int, alpha):
    """S = −Σ p_i log p_i."""
    return -mpmath.fsum(p * mpmath.log(p) for p in probabilities(d, alpha))


def kl(d: int, alpha, beta):
    """KL(p_α ‖ p_β) = Σ p_i(α) log(p_i(α)/p_i(β))."""
    p, q = probabilities(d, alpha), probabilities(d, beta)
    return mpmath.fsum(a * mpmath.log(a / b) for a, b in zip(p, q))


def bures_wasserstein_diagonal(lam, mu):
    """d_BW between diag(λ) and diag(μ) from the matrix definition: tr X + tr Y − 2 tr (X^½ Y X^½)^½,
    which for commuting diagonal matrices is Σ λ + Σ μ − 2 Σ √(λ_i μ_i)."""
    cross = mpmath.fsum(mpmath.sqrt(a * b) for a, b in zip(lam, mu))
    return mpmath.sqrt(mpmath.fsum(lam) + mpmath.fsum(mu) - 2 * cross)


def tail_mass(d: int, k: int, alpha):
    """T_k(α) = Σ_{i>k} p_i(α)."""
    return mpmath.fsum(probabilities(d, alpha)[k:])


def truncation_rank(d: int, alpha, eps) -> int:
    """min{k : Σ_{i≤k} p_i ≥ 1 − ε}, by walking the partial sums."""
    target = 1 - mpmath.mpf(eps)
    running = mpmath.mpf(0)
    for k, p in enumerate(probabilities(d, alpha), start=1):
        running += p
        if running >= target:
            return k
    return d
