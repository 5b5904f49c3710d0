"""What the experiment tests share: the data or a skip (`installed_or_skip`), running cells and
recording them as evidence (`run_and_record`), one test per claim over a table (`per_claim`) and
one cells outcome of several `run_cells` calls (`merged`).

An experiment family (impl/experiments/<family>.py) decides several claims on one set of runs; its
test module runs the cells once (a module fixture) and writes its test once, parametrised by
`per_claim` over the claims with the family's evaluation function for each.
"""

from __future__ import annotations

import pytest

from claims.executors import CellsOutcome, run_cells


def installed_or_skip(load):
    """`load()` (the corpus, pretrained weights), or the test skipped with the reason
    impl.data.MissingData gives (which package is missing) when it is not installed."""
    from impl.data import MissingData
    try:
        return load()
    except MissingData as exc:
        pytest.skip(str(exc))


def run_and_record(evidence, cells) -> list[dict]:
    """Run `cells` through the harness's executor (reusing the results store's), record what ran
    and what was reused as the test's cells evidence, and return the cells' records."""
    outcome = run_cells(cells)
    evidence.cells(outcome.summary())
    return outcome.records


def per_claim(argnames: str, cases: dict):
    """`pytest.mark.parametrize(argnames, ...)` with one case per claim id of `cases` (claim id →
    the argument's value, or a tuple of values for several argnames): each case is linked to its
    claim (`pytest.mark.claim`) and named by it, e.g. `test_trained_elman[observed.e5_beats_e1]`."""
    several = "," in argnames
    return pytest.mark.parametrize(argnames, [
        pytest.param(*(values if several else (values,)), id=claim, marks=pytest.mark.claim(claim))
        for claim, values in cases.items()])


def merged(*outcomes: CellsOutcome) -> CellsOutcome:
    """One outcome of several run_cells calls (an experiment that runs its cells in stages: a
    grid, then the cells it picks), so the cells evidence counts each cell once."""
    first = outcomes[0]
    together = CellsOutcome([], [], store=first.store, executor=first.executor)
    for outcome in outcomes:
        together.cells += outcome.cells
        together.records += outcome.records
        for name in ("reused", "ran", "stale", "foreign", "recomputed"):
            getattr(together, name).extend(getattr(outcome, name))
    return together
