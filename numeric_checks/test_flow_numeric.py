"""Gradient flow of the two-layer linear model in aligned coordinates (002 § 2026-02-06): ODE checks.

What is compared with what:
- The FULL matrix flow dW/dt = −∂L/∂W, dU/dt = −∂L/∂U (impl's `factor_gradients`, themselves
  checked against autograd in property_tests/test_flow.py), integrated by scipy's DOP853 at
  rtol 1e-12, from an aligned initial point W = P diag(w) Rᵀ, U = R diag(u) Qᵀ with
  A* = P diag(σ) Qᵀ (m = 5, k = 3, n = 4), against the reduced scalar ODEs of the claims,
  integrated separately, mode by mode: (w, u, s) with dw/dt = −u(s − σ), du/dt = −w(s − σ),
  ds/dt = −(w² + u²)(s − σ) (flow.aligned_mode_ode), ds/dt = 2s(σ − s) (flow.balanced_logistic),
  ds/dt = −2s² (flow.off_target_decay). s_j(t) is read off the matrix flow as p_jᵀ A(t) q_j, and
  the part of W, U outside the aligned form must stay 0.
- `factorized.logistic_mode` (the closed form s0σe^{2σt}/(σ − s0 + s0e^{2σt}), and s0/(1 + 2s0t) for
  σ = 0) against the scalar ODE integrated by DOP853 at rtol 1e-13, and the half-growth time
  t½ = ln(σ/s0 − 1)/(2σ) of the registry against a root of the integrated trajectory's dense
  output (brentq).
- The algebraic (not exponential) decay of an off-target mode: the log-log slope of s(t) of the
  matrix flow at large t, against −1; and, unbalanced, the monotone decay of s.

Tolerances: DOP853 at rtol 1e-12 (1e-13 for scalars) keeps the global error of these smooth,
non-stiff O(1) problems near 1e-11; comparisons allow 1e-9 (relative where values span decades,
absolute on O(1) factors). The aligned form is preserved exactly by the flow, so the non-aligned
part stays at rounding level (1e-11 allowed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

import impl.flow.factorized as factorized
from impl.spectral.spectra import random_orthogonal
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)

MATRIX_RTOL, MATRIX_ATOL = 1e-12, 1e-14
SCALAR_RTOL = 1e-13
ODE_TOL = 1e-9        # reduced ODE vs matrix flow, closed form vs integrated ODE
ALIGNED_TOL = 1e-11   # the non-aligned part of W and U (exactly 0 under the flow; rounding only)
SHAPE = (5, 3, 4)     # m, k, n: rectangular, so a transposition slip cannot go unnoticed


# ------------------------------------------------------------- the two integrations

@dataclass
class AlignedStart:
    """A* = P diag(σ) Qᵀ, W = P diag(w0) Rᵀ, U = R diag(u0) Qᵀ (P, Q orthonormal columns, R orthogonal)."""
    P: torch.Tensor
    Q: torch.Tensor
    R: torch.Tensor
    sigma: np.ndarray
    w0: np.ndarray
    u0: np.ndarray

    @classmethod
    def draw(cls, seed: int, sigma, w0, u0) -> AlignedStart:
        m, k, n = SHAPE
        gen = torch.Generator().manual_seed(seed)
        return cls(random_orthogonal(m, generator=gen)[:, :k], random_orthogonal(n, generator=gen)[:, :k],
                   random_orthogonal(k, generator=gen), np.asarray(sigma, float), np.asarray(w0, float),
                   np.asarray(u0, float))

    def target(self) -> torch.Tensor:
        return self.P @ torch.diag(torch.as_tensor(self.sigma)) @ self.Q.mT

    def factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.P @ torch.diag(torch.as_tensor(self.w0)) @ self.R.mT,
                self.R @ torch.diag(torch.as_tensor(self.u0)) @ self.Q.mT)


@dataclass
class MatrixFlow:
    times: np.ndarray
    W: torch.Tensor       # (T, m, k)
    U: torch.Tensor       # (T, k, n)


def integrate_matrix_flow(W0: torch.Tensor, U0: torch.Tensor, A_star: torch.Tensor, times) -> MatrixFlow:
    """dW/dt = −∂L/∂W, dU/dt = −∂L/∂U with impl's closed-form gradients, by DOP853."""
    (m, k), n = W0.shape, U0.shape[1]

    def rhs(_, y):
        W = torch.from_numpy(y[:m * k]).view(m, k)
        U = torch.from_numpy(y[m * k:]).view(k, n)
        grad_W, grad_U = factorized.factor_gradients(W, U, A_star)
        return -np.concatenate([grad_W.reshape(-1).numpy(), grad_U.reshape(-1).numpy()])

    times = np.asarray(times, float)
    y0 = np.concatenate([W0.reshape(-1).numpy(), U0.reshape(-1).numpy()])
    sol = solve_ivp(rhs, (0.0, times[-1]), y0, method="DOP853", t_eval=times, rtol=MATRIX_RTOL, atol=MATRIX_ATOL)
    assert sol.success and np.isfinite(sol.y).all(), (
        f"the matrix flow could not be integrated to t = {times[-1]}: {sol.message} (last t = {sol.t[-1] if sol.t.size else 0})")
    states = torch.from_numpy(sol.y.T.copy())
    return MatrixFlow(times, states[:, :m * k].reshape(-1, m, k), states[:, m * k:].reshape(-1, k, n))


def integrate_scalar(rhs, y0, times, rtol=MATRIX_RTOL, atol=MATRIX_ATOL, dense=False):
    sol = solve_ivp(rhs, (0.0, float(times[-1])), np.atleast_1d(np.asarray(y0, float)), method="DOP853",
                    t_eval=times, rtol=rtol, atol=atol, dense_output=dense)
    assert sol.success, f"scalar ODE: {sol.message}"
    return sol


def aligned_mode_ode(sigma: float):
    """The claim's reduced ODE for one mode, (w, u, s) with s carried as its own state."""
    def rhs(_, y):
        w, u, s = y
        return [-u * (s - sigma), -w * (s - sigma), -(w * w + u * u) * (s - sigma)]
    return rhs


def logistic_ode(sigma: float):
    return lambda _, y: 2 * y * (sigma - y)


def aligned_coordinates(start: AlignedStart, flow: MatrixFlow):
    """(w(t), u(t), s(t)) read off the matrix flow: diag(Pᵀ W R), diag(Rᵀ U Q), diag(Pᵀ W U Q)."""
    W_coords = start.P.mT @ flow.W @ start.R
    U_coords = start.R.mT @ flow.U @ start.Q
    A_coords = start.P.mT @ flow.W @ flow.U @ start.Q
    diag = lambda M: M.diagonal(dim1=-2, dim2=-1)
    return diag(W_coords), diag(U_coords), diag(A_coords)


def non_aligned_part(start: AlignedStart, flow: MatrixFlow) -> float:
    """max |W − P diag(w) Rᵀ|, |U − R diag(u) Qᵀ| over the trajectory (w, u: the aligned
    coordinates), i.e. the components off the diagonal or outside span P, span Q."""
    w, u, _ = aligned_coordinates(start, flow)
    W_aligned = start.P @ torch.diag_embed(w) @ start.R.mT
    U_aligned = start.R @ torch.diag_embed(u) @ start.Q.mT
    return max(float((flow.W - W_aligned).abs().max()), float((flow.U - U_aligned).abs().max()))


# ------------------------------------------------------------- flow.aligned_mode_ode

# (seed, σ per mode, w0, u0): unbalanced starts (w0 ≠ u0), below, near and above the target,
# and an off-target mode (σ = 0)
ALIGNED_CASES = [
    (0, (1.0, 0.35, 0.0), (0.05, 0.3, 0.9), (0.4, 0.02, 0.6)),
    (1, (0.8, 0.5, 0.2), (1.2, 0.1, 0.3), (0.9, 0.6, 0.05)),
    (2, (0.6, 0.0, 0.0), (0.2, 1.1, 0.4), (0.05, 0.3, 0.4)),
]
SWEEP_CASES = [(seed, tuple(np.round(rng.uniform(0, 1.2, 3) * (rng.uniform(size=3) > 0.25), 3)),
                tuple(np.round(rng.uniform(0.02, 1.2, 3), 3)), tuple(np.round(rng.uniform(0.02, 1.2, 3), 3)))
               for seed, rng in ((s, np.random.default_rng(100 + s)) for s in range(3, 23))]


def check_aligned_modes(case, horizon, evidence):
    seed, sigma, w0, u0 = case
    start = AlignedStart.draw(seed, sigma, w0, u0)
    times = np.linspace(0.0, horizon, 161)
    flow = integrate_matrix_flow(*start.factors(), start.target(), times)
    w, u, s = aligned_coordinates(start, flow)
    worst = 0.0
    for j in range(len(sigma)):
        reduced = integrate_scalar(aligned_mode_ode(sigma[j]), (w0[j], u0[j], w0[j] * u0[j]), times)
        for name, got, want in (("w", w[:, j], reduced.y[0]), ("u", u[:, j], reduced.y[1]), ("s", s[:, j], reduced.y[2])):
            err = float(np.abs(got.numpy() - want).max())
            worst = max(worst, err)
            at = int(np.abs(got.numpy() - want).argmax())
            assert err <= ODE_TOL, (
                f"mode {j} (σ = {sigma[j]}, w0 = {w0[j]}, u0 = {u0[j]}): {name}(t) of the matrix flow "
                f"{float(got[at]):.15g} vs the reduced ODE {want[at]:.15g} at t = {times[at]:.4g} "
                f"(error {err:.3g} > {ODE_TOL:g})")
    leak = non_aligned_part(start, flow)
    evidence.figure("max |matrix flow − reduced (w, u, s) ODE| over modes and t", worst, "1", keep="max")
    evidence.figure("max non-aligned part of W, U along the flow", leak, "1", keep="max")
    evidence.figure("horizon of the aligned-mode comparison", horizon, "time", keep="max")
    assert leak <= ALIGNED_TOL, (f"case {case}: the flow left the aligned form, off-aligned entries up to "
                                 f"{leak:.3g} > {ALIGNED_TOL:g}")


@pytest.mark.claim("flow.aligned_mode_ode")
@pytest.mark.parametrize("case", ALIGNED_CASES, ids=lambda c: f"seed{c[0]}")
def test_aligned_matrix_flow_decouples_into_the_mode_odes(case, evidence):
    check_aligned_modes(case, 8.0, evidence)


@pytest.mark.sweep
@pytest.mark.claim("flow.aligned_mode_ode")
@pytest.mark.parametrize("case", SWEEP_CASES, ids=lambda c: f"seed{c[0]}")
def test_aligned_matrix_flow_decouples_into_the_mode_odes_sweep(case, evidence):
    check_aligned_modes(case, 20.0, evidence)


# ------------------------------------------------------------- flow.balanced_logistic

target_strengths = st.floats(0.05, 4.0)
start_fractions = st.floats(-8.0, math.log10(0.95)).map(lambda e: 10.0 ** e)    # s0/σ, log-uniform
# below σ/2 the mode crosses σ/2 at t½ > 0 (above it, t½ < 0 is a time before the start)
growing_start_fractions = st.floats(-8.0, math.log10(0.45)).map(lambda e: 10.0 ** e)


@pytest.mark.claim("flow.balanced_logistic")
@given(sigma=target_strengths, fraction=start_fractions)
def test_logistic_closed_form_solves_the_balanced_mode_ode(sigma, fraction, evidence):
    """logistic_mode vs DOP853 on ds/dt = 2s(σ − s) over [0, 3 t½], and its saturation at σ."""
    s0 = sigma * fraction
    horizon = 3 * math.log(sigma / s0) / (2 * sigma) + 1 / sigma
    times = np.linspace(0.0, horizon, 121)
    # atol 0: the trajectory spans decades from s0 = 1e-8 σ, so the solver controls relative error
    sol = integrate_scalar(logistic_ode(sigma), s0, times, rtol=SCALAR_RTOL, atol=0.0)
    closed = factorized.logistic_mode(torch.from_numpy(times), sigma, s0).numpy()
    rel = np.abs(closed - sol.y[0]) / sol.y[0]
    at = int(rel.argmax())
    evidence.figure("max relative error of logistic_mode vs the integrated ODE on [0, 3t½]", rel.max(), "1", keep="max")
    evidence.figure("smallest s0/σ", fraction, "1", keep="min")
    assert rel.max() <= ODE_TOL, (f"logistic_mode(t = {times[at]:.6g}, σ = {sigma!r}, s0 = {s0!r}) = {closed[at]!r} "
                                  f"but the ODE ds/dt = 2s(σ − s) gives {sol.y[0][at]!r} (relative error {rel[at]:.3g})")
    late = float(factorized.logistic_mode(1e3 / sigma + 10 * horizon, sigma, s0))
    evidence.figure("max |logistic_mode(t → ∞) − σ| / σ", abs(late - sigma) / sigma, "1", keep="max")
    assert abs(late - sigma) <= 1e-12 * sigma, (f"logistic_mode does not saturate at σ = {sigma!r}: at t = "
                                                f"{1e3 / sigma + 10 * horizon:.4g} it is {late!r} (s0 = {s0!r})")


@pytest.mark.claim("flow.balanced_logistic")
@given(sigma=target_strengths, fraction=growing_start_fractions)
def test_half_growth_time_is_where_the_integrated_mode_reaches_half(sigma, fraction, evidence):
    """t½ = ln(σ/s0 − 1)/(2σ) vs the root of s(t) = σ/2 on the ODE solution's dense output."""
    s0 = sigma * fraction
    horizon = 2 * math.log(sigma / s0) / (2 * sigma) + 2 / sigma
    sol = integrate_scalar(logistic_ode(sigma), s0, [0.0, horizon], rtol=SCALAR_RTOL, atol=0.0, dense=True)
    crossing = brentq(lambda t: sol.sol(t)[0] - sigma / 2, 0.0, horizon, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    predicted = factorized.half_growth_time(sigma, s0)
    rel = abs(predicted - crossing) / crossing
    approx = math.log(sigma / s0) / (2 * sigma)
    evidence.figure("max relative error of t½ = ln(σ/s0 − 1)/(2σ) vs the ODE's crossing of σ/2", rel, "1", keep="max")
    if fraction <= 1e-3:     # "≈ ln(σ/s0)/(2σ) for small s0": how small the gap is there
        evidence.figure("max relative gap of the approximation ln(σ/s0)/(2σ) to t½, s0/σ ≤ 1e-3",
                        abs(approx - crossing) / crossing, "1", keep="max")
    assert rel <= ODE_TOL, (f"σ = {sigma!r}, s0 = {s0!r}: t½ formula {predicted!r} but the integrated mode "
                            f"crosses σ/2 at t = {crossing!r} (relative error {rel:.3g})")


# (seed, σ per mode, s0 per mode): balanced starts w0 = u0 = √s0
BALANCED_CASES = [
    (3, (1.0, 0.25, 0.0), (1e-3, 1e-3, 0.2)),
    (4, (0.5, 0.4, 0.1), (1e-6, 0.3, 1e-2)),
]


@pytest.mark.claim("flow.balanced_logistic")
@pytest.mark.parametrize("case", BALANCED_CASES, ids=lambda c: f"seed{c[0]}")
def test_balanced_matrix_flow_follows_the_logistic_ode(case, evidence):
    """The matrix flow from a balanced aligned start: each s_j(t) against ds/dt = 2s(σ − s)
    integrated on its own (relative error), w = u throughout, and WᵀW − UUᵀ = 0 throughout."""
    seed, sigma, s0 = case
    roots = np.sqrt(s0)
    start = AlignedStart.draw(seed, sigma, roots, roots)
    slowest = max(factorized.half_growth_time(sg, s) for sg, s in zip(sigma, s0, strict=True) if 0 < s < sg)
    times = np.linspace(0.0, 3 * slowest, 161)
    flow = integrate_matrix_flow(*start.factors(), start.target(), times)
    w, u, s = aligned_coordinates(start, flow)
    for j in range(len(sigma)):
        # atol 0: relative control, s_j spans decades
        reduced = integrate_scalar(logistic_ode(sigma[j]), s0[j], times, rtol=SCALAR_RTOL, atol=0.0).y[0]
        rel = np.abs(s[:, j].numpy() - reduced) / reduced
        at = int(rel.argmax())
        evidence.figure("max relative error of the balanced matrix flow's s_j vs ds/dt = 2s(σ−s)", rel.max(), "1",
                        keep="max")
        assert rel.max() <= ODE_TOL, (
            f"mode {j} (σ = {sigma[j]}, s0 = {s0[j]}): matrix flow s = {float(s[at, j])!r} vs logistic ODE "
            f"{reduced[at]!r} at t = {times[at]:.4g} (relative error {rel[at]:.3g})")
    imbalance = float(factorized.balance(flow.W, flow.U).abs().max())
    unequal = float((w - u).abs().max())
    evidence.figure("max |WᵀW − UUᵀ| along the balanced flow", imbalance, "1", keep="max")
    evidence.figure("max |w − u| along the balanced flow", unequal, "1", keep="max")
    evidence.figure("horizon in units of the slowest t½", 3, "1")
    # the balance is conserved exactly; the integrator's error ~1e-12 on O(1) entries
    assert imbalance <= ALIGNED_TOL * 10 and unequal <= ALIGNED_TOL * 10, (
        f"balance not preserved: max |WᵀW − UUᵀ| = {imbalance:.3g}, max |w − u| = {unequal:.3g} (case {case})")


# ------------------------------------------------------------- flow.off_target_decay

off_target_starts = st.floats(-3.0, 1.0).map(lambda e: 10.0 ** e)


@pytest.mark.claim("flow.off_target_decay")
@given(s0=off_target_starts)
def test_decay_closed_form_solves_the_off_target_ode(s0, evidence):
    """logistic_mode(t, σ = 0, s0) = s0/(1 + 2s0t) vs DOP853 on ds/dt = −2s², t up to 10⁴/s0."""
    times = np.concatenate([[0.0], np.logspace(-3, 4, 120) / s0])
    sol = integrate_scalar(lambda _, y: -2 * y * y, s0, times, rtol=SCALAR_RTOL, atol=0.0)
    closed = factorized.logistic_mode(torch.from_numpy(times), 0.0, s0).numpy()
    rel = np.abs(closed - sol.y[0]) / sol.y[0]
    at = int(rel.argmax())
    evidence.figure("max relative error of s0/(1 + 2s0t) vs the integrated ds/dt = −2s²", rel.max(), "1", keep="max")
    evidence.figure("largest 2 s0 t covered", 2e4, "1")
    assert rel.max() <= ODE_TOL, (f"logistic_mode(t = {times[at]:.6g}, σ = 0, s0 = {s0!r}) = {closed[at]!r} but "
                                  f"ds/dt = −2s² gives {sol.y[0][at]!r} (relative error {rel[at]:.3g})")


@pytest.mark.claim("flow.off_target_decay")
def test_off_target_modes_of_the_matrix_flow_decay_like_one_over_2t(evidence):
    """Balanced aligned start with a target mode (σ = 0.8) and two off-target modes: the
    off-target s_j(t) of the matrix flow against ds/dt = −2s² integrated alone (relative error),
    then the log-log slope over t ∈ [T/10, T] (≈ −1, algebraic; an exponential decay would
    steepen without bound) and 2 t s(t) → 1."""
    sigma, s0 = (0.8, 0.0, 0.0), (1e-2, 0.5, 0.2)
    start = AlignedStart.draw(5, sigma, np.sqrt(s0), np.sqrt(s0))
    horizon = 1e3 / min(s0[1:])
    times = np.concatenate([[0.0], np.logspace(-2, math.log10(horizon), 161)])
    flow = integrate_matrix_flow(*start.factors(), start.target(), times)
    _, _, s = aligned_coordinates(start, flow)
    late = times >= horizon / 10
    for j in (1, 2):
        reduced = integrate_scalar(lambda _, y: -2 * y * y, s0[j], times, rtol=SCALAR_RTOL, atol=0.0).y[0]
        rel = np.abs(s[:, j].numpy() - reduced) / reduced
        at = int(rel.argmax())
        evidence.figure("max relative error of off-target s_j (matrix flow) vs ds/dt = −2s²", rel.max(), "1", keep="max")
        assert rel.max() <= ODE_TOL, (f"off-target mode {j} (s0 = {s0[j]}): matrix flow {float(s[at, j])!r} vs "
                                      f"ds/dt = −2s² {reduced[at]!r} at t = {times[at]:.4g} (relative error {rel[at]:.3g})")
        slope = float(np.polyfit(np.log(times[late]), np.log(s[late, j].numpy()), 1)[0])
        product = float(2 * times[-1] * s[-1, j])
        evidence.figure(f"log-log slope of s(t), t ∈ [T/10, T], off-target mode s0 = {s0[j]}", slope, "1")
        evidence.figure(f"2 T s(T) at T = {horizon:.0f}, off-target mode s0 = {s0[j]}", product, "1")
        # s0/(1 + 2s0t) has local slope −2s0t/(1 + 2s0t) ∈ [−1, −0.995] there
        assert abs(slope + 1) <= 0.01 and abs(product - 1) <= 0.01, (
            f"off-target mode {j} (s0 = {s0[j]}): log-log slope {slope:.5f} over t ∈ [{horizon / 10:.0f}, "
            f"{horizon:.0f}] (expected −1 for 1/(2t) decay), 2 T s(T) = {product:.5f} (expected → 1)")


@pytest.mark.claim("flow.off_target_decay")
@pytest.mark.parametrize("seed", [6, 7])
def test_unbalanced_off_target_modes_decay_monotonically(seed, evidence):
    """Unbalanced aligned start (w0 ≠ u0) with off-target modes: ds/dt = −(w² + u²)s, and
    w² + u² ≥ |w0² − u0²| (conserved), so s decreases monotonically, keeps its sign and falls
    below s0 e^{−|w0² − u0²| t}. The horizon ends where the fastest mode is down to ~1e-6 s0,
    well above the integrator's absolute accuracy (atol 1e-14), so every grid step is resolved."""
    rng = np.random.default_rng(seed)
    w0, u0 = rng.uniform(0.3, 1.2, 3), rng.uniform(0.05, 0.5, 3)
    sigma = (0.7, 0.0, 0.0)
    start = AlignedStart.draw(seed, sigma, w0, u0)
    gaps = np.abs(w0 ** 2 - u0 ** 2)
    fastest = float(np.sqrt(gaps ** 2 + 4 * (w0 * u0) ** 2)[1:].max())    # the largest initial w² + u²
    times = np.linspace(0.0, math.log(1e6) / fastest, 401)
    flow = integrate_matrix_flow(*start.factors(), start.target(), times)
    _, _, s = aligned_coordinates(start, flow)
    for j in (1, 2):
        path = s[:, j].numpy()
        rises = float(np.diff(path).max())
        bound = path[0] * np.exp(-gaps[j] * times)
        excess = float(((path - bound) / bound).max())
        evidence.figure("max step-to-step increase of an unbalanced off-target s(t) (must be < 0)", rises, "1",
                        keep="max")
        evidence.figure("max relative excess of s(t) over s0 e^{−|w0² − u0²| t}", excess, "1", keep="max")
        evidence.figure("largest s(T)/s0 of an unbalanced off-target mode", path[-1] / path[0], "1", keep="max")
        assert rises < 0 and path.min() > 0, (
            f"off-target mode {j} (w0 = {w0[j]:.4g}, u0 = {u0[j]:.4g}): s(t) is not positive and strictly "
            f"decreasing on [0, {times[-1]:.3g}]: largest step-to-step change {rises:.3g}, min {path.min():.3g}")
        assert excess <= ODE_TOL, (
            f"off-target mode {j}: s(t) exceeds s0 e^(−|w0² − u0²| t) by a relative {excess:.3g} "
            f"(s(T) = {path[-1]:.4g}, bound {bound[-1]:.4g})")
