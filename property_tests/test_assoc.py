"""Associativity separation (000 "Associativity.lean"), checked on impl's scan, tanh RNN and |·|^α RNN.

- assoc.scan_monoid: `impl.scan.affine.affine_combine` is composition of affine maps, associative
  with identity (I, 0) — exactly, on dyadic rationals that float64 holds exactly, against maps
  evaluated in Fractions; within float64 round-off on general draws — and `affine_scan` (a
  parallel prefix scan) gives the states of the plain recurrence with time-varying M_t.
- assoc.tanh_not_affine_step: impl's tanh step (impl.elman's StockElman with W_x = I, b = 0, so
  h ↦ tanh(W h + x)) applied twice is not one tanh step. tanh is injective, so two steps equal
  tanh(W′h + x′) for all h iff the second step's pre-activation z₂(h) = W tanh(W h + x₁) + x₂ is
  affine in h: the best affine fit of z₂ (linear least squares, a global optimum) leaves a residual
  that must stay above NONZERO. The output side is fitted too (scipy least_squares from several
  starts). The Lean witness (W = 1, x₁ = x₂ = 0) gets an mpmath (60 digits) and an arb certificate of
  2·tanh 1 − tanh 2 > 0, the inequality its proof rests on.
- assoc.polynomial_not_associative: the same for h ↦ abs(w h + x)^α (impl.polynomial_rnn): two
  steps equal abs(w′h + x′)^α for all h iff abs(z₂(h)) = abs(w′h + x′), z₂ = w·abs(w h + x₁)^α + x₂.

Threshold. NONZERO = 1e-6 on the RMS residual relative to 1 + RMS of the fitted values. An exact
collapse leaves only float64 round-off (measured ≤ ~1e-14 on the collapsing draws below), so
1e-6 sits eight orders above what "equal" can look like in float64, and far below the residuals
of the non-collapsing draws (recorded as "smallest residual …" in the evidence).

What the claims assert is existential (∃ W, x₁, x₂). Drawn parameters test more: for n = 1 every
w ≠ 0 separates; for n ≥ 2 some nonzero W collapse (W = [[0, 1], [0, 0]] among them). The n × n
check predicts collapse exactly from the draw and asserts the numerics agree both ways; collapsing
draws are recorded as evidence, not counted against the claim.
"""

from __future__ import annotations

from fractions import Fraction

import flint
import mpmath
import numpy as np
import pytest
import scipy.optimize
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import impl.polynomial_rnn as polynomial_rnn
import impl.scan.affine as affine
from impl.elman import StockElman
from impl.precision import working_precision
from impl.testing import TOLERANCES, dyadic_rationals, rational_matrices, relative_rms_error, to_tensor

NONZERO = 1e-6          # a fit residual above this is not float64 round-off of an exact collapse
COLLAPSED = 1e-11       # a predicted exact collapse must fit to this (round-off only)
FLOAT_TOL = TOLERANCES[torch.float64]["rtol"]


def examples(share: float) -> int:
    """A share of the active hypothesis profile's example count (dev and ci 40, quick 25, thorough
    1000), for the costlier checks: they scale with the profile instead of pinning a number."""
    return max(3, round(settings().max_examples * share))


# ============================================================= assoc.scan_monoid

def apply_exact(M, v, h):
    """M h + v in Fractions (M a list of rows, v and h lists)."""
    return [sum((m * x for m, x in zip(row, h, strict=True)), Fraction(0)) + b for row, b in zip(M, v, strict=True)]


def exact_element(element) -> tuple[list[list[Fraction]], list[Fraction]]:
    """(M, v) of a float64 element, converted exactly (Fraction(float) is exact)."""
    M, v = element
    return [[Fraction(x) for x in row] for row in M.tolist()], [Fraction(x) for x in v.tolist()]


def assert_is_composition(got, maps, what: str) -> None:
    """`got` (float64 (M, v)) must be the map h ↦ maps[-1](…maps[0](h)), exactly: an affine map is fixed by
    its values at 0 and at the basis vectors, which are evaluated here in Fractions."""
    M, v = exact_element(got)
    n = len(v)
    for probe in [[Fraction(0)] * n] + [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]:
        want = probe
        for Mk, vk in maps:
            want = apply_exact(Mk, vk, want)
        have = apply_exact(M, v, probe)
        assert have == want, (f"{what}: at h = {[str(p) for p in probe]} the combined element gives "
                              f"{[str(x) for x in have]}, the composition of the maps {[str(x) for x in want]}")


@st.composite
def affine_elements(draw, n: int):
    M = draw(rational_matrices(n, n))
    v = draw(rational_matrices(1, n))[0]
    return M, v


def element_tensor(e):
    M, v = e
    return to_tensor(M), to_tensor([v])[0]


@pytest.mark.claim("assoc.scan_monoid")
@given(data=st.data(), n=st.integers(1, 4))
def test_combine_is_exact_composition_associative_with_identity(data, n, evidence):
    """affine_combine(e1, e2) = e2 ∘ e1; both bracketings of three elements are e3 ∘ e2 ∘ e1, and
    (I, 0) is a two-sided identity — all exactly, compared with maps evaluated in Fractions."""
    e1, e2, e3 = (data.draw(affine_elements(n)) for _ in range(3))
    t1, t2, t3 = (element_tensor(e) for e in (e1, e2, e3))
    assert_is_composition(affine.affine_combine(t1, t2), [e1, e2], "affine_combine(e1, e2)")
    left = affine.affine_combine(affine.affine_combine(t1, t2), t3)
    right = affine.affine_combine(t1, affine.affine_combine(t2, t3))
    assert_is_composition(left, [e1, e2, e3], "(e1 · e2) · e3")
    assert_is_composition(right, [e1, e2, e3], "e1 · (e2 · e3)")
    identity = affine.affine_identity(n)
    for what, got in (("id then e1", affine.affine_combine(identity, t1)),
                      ("e1 then id", affine.affine_combine(t1, identity))):
        assert torch.equal(got[0], t1[0]) and torch.equal(got[1], t1[1]), (
            f"{what}: ({got[0].tolist()}, {got[1].tolist()}) != e1 = ({t1[0].tolist()}, {t1[1].tolist()})")
    gap = max(float((left[0] - right[0]).abs().max()), float((left[1] - right[1]).abs().max()))
    evidence.figure("max |(e1·e2)·e3 − e1·(e2·e3)| on dyadic elements", gap, "1", keep="max")


@pytest.mark.claim("assoc.scan_monoid")
@given(n=st.integers(1, 8), batch=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_combine_is_associative_in_floating_point(n, batch, seed, evidence):
    """General float64 elements (normal entries, a batch of them): the two bracketings agree within
    float64 round-off, and both match the composition applied to random states."""
    gen = torch.Generator().manual_seed(seed)
    els = [(torch.randn(batch, n, n, dtype=torch.float64, generator=gen),
            torch.randn(batch, n, dtype=torch.float64, generator=gen)) for _ in range(3)]
    left = affine.affine_combine(affine.affine_combine(els[0], els[1]), els[2])
    right = affine.affine_combine(els[0], affine.affine_combine(els[1], els[2]))
    h = torch.randn(batch, n, dtype=torch.float64, generator=gen)
    step_by_step = h
    for M, v in els:
        step_by_step = torch.einsum("bij,bj->bi", M, step_by_step) + v
    applied = torch.einsum("bij,bj->bi", left[0], h) + left[1]
    errors = {"matrix part": relative_rms_error(left[0], right[0]),
              "vector part": relative_rms_error(left[1], right[1]),
              "applied vs step by step": relative_rms_error(applied, step_by_step)}
    evidence.figure("max relative associativity gap (float64 draws)", max(errors.values()), "1", keep="max")
    for what, err in errors.items():
        assert err <= FLOAT_TOL, f"{what}: relative error {err:.3g} > {FLOAT_TOL:g} (n={n}, seed={seed})"


def exact_recurrence(Ms, vs, h0):
    states, h = [], h0
    for M, v in zip(Ms, vs, strict=True):
        h = apply_exact(M, v, h)
        states.append(h)
    return states


@pytest.mark.claim("assoc.scan_monoid")
@given(data=st.data(), n=st.integers(1, 3), T=st.integers(1, 8), with_h0=st.booleans())
def test_scan_is_the_sequential_recurrence_exactly(data, n, T, with_h0, evidence):
    """affine_scan over time-varying dyadic (M_t, v_t) gives h_1 … h_T of the plain recurrence exactly.
    Exact because every intermediate (a product of ≤ 8 matrices with entries k/4, |k| ≤ 4, n ≤ 3,
    and its action on vectors of such entries) is a multiple of 4⁻⁸ below 3⁸ in size: < 2⁵³ units."""
    Ms = [data.draw(rational_matrices(n, n)) for _ in range(T)]
    vs = [data.draw(rational_matrices(1, n))[0] for _ in range(T)]
    h0 = data.draw(rational_matrices(1, n))[0] if with_h0 else [Fraction(0)] * n
    M = torch.stack([to_tensor(m) for m in Ms])
    v = to_tensor(vs)
    got = affine.affine_scan(M, v, to_tensor([h0])[0] if with_h0 else None)
    want = exact_recurrence(Ms, vs, h0)
    for t in range(T):
        have = [Fraction(x) for x in got[t].tolist()]
        assert have == want[t], (f"scan state h_{t + 1} = {[str(x) for x in have]} but the recurrence gives "
                                 f"{[str(x) for x in want[t]]} (n={n}, T={T}, h0={[str(x) for x in h0]})")
    evidence.figure("largest T checked exactly (scan vs recurrence)", T, "", keep="max")


@pytest.mark.claim("assoc.scan_monoid")
@given(n=st.integers(1, 6), T=st.one_of(st.sampled_from([1, 7, 33, 100]), st.integers(1, 100)),
       batch=st.integers(1, 3), with_h0=st.booleans(), seed=st.integers(0, 2**16))
def test_scan_is_the_sequential_recurrence_in_floating_point(n, T, batch, with_h0, seed, evidence):
    """Normal (M_t, v_t), M_t scaled to spectral norm ≤ 1, lengths up to 100 (not powers of two):
    the scan's states match a plain float64 loop within round-off."""
    gen = torch.Generator().manual_seed(seed)
    M = torch.randn(batch, T, n, n, dtype=torch.float64, generator=gen)
    M = M / torch.linalg.matrix_norm(M, ord=2)[..., None, None].clamp(min=1.0)
    v = torch.randn(batch, T, n, dtype=torch.float64, generator=gen)
    h0 = torch.randn(batch, n, dtype=torch.float64, generator=gen) if with_h0 else None
    got = affine.affine_scan(M, v, h0)
    h = torch.zeros(batch, n, dtype=torch.float64) if h0 is None else h0
    states = []
    for t in range(T):
        h = torch.einsum("bij,bj->bi", M[:, t], h) + v[:, t]
        states.append(h)
    err = relative_rms_error(got, torch.stack(states, dim=1))
    evidence.figure("max relative error, scan vs loop (float64, T ≤ 100)", err, "1", keep="max")
    assert err <= FLOAT_TOL, f"scan vs loop: relative RMS error {err:.3g} > {FLOAT_TOL:g} (n={n}, T={T}, seed={seed})"


# ============================================================= fitting helpers

def affine_fit(H: np.ndarray, Z: np.ndarray):
    """Best affine map h ↦ W′h + x′ to Z (N, n) from H (N, n) in least squares — a linear problem, so
    this is the global optimum. Returns (relative RMS residual, W′, x′)."""
    design = np.hstack([H, np.ones((H.shape[0], 1))])
    theta, *_ = np.linalg.lstsq(design, Z, rcond=None)
    residual = Z - design @ theta
    rms = float(np.sqrt(np.mean(residual ** 2)))
    return rms / (1 + float(np.sqrt(np.mean(Z ** 2)))), theta[:-1].T, theta[-1]


def one_tanh_step_fit(H: np.ndarray, Y: np.ndarray, starts: list[np.ndarray]):
    """Best tanh(W′h + x′) to Y (N, n), from several starts (scipy least_squares, analytic Jacobian).
    Returns (relative RMS residual of the best start, its parameters)."""
    N, n = H.shape

    def unpack(p):
        return p[: n * n].reshape(n, n), p[n * n:]

    def residuals(p):
        W, x = unpack(p)
        return (np.tanh(H @ W.T + x) - Y).ravel()

    def jacobian(p):
        W, x = unpack(p)
        d = 1 - np.tanh(H @ W.T + x) ** 2                   # (N, n): tanh′ of each output
        J = np.zeros((N, n, n * n + n))
        for i in range(n):
            J[:, i, i * n:(i + 1) * n] = d[:, i:i + 1] * H
            J[:, i, n * n + i] = d[:, i]
        return J.reshape(N * n, -1)

    best = None
    for p0 in starts:
        fit = scipy.optimize.least_squares(residuals, p0, jac=jacobian, method="lm", xtol=1e-14, ftol=1e-14,
                                           gtol=1e-14, max_nfev=400)
        rms = float(np.sqrt(np.mean(fit.fun ** 2)))
        if best is None or rms < best[0]:
            best = (rms, fit.x)
    return best[0] / (1 + float(np.sqrt(np.mean(Y ** 2)))), best[1]


# ============================================================= assoc.tanh_not_affine_step

def tanh_rnn(W: torch.Tensor) -> StockElman:
    """impl's stock Elman as the bare step h ↦ tanh(W h + x): W_x = I, b = 0, W_h = W."""
    n = W.shape[0]
    rnn = StockElman(n, n, dtype=torch.float64)
    with torch.no_grad():
        rnn.W_x.copy_(torch.eye(n, dtype=torch.float64))
        rnn.W_h.copy_(W)
        rnn.b.zero_()
    return rnn


def two_tanh_steps(W: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, H: torch.Tensor):
    """(z₂, y₂): the second step's pre-activation W tanh(W h + x₁) + x₂ and the output tanh(z₂), by impl."""
    rnn = tanh_rnn(W)
    with torch.no_grad():
        h1 = rnn.step(H, x1.expand_as(H))
        return rnn.pre_activation(h1, x2.expand_as(H)), rnn.step(h1, x2.expand_as(H))


def exact_best_affine_residual_of_tanh(grid: list[mpmath.mpf]) -> mpmath.mpf:
    """RMS residual of the best line a·u + b through (u, tanh u) on the grid, at mpmath precision."""
    n = len(grid)
    values = [mpmath.tanh(u) for u in grid]
    mean_u, mean_t = mpmath.fsum(grid) / n, mpmath.fsum(values) / n
    slope = (mpmath.fsum((u - mean_u) * (t - mean_t) for u, t in zip(grid, values, strict=True))
             / mpmath.fsum((u - mean_u) ** 2 for u in grid))
    return mpmath.sqrt(mpmath.fsum((t - mean_t - slope * (u - mean_u)) ** 2
                                   for u, t in zip(grid, values, strict=True)) / n)


GRID = np.linspace(-3.0, 3.0, 241)          # pre-activations u = W h + x₁ covered by the 1 × 1 checks


@pytest.mark.claim("assoc.tanh_not_affine_step")
@working_precision(flint_bits=200)
def test_lean_witness_certified_and_on_impl(evidence):
    """W = 1, x₁ = x₂ = 0. If tanh(tanh h) = tanh(a h + b) for all h then tanh h = a h + b (tanh is
    injective); h = 0, 1, 2 give b = 0, a = tanh 1, tanh 2 = 2 tanh 1 — false since 2 tanh 1 − tanh 2 > 0,
    certified here in mpmath (60 digits) and by an arb ball. On impl: the best affine fit of z₂ = tanh h
    over h ∈ [−3, 3] leaves the residual mpmath computes for that grid; the best one-step fit of the
    outputs stays above NONZERO."""
    with working_precision(mpmath_dps=60):
        gap = 2 * mpmath.tanh(1) - mpmath.tanh(2)
        grid = [mpmath.mpf(float(u)) for u in GRID]
        exact_residual = exact_best_affine_residual_of_tanh(grid)
    assert gap > 0, f"2 tanh 1 − tanh 2 = {gap}"
    ball = 2 * flint.arb(1).tanh() - flint.arb(2).tanh()
    assert ball > 0, f"arb ball of 2 tanh 1 − tanh 2 = {ball} does not exclude 0"
    evidence.figure("2·tanh(1) − tanh(2) (mpmath, 60 digits)", mpmath.nstr(gap, 30), "1")
    evidence.figure("arb lower bound of 2·tanh(1) − tanh(2)", float(ball.lower()), "1")

    one = torch.ones(1, 1, dtype=torch.float64)
    zero = torch.zeros(1, dtype=torch.float64)
    H = torch.tensor(GRID, dtype=torch.float64)[:, None]
    z2, y2 = two_tanh_steps(one, zero, zero, H)
    residual, slope, offset = affine_fit(H.numpy(), z2.numpy())
    absolute = residual * (1 + float(np.sqrt(np.mean(z2.numpy() ** 2))))      # back from relative to RMS
    assert abs(absolute - float(exact_residual)) <= 1e-12, (
        f"impl's best affine fit of tanh on [−3, 3] leaves RMS {absolute!r}, "
        f"mpmath says {mpmath.nstr(exact_residual, 20)}")
    assert residual > NONZERO
    out_residual, params = one_tanh_step_fit(H.numpy(), y2.numpy(), [np.array([slope[0, 0], offset[0]]),
                                                                      np.array([1.0, 0.0]), np.array([0.5, 0.1])])
    assert out_residual > NONZERO, f"tanh(a h + b) with (a, b) = {params} fits tanh(tanh h) to {out_residual:.3g}"
    evidence.figure("witness: best affine fit residual of z₂ = tanh h on [−3, 3] (RMS)", absolute, "1")
    evidence.figure("witness: best one-step fit residual of tanh(tanh h) (relative RMS)", out_residual, "1")


@pytest.mark.claim("assoc.tanh_not_affine_step")
@given(w=dyadic_rationals(max_numerator=8), x1=dyadic_rationals(max_numerator=8), x2=dyadic_rationals(max_numerator=8))
@example(w=Fraction(0), x1=Fraction(1, 2), x2=Fraction(-1, 4))
def test_scalar_tanh_steps_never_collapse_unless_w_is_zero(w, x1, x2, evidence):
    """n = 1: with h chosen so that u = w h + x₁ covers [−3, 3], z₂ = w tanh u + x₂ and the best
    affine fit in h is the best in u, so its residual is exactly |w| × (tanh's residual on the grid):
    nonzero for every w ≠ 0. w = 0 collapses (both maps are the constant tanh x₂) and is recorded."""
    W, b1, b2 = (torch.tensor([[float(v)]], dtype=torch.float64) for v in (w, x1, x2))
    if w == 0:
        H = torch.tensor(GRID, dtype=torch.float64)[:, None]
    else:
        H = (torch.tensor(GRID, dtype=torch.float64)[:, None] - float(x1)) / float(w)
    z2, y2 = two_tanh_steps(W, b1[0], b2[0], H)
    residual, slope, offset = affine_fit(H.numpy(), z2.numpy())
    if w == 0:
        assert residual <= COLLAPSED, f"w = 0 should collapse (constant maps), residual {residual:.3g}"
        evidence.figure("n = 1: largest fit residual of a w = 0 draw (collapses: both maps constant)", residual,
                        "1", keep="max")
        return
    with mpmath.workdps(30):
        unit = float(exact_best_affine_residual_of_tanh([mpmath.mpf(float(u)) for u in GRID]))
    absolute = residual * (1 + float(np.sqrt(np.mean(z2.numpy() ** 2))))
    assert abs(absolute - abs(float(w)) * unit) <= 1e-12 * (1 + abs(float(w))), (
        f"w={w}, x₁={x1}, x₂={x2}: affine-fit residual {absolute!r}, expected |w|·{unit!r}")
    assert residual > NONZERO, (f"w={w}, x₁={x1}, x₂={x2}: two tanh steps fit one affine pre-activation "
                                f"to {residual:.3g}")
    out_residual, params = one_tanh_step_fit(H.numpy(), y2.numpy(), [np.array([slope[0, 0], offset[0]]),
                                                                      np.array([float(w) ** 2, float(x2)])])
    assert out_residual > NONZERO, (f"w={w}, x₁={x1}, x₂={x2}: tanh(a h + b) with (a, b) = {params} fits two steps "
                                    f"to {out_residual:.3g}")
    evidence.figure("n = 1: smallest pre-activation residual (w ≠ 0, relative RMS)", residual, "1", keep="min")
    evidence.figure("n = 1: smallest one-step output residual (w ≠ 0, relative RMS)", out_residual, "1", keep="min")


def predicted_collapse(W: list[list[Fraction]], x1: list[Fraction]) -> bool:
    """Exactly: is z₂(h) = Σ_i W[:, i] tanh(r_i·h + x₁_i) + x₂ (r_i = row i of W) affine in h?

    Terms with W[:, i] = 0 vanish and terms with r_i = 0 are constant. The rest are grouped by
    (r_i, x₁_i) up to sign (tanh is odd); the functions tanh(r·h + b) of different groups, together
    with the affine functions, are linearly independent (Sussmann 1992, uniqueness of tanh network
    weights; a bounded sum cannot equal a non-constant linear function). So z₂ is affine iff every
    group's signed sum of columns is zero."""
    n = len(W)
    groups: dict[tuple, list[Fraction]] = {}
    for i in range(n):
        row, column = tuple(W[i]), [W[j][i] for j in range(n)]
        if not any(row) or not any(column):
            continue
        sign = 1 if next(v for v in row if v != 0) > 0 else -1
        key = tuple(sign * v for v in row) + (sign * x1[i],)
        total = groups.setdefault(key, [Fraction(0)] * n)
        for j in range(n):
            total[j] += sign * column[j]
    return all(not any(total) for total in groups.values())


DRAWS_SEEN: dict[tuple[str, int], int] = {}     # per test run (keyed by its evidence object): draws of each kind


@pytest.mark.claim("assoc.tanh_not_affine_step")
@settings(max_examples=examples(0.6))
@given(n=st.integers(2, 3), data=st.data(), seed=st.integers(0, 2**16))
@example(n=2, data=None, seed=0)           # W = [[0, 1], [0, 0]]: nonzero, yet two steps are one step
def test_matrix_tanh_steps_collapse_exactly_when_predicted(n, data, seed, evidence):
    """n ≥ 2, dyadic W, x₁, x₂: the numerics (affine fit of z₂ over 200 h in [−4, 4]ⁿ, and a one-step
    fit of the outputs) agree with the exact prediction `predicted_collapse` in both directions."""
    if data is None:                          # the explicit example
        W = [[Fraction(0), Fraction(1)], [Fraction(0), Fraction(0)]]
        x1, x2 = [Fraction(1, 2), Fraction(-1, 4)], [Fraction(1, 4), Fraction(0)]
    else:
        W = data.draw(rational_matrices(n, n))
        x1, x2 = data.draw(rational_matrices(1, n))[0], data.draw(rational_matrices(1, n))[0]
    Wt, b1, b2 = to_tensor(W), to_tensor([x1])[0], to_tensor([x2])[0]
    gen = torch.Generator().manual_seed(seed)
    H = (torch.rand(200, n, dtype=torch.float64, generator=gen) * 2 - 1) * 4
    z2, y2 = two_tanh_steps(Wt, b1, b2, H)
    residual, W1, x1_fit = affine_fit(H.numpy(), z2.numpy())
    starts = [np.concatenate([W1.ravel(), x1_fit]), np.concatenate([(Wt @ Wt).numpy().ravel(), b2.numpy()])]
    out_residual, _ = one_tanh_step_fit(H.numpy(), y2.numpy(), starts)
    described = f"W={[[str(v) for v in r] for r in W]}, x₁={[str(v) for v in x1]}, x₂={[str(v) for v in x2]}"
    if predicted_collapse(W, x1):
        nilpotent = not (Wt @ Wt).abs().max() > 0
        assert residual <= COLLAPSED and out_residual <= COLLAPSED, (
            f"{described}: predicted to collapse, but the best fits leave {residual:.3g} (pre-activation), "
            f"{out_residual:.3g} (outputs)")
        DRAWS_SEEN["collapse", id(evidence)] = DRAWS_SEEN.get(("collapse", id(evidence)), 0) + 1
        evidence.figure("n ≥ 2: draws that collapse (two steps = one step)", DRAWS_SEEN["collapse", id(evidence)], "",
                        keep="max")
        evidence.figure("n ≥ 2: largest fit residual of a collapsing draw", max(residual, out_residual), "1",
                        keep="max")
        if any(any(r) for r in W):
            evidence.note(f"nonzero W collapsing: {described} (W² = 0: {nilpotent})")
        return
    assert residual > NONZERO and out_residual > NONZERO, (
        f"{described}: predicted not to collapse, but the best fits leave {residual:.3g} (pre-activation), "
        f"{out_residual:.3g} (outputs) ≤ {NONZERO:g}")
    DRAWS_SEEN["separate", id(evidence)] = DRAWS_SEEN.get(("separate", id(evidence)), 0) + 1
    evidence.figure("n ≥ 2: draws that separate", DRAWS_SEEN["separate", id(evidence)], "", keep="max")
    evidence.figure("n ≥ 2: smallest pre-activation residual of a separating draw", residual, "1", keep="min")
    evidence.figure("n ≥ 2: smallest one-step output residual of a separating draw", out_residual, "1", keep="min")


# ============================================================= assoc.polynomial_not_associative

ALPHAS = [Fraction(1, 4), Fraction(1, 2), Fraction(9, 10), Fraction(999, 1000), Fraction(1001, 1000),
          Fraction(11, 10), Fraction(3, 2), Fraction(2), Fraction(3)]


@pytest.mark.claim("assoc.polynomial_not_associative")
@working_precision(flint_bits=200)
def test_polynomial_witness_certified(evidence):
    """Witness w = 1, x₁ = x₂ = 0: two steps give abs(h)^(α²). If that equals abs(a h + b)^α for all h,
    then abs(h)^α = abs(a h + b); h = 0, 1, 2 give b = 0, |a| = 1 and 2^α = 2, false for α ≠ 1.
    Certified: 2^α − 2 ≠ 0 in mpmath (60 digits) and as an arb ball excluding 0, for α on a grid
    reaching 1 ± 10⁻⁹; and impl's two steps at h = 0, 1, 2 are (0, 1, 2^(α²))."""
    smallest = None
    for alpha in ALPHAS + [1 - Fraction(1, 10**9), 1 + Fraction(1, 10**9)]:
        with working_precision(mpmath_dps=60):
            gap = mpmath.power(2, mpmath.mpf(alpha.numerator) / alpha.denominator) - 2
        ball = flint.arb(2) ** flint.arb(flint.fmpq(alpha.numerator, alpha.denominator)) - 2
        assert gap != 0 and (ball > 0 or ball < 0), f"α = {alpha}: 2^α − 2 = {gap}, arb {ball}"
        smallest = abs(gap) if smallest is None else min(smallest, abs(gap))
        a = float(alpha)
        h = torch.tensor([[0.0], [1.0], [2.0]], dtype=torch.float64)
        zero = torch.zeros(3, 1, dtype=torch.float64)
        two = polynomial_rnn.polynomial_step(polynomial_rnn.polynomial_step(h, zero, 1.0, a), zero, 1.0, a)
        want = torch.tensor([[0.0], [1.0], [2.0 ** (a * a)]], dtype=torch.float64)
        assert torch.allclose(two, want, rtol=1e-14, atol=0), (
            f"α = {alpha}: two steps at 0, 1, 2 give {two.ravel().tolist()}, want {want.ravel().tolist()}")
    evidence.figure("smallest |2^α − 2| on the α grid (mpmath)", mpmath.nstr(smallest, 10), "1")


def abs_line_fit(H: np.ndarray, target: np.ndarray):
    """Best abs(a h + b) to target ≥ 0 (N,), globally: abs(a h + b) = |a|·abs(h − c) with c = −b/a, so for
    each vertex c on a fine grid the best |a| is a 1-D least squares; the flat case a = 0 is one more
    candidate; the best few are refined by scipy least_squares. Returns (relative RMS residual, (a, b))."""
    scale = 1 + float(np.sqrt(np.mean(target ** 2)))
    candidates = [(float(np.sqrt(np.mean((target - target.mean()) ** 2))), (0.0, float(target.mean())))]
    span = H.max() - H.min()
    for c in np.linspace(H.min() - span, H.max() + span, 601):
        basis = np.abs(H - c)
        a = float(basis @ target / (basis @ basis))
        candidates.append((float(np.sqrt(np.mean((a * basis - target) ** 2))), (a, -a * c)))
    candidates.sort(key=lambda item: item[0])
    best = candidates[0]
    for _, p0 in candidates[:4]:
        fit = scipy.optimize.least_squares(lambda p: np.abs(p[0] * H + p[1]) - target, np.array(p0), method="trf",
                                           xtol=1e-14, ftol=1e-14, gtol=1e-14)
        rms = float(np.sqrt(np.mean(fit.fun ** 2)))
        if rms < best[0]:
            best = (rms, tuple(fit.x))
    return best[0] / scale, best[1]


def second_preactivation(w: float, x1: float, x2: float, alpha: float, H: torch.Tensor) -> torch.Tensor:
    """z₂(h) = w·abs(w h + x₁)^α + x₂, the argument of the second step's abs(·)^α, by impl's step."""
    h1 = polynomial_rnn.polynomial_step(H, torch.full_like(H, x1), w, alpha)
    return w * h1 + x2


@pytest.mark.claim("assoc.polynomial_not_associative")
def test_polynomial_witness_does_not_collapse_on_impl(evidence):
    """w = 1, x₁ = x₂ = 0 on impl, α on the grid: the best abs(a h + b) fit to abs(z₂(h)) over
    h ∈ [−2, 2] stays above NONZERO. Near α = 1 it shrinks like |α − 1| (two steps → one as α → 1):
    about 0.18·|α − 1| here, so the grid stops at 1 ± 10⁻³ and the certificate covers 1 ± 10⁻⁹."""
    H = torch.linspace(-2, 2, 401, dtype=torch.float64)
    failures = []
    for alpha in ALPHAS:
        z2 = second_preactivation(1.0, 0.0, 0.0, float(alpha), H)
        residual, (a, b) = abs_line_fit(H.numpy(), z2.abs().numpy())
        evidence.figure(f"witness, α = {alpha}: best residual of abs(a h + b) vs two steps", residual, "1")
        if not residual > NONZERO:
            failures.append(f"α = {alpha}: abs({a:.6g} h + {b:.6g}) fits two steps to {residual:.3g}")
    assert not failures, "; ".join(failures)


@pytest.mark.claim("assoc.polynomial_not_associative")
@settings(max_examples=examples(0.6))
@given(alpha=st.one_of(st.floats(0.1, 0.95), st.floats(1.05, 4.0)), w=dyadic_rationals(max_numerator=8),
       x1=dyadic_rationals(max_numerator=8), x2=dyadic_rationals(max_numerator=8))
@example(alpha=2.0, w=Fraction(0), x1=Fraction(1, 2), x2=Fraction(-1, 4))
def test_polynomial_steps_never_collapse_unless_w_is_zero(alpha, w, x1, x2, evidence):
    """Drawn α ∈ [0.1, 0.95] ∪ [1.05, 4] and dyadic w, x₁, x₂, with h chosen so that u = w h + x₁ covers
    [−2, 2]: for w ≠ 0, z₂ = w·abs(u)^α + x₂ has a non-linear branch that no abs(a h + b) follows; w = 0
    collapses (both sides constant) and is recorded."""
    U = torch.linspace(-2, 2, 401, dtype=torch.float64)
    H = U if w == 0 else (U - float(x1)) / float(w)
    z2 = second_preactivation(float(w), float(x1), float(x2), alpha, H)
    residual, (a, b) = abs_line_fit(H.numpy(), z2.abs().numpy())
    if w == 0:
        assert residual <= COLLAPSED, f"w = 0 should collapse (constant maps), residual {residual:.3g}"
        evidence.figure("largest fit residual of a w = 0 draw (collapses: both maps constant)", residual, "1",
                        keep="max")
        return
    evidence.figure("smallest residual of abs(a h + b) vs two steps (drawn α, w ≠ 0)", residual, "1", keep="min")
    assert residual > NONZERO, (f"α={alpha}, w={w}, x₁={x1}, x₂={x2}: abs({a:.6g} h + {b:.6g}) fits two steps "
                                f"to {residual:.3g}")
