"""The decision rules and measurement pieces of impl/experiments/scaling.py on synthetic data.

Each `decide_*` must be able to say every verdict: fed measurements that the registry's rule
calls confirmed, refuted and inconclusive, it says so (and the censoring guard turns a knee at
an end of the grid into inconclusive). The pieces the runs rely on (grid ranks, the
parameter-matched shapes, the pass stream, the same steps at every data fraction) are checked
against known answers. The interval methods are checked by simulation at the sample size run
(3 seeds): impl.experiments.simulated_coverage, and the share of flat sweeps a rule decides.
The negative controls at the end plant the earlier rules or bugs and show the checks fail.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import impl.experiments.scaling as exp
from impl.elman.models import E5Layer, num_parameters
from impl.experiments import seeds_to_decide, simulated_coverage
from claims.cells import decode, encode
from impl.experiments.common import RATIO_GRID, grid_rank
from claims.device import Placement
from impl.training.stream import ByteStream

GRID = np.array(RATIO_GRID, dtype=float)


def knee_curve(knee: float, seeds: int = 3, noise: float = 0.001, seed: int = 0) -> np.ndarray:
    """(grid, seeds) losses falling by 0.2 nats/byte towards the knee and flat beyond it."""
    rng = np.random.default_rng(seed)
    clean = 2.0 + 0.2 * np.clip(knee - GRID, 0, None) / knee
    return clean[:, None] + noise * rng.standard_normal((len(GRID), seeds))


def bowl(optimum: float, seeds: int = 3, noise: float = 0.001, depth: float = 0.05, seed: int = 0) -> np.ndarray:
    """(grid, seeds) losses with a minimum at `optimum` (quadratic in log ratio)."""
    rng = np.random.default_rng(seed)
    clean = 2.0 + depth * np.log(GRID / optimum) ** 2
    return clean[:, None] + noise * rng.standard_normal((len(GRID), seeds))


# ---------------------------------------------------------------- the pieces

def test_knee_is_the_smallest_ratio_within_the_tolerance():
    assert exp.knee_ratio(knee_curve(17, noise=0).mean(axis=1)) == 17
    flat = np.full(len(GRID), 2.0)
    assert exp.knee_ratio(flat) == 5
    # within 0.01 of the best counts, just above does not
    losses = np.array([2.02, 2.0109, 2.0099, 2.005, 2.0, 2.0, 2.0])
    assert exp.knee_ratio(losses) == 15


def test_grid_ranks_round_half_up_and_stay_positive():
    # common.grid_rank(ratio_percent, d): the ranks the experiment has always used
    assert [grid_rank(g, 64) for g in RATIO_GRID] == [3, 6, 10, 11, 13, 16, 19]
    assert grid_rank(5, 10) == 1 and grid_rank(5, 4) == 1
    assert grid_rank(15, 32) == grid_rank(17, 32) == 5   # shared run at d = 32
    assert [grid_rank(g, 48) for g in RATIO_GRID] == [2, 5, 7, 8, 10, 12, 14]
    assert grid_rank(30, 5) == 2 and grid_rank(10, 25) == 3       # halves round up
    assert [grid_rank(g, 128) for g in RATIO_GRID] == [6, 13, 19, 22, 26, 32, 38]


@pytest.mark.parametrize("budget", [exp.SMALL.budget, exp.FULL.budget])
def test_matched_shapes_meet_the_budget_and_the_ratio(budget):
    for ratio in RATIO_GRID:
        d, r = exp.matched_shape(budget, ratio)
        assert abs(exp.layer_parameters(d, r) - budget) <= 0.02 * budget
        assert abs(r / d - ratio / 100) < 0.02, (ratio, d, r)
        # no admissible shape is closer in ratio
        for other in range(d - 40, d + 40):
            for rank in range(1, other + 1):
                if abs(exp.layer_parameters(other, rank) - budget) <= 0.02 * budget:
                    assert abs(rank / other - ratio / 100) >= abs(r / d - ratio / 100) - 1e-12


def test_layer_parameter_formula_is_e5s_count():
    for d, r in [(24, 4), (76, 13), (128, 22)]:
        assert exp.layer_parameters(d, r) == num_parameters(E5Layer(d, r, device="meta"))


def _served(stream_of, seed, batch, steps):
    stream = stream_of()
    generator = torch.Generator().manual_seed(seed)
    return torch.stack([stream.batch(batch, stream.length, generator) for _ in range(steps)]), stream


SOURCE = ByteStream(bytes(range(256)) * 40)     # byte value = position for the first 256 bytes


def test_pass_stream_serves_every_window_once_per_pass_in_a_seeded_order():
    length, batch, steps = 8, 4, 5
    tokens = steps * batch * length               # one pass: the 100%-data run

    first, stream = _served(lambda: exp.PassStream(SOURCE, tokens, length), 0, batch, steps)
    again, _ = _served(lambda: exp.PassStream(SOURCE, tokens, length), 0, batch, steps)
    other, _ = _served(lambda: exp.PassStream(SOURCE, tokens, length), 1, batch, steps)
    first, again, other = (x.reshape(-1, length + 1) for x in (first, again, other))
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert stream.passes == 1 and first.shape == (tokens // length, length + 1)
    # consecutive windows starting at 0, 8, ..., each once: every target byte predicted exactly once
    assert sorted(int(w[0]) for w in first) == list(range(0, tokens, length))
    assert torch.equal(torch.cat([w[1:] for w in first]).sort().values, SOURCE.train[1: tokens + 1].sort().values)


def test_a_smaller_fraction_repeats_its_windows_in_fresh_orders_for_the_same_steps():
    check_repeated_passes(exp.PassStream)


def check_repeated_passes(stream_class):
    length, batch, steps, passes = 8, 4, 10, 5
    windows = steps * batch // passes             # the slice of a 20% fraction
    served, stream = _served(lambda: stream_class(SOURCE, windows * length, length), 3, batch, steps)
    starts = [int(w[0]) for w in served.reshape(-1, length + 1)]
    assert stream.passes == passes and max(starts) == (windows - 1) * length
    chunks = [starts[k * windows: (k + 1) * windows] for k in range(passes)]
    for chunk in chunks:                          # each pass: every window of the slice exactly once
        assert sorted(chunk) == list(range(0, windows * length, length))
    assert len({tuple(c) for c in chunks}) > 1    # in fresh orders, not one order repeated


def test_fractions_set_the_distinct_bytes_and_the_passes():
    s = exp.SMALL
    assert [s.distinct_tokens(f) for f in s.fractions] == [10_240, 25_600, 51_200, 102_400]
    assert [s.passes(f) for f in s.fractions] == [10, 4, 2, 1]
    assert s.distinct_tokens(1.0) == s.tokens
    with pytest.raises(ValueError, match="fraction"):
        s.distinct_tokens(0.001)
    with pytest.raises(ValueError, match="exceed"):
        exp.PassStream(SOURCE, len(SOURCE.train), 8)


SOURCE_LARGE = ByteStream(bytes(200_000))
CPU = Placement("cpu", None)


def test_every_fraction_trains_the_same_steps(monkeypatch):
    """The declared data-fraction cells of one (d, r, seed) run train_run with the same steps and a
    slice of f × steps × batch windows (PassStream built in the cell from the corpus stream)."""
    import impl.training.loop as loop
    calls = []

    class Result:
        held_out_loss = 2.0

        def final_loss(self, last):
            return 2.0

    def fake_train(model, stream, **kwargs):
        calls.append((len(stream.train) - 1, kwargs["steps"], kwargs["data_seed"]))
        return Result()
    monkeypatch.setattr(loop, "train", fake_train)
    monkeypatch.setattr(loop, "recurrent_spectra", lambda model, step: [torch.tensor([2.0, 1.0])])
    monkeypatch.setattr(exp, "_corpus_stream", lambda: SOURCE_LARGE)
    s = exp.SMALL
    r = grid_rank(10, s.data_width)
    cells = [c for c in exp.declare_cells(s)
             if (c.config_dict["d"], c.config_dict["rank"], c.config_dict["seed"]) == (s.data_width, r, 1)]
    assert sorted(c.config_dict["fraction"] for c in cells) == sorted(s.fractions)
    for cell in cells:
        cell.resolve()(placement=CPU, **cell.config_dict)
    assert sorted(calls) == sorted((s.distinct_tokens(f), s.steps, 1) for f in s.fractions)


def test_runs_that_claims_share_are_one_cell():
    s = exp.SMALL
    keys = exp.run_keys(s)
    cells = exp.declare_cells(s)
    assert len(keys) == len(set(keys)) == len(cells) == len({c.key for c in cells})
    width_runs = {(d, grid_rank(g, d), seed, 1.0) for d in s.widths for g in RATIO_GRID for seed in s.seeds}
    # the data claim's 100% runs are the width sweep's at data_width; sizes at a sweep width likewise
    assert {(s.data_width, grid_rank(g, s.data_width), seed, 1.0) for g in RATIO_GRID for seed in s.seeds} <= width_runs
    assert {(d, grid_rank(17, d), seed, 1.0) for d in s.size_widths if d in s.widths for seed in s.seeds} <= width_runs
    # 7 matched shapes + distinct ranks (with the reference r = d) at d = 32, 48, 64, 128: 7 + 8 + 8 + 8,
    # 3 more fractions × 7 ranks, and d = 24 of the size sweep; × 3 seeds
    assert len(cells) == (7 + 31 + 3 * 7 + 1) * 3 == 180


@pytest.mark.parametrize("scale", ["small", "medium", "full"])
def test_cells_are_declared_at_every_scale(monkeypatch, scale):
    monkeypatch.setenv("CLAIMS_SCALE", scale)
    s = exp.setting()
    assert s is {"small": exp.SMALL, "medium": exp.MEDIUM, "full": exp.FULL}[scale]
    cells = exp.declare_cells()
    assert len(cells) == len({c.key for c in cells}) >= 7 * 3
    assert all(c.tokens == s.steps * s.batch * s.length for c in cells)
    for c in cells:
        config = c.config_dict
        assert c.params == exp.model_parameters(config["d"], config["rank"], s.depth)
        assert config["steps"] == s.steps and config["depth"] == s.depth


def check_model_parameters(count):
    from impl.training.lm import ByteLM, LMConfig
    for d, r, depth in [(24, 4, 1), (64, 11, 2), (40, 40, 3)]:
        assert count(d, r, depth) == num_parameters(ByteLM(LMConfig("e5", d, depth, rank=r))), (d, r, depth)


def test_declared_parameter_counts_are_the_models():
    check_model_parameters(exp.model_parameters)


def fake_record(cell) -> dict:
    c = cell.config_dict
    value = c["d"] + c["rank"] / 100 + c["seed"] / 1000 + c["fraction"] / 10
    return {"result": {"final_loss": value, "held_out_loss": -value, "alpha": float("nan") if c["rank"] < 2 else 1.5,
                       "params": exp.layer_parameters(c["d"], c["rank"]) * c["depth"]},
            "meta": {"cpu_s": 0.5, "dtype": "float32"}}


def test_the_lab_is_rebuilt_from_records_decoded_from_json():
    s = exp.SMALL
    cells = exp.declare_cells(s)
    records = [decode(encode(fake_record(c))) for c in cells]
    lab = exp.Lab.from_records(s, cells, records)
    want = np.array([[64 + grid_rank(g, 64) / 100 + seed / 1000 + 0.1 for seed in s.seeds] for g in RATIO_GRID])
    assert np.array_equal(lab.grid(64), want)
    assert np.array_equal(lab.grid(64, "held_out_loss", 1.0), -want)
    assert lab.run(24, 4, 0).params == 6 * 24 * 4 + 24 and lab.cpu_s([(24, 4, 0, 1.0), (24, 4, 1, 1.0)]) == 1.0
    assert lab.precision() == "float32"
    with pytest.raises(KeyError, match="d = 64, r = 7, seed 0, data fraction 1.0"):
        lab.run(64, 7, 0)


def test_a_run_cell_is_deterministic_and_encodable(monkeypatch):
    from claims.cells import execute
    monkeypatch.setattr(exp, "_corpus_stream", lambda: ByteStream(bytes(range(256)) * 400))
    tiny = dataclasses.replace(exp.SMALL, batch=2, length=8, steps=3, held_out=1)
    cell = exp.declare_cells(tiny)[0]
    first, again = (decode(encode(execute(cell, CPU))) for _ in range(2))
    assert first["result"] == again["result"]
    assert set(first["result"]) == {"final_loss", "held_out_loss", "alpha", "params"}
    assert first["result"]["params"] == exp.layer_parameters(cell.config_dict["d"], cell.config_dict["rank"])


def test_bootstrap_resamples_repeat_across_calls():
    a = exp._resampled(lambda idx: float(sum(i.sum() * 10 ** k for k, i in enumerate(idx))), 3, 3)
    b = exp._resampled(lambda idx: float(sum(i.sum() * 10 ** k for k, i in enumerate(idx))), 3, 3)
    assert np.array_equal(a, b) and len(a) == exp.RESAMPLES and len(set(a)) > 10


# ---------------------------------------------------------------- optimal_ratio_17pct

def seeds_disagree() -> np.ndarray:
    """Seed 0's optimum at 17%, seeds 1 and 2's at 30%: the paired differences scatter across 0."""
    return np.concatenate([bowl(17, seeds=1, depth=0.3), bowl(30, seeds=2, seed=1, depth=0.3)], axis=1)


# The last full report's parameter-matched sweep (3 seeds): seed means and seed sds per ratio.
OBSERVED_MEANS = np.array([2.3635, 2.3900, 2.3582, 2.4167, 2.3760, 2.3332, 2.3413])
OBSERVED_SDS = np.array([0.0353, 0.0155, 0.0197, 0.0629, 0.0188, 0.0338, 0.0116])


def observed_like(rng, seeds: int = 3, means=OBSERVED_MEANS) -> np.ndarray:
    return means[:, None] + OBSERVED_SDS[:, None] * rng.standard_normal((len(GRID), seeds))


@pytest.mark.parametrize("losses, verdict", [
    (bowl(17, depth=0.3), "confirmed"),
    (bowl(30, depth=0.3), "refuted"),
    (knee_curve(30), "refuted"),                  # still falling at the grid's end: 30% beats the region
    (seeds_disagree(), "inconclusive"),
    (np.full((len(GRID), 3), 2.0) + 0.03 * np.random.default_rng(5).standard_normal((len(GRID), 3)),
     "inconclusive"),                             # flat within the noise: the rule's own clause
])
def test_optimal_ratio_rule_says_each_verdict(losses, verdict):
    got, reason = exp.decide_optimal_ratio(exp.RatioSweep(losses))
    assert got == verdict, reason


def test_region_comparison_is_paired_by_seed():
    # a seed effect shared by every ratio cancels in the paired difference: 17% is better by 0.01 in
    # every seed although the seeds scatter by 0.5
    shift = np.array([0.0, 0.5, -0.5])
    jitter = 0.0003 * np.random.default_rng(2).standard_normal((len(GRID), 3))
    losses = 2.0 + shift + jitter
    losses[RATIO_GRID.index(17)] -= 0.01
    got, reason = exp.decide_optimal_ratio(exp.RatioSweep(losses))
    assert got == "confirmed", reason
    mean, lo, hi = exp._paired(exp.RatioSweep(losses), 17, 30, 0.95)
    assert hi < 0 and mean == pytest.approx(np.mean(losses[3] - losses[6]))


def test_percentile_bootstrap_of_a_mean_covers_about_73_percent_at_3_seeds():
    """Why the argmin bootstrap was replaced: at n = 3 a '95%' percentile bootstrap of a mean covers
    ≈ 0.73 (a resample of 3 seeds has only 10 distinct multisets and shrinks the sd by √(2/3))."""
    coverage = exp.percentile_bootstrap_coverage(1.0, 3)
    assert 0.65 <= coverage <= 0.78, coverage


def test_paired_t_interval_keeps_its_coverage_at_3_seeds():
    for level in (0.95, exp.CONFIRM_LEVEL, exp.REFUTE_LEVEL):
        coverage = exp.paired_t_coverage(0.04, 3, level)
        assert abs(coverage - level) <= 0.015, (level, coverage)


def _false_verdicts(decide, trials: int, seed: int = 0) -> float:
    """Share of simulated flat sweeps (every ratio's true loss equal, seed sds as observed) that the
    rule calls confirmed or refuted."""
    rng = np.random.default_rng(seed)
    flat = np.full(len(GRID), OBSERVED_MEANS.mean())
    return float(np.mean([decide(exp.RatioSweep(observed_like(rng, means=flat)))[0] != "inconclusive"
                          for _ in range(trials)]))


def test_the_rule_calls_a_flat_curve_inconclusive_at_3_seeds():
    """The rule's clause 'a flat curve, with all ratios within noise, lands inconclusive', checked
    by simulation at the sample size run: at most 5% false verdicts."""
    assert _false_verdicts(exp.decide_optimal_ratio, 400) <= 0.05


def test_the_argmin_bootstrap_rule_decided_flat_curves(monkeypatch):
    """The rule before 2026-12-03 (≥ 90% of argmin resamples inside / outside {15, 17, 20}%) on the
    same flat sweeps: it calls many of them refuted or confirmed, which is how 0 of 2000 resamples
    came to refute a curve whose ratios all overlap."""
    monkeypatch.setattr(exp, "RESAMPLES", 400)

    def old_rule(m):
        inside = float(np.isin(exp.optimum_samples(m), exp.OPTIMUM_SET).mean())
        return ("confirmed" if inside >= 0.9 else "refuted" if inside <= 0.1 else "inconclusive"), ""
    assert _false_verdicts(old_rule, 150) >= 0.15


def test_the_observed_sweep_is_flat_within_the_noise():
    """Sweeps drawn like the last report's (its seed means and sds as the truth) rarely decide: the
    best ratio outside the region (25%) is 0.025 below the best inside (15%) with seed sds 0.02–0.06."""
    rng = np.random.default_rng(1)
    verdicts = [exp.decide_optimal_ratio(exp.RatioSweep(observed_like(rng)))[0] for _ in range(200)]
    assert verdicts.count("inconclusive") >= 0.8 * len(verdicts), {v: verdicts.count(v) for v in set(verdicts)}


# ---------------------------------------------------------------- ratio_scale_invariant

WIDTHS = (32.0, 64.0, 128.0, 256.0)


def widths_sweep(knees, alpha_slope: float, seed: int = 0) -> exp.KneeSweeps:
    rng = np.random.default_rng(seed)
    losses = np.stack([knee_curve(k, seed=seed + j) for j, k in enumerate(knees)])
    alphas = np.array([[1.3 + alpha_slope * np.log2(w) + 0.001 * rng.standard_normal() for _ in range(3)]
                       for w in WIDTHS])
    return exp.KneeSweeps(WIDTHS, losses, alphas)


@pytest.mark.parametrize("sweep, verdict", [
    (widths_sweep((17, 17, 17, 17), 0.0), "confirmed"),
    (widths_sweep((15, 17, 17, 20), 0.0), "confirmed"),          # b ≈ 1.5 points per doubling
    (widths_sweep((10, 15, 20, 25), 0.0), "refuted"),            # the knee moves, α does not
    (widths_sweep((10, 15, 20, 25), 0.2), "inconclusive"),       # both move
    (widths_sweep((30, 30, 30, 30), 0.0), "inconclusive"),       # censored at the grid's end
    (widths_sweep((17, 17, 17, 30), 0.0), "inconclusive"),       # one knee censored (2026-12-03)
    (widths_sweep((5, 15, 20, 25), 0.0), "inconclusive"),        # one knee censored below
])
def test_scale_invariance_rule_says_each_verdict(sweep, verdict):
    got, reason = exp.decide_scale_invariant(sweep)
    assert got == verdict, reason


# ---------------------------------------------------------------- ratio_vs_data

FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def data_sweep(knees, noise: float = 0.001) -> exp.KneeSweeps:
    return exp.KneeSweeps(FRACTIONS, np.stack([knee_curve(k, noise=noise, seed=j) for j, k in enumerate(knees)]))


def noisy_flat_sweep() -> exp.KneeSweeps:
    """Flat curves whose seeds scatter by 0.03 nats/byte: the knee of a resample jumps over the
    whole grid, so b's interval is wide and holds 0."""
    rng = np.random.default_rng(3)
    return exp.KneeSweeps(FRACTIONS, 2.0 + 0.03 * rng.standard_normal((len(FRACTIONS), len(GRID), 3)))


@pytest.mark.parametrize("sweep, verdict", [
    (data_sweep((10, 15, 20, 25)), "confirmed"),                 # more data, higher rank
    (data_sweep((25, 20, 15, 10)), "confirmed"),                 # more data, lower rank
    (data_sweep((17, 17, 17, 17)), "refuted"),
    (noisy_flat_sweep(), "inconclusive"),
    (data_sweep((30, 30, 30, 30)), "inconclusive"),              # censored at the grid's end
    (data_sweep((15, 20, 25, 30)), "inconclusive"),              # one knee censored: cannot confirm
    (data_sweep((30, 30, 25, 25)), "inconclusive"),              # the issue's case: knees at the top
])
def test_data_rule_says_each_verdict(sweep, verdict):
    got, reason = exp.decide_ratio_vs_data(sweep)
    assert got == verdict, reason


def test_censoring_guard_flags_every_knee_at_an_end_of_the_grid():
    assert exp.knee_slopes(data_sweep((30, 30, 30, 30))).censored_at == FRACTIONS
    assert exp.knee_slopes(data_sweep((5, 5, 5, 5))).censored_at == FRACTIONS
    assert exp.knee_slopes(data_sweep((25, 30, 30, 30))).censored_at == (0.25, 0.5, 1.0)
    assert exp.knee_slopes(data_sweep((5, 17, 25, 25))).censored_at == (0.1,)
    assert not exp.knee_slopes(data_sweep((10, 17, 20, 25))).censored


def test_censored_verdicts_say_what_would_decide_them():
    sweep = data_sweep((30, 30, 25, 25))
    text = exp.knee_to_decide(sweep, exp.knee_slopes(sweep), "f =", (-2, 0, 2))
    assert "past 30%" in text and "f = 0.1" in text and "f = 0.25" in text and "f = 0.5" not in text
    sweep = data_sweep((5, 17, 25, 25))
    assert "below 5%" in exp.knee_to_decide(sweep, exp.knee_slopes(sweep), "f =", (-2, 0, 2))


def test_uncensored_knees_give_a_seed_count_from_the_per_seed_slopes():
    sweep = data_sweep((10, 15, 20, 25), noise=0.03)
    slopes = exp.knee_slopes(sweep)
    assert not slopes.censored
    per_seed = exp.per_seed_slopes(sweep)
    text = exp.knee_to_decide(sweep, slopes, "f =", (-2, 0, 2))
    assert f"≈ {seeds_to_decide(per_seed, (-2, 0, 2))} seeds per f" in text
    # seed s's own knees at every fraction, sloped on log2 f
    own = [exp.knee_ratio(sweep.losses[j][:, 0]) for j in range(len(FRACTIONS))]
    assert per_seed[0] == pytest.approx(np.polyfit(np.log2(FRACTIONS), own, 1)[0], abs=1e-9)


def test_data_rule_names_the_direction():
    assert "higher rank" in exp.decide_ratio_vs_data(data_sweep((10, 15, 20, 25)))[1]
    assert "lower rank" in exp.decide_ratio_vs_data(data_sweep((25, 20, 15, 10)))[1]


# ---------------------------------------------------------------- alpha_beta_scaling

PARAMS = (600, 992, 2352, 4288, 17024)


def size_sweep(beta: float, alpha: float, noise: float = 0.002, alpha_noise: float = 0.01) -> exp.SizeSweep:
    rng = np.random.default_rng(0)
    n = np.array(PARAMS, dtype=float)
    losses = 3.0 * (n / n[0]) ** -beta
    return exp.SizeSweep(PARAMS, losses[:, None] * np.exp(noise * rng.standard_normal((len(n), 3))),
                         alpha + alpha_noise * rng.standard_normal((len(n), 3)))


@pytest.mark.parametrize("sweep, verdict", [
    (size_sweep(beta=1 / 2.7, alpha=1.35), "confirmed"),         # β = 1/(2α): q = 1
    (size_sweep(beta=0.03, alpha=0.5), "refuted"),                # q = 0.03
    (size_sweep(beta=0.3, alpha=1.35, noise=0.4), "inconclusive"),  # q ≈ 0.8 with a wide interval
])
def test_alpha_beta_rule_says_each_verdict(sweep, verdict):
    got, reason = exp.decide_alpha_beta(sweep)
    assert got == verdict, reason


def test_scaling_recovers_the_planted_exponents():
    fit = exp.scaling(size_sweep(beta=0.2, alpha=1.1, noise=0, alpha_noise=0))
    assert fit.beta == pytest.approx(0.2, abs=1e-9) and fit.alpha == pytest.approx(1.1, abs=1e-12)
    assert fit.q == pytest.approx(0.44, abs=1e-9) and fit.q_interval == pytest.approx((0.44, 0.44), abs=1e-9)


# ---------------------------------------------------------------- coverage of the knee-slope interval

# The last full report's width sweep (seed means; seed sds 0.01–0.09 nats/byte): d = 32, 48, 64, 128.
WIDTH_MEANS = np.array([[2.8948, 2.7772, 2.7332, 2.7332, 2.6284, 2.5847, 2.5761],
                        [2.7357, 2.5700, 2.4795, 2.4611, 2.4451, 2.4043, 2.3907],
                        [2.5550, 2.4498, 2.3709, 2.3623, 2.3461, 2.2996, 2.2810],
                        [2.4391, 2.2776, 2.2632, 2.2485, 2.2441, 2.1920, 2.1869]])


def knee_slope_coverage(means, sd: float, trials: int) -> float:
    xs = (32.0, 48.0, 64.0, 128.0)
    truth = exp._slope(np.log2(xs), [exp.knee_ratio(m) for m in means])

    def interval(rng):
        losses = means[:, :, None] + sd * rng.standard_normal((*means.shape, 3))
        return exp.knee_slopes(exp.KneeSweeps(xs, losses)).b_interval
    return simulated_coverage(interval, truth, trials=trials)


def test_knee_slope_bootstrap_covers_about_90_percent_at_3_seeds(monkeypatch):
    """ratio_scale_invariant's (and ratio_vs_data's) b interval at 3 seeds per cell, for curves and
    a seed spread like the last run's: the '95%' percentile bootstrap covers ≈ 0.9 (the knee of a
    noisy seed mean is biased, and 3 seeds give 10 resampled multisets per block). Below nominal
    but far from the 0.73 of a bootstrapped mean; the evidence states it."""
    monkeypatch.setattr(exp, "RESAMPLES", 300)
    coverage = knee_slope_coverage(WIDTH_MEANS, 0.03, trials=120)   # 0.917 at these seeds
    assert 0.8 <= coverage <= 0.95, coverage


# ---------------------------------------------------------------- negative controls: planted bugs

def test_negative_control_old_censoring_guard_confirms_the_issues_case(monkeypatch):
    """With the guard of before 2026-12-03 (censored only when every knee sits at one end), knees
    (30, 30, 25, 25) confirm 'the ratio moves with data': the rule test above would fail."""
    original = exp.knee_slopes

    def old_guard(m):
        s = original(m)
        every = len(set(s.knees)) == 1 and s.knees[0] in (RATIO_GRID[0], RATIO_GRID[-1])
        return dataclasses.replace(s, censored_at=s.censored_at if every else ())
    monkeypatch.setattr(exp, "knee_slopes", old_guard)
    assert exp.decide_ratio_vs_data(data_sweep((30, 30, 25, 25)))[0] == "confirmed"
    assert exp.decide_scale_invariant(widths_sweep((17, 17, 17, 30), 0.0))[0] != "inconclusive"


def test_negative_control_unadjusted_narrow_intervals_decide_flat_curves(monkeypatch):
    """Intervals at 50% instead of the Bonferroni 95%: the flat-curve simulation finds far more than
    5% false verdicts, so test_the_rule_calls_a_flat_curve_inconclusive_at_3_seeds would fail."""
    monkeypatch.setattr(exp, "CONFIRM_LEVEL", 0.5)
    monkeypatch.setattr(exp, "REFUTE_LEVEL", 0.5)
    assert _false_verdicts(exp.decide_optimal_ratio, 400) > 0.05


def test_negative_control_a_stream_that_repeats_one_order_is_caught():
    class SameOrderEveryPass(exp.PassStream):
        def batch(self, batch, length, generator):
            if not hasattr(self, "_first"):
                self._first = torch.randperm((len(self.train) - 1) // length, generator=generator).tolist()
            if len(self._order) < batch:
                self._order += self._first
                self.passes += 1
            take, self._order = self._order[:batch], self._order[batch:]
            return torch.stack([self.train[i * length: i * length + length + 1] for i in take])
    with pytest.raises(AssertionError):
        check_repeated_passes(SameOrderEveryPass)


def test_negative_control_steps_proportional_to_the_fraction_are_caught(monkeypatch):
    """The one-pass design of before (steps ∝ f) planted into the cell configs: the same-steps test fails."""
    original = exp.run_config

    def one_pass(s, d, r, seed, fraction=1.0):
        config = original(s, d, r, seed, fraction)
        config["steps"] = round(fraction * s.steps)
        return config
    monkeypatch.setattr(exp, "run_config", one_pass)
    with pytest.raises(AssertionError):
        test_every_fraction_trains_the_same_steps(monkeypatch)


def test_negative_control_a_count_without_the_final_norm_is_caught():
    with pytest.raises(AssertionError):
        check_model_parameters(lambda d, r, depth: exp.model_parameters(d, r, depth) - 2 * d)


def test_negative_control_a_lab_keyed_without_the_fraction_is_caught(monkeypatch):
    """Runs keyed by (d, r, seed) only: the data fractions overwrite each other and the lab test fails."""
    original = exp.Lab.from_records

    def unkeyed(cls, s, cells, records):
        lab = original.__func__(cls, s, cells, records)
        last = {}
        for (d, r, seed, f), run in lab.runs.items():
            last[(d, r, seed)] = run
        lab.runs = {(d, r, seed, f): last[(d, r, seed)] for (d, r, seed, f) in lab.runs}
        return lab
    monkeypatch.setattr(exp.Lab, "from_records", classmethod(unkeyed))
    with pytest.raises(AssertionError):
        test_the_lab_is_rebuilt_from_records_decoded_from_json()
