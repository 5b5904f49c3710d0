"""Negative controls: each gradient check turns red on a deliberately wrong implementation.

property_tests/test_gradient.py runs in a subprocess beside a conftest that plants one bug
in impl/. A bug run selects (-k) only the checks of the claim it targets, to keep the
controls fast; the intact run executes the whole file and must confirm all three claims.
"""

from __future__ import annotations

import pytest

from .conftest import run_checks_with_bug

BUGS = {
    # the Elman step cuts h out of the graph: autograd sees a zero Jacobian, constant in h
    "elman-step-detaches-h": ('''
        import torch
        import impl.elman.models as models
        def bug(self, h, x_t):
            return torch.tanh(self.pre_activation(h.detach(), x_t))
        TARGETS = [(models.StockElman, "step", bug)]
     ''', "gradient.elman_varies_with_h", "changes_with_h and stock"),
    # a "tanh derivative" written as 1 − tanh instead of 1 − tanh²
    "tanh-derivative-without-square": ('''
        import torch
        import impl.elman.naive as naive
        def bug(z):
            return 1 - torch.tanh(z)
        TARGETS = [(naive, "tanh_derivative", bug)]
     ''', "gradient.tanh_deriv_strict", "tanh_derivative_is"),
    # the residual step loses its skip connection: the factor becomes tanh′ ∈ (0, 1]
    "residual-step-without-skip": ('''
        import torch
        import impl.elman.models as models
        def bug(self, h, x_t):
            return torch.tanh(self.pre_activation(h, x_t))
        TARGETS = [(models.ResidualElman, "step", bug)]
     ''', "gradient.residual_elman_bounds", "residual_factor"),
}

GRADIENT = ["gradient.tanh_deriv_strict", "gradient.elman_varies_with_h", "gradient.residual_elman_bounds"]


def run_gradient_checks(pytester, monkeypatch, bug: str | None) -> dict:
    if bug is None:
        return run_checks_with_bug(pytester, monkeypatch, ["property_tests/test_gradient.py"], None)
    source, _, selection = BUGS[bug]
    return run_checks_with_bug(pytester, monkeypatch, ["property_tests/test_gradient.py"], source,
                               "-k", selection)


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_planted_bug_refutes_the_gradient_claim_it_breaks(pytester, monkeypatch, bug):
    claims = run_gradient_checks(pytester, monkeypatch, bug)
    target = BUGS[bug][1]
    assert claims[target]["verdict"] == "refuted", {cid: claims[cid]["reason"] for cid in GRADIENT}
    failed = [c for c in claims[target]["checks"] if c["outcome"] == "failed"]
    assert failed and failed[0]["message"], f"{bug}: no failing check with a message for {target}"


def test_intact_implementation_confirms_the_gradient_claims(pytester, monkeypatch):
    claims = run_gradient_checks(pytester, monkeypatch, None)
    assert {cid: claims[cid]["verdict"] for cid in GRADIENT} == {cid: "confirmed" for cid in GRADIENT}, \
        {cid: claims[cid]["reason"] for cid in GRADIENT}
