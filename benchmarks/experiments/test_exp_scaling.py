"""Experiments on where the best rank ratio r/d of E5 lies and how it scales:
observed.optimal_ratio_17pct, observed.ratio_scale_invariant, observed.ratio_vs_data,
observed.alpha_beta_scaling. The design, cells, decision rules and evidence are in
impl/experiments/scaling.py; this module runs the cells and decides."""

from __future__ import annotations

import pytest

import impl.experiments.scaling as exp
from claims.executors import run_cells
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)


@pytest.fixture(scope="module")
def runs(corpus):
    """Every training run of the four claims, each one cell (shared runs are one cell)."""
    cells = exp.declare_cells()
    outcome = run_cells(cells)
    return exp.Lab.from_records(exp.setting(), cells, outcome.records), outcome


@pytest.mark.experiment
@pytest.mark.claim("observed.optimal_ratio_17pct")
def test_parameter_matched_optimum_near_17_percent(runs, evidence):
    lab, outcome = runs
    evidence.cells(outcome.summary())
    exp.optimal_ratio_experiment(lab, evidence)


@pytest.mark.experiment
@pytest.mark.claim("observed.ratio_scale_invariant")
def test_knee_ratio_does_not_move_with_width(runs, evidence):
    lab, outcome = runs
    evidence.cells(outcome.summary())
    exp.scale_invariance_experiment(lab, evidence)


@pytest.mark.experiment
@pytest.mark.claim("observed.ratio_vs_data")
def test_knee_ratio_against_amount_of_data(runs, evidence):
    lab, outcome = runs
    evidence.cells(outcome.summary())
    exp.data_experiment(lab, evidence)


@pytest.mark.experiment
@pytest.mark.claim("observed.alpha_beta_scaling")
def test_loss_scaling_exponent_against_spectral_exponent(runs, evidence):
    lab, outcome = runs
    evidence.cells(outcome.summary())
    exp.alpha_beta_experiment(lab, evidence)
