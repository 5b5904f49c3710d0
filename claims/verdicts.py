"""Verdict rules: a pure function from check outcomes and the `uses` graph to verdicts.

Nothing here touches pytest: the plugin turns test reports into `CheckResult`s
and this module decides. Verdicts come from outcomes only, never from labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .registry import Registry

VERDICTS = ("confirmed", "refuted", "inconclusive", "error", "unchecked")

# Outcomes of one check (one pytest item).
PASSED = "passed"
FAILED = "failed"              # an assertion failed: the check found a counterexample
ERROR = "error"                # the check crashed (setup error, exception other than a failed assertion)
SKIPPED = "skipped"            # skipped, with its reason
XFAILED = "xfailed"            # failed, and the registry expected it to (expect = "fails")
XPASSED = "xpassed"            # passed although the registry expected it to fail
INCONCLUSIVE = "inconclusive"  # an experiment declared its data cannot decide
DESELECTED = "deselected"      # collected, then deselected (-k, -m, --lf)
NOT_RUN = "not_run"            # collected but never run (Ctrl-C, -x, crash)
OUTCOMES = (PASSED, FAILED, ERROR, SKIPPED, XFAILED, XPASSED, INCONCLUSIVE, DESELECTED, NOT_RUN)
RAN = (PASSED, FAILED, ERROR, XFAILED, XPASSED, INCONCLUSIVE)


@dataclass
class CheckResult:
    nodeid: str
    claims: tuple[str, ...]
    outcome: str
    duration_s: float = 0.0
    message: str | None = None     # failure message, counterexample, skip or inconclusive reason
    location: str | None = None    # file:line of the failure
    evidence: list[dict] = field(default_factory=list)
    experiment: bool = False       # an experiment (marker `experiment`, kind E)


@dataclass
class Verdict:
    claim_id: str
    verdict: str
    reason: str                    # one line a reader can act on
    checks: list[CheckResult]
    expected_to_fail: bool = False
    expectation_met: bool | None = None   # None when nothing is expected
    fully_confirmed: bool = False
    blocked_by: list[str] = field(default_factory=list)  # ancestors that are not confirmed

    @property
    def label(self) -> str:
        """The verdict as the report prints it, e.g. 'refuted (expected)'."""
        if not self.expected_to_fail:
            return self.verdict
        if self.verdict == "refuted":
            return "refuted (expected)"
        if self.verdict == "confirmed":
            return "confirmed (expected to fail)"
        return self.verdict


def _first(checks: list[CheckResult], outcomes: tuple[str, ...]) -> CheckResult | None:
    return next((c for c in checks if c.outcome in outcomes), None)


def _one_line(text: str | None, limit: int = 240) -> str:
    if not text:
        return ""
    line = " ".join(text.strip().split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def verdict_for(claim, checks: list[CheckResult]) -> Verdict:
    """The verdict of one claim from the outcomes of the checks linked to it.

    Precedence: a counterexample (refuted) outranks a crash elsewhere (error),
    which outranks an experiment that could not decide (inconclusive); a claim
    is confirmed only if at least one check ran and every check that ran passed.
    """
    ran = [c for c in checks if c.outcome in RAN]
    v = Verdict(claim.id, "unchecked", "", checks, expected_to_fail=claim.expected_to_fail)

    if (bad := _first(ran, (FAILED, XFAILED))) is not None:
        n = sum(c.outcome in (FAILED, XFAILED) for c in ran)
        v.verdict = "refuted"
        v.reason = f"{n} of {len(ran)} checks failed; {bad.nodeid}: {_one_line(bad.message)}"
    elif (bad := _first(ran, (ERROR,))) is not None:
        v.verdict = "error"
        v.reason = f"check crashed: {bad.nodeid}: {_one_line(bad.message)}"
    elif (bad := _first(ran, (INCONCLUSIVE,))) is not None:
        v.verdict = "inconclusive"
        v.reason = f"{bad.nodeid}: {_one_line(bad.message)}"
    elif ran:
        v.verdict = "confirmed"
        skipped = [c for c in checks if c.outcome not in RAN]
        v.reason = f"{len(ran)} of {len(ran)} checks that ran passed" + (
            f" ({len(skipped)} did not run: {_unrun_summary(skipped)})" if skipped else "")
    else:
        v.verdict = "unchecked"
        v.reason = _unchecked_reason(claim, checks)

    if claim.expected_to_fail:
        v.expectation_met = v.verdict == "refuted"
    return v


def _unrun_summary(checks: list[CheckResult]) -> str:
    parts = []
    for outcome in (SKIPPED, DESELECTED, NOT_RUN):
        group = [c for c in checks if c.outcome == outcome]
        if group:
            detail = _one_line(group[0].message, 160)
            parts.append(f"{len(group)} {outcome.replace('_', ' ')}" + (f": {detail}" if detail else ""))
    return "; ".join(parts)


def _unchecked_reason(claim, checks: list[CheckResult]) -> str:
    if checks:
        return _unrun_summary(checks)
    if claim.unchecked_reason:
        prefix = "definition: " if claim.declared == "definition" else ""
        return prefix + _one_line(claim.unchecked_reason, 400)
    if claim.declared == "definition":
        return "definition: asserts nothing a check could refute"
    return "no check exists yet for this claim (needs " + ", ".join(claim.checks) + ")"


def compute_verdicts(registry: Registry, results: list[CheckResult]) -> dict[str, Verdict]:
    """Verdicts for every claim of the registry, with `fully_confirmed` over `uses`."""
    by_claim: dict[str, list[CheckResult]] = {cid: [] for cid in registry.claims}
    for result in results:
        for cid in result.claims:
            by_claim[cid].append(result)
    verdicts = {cid: verdict_for(registry[cid], by_claim[cid]) for cid in registry.claims}
    for cid, v in verdicts.items():
        v.blocked_by = [a for a in registry.ancestors(cid) if verdicts[a].verdict != "confirmed"]
        v.fully_confirmed = v.verdict == "confirmed" and not v.blocked_by
    return verdicts


def counts(verdicts) -> dict[str, int]:
    """Verdict counts in the fixed order of VERDICTS (zeros included)."""
    out = {name: 0 for name in VERDICTS}
    for v in verdicts:
        out[v if isinstance(v, str) else v.verdict] += 1
    return out
