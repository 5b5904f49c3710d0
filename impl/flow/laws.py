"""The gradient-flow laws of the 2-layer linear model A = W U as 002 states them, in sympy.

`factorized.py` computes the flow in float64 torch; this module holds the claims' right-hand
sides (the factor flow, the end-to-end ODE, the conserved balance, the aligned mode laws, the
balanced logistic law with its closed form and half-time, the off-target decay) as exact
expressions. The matrix laws take sympy matrices (W m×k, U k×n, A* m×n), the mode laws sympy
symbols or expressions. numeric_checks/test_flow_symbolic.py re-derives each law from the loss
and compares; it looks the laws up here at call time, so a negative control plants a wrong
constant by patching this module.

Notation: E = W U − A* (the error), s = w u (a mode's strength), σ its target, s0 = s(0).
"""

from __future__ import annotations

import sympy as sp


def frobenius_loss(error):
    """L = ½‖W U − A*‖_F², as a function of the entries of the error E = W U − A*."""
    return sp.Rational(1, 2) * sum(e ** 2 for e in error)


def factor_flow(W, U, A_star):
    """(dW/dt, dU/dt) = (−(A − A*) Uᵀ, −Wᵀ (A − A*)), A = W U."""
    E = W @ U - A_star
    return -E @ U.T, -W.T @ E


def balance_rate(W, U, A_star):
    """d/dt (WᵀW) = d/dt (U Uᵀ) = −U (A − A*)ᵀ W − Wᵀ (A − A*) Uᵀ (registry notes)."""
    E = W @ U - A_star
    return -U @ E.T @ W - W.T @ E @ U.T


def end_to_end(W, U, A_star):
    """dA/dt = −(A − A*)(UᵀU) − (W Wᵀ)(A − A*)."""
    E = W @ U - A_star
    return -E @ (U.T @ U) - (W @ W.T) @ E


def aligned_rates(w, u, sigma):
    """One aligned mode: (dw/dt, du/dt) = (−u (s − σ), −w (s − σ)), s = w u."""
    s = w * u
    return -u * (s - sigma), -w * (s - sigma)


def mode_law(w, u, sigma):
    """ds/dt = −(w² + u²)(s − σ)."""
    return -(w ** 2 + u ** 2) * (w * u - sigma)


def balanced_law(s, sigma):
    """ds/dt = 2 s (σ − s) for w = u."""
    return 2 * s * (sigma - s)


def logistic_solution(t, sigma, s0):
    """s(t) = σ s0 e^{2σt} / (σ − s0 + s0 e^{2σt})."""
    growth = sp.exp(2 * sigma * t)
    return sigma * s0 * growth / (sigma - s0 + s0 * growth)


def half_time(sigma, s0):
    """s(t½) = σ/2 at t½ = ln(σ/s0 − 1)/(2σ) (float64: `factorized.half_growth_time`)."""
    return sp.log(sigma / s0 - 1) / (2 * sigma)


def off_target_law(s):
    """σ = 0, balanced: ds/dt = −2 s²."""
    return -2 * s ** 2


def unbalanced_off_target_law(w, u):
    """σ = 0, aligned but unbalanced: ds/dt = −(w² + u²) s."""
    return -(w ** 2 + u ** 2) * (w * u)


def off_target_solution(t, s0):
    """σ = 0: s(t) = s0 / (1 + 2 s0 t)."""
    return s0 / (1 + 2 * s0 * t)
