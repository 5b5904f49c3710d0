"""Linear state capacity (000 "LinearCapacity.lean"), checked on impl's linear RNN.

Both paths of the recurrence — the step-by-step reference and the parallel
affine scan — are compared with computations that share no code with them:
exact rational arithmetic (Fractions, python-flint, sympy) on dyadic inputs
drawn by hypothesis.
"""

from __future__ import annotations

from fractions import Fraction

import flint
import numpy as np
import pytest
import sympy
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import impl.linear_rnn.naive as naive
import impl.linear_rnn.scan as scan
from impl.linear_rnn import LinearRNN
from impl.testing import TOLERANCES, dyadic_rationals, linear_systems, rational_matrices, to_tensor

TOL = TOLERANCES[torch.float64]


def run_path(path: str, A, B, x, h0=None):
    """Looked up at call time, so a test of the harness can break a path by monkeypatching."""
    fn = {"reference": naive.linear_rnn_reference, "scan": scan.linear_rnn_scan}[path]
    return fn(A, B, x, h0)


PATHS = pytest.mark.parametrize("path", ["reference", "scan"])


# ------------------------------------------------------------- exact arithmetic (independent)

def mat_mul(P, Q):
    return [[sum((P[i][k] * Q[k][j] for k in range(len(Q))), Fraction(0)) for j in range(len(Q[0]))]
            for i in range(len(P))]


def mat_vec(P, v):
    return [sum((P[i][k] * v[k] for k in range(len(v))), Fraction(0)) for i in range(len(P))]


def identity(n):
    return [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]


def explicit_sum(A, B, x, k):
    """h_k = Σ_{t<k} A^{k-1-t} B x_t, evaluated exactly in rationals."""
    n = len(A)
    total = [Fraction(0)] * n
    power = identity(n)  # A^{k-1-t} for t = k-1, k-2, ..., 0
    for t in range(k - 1, -1, -1):
        term = mat_vec(power, mat_vec(B, x[t]))
        total = [a + b for a, b in zip(total, term, strict=True)]
        power = mat_mul(A, power)
    return total


def exact_krylov(A, B, steps):
    """[B, AB, …, A^{steps-1}B] in rationals."""
    blocks, block = [], B
    for _ in range(steps):
        blocks.append(block)
        block = mat_mul(A, block)
    return [[v for blk in blocks for v in blk[i]] for i in range(len(A))]


def exact_rank(rows) -> int:
    if not rows or not rows[0]:
        return 0
    return flint.fmpq_mat(len(rows), len(rows[0]), [flint.fmpq(v.numerator, v.denominator)
                                                    for row in rows for v in row]).rank()


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).abs().max() / (1.0 + want.abs().max()))


def numeric_rank(states: torch.Tensor) -> int:
    """Rank of a (k, n) stack of states, with a tolerance well above float64 round-off."""
    s = torch.linalg.svdvals(states)
    if s.numel() == 0 or s[0] == 0:
        return 0
    return int((s > s[0] * 1e-9 * max(states.shape)).sum())


# ------------------------------------------------------------- the claims

@pytest.mark.claim("capacity.state_is_sum")
@PATHS
@given(system=linear_systems(min_steps=0))
def test_state_is_the_explicit_sum(path, system, evidence):
    A, B, x = to_tensor(system.A), to_tensor(system.B), to_tensor(system.x, cols=system.m)
    states = run_path(path, A, B, x[None])[0]                       # (T, n): h_1 … h_T
    assert states.shape == (system.T, system.n), f"states have shape {tuple(states.shape)}"
    for k in range(1, system.T + 1):
        want = torch.tensor([float(v) for v in explicit_sum(system.A, system.B, system.x, k)],
                            dtype=torch.float64)
        err = relative_error(states[k - 1], want)
        evidence.figure(f"max relative error vs exact sum ({path})", err, "1", keep="max")
        assert err <= TOL["rtol"], (
            f"{path} path: h_{k} = {states[k - 1].tolist()} but Σ_(t<{k}) A^({k}-1-t) B x_t = "
            f"{want.tolist()} (relative error {err:.3g}) for n={system.n}, m={system.m}, T={system.T}")


@pytest.mark.claim("capacity.state_additive")
@PATHS
@given(system=linear_systems(), other=st.data(), c=dyadic_rationals(max_numerator=8))
def test_state_is_additive_and_homogeneous(path, system, other, c, evidence):
    A, B, x = to_tensor(system.A), to_tensor(system.B), to_tensor(system.x)[None]
    y = to_tensor(other.draw(rational_matrices(system.T, system.m)))[None]
    hx, hy = run_path(path, A, B, x), run_path(path, A, B, y)
    h_sum, h_scaled = run_path(path, A, B, x + y), run_path(path, A, B, float(c) * x)
    add_err, hom_err = relative_error(h_sum, hx + hy), relative_error(h_scaled, float(c) * hx)
    evidence.figure(f"max relative additivity error ({path})", add_err, "1", keep="max")
    evidence.figure(f"max relative homogeneity error ({path})", hom_err, "1", keep="max")
    assert add_err <= TOL["rtol"], f"{path}: h(x+y) != h(x)+h(y), relative error {add_err:.3g}"
    assert hom_err <= TOL["rtol"], f"{path}: h({c}·x) != {c}·h(x), relative error {hom_err:.3g}"


@pytest.mark.claim("capacity.same_state_same_future")
@PATHS
@given(system=linear_systems(max_state=4, max_input=2, min_steps=5, max_steps=7), data=st.data())
def test_equal_states_give_equal_futures(path, system, data, evidence):
    """Two different histories with the same state (built from an exact kernel vector of the
    input-to-state map) followed by the same future inputs give the same future states and
    outputs; and the future from a state equals a fresh run started at that state."""
    T, m, n = system.T, system.m, system.n
    assume(T * m > n)                                      # the input-to-state map has a kernel
    K = sympy.Matrix(exact_krylov(system.A, system.B, T))  # column block j multiplies x_{T-1-j}
    kernel = K.nullspace()
    z = kernel[data.draw(st.integers(0, len(kernel) - 1))]
    z = z / max(abs(v) for v in z)
    x_other = [[system.x[T - 1 - j][i] + Fraction(str(z[j * m + i])) for i in range(m)] for j in range(T)]
    x_other.reverse()                                      # back to time order
    assume(x_other != system.x)
    future = data.draw(rational_matrices(data.draw(st.integers(1, 5)), m))
    C = to_tensor(data.draw(rational_matrices(2, n)))
    A, B = to_tensor(system.A), to_tensor(system.B)

    run1 = run_path(path, A, B, to_tensor(system.x + future)[None])[0]
    run2 = run_path(path, A, B, to_tensor(x_other + future)[None])[0]
    state_gap = relative_error(run1[T - 1], run2[T - 1])
    future_gap = relative_error(run1[T:], run2[T:])
    output_gap = relative_error(run1[T:] @ C.T, run2[T:] @ C.T)
    restart = run_path(path, A, B, to_tensor(future)[None], run1[T - 1][None])[0]
    restart_gap = relative_error(restart, run1[T:])
    evidence.figure(f"max relative gap of futures from equal states ({path})",
                    max(future_gap, output_gap), "1", keep="max")
    assert state_gap <= TOL["rtol"], f"the two histories should reach one state; gap {state_gap:.3g}"
    assert future_gap <= TOL["rtol"] and output_gap <= TOL["rtol"], (
        f"{path}: equal states h_{T} but futures differ by {future_gap:.3g} (outputs {output_gap:.3g})")
    assert restart_gap <= TOL["rtol"], f"{path}: future from the state differs by {restart_gap:.3g}"


@pytest.mark.claim("capacity.reachable_is_subspace")
@PATHS
@given(system=linear_systems(), data=st.data())
def test_reachable_states_are_the_krylov_column_space(path, system, data, evidence):
    """Every state the implementation reaches lies in col K_T (exact Krylov matrix), and every
    point K_T c of that column space is reached, by the input that c encodes."""
    T, m, n = system.T, system.m, system.n
    K_exact = exact_krylov(system.A, system.B, T)
    K = to_tensor(K_exact)
    A, B = to_tensor(system.A), to_tensor(system.B)

    # (a) reached states lie in col K: residual of the orthogonal projection
    inputs = torch.randn(8, T, m, dtype=torch.float64, generator=torch.Generator().manual_seed(T * 31 + n))
    reached = run_path(path, A, B, inputs)[:, -1]                    # (8, n)
    basis = torch.linalg.svd(K, full_matrices=False)[0][:, : exact_rank(K_exact)]
    residual = reached - reached @ basis @ basis.T
    out_of_span = float(residual.abs().max() / (1 + reached.abs().max()))
    evidence.figure(f"max relative distance of reached states from col K ({path})", out_of_span, "1", keep="max")
    assert out_of_span <= 1e-8, f"{path}: a reached state is {out_of_span:.3g} away from col K"

    # (b) each K c is reached by the input x_{T-1-j} = c_j (the blocks of c, reversed in time)
    c = data.draw(rational_matrices(T, m))
    target = torch.tensor([float(v) for v in mat_vec(K_exact, [v for blk in c for v in blk])],
                          dtype=torch.float64)
    hit = run_path(path, A, B, to_tensor(list(reversed(c)))[None])[0, -1]
    miss = relative_error(hit, target)
    evidence.figure(f"max relative miss of a target in col K ({path})", miss, "1", keep="max")
    assert miss <= TOL["rtol"], f"{path}: target K c = {target.tolist()} reached as {hit.tolist()}"


@pytest.mark.claim("capacity.reachable_dim_bound")
@PATHS
@given(system=linear_systems())
def test_reachable_dimension_is_krylov_rank(path, system, evidence):
    """dim span of states reached from random inputs (numerical rank of the impl's states) equals
    the exact rank of [B, AB, …, A^{T-1}B] (python-flint over Q), and is at most n."""
    T, m, n = system.T, system.m, system.n
    exact = exact_rank(exact_krylov(system.A, system.B, T))
    gen = torch.Generator().manual_seed(1000 * n + 10 * m + T)
    inputs = torch.randn(n + 3, T, m, dtype=torch.float64, generator=gen)
    states = run_path(path, to_tensor(system.A), to_tensor(system.B), inputs)[:, -1]
    measured = numeric_rank(states)
    evidence.figure(f"largest reachable dimension seen ({path})", measured, "", keep="max")
    if system.invariant_dim is not None:
        assert exact <= system.invariant_dim, "the deficient draw should confine the Krylov space"
    assert measured == exact, (f"{path}: states span dimension {measured}, exact Krylov rank {exact} "
                               f"(n={n}, m={m}, T={T})")
    assert measured <= n


# ------------------------------------------------------------- low-rank transitions
#
# The reachable space of h_t = A h_{t-1} + B x_t from h_0 = 0 in T steps is
# K_T = col [B, AB, …, A^{T−1}B] (capacity.reachable_is_subspace). With r = rank A, q = rank B:
#   (i)  K_T = col B + A·K_{T−1}, and A·K_{T−1} ⊆ range A, so K_T ⊆ col B + range A and
#        dim K_T ≤ dim(col B + range A) = q + r − dim(col B ∩ range A) ≤ min(d, q + r);
#   (ii) dim K_T ≤ q + min(r, dim K_{T−1}) with dim K_1 = q, hence dim K_T ≤ min(d, T·q, q + r);
#   (iii) the bound min(d, T·q, q + r) is attained by generic U, V, B (checked on random integer
#        factors for every d ≤ 8, r, q ≤ d, T ≤ d + 1): it is the exact reachable dimension of a
#        generic rank-r transition with a rank-q input map.
# So "capacity d regardless of r" needs q ≥ d − r. E5 factorises its input map too
# (U_x V_x, rank r): its linearisation reaches at most 2r < d whenever r < d/2.


def reachable_dimension(model: LinearRNN, steps: int, seed: int) -> int:
    """dim span of the final states impl's module reaches from h_0 = 0 after `steps` random inputs
    (numerical rank of d + 3 of them)."""
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(model.state_dim + 3, steps, model.input_dim, dtype=torch.float64, generator=gen)
    return numeric_rank(model.states(inputs)[:, -1])


def low_rank_model(U, V, B, path: str = "scan") -> LinearRNN:
    """impl's LinearRNN with A = U V (rank ≤ r) and input map B, in float64."""
    model = LinearRNN(len(U), len(B[0]), rank=len(V), dtype=torch.float64, path=path)
    with torch.no_grad():
        model.U.copy_(to_tensor(U)), model.V.copy_(to_tensor(V)), model.B.copy_(to_tensor(B))
    return model


@pytest.mark.claim("capacity.reachable_dim_bound")
@PATHS
@given(d=st.integers(2, 7), data=st.data())
def test_reachable_dimension_is_at_most_input_rank_plus_transition_rank(path, d, data, evidence):
    """For A = U V (rank ≤ r) and B = P Q (rank ≤ q) in exact rationals: rank K_T ≤
    dim(col B + range A) ≤ min(d, T·rank B, rank B + rank A) (exact, python-flint), and the
    dimension impl's module reaches equals rank K_T."""
    r, q = data.draw(st.integers(1, d)), data.draw(st.integers(1, d))
    m, T = q + data.draw(st.integers(0, 2)), data.draw(st.integers(1, d + 1))
    U = data.draw(rational_matrices(d, r))
    V = [[v / 8 for v in row] for row in data.draw(rational_matrices(r, d))]   # dyadic: exact in float64
    B = mat_mul(data.draw(rational_matrices(d, q)), data.draw(rational_matrices(q, m)))
    A = mat_mul(U, V)
    rank_A, rank_B = exact_rank(A), exact_rank(B)
    krylov = exact_rank(exact_krylov(A, B, T))
    joint = exact_rank([rb + ra for rb, ra in zip(B, A)])                     # dim(col B + range A)
    measured = reachable_dimension(low_rank_model(U, V, B, path), T, seed=97 * d + 7 * r + q)
    evidence.figure(f"max reachable dim − (rank B + rank A) seen ({path})", krylov - (rank_B + rank_A), "",
                    keep="max")
    assert krylov <= joint <= min(d, rank_B + rank_A), (
        f"d={d}, rank A={rank_A}, rank B={rank_B}: rank K_{T} = {krylov}, dim(col B + range A) = {joint}")
    assert krylov <= T * rank_B, f"rank K_{T} = {krylov} > T·rank B = {T * rank_B}"
    assert measured == krylov, (f"{path}: impl reaches a {measured}-dimensional space, the exact Krylov rank is "
                                f"{krylov} (d={d}, rank A={rank_A}, rank B={rank_B}, T={T})")


def generic_integer_factors(d, r, q, seed):
    """Random integer factors U (d, r), V (r, d), B = P Q (d, q)(q, d + 1), seeded: numpy object
    arrays of Python ints (exact products)."""
    rng = np.random.default_rng(seed)
    draw = lambda rows, cols: rng.integers(-9, 10, (rows, cols)).astype(object)
    return draw(d, r), draw(r, d), draw(d, q).dot(draw(q, d + 1))


def as_fractions(M, scale: int = 1) -> list[list[Fraction]]:
    return [[Fraction(int(v), scale) for v in row] for row in M]


# V is divided by 64 in impl's model (a power of two: exact in float64) to keep A's powers in range;
# scaling V scales A^k B by 64^-k, which leaves every rank as it is.
V_SCALE = 64


@pytest.mark.claim("capacity.reachable_dim_bound")
def test_input_rank_plus_transition_rank_is_attained_by_generic_factors(evidence):
    """The bound min(d, T·q, q + r) is sharp: random integer factors (seeded) attain it exactly for
    every d ≤ 8, r, q ≤ d and T ≤ d + 1 (exact rank over ℤ, python-flint); impl's module reaches
    the same dimension for T = d + 1, where the bound is min(d, q + r)."""
    cases = 0
    for d in range(2, 9):
        for r in range(1, d + 1):
            for q in range(1, d + 1):
                U, V, B = generic_integer_factors(d, r, q, seed=1000 * d + 10 * r + q)
                A, blocks = U.dot(V), [B]
                for T in range(1, d + 2):
                    krylov = flint.fmpz_mat(np.hstack(blocks).tolist()).rank()
                    cases += 1
                    assert krylov == min(d, T * q, q + r), (
                        f"d={d}, r={r}, q={q}, T={T}: generic factors give rank K_T = {krylov}, "
                        f"the bound min(d, T·q, q + r) is {min(d, T * q, q + r)}")
                    blocks.append(A.dot(blocks[-1]))
                model = low_rank_model(as_fractions(U), as_fractions(V, V_SCALE), as_fractions(B))
                measured = reachable_dimension(model, d + 1, seed=d * 100 + r * 10 + q)
                assert measured == min(d, q + r), (
                    f"d={d}, r={r}, q={q}: impl reaches {measured} dimensions in {d + 1} steps, "
                    f"exact rank min(d, q + r) = {min(d, q + r)}")
    evidence.figure("(d, r, q, T) cases where exact rank K_T = min(d, T·q, q + r)", cases, "")


@pytest.mark.claim("capacity.lowrank_keeps_capacity")
@given(d=st.integers(3, 8), data=st.data())
def test_low_rank_model_factorised_as_e5_keeps_the_capacity_d_of_a_dense_one(d, data, evidence):
    """The substantive reading: capacity = the reachable-state dimension of impl's linear RNN with
    E5's factorisation, A = U_h V_h and input map B = U_x V_x, both of rank r < d. The claim says it
    stays d for every r. Also recorded, for the same A: the trivial reading (state dimension d;
    with a full-rank input map B = I the reachable space is all of ℝ^d, even for A = 0)."""
    r = data.draw(st.integers(1, d - 1))
    U_h, V_h, B = generic_integer_factors(d, r, r, seed=31 * d + r)       # B = U_x V_x, rank r
    U_h, V_h, B = as_fractions(U_h), as_fractions(V_h, V_SCALE), [row[:d] for row in as_fractions(B)]  # input dim d
    steps = d + 1
    e5 = low_rank_model(U_h, V_h, B)
    dense_input = low_rank_model(U_h, V_h, [[Fraction(int(i == j)) for j in range(d)] for i in range(d)])
    measured = reachable_dimension(e5, steps, seed=d * 10 + r)
    trivial = reachable_dimension(dense_input, steps, seed=d * 10 + r)
    exact = exact_rank(exact_krylov(mat_mul(U_h, V_h), B, steps))
    evidence.figure("trivial reading: state dimension / d (every r)", e5.states(torch.zeros(1, 1, d,
                    dtype=torch.float64)).shape[-1] / d, "1", keep="min")
    evidence.figure("trivial reading: reachable dim / d with a full-rank input map (min over r)", trivial / d, "1",
                    keep="min")
    evidence.figure("substantive reading: reachable dim / d with E5's rank-r input map (min over r)",
                    measured / d, "1", keep="min")
    evidence.note(f"d={d}, r={r}: full-rank input map reaches {trivial} of {d}; E5's factorisation reaches "
                  f"{measured} (exact Krylov rank {exact}, bound min(d, 2r) = {min(d, 2 * r)})")
    assert measured == exact, f"impl reaches {measured} dimensions, the exact Krylov rank is {exact}"
    assert measured == d, (f"E5-factorised linear RNN, d={d}, r={r}: the reachable states span {measured} "
                           f"dimensions (exact Krylov rank {exact} ≤ q + r = 2r = {2 * r}), not the capacity d = {d} "
                           f"of a dense model (which reaches {trivial})")


@pytest.mark.claim("capacity.lowrank_keeps_capacity")
def test_e5_layer_states_span_at_most_2r_dimensions(evidence):
    """impl's E5 layer itself (dim 96, rank 16, tanh, b ≠ 0): from h_0 = 0, z_T = atanh(h_T) − b lies
    in col [U_h, U_x] (2r dimensions), so the states lie on the 2r-dimensional manifold
    tanh(b + col [U_h, U_x]); its linearisation at 0 (A = U_h V_h, B = U_x V_x) reaches 2r. The
    claim needs d."""
    from impl.elman.models import E5Layer
    d, r, T = 96, 16, 3
    layer = E5Layer(d, r, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        layer.b.copy_(0.1 * torch.randn(d, dtype=torch.float64, generator=torch.Generator().manual_seed(6)))
        x = torch.randn(3 * d, T, d, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
        _, h = layer(x)
        z = torch.atanh(h) - layer.b
        basis = torch.linalg.qr(torch.cat([layer.U_h, layer.U_x], dim=1))[0]
        off = float((z - z @ basis @ basis.T).abs().max() / z.abs().max())
        preactivation_dim = numeric_rank(z)
        linear = LinearRNN(d, d, rank=r, dtype=torch.float64)
        linear.U.copy_(layer.U_h), linear.V.copy_(layer.V_h), linear.B.copy_(layer.U_x @ layer.V_x)
        linearised = reachable_dimension(linear, T, seed=8)
    evidence.figure("E5 layer d=96, r=16: max relative distance of atanh(h_T) − b from col [U_h, U_x]", off, "1")
    evidence.figure("E5 layer d=96, r=16: dim span of atanh(h_T) − b", preactivation_dim, "")
    evidence.figure("E5 layer d=96, r=16: reachable dim of its linearisation at 0", linearised, "")
    assert off <= 1e-10 and preactivation_dim <= 2 * r, (
        f"E5 pre-activations leave col [U_h, U_x]: distance {off:.3g}, span {preactivation_dim} > 2r = {2 * r}")
    assert linearised == d, (f"E5 layer d={d}, r={r}: the linearised reachable space has dimension {linearised} "
                             f"(= 2r = {2 * r}; states on a {preactivation_dim}-dimensional manifold), not d = {d}")
