"""Experiments on where the best rank ratio r/d of E5 lies and how it scales:
observed.optimal_ratio_17pct, observed.ratio_scale_invariant, observed.ratio_vs_data,
observed.alpha_beta_scaling. The design, cells, decision rules and evidence are in
impl/experiments/scaling.py; this module runs the cells and decides."""

from __future__ import annotations

import pytest

import impl.experiments.scaling as exp
from benchmarks.experiments.deciding import per_claim
from claims.executors import run_cells
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)


@pytest.fixture(scope="module")
def runs(corpus):
    """Every training run of the four claims, each one cell (shared runs are one cell)."""
    cells = exp.declare_cells()
    outcome = run_cells(cells)
    return exp.Lab.from_records(exp.setting(), cells, outcome.records), outcome


@pytest.mark.experiment
@per_claim("experiment", {"observed.optimal_ratio_17pct": exp.optimal_ratio_experiment,
                          "observed.ratio_scale_invariant": exp.scale_invariance_experiment,
                          "observed.ratio_vs_data": exp.data_experiment,
                          "observed.alpha_beta_scaling": exp.alpha_beta_experiment})
def test_scaling(runs, evidence, experiment):
    lab, outcome = runs
    evidence.cells(outcome.summary())
    experiment(lab, evidence)
