"""Negative controls: the P and N checks of the flow family turn red on planted bugs.

property_tests/test_flow.py and numeric_checks/test_flow_numeric.py run in a subprocess beside a
conftest that plants bugs in `impl.flow.factorized` (the closed forms, the registry's t½
`half_growth_time` among them, which the checks look up there at call time). Bugs are planted
together, one subprocess per group; within a group each bug is pinned to checks no other bug of
the group can break (the end-to-end check steps with autograd gradients, so a wrong
factor_gradients leaves it alone; the closed-form checks compare logistic_mode with integrated
scalar ODEs, so a wrong matrix flow leaves them alone), and each pinned check must fail with its
own message fragment. Two groups because both factor_gradients bugs and both end_to_end_velocity
bugs replace the same function. An intact run confirms every checked claim. The experiment
(flow.selective_mode_activation) is too slow to run here; its decision rule is tested in
tests/test_selective_mode_rule.py.
"""

from __future__ import annotations

from .planted import assert_bug_group_refutes, assert_intact_run_confirms

P_FILE, N_FILE = "property_tests/test_flow.py", "numeric_checks/test_flow_numeric.py"
MATRIX_FLOW_CHECKS = [
    ("flow.aligned_mode_ode", "test_aligned_matrix_flow_decouples_into_the_mode_odes[", "matrix flow"),
    ("flow.balanced_logistic", "test_balanced_matrix_flow_follows_the_logistic_ode[", "matrix flow"),
    ("flow.off_target_decay", "test_off_target_modes_of_the_matrix_flow_decay_like_one_over_2t", "matrix flow"),
]

# bug: (group, source appending (module, attribute, replacement) to TARGETS,
#       [(claim, pinned check (its name; "name[" for its parametrised cases), fragment of the failure message)])
BUGS = {
    # gradient ascent: both gradients with the wrong sign
    "factor-gradients-wrong-sign": ("impl", '''
        import impl.flow.factorized as factorized
        def ascent(W, U, A_star):
            error = W @ U - A_star
            return -(error @ U.mT), -(W.mT @ error)
        TARGETS.append((factorized, "factor_gradients", ascent))
     ''', [("flow.factor_gradient_flow", "test_factor_gradients_are_the_autograd_gradients_of_the_loss", "∂L/∂W: closed form"),
           ("flow.factor_gradient_flow", "test_factor_gradients_are_the_gradients_of_the_population_loss",
            "exact gradient of ½E‖WUx − A*x‖²"),
           *MATRIX_FLOW_CHECKS]),
    # UUᵀ in place of UᵀU, a slip that type-checks when U is square
    "velocity-gram-swapped": ("impl", '''
        import impl.flow.factorized as factorized
        def swapped(W, U, A_star):
            error = W @ U - A_star
            gram = U @ U.mT if U.shape[-1] == U.shape[-2] else U.mT @ U
            return -(error @ gram) - (W @ W.mT) @ error
        TARGETS.append((factorized, "end_to_end_velocity", swapped))
     ''', [("flow.end_to_end_ode", "test_end_to_end_velocity_is_the_first_order_change_of_a_gradient_step",
            "(A(η) − A)/η − v =")]),
    # the balanced logistic at half the rate (e^{σt}), and the σ = 0 mode decaying exponentially
    "logistic-half-rate-and-exponential-decay": ("impl", '''
        import torch
        import impl.flow.factorized as factorized
        def wrong_logistic(t, sigma, s0):
            t = torch.as_tensor(t, dtype=torch.float64)
            if sigma == 0:
                return s0 * torch.exp(-2 * s0 * t)
            return sigma / (1 + (sigma / s0 - 1) * torch.exp(-sigma * t))
        TARGETS.append((factorized, "logistic_mode", wrong_logistic))
     ''', [("flow.balanced_logistic", "test_logistic_closed_form_solves_the_balanced_mode_ode", "logistic_mode(t ="),
           ("flow.off_target_decay", "test_decay_closed_form_solves_the_off_target_ode", "σ = 0, s0 =")]),
    # t½ = ln(σ/s0)/(2σ): the small-s0 approximation taken for the exact half-growth time
    "half-time-without-minus-one": ("impl", '''
        import math
        import impl.flow.factorized as factorized
        TARGETS.append((factorized, "half_growth_time", lambda sigma, s0: math.log(sigma / s0) / (2 * sigma)))
     ''', [("flow.balanced_logistic", "test_half_growth_time_is_where_the_integrated_mode_reaches_half", "t½ formula")]),

    # ∂L/∂W = (A − A*) U with the transpose dropped (type-checks for square U)
    "factor-gradients-dropped-transpose": ("square slips", '''
        import impl.flow.factorized as factorized
        def dropped(W, U, A_star):
            error = W @ U - A_star
            return (error @ U if U.shape[-1] == U.shape[-2] else error @ U.mT), W.mT @ error
        TARGETS.append((factorized, "factor_gradients", dropped))
     ''', [("flow.factor_gradient_flow", "test_factor_gradients_are_the_autograd_gradients_of_the_loss", "∂L/∂W: closed form")]),
    # the W Wᵀ (A − A*) term dropped: shallow-regression-like preconditioning on one side only
    "velocity-drops-WWt": ("square slips", '''
        import impl.flow.factorized as factorized
        TARGETS.append((factorized, "end_to_end_velocity", lambda W, U, A_star: -((W @ U - A_star) @ (U.mT @ U))))
     ''', [("flow.end_to_end_ode", "test_end_to_end_velocity_is_the_first_order_change_of_a_gradient_step",
            "(A(η) − A)/η − v =")]),
}

CHECKED = ["flow.factor_gradient_flow", "flow.end_to_end_ode", "flow.aligned_mode_ode", "flow.balanced_logistic",
           "flow.off_target_decay"]
GROUP_FILES = {"impl": [P_FILE, N_FILE], "square slips": [P_FILE]}
PRELUDE = "TARGETS = []\n"


def test_planted_bugs_in_the_flow_refute_the_claims_they_break(pytester, monkeypatch):
    assert_bug_group_refutes(pytester, monkeypatch, GROUP_FILES["impl"], PRELUDE, BUGS, "impl")


def test_slips_that_type_check_on_square_shapes_refute_their_claims(pytester, monkeypatch):
    assert_bug_group_refutes(pytester, monkeypatch, GROUP_FILES["square slips"], PRELUDE, BUGS, "square slips")


def test_intact_flow_confirms_every_checked_flow_claim(pytester, monkeypatch):
    assert_intact_run_confirms(pytester, monkeypatch, [P_FILE, N_FILE], CHECKED)
