"""The diagonal recurrence's steady-state gains in closed form, in mpmath (lru.forward_blowup).

A unit x_k = λ x_{k−1} + u_k with |λ| = r < 1 driven by a constant input u = 1 settles at
1/(1 − λ); averaged over a uniform phase of λ its squared modulus is 1/(1 − r²). The annulus
average of the white-noise gain, F(r_min, r_max), is `impl.experiments.lru.forward_blowup_factor`
(the experiment's). numeric_checks/test_lru_blowup.py compares both with mpmath quadrature and
looks them up at call time, so a negative control plants a wrong one by patching its module.
"""

from __future__ import annotations

import mpmath


def phase_average_closed_form(r):
    """(1/2π) ∫ dθ / |1 − r e^{iθ}|² = 1/(1 − r²), for 0 ≤ r < 1, at the caller's mpmath precision."""
    return 1 / (1 - mpmath.mpf(r) ** 2)
