"""The decision rules and measurement pieces of benchmarks/test_exp_gradients.py on synthetic data.

Each `decide_*` must be able to say every verdict: fed measurements that the registry's rule
calls confirmed, refuted and inconclusive, it says so. The measurement pieces (memory capacity,
lagged targets, the low-rank Elman, parameter matching) are checked against cases whose answer
is known in closed form.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import benchmarks.test_exp_gradients as exp


# ---------------------------------------------------------------- gradient SNR rule (two claims)

@pytest.mark.parametrize("deltas, verdict", [
    ({"init": [0.52, 0.61, 0.57], "trained": [0.31, 0.42, 0.36]}, "confirmed"),
    ({"init": [-0.52, -0.61, -0.57], "trained": [-0.31, -0.42, -0.36]}, "refuted"),
    ({"init": [0.5, -0.4, 0.1], "trained": [0.31, 0.42, 0.36]}, "inconclusive"),      # an interval holds 0
    ({"init": [0.52, 0.61, 0.57], "trained": [-0.31, -0.42, -0.36]}, "inconclusive"),  # checkpoints disagree
])
def test_snr_rule_says_each_verdict(deltas, verdict):
    got, reason = exp.decide_snr_gain(deltas)
    assert got == verdict, reason
    assert "init" in reason and "trained" in reason


def test_snr_rule_needs_every_checkpoint_on_one_side():
    # both intervals above 0 but one only barely: still confirmed; one touching 0 from below is not
    assert exp.decide_snr_gain({"init": [0.01, 0.011, 0.012], "trained": [1.0, 1.1, 0.9]})[0] == "confirmed"
    assert exp.decide_snr_gain({"init": [0.0, 0.2, -0.2], "trained": [1.0, 1.1, 0.9]})[0] == "inconclusive"


# ---------------------------------------------------------------- X-gated vs Mamba2 rule

FAST = [200.0, 205.0, 198.0, 202.0, 199.0]
SLOW = [100.0, 101.0, 99.0, 102.0, 98.0]
LOSS = [1.90, 1.92, 1.91]


@pytest.mark.parametrize("rates_x, rates_m, losses_x, losses_m, verdict", [
    (FAST, SLOW, LOSS, [1.88, 1.87, 1.89], "confirmed"),                      # R ≈ 2, D ≈ 0.03 ± small
    (SLOW, FAST, LOSS, [1.88, 1.87, 1.89], "refuted"),                        # R's interval below 1
    (FAST, SLOW, [2.40, 2.42, 2.41], [1.88, 1.87, 1.89], "refuted"),          # D's lower bound > 0.10
    ([100, 130, 80, 120, 90], [110, 95, 105, 100, 115], LOSS, [1.88, 1.87, 1.89], "inconclusive"),  # R ∋ 1
    (FAST, SLOW, [1.80, 2.20, 2.00], [1.90, 1.91, 1.89], "inconclusive"),     # D straddles 0.10
])
def test_xgated_rule_says_each_verdict(rates_x, rates_m, losses_x, losses_m, verdict):
    got, reason = exp.decide_xgated_faster(rates_x, rates_m, losses_x, losses_m)
    assert got == verdict, reason


def test_throughput_ratio_is_the_ratio_of_means_with_a_seeded_interval():
    r, lo, hi = exp.throughput_ratio(FAST, SLOW)
    assert r == pytest.approx(np.mean(FAST) / np.mean(SLOW))
    assert lo < r < hi
    assert exp.throughput_ratio(FAST, SLOW) == (r, lo, hi)


# ---------------------------------------------------------------- wide vs narrow rule

@pytest.mark.parametrize("deltas, verdict", [
    ([0.8, 1.0, 0.9], "confirmed"),
    ([-0.8, -1.0, -0.9], "refuted"),
    ([0.8, -1.0, 0.1], "inconclusive"),
])
def test_capacity_rule_says_each_verdict(deltas, verdict):
    got, reason = exp.decide_wide_beats_narrow(deltas)
    assert got == verdict, reason


# ---------------------------------------------------------------- measurement pieces

def test_memory_capacity_of_a_delay_line_counts_the_stored_lags():
    """A state holding x_t, …, x_(t−m+1) exactly recalls lags 1 … m−1 (R² = 1) and nothing beyond
    (R² ≈ 0 on held-out data), so MC = m − 1."""
    rng = np.random.default_rng(0)
    m, lags, fit, test = 4, 8, 4000, 1000
    x = rng.standard_normal((lags + fit + test, 2))
    states = np.concatenate([np.roll(x, j, axis=0) for j in range(m)], axis=1)   # wrap-around only at t < m
    r2 = exp.memory_capacity(states, x, lags, fit, test)
    assert np.allclose(r2[: m - 1], 1, atol=1e-3)
    assert np.all(np.abs(r2[m - 1:]) < 0.02)
    assert r2.sum() == pytest.approx(m - 1, abs=0.1)


def test_lagged_targets_and_mask():
    x = torch.arange(2 * 5 * 1, dtype=torch.float32).reshape(2, 5, 1)
    targets, mask = exp.lagged_targets(x, 3)
    for t in range(5):
        for k in range(1, 4):
            assert bool(mask[t, k - 1]) == (t >= k)
            if t >= k:
                assert torch.equal(targets[:, t, k - 1], x[:, t - k])


def test_low_rank_elman_shares_the_dense_draws_and_the_spectral_norm():
    dense = exp.StockElman(8, 8, generator=torch.Generator().manual_seed(3))
    low = exp.LowRankStockElman(8, 8, 2, generator=torch.Generator().manual_seed(3))
    assert torch.equal(dense.W_x, low.W_x) and not hasattr(low, "W_h")
    sigma = torch.linalg.svdvals(low.recurrent_matrix().detach().double())
    assert sigma[:2] == pytest.approx([0.9, 0.9], abs=1e-6) and float(sigma[2:].max()) < 1e-6
    # the effective-matrix gradient is the one the factors' gradients come from: ∂L/∂U = G Vᵀ
    x = torch.randn(3, 6, 8, generator=torch.Generator().manual_seed(4))
    loss = low(x)[0].pow(2).sum()
    gU, G = torch.autograd.grad(loss, [low.U, low.effective])
    assert torch.allclose(gU, G @ low.V.T, atol=1e-5)


def test_dense_and_low_rank_language_models_differ_only_in_w_h():
    dense, low = exp.elman_lm(1), exp.elman_lm(1, exp.rank_of(exp.DECIDING_RATIO))
    shared = {name: p for name, p in dense.named_parameters() if not name.endswith("W_h")}
    own = dict(low.named_parameters())
    assert set(own) == set(shared) | {"layers.0.layer.recurrence.U", "layers.0.layer.recurrence.V"}
    assert all(torch.equal(p, own[name]) for name, p in shared.items())


def test_the_compared_models_have_matched_parameters_and_state():
    elman, mamba2 = exp.layer_of(exp.elman_lm(0)), exp.layer_of(exp.mamba2_lm(0))
    assert elman.recurrence.state_size == mamba2.state_size == exp.SNR_SIZES["dim"]
    assert abs(exp.num_parameters(mamba2) / exp.num_parameters(elman) - 1) <= 0.05
    configs = exp.xgated_configs()
    xg, m2 = (exp.num_parameters(exp.ByteLM(configs[k], 0)) for k in exp.XG_KINDS)
    assert abs(xg / m2 - 1) <= 0.05
    (d_n, e_n), (d_w, e_w) = exp.MC_SIZES["narrow"], exp.MC_SIZES["wide"]
    p_n, p_w = exp.document_parameters(d_n, e_n), exp.document_parameters(d_w, e_w)
    assert e_n > e_w and d_w > d_n and abs(p_w / p_n - 1) <= 0.05
