"""Linear state capacity (000 "LinearCapacity.lean"), checked on impl's linear RNN.

Both paths of the recurrence — the step-by-step reference and the parallel
affine scan — are compared with computations that share no code with them:
exact rational arithmetic (Fractions, python-flint, sympy) on dyadic inputs
drawn by hypothesis.
"""

from __future__ import annotations

from fractions import Fraction

import flint
import pytest
import sympy
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import impl.linear_rnn.naive as naive
import impl.linear_rnn.scan as scan
from impl.linear_rnn import LinearRNN, krylov_matrix
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


@pytest.mark.claim("capacity.lowrank_keeps_capacity")
@PATHS
@given(n=st.integers(2, 7), data=st.data())
def test_low_rank_transition_keeps_state_dimension(path, n, data, evidence):
    """With A = U V of rank r <= n and a full-rank input map, the state still has dimension n and
    the reachable subspace is all of R^n, for every r: measured on the module's states and
    cross-checked with the exact Krylov rank."""
    r = data.draw(st.integers(1, n))
    U, V = data.draw(rational_matrices(n, r)), data.draw(rational_matrices(r, n))
    extra = data.draw(st.integers(0, 2))
    B = [[Fraction(int(i == j)) for j in range(n)] + data.draw(rational_matrices(1, extra))[0]
         for i in range(n)]                                    # [I | W]: rank n
    model = LinearRNN(n, n + extra, rank=r, dtype=torch.float64, path=path)
    with torch.no_grad():
        model.U.copy_(to_tensor(U)), model.V.copy_(to_tensor(V)), model.B.copy_(to_tensor(B))
    rank_A = exact_rank(mat_mul(U, V))
    T = data.draw(st.integers(1, 4))
    gen = torch.Generator().manual_seed(n * 100 + r)
    states = model.states(torch.randn(n + 2, T, n + extra, dtype=torch.float64, generator=gen))
    measured = numeric_rank(states[:, -1])
    exact = exact_rank(exact_krylov(mat_mul(U, V), B, T))
    evidence.figure(f"smallest reachable dimension / n seen ({path})", measured / n, "1", keep="min")
    assert rank_A <= r, f"U V has rank {rank_A} > r = {r}: the model is not low-rank"
    assert states.shape[-1] == n, f"state dimension {states.shape[-1]} != n = {n} with rank {r}"
    assert measured == exact == n, (f"{path}: rank-{r} transition, n={n}: reachable dimension "
                                    f"{measured} (exact {exact}), expected n")


@pytest.mark.claim("capacity.lowrank_keeps_capacity")
def test_low_rank_capacity_scope_with_low_rank_input_map(evidence):
    """The scope of the claim, measured: with an input map of rank q the reachable dimension is
    at most q + r (A^k B lies in col U for k >= 1), so 'capacity = d' needs a wide input map.
    E5 factorises its input map too (rank r), which caps its linearised reachable space at 2r."""
    d = 12
    gen = torch.Generator().manual_seed(7)
    for r in (1, 2, 3, 4):
        # A = Q diag(λ) Qᵀ on an r-dimensional subspace, λ spread in [0.3, 0.95]: well conditioned,
        # so a numerical rank of the reached states is trustworthy
        Q = torch.linalg.qr(torch.randn(d, r, dtype=torch.float64, generator=gen))[0]
        lam = torch.linspace(0.3, 0.95, r, dtype=torch.float64)
        model = LinearRNN(d, 1, rank=r, dtype=torch.float64)          # scalar input: rank-1 B
        with torch.no_grad():
            model.U.copy_(Q * lam), model.V.copy_(Q.T)
            model.B.copy_(torch.randn(d, 1, dtype=torch.float64, generator=gen))
        T = r + 3
        states = model.states(torch.randn(3 * d, T, 1, dtype=torch.float64, generator=gen))
        measured = numeric_rank(states[:, -1])
        krylov = numeric_rank(krylov_matrix(model.transition, model.B, T).T)
        evidence.figure(f"reachable dim, d={d}, r={r}, scalar input", measured, "")
        assert measured == krylov, f"r={r}: states span {measured}, Krylov rank {krylov}"
        assert measured <= 1 + r, f"r={r}: reachable dimension {measured} exceeds rank(B) + r = {1 + r}"
    evidence.note("With a full-rank input map the reachable space is R^d for every r (property test); "
                  "with a scalar input it is at most 1 + r < d: capacity = d depends on the input map.")
