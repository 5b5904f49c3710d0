"""Negative controls: the Vandermonde-conditioning checks turn red on wrong conditioning code.

`numeric_checks/test_lru_conditioning.py` runs in a subprocess beside a conftest that plants bugs
in impl.diagonal_rnn.vandermonde (looked up at call time by the checks and by impl's own κ₂):

- gram-without-conjugation: G = Vᵀ V instead of V^H V (for the roots of unity Vᵀ V = N times the
  index-reversal permutation, not N·I) → lru.roots_of_unity_conditioning;
- roots-off-by-one: the "roots of unity" at angles 2πn/(N + 1), a wrong constant → the same claim;
- power-off-by-one: V[n, j] = λ_n^{j+1} (V scaled by diag(λ), which the roots of unity do not
  notice but real nodes and r·roots do) → lru.real_eigen_ill_conditioned (impl's κ₂ against
  mpmath's SVD of a V built in the check, Gautschi's exact bounds) and the r·roots check.

The first two bugs are planted together and pinned to the roots checks, the third on its own run.
An intact run confirms both claims.
"""

from __future__ import annotations

from .conftest import run_checks_with_bug

FILE = ["numeric_checks/test_lru_conditioning.py"]
ROOTS, REAL = "lru.roots_of_unity_conditioning", "lru.real_eigen_ill_conditioned"

GRAM_AND_ROOTS = '''
import flint
import impl.diagonal_rnn.vandermonde as vm
def gram_without_conjugation(V):
    return V.transpose() * V
def roots_off_by_one(N, radius=1, phase=0):
    r, offset = vm._ball(radius), vm._ball(phase)
    return [r * (flint.acb(0, 1) * (offset + 2 * flint.arb.pi() * flint.fmpq(n, N + 1))).exp() for n in range(N)]
TARGETS = [(vm, "gram_matrix", gram_without_conjugation), (vm, "roots_of_unity", roots_off_by_one)]
'''

POWER = '''
import impl.diagonal_rnn.vandermonde as vm
def rows_off_by_one(nodes, columns):
    rows = []
    for node in nodes:
        power, row = node, []
        for _ in range(columns):
            row.append(power)
            power = power * node
        rows.append(row)
    return rows
TARGETS = [(vm, "vandermonde_rows", rows_off_by_one)]
'''


def outcomes(claim: dict, test: str) -> list[tuple[str, str]]:
    return [(c["outcome"], c["message"] or "") for c in claim["checks"] if f"::{test}" in c["nodeid"]]


def test_wrong_gram_and_wrong_roots_refute_the_roots_claim(pytester, monkeypatch):
    claims = run_checks_with_bug(pytester, monkeypatch, FILE, GRAM_AND_ROOTS, "-k", "roots")
    assert claims[ROOTS]["verdict"] == "refuted", claims[ROOTS]["reason"]
    gram = outcomes(claims[ROOTS], "test_roots_of_unity_give_a_gram_matrix_n_times_identity")
    # N = 1 has no off-diagonal entry and one root: both bugs are invisible there
    assert sum(o == "failed" and "but N·I has" in m for o, m in gram) == 63, gram[:3]
    scaled = outcomes(claims[ROOTS], "test_scaled_roots_have_condition_number_r_to_the_minus_n_minus_one")
    assert scaled and all(o == "failed" and "but N·r^(2j) δ gives" in m for o, m in scaled), scaled[:3]


def test_wrong_power_refutes_the_real_node_claim(pytester, monkeypatch):
    claims = run_checks_with_bug(pytester, monkeypatch, FILE, POWER)
    assert claims[REAL]["verdict"] == "refuted", claims[REAL]["reason"]
    gautschi = outcomes(claims[REAL], "test_inverse_norm_meets_gautschi_bounds_exactly")
    assert gautschi and gautschi[0][0] == "failed", gautschi      # a node 0 makes V singular, or ‖V⁻¹‖₁ moves
    assert "‖V⁻¹‖₁ = " in gautschi[0][1] or "is singular" in gautschi[0][1], gautschi
    grows = outcomes(claims[REAL], "test_real_nodes_condition_number_grows_exponentially")
    assert any(o == "failed" for o, _ in grows), grows
    # λ^{j+1} multiplies V by diag(λ): unitary for the roots of unity (r = 1 cannot see it), r·I for r·roots
    assert {o for o, _ in outcomes(claims[ROOTS], "test_roots_of_unity_give_a_gram_matrix_n_times_identity")} == {
        "passed"}
    scaled = outcomes(claims[ROOTS], "test_scaled_roots_have_condition_number_r_to_the_minus_n_minus_one")
    assert scaled and all(o == "failed" for o, _ in scaled), scaled[:3]


def test_intact_conditioning_code_confirms_both_claims(pytester, monkeypatch):
    claims = run_checks_with_bug(pytester, monkeypatch, FILE, None)
    assert {cid: claims[cid]["verdict"] for cid in (ROOTS, REAL)} == {ROOTS: "confirmed", REAL: "confirmed"}, (
        claims[ROOTS]["reason"], claims[REAL]["reason"])
