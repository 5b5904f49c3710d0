"""Universality of linear recurrences (004, Orvieto et al.), checked on impl's diagonal linear RNN.

The recurrence's paths (the step loop, the parallel scan, the module with its LRU
parametrisation) are compared with computations that share no code with them: the unrolled
sum Σ_j λ^j (B u_{k−j}) in mpmath at 50 digits (complex Λ) or in exact rationals (real Λ);
the Vandermonde determinant in python-flint ball arithmetic against the product of node
differences; the true inputs against the inputs recovered from impl's final state; and the
ring initialisation's samples against the uniform law by Kolmogorov–Smirnov tests (scipy).

The last section pins the module to the LRU paper's own code (arXiv 2303.06349, appendix:
y_k = Re(C x_k) + D ⊙ u_k; B_re, B_im ~ N(0, 1/(2H)), C_re, C_im ~ N(0, 1/N), D ~ N(0, 1); see
impl/diagonal_rnn/model.py's docstring for where that was read). Those are contracts of the
module, not claims of the registry, so those tests carry no claim marker.
"""

from __future__ import annotations

import cmath
import math
from fractions import Fraction

import flint
import mpmath
import pytest
import scipy.stats
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import impl.diagonal_rnn.model as diag_model
import impl.diagonal_rnn.naive as naive
import impl.diagonal_rnn.chunked as scan
from impl.testing import TOLERANCES

TOL = TOLERANCES[torch.float64]
DIGITS = 50


def run_path(path: str, lam, B, u):
    """Looked up at call time, so a test of the harness can break a path by monkeypatching."""
    fn = {"reference": naive.diagonal_rnn_reference, "scan": scan.diagonal_rnn_scan}[path]
    return fn(lam, B, u)


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).abs().max() / (1.0 + want.abs().max())) if want.numel() else 0.0


# ------------------------------------------------------------- lru.state_unrolling

UNIT = st.floats(-1, 1, allow_nan=False, allow_infinity=False)


@st.composite
def diagonal_systems(draw, max_state=6, max_input=3, max_steps=12):
    """λ (N,) with |λ| <= 1 (complex, or real), B (N, m) (complex with complex λ), inputs (T, m)."""
    is_complex = draw(st.booleans())
    N, m, T = draw(st.integers(1, max_state)), draw(st.integers(1, max_input)), draw(st.integers(0, max_steps))
    if is_complex:
        lam = [cmath.rect(draw(st.floats(0, 1)), draw(st.floats(0, 2 * math.pi))) for _ in range(N)]
        B = [[complex(draw(UNIT), draw(UNIT)) for _ in range(m)] for _ in range(N)]
    else:
        lam = [draw(UNIT) for _ in range(N)]
        B = [[draw(UNIT) for _ in range(m)] for _ in range(N)]
    u = [[draw(UNIT) for _ in range(m)] for _ in range(T)]
    return lam, B, u


def unrolled_sum(lam, B, u, k):
    """x_k = Σ_{j<k} λ^j (B u_{k−j}) coordinate-wise (u_1 is u[0]): exact rationals for real
    entries, mpmath complex at 50 digits otherwise. Built from powers, not from the recurrence."""
    if all(isinstance(v, float) for v in lam):
        lam, B, u = ([Fraction(v) for v in lam], [[Fraction(v) for v in row] for row in B],
                     [[Fraction(v) for v in row] for row in u])
        zero, power = Fraction(0), (lambda z, j: z ** j)
    else:
        lam, B, u = ([mpmath.mpc(v) for v in lam], [[mpmath.mpc(v) for v in row] for row in B],
                     [[mpmath.mpf(v) for v in row] for row in u])
        zero, power = mpmath.mpc(0), mpmath.power
    state = []
    for n in range(len(lam)):
        total = zero
        for j in range(k):
            drive = sum((B[n][i] * u[k - 1 - j][i] for i in range(len(u[0]))), zero)   # (B u_{k−j})_n
            total += power(lam[n], j) * drive
        state.append(complex(total))
    return state


@pytest.mark.claim("lru.state_unrolling")
@pytest.mark.parametrize("path", ["reference", "scan"])
@given(system=diagonal_systems())
def test_state_is_the_unrolled_sum(path, system, evidence):
    lam, B, u = system
    N, m, T = len(lam), len(B[0]), len(u)
    kind = torch.complex128 if isinstance(lam[0], complex) else torch.float64
    states = run_path(path, torch.tensor(lam, dtype=kind), torch.tensor(B, dtype=kind),
                      torch.tensor(u, dtype=torch.float64).reshape(1, T, m))[0]
    assert states.shape == (T, N), f"{path}: states have shape {tuple(states.shape)}, expected {(T, N)}"
    with mpmath.workdps(DIGITS):
        for k in range(1, T + 1):
            want = torch.tensor(unrolled_sum(lam, B, u, k), dtype=torch.complex128)
            err = relative_error(states[k - 1].to(torch.complex128), want)
            evidence.figure(f"max relative error vs the unrolled sum ({path})", err, "1", keep="max")
            assert err <= TOL["rtol"], (
                f"{path} path: x_{k} = {states[k - 1].tolist()} but Σ_(j<{k}) λ^j B u_({k}-j) = {want.tolist()} "
                f"(relative error {err:.3g}) for λ = {lam}, N={N}, m={m}, T={T}")


@pytest.mark.claim("lru.state_unrolling")
@given(is_complex=st.booleans(), N=st.integers(1, 6), m=st.integers(1, 3), T=st.integers(1, 10),
       seed=st.integers(0, 2 ** 31 - 1))
def test_module_state_is_the_unrolled_sum_of_its_parameters(is_complex, N, m, T, seed, evidence):
    """The module's states vs the unrolled sum of λ = exp(−exp(ν_log) + i exp(θ_log)) and
    B = exp(γ_log) (B_re + i B_im), both evaluated in mpmath from the stored parameters."""
    gen = torch.Generator().manual_seed(seed)
    model = diag_model.DiagonalLinearRNN(N, m, complex=is_complex, r_min=0.3, r_max=0.999,
                                         dtype=torch.float64, generator=gen)
    u = torch.randn(1, T, m, dtype=torch.float64, generator=gen)
    states = model.states(u)[0].detach()
    stored = {name: p.detach() for name, p in model.named_parameters()}
    with mpmath.workdps(DIGITS):
        nu_log = [mpmath.mpf(float(v)) for v in stored["nu_log"]]
        theta_log = [mpmath.mpf(float(v)) for v in stored["theta_log"]] if is_complex else [None] * N
        lam = [mpmath.exp(-mpmath.exp(a) + (1j * mpmath.exp(b) if b is not None else 0))
               for a, b in zip(nu_log, theta_log, strict=True)]
        gamma = [mpmath.exp(float(v)) for v in stored["gamma_log"]]
        B_im = stored["B_im"] if is_complex else torch.zeros_like(stored["B_re"])
        B = [[gamma[n] * mpmath.mpc(float(stored["B_re"][n, i]), float(B_im[n, i])) for i in range(m)]
             for n in range(N)]
        for k in range(1, T + 1):
            want = [complex(sum((mpmath.power(lam[n], j) * sum((B[n][i] * float(u[0, k - 1 - j, i])
                                                                for i in range(m)), mpmath.mpc(0))
                                 for j in range(k)), mpmath.mpc(0))) for n in range(N)]
            want = torch.tensor(want, dtype=torch.complex128)
            err = relative_error(states[k - 1].to(torch.complex128), want)
            evidence.figure("max relative error vs the unrolled sum (module)", err, "1", keep="max")
            assert err <= TOL["rtol"], (f"module: x_{k} = {states[k - 1].tolist()} but the unrolled sum of its "
                                        f"parameters is {want.tolist()} (relative error {err:.3g})")


# ------------------------------------------------------------- lru.vandermonde_invertible

GAUSSIAN_DYADIC = st.tuples(st.integers(-8, 8), st.integers(-8, 8))       # (re, im) · 1/4


@pytest.mark.claim("lru.vandermonde_invertible")
@given(nodes=st.lists(GAUSSIAN_DYADIC, min_size=1, max_size=7, unique=True), real=st.booleans(), data=st.data())
def test_vandermonde_determinant_is_the_product_of_differences(nodes, real, data, evidence):
    """det of impl's square Vandermonde matrix (first L nodes, L columns) vs Π_{i<j}(λ_j − λ_i), in
    certified ball arithmetic (python-flint); the product's ball must exclude 0, so V (N × L)
    has full column rank L. Nodes are Gaussian dyadic rationals, so impl's entries are exact."""
    if real:
        nodes = sorted({(re, 0) for re, _ in nodes})
    N = len(nodes)
    L = data.draw(st.integers(1, N), label="L")
    exact = [complex(re / 4, im / 4) for re, im in nodes]
    V = diag_model.vandermonde_matrix(torch.tensor(exact, dtype=torch.complex128), L)
    assert V.shape == (N, L), f"vandermonde_matrix gave shape {tuple(V.shape)} for N={N}, L={L}"
    with flint.ctx.workprec(200):           # the entries are exact balls; 200 bits keeps the radii tiny
        square = flint.acb_mat([[flint.acb(complex(V[n, j]).real, complex(V[n, j]).imag) for j in range(L)]
                                for n in range(L)])
        det = square.det()
        prod = flint.acb(1)
        for j in range(L):
            for i in range(j):
                prod *= flint.acb(exact[j].real, exact[j].imag) - flint.acb(exact[i].real, exact[i].imag)
    evidence.figure("largest L with a certified det identity", L, "", keep="max")
    assert det.overlaps(prod), (f"det V = {det} but Π_(i<j)(λ_j − λ_i) = {prod} for nodes {exact[:L]} "
                                f"(impl's V = {V[:L].tolist()})")
    assert not prod.contains(0), f"distinct nodes {exact[:L]} but the product of differences {prod} may be 0"


def spread_nodes(data, N: int, is_complex: bool) -> torch.Tensor:
    """N distinct, well separated nodes: complex near the N-th roots of unity (modulus in
    [0.7, 1], phase jitter below half a gap), or real on a grid in [−1, 1] with jitter."""
    if is_complex:
        radii = data.draw(st.lists(st.floats(0.7, 1.0), min_size=N, max_size=N), label="radii")
        jitter = data.draw(st.lists(st.floats(-0.3, 0.3), min_size=N, max_size=N), label="phase jitter")
        return torch.tensor([cmath.rect(r, 2 * math.pi * (n + d) / N)
                             for n, (r, d) in enumerate(zip(radii, jitter, strict=True))], dtype=torch.complex128)
    jitter = data.draw(st.lists(st.floats(-0.3, 0.3), min_size=N, max_size=N), label="grid jitter")
    grid = [(-1 + 2 * (n + 0.5 + d) / N) for n, d in enumerate(jitter)]
    return torch.tensor(grid, dtype=torch.float64)


def final_state(path: str, lam: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """x_L of impl's recurrence with scalar input and B = 1."""
    B = torch.ones(lam.shape[0], 1, dtype=lam.dtype)
    return run_path(path, lam, B, u.reshape(1, -1, 1))[0, -1]


@pytest.mark.claim("lru.vandermonde_invertible")
@pytest.mark.parametrize("path", ["reference", "scan"])
@given(L=st.integers(1, 8), extra=st.integers(0, 4), is_complex=st.booleans(), data=st.data())
def test_inputs_are_recovered_from_the_final_state(path, L, extra, is_complex, data, evidence):
    """N ≥ L distinct nodes: ū = V⁺ x_L (impl's state, impl's V, float64 pseudo-inverse) gives back
    the inputs, reversed, within κ₂(V) times float64 round-off."""
    N = L + extra
    if not is_complex:
        N = min(N, 6)                              # real Vandermonde matrices get ill-conditioned fast
        L = min(L, N)
    lam = spread_nodes(data, N, is_complex)
    u = torch.tensor(data.draw(st.lists(st.floats(-1, 1), min_size=L, max_size=L), label="u"), dtype=torch.float64)
    assume(u.abs().max() > 1e-3)
    x_L = final_state(path, lam, u)
    V = diag_model.vandermonde_matrix(lam, L).to(torch.complex128)
    recovered = torch.linalg.pinv(V) @ x_L.to(torch.complex128)
    want = u.flip(0).to(torch.complex128)                       # ū = (u_L, …, u_1)
    err = float(torch.linalg.vector_norm(recovered - want) / torch.linalg.vector_norm(want))
    kappa = float(torch.linalg.cond(V))
    evidence.figure(f"max relative reconstruction error, N >= L, distinct nodes ({path})", err, "1", keep="max")
    evidence.figure(f"max κ₂(V) in reconstruction ({path})", kappa, "1", keep="max")
    assert err <= 1e-12 * kappa * L + 1e-13, (
        f"{path}: N={N} >= L={L} distinct nodes {lam.tolist()}: V⁺ x_L = {recovered.tolist()} but ū = "
        f"{want.tolist()} (relative error {err:.3g}, κ₂(V) = {kappa:.3g})")


@pytest.mark.claim("lru.vandermonde_invertible")
@pytest.mark.parametrize("case", ["N < L", "repeated nodes"])
@given(L=st.integers(2, 8), data=st.data())
def test_fewer_distinct_nodes_than_steps_lose_information(case, L, data, evidence):
    """The converse part of the claim, over complex input sequences (the setting in which V has
    rank < L): with fewer than L distinct nodes, two different sequences (u and u + z, z in the
    kernel of V) reach the same final state through impl's recurrence, so no readout can recover
    u; the pseudo-inverse reconstruction error is recorded.

    Not asserted, recorded: for REAL input sequences the map is ℝ-linear into ℂ^N ≅ ℝ^{2N}, and with
    non-real nodes it can stay injective for N < L ≤ 2N; the error of recovering real inputs from
    (Re x_L, Im x_L) is recorded as evidence of that limit of the claim's "in particular" clause."""
    distinct = data.draw(st.integers(1, L - 1), label="distinct nodes")
    nodes = spread_nodes(data, distinct, is_complex=True)
    if case == "repeated nodes":                 # N >= L nodes, but only `distinct` values
        picks = data.draw(st.lists(st.integers(0, distinct - 1), min_size=L - distinct, max_size=L - distinct + 2))
        nodes = torch.cat([nodes, nodes[torch.tensor(picks, dtype=torch.long)]])
    V = diag_model.vandermonde_matrix(nodes, L)
    z = torch.linalg.svd(V)[2][-1].conj()                       # a unit vector with V z ≈ 0 (rank < L)
    z_time = z.flip(0)                                          # ū is reversed time
    gen = torch.Generator().manual_seed(L * 10 + distinct)
    u = torch.randn(L, dtype=torch.float64, generator=gen).to(torch.complex128)
    lam, B = nodes, torch.ones(nodes.shape[0], 1, dtype=torch.complex128)
    x_u = scan.diagonal_rnn_scan(lam, B, u.reshape(1, L, 1))[0, -1]
    x_other = scan.diagonal_rnn_scan(lam, B, (u + z_time).reshape(1, L, 1))[0, -1]
    gap = float(torch.linalg.vector_norm(x_u - x_other) / (1 + torch.linalg.vector_norm(x_u)))
    recovered = torch.linalg.pinv(V) @ x_u
    loss = float(torch.linalg.vector_norm(recovered - u.flip(0)) / torch.linalg.vector_norm(u))
    evidence.figure(f"max state gap of two inputs differing by a unit kernel vector ({case})", gap, "1", keep="max")
    evidence.figure(f"min relative pseudo-inverse reconstruction error ({case})", loss, "1", keep="min")
    evidence.figure(f"max relative pseudo-inverse reconstruction error ({case})", loss, "1", keep="max")
    assert gap <= 1e-9, (f"{case}: {distinct} distinct nodes < L={L} steps, yet inputs differing by a kernel "
                         f"vector of V reach states {gap:.3g} apart")
    if case == "N < L" and 2 * distinct >= L:
        u_real = torch.randn(L, dtype=torch.float64, generator=gen)
        x_real = scan.diagonal_rnn_scan(lam, B, u_real.reshape(1, L, 1))[0, -1]
        stacked = torch.cat([V.real, V.imag])                     # the ℝ-linear map ℝ^L → ℝ^{2N}
        if torch.linalg.matrix_rank(stacked) == L:
            solved = torch.linalg.lstsq(stacked, torch.cat([x_real.real, x_real.imag]).unsqueeze(1)).solution
            real_err = float(torch.linalg.vector_norm(solved[:, 0] - u_real.flip(0)) / torch.linalg.vector_norm(u_real))
            evidence.figure("REAL inputs, N < L <= 2N non-real nodes: max relative error recovering u from "
                            "(Re x_L, Im x_L) (small = injective on real sequences)", real_err, "1", keep="max")
            evidence.figure("REAL inputs, N < L <= 2N: largest κ₂ of [Re V; Im V]",
                            float(torch.linalg.cond(stacked)), "1", keep="max")


# ------------------------------------------------------------- lru.ring_init_uniform

SAMPLES = 100_000
P_MIN = 1e-3                      # decision rule: every KS p-value above 1e-3, fixed seeds
RINGS = {"full disc": (0.0, 1.0, 2 * math.pi), "near circle": (0.9, 0.999, 2 * math.pi),
         "annulus, phase < π/10": (0.4, 0.99, math.pi / 10)}
# fixed seeds, a different stream per sampler so that the module's draw is a second, independent sample
SEEDS = {"lru_ring_init": 230306349, "module": 230711888}


def ring_samples(sampler: str, r_min: float, r_max: float, max_phase: float, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    if sampler == "lru_ring_init":
        return diag_model.lru_ring_init(SAMPLES, r_min, r_max, max_phase, generator=gen, dtype=torch.complex128)
    model = diag_model.DiagonalLinearRNN(SAMPLES, 1, r_min=r_min, r_max=r_max, max_phase=max_phase,
                                         dtype=torch.float64, generator=gen)
    return model.eigenvalues.detach()


@pytest.mark.claim("lru.ring_init_uniform")
@pytest.mark.parametrize("sampler", ["lru_ring_init", "module"])
@pytest.mark.parametrize("ring", list(RINGS))
def test_ring_init_is_uniform_on_the_annulus(ring, sampler, evidence):
    """KS tests (scipy.stats) of 100 000 eigenvalues: |λ|² against U[r_min², r_max²], arg λ against
    U[0, max_phase), and the phase below vs above the median modulus (independence)."""
    r_min, r_max, max_phase = RINGS[ring]
    lam = ring_samples(sampler, r_min, r_max, max_phase, seed=SEEDS[sampler] + list(RINGS).index(ring))
    modulus_sq = (lam.abs() ** 2).numpy()
    phase = (torch.angle(lam) % (2 * math.pi)).numpy()
    assert lam.abs().min() >= r_min - 1e-12 and lam.abs().max() <= r_max + 1e-12, (
        f"{sampler}: |λ| in [{float(lam.abs().min())}, {float(lam.abs().max())}], outside [{r_min}, {r_max}]")
    tests = {
        "|λ|² vs uniform": scipy.stats.kstest(modulus_sq, "uniform", args=(r_min ** 2, r_max ** 2 - r_min ** 2)),
        "phase vs uniform": scipy.stats.kstest(phase, "uniform", args=(0.0, max_phase)),
        "phase, small vs large |λ|": scipy.stats.ks_2samp(phase[modulus_sq < 0.5 * (r_min ** 2 + r_max ** 2)],
                                                          phase[modulus_sq >= 0.5 * (r_min ** 2 + r_max ** 2)]),
    }
    for name, result in tests.items():
        evidence.figure(f"KS statistic, {name} ({ring}, {sampler})", float(result.statistic), "1")
        evidence.figure(f"KS p-value, {name} ({ring}, {sampler})", float(result.pvalue), "1")
    failed = {name: f"D = {r.statistic:.4g}, p = {r.pvalue:.3g}" for name, r in tests.items() if r.pvalue <= P_MIN}
    assert not failed, (f"{sampler}, ring {ring} (r_min={r_min}, r_max={r_max}, max_phase={max_phase:.4g}), "
                        f"n={SAMPLES}: KS p-value <= {P_MIN}: {failed}")


@pytest.mark.claim("lru.ring_init_uniform")
@given(r_min=st.floats(0, 0.95), width=st.floats(0.01, 1.0), max_phase=st.floats(0.01, 2 * math.pi),
       n=st.integers(1, 40), seed=st.integers(0, 2 ** 31 - 1))
def test_ring_parametrisation_round_trip_and_normalisation(r_min, width, max_phase, n, seed, evidence):
    """The stored (ν_log, θ_log) give λ = exp(−exp(ν_log) + i exp(θ_log)) with r_min ≤ |λ| ≤ r_max and
    0 ≤ arg λ < max_phase (evaluated in mpmath); the module draws the same eigenvalues from the same
    seed, and its input normalisation is γ = √(1 − |λ|²), stored as log γ and applied to B."""
    r_max = min(1.0, r_min + width)
    assume(r_max > r_min)
    nu_log, theta_log = diag_model.lru_ring_parameters(n, r_min, r_max, max_phase,
                                                       generator=torch.Generator().manual_seed(seed))
    lam = diag_model.lru_ring_init(n, r_min, r_max, max_phase, generator=torch.Generator().manual_seed(seed),
                                   dtype=torch.complex128)
    model = diag_model.DiagonalLinearRNN(n, 2, r_min=r_min, r_max=r_max, max_phase=max_phase,
                                         dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    stored = {name: p.detach() for name, p in model.named_parameters()}
    with torch.no_grad():
        module_lam, module_B = model.eigenvalues, model.input_matrix
    worst = 0.0
    with mpmath.workdps(DIGITS):
        for k in range(n):
            want = mpmath.exp(-mpmath.exp(float(nu_log[k])) + 1j * mpmath.exp(float(theta_log[k])))
            modulus, arg = mpmath.fabs(want), mpmath.exp(float(theta_log[k]))
            assert r_min - 1e-12 <= modulus <= r_max + 1e-12, f"|λ_{k}| = {modulus} outside [{r_min}, {r_max}]"
            assert 0 <= arg < max_phase + 1e-12, f"arg λ_{k} = {arg} outside [0, {max_phase})"
            module_want = mpmath.exp(-mpmath.exp(float(stored["nu_log"][k])) +
                                     1j * mpmath.exp(float(stored["theta_log"][k])))
            log_gamma = mpmath.log(mpmath.sqrt(1 - mpmath.fabs(module_want) ** 2))     # γ = √(1 − |λ|²)
            B_k = torch.complex(stored["B_re"][k], stored["B_im"][k])
            errors = [abs(complex(lam[k]) - complex(want)),
                      abs(complex(module_lam[k]) - complex(want)),
                      abs(float(stored["gamma_log"][k]) - float(log_gamma)) / (1 + abs(float(log_gamma))),
                      float((module_B[k] - float(mpmath.exp(log_gamma)) * B_k).abs().max())]
            worst = max(worst, *errors)
            assert max(errors) <= TOL["rtol"], (
                f"λ_{k}: lru_ring_init {complex(lam[k])}, module {complex(module_lam[k])}, "
                f"exp(−exp(ν_log) + i exp(θ_log)) = {complex(want)}; γ errors {errors[2:]}")
    evidence.figure("max round-trip error of (ν_log, θ_log) → λ and of γ", worst, "1", keep="max")


# ------------------------------------------------------------- the LRU module as in the paper's code (no claim)

def lru_outputs_by_step_loop(model, u: torch.Tensor) -> torch.Tensor:
    """y_k = Re(C x_k) + D ⊙ u_k (D ⊙ u only when the module has D) by a plain Python loop over k
    and coordinates in complex128, from the stored parameters; shares no code with impl's paths."""
    stored = {name: p.detach().double() for name, p in model.named_parameters()}
    N, batch, T = model.state_dim, u.shape[0], u.shape[1]
    lam = torch.exp(-torch.exp(stored["nu_log"]) +
                    (1j * torch.exp(stored["theta_log"]) if "theta_log" in stored else 0))
    gamma = torch.exp(stored["gamma_log"])
    B = torch.complex(stored["B_re"], stored.get("B_im", torch.zeros_like(stored["B_re"])))
    C = torch.complex(stored["C_re"], stored.get("C_im", torch.zeros_like(stored["C_re"])))
    D = stored.get("D")
    y = torch.zeros(batch, T, C.shape[0], dtype=torch.float64)
    for b in range(batch):
        x = [0j] * N
        for k in range(T):
            u_k = u[b, k].double()
            x = [complex(lam[n]) * x[n] + complex(gamma[n]) * complex((B[n] * u_k).sum()) for n in range(N)]
            for o in range(C.shape[0]):
                y[b, k, o] = sum((complex(C[o, n]) * x[n] for n in range(N)), 0j).real
                if D is not None:
                    y[b, k, o] += float(D[o]) * float(u_k[o])
    return y


@given(is_complex=st.booleans(), N=st.integers(1, 5), m=st.integers(1, 3), extra_outputs=st.integers(-2, 2),
       T=st.integers(1, 6), seed=st.integers(0, 2 ** 31 - 1))
def test_module_output_is_re_cx_plus_d_u(is_complex, N, m, extra_outputs, T, seed):
    """The module's outputs vs the step loop above: Re(C x_k) + D ⊙ u_k when output_dim = input_dim
    (the paper's LRU), Re(C x_k) alone otherwise (no D ⊙ u between different spaces)."""
    p = max(1, m + extra_outputs)
    gen = torch.Generator().manual_seed(seed)
    model = diag_model.DiagonalLinearRNN(N, m, p, complex=is_complex, r_min=0.3, r_max=0.99,
                                         dtype=torch.float64, generator=gen)
    assert (model.D is not None) == (p == m), (
        f"input_dim={m}, output_dim={p}: skip term D is {'present' if model.D is not None else 'absent'}, "
        f"expected {'present' if p == m else 'absent'}")
    u = torch.randn(2, T, m, dtype=torch.float64, generator=gen)
    got = model(u).detach()
    want = lru_outputs_by_step_loop(model, u)
    err = relative_error(got, want)
    assert err <= TOL["rtol"], (f"N={N}, m={m}, p={p}, complex={is_complex}: module output {got.tolist()} but "
                                f"Re(C x_k) + D ⊙ u_k = {want.tolist()} (relative error {err:.3g})")


def test_module_skip_switch_and_no_readout():
    """skip=False drops D (y = Re(C x)); without a readout the module returns the states and has no D."""
    gen = torch.Generator().manual_seed(7)
    model = diag_model.DiagonalLinearRNN(3, 2, 2, dtype=torch.float64, generator=gen, skip=False)
    u = torch.randn(1, 4, 2, dtype=torch.float64, generator=gen)
    assert model.D is None
    torch.testing.assert_close(model(u).detach(), lru_outputs_by_step_loop(model, u), rtol=1e-12, atol=1e-12)
    bare = diag_model.DiagonalLinearRNN(3, 2, None, dtype=torch.float64, generator=gen)
    assert bare.D is None and bare.C_re is None
    torch.testing.assert_close(bare(u), bare.states(u))


# one large draw per model kind, fixed seeds; each standard deviation within 5 standard errors
# (the sample sd of n normals has relative standard error 1/√(2n)), each mean within 5 σ/√n
INIT_SEEDS = {True: 230306349, False: 230306350}
INIT_N, INIT_M = 64, 4096          # B, C: 262 144 entries per part; D: 4096 entries


@pytest.mark.parametrize("is_complex", [True, False], ids=["complex", "real"])
def test_module_initial_scales_are_the_papers(is_complex):
    """B_re, B_im ~ N(0, 1/(2m)) (real model: B ~ N(0, 1/m)), C_re, C_im ~ N(0, 1/N), D ~ N(0, 1)."""
    model = diag_model.DiagonalLinearRNN(INIT_N, INIT_M, INIT_M, complex=is_complex, dtype=torch.float64,
                                         generator=torch.Generator().manual_seed(INIT_SEEDS[is_complex]))
    B_var = 1 / (2 * INIT_M) if is_complex else 1 / INIT_M
    expected = {"B_re": B_var, "C_re": 1 / INIT_N, "D": 1.0}
    if is_complex:
        expected |= {"B_im": B_var, "C_im": 1 / INIT_N}
    stored = dict(model.named_parameters())
    assert {name for name in stored if name in ("B_re", "B_im", "C_re", "C_im", "D")} == set(expected), (
        f"parameters {sorted(stored)}")
    wrong = {}
    for name, variance in expected.items():
        values = stored[name].detach().flatten()
        n, sd = values.numel(), variance ** 0.5
        sample_sd, sample_mean = float(values.std()), float(values.mean())
        if abs(sample_sd / sd - 1) > 5 / (2 * n) ** 0.5 or abs(sample_mean) > 5 * sd / n ** 0.5:
            wrong[name] = (f"sd {sample_sd:.5g} (expected {sd:.5g} ± {5 * sd / (2 * n) ** 0.5:.2g}), "
                           f"mean {sample_mean:.3g} (expected 0 ± {5 * sd / n ** 0.5:.2g}), n={n}")
    assert not wrong, f"complex={is_complex}: initial values off the paper's: {wrong}"
