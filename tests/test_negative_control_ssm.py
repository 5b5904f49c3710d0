"""Negative controls for the selective-SSM gradient claim (property_tests/test_gradient_ssm.py).

A planted SSM step whose decay depends on the state (Δ_t modulated by S_{t−1}, as a "selective"
model whose selection reads its own state would be) must refute gradient.mamba2_h_independent,
both through the core step and through Mamba2Layer.step (which calls the same step function).
The intact run that confirms it shares a subprocess with the assoc checks:
tests/test_negative_control_assoc.py::test_intact_implementation_confirms_every_assoc_claim_and_the_ssm_gradient_claim.
"""

from __future__ import annotations

from .conftest import run_checks_with_bug

CLAIM = "gradient.mamba2_h_independent"

STATE_DEPENDENT_DECAY = '''
    import torch
    import impl.ssm.naive as naive
    real = naive.ssd_step
    def bug(h, x_t, dt_t, A, B_t, C_t, D=None):
        # Δ_t now also reads the previous state: the decay exp(Δ_t A) depends on h
        dt_t = dt_t * (1 + 0.5 * torch.tanh(h.mean(dim=(-1, -2))))
        return real(h, x_t, dt_t, A, B_t, C_t, D)
    TARGETS = [(naive, "ssd_step", bug)]
'''


def run_gradient_checks(pytester, monkeypatch, bug: str | None) -> dict:
    return run_checks_with_bug(pytester, monkeypatch, ["property_tests/test_gradient_ssm.py"], bug)


def test_state_dependent_decay_refutes_h_independence(pytester, monkeypatch):
    claim = run_gradient_checks(pytester, monkeypatch, STATE_DEPENDENT_DECAY)[CLAIM]
    assert claim["verdict"] == "refuted", claim["reason"]
    outcomes = {c["nodeid"].split("::")[-1].split("[")[0]: c["outcome"] for c in claim["checks"]}
    assert outcomes == {"test_core_step_jacobian_is_exp_dt_A_whatever_the_state": "failed",
                        "test_layer_step_jacobian_depends_on_the_input_only": "failed"}, outcomes
    message = next(c["message"] for c in claim["checks"] if c["outcome"] == "failed")
    assert "differs by" in message or "is not diag(exp" in message, message
