"""Negative controls: each capacity check turns red on a deliberately wrong implementation.

The project's own property test file runs in a subprocess beside a conftest
that plants one bug in `impl/`. For each bug we name the claims that must come
out refuted (a bug may refute more); an intact run confirms all of them.
"""

from __future__ import annotations

import pytest

from .conftest import run_checks_with_bug

BUGS = {
    # the scan's composition forgets to carry the earlier prefix through the later transition
    "scan-drops-propagation": ('''
        import impl.scan.affine as affine
        def bug(first, second):
            (m1, v1), (m2, v2) = first, second
            return m2 @ m1, v1 + v2
        TARGETS = [(affine, "affine_combine", bug)]
     ''', ["capacity.state_is_sum", "capacity.reachable_is_subspace", "capacity.reachable_dim_bound"]),
    # an affine drift: every composed step adds a constant, so the state is no longer linear
    "scan-adds-drift": ('''
        import impl.scan.affine as affine
        real = affine.affine_combine
        def bug(first, second):
            m, v = real(first, second)
            return m, v + 0.25
        TARGETS = [(affine, "affine_combine", bug)]
     ''', ["capacity.state_is_sum", "capacity.state_additive"]),
    # the scan ignores the initial state it is given: a future no longer follows from the state
    "scan-ignores-h0": ('''
        import impl.linear_rnn.scan as scan
        real = scan.linear_rnn_scan
        def bug(A, B, x, h0=None):
            return real(A, B, x, None)
        TARGETS = [(scan, "linear_rnn_scan", bug)]
     ''', ["capacity.same_state_same_future"]),
    # a low-rank model that keeps its state in the r-dimensional column space of U
    "lowrank-state-collapses": ('''
        import torch
        import impl.linear_rnn.model as model
        real = model.LinearRNN.states
        def bug(self, x, h0=None):
            h = real(self, x, h0)
            if self.rank is None:
                return h
            q = torch.linalg.qr(self.U)[0]
            return h @ q @ q.T
        TARGETS = [(model.LinearRNN, "states", bug)]
     ''', ["capacity.reachable_dim_bound"]),
    # the recurrence deleted: the module's transition A = U V replaced by 0 (h_t = B x_t)
    "transition-deleted": ('''
        import torch
        import impl.linear_rnn.model as model
        def zero_transition(self):
            A = self.A if self.rank is None else self.U @ self.V
            return torch.zeros_like(A)
        TARGETS = [(model.LinearRNN, "transition", property(zero_transition))]
     ''', ["capacity.reachable_dim_bound"]),
}

LOWRANK = "capacity.lowrank_keeps_capacity"
TRIVIAL = "trivial reading: reachable dim / d with a full-rank input map (min over r)"
SUBSTANTIVE = "substantive reading: reachable dim / d with E5's rank-r input map (min over r)"

CAPACITY = ["capacity.state_is_sum", "capacity.state_additive", "capacity.same_state_same_future",
            "capacity.reachable_is_subspace", "capacity.reachable_dim_bound",
            "capacity.lowrank_keeps_capacity"]


def run_capacity_checks(pytester, monkeypatch, bug: str | None) -> dict:
    return run_checks_with_bug(pytester, monkeypatch, ["property_tests/test_capacity.py"],
                               BUGS[bug][0] if bug else None)


@pytest.mark.parametrize("bug", sorted(set(BUGS) - {"transition-deleted"}))
def test_planted_bug_refutes_the_claims_it_breaks(pytester, monkeypatch, bug):
    claims = run_capacity_checks(pytester, monkeypatch, bug)
    refuted = {cid for cid in CAPACITY if claims[cid]["verdict"] == "refuted"}
    assert set(BUGS[bug][1]) <= refuted, {cid: claims[cid]["reason"] for cid in CAPACITY}
    if bug == "scan-drops-propagation":  # the acceptance case: a counterexample in the report
        claim = claims["capacity.state_is_sum"]
        outcomes = {c["nodeid"].split("[")[-1].rstrip("]"): c["outcome"] for c in claim["checks"]}
        assert outcomes == {"reference": "passed", "scan": "failed"}  # only the broken path falls
        message = next(c["message"] for c in claim["checks"] if c["outcome"] == "failed")
        assert "scan path: h_" in message and "system=LinearSystem(" in message  # numbers + example
        markdown = (pytester.path / "out" / "CLAIMS.md").read_text()
        assert "## Counterexamples" in markdown and "Σ_(t<" in markdown


def figure(claim: dict, name: str):
    return next(e["value"] for e in claim["evidence"] if e["kind"] == "figure" and e["name"] == name)


def test_deleted_recurrence_fails_the_substantive_check_and_passes_the_trivial_one(pytester, monkeypatch):
    """With A replaced by 0, the q + r checks of the reachable dimension fail with their numbers,
    while the trivial reading (full-rank input map: all of R^d) still reads 1 — it cannot see the
    recurrence at all."""
    claims = run_capacity_checks(pytester, monkeypatch, "transition-deleted")
    bound = claims["capacity.reachable_dim_bound"]
    failed = {c["nodeid"].split("::")[-1]: c["message"] for c in bound["checks"] if c["outcome"] == "failed"}
    assert "test_input_rank_plus_transition_rank_is_attained_by_generic_factors" in failed, bound["checks"]
    assert "impl reaches" in failed["test_input_rank_plus_transition_rank_is_attained_by_generic_factors"]
    assert any(name.startswith("test_reachable_dimension_is_at_most_input_rank_plus_transition_rank")
               for name in failed), bound["checks"]
    assert figure(claims[LOWRANK], TRIVIAL) == 1.0, claims[LOWRANK]["evidence"]


def test_intact_implementation_gives_the_expected_capacity_verdicts(pytester, monkeypatch):
    claims = run_capacity_checks(pytester, monkeypatch, None)
    holding = [cid for cid in CAPACITY if cid != LOWRANK]
    assert {cid: claims[cid]["verdict"] for cid in holding} == {cid: "confirmed" for cid in holding}
    lowrank = claims[LOWRANK]       # refuted as the registry expects, both readings in the evidence
    assert lowrank["verdict"] == "refuted" and lowrank["expectation"]["met"] is True, lowrank["reason"]
    assert {c["outcome"] for c in lowrank["checks"]} == {"xfailed"}, lowrank["checks"]
    assert figure(lowrank, TRIVIAL) == 1.0 and figure(lowrank, SUBSTANTIVE) < 1.0, lowrank["evidence"]

