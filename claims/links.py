"""Claim links: which claims a test checks (`@pytest.mark.claim(...)`) and whether the link is valid.

An unknown claim id, a `claim` marker without ids, a test linking claims expected to fail together
with claims expected to hold, or a claim check with its own `xfail` marker are link problems: the
plugin turns them into a collection error of the test's module. Tests linked to a claim with
`expect = "fails"` run as strict xfail, for the reason the registry records.
"""

from __future__ import annotations

from .registry import Registry


def claim_ids(item) -> tuple[str, ...]:
    """The claim ids of a test's `claim` markers, in order, each once."""
    ids: list[str] = []
    for mark in item.iter_markers("claim"):
        ids.extend(mark.args)
    return tuple(dict.fromkeys(ids))


def linking_problems(item, registry: Registry) -> list[str]:
    """'<nodeid>: <what is wrong>' for every problem of the test's claim links (none: [])."""
    marks = list(item.iter_markers("claim"))
    if not marks:
        return []
    problems = []
    ids = claim_ids(item)
    if any(not m.args for m in marks) or not ids:
        problems.append("@pytest.mark.claim needs at least one claim id")
    for cid in ids:
        if not isinstance(cid, str):
            problems.append(f"claim id {cid!r} is not a string")
        elif cid not in registry:
            problems.append(f"unknown claim id {cid!r} (not in the registry; see `claims list`)")
    known = [registry[c] for c in ids if isinstance(c, str) and c in registry]
    if known and len({c.expected_to_fail for c in known}) > 1:
        problems.append("links claims expected to fail together with claims expected to hold; "
                        "split it into one test per expectation")
    if any(item.iter_markers("xfail")):
        problems.append("a claim check may not carry its own xfail marker; record the expectation "
                        "in the registry (expect = \"fails\" with expect_reason)")
    return [f"{item.nodeid}: {p}" for p in problems]


def expected_failure_reason(registry: Registry, ids) -> str | None:
    """The strict-xfail reason for a test linked to claims the registry expects to be refuted."""
    expected = [registry[c] for c in ids if registry[c].expected_to_fail]
    if not expected:
        return None
    return "registry expects refutation: " + "; ".join(f"{c.id}: {c.expect_reason}" for c in expected)
