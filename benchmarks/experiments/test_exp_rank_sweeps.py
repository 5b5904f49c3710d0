"""Experiments: rank sweeps at one fixed width d — observed.eps_threshold,
observed.linear_vs_elman_ratio, observed.nonlinear_correction, observed.lower_rank_better_flow,
observed.multi_matrix, observed.lr_scales_with_rank.

The experiment (what is trained and measured, the cells, the decision rules, the evidence) is
impl/experiments/rank_sweeps.py; this module runs its cells and decides each claim.
"""

from __future__ import annotations

import pytest

import impl.experiments.rank_sweeps as exp
from benchmarks.experiments.deciding import merged, per_claim
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
        return merged(*self.outcomes).summary()


@pytest.fixture(scope="module")
def runs(corpus):
    return Runs()


@pytest.mark.experiment
@per_claim("report", {"observed.eps_threshold": exp.report_eps_threshold,
                      "observed.linear_vs_elman_ratio": exp.report_linear_vs_elman_ratio,
                      "observed.nonlinear_correction": exp.report_nonlinear_correction,
                      "observed.lower_rank_better_flow": exp.report_lower_rank_better_flow,
                      "observed.multi_matrix": exp.report_multi_matrix})
def test_rank_sweeps(runs, evidence, report):
    evidence.cells(runs.summary())
    report(runs.lab, evidence)


@pytest.mark.experiment
@pytest.mark.claim("observed.lr_scales_with_rank")
def test_optimal_learning_rate_against_rank(runs, evidence):
    blocks = exp.lr_blocks(runs.lab)          # fetches the lr extensions the minima ask for
    evidence.cells(runs.summary())
    exp.report_lr_scales_with_rank(runs.lab, evidence, blocks)
