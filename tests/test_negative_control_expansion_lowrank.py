"""Negative controls: the expansion and low-rank checks turn on deliberately wrong models.

property_tests/test_expansion.py and test_lowrank.py run in a subprocess beside a conftest that
plants bugs, selecting (-k) the checks the bugs concern. The three bugs touch disjoint code — the
rank function of test_expansion (test_lowrank thresholds its own singular values), the diagonal
model, the E1 layer — so they are planted together in one run, and each is judged on its own
checks; a second run on the intact implementation gives the verdicts the registry expects. Two
subprocesses instead of four keep the controls within their time budget (torch's import alone
costs ~3 s per subprocess).
"""

from __future__ import annotations

import textwrap

from .conftest import run_checks_with_bug

FILES = ["property_tests/test_expansion.py", "property_tests/test_lowrank.py"]

SELECTION = " or ".join([
    "rank_at_most",                                                  # expansion.rank_bottleneck
    "diagonal_has_more_capacity or diagonal_below_low_rank or most_efficient_of_the_three",
    "three_times_the_state_of_e1_as_run",                            # lowrank.e5_triple_capacity
])

BUGS = {
    # a numerical rank that ignores its tolerance: every nonzero singular value counts, round-off too
    "rank-ignores-tolerance": '''
        import torch
        def rank_without_tolerance(A, *args, **kwargs):
            return (torch.linalg.svdvals(A) > 0).sum(-1)
        TARGETS += [(torch.linalg, "matrix_rank", rank_without_tolerance)]
    ''',
    # a "diagonal" model whose transition is silently dense: diag(λ) plus a trained coupling matrix
    "diagonal-silently-dense": '''
        import torch
        from torch import nn
        import impl.diagonal_rnn.model as diagonal_model
        from impl.linear_rnn import linear_rnn_reference
        real_diagonal_init = diagonal_model.DiagonalLinearRNN.__init__
        def coupled_init(self, state_dim, input_dim, *args, **kwargs):
            real_diagonal_init(self, state_dim, input_dim, *args, **kwargs)
            p = self.nu_log
            self.coupling = nn.Parameter(0.05 * torch.randn(state_dim, state_dim, dtype=p.dtype, device=p.device))
        def coupled_states(self, u, h0=None):
            A = torch.diag(self.eigenvalues) + self.coupling
            return linear_rnn_reference(A, self.input_matrix, u.to(A.dtype), h0)
        TARGETS += [(diagonal_model.DiagonalLinearRNN, "__init__", coupled_init),
                    (diagonal_model.DiagonalLinearRNN, "states", coupled_states)]
    ''',
    # an E1 that ignores its expansion: state_size, W_h and the state it carries stay at dim = 512
    "e1-ignores-expansion": '''
        import impl.elman.models as elman_models
        real_e1_init = elman_models.E1Layer.__init__
        def e1_init_without_expansion(self, dim, expansion=1.5, *args, **kwargs):
            real_e1_init(self, dim, 1.0, *args, **kwargs)
        TARGETS += [(elman_models.E1Layer, "__init__", e1_init_without_expansion)]
    ''',
}

CONFIRMED_WHEN_INTACT = ["expansion.rank_bottleneck", "expansion.diagonal_more_efficient",
                         "lowrank.efficiency_ordering", "lowrank.diagonal_most_efficient"]
E5 = "lowrank.e5_triple_capacity"


def ran(claim: dict) -> dict[str, dict]:
    """The checks of a claim that ran, by test name."""
    return {c["nodeid"].split("::")[-1]: c for c in claim["checks"] if c["outcome"] != "deselected"}


def test_planted_bugs_refute_the_claims_they_break(pytester, monkeypatch):
    source = "TARGETS = []\n" + "".join(textwrap.dedent(bug) for bug in BUGS.values())
    claims = run_checks_with_bug(pytester, monkeypatch, FILES, source, "-k", SELECTION)
    # rank-ignores-tolerance: round-off singular values of a rank-deficient W_down W_up are counted
    rank = claims["expansion.rank_bottleneck"]
    failed = ran(rank)["test_expansion_pathway_has_rank_at_most_d"]
    assert rank["verdict"] == "refuted" and failed["outcome"] == "failed", rank["reason"]
    assert "SVD rank of W_down W_up is" in failed["message"], failed["message"]

    # diagonal-silently-dense: the dense coupling shows in the probed transition and the count
    for cid in ("expansion.diagonal_more_efficient", "lowrank.efficiency_ordering",
                "lowrank.diagonal_most_efficient"):
        assert claims[cid]["verdict"] == "refuted", (cid, claims[cid]["reason"])
    message = next(iter(ran(claims["expansion.diagonal_more_efficient"]).values()))["message"]
    assert "off-diagonal entries" in message, message

    # e1-ignores-expansion: the state ratio becomes 3, the check passes against the registry's
    # expectation, and the verdict moves from refuted (expected) to confirmed
    e5 = claims[E5]
    assert [c["outcome"] for c in ran(e5).values()] == ["xpassed"], e5["checks"]
    assert e5["verdict"] == "confirmed" and e5["expectation"]["met"] is False, e5["reason"]


def test_intact_implementation_gives_the_expected_verdicts(pytester, monkeypatch):
    claims = run_checks_with_bug(pytester, monkeypatch, FILES, None, "-k", SELECTION)
    verdicts = {cid: claims[cid]["verdict"] for cid in CONFIRMED_WHEN_INTACT}
    assert verdicts == {cid: "confirmed" for cid in CONFIRMED_WHEN_INTACT}, (
        {cid: claims[cid]["reason"] for cid in CONFIRMED_WHEN_INTACT})
    e5 = claims[E5]
    checks = ran(e5)
    assert [c["outcome"] for c in checks.values()] == ["xfailed"], e5["checks"]
    assert e5["verdict"] == "refuted" and e5["expectation"]["met"] is True, e5["reason"]
    message = checks["test_e5_state_is_three_times_the_state_of_e1_as_run"]["message"]
    assert "is 2× the state of the E1 that was run" in message and "state 768" in message, message
