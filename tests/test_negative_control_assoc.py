"""Negative controls: each associativity check turns red on a deliberately wrong implementation.

The project's own check file (property_tests/test_assoc.py) runs in a subprocess beside a
conftest that plants bugs in `impl/`. To keep the suite fast the three bugs are planted in one
run: each sits in the component only one claim's checks use (the affine combine, the tanh step,
the |·|^α step), so each claim must come out refuted through its own checks, with the numbers.
An intact run confirms all three (and, sharing the subprocess, gradient.mamba2_h_independent).
"""

from __future__ import annotations

from .conftest import run_checks_with_bug

BUGS = '''
    import impl.polynomial_rnn as polynomial_rnn
    import impl.scan.affine as affine
    from impl.elman import StockElman

    # composition in the wrong order: (M1 M2, M2 v1 + v2) instead of (M2 M1, M2 v1 + v2). With
    # time-varying, non-commuting M_t the matrix part is not e2 ∘ e1 and the bracketings differ.
    def combine_order_swapped(first, second):
        (m1, v1), (m2, v2) = first, second
        return m1 @ m2, (m2 @ v1.unsqueeze(-1)).squeeze(-1) + v2

    # a "tanh" RNN whose tanh is the identity: two steps then ARE one affine step
    def tanh_is_identity(self, h, x_t):
        return self.pre_activation(h, x_t)

    # an |·|^α step that forgot abs and the power: affine again, closed under composition
    def polynomial_is_affine(h, x_t, w, alpha):
        return w * h + x_t

    TARGETS = [(affine, "affine_combine", combine_order_swapped), (StockElman, "step", tanh_is_identity),
               (polynomial_rnn, "polynomial_step", polynomial_is_affine)]
'''

ASSOC = ["assoc.scan_monoid", "assoc.tanh_not_affine_step", "assoc.polynomial_not_associative"]


def failed_checks(claim: dict) -> dict[str, str]:
    return {c["nodeid"].split("::")[-1].split("[")[0]: c["message"]
            for c in claim["checks"] if c["outcome"] == "failed"}


def test_planted_bugs_refute_the_claims_they_break(pytester, monkeypatch):
    claims = run_checks_with_bug(pytester, monkeypatch, ["property_tests/test_assoc.py"], BUGS)
    assert {cid: claims[cid]["verdict"] for cid in ASSOC} == {cid: "refuted" for cid in ASSOC}, \
        {cid: claims[cid]["reason"] for cid in ASSOC}

    # swapped combine: the exact composition check, and both scan-vs-recurrence checks
    scan = failed_checks(claims["assoc.scan_monoid"])
    assert {"test_combine_is_exact_composition_associative_with_identity",
            "test_scan_is_the_sequential_recurrence_exactly",
            "test_scan_is_the_sequential_recurrence_in_floating_point"} <= set(scan), sorted(scan)
    assert "the composition of the maps" in scan["test_combine_is_exact_composition_associative_with_identity"]

    # identity "tanh": the witness's affine fit no longer leaves mpmath's residual; drawn W fit exactly
    tanh = failed_checks(claims["assoc.tanh_not_affine_step"])
    assert "mpmath says" in tanh["test_lean_witness_certified_and_on_impl"]
    assert {"test_scalar_tanh_steps_never_collapse_unless_w_is_zero",
            "test_matrix_tanh_steps_collapse_exactly_when_predicted"} <= set(tanh), sorted(tanh)

    # affine "|·|^α": two steps at h = 0, 1, 2 are no longer (0, 1, 2^(α²)), and abs-lines fit
    poly = failed_checks(claims["assoc.polynomial_not_associative"])
    assert "two steps at 0, 1, 2 give" in poly["test_polynomial_witness_certified"]
    assert "fits two steps" in poly["test_polynomial_witness_does_not_collapse_on_impl"]


def test_intact_implementation_confirms_every_assoc_claim_and_the_ssm_gradient_claim(pytester, monkeypatch):
    """One intact run for both negative-control files (tests/test_negative_control_ssm.py plants its
    bug in the SSM step): a subprocess costs seconds of imports and torch.func set-up, so the intact
    confirmations share one."""
    claims = run_checks_with_bug(pytester, monkeypatch,
                                 ["property_tests/test_assoc.py", "property_tests/test_gradient_ssm.py"], None)
    expected = [*ASSOC, "gradient.mamba2_h_independent"]
    assert {cid: claims[cid]["verdict"] for cid in expected} == {cid: "confirmed" for cid in expected}
