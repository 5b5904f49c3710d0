"""Trained Elman byte-level LMs, dense E1 against low-rank E5: five claims decided on one set of
runs. The experiment (settings, cells, measurements, decision rules, evidence) is described and
implemented in impl/experiments/trained_elman.py; this module runs its cells once (reusing the
results store) and decides each claim."""

from __future__ import annotations

import pytest

import impl.experiments.trained_elman as experiment
from benchmarks.experiments.deciding import per_claim
from claims.executors import run_cells
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)


@pytest.fixture(scope="module")
def outcome(corpus):
    """The 6 runs (E1 and E5, 3 seeds each) of the current scale, from the store or run now."""
    return run_cells(experiment.declare_cells())


@pytest.fixture(scope="module")
def runs(outcome) -> dict[str, list[experiment.Run]]:
    return experiment.runs_from_records(outcome.records)


@pytest.mark.experiment
@per_claim("evaluate", {"observed.e5_beats_e1": experiment.evaluate_e5_beats_e1,
                        "observed.alpha_in_range": experiment.evaluate_alpha_in_range,
                        "observed.power_law_best_model": experiment.evaluate_power_law_best_model,
                        "observed.jacobian_spectrum_differs": experiment.evaluate_jacobian_spectrum_differs,
                        "observed.spectrum_evolution": experiment.evaluate_spectrum_evolution})
def test_trained_elman(outcome, runs, evidence, evaluate):
    evidence.cells(outcome.summary())
    evaluate(runs, evidence)
