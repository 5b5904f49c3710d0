"""Vandermonde conditioning of the diagonal linear RNN (004, Mechanism 2), certified.

V[n, j] = λ_n^j (n, j = 0..N−1) is the map from the reversed inputs to the final state (scalar
input, B = 1); impl.diagonal_rnn.vandermonde builds it in python-flint ball arithmetic and
computes κ₂(V) = σ_max/σ_min (certified: Rump's eigenvalue enclosures of V^H V; fast: a certified
inverse of V^H V with float64 extreme eigenvalues, what the LRU experiment uses).

lru.roots_of_unity_conditioning — λ_n = r·e^{i(φ + 2πn/N)}, 0 < r ≤ 1:
- r = 1: V^H V = N·I. Checked exactly in the cyclotomic ring ℤ[x]/Φ_N (entry (j, k) is
  Σ_n x^{n(k−j) mod N}, which must reduce to N·[j = k]), independently of impl; and on impl's own
  balls: every entry of impl's V^H V − N·I is a ball containing 0 of radius < 2^-100 N, so every
  singular value lies in √N·[1 ± ε] and κ₂ ≤ (1 + ε)/(1 − ε), for N = 1..64 and phase offsets.
- r < 1: V^H V = N·diag(r^{2j}) (balls again), and impl's certified κ₂ is a ball that contains
  r^{−(N−1)} (an exact rational), for several r, phases and N.

lru.real_eigen_ill_conditioned — real distinct nodes in [−1, 1]:
- A lower bound, derived here. c = the coefficients of the Chebyshev polynomial T_{N−1}: V c is
  (T_{N−1}(λ_n))_n, each of modulus ≤ 1, so ‖V c‖₂ ≤ √N, while ‖c‖₂ ≥ ‖c‖₁/√N and ‖c‖₁ =
  |T_{N−1}(i)| (T_{N−1} has only powers of one parity, alternating in sign). With ‖V‖₂ ≥ ‖V e_0‖₂
  = √N (the column of ones):
      κ₂(V) ≥ |T_{N−1}(i)|/√N = ((1 + √2)^{N−1} + (1 − √2)^{N−1}) / (2√N)   (CHEB)
  for every set of N distinct real nodes in [−1, 1]: log κ₂ grows at least like (N − 1)·log(1 + √2)
  − ½ log N. The base 1 + √2 is the rate of the known lower bounds for real Vandermonde matrices
  (W. Gautschi and G. Inglese, "Lower bounds for the condition number of Vandermonde matrices",
  Numer. Math. 52 (1988) 241–250; B. Beckermann, "The condition number of real Vandermonde, Krylov
  and positive definite Hankel matrices", Numer. Math. 85 (2000) 553–577); the constant in (CHEB)
  is the one derived above, not theirs.
- Gautschi's two-sided bound on the inverse (W. Gautschi, "On inverses of Vandermonde and
  confluent Vandermonde matrices", Numer. Math. 4 (1962) 117–123), in our orientation (one row
  per node; column i of V⁻¹ holds the coefficients of the Lagrange polynomial ℓ_i, so ‖V⁻¹‖₁ is
  Gautschi's ‖·‖_∞ of the inverse of Vᵀ):
      max_i Π_{j≠i} max(1, |λ_j|)/|λ_i − λ_j| ≤ ‖V⁻¹‖₁ ≤ max_i Π_{j≠i} (1 + |λ_j|)/|λ_i − λ_j|   (G62)
  with equality on the right when all nodes have one sign. (Derivation: the coefficient sum of
  Π_{j≠i}(x − λ_j) is at least its maximum on |x| = 1, at least its Mahler measure
  Π max(1, |λ_j|), and at most Π (1 + |λ_j|), attained at x = ∓1 when the signs agree.) Checked in
  exact rational arithmetic on hypothesis-drawn rational nodes, V from impl's `vandermonde_rows`.
- impl's certified κ₂ for equispaced, Chebyshev and seeded uniform-random nodes, N up to 40,
  lies above (CHEB) (ball comparison) and grows with N; it agrees with mpmath's SVD (80 digits, V
  built here) and reproduces the figures of REFERENCE.md §4 (5.35e2, 3.28e6, 1.71e14 at N = 8,
  16, 32, equispaced).
"""

from __future__ import annotations

import math
from fractions import Fraction

import flint
import mpmath
import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import impl.diagonal_rnn.vandermonde as vm
from impl.precision import working_precision

ROOTS = "lru.roots_of_unity_conditioning"
REAL = "lru.real_eigen_ill_conditioned"
CERTIFY_BITS = 160                        # ball precision of the roots-of-unity Gram checks
GRAM_RADIUS = flint.arb(2) ** -100        # allowed ball radius, relative to N


def entries(M: flint.acb_mat):
    return [(i, j, M[i, j]) for i in range(M.nrows()) for j in range(M.ncols())]


# ================================================================ lru.roots_of_unity_conditioning

def cyclotomic_gram_entry(N: int, shift: int) -> flint.fmpz_poly:
    """Σ_{n<N} ω^{n·shift} for ω = e^{2πi/N}, exactly: the polynomial Σ x^{(n·shift) mod N}
    reduced modulo the N-th cyclotomic polynomial (the minimal polynomial of ω)."""
    coefficients = [0] * N
    for n in range(N):
        coefficients[(n * shift) % N] += 1
    return flint.fmpz_poly(coefficients) % flint.fmpz_poly.cyclotomic(N)


@pytest.mark.claim(ROOTS)
@pytest.mark.parametrize("N", range(1, 65))
def test_roots_of_unity_give_a_gram_matrix_n_times_identity(N, evidence):
    # exact, independent of impl: (F^H F)_{jk} = Σ_n ω^{n(k−j)} in ℤ[ω]
    for shift in range(-(N - 1), N):
        got = cyclotomic_gram_entry(N, shift)
        want = flint.fmpz_poly([N]) if shift % N == 0 else flint.fmpz_poly([])
        assert got == want, f"N={N}: Σ_n ω^(n·{shift}) reduces to {got}, not {want}"

    # impl's balls: V^H V − N·I contains 0 entrywise, for phase offsets 0 and 1/3
    with working_precision(flint_bits=CERTIFY_BITS):
        for phase in (0, flint.fmpq(1, 3)):
            G = vm.gram_matrix(vm.vandermonde_ball_matrix(vm.roots_of_unity(N, 1, phase), N))
            worst = flint.arb(0)
            for i, j, g in entries(G):
                gap = g - (N if i == j else 0)
                assert gap.contains(0) and gap.rad() < GRAM_RADIUS * N, (
                    f"N={N}, phase {phase}: (V^H V)[{i},{j}] = {g}, but N·I has {N if i == j else 0} there")
                worst = max(worst, abs(gap).upper())
            # Weyl: every eigenvalue of V^H V lies within ‖V^H V − N I‖₂ ≤ N·max|entry| = N·w of N, so
            # κ₂² ≤ (1 + w)/(1 − w)
            kappa_upper = ((1 + worst) / (1 - worst)).sqrt()
            evidence.figure("max over N of the certified upper bound on κ₂ − 1 (roots of unity)",
                            float((kappa_upper - 1).upper()), "1", keep="max")

    # impl's fast κ₂ on the float64 roots the LRU experiment uses
    nodes = torch.polar(torch.ones(N, dtype=torch.float64), 2 * math.pi * torch.arange(N, dtype=torch.float64) / N)
    fast = vm.condition_number(nodes, N)
    evidence.figure("max over N of |κ₂ − 1|, impl's fast κ₂ on float64 roots of unity", abs(fast - 1), "1",
                    keep="max")
    assert abs(fast - 1) <= 1e-12, f"N={N}: impl's fast κ₂ of the float64 roots of unity is {fast!r}, not 1"


@pytest.mark.claim(ROOTS)
@pytest.mark.parametrize("r", ["1/2", "3/4", "9/10", "99/100"])   # r = 1: the test above
@pytest.mark.parametrize("N", [2, 3, 5, 8, 16, 24])
def test_scaled_roots_have_condition_number_r_to_the_minus_n_minus_one(r, N, evidence):
    radius = flint.fmpq(*map(int, r.split("/")))
    want = flint.arb(radius) ** -(N - 1)
    for phase in (0, flint.fmpq(2, 7)):
        def V(bits, phase=phase):
            return vm.vandermonde_ball_matrix(vm.roots_of_unity(N, radius, phase), N)
        # the singular values themselves: V^H V = N·diag(r^{2j})
        with working_precision(flint_bits=CERTIFY_BITS):
            G = vm.gram_matrix(V(CERTIFY_BITS))
            for i, j, g in entries(G):
                target = N * flint.arb(radius) ** (2 * i) if i == j else flint.arb(0)
                assert (g - target).contains(0), (f"r={r}, N={N}, phase {phase}: (V^H V)[{i},{j}] = {g}, "
                                                  f"but N·r^(2j) δ gives {target}")
        kappa = vm.certified_condition_number(V)
        assert kappa.overlaps(want), (f"r={r}, N={N}, phase {phase}: certified κ₂ = {kappa}, but "
                                      f"r^-(N-1) = {want}")
        evidence.figure("max relative width of the certified κ₂ ball (r·roots)",
                        float(kappa.rad() / kappa.mid()), "1", keep="max")
    nodes = float(radius) * torch.polar(torch.ones(N, dtype=torch.float64),
                                        2 * math.pi * torch.arange(N, dtype=torch.float64) / N)
    fast = vm.condition_number(nodes, N)
    rel = abs(fast / float(want.mid()) - 1)
    evidence.figure("max relative gap of impl's fast κ₂ from r^-(N-1) (float64 nodes)", rel, "1", keep="max")
    assert rel <= 1e-9, f"r={r}, N={N}: impl's fast κ₂ {fast!r} vs r^-(N-1) = {float(want.mid())!r}"


# ================================================================ lru.real_eigen_ill_conditioned

def chebyshev_bound(N: int) -> flint.arb:
    """(CHEB): ((1 + √2)^{N−1} + (1 − √2)^{N−1}) / (2√N), in balls."""
    s = flint.arb(2).sqrt()
    return ((1 + s) ** (N - 1) + (1 - s) ** (N - 1)) / (2 * flint.arb(N).sqrt())


def chebyshev_coefficient_sum(N: int) -> int:
    """‖c‖₁ of T_{N−1} from the three-term recurrence, exactly (the check of |T_{N−1}(i)|)."""
    previous, current = [1], [0, 1]
    if N == 1:
        return 1
    for _ in range(N - 2):
        nxt = [0] + [2 * c for c in current]
        for k, c in enumerate(previous):
            nxt[k] -= c
        previous, current = current, nxt
    return sum(abs(c) for c in current)


def real_node_family(name: str, N: int) -> list[float]:
    """Equispaced on [−1, 1], Chebyshev points cos((2k+1)π/2N), or uniform on [−1, 1] (seed N)."""
    if name == "equispaced":
        return np.linspace(-1, 1, N).tolist() if N > 1 else [0.0]
    if name == "chebyshev":
        return np.cos((2 * np.arange(N) + 1) * np.pi / (2 * N)).tolist()
    return np.sort(np.random.default_rng(N).uniform(-1, 1, N)).tolist()


def exact_nodes(values: list[float]) -> list[flint.fmpq]:
    """The float64 nodes as the exact rationals they are."""
    return [flint.fmpq(Fraction(v).numerator, Fraction(v).denominator) for v in values]


def certified_kappa(values: list[float]) -> flint.arb:
    nodes = exact_nodes(values)
    return vm.certified_condition_number(lambda bits: vm.vandermonde_ball_matrix(nodes, len(nodes)),
                                         min_bits=128 + 16 * len(nodes))


def mpmath_svd_kappa(values: list[float], digits: int = 80) -> float:
    """κ₂ from mpmath's SVD of V built here (independent of impl)."""
    with working_precision(mpmath_dps=digits):
        V = mpmath.matrix([[mpmath.mpf(v) ** j for j in range(len(values))] for v in values])
        s = mpmath.svd_r(V, compute_uv=False)
        return float(max(s) / min(s))


REAL_SIZES = [2, 3, 4, 6, 8, 12, 16, 20, 24, 28, 32, 36, 40]
REFERENCE_FIGURES = {8: 5.35e2, 16: 3.28e6, 32: 1.71e14}     # REFERENCE.md §4, equispaced on [−1, 1]


@pytest.mark.claim(REAL)
def test_chebyshev_coefficient_sum_is_the_closed_form():
    """|T_{N−1}(i)| = ((1+√2)^{N−1} + (1−√2)^{N−1})/2, the numerator of (CHEB), against the exact
    coefficients of T_{N−1} from its three-term recurrence."""
    for N in range(1, 41):
        got = chebyshev_coefficient_sum(N)
        assert (chebyshev_bound(N) * flint.arb(N).sqrt()).contains(got), (N, got)


@pytest.mark.claim(REAL)
@pytest.mark.parametrize("family", ["equispaced", "chebyshev", "uniform"])
def test_real_nodes_condition_number_grows_exponentially(family, evidence):
    kappas = {}
    for N in REAL_SIZES:
        values = real_node_family(family, N)
        assert len(set(values)) == N and all(-1 <= v <= 1 for v in values)
        kappa = certified_kappa(values)
        bound = chebyshev_bound(N)
        assert kappa > bound, (f"{family} nodes, N={N}: certified κ₂ = {kappa} is not above the Chebyshev "
                               f"bound {bound} that every real node set in [−1, 1] must exceed")
        fast = vm.condition_number(torch.tensor(values, dtype=torch.float64), N)
        assert abs(fast / float(kappa.mid()) - 1) <= 1e-9, (
            f"{family}, N={N}: impl's fast κ₂ {fast:.12g} vs its certified κ₂ {kappa}")
        kappas[N] = kappa
    for small, large in zip(REAL_SIZES, REAL_SIZES[1:]):
        if family == "uniform":          # an independent draw per N: only the bound speaks for it
            break
        assert kappas[large] > kappas[small], (f"{family}: κ₂ does not grow from N={small} ({kappas[small]}) "
                                               f"to N={large} ({kappas[large]})")
    # cross-check with mpmath's SVD of V built here, where pure-Python SVD is affordable
    for N in (8, 16, 24):
        svd = mpmath_svd_kappa(real_node_family(family, N))
        gap = abs(svd / float(kappas[N].mid()) - 1)
        evidence.figure(f"{family}: max relative gap of impl's certified κ₂ vs mpmath SVD (80 digits)", gap, "1",
                        keep="max")
        assert gap <= 1e-10, f"{family}, N={N}: certified κ₂ {kappas[N]} vs mpmath SVD {svd:.15g}"
    if family == "equispaced":
        for N, quoted in REFERENCE_FIGURES.items():
            assert abs(float(kappas[N].mid()) / quoted - 1) <= 5e-3, (
                f"equispaced N={N}: κ₂ = {float(kappas[N].mid()):.4g}, REFERENCE.md §4 quotes {quoted:.3g}")
    window = [N for N in REAL_SIZES if N >= 12]
    slope = np.polyfit(window, [math.log(float(kappas[N].mid())) for N in window], 1)[0]
    for N in (8, 16, 32, 40):
        evidence.figure(f"{family}: certified κ₂ at N={N}", float(kappas[N].mid()), "1")
        evidence.figure(f"{family}: Chebyshev lower bound at N={N}", float(chebyshev_bound(N).mid()), "1")
    evidence.figure(f"{family}: fitted growth factor per node, exp(slope of log κ₂), N = 12..40", math.exp(slope),
                    "1")
    evidence.note(f"{family}: log κ₂ is certified above (N − 1)·log(1 + √2) − log(2√N) for N in {REAL_SIZES}; "
                  f"fitted factor per node {math.exp(slope):.3f} (1 + √2 = {1 + math.sqrt(2):.3f}).")


@st.composite
def rational_node_sets(draw):
    """2..9 distinct rationals p/q in [−1, 1], q ≤ 12."""
    N = draw(st.integers(2, 9))
    fractions = st.builds(lambda p, q: Fraction(p, q), st.integers(-12, 12), st.integers(1, 12)).filter(
        lambda f: abs(f) <= 1)
    return draw(st.lists(fractions, min_size=N, max_size=N, unique=True))


@pytest.mark.claim(REAL)
@given(nodes=rational_node_sets(), one_sign=st.booleans())
def test_inverse_norm_meets_gautschi_bounds_exactly(nodes, one_sign, evidence):
    if one_sign:                                   # Gautschi's equality case: nodes in [0, 1]
        assume(len({abs(x) for x in nodes}) == len(nodes))
        nodes = [abs(x) for x in nodes]
    exact = [flint.fmpq(x.numerator, x.denominator) for x in nodes]
    N = len(exact)
    V = flint.fmpq_mat(vm.vandermonde_rows(exact, N))
    assert V.rank() == N, f"impl's Vandermonde matrix of the distinct nodes {nodes} is singular: {V}"
    inverse = V.inv()
    column_sums = [sum((abs(inverse[k, i]) for k in range(N)), flint.fmpq(0)) for i in range(N)]
    norm1 = max(column_sums)

    def product(i, factor):
        out = Fraction(1)
        for j, x in enumerate(nodes):
            if j != i:
                out *= factor(x) / abs(nodes[i] - x)
        return out
    lower = max(product(i, lambda x: max(Fraction(1), abs(x))) for i in range(N))
    upper = max(product(i, lambda x: 1 + abs(x)) for i in range(N))
    got = Fraction(int(norm1.p), int(norm1.q))
    assert lower <= got <= upper, f"nodes {nodes}: ‖V⁻¹‖₁ = {got} outside Gautschi's [{lower}, {upper}]"
    if all(x >= 0 for x in nodes) or all(x <= 0 for x in nodes):
        assert got == upper, f"nodes of one sign {nodes}: ‖V⁻¹‖₁ = {got}, Gautschi's equality case gives {upper}"
    # (CHEB) holds for these nodes too: impl's fast κ₂ above the bound
    kappa = vm.condition_number(torch.tensor([float(x) for x in nodes], dtype=torch.float64), N)
    bound = float(chebyshev_bound(N).mid())
    evidence.figure("min over node sets of κ₂ / Chebyshev bound (rational nodes, N ≤ 9)", kappa / bound, "1",
                    keep="min")
    assert kappa >= bound * (1 - 1e-9), f"nodes {nodes}: κ₂ = {kappa:.6g} below the bound {bound:.6g}"
