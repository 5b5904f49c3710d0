"""The decision rules of benchmarks/test_exp_rank_sweeps.py can say every verdict: each `decide_*`
is fed synthetic per-seed measurements built to give confirmed, refuted and inconclusive, and
the pieces the rules share (knee, trailing mean, steps to threshold, parabola vertex) are checked
on cases whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import test_exp_rank_sweeps as rules

RATIOS = tuple(rules.grid_rank(r, 60) / 60 for r in rules.GRID)   # 5, 10, 15, 16.7, 20, 25, 30%
LR_RATIOS = tuple(rules.grid_rank(r, 60) / 60 for r in rules.LR_RATIOS)
NOISE = np.array([-0.001, 0.0, 0.001])                               # per seed


def sweep(mean_losses, noise=NOISE) -> rules.KneeSweep:
    return rules.KneeSweep(RATIOS, np.asarray(mean_losses, dtype=float)[:, None] + noise)


# knee at 17% (index 3): the ratios below are >= 0.05 worse, the ones above equal
KNEE_17 = [2.60, 2.50, 2.45, 2.40, 2.40, 2.40, 2.40]
KNEE_10 = [2.60, 2.40, 2.40, 2.40, 2.40, 2.40, 2.40]
KNEE_25 = [2.60, 2.55, 2.50, 2.48, 2.45, 2.40, 2.40]
DECREASING = [2.60, 2.55, 2.50, 2.48, 2.45, 2.43, 2.40]              # knee at the top (30%)


def test_knee_is_the_smallest_ratio_within_tolerance_of_the_best():
    assert rules.knee_index(KNEE_17) == 3
    assert rules.knee_index([2.5, 2.409, 2.4, 2.45]) == 1                # 0.009 above the best
    assert rules.knee_index([2.5, 2.411, 2.4, 2.45]) == 2
    assert rules.knee_index(DECREASING) == 6


# ------------------------------------------------------------------ eps_threshold

def eps_rows(eps_by_ratio, spread=0.002) -> np.ndarray:
    return np.asarray(eps_by_ratio)[None, :] + spread * np.array([-1.0, 0.0, 1.0])[:, None]


EPS = [0.6, 0.4, 0.2, 0.05, 0.03, 0.02, 0.01]


@pytest.mark.parametrize("losses, eps, verdict", [
    (KNEE_17, EPS, "confirmed"),                                      # ε(17%) = 0.05
    (KNEE_17, [0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05], "refuted"),       # ε(17%) = 0.3
    (DECREASING, [0.6, 0.4, 0.2, 0.15, 0.1, 0.07, 0.05], "inconclusive"),   # knee at 30%: only ε <= 0.05
])
def test_eps_rule_says_each_verdict(losses, eps, verdict):
    m = rules.EpsMeasurements(sweep(losses), eps_rows(eps), np.array([1.3, 1.35, 1.4]))
    assert rules.decide_eps_threshold(m)[0] == verdict


def test_a_knee_at_the_top_only_bounds_eps_above():
    m = rules.EpsMeasurements(sweep(DECREASING), eps_rows([0.6, 0.4, 0.2, 0.15, 0.1, 0.07, 0.01]),
                              np.array([1.0, 1.0, 1.0]))
    e = rules.estimate_eps(m)
    assert e.censored and e.interval[0] == 0.0 and e.interval[1] == pytest.approx(0.012)
    assert rules.decide_eps_threshold(m)[0] == "refuted"             # the bound lies below 0.025
    assert e.predicted_ratio == pytest.approx(0.01 ** 1.0)


def test_eps_prediction_is_undefined_for_alpha_at_most_one_half():
    m = rules.EpsMeasurements(sweep(KNEE_17), eps_rows(EPS), np.array([0.4, 0.5, 0.5]))
    assert math.isnan(rules.estimate_eps(m).predicted_ratio)


# ------------------------------------------------------------------ linear_vs_elman_ratio

# the linear grid's 17% seeds straddle the tolerance: resamples put its knee at 17% or at 20%
AMBIGUOUS = rules.KneeSweep(RATIOS, np.array([[2.6] * 3, [2.5] * 3, [2.45] * 3, [2.395, 2.405, 2.425],
                                              [2.4] * 3, [2.4] * 3, [2.4] * 3]))


@pytest.mark.parametrize("elman, linear, verdict", [
    (sweep(KNEE_10), sweep(KNEE_25), "confirmed"),
    (sweep(KNEE_17), sweep(KNEE_17), "refuted"),
    (sweep(KNEE_17), AMBIGUOUS, "inconclusive"),
])
def test_linear_vs_elman_rule_says_each_verdict(elman, linear, verdict):
    m = rules.PairedSweeps(elman, linear)
    assert rules.decide_linear_vs_elman(m)[0] == verdict


def test_ratio_difference_is_in_percentage_points():
    delta, interval = rules.estimate_ratio_difference(rules.PairedSweeps(sweep(KNEE_10), sweep(KNEE_25)))
    assert delta == pytest.approx(15.0) and interval == pytest.approx((15.0, 15.0))
    _, interval = rules.estimate_ratio_difference(rules.PairedSweeps(sweep(KNEE_17), AMBIGUOUS))
    assert interval == pytest.approx((0.0, 100 * (12 - 10) / 60))


# ------------------------------------------------------------------ nonlinear_correction

SAME_ALPHA = np.array([0.999, 1.0, 1.001])
SPREAD_ALPHA = np.array([0.7, 1.0, 1.3])


@pytest.mark.parametrize("elman, linear, alpha_elman, alpha_linear, verdict", [
    (KNEE_10, KNEE_25, SAME_ALPHA, SAME_ALPHA, "confirmed"),
    (KNEE_17, KNEE_17, SAME_ALPHA, SAME_ALPHA, "refuted"),
    (KNEE_17, KNEE_17, SPREAD_ALPHA, SPREAD_ALPHA, "inconclusive"),
])
def test_nonlinear_correction_rule_says_each_verdict(elman, linear, alpha_elman, alpha_linear, verdict):
    m = rules.CorrectionMeasurements(rules.PairedSweeps(sweep(elman), sweep(linear)), alpha_elman, alpha_linear)
    assert rules.decide_nonlinear_correction(m)[0] == verdict


def test_correction_is_the_difference_of_implied_minus_static():
    m = rules.CorrectionMeasurements(rules.PairedSweeps(sweep(KNEE_10), sweep(KNEE_25)),
                                     np.array([1.2, 1.2, 1.2]), np.array([1.0, 1.0, 1.0]))
    implied = lambda rho: (math.log(0.05) / math.log(rho) + 1) / 2                   # noqa: E731
    expected = (implied(0.1) - 1.2) - (implied(0.25) - 1.0)
    c, interval = rules.estimate_correction(m)
    assert c == pytest.approx(expected) and interval == pytest.approx((expected, expected))


# ------------------------------------------------------------------ lower_rank_better_flow

STEPS, WINDOW = 40, 4


def curves(rates) -> np.ndarray:
    """(ratios, seeds, steps) loss curves 2 + e^(−rate·t), the same for every seed."""
    t = np.arange(STEPS)
    return np.array([[2 + np.exp(-rate * t)] * 3 for rate in rates])


def snr_rows(values, spread) -> np.ndarray:
    return np.asarray(values)[:, None] * (1 + spread * np.array([-1.0, 0.0, 1.0]))


FAST_AT_LOW_RANK = [0.2 * (0.3 / r) ** 0.5 for r in RATIOS]           # lower ratio: converges faster
SLOW_AT_LOW_RANK = [0.2 * (r / 0.3) ** 0.5 for r in RATIOS]
FALLING_SNR = [1 / r for r in RATIOS]
RISING_SNR = [r for r in RATIOS]


@pytest.mark.parametrize("snr, rates, verdict", [
    (snr_rows(FALLING_SNR, 0.01), FAST_AT_LOW_RANK, "confirmed"),
    (snr_rows(RISING_SNR, 0.01), FAST_AT_LOW_RANK, "refuted"),               # b_S on the wrong side
    (snr_rows(FALLING_SNR, 0.01), SLOW_AT_LOW_RANK, "refuted"),              # b_T on the wrong side
    (snr_rows([1.0] * 7, 0.001), [0.1] * 7, "refuted"),                     # both slopes ≈ 0
    (np.array([[1.0, 0.2, 5.0]] * 7), [0.1] * 7, "inconclusive"),         # SNR too noisy to tell
])
def test_flow_rule_says_each_verdict(snr, rates, verdict):
    m = rules.FlowMeasurements(RATIOS, snr, curves(rates), WINDOW)
    assert rules.decide_lower_rank_better_flow(m)[0] == verdict


def test_ratios_that_never_reach_the_threshold_are_left_out():
    rates = FAST_AT_LOW_RANK[:]
    rates[0] = 0.0                                                            # 5% never learns
    e = rules.estimate_flow(rules.FlowMeasurements(RATIOS, snr_rows(FALLING_SNR, 0.01), curves(rates), WINDOW))
    assert math.isnan(e.steps_to_threshold[0]) and all(np.isfinite(e.steps_to_threshold[1:]))
    assert e.steps_interval[0] > 0


def test_snr_is_the_rules_ratio_of_squared_norms():
    import torch
    gradients = [torch.tensor([1.0, 0.0]), torch.tensor([3.0, 0.0])]         # ḡ = (2, 0); deviations ±1
    assert rules.rule_snr(gradients) == pytest.approx(4.0 / 1.0)


def test_trailing_mean_and_steps_to_threshold():
    losses = np.array([[5.0, 4.0, 3.0, 2.0, 1.0, 0.0]])
    np.testing.assert_allclose(rules.smoothed(losses, 2), [[4.5, 3.5, 2.5, 1.5, 0.5]])
    top = np.array([[4.0, 3.0, 2.0, 1.0, 0.0, 0.0]] * 2)                   # at step 3 (half): mean 1.5
    slow = np.array([[4.0, 4.0, 4.0, 4.0, 2.0, 1.0]] * 2)
    never = np.full((2, 6), 3.0)
    threshold, steps = rules._steps_to_threshold([rules.smoothed(c, 2) for c in (never, slow, top)], 2)
    assert threshold == pytest.approx(1.5) and steps[1:] == [5.0, 3.0] and math.isnan(steps[0])


# ------------------------------------------------------------------ multi_matrix

BASE = np.array([2.40, 2.45, 2.50])


@pytest.mark.parametrize("cells, verdict", [
    ((BASE, BASE + 0.05, BASE + 0.02, BASE + 0.07), "confirmed"),      # W_x's rank costs 0.05
    ((BASE, BASE + np.array([0.001, -0.001, 0.0]), BASE + 0.02, BASE + 0.02), "refuted"),
    ((BASE, BASE + np.array([0.03, -0.03, 0.01]), BASE, BASE + np.array([-0.02, 0.03, 0.0])), "inconclusive"),
])
def test_multi_matrix_rule_says_each_verdict(cells, verdict):
    assert rules.decide_multi_matrix(rules.TwoByTwo(*cells))[0] == verdict


def test_multi_matrix_contrasts_are_paired_by_seed():
    effects = rules.multi_effects(rules.TwoByTwo(BASE, BASE + 0.05, BASE + 0.02, BASE + 0.02))
    assert effects["E_h0"] == pytest.approx((0.05, 0.05, 0.05))       # seed-to-seed spread cancels
    assert effects["E_h1"] == pytest.approx((0.0, 0.0, 0.0), abs=1e-12)
    assert effects["I"] == pytest.approx((-0.05, -0.05, -0.05))


# ------------------------------------------------------------------ lr_scales_with_rank

EXPONENTS = tuple(range(8))


def lr_losses(optimum: float, noise=NOISE) -> np.ndarray:
    """(lrs, seeds): 2 + 0.1 (ln lr − ln lr*)² plus a per-seed offset."""
    log_lr = math.log(rules.LR_BASE) + np.array(EXPONENTS) * math.log(2)
    return (2 + 0.1 * (log_lr - math.log(optimum)) ** 2)[:, None] + noise


def lr_measurements(optima, noise=NOISE) -> rules.LrMeasurements:
    return rules.LrMeasurements(LR_RATIOS, (EXPONENTS,) * len(LR_RATIOS),
                                tuple(lr_losses(o, noise) for o in optima))


@pytest.mark.parametrize("optima, noise, verdict", [
    ([2e-3 * 0.17 / r for r in LR_RATIOS], NOISE, "confirmed"),              # lr* ∝ 1/ρ
    ([2e-3] * 4, NOISE, "refuted"),
    ([2e-3, 2e-3, 2e-3, 5e-2], NOISE, "inconclusive"),                      # 30%: minimum at the top end
])
def test_lr_rule_says_each_verdict(optima, noise, verdict):
    assert rules.decide_lr_scales_with_rank(lr_measurements(optima, noise))[0] == verdict


def test_lr_rule_is_inconclusive_when_the_slope_is_uncertain():
    # per (ratio, lr) cell, seeds scattered by ±0.3: resampled minima wander along the grid
    rng = np.random.default_rng(0)
    blocks = tuple(lr_losses(2e-3, noise=np.zeros(3)) + rng.normal(0, 0.3, (8, 3)) for _ in LR_RATIOS)
    m = rules.LrMeasurements(LR_RATIOS, (EXPONENTS,) * 4, blocks)
    assert all(0 < int(np.argmin(b.mean(axis=1))) < 7 for b in blocks)
    assert rules.decide_lr_scales_with_rank(m)[0] == "inconclusive"


def test_per_cell_resampling_breaks_seed_curves_apart():
    # each seed's curve is the same parabola shifted by a seed offset: resampling whole seeds keeps
    # lr* fixed, resampling cells independently mixes offsets and moves the vertices
    offsets = np.array([-0.2, 0.0, 0.2])
    m = lr_measurements([2e-3 * 0.17 / r for r in LR_RATIOS], noise=offsets)
    b, interval, _ = rules.estimate_lr_slope(m)
    assert interval == pytest.approx((b, b))
    low, high = rules.lr_slope_interval_per_cell(m)
    assert low < b - 0.05 and high > b + 0.05


def test_parabola_vertex_recovers_the_optimum_and_handles_the_ends():
    log_lr = math.log(rules.LR_BASE) + np.array(EXPONENTS) * math.log(2)
    exact = 2 + 0.1 * (log_lr - math.log(1.5e-3)) ** 2
    assert rules.optimal_log_lr(EXPONENTS, exact) == pytest.approx(math.log(1.5e-3))
    rising = 2 + 0.1 * (log_lr - log_lr[0]) + 0.001 * (log_lr - log_lr[0]) ** 2
    assert rules.optimal_log_lr(EXPONENTS, rising) == pytest.approx(log_lr[0])     # clipped to the grid
    with_divergence = exact.copy()
    with_divergence[5] = math.inf                   # the minimum (1.6e-3, k = 4) has a diverged neighbour
    assert rules.optimal_log_lr(EXPONENTS, with_divergence) == pytest.approx(log_lr[4])
