"""Parts of the geometry and spectra toolkit that no claim check exercises: the Hellinger distance
and the errors on bad input."""

from __future__ import annotations

import mpmath
import pytest
import torch

from impl.geometry import orbit
from impl.spectral import spectra


def test_hellinger_matches_the_definition_and_the_bures_distance_of_diagonal_states():
    g = torch.Generator().manual_seed(3)
    p = torch.rand(7, generator=g, dtype=torch.float64)
    q = torch.rand(7, generator=g, dtype=torch.float64)
    p, q = p / p.sum(), q / q.sum()
    with mpmath.workdps(50):
        want = mpmath.sqrt(mpmath.fsum((mpmath.sqrt(a) - mpmath.sqrt(b)) ** 2
                                       for a, b in zip(p.tolist(), q.tolist())) / 2)
    assert abs(float(orbit.hellinger(p, q)) - float(want)) < 1e-14
    # for commuting states d·diag(p), d·diag(q): d_BW² = d Σ(√p − √q)² = 2d · Hellinger²
    d = len(p)
    bures = orbit.bures_wasserstein(torch.diag(d * p), torch.diag(d * q))
    assert abs(float(bures) ** 2 - 2 * d * float(want) ** 2) < 1e-12


@pytest.mark.parametrize("call, message", [
    (lambda: orbit.harmonic(0, 1.0), "width d must be >= 1"),
    (lambda: orbit.top_radial_of_matrix(torch.ones(2, 3)), r"square matrices, got shape \(2, 3\)"),
    (lambda: orbit.top_radial_chart(1, 0.0), "not identifiable"),
    (lambda: orbit.bures_wasserstein(torch.eye(2), torch.eye(3)), r"\(2, 2\) and \(3, 3\)"),
    (lambda: spectra.power_law_spectrum(0, 1.0), "d must be >= 1"),
    (lambda: spectra.matrix_with_spectrum(torch.ones(4), 3, 5), r"4 singular values do not fit a 3×5"),
    (lambda: spectra.truncation_rank(torch.ones(4), 1.0), r"ε must lie in \[0, 1\)"),
    (lambda: spectra.condition_number(torch.ones(4), 5), "r must lie in 1..4"),
])
def test_bad_input_is_refused_naming_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()
