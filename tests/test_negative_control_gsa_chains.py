"""Negative controls: each gsa chain check turns red on a deliberately wrong implementation.

`property_tests/test_gsa_chains.py` and `numeric_checks/test_gsa_chains_numeric.py` run in one
subprocess beside a conftest that plants eleven bugs in `impl.geometry.chains` at once (starting
the subprocess costs most of a run). Each bug is pinned to a check that only it breaks, and that
check must fail with its numbers in the message. An intact run confirms every checked claim.
"""

from __future__ import annotations

import textwrap

from .conftest import run_checks_with_bug

FILES = ["property_tests/test_gsa_chains.py", "numeric_checks/test_gsa_chains_numeric.py"]
FAST = ("-m", "not sweep")    # the subprocess runs outside the project, without its addopts

# bug: (source appending (object, attribute, replacement) to TARGETS, the claim it must refute)
BUGS = {
    # the ordered product multiplied the wrong way round: J_k ⋯ J_{m−1}
    "chain-product-reversed": ('''
        import torch
        import impl.geometry.chains as chains
        def reversed_product(jacobians, k, m):
            product = torch.eye(jacobians[0].shape[-1], dtype=jacobians[0].dtype)
            for J in jacobians[k:m]:
                product = product @ J
            return product
        TARGETS.append((chains, "chain_product", reversed_product))
     ''', "gsa.cocycle_chain_rule"),
    # padding loses W's last row
    "pad-drops-last-row": ('''
        import impl.geometry.chains as chains
        def drop_last_row(W):
            m, n = W.shape[-2:]
            padded = W.new_zeros(*W.shape[:-2], max(m, n), max(m, n))
            padded[..., :m - 1, :n] = W[..., :m - 1, :]
            return padded
        TARGETS.append((chains, "pad_to_square", drop_last_row))
     ''', "gsa.padding_isometry"),
    # the balanced successor takes the root of the Gram matrix WᵀW instead of W Wᵀ
    "successor-from-gram": ('''
        import impl.geometry.chains as chains
        from impl.geometry import orbit
        from impl.spectral.spectra import random_orthogonal
        def gram_successor(W, *, generator=None):
            return random_orthogonal(W.shape[0], generator=generator, dtype=W.dtype) @ orbit.psd_sqrt(W.mT @ W)
        TARGETS.append((chains, "balanced_successor", gram_successor))
     ''', "gsa.strict_balancedness"),
    # the balancedness defect compares W_{l+1} W_{l+1}ᵀ with W_lᵀ W_l (Gram and co-Gram swapped)
    "defect-grams-swapped": ('''
        import torch
        import impl.geometry.chains as chains
        def swapped_defect(chain):
            W = torch.stack(list(chain))
            a, b = W[1:] @ W[1:].mT, W[:-1].mT @ W[:-1]
            return torch.max(torch.linalg.matrix_norm(a - b) / torch.linalg.matrix_norm(b))
        TARGETS.append((chains, "balancedness_defect", swapped_defect))
     ''', "gsa.strict_balancedness"),
    # the slack's product in the wrong order: J_l J_{l+1}
    "slack-product-reversed": ('''
        import torch
        import impl.geometry.chains as chains
        def reversed_slack(J_next, J):
            norm = lambda X: torch.linalg.matrix_norm(X, ord=2)
            return torch.log(norm(J_next)) + torch.log(norm(J)) - torch.log(norm(J @ J_next))
        TARGETS.append((chains, "slack", reversed_slack))
     ''', "gsa.radial_shortness"),
    # the signed residual with the wrong sign: ρ(α_l) − ρ(Ĵ_l)
    "residual-sign-flipped": ('''
        import impl.geometry.chains as chains
        _residuals = chains.radial_residuals
        TARGETS.append((chains, "radial_residuals", lambda jacobians, alphas: -_residuals(jacobians, alphas)))
     ''', "gsa.radial_shortness"),
    # the top-radial chart inverts log(d σ_1/‖J‖_F ...) built from σ_1 instead of σ_1² (ρ halved)
    "top-radial-chart-sigma1": ('''
        import torch
        import impl.geometry.chains as chains
        from impl.geometry import orbit
        _fitted = chains.fitted_exponents
        def sigma1_chart(jacobians, chart="top_radial", *, bounds=(0.0, 8.0), window=None):
            if chart != "top_radial":
                return _fitted(jacobians, chart, bounds=bounds, window=window)
            J = jacobians if isinstance(jacobians, torch.Tensor) else torch.stack(list(jacobians))
            return orbit.top_radial_chart(J.shape[-1], orbit.top_radial_of_matrix(J) / 2, lo=bounds[0], hi=bounds[1])
        TARGETS.append((chains, "fitted_exponents", sigma1_chart))
     ''', "gsa.exact_power_law_chain"),
    # the Bures chart stops at its coarse 65-point grid
    "bures-chart-grid-only": ('''
        import torch
        import impl.geometry.chains as chains
        from impl.geometry import orbit
        def grid_only(sigma, lo, hi):
            target = chains._cartan_distribution(sigma).unsqueeze(-2)
            grid = torch.linspace(lo, hi, 65, dtype=torch.float64)
            return grid[torch.argmin(orbit.hellinger(target, orbit.gibbs_probabilities(sigma.shape[-1], grid)), -1)]
        TARGETS.append((chains, "_bures_chart", grid_only))
     ''', "gsa.exact_power_law_chain"),
    # (57): μ_1 of A's lower triangle mirrored (eigvalsh on A itself) instead of its symmetric part
    "log-norm-lower-triangle": ('''
        import torch
        import impl.geometry.chains as chains
        TARGETS.append((chains, "near_identity_log_norm", lambda A, L: torch.linalg.eigvalsh(A)[..., -1] / L))
     ''', "gsa.near_identity_scaling"),
    # (61): the Frobenius normalisation's tr S/d term dropped
    "radial-without-trace": ('''
        import impl.geometry.chains as chains
        TARGETS.append((chains, "near_identity_radial", lambda A, L: 2 * chains._top_symmetric_eigenvalue(A) / L))
     ''', "gsa.near_identity_scaling"),
    # (59)–(60): μ_1 of the mean (S + S')/2 in the bracket instead of the sum
    "slack-bracket-mean": ('''
        import impl.geometry.chains as chains
        mu = chains._top_symmetric_eigenvalue
        TARGETS.append((chains, "near_identity_slack", lambda A, B, L: (mu(A) + mu(B) - mu((A + B) / 2)) / L))
     ''', "gsa.near_identity_scaling"),
}

CHECKED = ["gsa.cocycle_chain_rule", "gsa.padding_isometry", "gsa.radial_shortness", "gsa.near_identity_scaling",
           "gsa.exact_power_law_chain", "gsa.strict_balancedness"]

# bug: (the check only it breaks, a fragment of that check's failure message)
PINNED = {
    "chain-product-reversed": ("test_chain_product_is_the_jacobian_of_the_composed_map",
                               "differs from the autograd Jacobian"),
    "pad-drops-last-row": ("test_padding_keeps_singular_values_and_norms", "P(W)'s singular values"),
    "successor-from-gram": ("test_balanced_power_law_chains_have_equal_scale_and_exponent",
                            "the built chain is not balanced"),
    "defect-grams-swapped": ("test_unequal_power_laws_are_not_balanced", "aligned factors: defect"),
    "slack-product-reversed": ("test_slack_is_nonnegative_and_vanishes_exactly_on_alignment", "slack: impl"),
    "residual-sign-flipped": ("test_fitted_exponent_drift_obeys_the_mean_value_bounds",
                              "impl's ρ_l or r_l differ from mpmath"),
    "top-radial-chart-sigma1": ("test_every_chart_recovers_the_exponent_of_an_exact_chain[top_radial]",
                                "top_radial chart on an exact chain"),
    "bures-chart-grid-only": ("test_every_chart_recovers_the_exponent_of_an_exact_chain[bures]",
                              "bures chart on an exact chain"),
    "log-norm-lower-triangle": ("test_log_norm_expansions_57_58_are_second_order",
                                "(57) log σ_1(J_l) − μ_1(S_l)/L: error slope"),
    "radial-without-trace": ("test_radial_expansions_61_62_are_second_order",
                             "(61) ρ(Ĵ_l) − 2(μ_1(S_l) − tr S_l/d)/L: error slope"),
    "slack-bracket-mean": ("test_slack_is_first_order_and_third_order_for_close_factors", "(59)–(60) slack"),
}


def planted(bugs: list[str]) -> str:
    return "TARGETS = []\n" + "".join(textwrap.dedent(BUGS[bug][0]) for bug in bugs)


def test_planted_bugs_refute_the_claims_they_break(pytester, monkeypatch):
    claims = run_checks_with_bug(pytester, monkeypatch, FILES, planted(sorted(BUGS)), *FAST)
    for bug, (_, claim) in BUGS.items():
        assert claims[claim]["verdict"] == "refuted", (bug, {cid: claims[cid]["reason"] for cid in CHECKED})
        check, message = PINNED[bug]
        pinned = [c for c in claims[claim]["checks"] if c["nodeid"].endswith("::" + check)]
        assert pinned and all(c["outcome"] == "failed" and message in c["message"] for c in pinned), (bug, pinned)
    # the least-squares chart, which no bug touches, still recovers exact exponents
    outcomes = {c["nodeid"].split("::")[-1]: c["outcome"] for c in claims["gsa.exact_power_law_chain"]["checks"]}
    assert outcomes["test_every_chart_recovers_the_exponent_of_an_exact_chain[least_squares]"] == "passed", outcomes


def test_intact_implementation_confirms_every_checked_gsa_chain_claim(pytester, monkeypatch):
    claims = run_checks_with_bug(pytester, monkeypatch, FILES, None, *FAST)
    assert {cid: claims[cid]["verdict"] for cid in CHECKED} == {cid: "confirmed" for cid in CHECKED}
