"""Monotonicity of the truncation rank along the GSA orbit (003 Proposition 5.7), as a property of impl.

For random widths d, thresholds ε and exponent pairs α < β, impl's orbit truncation rank
(`orbit.orbit_truncation_rank`, cumulative float64 probabilities) must satisfy r_ε(β) ≤ r_ε(α). The gap
β − α is at least 1e-6, so a strict change of T_k near ε (|∂_α T_k| ≥ 2ε(1−ε)/d there) is far above
float64 rounding of the cumulative sums; ties in the rank cannot be produced by rounding alone. The
ranks themselves are checked against the mpmath partial-sum walk in numeric_checks/test_gsa_tails.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import impl.geometry.orbit as orbit

widths = st.integers(1, 300)
thresholds = st.floats(1e-4, 0.99)
exponents = st.floats(-3, 6)
exponent_gaps = st.floats(1e-6, 5)


@pytest.mark.claim("gsa.truncation_rank_monotone")
@given(d=widths, eps=thresholds, alpha=exponents, gap=exponent_gaps)
def test_truncation_rank_is_nonincreasing_in_alpha(d, eps, alpha, gap, evidence):
    beta = alpha + gap
    r_alpha, r_beta = (int(orbit.orbit_truncation_rank(d, a, eps)) for a in (alpha, beta))
    evidence.figure("largest width d drawn", d, "1", keep="max")
    evidence.figure("largest rank drop r_ε(α) − r_ε(β)", r_alpha - r_beta, "1", keep="max")
    assert r_beta <= r_alpha, (f"r_ε rises along the orbit: r_ε({alpha!r}) = {r_alpha} < r_ε({beta!r}) = {r_beta} "
                               f"(d={d}, ε={eps!r})")
