"""lru.forward_blowup (N part): the closed forms of the forward-pass blow-up against mpmath quadrature.

The claim's route has two integrals, each compared here with its closed form at 40 digits:

- the factor F(r_min, r_max) = E[1/(1 − |λ|²)] for λ uniform (area measure) on the annulus
  r_min ≤ |λ| ≤ r_max: the quadrature is the polar-coordinate area average
  (2/(r_max² − r_min²)) ∫ r/(1 − r²) dr, which does not use the route's step "|λ|² is uniform";
  the closed form is log((1 − r_min²)/(1 − r_max²)) / (r_max² − r_min²);
- the phase average (1/2π) ∫ dθ / |1 − r e^{iθ}|² (what a constant input leaves in the state),
  integrated from the definition of the modulus (mpmath complex arithmetic), against 1/(1 − r²).

Agreement to 1e-20 relative is required (the registry's rule); mpmath's own error estimate of
each quadrature must be far below that. The closed forms are impl's, looked up in their modules at
call time (`impl.experiments.lru.forward_blowup_factor`, the experiment's F;
`impl.diagonal_rnn.gains.phase_average_closed_form`), so that the negative control
(tests/test_negative_control_lru_blowup.py) replaces them with wrong ones by patching those modules.
"""

from __future__ import annotations

import mpmath
import pytest

import impl.experiments.lru as lru_experiment
from impl.diagonal_rnn import gains
from impl.precision import working_precision

DIGITS = 40
TOLERANCE = mpmath.mpf("1e-20")          # the registry's agreement, relative
QUADRATURE_ERROR = mpmath.mpf("1e-30")   # mpmath's error estimate must be far below it

# (r_min, r_max) as exact decimal strings: the experiment's three configurations, the full disc,
# a ring hugging the circle and a thin ring
RINGS = [("0", "0.9"), ("0.4", "0.99"), ("0.9", "0.999"), ("0", "0.5"), ("0.5", "0.9999"), ("0.99", "0.999")]
RADII = ["0", "0.1", "0.5", "0.9", "0.99", "0.999", "0.9999"]


def relative_gap(got, want):
    return abs(got - want) / abs(want)


def assert_quadrature_is_the_closed_form(where: str, integral, error, quadrature, closed, quadrature_text: str,
                                         closed_text: str):
    """mpmath's quadrature converged (its error estimate ≤ QUADRATURE_ERROR relative to the integral)
    and agrees with the closed form to TOLERANCE, relative; returns the relative gap."""
    assert error <= QUADRATURE_ERROR * abs(integral), (
        f"{where}: quadrature not converged, error estimate {mpmath.nstr(error, 5)}")
    gap = relative_gap(quadrature, closed)
    assert gap <= TOLERANCE, (
        f"{where}: quadrature {quadrature_text} = {mpmath.nstr(quadrature, 25)}, closed form "
        f"{closed_text} = {mpmath.nstr(closed, 25)}, relative gap {mpmath.nstr(gap, 5)} > 1e-20")
    return gap


@pytest.mark.claim("lru.forward_blowup")
@pytest.mark.parametrize("r_min, r_max", RINGS)
def test_annulus_average_of_the_white_noise_gain_is_the_closed_form(r_min, r_max, evidence):
    with working_precision(mpmath_dps=DIGITS):
        a, b = mpmath.mpf(r_min), mpmath.mpf(r_max)
        # area average in polar coordinates: density 1/(π(b² − a²)), the θ integral gives 2π
        integral, error = mpmath.quad(lambda r: r / (1 - r * r), [a, b], error=True)
        gap = assert_quadrature_is_the_closed_form(f"annulus [{r_min}, {r_max}]", integral, error,
                                                   2 * integral / (b * b - a * a),
                                                   lru_experiment.forward_blowup_factor(a, b), "E[1/(1 − |λ|²)]", "F")
    evidence.figure("max relative gap, annulus average vs F (40 digits)", float(gap), "1", keep="max")
    evidence.figure("max quadrature error estimate / integral", float(error / abs(integral)), "1", keep="max")


@pytest.mark.claim("lru.forward_blowup")
@pytest.mark.parametrize("r", RADII)
def test_phase_average_of_the_constant_input_gain_is_the_closed_form(r, evidence):
    with working_precision(mpmath_dps=DIGITS):
        radius = mpmath.mpf(r)
        gain = lambda theta: 1 / abs(1 - radius * mpmath.expj(theta)) ** 2  # noqa: E731
        # the integrand is even in θ and peaks at θ = 0 with width 1 − r: integrate [0, π] with a
        # node at the peak's width, and double
        points = sorted({mpmath.mpf(0), min(1 - radius, mpmath.pi), mpmath.pi})
        integral, error = mpmath.quad(gain, points, error=True)
        gap = assert_quadrature_is_the_closed_form(f"r = {r}", integral, error, integral / mpmath.pi,
                                                   gains.phase_average_closed_form(radius),
                                                   "(1/2π)∫ dθ/|1 − r e^(iθ)|²", "1/(1 − r²)")
    evidence.figure("max relative gap, phase average vs 1/(1 − r²) (40 digits)", float(gap), "1", keep="max")
