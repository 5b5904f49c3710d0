"""Symbolic (sympy) re-derivation of the gradient flow of the 2-layer linear model (002, kind S).

002 says a SymPy script verified the factor flow, the end-to-end ODE and the balanced logistic
law; the script is not among our sources, so this module redoes the derivation:

- The loss L = ½‖W U − A*‖_F² is built on explicit matrices of symbols (several shapes, k below
  and above m, n); the gradient is taken entry by entry (sympy.diff of the scalar L w.r.t. each
  symbol) and compared with the claimed −(A − A*)Uᵀ, −Wᵀ(A − A*). The whitened population loss
  is expanded in the input symbols with E[x_j x_l] = δ_jl, independently of the Frobenius norm.
- Time derivatives are chain rules over the symbols, d/dt f = Σ ∂f/∂θ · θ̇, with θ̇ the DERIVED
  flow (never the claimed one): dA/dt against the claimed end-to-end ODE, d/dt(WᵀW − UUᵀ)
  against the claimed common derivative, ds/dt of aligned and balanced modes.
- Aligned coordinates: exact rational orthogonal matrices (Cayley rotations with symbolic
  parameters, a reflection, a signed column selection), substituted into the derived flow.
- Balanced and off-target modes: sympy.dsolve of the derived scalar ODE, compared with the
  claimed closed forms; the half-time by sympy.solve.
- Polynomial identities are decided by `expand` (exact for polynomials), rational ones by
  `cancel`, the ODE solutions by `simplify`; every residual is asserted to be 0 and shown in
  the message otherwise.
- The symbolic results are tied to impl: the derived gradients, lambdified, against
  `impl.flow.factorized.factor_gradients` / `end_to_end_velocity` on random float64 inputs, and
  the dsolve solutions, evaluated in mpmath at 50 digits, against `logistic_mode` on grids.

The claims' right-hand sides are `impl.flow.laws`'s functions, looked up there at call time, so
the negative controls (tests/test_negative_control_flow_symbolic.py) plant a wrong one by patching
that module.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st

from impl.flow import factorized, laws
from impl.precision import working_precision
from impl.testing import relative_rms_error

DIGITS = 50
# Float64 ties to impl: both sides evaluate the same short sums of products (k <= 3 terms of
# N(0, scale²) entries) in a different order, so they agree to a few ulps; 1e-12 relative
# (‖impl − sympy‖/‖sympy‖, or |impl − ref|/|ref| for the logistic grids) leaves ~1000 ulps.
IMPL_TOL = 1e-12

# (m, k, n): W is m×k, U is k×n. (2, 3, 2) and (1, 3, 2) have k > m, n; (2, 2, 2) has square U.
SHAPES = [(1, 1, 1), (2, 2, 2), (2, 3, 2), (3, 2, 4), (1, 3, 2)]
SWEEP_SHAPES = [(3, 3, 3), (3, 4, 2), (4, 3, 5), (2, 5, 3), (4, 4, 4), (5, 4, 5), (3, 6, 4)]


# ---------------------------------------------------------------- the derivation

def symbol_matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))


@dataclass(frozen=True)
class FactorFlow:
    """L on symbol matrices W (m×k), U (k×n), A* (m×n) and its flow −∂L/∂θ, θ each entry."""
    W: sp.Matrix
    U: sp.Matrix
    A_star: sp.Matrix
    loss: sp.Expr
    flow_W: sp.Matrix
    flow_U: sp.Matrix

    @property
    def symbols(self) -> list[sp.Symbol]:
        return [*self.W, *self.U, *self.A_star]

    @property
    def rates(self) -> dict[sp.Symbol, sp.Expr]:
        return {**dict(zip(self.W, self.flow_W)), **dict(zip(self.U, self.flow_U))}


@functools.lru_cache(maxsize=None)
def derive_factor_flow(m: int, k: int, n: int) -> FactorFlow:
    W, U, A_star = symbol_matrix("w", m, k), symbol_matrix("u", k, n), symbol_matrix("a", m, n)
    loss = sp.Rational(1, 2) * sum(e ** 2 for e in W * U - A_star)
    flow_W = W.applyfunc(lambda theta: -sp.diff(loss, theta))
    flow_U = U.applyfunc(lambda theta: -sp.diff(loss, theta))
    return FactorFlow(W, U, A_star, loss, flow_W, flow_U)


def time_derivative(expr: sp.Expr, rates: dict[sp.Symbol, sp.Expr]) -> sp.Expr:
    """d/dt expr = Σ_θ ∂expr/∂θ · θ̇ (the chain rule over the symbols that move)."""
    return sum((sp.diff(expr, theta) * rate for theta, rate in rates.items()), sp.Integer(0))


def nonzero_entries(residual: sp.Matrix, decide=sp.expand) -> list[tuple[tuple[int, int], sp.Expr]]:
    """The entries of `residual` that `decide` does not reduce to 0, with their indices."""
    rows, cols = residual.shape
    out = []
    for i in range(rows):
        for j in range(cols):
            value = decide(residual[i, j])
            if value != 0:
                out.append(((i, j), value))
    return out


def show(entries: list, limit: int = 3) -> str:
    return "; ".join(f"[{i},{j}]: {str(e)[:300]}" for (i, j), e in entries[:limit]) + (
        f" (+{len(entries) - limit} more)" if len(entries) > limit else "")


def shape_name(m: int, k: int, n: int) -> str:
    return f"W {m}×{k} · U {k}×{n}"


def check_factor_flow(shapes, evidence) -> None:
    start, entries = time.perf_counter(), 0
    for m, k, n in shapes:
        flow = derive_factor_flow(m, k, n)
        claimed_W, claimed_U = laws.factor_flow(flow.W, flow.U, flow.A_star)
        for what, derived, claimed in (("dW/dt", flow.flow_W, claimed_W), ("dU/dt", flow.flow_U, claimed_U)):
            bad = nonzero_entries(derived - claimed)
            assert not bad, (f"{shape_name(m, k, n)}: {what} = −∂L/∂θ (sympy.diff entry by entry) minus the "
                             f"claimed flow does not vanish: {show(bad)}")
            entries += derived.rows * derived.cols
    evidence.figure("entries of −∂L/∂W, −∂L/∂U equal to the claimed flow", entries, "entries")
    evidence.figure("shapes derived", len(shapes), "shapes")
    evidence.figure("wall time of the derivation", time.perf_counter() - start, "s")
    evidence.note("shapes (m, k, n): " + ", ".join(shape_name(*s) for s in shapes) + "; residuals decided by "
                  "sympy.expand (exact for polynomials)")


def check_end_to_end(shapes, evidence) -> None:
    start, entries = time.perf_counter(), 0
    for m, k, n in shapes:
        flow = derive_factor_flow(m, k, n)
        velocity = (flow.W * flow.U).applyfunc(lambda a: time_derivative(a, flow.rates))
        bad = nonzero_entries(velocity - laws.end_to_end(flow.W, flow.U, flow.A_star))
        assert not bad, (f"{shape_name(m, k, n)}: dA/dt (chain rule of A = W U over the derived factor flow) "
                         f"minus the claimed −(A−A*)UᵀU − WWᵀ(A−A*) does not vanish: {show(bad)}")
        entries += m * n
    evidence.figure("entries of dA/dt equal to the claimed ODE", entries, "entries")
    evidence.figure("shapes derived", len(shapes), "shapes")
    evidence.figure("wall time of the derivation", time.perf_counter() - start, "s")
    evidence.note("shapes (m, k, n): " + ", ".join(shape_name(*s) for s in shapes) + "; dA/dt = "
                  "Σ_θ ∂(WU)/∂θ · θ̇ with θ̇ = −∂L/∂θ from sympy.diff; residuals decided by sympy.expand")


# ---------------------------------------------------------------- flow.factor_gradient_flow

@pytest.mark.symbolic
@pytest.mark.claim("flow.factor_gradient_flow")
def test_claimed_factor_flow_is_minus_the_entrywise_gradient(evidence):
    check_factor_flow(SHAPES, evidence)


@pytest.mark.symbolic
@pytest.mark.claim("flow.factor_gradient_flow")
def test_whitened_population_loss_is_the_frobenius_loss(evidence):
    """½ E‖(W U − A*) x‖² with E[x xᵀ] = I equals ½‖W U − A*‖_F² (so the constant is 0 here):
    the square is expanded in the input symbols and each monomial x_j x_l replaced by δ_jl."""
    for m, _, n in SHAPES:
        error, x = symbol_matrix("e", m, n), symbol_matrix("x", n, 1)
        squared = sp.Poly(sp.expand(sum(v ** 2 for v in error * x)), *x)
        moment = {tuple(2 if l == j else 0 for l in range(n)): 1 for j in range(n)}   # E[x_j²] = 1, E[x_j x_l] = 0
        population = sp.Rational(1, 2) * sum(c * moment.get(monom, 0) for monom, c in squared.terms())
        residual = sp.expand(population - laws.frobenius_loss(error))
        assert residual == 0, f"m={m}, n={n}: ½E‖Ex‖² minus the claimed ½‖E‖_F² = {residual}"
    evidence.figure("shapes (m, n) compared", len(SHAPES), "shapes")


@pytest.mark.symbolic
@pytest.mark.claim("flow.factor_gradient_flow")
def test_balance_is_conserved_by_the_derived_flow(evidence):
    """d/dt(WᵀW) and d/dt(UUᵀ) along the derived flow both equal the claimed common derivative, so
    WᵀW − UUᵀ is conserved."""
    entries = 0
    for m, k, n in SHAPES:
        flow = derive_factor_flow(m, k, n)
        claimed = laws.balance_rate(flow.W, flow.U, flow.A_star)
        for what, gram in (("d/dt(WᵀW)", flow.W.T * flow.W), ("d/dt(UUᵀ)", flow.U * flow.U.T)):
            rate = gram.applyfunc(lambda g: time_derivative(g, flow.rates))
            bad = nonzero_entries(rate - claimed)
            assert not bad, (f"{shape_name(m, k, n)}: {what} along the derived flow minus the claimed "
                             f"−U(A−A*)ᵀW − Wᵀ(A−A*)Uᵀ does not vanish: {show(bad)}")
            entries += k * k
    evidence.figure("entries of d/dt(WᵀW), d/dt(UUᵀ) equal to the claimed rate", entries, "entries")


@st.composite
def factor_problems(draw):
    """A shape from SHAPES and float64 W, U, A* with N(0, scale²) entries."""
    m, k, n = draw(st.sampled_from(SHAPES))
    seed, scale = draw(st.integers(0, 2 ** 32 - 1)), draw(st.sampled_from([0.1, 1.0, 3.0]))
    gen = torch.Generator().manual_seed(seed)
    W, U, A_star = (scale * torch.randn(r, c, generator=gen, dtype=torch.float64) for r, c in ((m, k), (k, n), (m, n)))
    return (m, k, n), W, U, A_star


@functools.lru_cache(maxsize=None)
def lambdified(m: int, k: int, n: int, what: str):
    """The derived flow (what="flow": −∂L/∂W, −∂L/∂U) or end-to-end velocity (what="velocity"),
    as numpy functions of the flattened entries of W, U, A*."""
    flow = derive_factor_flow(m, k, n)
    if what == "flow":
        return sp.lambdify(flow.symbols, [flow.flow_W, flow.flow_U], "numpy")
    velocity = (flow.W * flow.U).applyfunc(lambda a: time_derivative(a, flow.rates))
    return sp.lambdify(flow.symbols, velocity, "numpy")


def flat(*tensors: torch.Tensor) -> list[float]:
    return [v for t in tensors for v in t.flatten().tolist()]


@pytest.mark.symbolic
@pytest.mark.claim("flow.factor_gradient_flow")
@given(problem=factor_problems())
def test_impl_factor_gradients_match_the_symbolic_gradient(problem, evidence):
    shape, W, U, A_star = problem
    want_W, want_U = lambdified(*shape, "flow")(*flat(W, U, A_star))
    grad_W, grad_U = factorized.factor_gradients(W, U, A_star)
    for what, got, want in (("∂L/∂W", grad_W, want_W), ("∂L/∂U", grad_U, want_U)):
        err = relative_rms_error(-got, torch.as_tensor(np.asarray(want, dtype=np.float64)))
        evidence.figure(f"max relative error of impl {what} vs lambdified sympy", err, "1", keep="max")
        assert err <= IMPL_TOL, (f"{shape_name(*shape)}: impl factor_gradients {what} differs from −(sympy flow): "
                                 f"relative error {err:.3e} > {IMPL_TOL}; W={W.tolist()}, U={U.tolist()}, "
                                 f"A*={A_star.tolist()}; impl {(-got).tolist()}, sympy {np.asarray(want).tolist()}")


@pytest.mark.symbolic
@pytest.mark.sweep
@pytest.mark.claim("flow.factor_gradient_flow")
def test_claimed_factor_flow_on_larger_shapes(evidence):
    check_factor_flow(SWEEP_SHAPES, evidence)


# ---------------------------------------------------------------- flow.end_to_end_ode

@pytest.mark.symbolic
@pytest.mark.claim("flow.end_to_end_ode")
def test_end_to_end_ode_is_the_chain_rule_of_the_factor_flow(evidence):
    check_end_to_end(SHAPES, evidence)


@pytest.mark.symbolic
@pytest.mark.claim("flow.end_to_end_ode")
@given(problem=factor_problems())
def test_impl_end_to_end_velocity_matches_the_symbolic_derivative(problem, evidence):
    shape, W, U, A_star = problem
    want = lambdified(*shape, "velocity")(*flat(W, U, A_star))
    got = factorized.end_to_end_velocity(W, U, A_star)
    err = relative_rms_error(got, torch.as_tensor(np.asarray(want, dtype=np.float64)))
    evidence.figure("max relative error of impl dA/dt vs lambdified sympy", err, "1", keep="max")
    assert err <= IMPL_TOL, (f"{shape_name(*shape)}: impl end_to_end_velocity differs from the sympy chain rule: "
                             f"relative error {err:.3e} > {IMPL_TOL}; W={W.tolist()}, U={U.tolist()}, "
                             f"A*={A_star.tolist()}; impl {got.tolist()}, sympy {np.asarray(want).tolist()}")


@pytest.mark.symbolic
@pytest.mark.sweep
@pytest.mark.claim("flow.end_to_end_ode")
def test_end_to_end_ode_on_larger_shapes(evidence):
    check_end_to_end(SWEEP_SHAPES, evidence)


# ---------------------------------------------------------------- flow.aligned_mode_ode

def cayley(skew: sp.Matrix) -> sp.Matrix:
    """(I − S)(I + S)⁻¹: an exactly orthogonal matrix with rational entries for skew-symmetric S."""
    eye = sp.eye(skew.rows)
    return ((eye - skew) * (eye + skew).inv()).applyfunc(sp.cancel)


def skew3(a, b, c) -> sp.Matrix:
    return sp.Matrix([[0, -a, -b], [a, 0, -c], [b, c, 0]])


def rational_skew(n: int, denominator: int) -> sp.Matrix:
    """A fixed n×n skew-symmetric matrix with entries (i + 2j + 1)/denominator above the diagonal."""
    upper = sp.Matrix(n, n, lambda i, j: sp.Rational(i + 2 * j + 1, denominator) if i < j else 0)
    return upper - upper.T


def rotation2(p) -> sp.Matrix:
    return cayley(sp.Matrix([[0, -p], [p, 0]]))


@dataclass(frozen=True)
class AlignedCase:
    """A* = P diag(σ) Qᵀ, W = P diag(w) Rᵀ, U = R diag(u) Qᵀ."""
    name: str
    P: sp.Matrix
    Q: sp.Matrix
    R: sp.Matrix
    sigma: tuple
    w: tuple
    u: tuple

    def decide(self, expr: sp.Expr) -> sp.Expr:
        """The exact normal form of an expression of this case: `expand` when the frames are
        constant (polynomials in w, u, σ), `cancel` when they carry symbols (rational functions)."""
        constant = not (self.P.free_symbols | self.Q.free_symbols | self.R.free_symbols)
        return sp.expand(expr) if constant else sp.cancel(expr)


def mode_symbols(k: int) -> tuple[tuple, tuple, tuple]:
    return (sp.symbols(f"sigma_1:{k + 1}", nonnegative=True), sp.symbols(f"w_1:{k + 1}", real=True),
            sp.symbols(f"u_1:{k + 1}", real=True))


@functools.lru_cache(maxsize=None)
def aligned_cases(sweep: bool) -> tuple[AlignedCase, ...]:
    """Two modes in the default run, three in the sweep; one case of each set has σ = 0 modes
    (A* of lower rank than the factors)."""
    half, third = sp.Rational(1, 2), sp.Rational(1, 3)
    if sweep:
        a, b, c = sp.symbols("a b c", real=True)
        (s1, s2, _), w, u = mode_symbols(3)
        square = AlignedCase("m = n = k = 3: P a symbolic rotation (a, b, c), Q a rational rotation times a "
                             "reflection, R a rational rotation, σ = (σ_1, σ_2, 0)",
                             cayley(skew3(a, b, c)), cayley(skew3(1, 0, 3)) * sp.diag(1, -1, 1),
                             cayley(skew3(half, 2, third)), (s1, s2, 0), w, u)
        # P, Q: three columns of rational rotations of ℝ⁴ and ℝ⁵ (Cayley transforms of fixed skew matrices)
        sigma, w, u = mode_symbols(3)
        rectangular = AlignedCase("m = 4, k = 3, n = 5: P, Q three columns of rational rotations, R a rational "
                                  "rotation, σ symbolic",
                                  cayley(rational_skew(4, 5))[:, :3], cayley(rational_skew(5, 7))[:, :3],
                                  cayley(skew3(third, 1, half)), sigma, w, u)
        return square, rectangular
    p, q, r = sp.symbols("p q r", real=True)
    a, b, c = sp.symbols("a b c", real=True)
    sigma, w, u = mode_symbols(2)
    rotations = AlignedCase("m = n = k = 2: P, Q, R rotations (symbolic Cayley parameters p, q, r)",
                            rotation2(p), rotation2(q), rotation2(r), sigma, w, u)
    # P: two columns of a symbolic 3×3 rotation; Q: the signed columns e_3, −e_1 of ℝ⁴;
    # R: a reflection; the second mode has σ = 0 (A* has rank 1).
    rectangular = AlignedCase("m = 3, k = 2, n = 4: P from a 3×3 rotation (a, b, c), Q a signed selection, "
                              "R a reflection (r), σ = (σ_1, 0)",
                              cayley(skew3(a, b, c))[:, :2], sp.Matrix([[0, -1], [0, 0], [1, 0], [0, 0]]),
                              rotation2(r) * sp.diag(1, -1), (sigma[0], 0), w, u)
    return rotations, rectangular


@functools.lru_cache(maxsize=None)
def aligned_flow(sweep: bool, index: int) -> tuple[sp.Matrix, sp.Matrix]:
    """The derived factor flow evaluated at the aligned point of aligned_cases(sweep)[index], each
    entry in the case's exact normal form."""
    case = aligned_cases(sweep)[index]
    m, k, n = case.P.rows, case.R.rows, case.Q.rows
    flow = derive_factor_flow(m, k, n)
    W = case.P * sp.diag(*case.w) * case.R.T
    U = case.R * sp.diag(*case.u) * case.Q.T
    A_star = case.P * sp.diag(*case.sigma) * case.Q.T
    point = {**dict(zip(flow.W, W)), **dict(zip(flow.U, U)), **dict(zip(flow.A_star, A_star))}
    return flow.flow_W.xreplace(point).applyfunc(case.decide), flow.flow_U.xreplace(point).applyfunc(case.decide)


def check_aligned_form(sweep: bool, evidence) -> None:
    """At an aligned point the derived flow is dW/dt = P diag(ẇ) Rᵀ, dU/dt = R diag(u̇) Qᵀ with each
    mode's (ẇ_j, u̇_j) the claimed function of (w_j, u_j, σ_j) alone."""
    start, entries = time.perf_counter(), 0
    for index, case in enumerate(aligned_cases(sweep)):
        for name, frame in (("PᵀP", case.P.T * case.P), ("QᵀQ", case.Q.T * case.Q), ("RᵀR", case.R.T * case.R)):
            assert not nonzero_entries(frame - sp.eye(frame.rows), decide=case.decide), f"{case.name}: {name} ≠ I"
        flow_W, flow_U = aligned_flow(sweep, index)
        rates = [laws.aligned_rates(w, u, s) for w, u, s in zip(case.w, case.u, case.sigma)]
        for what, derived, claimed in (
                ("dW/dt − P diag(ẇ) Rᵀ", flow_W, case.P * sp.diag(*[r[0] for r in rates]) * case.R.T),
                ("dU/dt − R diag(u̇) Qᵀ", flow_U, case.R * sp.diag(*[r[1] for r in rates]) * case.Q.T)):
            bad = nonzero_entries(derived - claimed, decide=case.decide)
            assert not bad, f"{case.name}: {what} with the claimed mode rates does not vanish: {show(bad)}"
            entries += derived.rows * derived.cols
    evidence.figure("entries of the aligned flow equal to the claimed aligned form", entries, "entries")
    evidence.figure("wall time of the derivation", time.perf_counter() - start, "s")
    evidence.note("cases: " + " | ".join(c.name for c in aligned_cases(sweep)) + "; residuals decided by "
                  "sympy.cancel (exact for rational functions) or, for constant frames, sympy.expand")


def check_mode_law(sweep: bool, evidence) -> None:
    """The mode rates read off the derived flow, ẇ_j = p_jᵀ Ẇ r_j and u̇_j = r_jᵀ U̇ q_j (columns of
    P, Q, R), give by the chain rule ds_j/dt = u_j ẇ_j + w_j u̇_j = the claimed −(w_j² + u_j²)(s_j − σ_j)."""
    modes = 0
    for index, case in enumerate(aligned_cases(sweep)):
        flow_W, flow_U = aligned_flow(sweep, index)
        for j, (w, u, sigma) in enumerate(zip(case.w, case.u, case.sigma)):
            w_rate = case.decide((case.P[:, j].T * flow_W * case.R[:, j])[0])
            u_rate = case.decide((case.R[:, j].T * flow_U * case.Q[:, j])[0])
            rate = case.decide(time_derivative(w * u, {w: w_rate, u: u_rate}))
            residual = case.decide(rate - laws.mode_law(w, u, sigma))
            assert residual == 0, (f"{case.name}, mode {j + 1}: ds/dt (chain rule over the derived flow) = {rate}, "
                                   f"claimed {laws.mode_law(w, u, sigma)}; residual {residual}")
            modes += 1
    evidence.figure("aligned modes whose ds/dt equals the claimed law", modes, "modes")


@pytest.mark.symbolic
@pytest.mark.claim("flow.aligned_mode_ode")
def test_aligned_factors_stay_aligned_and_modes_decouple(evidence):
    check_aligned_form(sweep=False, evidence=evidence)


@pytest.mark.symbolic
@pytest.mark.claim("flow.aligned_mode_ode")
def test_aligned_mode_strength_obeys_the_mode_law(evidence):
    check_mode_law(sweep=False, evidence=evidence)


@pytest.mark.symbolic
@pytest.mark.sweep
@pytest.mark.claim("flow.aligned_mode_ode")
def test_aligned_reduction_with_three_modes(evidence):
    check_aligned_form(sweep=True, evidence=evidence)
    check_mode_law(sweep=True, evidence=evidence)


# ---------------------------------------------------------------- flow.balanced_logistic

def scalar_mode():
    """One mode is the 1×1·1×1 model (the aligned flow decouples into these): w, u, σ and the
    derived rates {w: ẇ, u: u̇}."""
    flow = derive_factor_flow(1, 1, 1)
    return flow.W[0], flow.U[0], flow.A_star[0], flow.rates


def balanced_rate_in_s(sigma) -> tuple[sp.Symbol, sp.Expr]:
    """The derived ds/dt at w = u as a function of s = w² (s > 0), for the target strength σ."""
    w, u, target, rates = scalar_mode()
    s = sp.Symbol("s", positive=True)
    rate = time_derivative(w * u, rates).subs({u: w, target: sigma})
    in_s = sp.expand(rate.subs(w, sp.sqrt(s)))
    assert not in_s.has(w), f"balanced ds/dt = {rate} is not a function of s = w²"
    return s, in_s


@functools.lru_cache(maxsize=None)
def solved_mode(off_target: bool):
    """dsolve of the derived balanced ODE ds/dt = f(s), s(0) = s0: (t, σ, s0, solution)."""
    t = sp.Symbol("t", nonnegative=True)
    sigma, s0 = sp.symbols("sigma s_0", positive=True)
    s, rate = balanced_rate_in_s(0 if off_target else sigma)
    fn = sp.Function("s")
    solution = sp.dsolve(sp.Eq(fn(t).diff(t), rate.subs(s, fn(t))), fn(t), ics={fn(0): s0}).rhs
    return t, sigma, s0, solution


@pytest.mark.symbolic
@pytest.mark.claim("flow.balanced_logistic")
def test_balanced_mode_follows_the_logistic_law(evidence):
    """At w = u the derived ds/dt is the claimed 2s(σ − s) with s = w²; d(w² − u²)/dt = 0 identically
    (not only at w = u), so balance is kept. The shape of the growth, from the derived rate f(s):
    f > 0 on 0 < s < σ, and the speed f peaks at s = σ/2 (s̈ = f'(s) f(s) changes sign there:
    slow start, acceleration, saturation)."""
    w, u, sigma, rates = scalar_mode()
    rate = time_derivative(w * u, rates).subs(u, w)
    residual = sp.expand(rate - laws.balanced_law(w ** 2, sigma))
    assert residual == 0, (f"balanced ds/dt = {sp.factor(rate)}, claimed {laws.balanced_law(w ** 2, sigma)}: "
                           f"residual {residual}")
    balance = sp.expand(time_derivative(w ** 2 - u ** 2, rates))
    assert balance == 0, f"d(w² − u²)/dt = {balance} along the derived flow"
    target, gap = sp.symbols("sigma gap", positive=True)
    s, f = balanced_rate_in_s(target)
    assert sp.expand(f.subs(target, s + gap)).is_positive, f"ds/dt = {f} not certainly > 0 for 0 < s < σ"
    peaks = sp.solve(sp.diff(f, s), s)
    assert peaks == [target / 2] and sp.diff(f, s, 2).is_negative, f"the speed ds/dt = {f} peaks at s = {peaks}"
    evidence.note(f"derived balanced ds/dt = {sp.factor(rate)} = {sp.factor(f)} in s = w²; d(w² − u²)/dt = 0; "
                  "ds/dt > 0 on (0, σ), largest at s = σ/2")


@pytest.mark.symbolic
@pytest.mark.claim("flow.balanced_logistic")
def test_logistic_closed_form_solves_the_balanced_law(evidence):
    """dsolve of the derived balanced ODE equals the claimed closed form (simplify); the mode
    saturates at σ; s = σ/2 is reached at the claimed t½ (sympy.solve, 0 < s0 < σ)."""
    start = time.perf_counter()
    t, sigma, s0, solution = solved_mode(off_target=False)
    closed = laws.logistic_solution(t, sigma, s0)
    residual = sp.simplify(solution - closed)
    assert residual == 0, f"dsolve gives s(t) = {solution}; claimed {closed}; simplify(difference) = {residual}"
    limit = sp.limit(closed, t, sp.oo)
    assert sp.simplify(limit - sigma) == 0, f"s(t) → {limit} as t → ∞, not σ"
    gap = sp.Symbol("gap", positive=True)                        # σ = s0 + gap: the claim's 0 < s0 < σ
    times = sp.solve(sp.Eq(closed, sigma / 2), t)
    half = laws.half_time(sigma, s0)
    matches = [c for c in times if sp.simplify((c - half).subs(sigma, s0 + gap)) == 0]
    assert len(times) == 1 and matches, f"s(t) = σ/2 solves to t = {times}; claimed t½ = {half}"
    evidence.note(f"dsolve: s(t) = {solution}; s(t) = σ/2 at t = {times[0]}")
    evidence.figure("wall time of dsolve and the comparisons", time.perf_counter() - start, "s")


def logistic_grid(off_target: bool):
    """(σ, s0, t) triples: σ in [1/16, 3] (0 off target), s0 from 1e-6σ up to 1.9σ (decay onto σ
    from above too), t up to 3 half-times + 1/σ and one far point at 2σt = 800, past float64's
    e^709 overflow (off target: t up to 1e4/s0, the algebraic tail)."""
    points = []
    for sigma in ([0.0] if off_target else [0.0625, 0.5, 1.0, 3.0]):
        for s0 in ([1e-6, 1e-3, 0.5, 2.0] if off_target else [1e-6 * sigma, 1e-3 * sigma, 0.3 * sigma, 1.9 * sigma]):
            horizon = 1e4 / s0 if off_target else 3 * abs(np.log(abs(sigma / s0 - 1))) / (2 * sigma) + 1 / sigma
            points.extend((sigma, s0, float(t)) for t in np.linspace(0, horizon, 9))
            if not off_target:
                points.append((sigma, s0, 400 / sigma))
    return points


def check_logistic_mode(off_target: bool, evidence) -> None:
    """impl's logistic_mode against the dsolve solution evaluated in mpmath at 50 digits. Tolerance
    IMPL_TOL relative: impl's only error is rounding in exp and one quotient; the exponent's
    rounding costs ~|2σt| ulps of the e^{±2σt} term, which matters (weight ~1 in s) only where
    |2σt| <= 44 on this grid."""
    t, sigma, s0, solution = solved_mode(off_target)
    reference = sp.lambdify((t, sigma, s0), solution, "mpmath")
    worst = 0.0
    with working_precision(mpmath_dps=DIGITS):
        for sig, start, time_ in logistic_grid(off_target):
            value = reference(mpmath.mpf(time_), mpmath.mpf(sig), mpmath.mpf(start))
            # dsolve writes the solution through log((s0 − σ)/s0), complex for s0 < σ: the value is real
            assert abs(mpmath.im(value)) <= mpmath.mpf(10) ** (-40) * (1 + abs(value)), (
                f"the dsolve solution at t={time_}, σ={sig}, s0={start} is not real: {value}")
            want = mpmath.re(value)
            got = float(factorized.logistic_mode(time_, sig, start))
            err = float(abs(got - want) / abs(want))
            worst = max(worst, err)
            assert err <= IMPL_TOL, (f"logistic_mode(t={time_}, σ={sig}, s0={start}) = {got!r}, dsolve solution "
                                     f"{mpmath.nstr(want, 20)}: relative error {err:.3e} > {IMPL_TOL}")
    evidence.figure("max relative error of impl logistic_mode vs dsolve (mpmath, 50 digits)", worst, "1")
    evidence.figure("grid points", len(logistic_grid(off_target)), "points")


@pytest.mark.symbolic
@pytest.mark.claim("flow.balanced_logistic")
def test_impl_logistic_mode_matches_the_dsolve_solution(evidence):
    check_logistic_mode(off_target=False, evidence=evidence)


# ---------------------------------------------------------------- flow.off_target_decay

@pytest.mark.symbolic
@pytest.mark.claim("flow.off_target_decay")
def test_off_target_modes_decay(evidence):
    """σ = 0: balanced, the derived ds/dt is the claimed −2s² (≤ 0 for real w); unbalanced, it is
    the claimed −(w² + u²)s, with s·ds/dt ≤ 0; dsolve gives the claimed s0/(1 + 2 s0 t), which
    falls like 1/(2t)."""
    w, u, sigma, rates = scalar_mode()
    unbalanced = time_derivative(w * u, rates).subs(sigma, 0)
    residual = sp.expand(unbalanced - laws.unbalanced_off_target_law(w, u))
    assert residual == 0, f"σ = 0: ds/dt = {sp.factor(unbalanced)}, claimed {laws.unbalanced_off_target_law(w, u)}"
    assert sp.expand(-w * u * unbalanced).is_nonnegative, f"s·ds/dt = {sp.factor(w * u * unbalanced)} not ≤ 0"
    balanced = unbalanced.subs(u, w)
    residual = sp.expand(balanced - laws.off_target_law(w ** 2))
    assert residual == 0, f"σ = 0, w = u: ds/dt = {sp.factor(balanced)}, claimed {laws.off_target_law(w ** 2)}"
    assert sp.expand(-balanced).is_nonnegative, f"balanced ds/dt = {balanced} not ≤ 0"
    t, _, s0, solution = solved_mode(off_target=True)
    closed = laws.off_target_solution(t, s0)
    assert sp.simplify(solution - closed) == 0, f"dsolve gives s(t) = {solution}; claimed {closed}"
    tail = sp.limit(t * solution, t, sp.oo)
    assert tail == sp.Rational(1, 2), f"t·s(t) → {tail}, not 1/2"
    evidence.note(f"σ = 0: derived ds/dt = {sp.factor(unbalanced)}; dsolve s(t) = {solution}; t·s(t) → 1/2")


@pytest.mark.symbolic
@pytest.mark.claim("flow.off_target_decay")
def test_impl_logistic_mode_at_sigma_zero_matches_the_dsolve_solution(evidence):
    check_logistic_mode(off_target=True, evidence=evidence)
