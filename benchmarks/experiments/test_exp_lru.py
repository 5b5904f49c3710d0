"""Experiments of the linear recurrent units: lru.complex_near_circle_helps, lru.reconstruction,
lru.mlp_universality and the E part of lru.forward_blowup. What they measure, their cells and their
decision rules are in impl/experiments/lru.py; this module runs each experiment's cells through the
harness's executor (reusing stored ones), then records the evidence and decides."""

from __future__ import annotations

import pytest

import impl.experiments.lru as exp
from claims.executors import run_cells
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """numpy's and scipy's BLAS (the ridge readouts) on one thread too: the torch fixture does not
    reach them, and two spinning OpenBLAS threads on the busy 2-core machine made a 256 × 256
    solve take 0.4 s instead of milliseconds."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1):
        yield


@pytest.mark.experiment
@pytest.mark.claim("lru.complex_near_circle_helps")
def test_complex_nodes_near_the_circle_condition_and_reconstruct_better(evidence):
    outcome = run_cells(exp.near_circle_cells())
    evidence.cells(outcome.summary())
    results, cross_check = exp.near_circle_results(outcome.records)
    ratios = exp.near_circle_ratios(results)
    verdict, reason = exp.decide_complex_near_circle(ratios)

    # cross-check of the ball-arithmetic κ₂ against mpmath's SVD where mpmath is affordable (L = 16)
    gaps = exp.near_circle_cross_check_gaps(results, cross_check)
    if max(gaps) > 1e-8:
        raise RuntimeError(f"flint κ₂ disagrees with mpmath's SVD at L = 16: max relative gap {max(gaps):.3g}")
    exp.record_near_circle(evidence, results, ratios, gaps)
    exp.conclude(evidence, verdict, reason, exp.near_circle_to_decide(ratios))


@pytest.mark.experiment
@pytest.mark.claim("lru.reconstruction")
def test_digit_images_are_recovered_from_the_final_state(evidence):
    outcome = run_cells(exp.reconstruction_cells())
    evidence.cells(outcome.summary())
    errors, examples = exp.reconstruction_results(outcome.records)
    verdict, reason = exp.decide_reconstruction(errors)

    exp.record_reconstruction(evidence, errors, examples)
    exp.conclude(evidence, verdict, reason, exp.reconstruction_to_decide(errors))


@pytest.mark.experiment
@pytest.mark.claim("lru.mlp_universality")
def test_linear_rnn_and_mlp_approximate_a_controlled_lotka_volterra_system(evidence):
    outcome = run_cells(exp.universality_cells())
    evidence.cells(outcome.summary())
    nrmses, devices = exp.universality_results(outcome.records)
    verdict, reason = exp.decide_mlp_universality(nrmses)

    exp.record_universality(evidence, nrmses, devices)
    exp.conclude(evidence, verdict, reason, exp.universality_to_decide(nrmses))


@pytest.mark.experiment
@pytest.mark.claim("lru.forward_blowup")
def test_simulated_state_power_matches_the_blowup_factor(evidence):
    outcome = run_cells(exp.blowup_cells())
    evidence.cells(outcome.summary())
    runs = exp.blowup_results(outcome.records)
    verdict, reason = exp.decide_forward_blowup(runs)

    exp.record_blowup(evidence, runs)
    exp.conclude(evidence, verdict, reason, exp.blowup_to_decide(runs))
