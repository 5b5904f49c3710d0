"""Outcome classification: how pytest's reports on a claim check become the check's outcome.

`ItemRecord` is one collected claim check: its claims, its evidence and, once it ran, its outcome
(claims/verdicts.py names them). `classify` reads one phase's report (setup, call, teardown): a
failed assertion is `failed` (a counterexample), any other exception `error`, a pass with an
inconclusive declaration `inconclusive`; the registry's expected failures run as strict xfail.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from .evidence import Evidence
from .verdicts import ERROR, FAILED, INCONCLUSIVE, NOT_RUN, PASSED, SKIPPED, XFAILED, XPASSED


@dataclass
class ItemRecord:
    nodeid: str
    claims: tuple[str, ...]
    evidence: Evidence
    outcome: str = NOT_RUN
    duration_s: float = 0.0
    message: str | None = None
    location: str | None = None
    experiment: bool = False       # carries the `experiment` marker (kind E)


def classify(record: ItemRecord, report, call) -> None:
    """Set the record's outcome, message and location from the report of one phase."""
    excinfo = call.excinfo
    if call.when == "setup":
        if report.skipped:
            record.outcome, record.message = SKIPPED, _skip_reason(report)
        elif report.failed:
            record.outcome, record.message = ERROR, "setup failed: " + describe(excinfo.value)
            record.location = location(report)
    elif call.when == "call":
        record.duration_s = report.duration
        if hasattr(report, "wasxfail"):
            if report.skipped:  # failed as the registry expected
                failed = excinfo is not None and is_assertion_failure(excinfo.value)
                record.outcome = XFAILED if failed else ERROR
                record.message = describe(excinfo.value) if excinfo else report.wasxfail
            else:
                unexpected_pass(record)
        elif report.passed:
            reason = record.evidence.inconclusive_reason
            record.outcome = INCONCLUSIVE if reason else PASSED
            record.message = reason
        elif report.skipped:
            record.outcome, record.message = SKIPPED, _skip_reason(report)
        elif report.failed:
            if "XPASS(strict)" in str(report.longrepr):
                unexpected_pass(record)
            else:
                record.outcome = FAILED if is_assertion_failure(excinfo.value) else ERROR
                record.message = describe(excinfo.value)
                record.location = location(report)
    elif call.when == "teardown" and report.failed and record.outcome in (PASSED, INCONCLUSIVE):
        record.outcome, record.message = ERROR, "teardown failed: " + describe(excinfo.value)


def _skip_reason(report) -> str:
    return report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)


def is_assertion_failure(exc: BaseException) -> bool:
    """A failed check (counterexample) as opposed to a crash of the check."""
    from hypothesis.errors import Flaky, HypothesisException
    if isinstance(exc, (Flaky, HypothesisException)):
        return False
    if isinstance(exc, (AssertionError, pytest.fail.Exception)):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return all(is_assertion_failure(e) for e in exc.exceptions)
    return False


def describe(exc: BaseException, limit: int = 4000) -> str:
    """Exception text with its notes (hypothesis puts the falsifying example there)."""
    lines = [f"{type(exc).__name__}: {exc}".rstrip(": ")]
    lines.extend(str(n) for n in getattr(exc, "__notes__", ()) or ())
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions[:3]:
            lines.append("  " + describe(sub, limit // 3).replace("\n", "\n  "))
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def location(report) -> str | None:
    crash = getattr(report.longrepr, "reprcrash", None)
    return f"{crash.path}:{crash.lineno}" if crash is not None else None


def unexpected_pass(record: ItemRecord) -> None:
    """A check the registry expects to fail did not fail. If it is an experiment that declared its data
    inconclusive, the verdict is inconclusive (not confirmed): the expectation is unmet either way, and
    pytest's strict xfail still turns the run red so that the registry gets updated."""
    expected = ("the registry expects it to fail (expect = \"fails\"): the finding no longer holds; "
                "update the registry")
    reason = record.evidence.inconclusive_reason
    if reason:
        record.outcome, record.message = INCONCLUSIVE, f"{reason} — inconclusive although {expected}"
    else:
        record.outcome, record.message = XPASSED, f"passed although {expected}"
