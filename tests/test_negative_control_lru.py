"""Negative controls: each lru check turns red on a deliberately wrong implementation.

`property_tests/test_lru.py` runs in a subprocess beside a conftest that plants bugs in
`impl.diagonal_rnn`. Starting the subprocess (torch, scipy, flint) costs most of a run, so the
three bugs are planted together in one run; each is pinned to a check that only it can break
(the scan path of the unrolled-sum check; the KS test of |λ|²; the determinant identity), and
that check must fail with its numbers in the message. An intact run confirms every checked claim.

The module's contracts from the LRU paper's code (the D ⊙ u readout, the initial scales of B, C
and D), which no claim states, are checked in this process (by node id, tests/planted.py): each
planted change (the readout without D ⊙ u; C drawn with the old standard deviation (2N)^-½ per
part; D drawn with sd 2) must make its check fail.
"""

from __future__ import annotations

import textwrap

import pytest
import torch

import impl.diagonal_rnn.model as diag_model

from .conftest import run_checks_with_bug
from .planted import assert_check_fails

# bug: (source appending (object, attribute, replacement) to TARGETS, the claim it must refute)
BUGS = {
    # the scan's composition drops the power of λ that should carry the earlier prefix forward
    "scan-drops-a-power": ('''
        import impl.diagonal_rnn.chunked as scan
        def drop_power(first, second):
            (a1, v1), (a2, v2) = first, second
            return a2 * a1, v1 + v2
        TARGETS.append((scan, "diagonal_combine", drop_power))
     ''', "lru.state_unrolling"),
    # the ring sampler draws |λ| uniform on [r_min, r_max] instead of |λ|² on [r_min², r_max²]
    "ring-modulus-uniform": ('''
        import math
        import torch
        import impl.diagonal_rnn.model as model
        def modulus_uniform(n, r_min=0.0, r_max=1.0, max_phase=2 * math.pi, *, generator=None,
                            dtype=torch.float64, device=None):
            draw_on = generator.device if generator is not None else device
            u1 = torch.rand(n, generator=generator, dtype=torch.float64, device=draw_on)
            u2 = torch.rand(n, generator=generator, dtype=torch.float64, device=draw_on)
            nu = -torch.log(u1 * (r_max - r_min) + r_min)
            return (torch.log(nu).to(dtype=dtype, device=device),
                    torch.log(max_phase * u2).to(dtype=dtype, device=device))
        TARGETS.append((model, "lru_ring_parameters", modulus_uniform))
     ''', "lru.ring_init_uniform"),
    # the Vandermonde builder is off by one in the exponent: V[n, j] = λ_n^(j+1)
    "vandermonde-wrong-exponent": ('''
        import torch
        import impl.diagonal_rnn.model as model
        def shifted_powers(nodes, columns):
            return torch.cumprod(nodes.unsqueeze(1).expand(-1, columns), dim=1)
        TARGETS.append((model, "vandermonde_matrix", shifted_powers))
     ''', "lru.vandermonde_invertible"),
}

CHECKED = ["lru.state_unrolling", "lru.vandermonde_invertible", "lru.ring_init_uniform"]


def planted(bugs: list[str]) -> str:
    return "TARGETS = []\n" + "".join(textwrap.dedent(BUGS[bug][0]) for bug in bugs)


# bug: (the check only it breaks, a fragment of that check's failure message)
PINNED = {
    "scan-drops-a-power": ("test_state_is_the_unrolled_sum[scan]", "scan path: x_"),
    "ring-modulus-uniform": ("test_ring_init_is_uniform_on_the_annulus[", "KS p-value <= 0.001: {'|λ|² vs uniform'"),
    "vandermonde-wrong-exponent": ("test_vandermonde_determinant_is_the_product_of_differences", "det V = "),
}


def test_planted_bugs_refute_the_claims_they_break(pytester, monkeypatch):
    claims = run_checks_with_bug(pytester, monkeypatch, ["property_tests/test_lru.py"], planted(sorted(BUGS)))
    for bug, (_, claim) in BUGS.items():
        assert claims[claim]["verdict"] == "refuted", (bug, {cid: claims[cid]["reason"] for cid in CHECKED})
        check, message = PINNED[bug]
        pinned = [c for c in claims[claim]["checks"] if check in c["nodeid"]]
        assert pinned and all(c["outcome"] == "failed" and message in c["message"] for c in pinned), (bug, pinned)
    # the step loop, which no bug touches, still agrees with the unrolled sum: only the broken path falls
    outcomes = {c["nodeid"].split("::")[-1]: c["outcome"] for c in claims["lru.state_unrolling"]["checks"]}
    assert outcomes["test_state_is_the_unrolled_sum[reference]"] == "passed", outcomes


def test_intact_implementation_confirms_every_checked_lru_claim(pytester, monkeypatch):
    claims = run_checks_with_bug(pytester, monkeypatch, ["property_tests/test_lru.py"], None)
    assert {cid: claims[cid]["verdict"] for cid in CHECKED} == {cid: "confirmed" for cid in CHECKED}


# ------------------------------------------------------------- the module's contracts (no claim), in this process

def test_readout_without_the_skip_term_is_caught(monkeypatch):
    def readout_without_skip(self, u, h0=None):          # the module's readout before the fix
        x = self._states(u, h0)
        if self.C_re is None:
            return x.to(self.state_dtype)
        C = self.C_re if self.C_im is None else torch.complex(self.C_re, self.C_im)
        y = x @ C.T
        return (y.real if y.is_complex() else y).to(self.dtype)

    monkeypatch.setattr(diag_model.DiagonalLinearRNN, "forward", readout_without_skip)
    assert_check_fails("property_tests/test_lru.py::test_module_output_is_re_cx_plus_d_u", "but Re(C x_k) + D ⊙ u_k =")


@pytest.mark.parametrize("planted, factor, fragment", [
    ("C_re", 2 ** -0.5, "'C_re': 'sd"),          # the old init: (2N)^-½ per part instead of N^-½
    ("C_im", 2 ** -0.5, "'C_im': 'sd"),
    ("D", 2.0, "'D': 'sd"),
])
def test_wrong_initial_scales_are_caught(monkeypatch, planted, factor, fragment):
    real_init = diag_model.DiagonalLinearRNN.__init__

    def planted_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        with torch.no_grad():
            getattr(self, planted).mul_(factor)

    monkeypatch.setattr(diag_model.DiagonalLinearRNN, "__init__", planted_init)
    assert_check_fails("property_tests/test_lru.py::test_module_initial_scales_are_the_papers[complex]", fragment)
