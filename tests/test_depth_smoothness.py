"""The depth-smoothness permutation test (impl.spectral.profiles) can say both things.

It backs the experiment gsa.smooth_exponent_profiles: on profiles that are smooth by
construction it reports Z far below the null, on zig-zag profiles far above the null median, and
its exact per-type p-values match a brute-force count."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from impl.spectral.profiles import depth_smoothness_test, total_variation


def test_monotone_profiles_are_smoother_than_every_shuffle():
    alphas = np.array([np.linspace(0.3, 0.5, 6) + 0.1 * w for w in range(6)])
    test = depth_smoothness_test(alphas, draws=20_000)
    # a monotone order has the minimal TV; only it and its reversal reach it among 720 orders
    assert np.allclose(test.p_per_type, 2 / 720)
    assert all(test.z < s.p05 and s.p_value < 1e-3 for s in test.null), test


def test_zigzag_profiles_sit_above_the_null_median():
    zigzag = np.array([0.3, 0.6, 0.31, 0.59, 0.32, 0.58])
    alphas = np.array([zigzag + 0.05 * w for w in range(6)])
    test = depth_smoothness_test(alphas, draws=20_000)
    assert all(test.z >= s.median for s in test.null), test
    assert np.all(test.p_per_type > 0.9)


def test_exact_per_type_p_value_matches_a_brute_force_count():
    rng = np.random.default_rng(5)
    alphas = rng.normal(size=(2, 5))
    test = depth_smoothness_test(alphas, draws=100)
    for w in range(2):
        count = sum(total_variation(alphas[w, list(order)]) <= total_variation(alphas[w]) + 0
                    for order in itertools.permutations(range(5)))
        assert test.p_per_type[w] == count / 120


@pytest.mark.parametrize("bad", [np.zeros((2, 2)), np.ones((3, 6)), np.full((2, 6), np.nan)])
def test_bad_profiles_are_refused_with_the_reason(bad):
    with pytest.raises(ValueError, match="depth_smoothness_test"):
        depth_smoothness_test(bad, draws=10)
