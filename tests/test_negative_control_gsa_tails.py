"""Negative controls: each gsa tails check turns red on a deliberately wrong implementation or constant.

`numeric_checks/test_gsa_tails.py` and `property_tests/test_gsa_tails.py` run in one subprocess (in
their own folders, --import-mode=importlib, since the two files share a basename) beside a conftest
that plants bugs in `impl.geometry.tails`, `impl.geometry.orbit` and `impl.spectral.spectra`. All bugs
go in together; each is pinned to checks that only it can reach (no other bug touches what those checks
call), and each pinned check must fail with its own message. An intact run confirms every claim.
Sweeps are left out (as in the plain run).
"""

from __future__ import annotations

import shutil
import textwrap

from .conftest import ROOT, run_checks_with_bug

CHECK_FILES = ["numeric_checks/test_gsa_tails.py", "property_tests/test_gsa_tails.py"]
ARGS = ("--import-mode=importlib", "-m", "not sweep and not experiment", "numeric_checks", "property_tests")

# bug: (source appending (object, attribute, replacement) to TARGETS, the claim it must refute); the
# sources share one module, so each keeps the original it wraps under its own name
BUGS = {
    # the tail sum starts at i = k instead of k + 1
    "tail-sum-includes-k": ('''
        import impl.geometry.tails as tails
        tail_sum = tails.power_law_tail_sum
        TARGETS.append((tails, "power_law_tail_sum", lambda s, k, d: tail_sum(s, max(k - 1, 0), d)))
     ''', "gsa.tail_integral_bounds"),
    # (79)'s lower bound integrates from k instead of k + 1
    "lower-bound-from-k": ('''
        import impl.geometry.tails as tails
        TARGETS.append((tails, "tail_sum_bounds", lambda s, k, d: (tails._power_integral(k, d + 1, s),
                                                                   tails._power_integral(k, d, s))))
     ''', "gsa.tail_integral_bounds"),
    # (80)'s tail bound k^{1−s}/(s−1) with s in the denominator instead of s − 1
    "infinite-tail-over-s": ('''
        import impl.geometry.tails as tails
        TARGETS.append((tails, "infinite_tail_bound", lambda s, k: tails._power(k, 1 - s) / s))
     ''', "gsa.tail_integral_bounds"),
    # the spectra path's truncation rank is one too large
    "spectra-rank-off-by-one": ('''
        import impl.spectral.spectra as spectra
        spectra_rank = spectra.truncation_rank
        TARGETS.append((spectra, "truncation_rank", lambda sigma, eps: spectra_rank(sigma, eps) + 1))
     ''', "gsa.truncation_rank_bounds"),
    # Theorem 5.5's upper bound with exponent −1/s instead of −1/(s−1)
    "upper-bound-exponent-over-s": ('''
        import impl.geometry.tails as tails
        bound_values = tails.truncation_rank_bound_values
        def wrong_upper(s, eps, d):
            x_low, _ = bound_values(s, eps, d)
            return x_low, tails._power((s - 1) * eps, -1 / s)
        TARGETS.append((tails, "truncation_rank_bound_values", wrong_upper))
     ''', "gsa.truncation_rank_bounds"),
    # the s < 1 limit (1 − ε)^{1/(1−s)} with exponent 1/s
    "rank-fraction-exponent": ('''
        import impl.geometry.tails as tails
        TARGETS.append((tails, "linear_rank_fraction", lambda s, eps: (1 - eps) ** (1 / s)))
     ''', "gsa.truncation_rank_bounds"),
    # the orbit rank is computed at |α|: not monotone for α < 0, plateaux split in two
    "orbit-rank-at-abs-alpha": ('''
        import torch
        import impl.geometry.orbit as orbit
        orbit_rank = orbit.orbit_truncation_rank
        TARGETS.append((orbit, "orbit_truncation_rank",
                        lambda d, alpha, eps: orbit_rank(d, torch.as_tensor(alpha, dtype=torch.float64).abs(), eps)))
     ''', "gsa.truncation_rank_monotone"),
    # ∂_α T_k without the factor 2
    "derivative-missing-2": ('''
        import impl.geometry.tails as tails
        derivative = tails.tail_mass_derivative
        TARGETS.append((tails, "tail_mass_derivative", lambda d, k, alpha: derivative(d, k, alpha) / 2))
     ''', "gsa.truncation_rank_monotone"),
    # Lemma 5.8's constant (log d)/4 instead of (log d)/2
    "lipschitz-quarter-log-d": ('''
        import math
        import impl.geometry.tails as tails
        TARGETS.append((tails, "tail_mass_lipschitz_constant", lambda d: math.log(d) / 4))
     ''', "gsa.tail_mass_lipschitz"),
    # plateau endpoints taken from T_{k+1} = ε (the last one kept), labelled as T_k's
    "endpoints-on-next-tail": ('''
        import impl.geometry.tails as tails
        endpoints = tails.plateau_endpoints
        def shifted(d, eps, lo, hi):
            roots = endpoints(d, eps, lo, hi)
            return {k: roots.get(k + 1, b) for k, b in roots.items()}
        TARGETS.append((tails, "plateau_endpoints", shifted))
     ''', "gsa.rank_transitions"),
}

CHECKED = ["gsa.tail_integral_bounds", "gsa.truncation_rank_bounds", "gsa.truncation_rank_monotone",
           "gsa.tail_mass_lipschitz", "gsa.rank_transitions"]

# bug: [(a check only it reaches, a fragment of that check's failure message)]
PINNED = {
    "tail-sum-includes-k": [("test_tail_sum_matches_the_exact_sum", "power_law_tail_sum(s=")],
    "lower-bound-from-k": [("test_tail_sums_lie_within_the_integral_bounds", "(79) fails"),
                           ("test_integral_bounds_certified_at_rational_exponents", "(79) lower")],
    "infinite-tail-over-s": [("test_zeta_and_infinite_tail_bounds", "(80) fails")],
    "spectra-rank-off-by-one": [("test_truncation_rank_paths_agree_with_the_partial_sum_walk[spectra]",
                                 "spectra path: r_ε")],
    "upper-bound-exponent-over-s": [("test_true_rank_lies_within_the_bounds", "Theorem 5.5 fails"),
                                    ("test_rank_stays_below_the_width_independent_bound", "width-independent"),
                                    ("test_truncation_rank_bounds_certified", "upper bound at")],
    "rank-fraction-exponent": [("test_rank_grows_linearly_in_width_below_one", "does not approach")],
    "orbit-rank-at-abs-alpha": [("test_truncation_rank_is_nonincreasing_in_alpha", "r_ε rises along the orbit"),
                                ("test_truncation_rank_paths_agree_with_the_partial_sum_walk[orbit]", "orbit path"),
                                ("test_plateaux_are_intervals", "is not an interval")],
    "derivative-missing-2": [("test_tail_mass_derivative_matches_the_definition", "closed form")],
    "lipschitz-quarter-log-d": [("test_tail_mass_slope_is_at_most_half_log_d", "above (log d)/2"),
                                ("test_tail_mass_differences_on_random_pairs", "(log d)/2 |α − β|")],
    "endpoints-on-next-tail": [("test_transitions_straddle_plateau_endpoints", "is not a root of the definition"),
                               ("test_tail_margin_gives_the_endpoint_distance", "is not a root of the definition")],
}


def planted(bugs: list[str]) -> str:
    return "TARGETS = []\n" + "".join(textwrap.dedent(BUGS[bug][0]) for bug in bugs)


def run(pytester, monkeypatch, bug: str | None) -> dict:
    for name in CHECK_FILES:
        (pytester.path / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, pytester.path / name)
    return run_checks_with_bug(pytester, monkeypatch, [], bug, *ARGS)


def test_planted_bugs_refute_the_claims_they_break(pytester, monkeypatch):
    claims = run(pytester, monkeypatch, planted(sorted(BUGS)))
    checks = [c for cid in CHECKED for c in claims[cid]["checks"]]
    for bug, (_, claim) in BUGS.items():
        assert claims[claim]["verdict"] == "refuted", (bug, {cid: claims[cid]["reason"] for cid in CHECKED})
        for check, message in PINNED[bug]:
            pinned = [c for c in checks if c["nodeid"].endswith("::" + check)]
            assert pinned and all(c["outcome"] == "failed" and message in (c["message"] or "") for c in pinned), (
                bug, check, pinned)


def test_intact_implementation_confirms_every_checked_tails_claim(pytester, monkeypatch):
    claims = run(pytester, monkeypatch, None)
    assert {cid: claims[cid]["verdict"] for cid in CHECKED} == {cid: "confirmed" for cid in CHECKED}, (
        {cid: claims[cid]["reason"] for cid in CHECKED})
