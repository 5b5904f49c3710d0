"""Experiments of the linear recurrent units: lru.complex_near_circle_helps, lru.reconstruction,
lru.mlp_universality and the E part of lru.forward_blowup. What they measure, their cells and their
decision rules are in impl/experiments/lru.py; this module runs each experiment's cells through the
harness's executor (reusing stored ones), then records the evidence and decides."""

from __future__ import annotations

import pytest

import impl.experiments.lru as exp
from benchmarks.experiments.deciding import per_claim, run_and_record
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """numpy's and scipy's BLAS (the ridge readouts) on one thread too: the torch fixture does not
    reach them, and two spinning OpenBLAS threads on the busy 2-core machine made a 256 × 256
    solve take 0.4 s instead of milliseconds."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1):
        yield


@pytest.mark.experiment
@per_claim("cells, record", {"lru.complex_near_circle_helps": (exp.near_circle_cells, exp.record_near_circle),
                             "lru.reconstruction": (exp.reconstruction_cells, exp.record_reconstruction),
                             "lru.mlp_universality": (exp.universality_cells, exp.record_universality),
                             "lru.forward_blowup": (exp.blowup_cells, exp.record_blowup)})
def test_lru(evidence, cells, record):
    exp.conclude(evidence, *record(evidence, run_and_record(evidence, cells())))
