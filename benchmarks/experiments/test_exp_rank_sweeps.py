"""Experiments: rank sweeps at one fixed width d — observed.eps_threshold,
observed.linear_vs_elman_ratio, observed.nonlinear_correction, observed.lower_rank_better_flow,
observed.multi_matrix, observed.lr_scales_with_rank.

The experiment (what is trained and measured, the cells, the decision rules, the evidence) is
impl/experiments/rank_sweeps.py; this module runs its cells and decides each claim.
"""

from __future__ import annotations

import pytest

import impl.experiments.rank_sweeps as exp
from claims.executors import CellsOutcome, run_cells
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)


class Runs:
    """The Lab and every cells outcome behind it (the declared cells, then the lr extensions)."""

    def __init__(self):
        self.outcomes: list[CellsOutcome] = []
        cells = exp.declare_cells()
        self.outcomes.append(run_cells(cells))
        self.lab = exp.Lab.from_records(cells, self.outcomes[0].records, fetch=self._fetch)

    def _fetch(self, cells):
        self.outcomes.append(run_cells(cells))
        return self.outcomes[-1].records

    def summary(self) -> dict:
        """One summary over all the outcomes so far."""
        first = self.outcomes[0]
        merged = CellsOutcome([], [], store=first.store, executor=first.executor)
        for outcome in self.outcomes:
            merged.cells += outcome.cells
            merged.records += outcome.records
            for name in ("reused", "ran", "stale", "foreign", "recomputed"):
                getattr(merged, name).extend(getattr(outcome, name))
        return merged.summary()


@pytest.fixture(scope="module")
def runs(corpus):
    return Runs()


@pytest.mark.experiment
@pytest.mark.claim("observed.eps_threshold")
def test_knee_of_loss_against_captured_variance(runs, evidence):
    evidence.cells(runs.summary())
    exp.report_eps_threshold(runs.lab, evidence)


@pytest.mark.experiment
@pytest.mark.claim("observed.linear_vs_elman_ratio")
def test_knee_ratio_linear_against_elman(runs, evidence):
    evidence.cells(runs.summary())
    exp.report_linear_vs_elman_ratio(runs.lab, evidence)


@pytest.mark.experiment
@pytest.mark.claim("observed.nonlinear_correction")
def test_implied_exponent_correction_for_tanh(runs, evidence):
    evidence.cells(runs.summary())
    exp.report_nonlinear_correction(runs.lab, evidence)


@pytest.mark.experiment
@pytest.mark.claim("observed.lower_rank_better_flow")
def test_gradient_snr_and_convergence_against_rank(runs, evidence):
    evidence.cells(runs.summary())
    exp.report_lower_rank_better_flow(runs.lab, evidence)


@pytest.mark.experiment
@pytest.mark.claim("observed.multi_matrix")
def test_low_rank_input_and_recurrence_matrices_2x2(runs, evidence):
    evidence.cells(runs.summary())
    exp.report_multi_matrix(runs.lab, evidence)


@pytest.mark.experiment
@pytest.mark.claim("observed.lr_scales_with_rank")
def test_optimal_learning_rate_against_rank(runs, evidence):
    blocks = exp.lr_blocks(runs.lab)          # fetches the lr extensions the minima ask for
    evidence.cells(runs.summary())
    exp.report_lr_scales_with_rank(runs.lab, evidence, blocks)
