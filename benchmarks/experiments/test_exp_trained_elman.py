"""Trained Elman byte-level LMs, dense E1 against low-rank E5: five claims decided on one set of
runs. The experiment (settings, cells, measurements, decision rules, evidence) is described and
implemented in impl/experiments/trained_elman.py; this module runs its cells once (reusing the
results store) and decides each claim."""

from __future__ import annotations

import pytest

import impl.experiments.trained_elman as experiment
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
@pytest.mark.claim("observed.e5_beats_e1")
def test_e5_reaches_lower_loss_than_e1(outcome, runs, evidence):
    evidence.cells(outcome.summary())
    experiment.evaluate_e5_beats_e1(runs, evidence)


@pytest.mark.experiment
@pytest.mark.claim("observed.alpha_in_range")
def test_trained_recurrent_spectra_have_alpha_in_range(outcome, runs, evidence):
    evidence.cells(outcome.summary())
    experiment.evaluate_alpha_in_range(runs, evidence)


@pytest.mark.experiment
@pytest.mark.claim("observed.power_law_best_model")
def test_power_law_fits_trained_spectra_best(outcome, runs, evidence):
    evidence.cells(outcome.summary())
    experiment.evaluate_power_law_best_model(runs, evidence)


@pytest.mark.experiment
@pytest.mark.claim("observed.jacobian_spectrum_differs")
def test_jacobian_spectrum_differs_from_static_spectrum(outcome, runs, evidence):
    evidence.cells(outcome.summary())
    experiment.evaluate_jacobian_spectrum_differs(runs, evidence)


@pytest.mark.experiment
@pytest.mark.claim("observed.spectrum_evolution")
def test_spectrum_evolves_during_training(outcome, runs, evidence):
    evidence.cells(outcome.summary())
    experiment.evaluate_spectrum_evolution(runs, evidence)
