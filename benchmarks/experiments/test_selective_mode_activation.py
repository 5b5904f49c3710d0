"""Experiment: flow.selective_mode_activation on the 16 × 16 two-layer linear model.

The experiment (cells, decision rule, evidence) lives in impl/experiments/selective_mode.py;
this module runs its cells (one per seed, reused from the results store) and decides.
"""

from __future__ import annotations

import pytest

import impl.experiments.selective_mode as exp
from benchmarks.experiments.deciding import run_and_record


@pytest.mark.experiment
@pytest.mark.claim("flow.selective_mode_activation")
def test_modes_are_learned_one_by_one_largest_first(evidence):
    exp.report(evidence, exp.run_from_records(run_and_record(evidence, exp.declare_cells())))
