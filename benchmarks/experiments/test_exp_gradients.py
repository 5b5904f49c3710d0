"""Experiments: gradient quality, throughput and state capacity (gradient.mamba2_better_quality,
lowrank.increases_snr, observed.xgated_faster_than_mamba2, expansion.wide_beats_narrow).

The experiments' description, cells, decision rules and evidence are in impl/experiments/gradients.py;
this module runs the cells (reused from the results store where they are there) and decides.
"""

from __future__ import annotations

import pytest

import impl.experiments.gradients as exp
from claims.executors import CellsOutcome, run_cells
from impl.experiments.common import conclude
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)


def combined(*outcomes: CellsOutcome) -> CellsOutcome:
    """One outcome of several run_cells calls (the SNR cells run in two stages: the learning-rate
    grid, then the cells at the picked rates), so the cells evidence counts each cell once."""
    first = outcomes[0]
    merged = CellsOutcome([], [], store=first.store, executor=first.executor)
    for outcome in outcomes:
        merged.cells += outcome.cells
        merged.records += outcome.records
        for name in ("reused", "ran", "stale", "foreign", "recomputed"):
            getattr(merged, name).extend(getattr(outcome, name))
    return merged


@pytest.fixture(scope="module")
def snr(corpus):
    """The SNR runs shared by gradient.mamba2_better_quality and lowrank.increases_snr: the grid
    cells first (the learning rate is picked on them), then the rest at the picked rates."""
    grid_cells = exp.snr_grid_cells()
    grid = run_cells(grid_cells)
    picked = exp.picked_learning_rates(grid_cells, grid.records)
    known = {cell.key for cell in grid_cells}
    rest = run_cells([cell for cell in exp.snr_cells(picked["lr"]) if cell.key not in known])
    outcome = combined(grid, rest)
    return outcome, exp.snr_runs_from(outcome.cells, outcome.records, picked)


@pytest.mark.experiment
@pytest.mark.claim("gradient.mamba2_better_quality")
def test_mamba2_gradient_snr_against_stock_elman(snr, evidence):
    outcome, runs = snr
    evidence.cells(outcome.summary())
    conclude(evidence, *exp.record_mamba2_snr(evidence, runs, outcome.records))


@pytest.mark.experiment
@pytest.mark.claim("lowrank.increases_snr")
def test_low_rank_recurrence_gradient_snr_against_dense(snr, evidence):
    outcome, runs = snr
    evidence.cells(outcome.summary())
    conclude(evidence, *exp.record_lowrank_snr(evidence, runs, outcome.records))


@pytest.mark.experiment
@pytest.mark.claim("observed.xgated_faster_than_mamba2")
def test_xgated_throughput_and_loss_against_mamba2(corpus, evidence):
    outcome = run_cells(exp.xgated_cells())
    evidence.cells(outcome.summary())
    repeats = [record["result"] for record in outcome.records]
    conclude(evidence, *exp.record_xgated(evidence, repeats, outcome.records))


@pytest.mark.experiment
@pytest.mark.claim("expansion.wide_beats_narrow")
def test_wide_state_has_more_memory_capacity_at_equal_parameters(evidence):
    cells = exp.capacity_cells()
    outcome = run_cells(cells)
    evidence.cells(outcome.summary())
    runs = exp.capacity_runs_from(cells, outcome.records)
    conclude(evidence, *exp.record_capacity(evidence, runs, outcome.records))
