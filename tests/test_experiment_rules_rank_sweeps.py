"""The decision rules of impl/experiments/rank_sweeps.py can say every verdict: each `decide_*`
is fed synthetic per-seed measurements built to give confirmed, refuted and inconclusive, and
the pieces the rules share (knee, trailing mean, steps to threshold, parabola vertex) are checked
on cases whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

import impl.experiments.rank_sweeps as rules

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
    # the top resample (every seed = the largest, 1/27 > 2.5% of resamples), after widening
    assert e.censored == "top" and e.interval[0] == 0.0
    assert e.interval[1] == pytest.approx(0.01 + rules.widening(3) * 0.002)
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


# ------------------------------------------------------------------ censoring: a knee at a grid end decides nothing

BOTTOM = [2.40, 2.40, 2.40, 2.40, 2.40, 2.40, 2.40]                  # knee at 5%


@pytest.mark.parametrize("elman, linear", [
    (sweep(DECREASING), sweep(DECREASING)),          # both at the top: Δ = 0 would otherwise look "refuted"
    (sweep(KNEE_10), sweep(DECREASING)),             # linear at the top: Δ >= 20 would otherwise confirm
    (sweep(BOTTOM), sweep(KNEE_25)),                 # Elman at the bottom
])
def test_a_censored_knee_makes_linear_vs_elman_inconclusive(elman, linear):
    m = rules.PairedSweeps(elman, linear)
    verdict, reason = rules.decide_linear_vs_elman(m)
    assert verdict == "inconclusive" and "censored" in reason
    assert "a grid reaching" in rules.linear_vs_elman_to_decide(m)


def test_interior_knees_decide_linear_vs_elman():
    assert rules.decide_linear_vs_elman(rules.PairedSweeps(sweep(KNEE_10), sweep(KNEE_25)))[0] == "confirmed"
    assert rules.decide_linear_vs_elman(rules.PairedSweeps(sweep(KNEE_17), sweep(KNEE_17)))[0] == "refuted"


def test_a_censored_knee_makes_the_correction_inconclusive():
    m = rules.CorrectionMeasurements(rules.PairedSweeps(sweep(KNEE_10), sweep(DECREASING)), SAME_ALPHA, SAME_ALPHA)
    verdict, reason = rules.decide_nonlinear_correction(m)
    assert verdict == "inconclusive" and "censored" in reason          # c's interval alone excludes 0
    assert rules._excludes_zero(rules.estimate_correction(m)[1])


def test_a_censored_knee_never_confirms_eps():
    # ε(30%) = 0.05 sits in the band, but a knee at the top only bounds ε̂ above
    m = rules.EpsMeasurements(sweep(DECREASING), eps_rows([0.6, 0.4, 0.2, 0.15, 0.1, 0.07, 0.05]), SAME_ALPHA)
    verdict, reason = rules.decide_eps_threshold(m)
    assert verdict == "inconclusive" and "censored" in reason
    text = rules.eps_to_decide(m, np.array([2.30, 2.31, 2.32]))
    assert "a grid reaching above 30% toward r = d (its 30% model's seed-mean loss lies +0.090" in text
    bottom = rules.EpsMeasurements(sweep(BOTTOM), eps_rows([0.05, 0.04, 0.03, 0.02, 0.015, 0.01, 0.005]),
                                   SAME_ALPHA)
    e = rules.estimate_eps(bottom)
    assert e.censored == "bottom" and e.interval[1] == 1.0             # only bounded below by ε(5%)
    assert rules.decide_eps_threshold(bottom)[0] == "inconclusive"
    assert "a grid reaching below 5%" in rules.eps_to_decide(bottom)
    # a bound can still refute: ε(5%) = 0.2 > 0.10 and the true ε̂ lies above it
    above = rules.EpsMeasurements(sweep(BOTTOM), eps_rows([0.2, 0.1, 0.05, 0.04, 0.03, 0.02, 0.01]), SAME_ALPHA)
    assert rules.decide_eps_threshold(above)[0] == "refuted"


def test_resamples_with_a_knee_at_an_end_bound_the_statistic_on_one_side():
    samples = np.array([1.0, 2.0, 3.0, 4.0] * 10)
    top = np.zeros(40, bool)
    top[:2] = True                                                    # 5% of resamples: may truly be higher
    low, high = rules.censored_interval(samples, np.zeros(40, bool), top)
    assert low == 1.0 and high == math.inf


def test_censoring_guard_negative_control(monkeypatch):
    # without the guard (knees never reported censored) a linear knee stuck at the top confirms
    # (Δ >= 20 points is only a bound), and with the one-sided resample bounds also removed two
    # knees stuck at the top "refute" (Δ = 0 by construction)
    monkeypatch.setattr(rules, "censored_reason", lambda sweeps: None)
    assert rules.decide_linear_vs_elman(rules.PairedSweeps(sweep(KNEE_10), sweep(DECREASING)))[0] == "confirmed"
    monkeypatch.setattr(rules, "censored_interval",
                        lambda samples, low, high, floor=0, ceiling=0: rules.percentile_interval(samples))
    assert rules.decide_linear_vs_elman(rules.PairedSweeps(sweep(DECREASING, np.zeros(3)),
                                                           sweep(DECREASING, np.zeros(3))))[0] == "refuted"


# ------------------------------------------------------------------ coverage of the intervals at 3 seeds
# Each simulation draws data sets of this module's sizes (7 grid ratios or 4 lr ratios × 8 lrs,
# 3 seeds) with the seed spread observed in the run of 2026-12-02 (final loss sd ≈ 0.035 nats/byte,
# ln SNR sd ≈ 0.45, ε(ρ) sd 0.007–0.03, α sd ≈ 0.016, per-cell lr noise 0.04 plus a seed offset
# 0.03) around a known truth, and counts how often the module's interval contains it. The
# plain percentile bootstrap (widening 1) is shown short of 95%; the widened one is not.

from impl.experiments import simulated_coverage                      # noqa: E402

TRIALS, SIM_RESAMPLES = 400, 500
GENTLE_20 = np.array([2.66, 2.56, 2.53, 2.48, 2.465, 2.46, 2.46])    # knee at 20%
GENTLE_25 = np.array([2.60, 2.53, 2.48, 2.45, 2.44, 2.43, 2.425])    # knee at 25%
EPS_MEAN = np.array([0.68, 0.40, 0.20, 0.157, 0.113, 0.079, 0.059])
EPS_SD = np.array([0.018, 0.029, 0.026, 0.025, 0.019, 0.011, 0.007])
LOSS_SD = 0.035


def noisy_sweep(curve, rng) -> rules.KneeSweep:
    return rules.KneeSweep(RATIOS, curve[:, None] + LOSS_SD * rng.standard_normal((7, 3)))


def eps_interval(rng):
    eps = np.clip(EPS_MEAN[None, :] + EPS_SD[None, :] * rng.standard_normal((3, 7)), 0, 1)
    return rules.estimate_eps(rules.EpsMeasurements(noisy_sweep(GENTLE_20, rng), eps, np.ones(3)),
                              SIM_RESAMPLES).interval


def delta_interval(rng):
    m = rules.PairedSweeps(noisy_sweep(GENTLE_20, rng), noisy_sweep(GENTLE_25, rng))
    return rules.estimate_ratio_difference(m, SIM_RESAMPLES)[1]


def correction_interval(rng):
    m = rules.CorrectionMeasurements(rules.PairedSweeps(noisy_sweep(GENTLE_20, rng), noisy_sweep(GENTLE_25, rng)),
                                     1.05 + 0.016 * rng.standard_normal(3), 1.03 + 0.016 * rng.standard_normal(3))
    return rules.estimate_correction(m, SIM_RESAMPLES)[1]


B_SNR = -0.26


def snr_interval(rng):
    snr = np.exp((-0.4 + B_SNR * np.log(RATIOS))[:, None] + 0.45 * rng.standard_normal((7, 3)))
    flat = np.full((7, 3, 8), 2.0) + 0.01 * np.arange(8)[::-1]                 # curves unused here
    return rules.estimate_flow(rules.FlowMeasurements(RATIOS, snr, flat, 2), SIM_RESAMPLES).snr_interval


B_LR = -0.3
LOG_LR = math.log(rules.LR_BASE) + np.array(EXPONENTS) * math.log(2)


def noisy_lr(rng) -> rules.LrMeasurements:
    blocks = []
    for ratio in LR_RATIOS:
        optimum = math.log(8.7e-3) + B_LR * math.log(ratio / 0.17)
        curve = 2.43 + 0.03 * ((LOG_LR - optimum) / math.log(2)) ** 2
        blocks.append(curve[:, None] + 0.03 * rng.standard_normal(3) + 0.04 * rng.standard_normal((8, 3)))
    return rules.LrMeasurements(LR_RATIOS, (EXPONENTS,) * 4, tuple(blocks))


CASES = {   # name: (interval, truth, plain coverage at most, widened coverage at least)
    "eps": (eps_interval, EPS_MEAN[rules.knee_index(GENTLE_20)], 0.88, 0.95),
    "delta": (delta_interval, 100 * (RATIOS[rules.knee_index(GENTLE_25)] - RATIOS[rules.knee_index(GENTLE_20)]),
              None, 0.95),
    "correction": (correction_interval, rules._correction(RATIOS[rules.knee_index(GENTLE_20)],
                                                          RATIOS[rules.knee_index(GENTLE_25)], [1.05], [1.03]),
                   0.94, 0.95),
    "b_S": (snr_interval, B_SNR, 0.88, 0.95),
    "b (seed curves)": (lambda rng: rules.estimate_lr_slope(noisy_lr(rng), SIM_RESAMPLES)[1], B_LR, 0.88, 0.95),
    "b (cells)": (lambda rng: rules.lr_slope_interval_per_cell(noisy_lr(rng), SIM_RESAMPLES), B_LR, 0.94, 0.95),
}


@pytest.mark.parametrize("name", list(CASES))
def test_widened_bootstrap_covers_at_three_seeds(name, monkeypatch):
    interval, truth, plain_at_most, widened_at_least = CASES[name]
    widened = simulated_coverage(interval, truth, TRIALS)
    monkeypatch.setattr(rules, "widening", lambda seeds: 1.0)          # the plain percentile bootstrap
    plain = simulated_coverage(interval, truth, TRIALS)
    assert widened >= widened_at_least, (name, widened, plain)
    if plain_at_most is not None:
        assert plain <= plain_at_most, (name, widened, plain)


def test_t_interval_of_per_seed_contrasts_covers_at_three_seeds():
    def contrast_interval(rng):
        cells = [2.45 + 0.036 * rng.standard_normal(3) for _ in range(4)]
        return rules.multi_effects(rules.TwoByTwo(*cells))["E_h0"][1:]
    assert simulated_coverage(contrast_interval, 0.0, TRIALS) >= 0.93


def test_widening_is_the_t_intervals_width_for_one_mean():
    # the most extreme resample (all seeds equal to one) has probability 1/27 > 2.5%, so the
    # percentile interval of one configuration's widened mean runs from mean + f·(min − mean)
    values = np.array([1.0, 2.0, 4.0])
    f = rules.widening(3)
    assert f == pytest.approx(math.sqrt(1.5) * 4.302652729911275 / 1.959963984540054)
    widened = rules.widen(values, f)
    assert widened.mean() == pytest.approx(values.mean())
    assert np.std(widened) == pytest.approx(f * np.std(values))
    assert np.array_equal(rules.widen(np.array([1.0, math.inf, 2.0]), f), np.array([1.0, math.inf, 2.0]))


# ------------------------------------------------------------------ what would decide an inconclusive verdict

def test_to_decide_counts_seeds_from_the_observed_spread():
    # per-seed Δ: knees 10% vs 17%/20%/25% per seed → Δ ≈ 10 points, sd 5: n from seeds_to_decide
    from impl.experiments import seeds_to_decide
    elman = rules.KneeSweep(RATIOS, np.array([KNEE_10] * 3, dtype=float).T)
    linear = rules.KneeSweep(RATIOS, np.column_stack([KNEE_17, [2.6, 2.5, 2.45, 2.42, 2.40, 2.40, 2.40], KNEE_25]))
    m = rules.PairedSweeps(elman, linear)
    per_seed = 100 * (linear.per_seed_knees() - elman.per_seed_knees())
    n = seeds_to_decide(per_seed, (-3.0, 0.0, 3.0))
    assert f"≈ {n} seeds" in rules.linear_vs_elman_to_decide(m)
    cells = (BASE, BASE + np.array([0.03, -0.03, 0.01]), BASE, BASE + np.array([-0.02, 0.03, 0.0]))
    text = rules.multi_to_decide(rules.TwoByTwo(*cells))
    assert all(f"{name}: " in text for name in ("E_h0", "E_h1", "I"))
    optima = [2e-3, 2e-3, 2e-3, 5e-2]
    assert "extended beyond its end" in rules.lr_to_decide(lr_measurements(optima))


# ------------------------------------------------------------------ cells: ranks, declaration, parameter counts, the Lab

def test_grid_ranks_at_d60_are_the_documented_ones():
    # the module's docstring (and every committed run): d = 60 gives r = 3, 6, 9, 10, 12, 15, 18
    assert [rules.grid_rank(r, 60) for r in rules.GRID] == [3, 6, 9, 10, 12, 15, 18]
    assert [rules.grid_rank(r, 60) for r in rules.LR_RATIOS] == [3, 6, 10, 18]


@pytest.mark.parametrize("scale", ["small", "medium", "full"])
def test_declared_cells_at_every_scale(scale, monkeypatch):
    monkeypatch.setenv("CLAIMS_SCALE", scale)
    size = rules.sizes()
    cells = rules.declare_cells()
    grids = 2 * (len(rules.GRID) + 1) + 3                         # both grids with references, 3 new 2 × 2 cells
    lr = len(rules.LR_RATIOS) * (len(rules.LR_GRID) - 1)          # the grid lr's runs are the Elman grid's
    assert len(cells) == len({c.key for c in cells}) == len(rules.SEEDS) * (grids + lr)
    assert all(c.tokens == size.steps * size.batch * size.length for c in cells)
    configs = [c.config_dict for c in cells]
    assert {c["dim"] for c in configs} == {size.dim}
    flow = [c for c in configs if c["measure_flow"]]
    assert len(flow) == len(rules.SEEDS) * len(rules.GRID)
    assert all(c["nonlinear"] and c["lr_exponent"] == size.lr_exponent and c["rank_h"] < size.dim for c in flow)
    probed = [c for c in configs if c["probe_sequences"]]                      # 2 references, 4 cells of 2 × 2
    assert len(probed) == len(rules.SEEDS) * 6 and all(c["lr_exponent"] == size.lr_exponent for c in probed)
    jacobian = [c for c in configs if c["jacobian_samples"]]                   # the Elman reference only
    assert len(jacobian) == len(rules.SEEDS) and all(c["rank_h"] == size.dim and c["nonlinear"] for c in jacobian)


def _built_parameters(spec, dim, depth):
    from impl.elman.variants import FactoredElman
    from impl.training.lm import ByteLM, LMConfig
    factory = lambda config, generator: FactoredElman(config.dim, spec.rank_h, spec.rank_x, spec.rank_z,  # noqa: E731
                                                      nonlinear=spec.nonlinear, generator=generator)
    model = ByteLM(LMConfig("custom:factored", dim, depth), layer_factory=factory)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


SPECS = [rules.Spec(3, 3, 3), rules.Spec(None, 10, 10), rules.Spec(10, None, 10), rules.Spec(None, None, 10),
         rules.Spec(60, 60, 60, False)]


@pytest.mark.parametrize("depth", [1, 3])
def test_parameter_count_is_the_built_models(depth):
    for spec in SPECS:
        assert rules.parameter_count(spec, 60, depth) == _built_parameters(spec, 60, depth), spec
    # the original E5 (REFERENCE §2): d = 1536, r = 270, depth 20 has 50.25M parameters
    assert round(rules.parameter_count(rules.Spec(270, 270, 270), 1536, 20) / 1e4) == 5025


def test_negative_control_parameter_count_sees_a_layer_with_one_more_parameter(monkeypatch):
    import torch
    import impl.elman.variants as variants
    original = variants.FactoredElman.__init__

    def with_extra_gain(self, *args, **kwargs):                    # planted: an extra trainable gain
        original(self, *args, **kwargs)
        self.gain = torch.nn.Parameter(torch.ones(1))
    monkeypatch.setattr(variants.FactoredElman, "__init__", with_extra_gain)
    assert rules.parameter_count(SPECS[0], 60, 1) != _built_parameters(SPECS[0], 60, 1)


def _fake_record(losses_by_lr, cell):
    """A train_run record as it comes back from the store (arrays, lists, None), final loss from
    `losses_by_lr` (exponent → loss)."""
    c = cell.config_dict
    loss = losses_by_lr(c["lr_exponent"]) + 0.001 * c["seed"]
    return {"result": {"final_loss": loss, "losses": np.full(8, loss), "held_out_loss": loss,
                       "sigma_h": [np.array([1.0, 0.5])], "sigma_x": [np.array([1.0, 0.5])], "largest_norm": 1.0,
                       "snr": None, "kappa": None, "state_pr": None, "jacobian_sigma": None, "cpu_s": 0.0,
                       "parameters": 1},
            "meta": {"dtype": "float32"}}


def test_lab_fetches_the_lr_extensions_the_minimum_asks_for():
    spec = rules.e5_form(5)
    cells = [rules.run_cell(spec, seed, k) for k in rules.LR_GRID for seed in rules.SEEDS]
    best = 9                                                       # the minimum lies two steps above the grid
    losses = lambda k: 2.0 + 0.01 * (k - best) ** 2               # noqa: E731
    fetched = []

    def fetch(more):
        fetched.append(sorted({c.config_dict["lr_exponent"] for c in more}))
        return [_fake_record(losses, c) for c in more]
    lab = rules.Lab.from_records(cells, [_fake_record(losses, c) for c in cells], fetch=fetch)
    exponents, block = rules.lr_block(lab, 5)
    assert fetched == [[8], [9], [10]] and exponents == tuple(range(11))
    assert block.shape == (11, 3) and block[9, 0] == pytest.approx(2.0)
    assert lab.run(spec, 1, 9).final_loss == pytest.approx(2.001)


def test_lab_without_fetch_names_the_missing_run():
    with pytest.raises(KeyError, match="no run for"):
        rules.Lab().run(rules.e5_form(5), 0)


def test_a_run_rebuilt_from_its_stored_record_equals_the_fresh_one():
    """train_run at toy sizes through cells.execute and the JSON codec: the Run from the decoded
    record (what a warm run reads) equals the Run from the function's own result."""
    from impl.data import MissingData
    from claims.cells import decode, encode, execute, make_cell
    from impl.experiments.common import corpus
    from claims.device import Placement
    try:
        corpus()
    except MissingData as exc:
        pytest.skip(f"the corpus is not installed: {exc}")
    cell = make_cell(rules.train_run, rules.EXPERIMENT, rank_h=2, rank_x=None, rank_z=2, nonlinear=True, seed=1,
                     lr_exponent=5, dim=8, depth=2, steps=8, batch=2, length=6, measure_flow=True,
                     probe_sequences=1, jacobian_samples=16)
    record = execute(cell, Placement("cpu", None))
    fresh, stored = rules.Run.from_result(record["result"]), rules.Run.from_result(decode(encode(record))["result"])
    for name in ("final_loss", "held_out_loss", "largest_norm", "snr", "kappa", "state_pr", "parameters"):
        assert getattr(stored, name) == getattr(fresh, name), name
    for name in ("sigma_h", "sigma_x", "jacobian_sigma"):
        assert len(getattr(stored, name)) == 2 and all(np.array_equal(a, b) for a, b in
                                                        zip(getattr(stored, name), getattr(fresh, name)))
    assert np.array_equal(stored.losses, fresh.losses) and stored.losses.shape == (8,)
    assert fresh.parameters == rules.parameter_count(rules.Spec(2, None, 2), 8, 2)
