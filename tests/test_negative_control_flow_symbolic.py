"""Negative controls: each check of numeric_checks/test_flow_symbolic.py turns red on a planted bug.

The check file runs in a subprocess beside a conftest that plants bugs, either in
`impl.flow.factorized` (a wrong closed form) or in `impl.flow.laws`, the claims' stated
right-hand sides (a wrong law, which the checks look up there at call time). Bugs are planted
together, one subprocess per group, and only the checks they are pinned to are run (-k); within a
group no bug touches another bug's pinned check, so each pinned check must fail with its own
message fragment. Two groups because some checks have two bugs (a sign and a transpose in the
claimed flow, two wrong constants in the logistic law). An intact run of the whole default
selection confirms every claim.
"""

from __future__ import annotations

from .planted import assert_bug_group_refutes, assert_intact_run_confirms

CHECK_FILE = "numeric_checks/test_flow_symbolic.py"
PRELUDE = "import impl.flow.laws as laws\nTARGETS = []\n"

# bug: (group, source appending (object, attribute, replacement) to TARGETS, claim, pinned check,
#       a fragment of that check's failure message)
BUGS = {
    # dW/dt = +(A − A*)Uᵀ, dU/dt = +Wᵀ(A − A*): gradient ascent
    "claimed-flow-sign-flipped": ("first", '''
        def ascent(W, U, A_star):
            E = W @ U - A_star
            return E @ U.T, W.T @ E
        TARGETS.append((laws, "factor_flow", ascent))
     ''', "flow.factor_gradient_flow", "test_claimed_factor_flow_is_minus_the_entrywise_gradient",
        "minus the claimed flow does not vanish"),
    # UUᵀ in place of UᵀU (where the shapes allow it: square U)
    "end-to-end-with-U-Ut": ("first", '''
        def with_u_ut(W, U, A_star):
            E = W @ U - A_star
            gram = U @ U.T if U.rows == U.cols else U.T @ U
            return -E @ gram - (W @ W.T) @ E
        TARGETS.append((laws, "end_to_end", with_u_ut))
     ''', "flow.end_to_end_ode", "test_end_to_end_ode_is_the_chain_rule_of_the_factor_flow",
        "minus the claimed −(A−A*)UᵀU − WWᵀ(A−A*) does not vanish"),
    # the mode law with 2wu in place of w² + u² (equal at balance: only the unbalanced derivation sees it)
    "mode-law-with-2wu": ("first", '''
        TARGETS.append((laws, "mode_law", lambda w, u, sigma: -2 * w * u * (w * u - sigma)))
     ''', "flow.aligned_mode_ode", "test_aligned_mode_strength_obeys_the_mode_law",
        "ds/dt (chain rule over the derived flow)"),
    # ds/dt = 2 s (σ + s)
    "logistic-law-sigma-plus-s": ("first", '''
        TARGETS.append((laws, "balanced_law", lambda s, sigma: 2 * s * (sigma + s)))
     ''', "flow.balanced_logistic", "test_balanced_mode_follows_the_logistic_law", "balanced ds/dt ="),
    # t½ = ln(σ/s0 − 1)/σ: the 2 of the rate 2σ dropped
    "half-time-without-2": ("first", '''
        import sympy as sp
        TARGETS.append((laws, "half_time", lambda sigma, s0: sp.log(sigma / s0 - 1) / sigma))
     ''', "flow.balanced_logistic", "test_logistic_closed_form_solves_the_balanced_law", "claimed t½"),
    # s(t) = s0/(1 + s0 t): the 2 of −2s² dropped in the solution
    "off-target-solution-without-2": ("first", '''
        TARGETS.append((laws, "off_target_solution", lambda t, s0: s0 / (1 + s0 * t)))
     ''', "flow.off_target_decay", "test_off_target_modes_decay", "dsolve gives s(t)"),
    # impl: ∂L/∂U = W (A − A*) where W is square, a dropped transpose
    "impl-factor-gradients-missing-transpose": ("first", '''
        import impl.flow.factorized as factorized
        def missing_transpose(W, U, A_star):
            error = W @ U - A_star
            return error @ U.mT, (W if W.shape[-1] == W.shape[-2] else W.mT) @ error
        TARGETS.append((factorized, "factor_gradients", missing_transpose))
     ''', "flow.factor_gradient_flow", "test_impl_factor_gradients_match_the_symbolic_gradient",
        "impl factor_gradients ∂L/∂U differs"),
    # impl: the logistic closed form with e^{σt} in place of e^{2σt}
    "impl-logistic-half-rate": ("first", '''
        import torch
        import impl.flow.factorized as factorized
        real = factorized.logistic_mode
        def half_rate(t, sigma, s0):
            if sigma == 0:
                return real(t, sigma, s0)
            growth = torch.exp(sigma * torch.as_tensor(t, dtype=torch.float64))
            return sigma * s0 * growth / (sigma - s0 + s0 * growth)
        TARGETS.append((factorized, "logistic_mode", half_rate))
     ''', "flow.balanced_logistic", "test_impl_logistic_mode_matches_the_dsolve_solution", "logistic_mode(t="),

    # dW/dt = −(A − A*)U: the transpose of U dropped (square U only)
    "claimed-flow-transpose-dropped": ("second", '''
        def without_transpose(W, U, A_star):
            E = W @ U - A_star
            return -E @ (U if U.rows == U.cols else U.T), -W.T @ E
        TARGETS.append((laws, "factor_flow", without_transpose))
     ''', "flow.factor_gradient_flow", "test_claimed_factor_flow_is_minus_the_entrywise_gradient",
        "dW/dt = −∂L/∂θ (sympy.diff entry by entry) minus the claimed flow"),
    # the loss without its ½
    "frobenius-loss-without-half": ("second", '''
        TARGETS.append((laws, "frobenius_loss", lambda error: sum(e ** 2 for e in error)))
     ''', "flow.factor_gradient_flow", "test_whitened_population_loss_is_the_frobenius_loss",
        "minus the claimed ½‖E‖_F²"),
    # d/dt(WᵀW) = −U(A−A*)ᵀW + Wᵀ(A−A*)Uᵀ: the sign of the second term flipped
    "balance-rate-sign": ("second", '''
        def wrong_sign(W, U, A_star):
            E = W @ U - A_star
            return -U @ E.T @ W + W.T @ E @ U.T
        TARGETS.append((laws, "balance_rate", wrong_sign))
     ''', "flow.factor_gradient_flow", "test_balance_is_conserved_by_the_derived_flow",
        "minus the claimed −U(A−A*)ᵀW − Wᵀ(A−A*)Uᵀ does not vanish"),
    # the aligned rates swapped: dw/dt = −w(s − σ), du/dt = −u(s − σ)
    "aligned-rates-swapped": ("second", '''
        TARGETS.append((laws, "aligned_rates",
                        lambda w, u, sigma: (-w * (w * u - sigma), -u * (w * u - sigma))))
     ''', "flow.aligned_mode_ode", "test_aligned_factors_stay_aligned_and_modes_decouple",
        "with the claimed mode rates does not vanish"),
    # ds/dt = s (σ − s): the balanced factor 2 dropped
    "logistic-law-without-2": ("second", '''
        TARGETS.append((laws, "balanced_law", lambda s, sigma: s * (sigma - s)))
     ''', "flow.balanced_logistic", "test_balanced_mode_follows_the_logistic_law", "balanced ds/dt ="),
    # s(t) with e^{σt}: the claimed closed form at half the rate
    "logistic-solution-half-rate": ("second", '''
        import sympy as sp
        def half_rate(t, sigma, s0):
            growth = sp.exp(sigma * t)
            return sigma * s0 * growth / (sigma - s0 + s0 * growth)
        TARGETS.append((laws, "logistic_solution", half_rate))
     ''', "flow.balanced_logistic", "test_logistic_closed_form_solves_the_balanced_law", "dsolve gives s(t) ="),
    # σ = 0: ds/dt = −s²
    "off-target-law-without-2": ("second", '''
        TARGETS.append((laws, "off_target_law", lambda s: -s ** 2))
     ''', "flow.off_target_decay", "test_off_target_modes_decay", "σ = 0, w = u: ds/dt"),
    # impl: dA/dt with UUᵀ in place of UᵀU (square U)
    "impl-velocity-with-U-Ut": ("second", '''
        import impl.flow.factorized as factorized
        def with_u_ut(W, U, A_star):
            error = W @ U - A_star
            gram = U @ U.mT if U.shape[-1] == U.shape[-2] else U.mT @ U
            return -(error @ gram) - (W @ W.mT) @ error
        TARGETS.append((factorized, "end_to_end_velocity", with_u_ut))
     ''', "flow.end_to_end_ode", "test_impl_end_to_end_velocity_matches_the_symbolic_derivative",
        "impl end_to_end_velocity differs"),
    # impl: σ = 0 branch s0/(1 + s0 t)
    "impl-off-target-without-2": ("second", '''
        import impl.flow.factorized as factorized
        real = factorized.logistic_mode
        TARGETS.append((factorized, "logistic_mode",
                        lambda t, sigma, s0: s0 / (1 + s0 * t) if sigma == 0 else real(t, sigma, s0)))
     ''', "flow.off_target_decay", "test_impl_logistic_mode_at_sigma_zero_matches_the_dsolve_solution",
        "logistic_mode(t="),
}

CHECKED = ["flow.factor_gradient_flow", "flow.end_to_end_ode", "flow.aligned_mode_ode",
           "flow.balanced_logistic", "flow.off_target_decay"]


def test_first_group_of_planted_bugs_refutes_their_claims(pytester, monkeypatch):
    assert_bug_group_refutes(pytester, monkeypatch, [CHECK_FILE], PRELUDE, BUGS, "first")


def test_second_group_of_planted_bugs_refutes_their_claims(pytester, monkeypatch):
    assert_bug_group_refutes(pytester, monkeypatch, [CHECK_FILE], PRELUDE, BUGS, "second")


def test_intact_flow_confirms_every_symbolically_checked_claim(pytester, monkeypatch):
    assert_intact_run_confirms(pytester, monkeypatch, [CHECK_FILE], CHECKED)
