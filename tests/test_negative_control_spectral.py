"""Negative controls of the spectral checks: each says "refuted" on a wrong implementation, and the
two refuted claims' checks say "confirmed" once the document's formula is replaced by the exact one.

property_tests/test_spectral.py and numeric_checks/test_spectral.py share a file name, so both are
copied into the subprocess's folder under distinct names. Bugs on disjoint functions are planted
together, each pinned to a check no other bug in its run can break:

run A (all fast checks)
- spectrum-ascending: power_law_spectrum returns σ in increasing order → power_law_decreasing
  (condition_number, truncation_rank and captured_variance sort, so nothing else notices);
- condition-off-by-one: condition_number uses σ_{r+1} (Lean's (r+1)^α read as κ_r) → condition_grows
  and condition_number_scaling;
- manifold-codimension: rank_manifold_dimension returns (d − r)² → manifold_dim_mono;
- implied-alpha-drops-one: α = log ε / log(r*/d) / 2 → implied_alpha;
- exact-variance (a correct formula): the document's Σ_{i≤r} ≈ r^{1−2α}/(1−2α) and (r/d)^{1−2α}
  replaced by the exact sums → variance_integral confirmed;
- exact-rank (a correct formula): d·ε^{1/(2α−1)} replaced by the exact truncation rank →
  optimal_rank_formula confirmed.
run B (-k: the positivity and differential checks): spectrum-by-division computes c / i^α, whose
i^α overflows at α·log i = 709.8, before the format's floor 744.4 → power_law_positive;
differential-drops-a-term: the δV block U δV is zero → manifold_dim_mono (N).
An intact run gives every confirmed claim and refutes the two false ones.
"""

from __future__ import annotations

import shutil
import textwrap

from .conftest import ROOT, run_checks_with_bug

COPIES = {"property_tests/test_spectral.py": "test_spectral_properties.py",
          "numeric_checks/test_spectral.py": "test_spectral_numeric.py"}
FAST = ("-m", "not sweep and not experiment")

RUN_A = '''
    import flint
    import torch
    import impl.spectral.rank_formulas as rank_formulas
    import impl.spectral.spectra as spectra

    real_spectrum = spectra.power_law_spectrum
    def ascending(d, alpha, c=1.0, **kwargs):
        return real_spectrum(d, alpha, c, **kwargs).flip(-1)

    def condition_off_by_one(sigma, r):
        s = torch.sort(sigma.abs(), dim=-1, descending=True).values
        return s[..., 0] / s[..., min(r, sigma.shape[-1] - 1)]

    def codimension(d, r):
        return (d - r) ** 2

    def implied_alpha_without_one(ratio, eps):
        ratio, eps = torch.as_tensor(ratio, dtype=torch.float64), torch.as_tensor(eps, dtype=torch.float64)
        return torch.log(eps) / torch.log(ratio) / 2

    def exact_sum(r, alpha):
        if isinstance(alpha, flint.arb):
            return (2 * alpha).zeta() - (2 * alpha).zeta(r + 1)
        r, alpha = torch.as_tensor(r, dtype=torch.float64), torch.as_tensor(alpha, dtype=torch.float64)
        i = torch.arange(1, int(r.max()) + 1, dtype=torch.float64)
        return torch.cumsum(torch.exp(-2 * alpha * torch.log(i)), 0)[r.long() - 1]

    def exact_fraction(r, d, alpha):
        return exact_sum(r, alpha) / exact_sum(d, alpha)

    def exact_rank(alpha, eps, d):
        if isinstance(alpha, flint.arb):
            a, e, n = float(alpha.mid()), float(eps.mid()), int(float(d.mid()))
            return flint.arb(int(spectra.truncation_rank(spectra.power_law_spectrum(n, a), e)))
        return float(spectra.truncation_rank(spectra.power_law_spectrum(int(d), float(alpha)), float(eps)))

    TARGETS = [(spectra, "power_law_spectrum", ascending),
               (spectra, "condition_number", condition_off_by_one),
               (rank_formulas, "rank_manifold_dimension", codimension),
               (rank_formulas, "implied_alpha", implied_alpha_without_one),
               (rank_formulas, "variance_integral_approximation", exact_sum),
               (rank_formulas, "captured_fraction_approximation", exact_fraction),
               (rank_formulas, "predicted_rank", exact_rank)]
'''

RUN_B = '''
    import torch
    import impl.spectral.rank_formulas as rank_formulas
    import impl.spectral.spectra as spectra

    def by_division(d, alpha, c=1.0, *, dtype=torch.float64, device=None):
        i = torch.arange(1, d + 1, dtype=dtype, device=device)
        alpha = torch.as_tensor(alpha, dtype=dtype, device=device).unsqueeze(-1)
        return torch.as_tensor(c, dtype=dtype, device=device).unsqueeze(-1) / i ** alpha

    real_differential = rank_formulas.factorisation_differential
    def without_u_dv(U, V):
        D = real_differential(U, V)
        D[:, U.shape[0] * U.shape[1]:] = 0
        return D

    TARGETS = [(spectra, "power_law_spectrum", by_division),
               (rank_formulas, "factorisation_differential", without_u_dv)]
'''

CONFIRMED = ["spectral.power_law_decreasing", "spectral.power_law_positive", "spectral.condition_grows",
             "spectral.manifold_dim_mono", "spectral.condition_number_scaling", "spectral.implied_alpha"]
FALSE = ["spectral.variance_integral", "spectral.optimal_rank_formula"]


def run_both_files(pytester, monkeypatch, bug, *args) -> dict:
    for source, name in COPIES.items():
        shutil.copy(ROOT / source, pytester.path / name)
    return run_checks_with_bug(pytester, monkeypatch, [], bug and textwrap.dedent(bug), *FAST, *args)


def failed_with(claim: dict, test: str, fragment: str) -> bool:
    """Every check of `claim` that ran and whose name contains `test` failed, with `fragment` in its message."""
    pinned = [c for c in claim["checks"] if test in c["nodeid"] and c["outcome"] != "deselected"]
    return bool(pinned) and all(c["outcome"] == "failed" and fragment in (c["message"] or "") for c in pinned)


def test_planted_bugs_refute_and_exact_formulas_confirm(pytester, monkeypatch):
    claims = run_both_files(pytester, monkeypatch, RUN_A)
    reasons = {cid: claims[cid]["reason"] for cid in CONFIRMED + FALSE}
    pins = {
        "spectral.power_law_decreasing": ("test_power_law_is_strictly_decreasing", "σ_1 = "),
        "spectral.condition_grows": ("test_condition_number_grows_strictly_with_rank", "κ_1 = "),
        "spectral.condition_number_scaling": ("test_condition_number_of_the_spectrum_is_r_to_the_alpha", "but r^α"),
        "spectral.manifold_dim_mono": ("test_rank_manifold_dimension_increases_up_to_full_rank", "but d² − (d−r)²"),
        "spectral.implied_alpha": ("test_implied_alpha_against_50_digits_and_round_trip", "implied_alpha("),
    }
    for claim, (test, fragment) in pins.items():
        assert claims[claim]["verdict"] == "refuted", (claim, reasons)
        assert failed_with(claims[claim], test, fragment), (claim, claims[claim]["checks"])
    # no bug of this run touches positivity; the exact formulas pass every check of the false claims
    assert claims["spectral.power_law_positive"]["verdict"] == "confirmed", reasons
    for claim in FALSE:
        assert claims[claim]["verdict"] == "confirmed", (claim, reasons[claim])


def test_early_underflow_and_a_missing_tangent_term_refute(pytester, monkeypatch):
    claims = run_both_files(pytester, monkeypatch, RUN_B, "-k", "positive or underflow or differential_rank")
    positive, manifold = claims["spectral.power_law_positive"], claims["spectral.manifold_dim_mono"]
    assert positive["verdict"] == "refuted", positive["reason"]
    assert failed_with(positive, "test_underflow_starts_only_at_the_format_floor[float64]", "is 0 from α·log i = 709.")
    assert manifold["verdict"] == "refuted", manifold["reason"]
    assert failed_with(manifold, "test_differential_rank_is_the_manifold_dimension", "differs from autograd")


def test_intact_implementation_confirms_the_true_claims_and_refutes_the_false(pytester, monkeypatch):
    claims = run_both_files(pytester, monkeypatch, None)
    assert {cid: claims[cid]["verdict"] for cid in CONFIRMED + FALSE} == (
        {cid: "confirmed" for cid in CONFIRMED} | {cid: "refuted" for cid in FALSE})
