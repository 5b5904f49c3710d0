"""Experiment: gsa.smooth_exponent_profiles on the pretrained all-MiniLM-L6-v2 (003 §6).

The experiment (cells, decision rule, evidence) lives in impl/experiments/exponent_profiles.py;
this module runs its cells (one per weight type, reused from the results store) and decides.
"""

from __future__ import annotations

import pytest

import impl.experiments.exponent_profiles as exp
from claims.executors import run_cells


@pytest.fixture(scope="module")
def outcome():
    from impl.data import MissingData
    try:
        exp.weights_path()
    except MissingData as exc:
        pytest.skip(str(exc))
    return run_cells(exp.declare_cells())


@pytest.mark.experiment
@pytest.mark.claim("gsa.smooth_exponent_profiles")
def test_exponents_of_pretrained_minilm_vary_smoothly_with_depth(evidence, outcome):
    evidence.cells(outcome.summary())
    exp.report(evidence, exp.spectra_from_records(outcome.records))
