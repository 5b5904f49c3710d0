"""Experiments: gradient quality, throughput and state capacity (gradient.mamba2_better_quality,
lowrank.increases_snr, observed.xgated_faster_than_mamba2, expansion.wide_beats_narrow).

The experiments' description, cells, decision rules and evidence are in impl/experiments/gradients.py;
this module runs the cells (reused from the results store where they are there) and decides.
"""

from __future__ import annotations

import pytest

import impl.experiments.gradients as exp
from benchmarks.experiments.deciding import merged, per_claim, run_and_record
from claims.executors import run_cells
from impl.experiments.common import conclude
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)


@pytest.fixture(scope="module")
def snr(corpus):
    """The SNR runs shared by gradient.mamba2_better_quality and lowrank.increases_snr: the grid
    cells first (the learning rate is picked on them), then the rest at the picked rates."""
    grid_cells = exp.snr_grid_cells()
    grid = run_cells(grid_cells)
    picked = exp.picked_learning_rates(grid_cells, grid.records)
    known = {cell.key for cell in grid_cells}
    rest = run_cells([cell for cell in exp.snr_cells(picked["lr"]) if cell.key not in known])
    outcome = merged(grid, rest)
    return outcome, exp.snr_runs_from(outcome.cells, outcome.records, picked)


@pytest.mark.experiment
@per_claim("record", {"gradient.mamba2_better_quality": exp.record_mamba2_snr,
                      "lowrank.increases_snr": exp.record_lowrank_snr})
def test_gradient_snr(snr, evidence, record):
    outcome, runs = snr
    evidence.cells(outcome.summary())
    conclude(evidence, *record(evidence, runs, outcome.records))


@pytest.mark.experiment
@pytest.mark.claim("observed.xgated_faster_than_mamba2")
def test_xgated_throughput_and_loss_against_mamba2(corpus, evidence):
    records = run_and_record(evidence, exp.xgated_cells())
    conclude(evidence, *exp.record_xgated(evidence, [record["result"] for record in records], records))


@pytest.mark.experiment
@pytest.mark.claim("expansion.wide_beats_narrow")
def test_wide_state_has_more_memory_capacity_at_equal_parameters(evidence):
    cells = exp.capacity_cells()
    records = run_and_record(evidence, cells)
    conclude(evidence, *exp.record_capacity(evidence, exp.capacity_runs_from(cells, records), records))
