"""The decision rules and measurement pieces of impl/experiments/gradients.py on synthetic data.

Each `decide_*` must be able to say every verdict: fed measurements that the registry's rule
calls confirmed, refuted and inconclusive, it says so. The measurement pieces (memory capacity,
lagged targets, the low-rank Elman, parameter matching) are checked against cases whose answer
is known in closed form.
"""

from __future__ import annotations

import math
import re
import zlib

import numpy as np
import pytest
import scipy.stats
import torch

import impl.experiments.gradients as exp
from impl.experiments import percentile_interval, simulated_coverage


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
LOSS = [1.90, 1.92, 1.91, 1.905, 1.915]
NEAR = [1.88, 1.87, 1.89, 1.885, 1.875]


@pytest.mark.parametrize("rates_x, rates_m, losses_x, losses_m, verdict", [
    (FAST, SLOW, LOSS, NEAR, "confirmed"),                                          # R ≈ 2, D ≈ 0.03 ± small
    (SLOW, FAST, LOSS, NEAR, "refuted"),                                            # R's interval below 1
    (FAST, SLOW, [2.40, 2.42, 2.41, 2.405, 2.415], NEAR, "refuted"),                # D's lower bound > 0.10
    ([100, 130, 80, 120, 90], [110, 95, 105, 100, 115], LOSS, NEAR, "inconclusive"),  # R ∋ 1
    (FAST, SLOW, [1.80, 2.20, 2.00, 1.95, 2.05], [1.90, 1.91, 1.89, 1.90, 1.91], "inconclusive"),  # D ∋ 0.10
])
def test_xgated_rule_says_each_verdict(rates_x, rates_m, losses_x, losses_m, verdict):
    got, reason = exp.decide_xgated_faster(rates_x, rates_m, losses_x, losses_m)
    assert got == verdict, reason


def test_throughput_ratio_is_the_geometric_mean_ratio_with_a_log_scale_welch_interval():
    r, lo, hi = exp.throughput_ratio(FAST, SLOW)
    # independent: scipy's Welch test on the logs, its own confidence interval, exponentiated
    ci = scipy.stats.ttest_ind(np.log(FAST), np.log(SLOW), equal_var=False).confidence_interval(0.95)
    assert r == pytest.approx(scipy.stats.gmean(FAST) / scipy.stats.gmean(SLOW), rel=1e-12)
    assert (lo, hi) == pytest.approx((np.exp(ci.low), np.exp(ci.high)), rel=1e-9)
    with pytest.raises(ValueError, match="Mamba2 rates must be positive"):
        exp.throughput_ratio(FAST, [100.0, 0.0, 99.0])


def synthetic_repeat(steps: int, loss: float) -> dict:
    return {k: {"losses": [5.0] * (steps - 1) + [loss]} for k in exp.XG_KINDS}


def test_every_repeat_trains_the_full_steps_and_every_seed_enters_the_loss_part():
    plan = exp.xgated_plan()
    assert [seed for seed, _ in plan] == list(range(exp.XG_REPEATS)) and exp.XG_REPEATS >= 5
    assert all(steps == exp.xg_sizes()["steps"] for _, steps in plan)
    s = exp.xg_sizes()
    repeats = [synthetic_repeat(steps, 2.0 + seed) for seed, steps in plan]
    losses = exp.losses_per_seed(repeats)
    expected = [(5.0 * (s["last"] - 1) + 2.0 + seed) / s["last"] for seed in range(exp.XG_REPEATS)]
    assert losses == {k: pytest.approx(expected) for k in exp.XG_KINDS}


def test_negative_control_the_old_plan_with_short_repeats_is_an_error(monkeypatch):
    """The plan before 2026-12-03: only the first 3 repeats trained the full steps, the others
    warm-up + timed steps; their losses must not be dropped silently (nor compared)."""
    s = exp.xg_sizes()
    monkeypatch.setattr(exp, "xgated_plan", lambda: [(seed, s["steps"] if seed < 3 else s["warmup"] + s["timed"])
                                                    for seed in range(exp.XG_REPEATS)])
    repeats = [synthetic_repeat(steps, 2.0) for _, steps in exp.xgated_plan()]
    with pytest.raises(ValueError, match=r"repeat 3 \(xgated\) trained 60 steps, not the rule's 200"):
        exp.losses_per_seed(repeats)


# ---------------------------------------------------------------- interval coverage at the sample sizes used

# The spreads of the last full run (reports/CLAIMS.md before issue 12): tok/s over 5 repeats,
# X-gated sd/mean ≈ 0.21, Mamba2 ≈ 0.09 (timing noise is multiplicative: lognormal); losses over
# the seeds, sd ≈ 0.004 (X-gated) and 0.003 (Mamba2) nats/byte.
CV_XGATED, CV_MAMBA2 = 0.21, 0.09
TRUE_R = 3.0
COVERAGE_FLOOR = 0.93        # a 95% method; 2000 trials put the estimate within ±0.01 (2 sd)


def lognormal_rates(rng, n, cv_x=CV_XGATED, cv_m=CV_MAMBA2):
    return TRUE_R * np.exp(cv_x * rng.standard_normal(n)), np.exp(cv_m * rng.standard_normal(n))


@pytest.mark.parametrize("cv_x, cv_m", [(CV_XGATED, CV_MAMBA2), (0.05, 0.05), (0.4, 0.1)])
def test_throughput_interval_covers_95_percent_at_5_repeats(cv_x, cv_m):
    def interval(rng):
        return exp.throughput_ratio(*lognormal_rates(rng, exp.XG_REPEATS, cv_x, cv_m))[1:]
    coverage = simulated_coverage(interval, TRUE_R, trials=2000)
    assert coverage >= COVERAGE_FLOOR, f"log-scale Welch interval of R covers {coverage:.3f} at n = {exp.XG_REPEATS}"


def test_negative_control_the_replaced_percentile_bootstrap_falls_short_at_5_repeats():
    """The method before 2026-12-03 (percentile bootstrap of the ratio of means, each model's repeats
    resampled) fails the same coverage check at n = 5: it understates the spread of 5 values."""
    truth = TRUE_R * np.exp(CV_XGATED ** 2 / 2) / np.exp(CV_MAMBA2 ** 2 / 2)   # ratio of lognormal means

    def interval(rng):      # impl's bootstrap + percentile_interval, vectorised: the same resampling scheme
        x, m = lognormal_rates(rng, exp.XG_REPEATS)
        n, resamples = exp.XG_REPEATS, 2000
        ratios = (x[rng.integers(0, n, (resamples, n))].mean(1) / m[rng.integers(0, n, (resamples, n))].mean(1))
        return percentile_interval(ratios)
    coverage = simulated_coverage(interval, truth, trials=1000)
    assert coverage < COVERAGE_FLOOR, f"the percentile bootstrap covered {coverage:.3f}"


def test_loss_difference_welch_interval_covers_95_percent_at_5_seeds():
    def interval(rng):
        a = 2.18 + 0.004 * rng.standard_normal(exp.XG_REPEATS)
        b = 2.07 + 0.003 * rng.standard_normal(exp.XG_REPEATS)
        return exp.welch_interval(a, b)[1:]
    coverage = simulated_coverage(interval, 0.11, trials=2000)
    assert coverage >= COVERAGE_FLOOR, f"Welch interval of D covers {coverage:.3f}"


NOISES = {"normal": lambda rng, n: rng.standard_normal(n),
          "laplace": lambda rng, n: rng.laplace(0.0, 1 / np.sqrt(2), n)}     # unit variance, heavier tails


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("seeds, what", [(exp.SNR_SEEDS, "SNR Δ"), (exp.MC_SEEDS, "MC Δ")])
def test_t_interval_covers_95_percent_at_the_seeds_used(noise, seeds, what):
    """The per-seed Δ of the SNR and capacity rules: 5 seeds each (the rules' preferred count)."""
    assert len(seeds) == 5

    def interval(rng):
        return exp.t_interval(0.7 + 0.1 * NOISES[noise](rng, len(seeds)))[1:]
    coverage = simulated_coverage(interval, 0.7, trials=2000)
    assert coverage >= COVERAGE_FLOOR, f"t interval of {what} covers {coverage:.3f} ({noise}, n = {len(seeds)})"


def test_negative_control_a_normal_quantile_instead_of_t_falls_short_at_5_seeds():
    """The coverage check catches a planted wrong constant: mean ± 1.96·sd/√n at n = 5 covers ≈ 0.88."""
    def interval(rng):
        x = 0.7 + 0.1 * rng.standard_normal(5)
        half = 1.96 * x.std(ddof=1) / np.sqrt(5)
        return x.mean() - half, x.mean() + half
    coverage = simulated_coverage(interval, 0.7, trials=2000)
    assert coverage < COVERAGE_FLOOR, f"the z interval covered {coverage:.3f}"


# ---------------------------------------------------------------- what would decide (to_decide)

def sample_with(mean: float, sd: float, n: int) -> np.ndarray:
    """n values with exactly this mean and sample sd."""
    z = np.linspace(-1.0, 1.0, n)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


def seeds_in(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"≈ (\d+)", text)]


def test_capacity_to_decide_names_the_seeds_that_the_rule_then_decides_with():
    deltas = sample_with(0.3, 0.5, 3)
    assert exp.decide_wide_beats_narrow(deltas)[0] == "inconclusive"
    text = exp.capacity_to_decide(deltas)
    (n,) = seeds_in(text)
    assert n > 3 and "above 0 (confirmed)" in text
    assert exp.decide_wide_beats_narrow(sample_with(0.3, 0.5, n))[0] == "confirmed"
    assert exp.decide_wide_beats_narrow(sample_with(0.3, 0.5, n - 1))[0] == "inconclusive"


def test_snr_to_decide_counts_per_checkpoint_and_says_when_seeds_cannot_decide():
    deltas = {"init": list(sample_with(-0.10, 0.12, 5)), "trained": list(sample_with(-0.19, 0.45, 5))}
    assert exp.decide_snr_gain(deltas)[0] == "inconclusive"
    text = exp.snr_to_decide(deltas)
    n_init, n_trained, n_both = seeds_in(text)
    assert "init" in text and "trained" in text and n_both == max(n_init, n_trained) and text.endswith("refuted")
    for c, n in (("init", n_init), ("trained", n_trained)):
        mean, sd = float(np.mean(deltas[c])), float(np.std(deltas[c], ddof=1))
        assert exp.t_interval(sample_with(mean, sd, n))[2] < 0 <= exp.t_interval(sample_with(mean, sd, n - 1))[2]
    wider = max(n_init, n_trained)
    assert exp.decide_snr_gain({c: sample_with(np.mean(d), np.std(d, ddof=1), wider)
                                for c, d in deltas.items()})[0] == "refuted"
    opposite = {"init": [0.5, 0.6, 0.4], "trained": [-0.1, 0.3, -0.4]}
    assert "opposite signs" in exp.snr_to_decide(opposite) and not seeds_in(exp.snr_to_decide(opposite))


def test_xgated_to_decide_counts_loss_seeds_and_repeats():
    losses_x, losses_m = sample_with(2.180, 0.01, 5), sample_with(2.071, 0.01, 5)   # D = 0.109, equal spreads
    verdict, _ = exp.decide_xgated_faster(FAST, SLOW, losses_x, losses_m)
    assert verdict == "inconclusive"
    text = exp.xgated_to_decide(FAST, SLOW, losses_x, losses_m)
    (n,) = seeds_in(text)
    assert "loss seeds per model" in text and "R's" not in text and n > 5 and "refuted" in text
    decided = exp.decide_xgated_faster(FAST, SLOW, sample_with(2.180, 0.01, n), sample_with(2.071, 0.01, n))
    assert decided[0] == "refuted", decided[1]        # D's lower bound then clears 0.10
    rates_x, rates_m = [100, 130, 80, 120, 90], [110, 95, 105, 100, 115]
    text = exp.xgated_to_decide(rates_x, rates_m, LOSS, NEAR)
    assert "repeats per model would put R's interval clear of 1, below 1" in text and "D's" not in text


def test_to_decide_says_so_when_the_pooled_count_is_already_reached():
    """Welch's interval has fewer degrees of freedom than the count's 2n − 2 at unequal spreads: a
    count at or below the seeds that ran is reported as such, not as a target already met."""
    assert "a few more than 5" in exp.seeds_phrase(4, 5, "loss seeds per model")
    assert "no feasible number" in exp.seeds_phrase(None, 5, "seeds")
    assert exp.seeds_phrase(9, 5, "seeds") == "≈ 9 seeds"


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
    assert elman.recurrence.state_size == mamba2.state_size == exp.snr_sizes()["dim"]
    assert abs(exp.num_parameters(mamba2) / exp.num_parameters(elman) - 1) <= 0.05
    configs = exp.xgated_configs()
    xg, m2 = (exp.num_parameters(exp.ByteLM(configs[k], 0)) for k in exp.XG_KINDS)
    assert abs(xg / m2 - 1) <= 0.05
    (d_n, e_n), (d_w, e_w) = exp.mc_sizes()["narrow"], exp.mc_sizes()["wide"]
    p_n, p_w = exp.document_parameters(d_n, e_n), exp.document_parameters(d_w, e_w)
    assert e_n > e_w and d_w > d_n and abs(p_w / p_n - 1) <= 0.05


# ---------------------------------------------------------------- cells: declaring, counting, rebuilding

def test_cells_are_declared_fast_at_every_scale_with_distinct_keys(monkeypatch):
    """`claims plan` declares every scale in one process: the sizes are read when declared, not at import."""
    import time
    seen = {}
    for scale in ("small", "medium", "full"):
        monkeypatch.setenv("CLAIMS_SCALE", scale)
        started = time.perf_counter()
        cells = exp.declare_cells()
        assert time.perf_counter() - started < 5.0, f"declaring the {scale} cells took too long"
        assert len({c.key for c in cells}) == len(cells) == 2 * 3 + 2 * 4 + 4 * 5 + exp.XG_REPEATS + 2 * 5
        assert all(c.experiment == "gradients" for c in cells)
        dims = {c.config_dict["dim"] for c in cells if c.function.endswith(":snr_cell")}
        seen[scale] = dims
        for cell in cells:
            training = cell.function.endswith(("xgated_repeat_cell", "capacity_cell")) or cell.config_dict.get("lr")
            assert cell.params and (cell.tokens if training else cell.tokens is None), cell.describe()
    assert seen == {"small": {64}, "medium": {256}, "full": {256}}


def count_check(monkeypatch, scale: str) -> None:
    """Every declared parameter count (declaring builds no model) against the models themselves."""
    monkeypatch.setenv("CLAIMS_SCALE", scale)
    s = exp.snr_sizes()
    for model, rank in (("elman", None), ("elman", exp.rank_of(exp.DECIDING_RATIO)), ("mamba2", None)):
        lm = exp.snr_lm(model, 0, rank, s)
        counted = exp.snr_parameter_counts(model, rank, s["dim"], s["depth"], s["headdim"])
        assert counted == (exp.num_parameters(lm), exp.num_parameters(exp.layer_of(lm))), (model, rank)
    x = exp.xg_sizes()
    mamba2 = exp.xgated_configs(x)["mamba2"]
    with torch.device("meta"):
        built = exp.num_parameters(exp.ByteLM(mamba2, 0))
    assert exp.xgated_cells()[0].params == built
    m = exp.mc_sizes()
    for d, e in (m["narrow"], m["wide"]):
        assert exp.recall_parameters(d, e, m["lags"]) == exp.num_parameters(exp.RecallNet(d, e, m["lags"], 0))


def test_declared_parameter_counts_are_the_models_counts(monkeypatch):
    count_check(monkeypatch, "small")


def test_negative_control_a_wrong_lm_parameter_count_is_caught(monkeypatch):
    """A planted bug: the LM count without the final LayerNorm."""
    right = exp.lm_parameters
    monkeypatch.setattr(exp, "lm_parameters", lambda layer, dim, depth: right(layer, dim, depth) - 2 * dim)
    exp.snr_parameter_counts.cache_clear()
    exp.xgated_lm_parameters.cache_clear()
    try:
        with pytest.raises(AssertionError):
            count_check(monkeypatch, "small")
    finally:
        exp.snr_parameter_counts.cache_clear()
        exp.xgated_lm_parameters.cache_clear()


def synthetic_snr_result(seed: int, model: str, rank, lr) -> dict:
    """A cell result with SNRs that encode the run (so a mix-up of runs shows in the numbers)."""
    rng = np.random.default_rng(zlib.crc32(repr((seed, model, rank, lr)).encode()))
    groups = ("layer",) if model == "mamba2" else ("layer", "recurrent", "effective")
    snr = {g: float(rng.uniform(1, 3)) for g in groups}
    out = {"init": {"snr": dict(snr), "jacobian": rng.uniform(0, 1, (2, 5))}}
    if lr is not None:
        out.update(final_loss=2.0 + lr * 10 + seed / 100 + (0.5 if model == "mamba2" and lr == 1e-2 else 0.0),
                   trained={"snr": {g: v * 1.5 for g, v in snr.items()}, "jacobian": rng.uniform(0, 1, (2, 5))})
    return out


def result_of(cell) -> dict:
    return synthetic_snr_result(**{k: cell.config_dict[k] for k in ("seed", "model", "rank", "lr")})


def through_the_store(result: dict) -> dict:
    """A record as run_cells hands it back: encoded as the store keeps it and decoded."""
    from claims.cells import decode, encode
    return decode(encode({"result": result, "meta": {}}))


def check_snr_rebuild(reorder=lambda records: records) -> None:
    """Runs rebuilt from (stored) records hold each cell's own numbers; `reorder` may plant a mix-up
    of records and cells."""
    grid_cells = exp.snr_grid_cells()
    grid_records = [through_the_store(result_of(c)) for c in grid_cells]
    picked = exp.picked_learning_rates(grid_cells, grid_records)
    assert picked["lr"] == {"elman": 1e-3, "mamba2": 1e-3}         # losses grow with lr here
    cells = exp.snr_cells(picked["lr"])
    fresh = [result_of(c) for c in cells]
    runs = exp.snr_runs_from(cells, reorder([through_the_store(r) for r in fresh]), picked)
    direct = {(c.config_dict["model"], c.config_dict["rank"], c.config_dict["seed"], c.config_dict["lr"]): r
              for c, r in zip(cells, fresh)}
    for seed in exp.SNR_SEEDS:
        assert runs["mamba2"][seed]["trained"]["snr"] == direct[("mamba2", None, seed, 1e-3)]["trained"]["snr"]
        r = exp.rank_of(exp.DECIDING_RATIO)
        assert runs[r][seed]["init"]["snr"] == direct[("elman", r, seed, 1e-3)]["init"]["snr"]
        assert np.array_equal(runs["elman"][seed]["init"]["jacobian"],
                              direct[("elman", None, seed, 1e-3)]["init"]["jacobian"])
    assert "trained" not in runs[exp.rank_of(0.5)][0]                # the other r/d: initialisation only
    expected = {c: [math.log(direct[("mamba2", None, s, 1e-3)][c]["snr"]["layer"])
                    - math.log(direct[("elman", None, s, 1e-3)][c]["snr"]["layer"]) for s in exp.SNR_SEEDS]
                for c in exp.CHECKPOINTS}
    assert exp.mamba2_snr_deltas(runs) == expected


def test_snr_runs_rebuilt_from_records_pick_the_grid_minimum_and_keep_every_number():
    check_snr_rebuild()


def test_negative_control_records_paired_with_the_wrong_cells_are_caught():
    """A planted mix-up: the seeds' records of each model shifted by one (as a rebuild pairing records
    with cells by a wrong position would do)."""
    def shift(records):
        return records[:6] + records[7:14] + records[6:7] + records[14:]
    with pytest.raises(AssertionError):
        check_snr_rebuild(shift)


def test_a_diverged_grid_point_is_never_picked_and_a_diverged_picked_run_is_an_error():
    grid_cells = exp.snr_grid_cells()
    records = []
    for c in grid_cells:
        result = result_of(c)
        if c.config_dict["lr"] == 1e-3:
            result = {"init": result["init"], "final_loss": math.inf, "diverged": "loss is nan at step 7"}
        records.append(through_the_store(result))
    picked = exp.picked_learning_rates(grid_cells, records)
    assert picked["lr"] == {"elman": 3e-3, "mamba2": 3e-3}
    forced = {"lr": {"elman": 1e-3, "mamba2": 3e-3}, "grid": picked["grid"]}
    cells = exp.snr_cells(forced["lr"])
    rest = [through_the_store(result_of(c)) for c in cells[len(grid_cells):]]
    with pytest.raises(FloatingPointError, match=r"elman \(rank None\) seed 0 at the picked lr 0.001 diverged"):
        exp.snr_runs_from(cells, records + rest, forced)


def test_capacity_runs_rebuilt_from_records_by_config():
    cells = exp.capacity_cells()
    fresh = [{"r2": np.full(3, c.config_dict["d"] + c.config_dict["seed"] / 10),
              "mc": float(c.config_dict["d"] * 3 + c.config_dict["seed"]), "held_out_loss": 1.0, "losses": [1.0, 0.9]}
             for c in cells]
    runs = exp.capacity_runs_from(list(reversed(cells)), [through_the_store(r) for r in reversed(fresh)])
    (d_n, _), (d_w, _) = exp.mc_sizes()["narrow"], exp.mc_sizes()["wide"]
    assert [runs["wide"][s]["mc"] - runs["narrow"][s]["mc"] for s in exp.MC_SEEDS] == [3.0 * (d_w - d_n)] * 5
    assert isinstance(runs["narrow"][2]["r2"], np.ndarray) and runs["narrow"][2]["r2"][0] == d_n + 0.2
    with pytest.raises(KeyError, match="capacity runs of narrow"):
        exp.capacity_runs_from(cells[1:], [through_the_store(r) for r in fresh[1:]])


# ---------------------------------------------------------------- cell functions at toy sizes

def check_capacity_cell(refit_eval_seed: int) -> None:
    """A toy capacity cell run twice by execute (one thread): the same bits, and its MC is the one
    of a readout fitted here on the trained model's states of the evaluation sequence."""
    from claims.cells import decode, encode, execute, make_cell
    from claims.device import Placement
    config = dict(d=4, e=2, seed=1, lags=3, length=6, steps=3, batch=2, lr=1e-2, fit=300, test=100)
    cell = make_cell(exp.capacity_cell, "gradients", **config)
    first, second = (decode(encode(execute(cell, Placement("cpu", None))))["result"] for _ in range(2))
    assert np.array_equal(first["r2"], second["r2"]) and first["losses"] == second["losses"]
    model, losses = exp.train_recall(4, 2, 1, lags=3, length=6, steps=3, batch=2, lr=1e-2)
    generator = torch.Generator().manual_seed(refit_eval_seed)
    x = torch.randn(1, 3 + 300 + 100, exp.MC_INPUT, generator=generator)
    with torch.no_grad():
        states = model.states(x)[0].double().numpy()
    assert losses == first["losses"]
    refit = exp.memory_capacity(states, x[0].double().numpy(), 3, 300, 100)
    assert first["mc"] == pytest.approx(refit.sum(), rel=1e-12)


def test_capacity_cell_is_the_same_through_execute_and_the_store():
    check_capacity_cell(exp.MC_EVAL_SEED + 1)


def test_negative_control_a_readout_on_another_sequence_is_caught():
    """A planted bug: the readout refitted on another evaluation sequence than the cell's."""
    with pytest.raises(AssertionError):
        check_capacity_cell(exp.MC_EVAL_SEED + 2)


def test_xgated_repeat_cell_runs_its_repeat_in_a_fresh_process_from_the_library():
    """The repeat's entry point is importable from impl (not from a test module); the record names
    the kernel path that ran and holds every step's loss and the tok/s."""
    from claims.device import Placement
    sizes = dict(dim=8, depth=1, d_state=4, headdim=4, batch=2, length=8, warmup=2, timed=3, small_batch=1, lr=1e-3)
    d_in = exp._matched_state(8, 4, 4)
    result = exp.xgated_repeat_cell(placement=Placement("cpu", None), seed=1, steps=6, d_in=d_in, **sizes)
    for kind, path in (("xgated", "impl.elman.fused.xgated_fused"), ("mamba2", "impl.ssm.chunked.ssd_chunked")):
        assert result[kind]["kernel_path"].startswith(f"{path} on cpu, recurrent layer input/output float32/float32")
        assert len(result[kind]["losses"]) == 6 and len(result[kind]["small_batch"]) == 5
        assert result[kind]["tokens_per_s"] == pytest.approx(3 * 2 * 8 / sum(result[kind]["forward_backward"][2:5]))
