"""Negative controls: the N check of lru.forward_blowup turns red on wrong closed forms.

`numeric_checks/test_lru_blowup.py` runs in a subprocess beside a conftest that replaces impl's
closed forms (which the check looks up in their modules at call time) with plausible wrong ones; the two bugs are planted
together, each pinned to the check that only it can break, whose cases must fail with their
numbers. An intact run confirms the claim (its E part, an experiment, is not run here).
"""

from __future__ import annotations

import textwrap

from .conftest import run_checks_with_bug

CLAIM = "lru.forward_blowup"

# bug: (source appending (module, attribute, replacement) to TARGETS, the check only it breaks,
#       a fragment of that check's failure message, the cases where the wrong form is still right)
BUGS = {
    # the factor for |λ| uniform on [r_min, r_max] (the ring sampler's classic mistake) instead of
    # |λ|² uniform: E[1/(1 − r²)] for r uniform on [a, b] is (artanh b − artanh a)/(b − a)
    "factor-with-modulus-uniform": ('''
        import mpmath
        def modulus_uniform(r_min, r_max):
            a, b = mpmath.mpf(r_min), mpmath.mpf(r_max)
            return (mpmath.atanh(b) - mpmath.atanh(a)) / (b - a)
        import impl.experiments.lru as lru_experiment
        TARGETS.append((lru_experiment, "forward_blowup_factor", modulus_uniform))
     ''', "test_annulus_average_of_the_white_noise_gain_is_the_closed_form[", "closed form F = ", ()),
    # the phase average taken as the gain at its peak θ = 0 (no averaging): 1/(1 − r)²
    "phase-average-at-the-peak": ('''
        import mpmath
        def at_the_peak(r):
            return 1 / (1 - mpmath.mpf(r)) ** 2
        import impl.diagonal_rnn.gains as gains
        TARGETS.append((gains, "phase_average_closed_form", at_the_peak))
     ''', "test_phase_average_of_the_constant_input_gain_is_the_closed_form[", "closed form 1/(1 − r²) = ",
        ("[0]",)),     # 1/(1 − r)² = 1/(1 − r²) at r = 0
}


def planted() -> str:
    return "TARGETS = []\n" + "".join(textwrap.dedent(source) for source, *_ in BUGS.values())


def test_planted_closed_forms_refute_the_claim(pytester, monkeypatch):
    claims = run_checks_with_bug(pytester, monkeypatch, ["numeric_checks/test_lru_blowup.py"], planted())
    assert claims[CLAIM]["verdict"] == "refuted", claims[CLAIM]["reason"]
    checks = claims[CLAIM]["checks"]
    for bug, (_, check, message, still_right) in BUGS.items():
        pinned = [c for c in checks if check in c["nodeid"]]
        broken = [c for c in pinned if not c["nodeid"].endswith(still_right)]
        assert broken and all(c["outcome"] == "failed" and message in c["message"] for c in broken), (bug, pinned)
        assert all(c["outcome"] == "passed" for c in pinned if c not in broken), (bug, pinned)


def test_intact_closed_forms_confirm_the_claim(pytester, monkeypatch):
    claims = run_checks_with_bug(pytester, monkeypatch, ["numeric_checks/test_lru_blowup.py"], None)
    assert claims[CLAIM]["verdict"] == "confirmed", claims[CLAIM]["reason"]
