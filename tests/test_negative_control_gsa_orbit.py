"""Negative controls: each check of numeric_checks/test_gsa_orbit.py turns red on a planted bug.

The check file runs in a subprocess beside a conftest that plants bugs, either in
`impl.geometry.orbit` (a wrong closed form) or in `impl.geometry.orbit_bounds`, the claims' stated
right-hand sides (a wrong constant, which the checks look up there at call time). Bugs are planted
together, one subprocess per group, and only the checks they are pinned to are run (-k): within
a group no bug touches another bug's pinned check, so each pinned check must fail with its own
message fragment. Two groups because a wrong impl ρ' also breaks the chart and zeta checks.
An intact run of the whole default selection confirms every claim.
"""

from __future__ import annotations

from .planted import assert_bug_group_refutes, assert_intact_run_confirms

CHECK_FILE = "numeric_checks/test_gsa_orbit.py"
PRELUDE = "import impl.geometry.orbit_bounds as orbit_bounds\nTARGETS = []\n"

# bug: (group, source appending (object, attribute, replacement) to TARGETS, claim, pinned check,
#       a fragment of that check's failure message)
BUGS = {
    # λ_i = d i^{-2α}: the harmonic normalisation H_{d,2α} dropped
    "orbit-eigenvalues-without-H": ("impl", '''
        import torch
        import impl.geometry.orbit as orbit
        def unnormalised(d, alpha):
            alpha = torch.as_tensor(alpha, dtype=torch.float64)
            return d * torch.exp(-2 * alpha.unsqueeze(-1) * orbit._log_ranks(d))
        TARGETS.append((orbit, "orbit_eigenvalues", unnormalised))
     ''', "gsa.orbit_membership", "test_normalised_power_law_matrices_lie_on_the_orbit", "(8) orbit_eigenvalues("),
    # ρ' = E[log i]: the factor 2 of (11) dropped
    "rho-prime-without-2": ("impl", '''
        import impl.geometry.orbit as orbit
        TARGETS.append((orbit, "top_radial_derivative", orbit.expected_log_rank))
     ''', "gsa.radial_monotone", "test_rho_and_its_derivatives_match_the_definition", "ρ'("),
    # S = log H − 2α E[log i]: the wrong sign of the 2α term of (21)
    "entropy-wrong-sign": ("impl", '''
        import impl.geometry.orbit as orbit
        def entropy(d, alpha):
            return orbit.log_harmonic(d, 2 * alpha) - 2 * alpha * orbit.expected_log_rank(d, alpha)
        TARGETS.append((orbit, "spectral_entropy", entropy))
     ''', "gsa.entropy_kl", "test_entropy_and_kl_closed_forms_match_the_definitions", "(21) S("),
    # (F1) returned without its square root
    "bures-without-square-root": ("impl", '''
        import impl.geometry.orbit as orbit
        real = orbit.bures_wasserstein_orbit
        TARGETS.append((orbit, "bures_wasserstein_orbit", lambda d, a, b: real(d, a, b) ** 2))
     ''', "gsa.fisher_bures", "test_bures_closed_form_matches_the_matrix_definition", "closed form (F1): d_BW²"),
    # ds/dα = √((d/2) I): d/2 instead of d/4
    "line-element-d-over-2": ("impl", '''
        import torch
        import impl.geometry.orbit as orbit
        TARGETS.append((orbit, "bures_line_element", lambda d, a: torch.sqrt(d / 2 * orbit.fisher_information(d, a))))
     ''', "gsa.fisher_bures", "test_line_element_is_the_speed_of_the_square_root_eigenvalues", "(F2) at d="),
    # ρ'' = +4 Var: the sign of −I flipped (breaks concavity)
    "rho-second-wrong-sign": ("impl", '''
        TARGETS.append((orbit_bounds, "rho_second", lambda mean, var: 4 * var))
     ''', "gsa.radial_monotone", "test_rho_is_certified_increasing_and_concave_on_exponent_intervals",
        "ρ'' < 0 not certified"),
    # (A.3) upper bound without its d^{1−s}/(s−1)² term
    "log-tail-upper-without-square-term": ("impl", '''
        def log_tail_upper_without_square(d, s):
            from flint import arb
            return orbit_bounds.power_series(d, s) * arb(d).log() / (s - 1)
        TARGETS.append((orbit_bounds, "log_tail_upper", log_tail_upper_without_square))
     ''', "gsa.harmonic_tail_bounds", "test_harmonic_and_log_weighted_tail_bounds_are_certified",
        "(A.3) −ζ'(s) − L_(d,s) ≤ upper bound"),

    # sandwich upper bound α log(d!)/d: factor 2 dropped
    "sandwich-upper-without-2": ("claims", '''
        import mpmath
        TARGETS.append((orbit_bounds, "sandwich_upper", lambda d, alpha: alpha * mpmath.loggamma(d + 1) / d))
     ''', "gsa.radial_monotone", "test_rho_at_the_identity_its_range_and_the_sandwich", "sandwich: ρ ≤ 2α log(d!)/d fails"),
    # ρ'' = −Var: the 4 of I = 4 Var dropped
    "rho-second-without-4": ("claims", '''
        TARGETS.append((orbit_bounds, "rho_second", lambda mean, var: -var))
     ''', "gsa.radial_monotone", "test_rho_derivatives_are_certified_at_points", "ρ''("),
    # the minimum of ρ' placed at the left end of the interval
    "minimum-at-the-left-end": ("claims", '''
        TARGETS.append((orbit_bounds, "chart_minimiser", lambda lo, hi: lo))
     ''', "gsa.chart_conditioning", "test_the_minimum_of_rho_prime_on_an_interval_is_at_its_right_end", "(19)"),
    # (20) without the division by H_{d,2α}
    "chart-bound-without-H": ("claims", '''
        import mpmath
        TARGETS.append((orbit_bounds, "chart_lower_bound",
                        lambda d, alpha, h: 2 * mpmath.power(d, -2 * mpmath.mpf(alpha)) * mpmath.log(d)))
     ''', "gsa.chart_conditioning", "test_rho_prime_bounds_on_the_chart", "(20) at d="),
    # KL ≤ (β−α)²(log d)²/8: Popoviciu's 1/4 applied twice
    "kl-bound-over-8": ("claims", '''
        import mpmath
        TARGETS.append((orbit_bounds, "kl_upper_bound", lambda d, a, b: (b - a) ** 2 * mpmath.log(d) ** 2 / 8))
     ''', "gsa.entropy_kl", "test_kl_has_a_lagrange_remainder_and_is_bounded", "0 ≤ KL ≤ (β−α)²(log d)²/2 fails"),
    # the limit of d_BW/h compared with √((d/2) I)
    "claimed-line-element-d-over-2": ("claims", '''
        TARGETS.append((orbit_bounds, "line_element_sq", lambda d, var: 2 * d * var))
     ''', "gsa.fisher_bures", "test_bures_distance_over_step_tends_to_the_line_element", "(F2) at d="),
    # (F3) with √d/4 instead of √d/2
    "length-bound-halved": ("claims", '''
        from flint import arb
        TARGETS.append((orbit_bounds, "bures_length_bound",
                        lambda d, a, b: arb(d).sqrt() / 4 * abs(arb(b) - arb(a)) * arb(d).log()))
     ''', "gsa.fisher_bures", "test_bures_distance_is_below_the_orbit_length_and_the_log_bound",
        "(F3) the orbit length exceeds"),
    # (F1) closed form d[1 − …] instead of 2d[1 − …]
    "bures-closed-form-without-2": ("claims", '''
        TARGETS.append((orbit_bounds, "bures_sq", lambda d, hs, ha, hb: d * (1 - hs / (ha * hb).sqrt())))
     ''', "gsa.fisher_bures", "test_fisher_bures_identities_are_certified_at_points", "(F1) d_BW² at d="),
    # (A.1) lower bound d^{1−s}/(s−1): (d+1) → d
    "tail-lower-bound-uses-d": ("claims", '''
        def harmonic_tail_lower_at_d(d, s):
            return orbit_bounds.power_series(d, s) / (s - 1)
        TARGETS.append((orbit_bounds, "harmonic_tail_lower", harmonic_tail_lower_at_d))
     ''', "gsa.harmonic_tail_bounds", "test_harmonic_and_log_weighted_tail_bounds_are_certified",
        "(A.1) (d+1)^(1−s)/(s−1) ≤ ζ(s) − H_(d,s)"),
    # −ζ'(s) read off the deflated zeta ζ(s) − 1/(s−1): loses 1/(s−1)²
    "zeta-derivative-deflated": ("claims", '''
        def minus_deflated_zeta_prime(s):
            from flint import arb
            return -orbit_bounds.variable(arb(s), 2).zeta(arb(1), deflate=True).coeffs()[1]
        TARGETS.append((orbit_bounds, "minus_zeta_prime_ball", minus_deflated_zeta_prime))
     ''', "gsa.harmonic_tail_bounds", "test_minus_zeta_prime_is_the_termwise_derivative", "(A.2) at s="),
    # the rate bound without its factor 2 (the bound is up to 0.99 tight)
    "zeta-rate-bound-without-2": ("claims", '''
        import mpmath
        def rate_bound_without_2(d, alpha):
            s = 2 * mpmath.mpf(alpha)
            return 1 / mpmath.zeta(s) * mpmath.power(d, 1 - s) * (mpmath.log(d) / (s - 1) + 1 / (s - 1) ** 2)
        TARGETS.append((orbit_bounds, "zeta_rate_bound_mp", rate_bound_without_2))
     ''', "gsa.zeta_limit", "test_rho_prime_increases_with_width_to_the_zeta_limit", "0 ≤ ρ'_∞ − ρ'_d ≤"),
    # the limit −ζ'/ζ without its factor 2
    "zeta-limit-without-2": ("claims", '''
        TARGETS.append((orbit_bounds, "zeta_limit_series", lambda s, zeta, minus_prime: minus_prime / zeta))
     ''', "gsa.zeta_limit", "test_zeta_rate_bound_is_certified", "ρ'_∞ − ρ'_d > 0 at d="),
}

CHECKED = ["gsa.orbit_membership", "gsa.radial_monotone", "gsa.chart_conditioning", "gsa.entropy_kl",
           "gsa.fisher_bures", "gsa.harmonic_tail_bounds", "gsa.zeta_limit"]


def test_planted_bugs_in_the_orbit_closed_forms_refute_their_claims(pytester, monkeypatch):
    """Bugs in impl.geometry.orbit's closed forms, beside two wrong right-hand sides that no closed-form
    bug's pinned check can see (ρ'' and the (A.3) upper bound)."""
    assert_bug_group_refutes(pytester, monkeypatch, [CHECK_FILE], PRELUDE, BUGS, "impl")


def test_wrong_constants_in_the_claimed_right_hand_sides_refute_their_claims(pytester, monkeypatch):
    """Wrong constants in impl.geometry.orbit_bounds' right-hand sides."""
    assert_bug_group_refutes(pytester, monkeypatch, [CHECK_FILE], PRELUDE, BUGS, "claims")


def test_intact_orbit_confirms_every_checked_gsa_orbit_claim(pytester, monkeypatch):
    assert_intact_run_confirms(pytester, monkeypatch, [CHECK_FILE], CHECKED)
