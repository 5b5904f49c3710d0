"""Reading one claim's entry of a report: what its verdict is worth — the scale it ran at and what
would decide it — for the Markdown, the terminal summary and `claims show`.

Reports written before these records existed (no "scale"/"to_decide" evidence, no "experiment" flag
on checks) still read: every accessor falls back to what such a report holds.
"""

from __future__ import annotations

from .verdicts import RAN


def table_text(text) -> str:
    """One line, whitespace collapsed, `|` escaped: fit for a Markdown table cell."""
    return " ".join(str(text or "").split()).replace("|", "\\|")


NOT_STATED_TO_DECIDE = "what would decide it: not stated by the check"
NOT_STATED_SCALE = "not stated by the check"


def is_experiment(claim: dict) -> bool:
    """The registry asks for an experiment (kind E) for this claim."""
    return "E" in (claim.get("check_kinds") or ())


def experiment_ran(claim: dict) -> bool:
    """An experiment check of this claim ran (older reports, without the checks' `experiment` flag:
    any check of a kind-E claim)."""
    ran = [c for c in claim["checks"] if c["outcome"] in RAN]
    if any("experiment" in c for c in claim["checks"]):
        return any(c.get("experiment") for c in ran)
    return is_experiment(claim) and bool(ran)


def scales(claim: dict) -> list[dict]:
    """The claim's scale records, one per distinct text."""
    out, seen = [], set()
    for e in claim["evidence"]:
        if e["kind"] == "scale" and e["text"] not in seen:
            seen.add(e["text"])
            out.append(e)
    return out


def to_decide(claim: dict) -> list[str]:
    """What would decide the claim, as its checks stated it (distinct texts)."""
    return list(dict.fromkeys(e["text"] for e in claim["evidence"] if e["kind"] == "to_decide"))


def scale_lines(claim: dict) -> list[str]:
    """Full scale texts for the Gaps, the details and `claims show` (empty for a claim with no
    experiment that ran and no scale record)."""
    texts = [table_text(e["text"]) for e in scales(claim)]
    if not texts and experiment_ran(claim):
        texts = [NOT_STATED_SCALE]
    return texts


def to_decide_lines(claim: dict) -> list[str]:
    """'to decide: …' texts; for an inconclusive claim without one, the visible 'not stated'."""
    texts = ["to decide: " + table_text(t) for t in to_decide(claim)]
    if not texts and claim["verdict"] == "inconclusive":
        texts = [NOT_STATED_TO_DECIDE]
    return texts

