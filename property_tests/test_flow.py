"""Gradient flow of the two-layer linear model A = W U (002 § 2026-02-06): property checks.

What is compared with what, on random float64 W (m×k), U (k×n), A* (m×n), m, k, n <= 6, with
and without a batch axis:
- flow.factor_gradient_flow: `factorized.factor_gradients` (the closed forms (A − A*)Uᵀ,
  Wᵀ(A − A*)) against torch.autograd of `factorized.loss` (the definition ½‖W U − A*‖_F²),
  and against the gradient of the POPULATION loss ½ E‖W U x − A* x‖² for whitened x, computed
  in exact rational arithmetic (python-flint fmpq): x uniform on {√n q_j} for a rational
  orthogonal basis q_j (Cayley transform of a rational skew matrix, so E[x xᵀ] = I exactly),
  differentiated by central differences, which are exact because the loss is quadratic in
  each single entry. The conservation of WᵀW − U Uᵀ that the claim's notes derive is checked
  on one step of `factorized.gradient_descent`: the balance changes by exactly
  η² (G_Wᵀ G_W − G_U G_Uᵀ) (G: autograd gradients), i.e. by O(η²), so not at all under the flow.
- flow.end_to_end_ode: `factorized.end_to_end_velocity` against a finite difference of one
  gradient-descent step of size η, taken with autograd gradients (not with the closed forms,
  so this check is independent of factor_gradients): (A(η) − A(0))/η − v is first order in η
  (log-log slope 1 over η = 2^-1 … 2^-12), and its η-coefficient is exactly G_W G_U (the step
  is W U − η(G_W U + W G_U) + η² G_W G_U, and −(G_W U + W G_U) is the claimed velocity).
"""

from __future__ import annotations

from fractions import Fraction

import flint
import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import impl.flow.factorized as factorized

EPS = torch.finfo(torch.float64).eps
# The closed forms and autograd do the same float64 products in a different order: they agree
# to a few ulps of the gradient's natural size ‖A − A*‖_F (‖W‖_F + ‖U‖_F); 1e-12 leaves ~100×.
GRADIENT_RTOL = 1e-12
STEPS_OF_ETA = [2.0 ** -j for j in range(1, 13)]


# ------------------------------------------------------------- strategies

@st.composite
def model_shapes(draw):
    """(m, k, n) with entries 1..6; a third of the draws square (m = k = n), where a dropped
    transpose or a swapped Gram matrix still type-checks."""
    if draw(st.integers(0, 2)) == 0:
        size = draw(st.integers(2, 6))
        return size, size, size
    return draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 6))


batch_shapes = st.sampled_from([(), (2,)])
generator_seeds = st.integers(0, 2 ** 32 - 1)
entry_scales = st.floats(0.5, 2.0)


@st.composite
def factorised_problems(draw):
    """Random float64 (W, U, A*) with standard normal entries times a scale, possibly batched."""
    m, k, n = draw(model_shapes())
    batch = draw(batch_shapes)
    scale = draw(entry_scales)
    gen = torch.Generator().manual_seed(draw(generator_seeds))
    W, U, A_star = (scale * torch.randn(*batch, *shape, generator=gen, dtype=torch.float64)
                    for shape in ((m, k), (k, n), (m, n)))
    return W, U, A_star


def autograd_gradients(W, U, A_star):
    """∂L/∂W, ∂L/∂U by reverse-mode differentiation of the definition `factorized.loss`."""
    W, U = W.clone().requires_grad_(True), U.clone().requires_grad_(True)
    return torch.autograd.grad(factorized.loss(W, U, A_star).sum(), (W, U))


def gradient_scale(W, U, A_star) -> float:
    """‖A − A*‖_F (‖W‖_F + ‖U‖_F): bounds every entry of both gradients (per batch item, max)."""
    error = torch.linalg.matrix_norm(W @ U - A_star)
    return float((error * (torch.linalg.matrix_norm(W) + torch.linalg.matrix_norm(U))).max())


def describe(W, U, A_star) -> str:
    return f"shapes W {tuple(W.shape)}, U {tuple(U.shape)}, A* {tuple(A_star.shape)}"


def record_range(evidence, W, U) -> None:
    evidence.figure("largest of m, k, n drawn", max(W.shape[-2], W.shape[-1], U.shape[-1]), "", keep="max")
    evidence.figure("smallest of m, k, n drawn", min(W.shape[-2], W.shape[-1], U.shape[-1]), "", keep="min")


# ------------------------------------------------------------- flow.factor_gradient_flow

@pytest.mark.claim("flow.factor_gradient_flow")
@given(problem=factorised_problems())
def test_factor_gradients_are_the_autograd_gradients_of_the_loss(problem, evidence):
    W, U, A_star = problem
    record_range(evidence, W, U)
    closed = factorized.factor_gradients(W, U, A_star)
    auto = autograd_gradients(W, U, A_star)
    scale = gradient_scale(W, U, A_star) + 1e-300
    for name, got, want in zip(("∂L/∂W", "∂L/∂U"), closed, auto, strict=True):
        assert got.shape == want.shape, f"{name}: closed form has shape {tuple(got.shape)}, autograd {tuple(want.shape)}"
        err = float((got - want).abs().max()) / scale
        evidence.figure(f"max error of {name} vs autograd, relative to ‖A − A*‖(‖W‖ + ‖U‖)", err, "1", keep="max")
        assert err <= GRADIENT_RTOL, (f"{name}: closed form {got.tolist()} vs autograd {want.tolist()} "
                                      f"(relative error {err:.3g} > {GRADIENT_RTOL:g}); {describe(W, U, A_star)}")


def exact(x: float) -> flint.fmpq:
    return flint.fmpq(*Fraction(x).as_integer_ratio())


def exact_matrix(M: torch.Tensor) -> flint.fmpq_mat:
    rows, cols = M.shape
    return flint.fmpq_mat(rows, cols, [exact(float(v)) for v in M.reshape(-1)])


def rational_orthogonal_basis(n: int, gen: torch.Generator) -> flint.fmpq_mat:
    """Q = (I − S)(I + S)⁻¹ for a random skew S with entries in (1/8)ℤ: exactly orthogonal."""
    S = flint.fmpq_mat(n, n)
    for i in range(n):
        for j in range(i + 1, n):
            S[i, j] = flint.fmpq(int(torch.randint(-8, 9, (), generator=gen)), 8)
            S[j, i] = -S[i, j]
    identity = flint.fmpq_mat(n, n, [int(i == j) for i in range(n) for j in range(n)])
    return (identity - S) * (identity + S).inv()


def population_loss(W: flint.fmpq_mat, U: flint.fmpq_mat, A_star: flint.fmpq_mat, Q: flint.fmpq_mat):
    """½ E‖W U x − A* x‖² for x uniform on {√n q_j} (q_j the columns of Q): the n and 1/n cancel,
    leaving ½ Σ_j ‖(W U − A*) q_j‖², in exact rationals."""
    residual = (W * U - A_star) * Q
    return sum((v * v for v in residual.entries()), flint.fmpq(0)) / 2


def central_difference(loss_at, M: flint.fmpq_mat) -> list[list[flint.fmpq]]:
    """∂/∂M_ab by (L(M + E_ab) − L(M − E_ab)) / 2, exact for a loss quadratic in each entry."""
    rows, cols = M.nrows(), M.ncols()
    grad = []
    for a in range(rows):
        row = []
        for b in range(cols):
            plus, minus = flint.fmpq_mat(M), flint.fmpq_mat(M)
            plus[a, b] += 1
            minus[a, b] -= 1
            row.append((loss_at(plus) - loss_at(minus)) / 2)
        grad.append(row)
    return grad


@pytest.mark.claim("flow.factor_gradient_flow")
@given(shape=model_shapes(), scale=entry_scales, seed=generator_seeds)
def test_factor_gradients_are_the_gradients_of_the_population_loss(shape, scale, seed, evidence):
    m, k, n = shape
    gen = torch.Generator().manual_seed(seed)
    W, U, A_star = (scale * torch.randn(*s, generator=gen, dtype=torch.float64) for s in ((m, k), (k, n), (m, n)))
    record_range(evidence, W, U)
    Q = rational_orthogonal_basis(n, gen)
    second_moment = Q * Q.transpose()                       # E[x xᵀ] = (1/n) Σ_j n q_j q_jᵀ
    assert second_moment == flint.fmpq_mat(n, n, [int(i == j) for i in range(n) for j in range(n)])
    Wq, Uq, Aq = exact_matrix(W), exact_matrix(U), exact_matrix(A_star)
    want_W = central_difference(lambda V: population_loss(V, Uq, Aq, Q), Wq)
    want_U = central_difference(lambda V: population_loss(Wq, V, Aq, Q), Uq)
    scale_of_gradients = gradient_scale(W, U, A_star) + 1e-300
    for name, got, want in zip(("∂L/∂W", "∂L/∂U"), factorized.factor_gradients(W, U, A_star), (want_W, want_U),
                               strict=True):
        # the float64 closed form against the exact gradient: rounding only (see GRADIENT_RTOL)
        err = max(abs(float(got[a, b]) - float(want[a][b])) for a in range(got.shape[0]) for b in range(got.shape[1]))
        err /= scale_of_gradients
        evidence.figure(f"max error of {name} vs the exact population-loss gradient (relative)", err, "1", keep="max")
        assert err <= GRADIENT_RTOL, (
            f"{name}: closed form {got.tolist()} vs exact gradient of ½E‖WUx − A*x‖² "
            f"{[[float(v) for v in row] for row in want]} (relative error {err:.3g}); {describe(W, U, A_star)}")


@pytest.mark.claim("flow.factor_gradient_flow")
@given(problem=factorised_problems())
def test_balance_changes_by_eta_squared_per_step(problem, evidence):
    """WᵀW − UUᵀ after one step of impl's gradient descent: B(η) − B(0) = η²(G_WᵀG_W − G_U G_Uᵀ)
    exactly (the first-order terms cancel), so the balance is conserved by the flow."""
    W, U, A_star = problem
    record_range(evidence, W, U)
    G_W, G_U = autograd_gradients(W, U, A_star)
    before = factorized.balance(W, U)
    size = float((torch.linalg.matrix_norm(W) ** 2 + torch.linalg.matrix_norm(U) ** 2).max())
    second_order = G_W.mT @ G_W - G_U @ G_U.mT
    for eta in (2.0 ** -2, 2.0 ** -5, 2.0 ** -8):
        step = factorized.gradient_descent(W, U, A_star, eta, 1)
        change = factorized.balance(step.W, step.U) - before
        # rounding: the balance's entries carry ~eps ‖W‖², the step ~eps η ‖G‖ ‖W‖; 256 eps covers both
        # (a first-order term left over would be η‖G‖‖W‖, ~1e5 times more at η = 2^-8)
        tol = 256 * EPS * (size + eta * gradient_scale(W, U, A_star))
        err = float((change - eta ** 2 * second_order).abs().max())
        evidence.figure("max |ΔB − η²(G_WᵀG_W − G_U G_Uᵀ)| / rounding allowance", err / tol, "1", keep="max")
        assert err <= tol, (f"η = {eta:g}: the balance changed by {change.tolist()}, expected η²(G_WᵀG_W − G_U G_Uᵀ) "
                            f"= {(eta ** 2 * second_order).tolist()} (error {err:.3g} > {tol:.3g}); "
                            f"{describe(W, U, A_star)}")


# ------------------------------------------------------------- flow.end_to_end_ode

def norm(M: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(M))


def log_log_slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


@pytest.mark.claim("flow.end_to_end_ode")
@given(problem=factorised_problems())
def test_end_to_end_velocity_is_the_first_order_change_of_a_gradient_step(problem, evidence):
    W, U, A_star = problem
    record_range(evidence, W, U)
    G_W, G_U = autograd_gradients(W, U, A_star)
    curvature = G_W @ G_U                                    # the η² coefficient of the step
    assume(float(torch.linalg.matrix_norm(curvature).min()) >= 1e-3)
    v = factorized.end_to_end_velocity(W, U, A_star)
    assert v.shape == A_star.shape, f"velocity has shape {tuple(v.shape)}, A* {tuple(A_star.shape)}"
    A = W @ U
    residuals, worst = [], 0.0
    for eta in STEPS_OF_ETA:
        stepped = (W - eta * G_W) @ (U - eta * G_U)
        residual = (stepped - A) / eta - v
        residuals.append(float(torch.linalg.vector_norm(residual)))
        # (A(η) − A)/η carries a rounding error ~eps (‖W‖‖U‖ + ‖W_η‖‖U_η‖)/η, v and η G_W G_U one of
        # ~eps times their products' sizes; the allowance is 64× that, while a wrong velocity leaves an
        # O(1) residual and a missing η² term one of size η‖G_W G_U‖
        sizes = (norm(W) * norm(U) + norm(W - eta * G_W) * norm(U - eta * G_U)) / eta \
            + norm(W) ** 2 * norm(U) ** 2 + norm(A_star) * (norm(W) ** 2 + norm(U) ** 2) + eta * norm(G_W) * norm(G_U)
        tol = 64 * EPS * sizes
        err = float(torch.linalg.vector_norm(residual - eta * curvature))
        worst = max(worst, err / tol)
        assert err <= tol, (
            f"η = {eta:g}: (A(η) − A)/η − v = {residual.tolist()} but the step's second-order term "
            f"η G_W G_U = {(eta * curvature).tolist()} (difference {err:.3g} > {tol:.3g}); "
            f"v = {v.tolist()}; {describe(W, U, A_star)}")
    slope = log_log_slope(STEPS_OF_ETA, residuals)
    evidence.figure("max |(A(η)−A)/η − v − η G_W G_U| / rounding allowance, η = 2^-1…2^-12", worst, "1", keep="max")
    evidence.figure("max |log-log slope of ‖(A(η)−A)/η − v‖ in η − 1|", abs(slope - 1), "1", keep="max")
    # the residual is exactly η ‖G_W G_U‖ up to rounding, so its slope is 1 to ~1e-6
    assert abs(slope - 1) <= 1e-3, (f"‖(A(η) − A)/η − v‖ = {residuals} for η = {STEPS_OF_ETA}: log-log slope "
                                    f"{slope:.6f}, not 1 (first order); {describe(W, U, A_star)}")
