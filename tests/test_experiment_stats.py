"""Statistics of the experiments against scipy's own implementations and brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch

from impl import experiments


def test_t_interval_matches_scipy():
    x = [1.2, 1.35, 1.4, 1.28, 1.5]
    mean, lo, hi = experiments.t_interval(x)
    want = scipy.stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=scipy.stats.sem(x))
    assert math.isclose(lo, want[0], rel_tol=1e-12) and math.isclose(hi, want[1], rel_tol=1e-12)


def test_welch_interval_matches_scipy_ttest():
    a, b = [2.0, 2.3, 2.1, 2.6], [1.5, 1.9, 1.4]
    diff, lo, hi = experiments.welch_interval(a, b)
    ci = scipy.stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert math.isclose(lo, ci.low, rel_tol=1e-10) and math.isclose(hi, ci.high, rel_tol=1e-10)


def test_bootstrap_of_a_mean_is_centred_and_seeded():
    groups = [[1.0, 2.0, 3.0, 4.0]]
    a = experiments.bootstrap(np.mean, groups, resamples=4000, seed=1)
    assert abs(a.mean() - 2.5) < 0.05 and np.array_equal(a, experiments.bootstrap(np.mean, groups, 4000, seed=1))


def test_gradient_snr_against_its_definition():
    g = [torch.tensor([1.0, 2.0]), torch.tensor([3.0, 2.0]), torch.tensor([2.0, 5.0])]
    mean = np.array([2.0, 3.0])
    noise = sum(np.sum((np.array(x) - mean) ** 2) for x in ([1, 2], [3, 2], [2, 5])) / 2
    assert math.isclose(experiments.gradient_snr(g), np.linalg.norm(mean) / math.sqrt(noise), rel_tol=1e-12)


def test_scale_is_read_from_the_environment_and_checked(monkeypatch):
    monkeypatch.setenv("CLAIMS_SCALE", "full")
    assert experiments.at_scale(1, 2) == 2
    monkeypatch.setenv("CLAIMS_SCALE", "huge")
    with pytest.raises(ValueError, match="CLAIMS_SCALE"):
        experiments.scale()
