"""The decision rules and measurement pieces of impl/experiments/lru.py on synthetic data, and its cells.

Each `decide_*` must be able to say every verdict: fed measurements that the registry's rule
calls confirmed, refuted and inconclusive, it says so. The measurement pieces (the final state
and its Vandermonde readout, κ₂ in ball arithmetic, the ridge readout, the Lotka–Volterra
integrator, NRMSE, the blow-up simulation) are checked against cases whose answer is known.
The cells: what declare_cells() gives at each scale (in fresh interpreters, as the sizes are read
at import), and each kind of record rebuilt into the rules' inputs alike whether it was computed
now or comes back from the results store as JSON.
"""

from __future__ import annotations

import collections
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import impl.experiments.lru as exp
from claims.cells import decode, encode, execute, make_cell
from claims.device import Placement

# ---------------------------------------------------------------- lru.complex_near_circle_helps


def near_circle_ratios(q_kappa, q_err, at_64=None):
    """The same per-seed ratios for every (L, R); `at_64` overrides q_err at L = 64."""
    out = {}
    for L in exp.NC_LENGTHS:
        for R in ("R1", "R2"):
            out[(L, R)] = {"q_kappa": list(q_kappa), "q_err": list(at_64 if at_64 is not None and L == 64 else q_err)}
    return out


@pytest.mark.parametrize("ratios, verdict", [
    (near_circle_ratios([1e3, 1e5, 1e4, 2e3, 1e6], [20, 50, 0.5, 100, 30]), "confirmed"),   # one seed below 1 allowed
    (near_circle_ratios([1e3] * 5, [20, 50, 0.5, 0.8, 30]), "inconclusive"),                 # q_e > 1 in 3/5 only
    (near_circle_ratios([50, 60, 70, 80, 90], [20] * 5), "inconclusive"),                    # median q_κ < 100
    (near_circle_ratios([1e3] * 5, [5, 6, 7, 8, 9]), "inconclusive"),                        # median q_e < 10
    (near_circle_ratios([1e3] * 5, [20] * 5, at_64=[0.5, 0.9, 1.0, 2.0, 0.7]), "refuted"),   # median q_e ≤ 1 at L = 64
])
def test_near_circle_rule_says_each_verdict(ratios, verdict):
    got, reason = exp.decide_complex_near_circle(ratios)
    assert got == verdict, reason
    assert "L=64 R2/C" in reason


def test_near_circle_rule_refutes_only_against_both_real_sets_and_ignores_l16():
    ratios = near_circle_ratios([1e3] * 5, [20] * 5, at_64=[0.5] * 5)
    ratios[(64, "R1")]["q_err"] = [20] * 5          # R1 still worse than C: not refuted
    assert exp.decide_complex_near_circle(ratios)[0] == "inconclusive"
    ratios = near_circle_ratios([1e3] * 5, [20] * 5)
    ratios[(16, "R1")] = {"q_kappa": [1.0] * 5, "q_err": [0.1] * 5}   # L = 16 does not enter the rule
    assert exp.decide_complex_near_circle(ratios)[0] == "confirmed"
    with pytest.raises(ValueError, match="5 seeds"):
        exp.decide_complex_near_circle(near_circle_ratios([1e3] * 3, [20] * 3))


# ---------------------------------------------------------------- lru.reconstruction


def reconstruction_errors(near: dict, disc: float = 0.9) -> dict:
    """near: (N, readout) → 3 per-seed errors; the r_min = 0 runs all at `disc`."""
    out = {("near", N, r): near[(N, r)] for N in (64, 128) for r in ("a", "b")}
    out.update({("disc", N, r): [disc] * 3 for N in (64, 128) for r in ("a", "b")})
    return out


GOOD, BAD, MID = [0.01, 0.02, 0.04], [0.3, 0.5, 0.4], [0.1, 0.2, 0.06]


@pytest.mark.parametrize("near, verdict", [
    ({(64, "a"): BAD, (64, "b"): BAD, (128, "a"): GOOD, (128, "b"): BAD}, "confirmed"),     # readout a alone
    ({(64, "a"): BAD, (64, "b"): BAD, (128, "a"): BAD, (128, "b"): GOOD}, "confirmed"),     # readout b alone
    ({(64, "a"): BAD, (64, "b"): BAD, (128, "a"): BAD, (128, "b"): BAD}, "refuted"),
    ({(64, "a"): BAD, (64, "b"): BAD, (128, "a"): MID, (128, "b"): BAD}, "inconclusive"),
    # ≤ 0.05 in two seeds only, and the third seed is not all above 0.25
    ({(64, "a"): GOOD, (64, "b"): GOOD, (128, "a"): [0.01, 0.02, 0.3], (128, "b"): MID}, "inconclusive"),
])
def test_reconstruction_rule_says_each_verdict(near, verdict):
    got, reason = exp.decide_reconstruction(reconstruction_errors(near))
    assert got == verdict, reason


def test_reconstruction_rule_counts_seeds_failing_everywhere_and_ignores_r_min_0():
    # seed 0 fails everywhere, seed 1 is fine with readout b at N = 64: only 1 of 3 seeds fails
    near = {(64, "a"): BAD, (64, "b"): [0.3, 0.1, 0.1], (128, "a"): BAD, (128, "b"): BAD}
    assert exp.decide_reconstruction(reconstruction_errors(near))[0] == "inconclusive"
    near = {(64, "a"): BAD, (64, "b"): BAD, (128, "a"): GOOD, (128, "b"): GOOD}
    assert exp.decide_reconstruction(reconstruction_errors(near, disc=5.0))[0] == "confirmed"


# ---------------------------------------------------------------- lru.mlp_universality


def universality(w512, w128=(0.1, 0.1, 0.1), w32=(0.1, 0.1, 0.1), ridge=(0.3, 0.3, 0.3), memoryless=(0.5, 0.5, 0.5)):
    return {"w32": list(w32), "w128": list(w128), "w512": list(w512), "ridge": list(ridge),
            "memoryless": list(memoryless)}


@pytest.mark.parametrize("nrmse, verdict", [
    (universality([0.05, 0.06, 0.08]), "confirmed"),
    (universality([0.05, 0.06, 0.12]), "inconclusive"),                                 # one seed above 0.1
    (universality([0.05, 0.06, 0.08], ridge=(0.3, 0.3, 0.15)), "inconclusive"),        # not ≤ 0.5 × B1 in a seed
    (universality([0.05, 0.06, 0.08], memoryless=(0.09, 0.5, 0.5)), "inconclusive"),   # not ≤ 0.5 × B2 in a seed
    (universality([0.05, 0.06, 0.08], w128=(0.2, 0.2, 0.2)), "inconclusive"),          # w128 > 1.1 w32
    (universality([0.05, 0.06, 0.08], w128=(0.03, 0.03, 0.03), w32=(0.03, 0.03, 0.03)),
     "inconclusive"),                                                                 # w512 > 1.1 w128
    (universality([0.35, 0.4, 0.08], ridge=(0.3, 0.3, 0.3)), "refuted"),               # ≥ B1 in 2 seeds
    (universality([0.55, 0.6, 0.05], ridge=(0.9, 0.9, 0.9)), "refuted"),               # ≥ 0.5 in 2 seeds
    (universality([0.55, 0.2, 0.05], ridge=(0.9, 0.9, 0.9)), "inconclusive"),          # only 1 seed
])
def test_universality_rule_says_each_verdict(nrmse, verdict):
    got, reason = exp.decide_mlp_universality(nrmse)
    assert got == verdict, reason


def test_universality_rule_allows_ten_percent_slack_in_width():
    assert exp.decide_mlp_universality(universality([0.05, 0.06, 0.08], w128=(0.066,) * 3,
                                                    w32=(0.06,) * 3))[0] == "confirmed"


# ---------------------------------------------------------------- lru.forward_blowup


def blowup_runs(deviations, se=1.0, F=100.0):
    """One run per (config, input, seed) with R̂ = F + deviation (in SE units) for each seed."""
    runs = []
    for config in exp.BLOWUP_RINGS:
        for kind in ("white", "constant"):
            for seed, d in enumerate(deviations.get((config, kind), [0.0, 0.0, 0.0])):
                runs.append({"config": config, "input": kind, "seed": seed, "F": F, "R": F + d * se, "SE": se})
    return runs


RING = exp.BLOWUP_RINGS[2]


@pytest.mark.parametrize("deviations, se, verdict", [
    ({(RING, "white"): [1.0, -2.9, 2.0]}, 1.0, "confirmed"),
    ({(RING, "white"): [10.0, -0.5, 0.2]}, 0.1, "confirmed"),       # 10 SE but only 1% of F
    ({(RING, "white"): [4.0, 0.0, 0.0]}, 1.0, "inconclusive"),      # 4 SE > 3 SE, 4% > 1%
    ({(RING, "constant"): [6.0, -7.0, 0.0]}, 1.0, "refuted"),       # > 5 SE and > 5% in 2 seeds
    ({(RING, "constant"): [6.0, 0.0, 0.0]}, 1.0, "inconclusive"),   # in 1 seed only
    ({(RING, "constant"): [8.0, 9.0, 0.0]}, 0.5, "inconclusive"),   # > 5 SE but < 5% of F in both seeds
])
def test_blowup_rule_says_each_verdict(deviations, se, verdict):
    got, reason = exp.decide_forward_blowup(blowup_runs(deviations, se))
    assert got == verdict, reason


def test_blowup_rule_needs_both_the_se_and_the_relative_criterion_to_refute():
    # 50 SE off but only 2% of F in every seed: not refuted (the 5% bar), not confirmed (> 1%)
    runs = blowup_runs({(RING, "white"): [50.0, 50.0, 50.0]}, se=0.04)
    assert exp.decide_forward_blowup(runs)[0] == "inconclusive"
    with pytest.raises(ValueError, match="3 seeds"):
        exp.decide_forward_blowup(runs[:-1])


# ---------------------------------------------------------------- measurement pieces


def test_vandermonde_readout_inverts_the_recurrence_exactly_in_float64():
    L, N = 12, 16
    nodes = exp.lru_ring_init(N, 0.9, 0.999, generator=torch.Generator().manual_seed(3), dtype=torch.complex128)
    u = torch.randn(5, L, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    x = exp.final_states(nodes, u)
    # x_L = Σ_j λ^j u_{L−j}, then V⁺ recovers u (reversed back) to float64 round-off
    want = sum(nodes ** j * u[:, L - 1 - j, None] for j in range(L))
    assert torch.allclose(x, want, rtol=1e-12, atol=1e-12)
    assert float(exp.relative_errors(exp.vandermonde_readout(nodes, x, L), u).max()) < 1e-10


def test_condition_number_of_roots_of_unity_and_their_scaling():
    # κ₂ = 1 for the N-th roots of unity and r^(−(L−1)) for r times them (lru.roots_of_unity_conditioning)
    N = 16
    roots = torch.polar(torch.ones(N, dtype=torch.float64), 2 * math.pi * torch.arange(N, dtype=torch.float64) / N)
    assert exp.condition_number(roots, N) == pytest.approx(1.0, rel=1e-12)
    r = 0.5
    scaled = roots * r
    assert exp.condition_number(scaled, N) == pytest.approx(r ** -(N - 1), rel=1e-9)


def test_condition_number_matches_float64_where_it_is_reliable_and_mpmath_beyond():
    nodes = torch.linspace(-1, 1, 8, dtype=torch.float64)
    V = np.vander(nodes.numpy(), 8, increasing=True)
    assert exp.condition_number(nodes, 8) == pytest.approx(np.linalg.cond(V), rel=1e-9)
    assert exp.condition_number(nodes, 8) == pytest.approx(5.35e2, rel=5e-3)    # REFERENCE.md §4, N = 8
    # equispaced on [0, 1], N = 24: κ₂ ≈ 1e18 is beyond float64's reach; mpmath's SVD at 60 digits decides
    nodes = torch.linspace(0, 1, 24, dtype=torch.float64)
    want = exp.mpmath_condition_number(nodes, 24)
    assert want > 1e16
    assert exp.condition_number(nodes, 24) == pytest.approx(want, rel=1e-10)


def test_ridge_readout_is_ridge_regression_with_intercept(monkeypatch):
    from sklearn.linear_model import Ridge
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 5)), rng.normal(size=(60, 2))
    monkeypatch.setattr(exp, "RIDGE_ALPHAS", np.array([0.7]))
    predict = exp.ridge_readout(X, Y, np.arange(40), np.arange(40, 50), exp.nrmse)
    want = Ridge(alpha=0.7).fit(X[:50], Y[:50]).predict(X[50:])
    assert np.allclose(predict(X[50:]), want, rtol=1e-9, atol=1e-9)


def test_ridge_readout_picks_the_penalty_that_scores_best_on_validation():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    Y = X @ rng.normal(size=(4, 3)) + 0.5                  # exactly linear: the smallest penalty wins
    predict = exp.ridge_readout(X, Y, np.arange(150), np.arange(150, 180), exp.mean_relative_error)
    assert np.allclose(predict(X[180:]), Y[180:], atol=1e-6)


def test_lotka_volterra_conserves_its_first_integral_without_control():
    # with u = 0: H = p − log p + q − log q is constant; RK4 with h = 0.01 keeps it to ~1e-9
    y = exp.lotka_volterra(np.zeros((2, exp.LV_STEPS)))
    H = y[..., 0] - np.log(y[..., 0]) + y[..., 1] - np.log(y[..., 1])
    H0 = 1 - math.log(1) + 0.5 - math.log(0.5)
    assert np.abs(H - H0).max() < 1e-8
    # a positive control moves the prey up at the first step
    assert exp.lotka_volterra(np.full((1, 1), 0.5))[0, 0, 0] > y[0, 0, 0]


def test_nrmse_is_zero_for_a_perfect_and_one_for_the_mean_prediction():
    y = np.random.default_rng(2).normal(size=(4, 10, 2))
    assert exp.nrmse(y, y) == 0.0
    assert exp.nrmse(np.broadcast_to(y.reshape(-1, 2).mean(0), y.shape), y) == pytest.approx(1.0)


def test_blowup_simulation_is_the_recurrence_across_chunk_boundaries():
    nodes = torch.tensor([0.9 + 0.1j, -0.5j, 0.99], dtype=torch.complex64)
    steps = 2 * exp.BLOWUP_CHUNK + 5                        # not a multiple of the chunk
    x = exp.blowup_final_state(nodes, steps, white=False, generator=torch.Generator())
    lam = nodes.to(torch.complex128)
    assert torch.allclose(x.to(torch.complex128), (1 - lam ** steps) / (1 - lam), rtol=1e-5)
    # white noise: the same draws, summed explicitly
    x = exp.blowup_final_state(nodes, steps, white=True, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    draws = torch.cat([torch.randn(min(exp.BLOWUP_CHUNK, steps - k), 3, generator=g)
                       for k in range(0, steps, exp.BLOWUP_CHUNK)]).double()
    want = sum(lam ** j * draws[steps - 1 - j] for j in range(steps))
    assert torch.allclose(x.to(torch.complex128), want, rtol=1e-5, atol=1e-5)


def test_blowup_horizon_makes_the_transient_negligible():
    for _, r_max in exp.BLOWUP_RINGS:
        T = exp.blowup_steps(r_max)
        assert r_max ** (2 * T) <= math.exp(-30)
    assert exp.blowup_steps(0.999) == 15008


# ---------------------------------------------------------------- what would decide an inconclusive run


def test_to_decide_texts_name_the_failing_conditions_and_the_numbers():
    ratios = near_circle_ratios([50, 60, 70, 80, 90], [20] * 5)          # inconclusive: median q_κ 70 < 100
    text = exp.near_circle_to_decide(ratios)
    assert "median q_κ 70 < 100" in text and "seeds for mean log10 q_κ clear of 2" in text
    assert exp.near_circle_to_decide(near_circle_ratios([1e3] * 5, [20] * 5)) == "every confirming condition holds"

    nrmse = {"w32": [0.30, 0.28, 0.40], "w128": [0.21, 0.17, 0.26], "w512": [0.17, 0.15, 0.2],
             "ridge": [0.5, 0.5, 0.5], "memoryless": [0.9, 0.9, 0.9]}
    assert exp.decide_mlp_universality(nrmse)[0] == "inconclusive"
    text = exp.universality_to_decide(nrmse)
    assert "3 of 3 seeds short" in text and "factor 2.00" in text and "0 of 3 now" in text

    errors = {(init, N, r): [0.08, 0.06, 0.07] for init in ("near", "disc") for N in (64, 128) for r in ("a", "b")}
    assert exp.decide_reconstruction(errors)[0] == "inconclusive"
    assert "worst seed 0.08 against 0.05" in exp.reconstruction_to_decide(errors)

    runs = [{"config": (0.0, 0.9), "input": "white", "seed": s, "R": 1.04, "SE": 0.01, "F": 1.0} for s in range(3)]
    text = exp.blowup_to_decide(runs)
    assert "4.00 SE = 4.00% of F" in text and "under the 5% the refutation also needs" in text


# ---------------------------------------------------------------- cells: declared, and rebuilt from fresh and stored records

CPU = Placement("cpu", None)


def executed(fn, **config) -> tuple[dict, dict]:
    """A cell's record as computed now and as it comes back from the results store (JSON text)."""
    record = execute(make_cell(fn, exp.EXPERIMENT, **config), CPU)
    return record, decode(encode(record))


SCALE_PROBE = """
import json
import impl.experiments.lru as e
cells = e.declare_cells()
print(json.dumps({"functions": [c.function.split(":")[1] for c in cells], "keys": [c.key for c in cells],
                  "configs": [c.config_dict for c in cells], "params": [c.params for c in cells],
                  "tokens": [c.tokens for c in cells], "reduced": e.mlp_reduced()}))
"""


@pytest.fixture(scope="module")
def declared_by_scale():
    """declare_cells() at each scale, each in a fresh interpreter (the sizes are read at import)."""
    out = {}
    for scale in ("small", "medium", "full"):
        env = {**os.environ, "CLAIMS_SCALE": scale}
        done = subprocess.run([sys.executable, "-c", SCALE_PROBE], env=env, capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent.parent, timeout=120)
        assert done.returncode == 0, done.stderr
        out[scale] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_cells_per_scale_are_the_rules_sizes_and_only_the_universality_run_grows(declared_by_scale):
    counts = collections.Counter(declared_by_scale["small"]["functions"])
    assert counts == {"near_circle_cell": 5, "near_circle_mpmath_cell": 1, "reconstruction_cell": 3,
                      "universality_cell": 3, "blowup_cell": 9}
    for scale, cells in declared_by_scale.items():
        assert len(set(cells["keys"])) == len(cells["keys"]) == 21, scale
        univ = [c for f, c in zip(cells["functions"], cells["configs"]) if f == "universality_cell"]
        sizes = {k: univ[0][k] for k in ("train", "test", "batch", "iterations")}
        if scale == "small":
            assert sizes == {"train": 1024, "test": 256, "batch": 8, "iterations": 700} and cells["reduced"]
        else:      # the registry rule's sizes
            assert sizes == {"train": 4096, "test": 1024, "batch": 64, "iterations": 3000} and not cells["reduced"]
        # the other experiments run the rule's sizes at every scale: the very same cells
        others = [k for f, k in zip(cells["functions"], cells["keys"]) if f != "universality_cell"]
        small = [k for f, k in zip(declared_by_scale["small"]["functions"], declared_by_scale["small"]["keys"])
                 if f != "universality_cell"]
        assert others == small, scale
        # tokens: positions each MLP trains on; params: the four MLPs built by torch, counted
        tokens = {t for f, t in zip(cells["functions"], cells["tokens"]) if f == "universality_cell"}
        assert tokens == {sizes["iterations"] * sizes["batch"] * exp.LV_STEPS}
    built = [nn.Sequential(nn.Linear(2 * exp.MLP_STATE + 1, w), nn.ReLU(), nn.Linear(w, 2)) for w in exp.MLP_WIDTHS]
    built.append(nn.Sequential(nn.Linear(2, 512), nn.ReLU(), nn.Linear(512, 2)))
    params = {p for f, p in zip(declared_by_scale["full"]["functions"], declared_by_scale["full"]["params"])
              if f == "universality_cell"}
    assert params == {sum(p.numel() for m in built for p in m.parameters())}


def test_blowup_runs_rebuilt_from_a_stored_record_are_the_computed_ones():
    fresh, stored = executed(exp.blowup_cell, r_min=0.0, r_max=0.9, seed=0, units=500)
    direct = exp.blowup_run((0.0, 0.9), 0, 500)
    assert exp.blowup_results([fresh]) == exp.blowup_results([stored]) == direct
    # negative control: the stored record holds the ring as a JSON list, which the rule cannot group by
    with pytest.raises(TypeError, match="unhashable"):
        exp.decide_forward_blowup(stored["result"]["runs"])


def test_near_circle_results_rebuilt_from_stored_records_are_the_computed_ones():
    fresh, stored = executed(exp.near_circle_cell, seed=0, lengths=[16], sequences=10)
    fresh_check, stored_check = executed(exp.near_circle_mpmath_cell, **exp.NC_CROSS_CHECK)
    results, cross_check = exp.near_circle_results([stored, stored_check])
    assert (results, cross_check) == exp.near_circle_results([fresh, fresh_check])
    assert set(results) == {(16, 16, 0), (16, 32, 0)}
    assert results[(16, 32, 0)] == exp.measure_near_circle(16, 32, 0, 10)
    assert max(exp.near_circle_cross_check_gaps(results, cross_check)) < 1e-8
    with pytest.raises(ValueError, match="cross-check cell is missing"):
        exp.near_circle_results([stored])


def test_reconstruction_results_rebuilt_from_a_stored_record_are_the_computed_ones():
    cell = exp.reconstruction_cells()[0]
    assert cell.config_dict["seed"] == 0
    fresh = execute(cell, CPU)
    stored = decode(encode(fresh))
    errors, examples = exp.reconstruction_results([stored])
    fresh_errors, fresh_examples = exp.reconstruction_results([fresh])
    assert errors == fresh_errors and list(errors)[:2] == [("near", 64, "a"), ("near", 64, "b")]
    assert all(np.array_equal(examples[k], fresh_examples[k]) for k in ("near", "disc"))
    assert examples["near"].shape == (exp.RC_EXAMPLES, 64)
    with pytest.raises(ValueError, match="seed-0 record"):
        exp.reconstruction_results([{**stored, "meta": {**stored["meta"], "config": {**cell.config_dict, "seed": 1}}}])


def test_universality_results_rebuilt_from_a_stored_record_are_the_computed_ones():
    config = dict(seed=0, train=12, test=6, batch=2, iterations=3, lr=1e-3, state=4, widths=[4, 8],
                  memoryless_width=4)
    fresh, stored = executed(exp.universality_cell, **config)
    nrmses, devices = exp.universality_results([stored])
    assert (nrmses, devices) == exp.universality_results([fresh])
    assert list(nrmses) == ["w4", "w8", "ridge", "memoryless"] and devices == ["cpu (no autocast)"]
    assert all(math.isfinite(v[0]) and v[0] > 0 for v in nrmses.values())
    # the cell is a pure function of its config: computed again, the same bits
    assert exp.universality_cell(placement=CPU, **config) == fresh["result"]
