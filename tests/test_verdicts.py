"""The verdict rules as a pure function: outcomes in, verdicts out."""

from __future__ import annotations

import textwrap

import pytest

from claims.registry import load_registry
from claims.verdicts import CheckResult, compute_verdicts

from .conftest import MINI_REGISTRY


@pytest.fixture
def registry(tmp_path):
    (tmp_path / "demo.toml").write_text(textwrap.dedent(MINI_REGISTRY))
    return load_registry(tmp_path)


def check(claim, outcome, message=None):
    return CheckResult(f"test_{claim}_{outcome}", (claim,), outcome, 0.1, message)


@pytest.mark.parametrize("outcomes, verdict", [
    (["passed"], "confirmed"),
    (["passed", "passed", "skipped"], "confirmed"),
    (["passed", "failed"], "refuted"),
    (["error", "failed"], "refuted"),          # a counterexample outranks a crash elsewhere
    (["passed", "error"], "error"),
    (["passed", "inconclusive"], "inconclusive"),
    (["skipped"], "unchecked"),
    (["deselected"], "unchecked"),
    (["not_run"], "unchecked"),
    ([], "unchecked"),
])
def test_verdict_precedence(registry, outcomes, verdict):
    results = [check("demo.holds", o, f"why {o}") for o in outcomes]
    assert compute_verdicts(registry, results)["demo.holds"].verdict == verdict


def test_unchecked_reasons_say_why(registry):
    verdicts = compute_verdicts(registry, [check("demo.holds", "skipped", "needs a GPU")])
    assert "needs a GPU" in verdicts["demo.holds"].reason
    assert "no check exists" in verdicts["demo.nocheck"].reason
    assert verdicts["demo.definition"].reason.startswith("definition:")


def test_refuted_reason_carries_the_failure(registry):
    v = compute_verdicts(registry, [check("demo.fails", "failed", "AssertionError: 2 != 3")])["demo.fails"]
    assert v.verdict == "refuted" and "2 != 3" in v.reason


def test_fully_confirmed_needs_every_ancestor(registry):
    results = [check("demo.holds", "passed"), check("demo.fails", "failed"), check("demo.depends", "passed")]
    verdicts = compute_verdicts(registry, results)
    assert verdicts["demo.holds"].fully_confirmed
    assert verdicts["demo.depends"].verdict == "confirmed"
    assert not verdicts["demo.depends"].fully_confirmed
    assert verdicts["demo.depends"].blocked_by == ["demo.fails"]


def test_expected_failure_labels(registry, tmp_path):
    text = textwrap.dedent(MINI_REGISTRY).replace(
        'uses = ["demo.holds"]\nchecks = ["P"]',
        'uses = ["demo.holds"]\nchecks = ["P"]\nexpect = "fails"\nexpect_reason = "2 != 3"')
    (tmp_path / "demo.toml").write_text(text)
    expecting = load_registry(tmp_path)
    v = compute_verdicts(expecting, [check("demo.fails", "xfailed", "AssertionError")])["demo.fails"]
    assert (v.verdict, v.label, v.expectation_met) == ("refuted", "refuted (expected)", True)
    v = compute_verdicts(expecting, [check("demo.fails", "xpassed")])["demo.fails"]
    assert (v.verdict, v.label, v.expectation_met) == ("confirmed", "confirmed (expected to fail)", False)
