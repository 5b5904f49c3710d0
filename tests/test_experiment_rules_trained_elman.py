"""The decision rules of the trained-Elman experiments (benchmarks/test_exp_trained_elman.py), fed
synthetic measurements that must give each verdict, and the measurement helpers on inputs whose
answer is known: exact power laws, a broken power law, the replica's sizes, the Jacobian sampler
on a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.test_exp_trained_elman import (CONFIRMED, FULL, INCONCLUSIVE, REFUTED, SMALL, Setting, alpha_fits,
                                               check_setting, decide_alpha_in_range, decide_e5_beats_e1,
                                               decide_jacobian_spectrum_differs, decide_power_law_best_model,
                                               decide_spectrum_evolution, evolution_figures, jacobian_spectra,
                                               parameter_count, two_segment_knee)
from impl.elman.models import num_parameters
from impl.spectral.fits import compare_spectral_models
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)
from impl.training.lm import ByteLM, LMConfig


# ------------------------------------------------------------------ observed.e5_beats_e1

@pytest.mark.parametrize("e1, e5, verdict", [
    ([1.55, 1.56, 1.54], [1.39, 1.40, 1.38], CONFIRMED),            # the document's gap, tight seeds
    ([1.400, 1.401, 1.399], [1.400, 1.401, 1.399], REFUTED),        # no gap: upper bound < 0.01
    ([1.80, 1.81, 1.82], [1.95, 1.96, 1.97], REFUTED),              # E1 better
    ([1.50, 1.45, 1.55], [1.47, 1.52, 1.42], INCONCLUSIVE),         # noisy seeds straddle 0
])
def test_e5_beats_e1_rule_gives_each_verdict(e1, e5, verdict):
    assert decide_e5_beats_e1(e1, e5)[0] == verdict


def test_e5_beats_e1_rule_uses_the_welch_lower_bound():
    # mean gap 0.02 but the seeds spread far more: the interval reaches below 0
    got, reason = decide_e5_beats_e1([1.50, 1.60, 1.45], [1.48, 1.52, 1.49])
    assert got == INCONCLUSIVE and "Welch interval" in reason


# ------------------------------------------------------------------ observed.alpha_in_range

def alphas(e1_full, e1_middle, e5_full, e5_middle, spread=0.01):
    seeds = lambda centre: [centre - spread, centre, centre + spread]  # noqa: E731
    return {"E1": {"full": seeds(e1_full), "middle": seeds(e1_middle)},
            "E5": {"full": seeds(e5_full), "middle": seeds(e5_middle)}}


@pytest.mark.parametrize("measured, verdict", [
    (alphas(1.35, 1.30, 1.40, 1.33), CONFIRMED),
    (alphas(1.00, 0.98, 1.35, 1.35), REFUTED),                      # E1 outside with both fits
    (alphas(1.35, 1.35, 1.80, 1.70), REFUTED),                      # E5 above the band
    (alphas(1.00, 1.35, 1.35, 1.35), INCONCLUSIVE),                 # E1's middle-range fit is inside
    (alphas(1.35, 1.35, 1.35, 1.35, spread=0.2), INCONCLUSIVE),     # intervals too wide for the band
])
def test_alpha_in_range_rule_gives_each_verdict(measured, verdict):
    assert decide_alpha_in_range(measured)[0] == verdict


@pytest.mark.parametrize("alpha", [0.5, 1.35, 2.0])
def test_alpha_fits_recover_an_exact_power_law(alpha):
    sigma = np.arange(1, 97, dtype=float) ** -alpha
    fits = alpha_fits(sigma, 96)
    assert fits["full"].alpha == pytest.approx(alpha, abs=1e-10)
    assert fits["middle"].alpha == pytest.approx(alpha, abs=1e-10)
    assert fits["middle"].window == (5, 86)                          # [⌈0.05k⌉, ⌊0.9k⌋]


def test_alpha_fits_use_only_the_first_k_values_above_1e_minus_6():
    sigma = np.concatenate([np.arange(1, 35, dtype=float) ** -1.2, np.full(10, 1e-9)])
    assert alpha_fits(sigma, 34)["full"].n_points == 34
    assert alpha_fits(sigma, 44)["full"].n_points == 34               # the tiny values are dropped


# ------------------------------------------------------------------ observed.power_law_best_model

PL, EXP, STR = "power_law", "exponential", "stretched_exponential"


@pytest.mark.parametrize("winners, verdict", [
    ({"E1": [[PL, PL, EXP]] * 3, "E5": [[PL, PL]] * 3}, CONFIRMED),
    ({"E1": [[STR, STR, PL]] * 3, "E5": [[PL, PL]] * 3}, REFUTED),            # one alternative, every E1 seed
    ({"E1": [[PL, PL, PL]] * 3, "E5": [[EXP, EXP]] * 3}, REFUTED),
    ({"E1": [[STR, STR, PL], [EXP, EXP, PL], [STR, STR, STR]], "E5": [[PL, PL]] * 3}, INCONCLUSIVE),
    ({"E1": [[PL, None, None]] * 3, "E5": [[PL, PL]] * 3}, INCONCLUSIVE),     # no clear winner
    ({"E1": [[PL, PL, PL]] * 3, "E5": [[PL, STR]] * 3}, INCONCLUSIVE),        # 1 of 2 is no majority
])
def test_power_law_best_model_rule_gives_each_verdict(winners, verdict):
    assert decide_power_law_best_model(winners)[0] == verdict


def test_the_model_comparison_and_knee_finder_tell_the_shapes_apart():
    i = np.arange(1, 97, dtype=float)
    power = compare_spectral_models(i ** -1.3)
    assert power.best_bic == PL and power.margin("bic") >= 10
    assert two_segment_knee(i ** -1.3, power.fits[PL].bic) is None
    broken = np.where(i <= 40, i ** -0.5, 40 ** -0.5 * (i / 40) ** -3.0)
    knee = two_segment_knee(broken, compare_spectral_models(broken).fits[PL].bic)
    assert knee is not None and knee[0] == 40 and knee[1] >= 10


# ------------------------------------------------------------------ observed.jacobian_spectrum_differs

@pytest.mark.parametrize("delta, verdict", [
    ({"E1": [0.10, 0.11, 0.12], "E5": [0.00, 0.01, -0.01]}, CONFIRMED),       # either model suffices
    ({"E1": [0.00, 0.01, -0.01], "E5": [-0.2, -0.25, -0.22]}, CONFIRMED),
    ({"E1": [0.00, 0.01, -0.01], "E5": [0.01, 0.00, 0.005]}, REFUTED),        # both inside ±0.05
    ({"E1": [0.00, 0.01, -0.01], "E5": [0.3, -0.2, 0.1]}, INCONCLUSIVE),
    ({"E1": [0.10, -0.10, 0.02], "E5": [0.01, 0.00, 0.005]}, INCONCLUSIVE),
])
def test_jacobian_rule_gives_each_verdict(delta, verdict):
    assert decide_jacobian_spectrum_differs(delta)[0] == verdict


@pytest.mark.parametrize("config", [LMConfig("e1", dim=4, depth=2, expansion=1.5),
                                    LMConfig("e5", dim=9, depth=2, rank=2)])
def test_jacobian_sampler_averages_the_sorted_singular_values_of_every_step(config):
    """Against a plain recomputation: h stepped from 0 over the captured layer inputs, full-size
    SVD of every step_jacobian, mean of the top k values."""
    model = ByteLM(config, seed=3).eval()
    windows = torch.randint(0, 256, (3, 6), generator=torch.Generator().manual_seed(0))
    k = config.rank or int(config.dim * config.expansion)
    got, samples = jacobian_spectra(model, windows, k)
    assert samples == 3 * 5 and len(got) == config.depth
    x = model.embedding(windows[:, :-1])
    with torch.no_grad():
        for norm, mixer, spectrum in zip(model.norms, model.layers, got):
            inputs = norm(x)
            layer, h, total = mixer.layer, torch.zeros(3, mixer.layer.state_size), 0
            for t in range(inputs.shape[1]):
                total = total + torch.linalg.svdvals(layer.step_jacobian(h, inputs[:, t]).double())[:, :k].sum(0)
                h = layer.step(h, inputs[:, t])
            np.testing.assert_allclose(spectrum, (total / samples).numpy(), rtol=1e-5, atol=1e-7)
            x = x + mixer(inputs)


# ------------------------------------------------------------------ observed.spectrum_evolution

@pytest.mark.parametrize("changes, verdict", [
    ({"Δα": [0.10, 0.12, 0.11], "ΔPR/PR": [0.20, 0.25, 0.22], "Δr": [-0.05, -0.04, -0.05]}, CONFIRMED),
    ({"Δα": [0.01, 0.00, 0.02], "ΔPR/PR": [0.20, 0.25, 0.22], "Δr": [-0.05, -0.04, -0.05]}, REFUTED),
    ({"Δα": [0.10, 0.12, 0.11], "ΔPR/PR": [0.20, 0.25, 0.22], "Δr": [0.0, 0.0, 0.0]}, REFUTED),
    ({"Δα": [0.10, -0.10, 0.05], "ΔPR/PR": [0.20, 0.25, 0.22], "Δr": [-0.05, -0.04, -0.05]}, INCONCLUSIVE),
])
def test_spectrum_evolution_rule_gives_each_verdict(changes, verdict):
    assert decide_spectrum_evolution(changes)[0] == verdict


def test_evolution_figures_of_a_flat_spectrum():
    alpha, pr, r_eps = evolution_figures(np.ones(20), 20)
    assert alpha == pytest.approx(0, abs=1e-12) and pr == pytest.approx(20) and r_eps == 19   # 19/20 ≥ 0.95


# ------------------------------------------------------------------ the replica's sizes

def test_the_settings_keep_the_rule_s_ratios_and_the_counts_match_the_built_models():
    for setting in (SMALL, FULL):
        check_setting(setting)
    assert parameter_count(FULL.e1) == pytest.approx(49.7e6, rel=0.001)     # REFERENCE §2
    assert parameter_count(FULL.e5) == pytest.approx(50.25e6, rel=0.001)
    for config in (SMALL.e1, SMALL.e5):
        assert parameter_count(config) == num_parameters(ByteLM(config))
    with pytest.raises(ValueError, match="replica"):
        check_setting(Setting(e1=SMALL.e1, e5=LMConfig("e5", dim=192, depth=1, rank=34), steps=1, batch=1,
                              length=1, lr=1.0, jacobian_sequences=1))
