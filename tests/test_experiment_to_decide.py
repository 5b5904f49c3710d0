"""What two experiments say would decide them when they end inconclusive, on synthetic data.

gsa.smooth_exponent_profiles (impl/experiments/exponent_profiles.py, `settle`) and
flow.selective_mode_activation (impl/experiments/selective_mode.py, `what_would_decide`)
record a to-decide text on every inconclusive path; their real runs are confirmed today, so these
paths run here, fed with results built to reach each of them. Also the exponent-profile cell (the
experiment's one costly step, the spectra of a weight type's matrices) against an independent
SVD, with a planted precision bug it must catch.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("torch")   # the experiment modules import it at the top

from impl.experiments.exponent_profiles import MIN_MEDIAN_R2, settle  # noqa: E402
from impl.experiments.selective_mode import (  # noqa: E402
    INIT_SCALES, LR, MAX_STEPS, SIGMA, Measurements, decide, what_would_decide)
from impl.spectral.profiles import NullSample, SmoothnessTest  # noqa: E402


def smoothness(z: float) -> SmoothnessTest:
    null = tuple(NullSample(seed, p05=5.15, median=5.94, p_value=0.02) for seed in (0, 1, 2))
    return SmoothnessTest(tv=np.ones(6), p_per_type=np.full(6, 0.1), median_null_tv=np.ones(6), z=z, null=null)


def windows(primary: str, first: str = "inconclusive", second: str = "inconclusive", z: float = 5.5):
    return {"primary": (None, smoothness(z), primary), "wide": (None, smoothness(6.2), first),
            "narrow": (None, smoothness(5.0), second)}


GOOD_FIT = {"primary": 0.95, "wide": 0.6, "narrow": 0.9}


def test_exponent_profiles_decisive_verdicts_need_nothing_more():
    assert settle(windows("confirmed", z=4.9), GOOD_FIT) == ("confirmed", None, None)
    assert settle(windows("refuted", z=6.0), GOOD_FIT) == ("refuted", None, None)


@pytest.mark.parametrize("results, r2, needle", [
    (windows("confirmed", z=4.9), {**GOOD_FIT, "primary": MIN_MEDIAN_R2 - 0.01}, "median R² ≥ 0.9"),
    (windows("confirmed", first="refuted", z=4.9), GOOD_FIT, "wide gives refuted (Z = 6.200)"),
    (windows("inconclusive", z=5.5), GOOD_FIT, "fall 0.350 to below the null 5th percentile (5.150)"),
])
def test_exponent_profiles_every_inconclusive_path_says_what_would_decide(results, r2, needle):
    verdict, reason, what = settle(results, r2)
    assert verdict == "inconclusive" and reason and what and needle in what, (reason, what)


def synthetic(seeds: int = 5) -> Measurements:
    """Learning times on the logistic law's slope, small modes and off-target part well inside (c)."""
    x = np.log(1 / INIT_SCALES ** 2)
    times = (1.0 / SIGMA)[None, None, :] + (x[None, :, None] / (2 * SIGMA)[None, None, :]) * np.ones((seeds, 1, 1))
    return Measurements(sigma=SIGMA, init_scales=INIT_SCALES, learning_times=times,
                        small_mode_ratio=np.full((seeds, len(INIT_SCALES), len(SIGMA) - 1), 1e-3),
                        off_target_ratio=np.full((seeds, len(INIT_SCALES)), 1e-3))


def test_selective_modes_missing_learning_time_asks_for_a_longer_run():
    m = synthetic()
    times = m.learning_times.copy()
    times[0, -1, -1] = np.nan                      # mode 5 not learned at c = 1e-6, seed 0
    m = dataclasses.replace(m, learning_times=times)
    assert decide(m)[0] == "inconclusive"
    text = what_would_decide(m)
    assert "1 (seed, c, mode) learning times are missing (smallest such c = 1e-06)" in text
    assert f"stopped at t = {LR * MAX_STEPS:g}" in text and f"MAX_STEPS = {2 * MAX_STEPS:,}" in text


def test_selective_modes_split_seeds_say_what_a_majority_needs():
    m = synthetic()
    small = m.small_mode_ratio.copy()
    small[:2, 1] = 0.5                             # two of five seeds break (c) at c = 1e-4: no majority
    m = dataclasses.replace(m, small_mode_ratio=small)
    assert decide(m)[0] == "inconclusive"
    text = what_would_decide(m)
    assert "2 of 5 seeds fail a test, 2 of them with a refuting failure" in text
    assert "refuting fraction 0.40" in text and "would not reach a majority" in text


# ------------------------------------------------------------- the exponent-profile cell

def minilm_or_skip():
    import impl.experiments.exponent_profiles as exp
    from impl.data import MissingData
    try:
        return exp.weights_path()
    except MissingData as exc:
        pytest.skip(f"the exponent-profile cell needs the pretrained weights: {exc}")


def cell_spectra_mismatches(kind: str = "intermediate") -> list[str]:
    """The declared cell of one weight type, executed as the executor does (one thread, record
    through encode / decode), against numpy's LAPACK SVD of the same tensors read as numpy arrays."""
    from safetensors import safe_open

    import impl.experiments.exponent_profiles as exp
    from claims.cells import decode, encode, execute
    from claims.device import Placement
    path = minilm_or_skip()
    cell = next(c for c in exp.declare_cells() if c.config_dict["weight_type"] == kind)
    sigma = decode(encode(execute(cell, Placement("cpu", None))))["result"]["sigma"]
    problems = []
    from threadpoolctl import threadpool_limits
    # one BLAS thread, as the cell has: two spin-waiting threads on a busy 2-core machine take seconds
    with threadpool_limits(limits=1), safe_open(str(path), framework="np") as weights:
        for layer in range(exp.LAYERS):
            matrix = weights.get_tensor(f"encoder.layer.{layer}.{exp.WEIGHT_TYPES[kind]}").astype(np.float64)
            expected = np.linalg.svd(matrix, compute_uv=False)
            error = np.max(np.abs(np.asarray(sigma[layer]) - expected)) / expected[0]
            if sigma[layer].shape != expected.shape or not error <= 1e-12:
                problems.append(f"{kind} layer {layer}: max |Δσ|/σ_1 = {error:.2e}")
    return problems


def test_exponent_profile_cell_gives_the_spectra_of_an_independent_svd():
    assert cell_spectra_mismatches() == []        # pytest lists the mismatches otherwise


def test_negative_control_spectra_in_single_precision_are_caught(monkeypatch):
    import torch
    svdvals = torch.linalg.svdvals
    monkeypatch.setattr(torch.linalg, "svdvals", lambda a: svdvals(a.float()).double())   # planted: float32 SVD
    problems = cell_spectra_mismatches()
    assert len(problems) == 6, problems


def test_exponent_profile_cells_are_one_per_weight_type_at_every_scale(monkeypatch):
    import impl.experiments.exponent_profiles as exp
    keys = set()
    for scale_name in ("small", "medium", "full"):
        monkeypatch.setenv("CLAIMS_SCALE", scale_name)
        cells = exp.declare_cells()
        assert [c.config_dict["weight_type"] for c in cells] == list(exp.WEIGHT_TYPES)
        assert all(c.params is None and c.tokens is None for c in cells)
        keys.add(tuple(c.key for c in cells))
    assert len(keys) == 1                      # static weights: the same cells at every scale
    with pytest.raises(ValueError, match="spectra_from_records: expected 6 records"):
        exp.spectra_from_records([])


def test_exponent_profile_cell_names_a_missing_tensor():
    import impl.experiments.exponent_profiles as exp
    from claims.device import Placement
    minilm_or_skip()
    with pytest.raises(KeyError, match="encoder.layer.0.attention.self.nope.weight"):
        exp.weight_type_spectra(placement=Placement("cpu", None), model=exp.MODEL, weight_type="nope",
                                tensor_suffix="attention.self.nope.weight", layers=1)
