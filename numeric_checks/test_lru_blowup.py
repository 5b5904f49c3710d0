"""lru.forward_blowup (N part): the closed forms of the forward-pass blow-up against mpmath quadrature.

The claim's route has two integrals, each compared here with its closed form at 40 digits:

- the factor F(r_min, r_max) = E[1/(1 − |λ|²)] for λ uniform (area measure) on the annulus
  r_min ≤ |λ| ≤ r_max: the quadrature is the polar-coordinate area average
  (2/(r_max² − r_min²)) ∫ r/(1 − r²) dr, which does not use the route's step "|λ|² is uniform";
  the closed form is log((1 − r_min²)/(1 − r_max²)) / (r_max² − r_min²);
- the phase average (1/2π) ∫ dθ / |1 − r e^{iθ}|² (what a constant input leaves in the state),
  integrated from the definition of the modulus (mpmath complex arithmetic), against 1/(1 − r²).

Agreement to 1e-20 relative is required (the registry's rule); mpmath's own error estimate of
each quadrature must be far below that. The closed forms are the functions below, looked up at
call time: the experiment (benchmarks/experiments/test_exp_lru.py) uses `forward_blowup_factor` as its F, and
the negative control (tests/test_negative_control_lru_blowup.py) replaces them with wrong ones.
"""

from __future__ import annotations

import mpmath
import pytest

from impl.experiments.lru import forward_blowup_factor

DIGITS = 40
TOLERANCE = mpmath.mpf("1e-20")          # the registry's agreement, relative
QUADRATURE_ERROR = mpmath.mpf("1e-30")   # mpmath's error estimate must be far below it

# (r_min, r_max) as exact decimal strings: the experiment's three configurations, the full disc,
# a ring hugging the circle and a thin ring
RINGS = [("0", "0.9"), ("0.4", "0.99"), ("0.9", "0.999"), ("0", "0.5"), ("0.5", "0.9999"), ("0.99", "0.999")]
RADII = ["0", "0.1", "0.5", "0.9", "0.99", "0.999", "0.9999"]


def phase_average_closed_form(r):
    """The claim's phase average of 1/|1 − r e^{iθ}|² over a uniform θ: 1/(1 − r²)."""
    return 1 / (1 - mpmath.mpf(r) ** 2)


def relative_gap(got, want):
    return abs(got - want) / abs(want)


@pytest.mark.claim("lru.forward_blowup")
@pytest.mark.parametrize("r_min, r_max", RINGS)
def test_annulus_average_of_the_white_noise_gain_is_the_closed_form(r_min, r_max, evidence):
    with mpmath.workdps(DIGITS):
        a, b = mpmath.mpf(r_min), mpmath.mpf(r_max)
        # area average in polar coordinates: density 1/(π(b² − a²)), the θ integral gives 2π
        integral, error = mpmath.quad(lambda r: r / (1 - r * r), [a, b], error=True)
        quadrature = 2 * integral / (b * b - a * a)
        closed = forward_blowup_factor(a, b)
        gap = relative_gap(quadrature, closed)
        assert error <= QUADRATURE_ERROR * abs(integral), (
            f"quadrature not converged on [{r_min}, {r_max}]: error estimate {mpmath.nstr(error, 5)}")
        assert gap <= TOLERANCE, (
            f"annulus [{r_min}, {r_max}]: quadrature E[1/(1 − |λ|²)] = {mpmath.nstr(quadrature, 25)}, "
            f"closed form F = {mpmath.nstr(closed, 25)}, relative gap {mpmath.nstr(gap, 5)} > 1e-20")
    evidence.figure("max relative gap, annulus average vs F (40 digits)", float(gap), "1", keep="max")
    evidence.figure("max quadrature error estimate / integral", float(error / abs(integral)), "1", keep="max")


@pytest.mark.claim("lru.forward_blowup")
@pytest.mark.parametrize("r", RADII)
def test_phase_average_of_the_constant_input_gain_is_the_closed_form(r, evidence):
    with mpmath.workdps(DIGITS):
        radius = mpmath.mpf(r)
        gain = lambda theta: 1 / abs(1 - radius * mpmath.expj(theta)) ** 2  # noqa: E731
        # the integrand is even in θ and peaks at θ = 0 with width 1 − r: integrate [0, π] with a
        # node at the peak's width, and double
        points = sorted({mpmath.mpf(0), min(1 - radius, mpmath.pi), mpmath.pi})
        integral, error = mpmath.quad(gain, points, error=True)
        quadrature = integral / mpmath.pi
        closed = phase_average_closed_form(radius)
        gap = relative_gap(quadrature, closed)
        assert error <= QUADRATURE_ERROR * abs(integral), (
            f"quadrature not converged at r = {r}: error estimate {mpmath.nstr(error, 5)}")
        assert gap <= TOLERANCE, (
            f"r = {r}: quadrature (1/2π)∫ dθ/|1 − r e^(iθ)|² = {mpmath.nstr(quadrature, 25)}, closed form "
            f"1/(1 − r²) = {mpmath.nstr(closed, 25)}, relative gap {mpmath.nstr(gap, 5)} > 1e-20")
    evidence.figure("max relative gap, phase average vs 1/(1 − r²) (40 digits)", float(gap), "1", keep="max")
