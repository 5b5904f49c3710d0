"""Experiment: gsa.smooth_exponent_profiles on the pretrained all-MiniLM-L6-v2 (003 §6).

The experiment (cells, decision rule, evidence) lives in impl/experiments/exponent_profiles.py;
this module runs its cells (one per weight type, reused from the results store) and decides.
"""

from __future__ import annotations

import pytest

import impl.experiments.exponent_profiles as exp
from benchmarks.experiments.deciding import installed_or_skip, run_and_record


@pytest.fixture(scope="module")
def minilm_weights():
    """The pretrained MiniLM weights' path; skips (saying what is missing) when they are not there."""
    return installed_or_skip(exp.weights_path)


@pytest.mark.experiment
@pytest.mark.claim("gsa.smooth_exponent_profiles")
def test_exponents_of_pretrained_minilm_vary_smoothly_with_depth(evidence, minilm_weights):
    exp.report(evidence, exp.spectra_from_records(run_and_record(evidence, exp.declare_cells())))
