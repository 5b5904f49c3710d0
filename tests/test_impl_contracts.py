"""Every documented initialisation and every input contract of impl/'s models, pinned.

Initialisations (docstrings and comments of impl/) are checked exactly where they are exact
(orthogonal × gain: every singular value equals the gain; zero biases; D = 1) and statistically
otherwise, on one large draw from a fixed seed with a stated tolerance:
- a Gaussian of standard deviation σ: sample sd within 5 standard errors (relative standard
  error 1/√(2n)) and sample mean within 5 σ/√n;
- Xavier-uniform of bound a = gain·√(6/(fan_in + fan_out)): every entry within ±a, the largest
  above 0.95 a, and the sample sd within 5/√(2n) relative of a/√3 (the normal's standard error
  is larger than the uniform's, so this is conservative);
- uniform / log-uniform draws: Kolmogorov–Smirnov p-value above 1e-3 (scipy).
The linear RNN's spectral radius at initialisation is documented as "≈ 0.9" (circular law):
at n = 400 the largest |eigenvalue| of an n × n Gaussian matrix sits a few per cent above the
limit (measured mean 0.93 over 8 draws, dense and rank 200), so the rule is: mean over 8 seeds
in [0.88, 0.97] and every draw below 1.

Each input contract is one `pytest.raises(ValueError, match=<the exact message>)`: the message
names the function or class and the argument. The LRU's B, C, D scales and its D ⊙ u readout are
pinned in property_tests/test_lru.py, its ring initialisation there too. Modules are looked up at
call time, so tests/test_negative_control_impl_contracts.py can plant bugs by monkeypatching.
"""

from __future__ import annotations

import math
import re

import pytest
import scipy.stats
import torch
import torch.nn.functional as F

import impl.diagonal_rnn.model as diag_model
import impl.elman.models as elman
import impl.flow.factorized as flow
import impl.linear_rnn.chunked as linear_chunked
import impl.linear_rnn.model as linear_model
import impl.linear_rnn.naive as linear_naive
import impl.linear_rnn.scan as linear_scan
import impl.polynomial_rnn as poly
import impl.scan.affine as affine
import impl.ssm.model as ssm_model
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)

F64 = torch.float64
KS_P_MIN = 1e-3


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def scale_errors(values: torch.Tensor, sd: float, what: str) -> list[str]:
    """Empty if `values` look like N(0, sd²) by the module docstring's rule, else what is off."""
    values = values.detach().double().flatten()
    n = values.numel()
    got_sd, got_mean = float(values.std()), float(values.mean())
    errors = []
    if abs(got_sd / sd - 1) > 5 / math.sqrt(2 * n):
        errors.append(f"{what}: sd {got_sd:.5g}, expected {sd:.5g} (± {5 * sd / math.sqrt(2 * n):.2g}, n={n})")
    if abs(got_mean) > 5 * sd / math.sqrt(n):
        errors.append(f"{what}: mean {got_mean:.3g}, expected 0 (± {5 * sd / math.sqrt(n):.2g}, n={n})")
    return errors


def xavier_errors(W: torch.Tensor, gain: float, what: str) -> list[str]:
    """Empty if W looks Xavier-uniform with this gain by the module docstring's rule."""
    W = W.detach().double()
    fan_out, fan_in = W.shape
    bound = gain * math.sqrt(6 / (fan_in + fan_out))
    largest, n = float(W.abs().max()), W.numel()
    errors = []
    if largest > bound * (1 + 1e-12) or largest < 0.95 * bound:
        errors.append(f"{what}: largest abs entry {largest:.5g}, expected just below the bound {bound:.5g}")
    sd = bound / math.sqrt(3)
    if abs(float(W.std()) / sd - 1) > 5 / math.sqrt(2 * n):
        errors.append(f"{what}: sd {float(W.std()):.5g}, expected {sd:.5g} (Xavier-uniform, gain {gain})")
    return errors


def singular_value_errors(W: torch.Tensor, value: float, what: str, count: int | None = None) -> list[str]:
    """Empty if the first `count` (default all) singular values of W equal `value` to 1e-10."""
    s = torch.linalg.svdvals(W.detach().double())[:count]
    if float((s - value).abs().max()) > 1e-10:
        return [f"{what}: singular values in [{float(s.min()):.6g}, {float(s.max()):.6g}], expected all {value}"]
    return []


# ===================================================================== initialisations

# ---------------------------------------------------------------- linear RNN (impl/linear_rnn/model.py)

RADIUS_N, RADIUS_SEEDS, RADIUS_RANGE = 400, range(8), (0.88, 0.97)


def linear(n: int, m: int, p: int | None = None, *, rank: int | None = None, seed: int = 0):
    return linear_model.LinearRNN(n, m, p, rank=rank, dtype=F64, generator=gen(seed))


@pytest.mark.parametrize("rank", [None, RADIUS_N // 2], ids=["dense", "low-rank"])
def test_linear_rnn_spectral_radius_at_init_is_about_0_9(rank):
    radii = [float(torch.linalg.eigvals(linear(RADIUS_N, 2, rank=rank, seed=s).transition.detach()).abs().max())
             for s in RADIUS_SEEDS]
    mean = sum(radii) / len(radii)
    low, high = RADIUS_RANGE
    assert low <= mean <= high and max(radii) < 1, (
        f"LinearRNN(n={RADIUS_N}, rank={rank}): spectral radii at init {[round(r, 4) for r in radii]}, "
        f"mean {mean:.4f}; expected a mean in [{low}, {high}] (≈ 0.9 plus the finite-n edge) and all < 1")


def test_linear_rnn_initial_entry_scales():
    n, m, p, r = 512, 256, 384, 128
    dense, low = linear(n, m, p, seed=11), linear(n, 4, rank=r, seed=12)
    factor = (0.9 / math.sqrt(r * n)) ** 0.5
    errors = (scale_errors(dense.A, 0.9 / math.sqrt(n), "A (dense)") + scale_errors(dense.B, 1 / math.sqrt(m), "B")
              + scale_errors(dense.C, 1 / math.sqrt(n), "C") + scale_errors(low.U, factor, "U (rank 128)")
              + scale_errors(low.V, factor, "V (rank 128)"))
    assert not errors, f"LinearRNN initial scales: {errors}"


@pytest.mark.parametrize("rank", [0, 1, 7, 40])
def test_linear_rnn_low_rank_transition_has_rank_at_most_r(rank):
    model = linear(40, 2, rank=rank, seed=rank)
    got = int(torch.linalg.matrix_rank(model.transition.detach()))
    assert got == rank and tuple(model.U.shape) == (40, rank) and tuple(model.V.shape) == (rank, 40), (
        f"LinearRNN(40, rank={rank}): rank of U V is {got}, U {tuple(model.U.shape)}, V {tuple(model.V.shape)}")


def test_linear_rnn_generator_fixes_the_draw():
    a, b = linear(6, 3, 2, seed=5), linear(6, 3, 2, seed=5)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


# ---------------------------------------------------------------- Elman family (impl/elman/models.py)

def test_stock_and_residual_elman_init():
    """StockElman: W_x Xavier-uniform, W_h orthogonal × recurrent_gain (0.9 by default), b = 0;
    ResidualElman: gain 0.5 by default, so ‖I + diag(tanh'(z)) W_h‖₂ ≤ 1.5 at init."""
    errors = []
    stock = elman.StockElman(256, 384, dtype=F64, generator=gen(1))
    errors += xavier_errors(stock.W_x, 1.0, "StockElman W_x")
    errors += singular_value_errors(stock.W_h, 0.9, "StockElman W_h (default gain 0.9)")
    errors += singular_value_errors(elman.StockElman(8, 32, recurrent_gain=0.3, dtype=F64, generator=gen(2)).W_h,
                                    0.3, "StockElman W_h (gain 0.3)")
    residual = elman.ResidualElman(16, 64, dtype=F64, generator=gen(3))
    errors += singular_value_errors(residual.W_h, 0.5, "ResidualElman W_h (default gain 0.5)")
    for layer in (stock, residual):
        if torch.count_nonzero(layer.b):
            errors.append(f"{type(layer).__name__} b is not 0 at init")
    g = gen(4)
    h, x = torch.randn(32, 64, dtype=F64, generator=g), torch.randn(32, 16, dtype=F64, generator=g)
    jacobian_norm = float(torch.linalg.matrix_norm(residual.step_jacobian(h, x).detach(), ord=2).max())
    if jacobian_norm > 1.5 + 1e-12:
        errors.append(f"ResidualElman step Jacobian norm {jacobian_norm:.6g} > 1.5 at init")
    assert not errors, errors


@pytest.mark.parametrize("kind", ["E1Layer", "XGatedElman"])
def test_spectrally_normalised_elman_init(kind):
    """in_proj, out_proj, W_x (and X-gated's W_gate) Xavier-uniform; W_h Xavier-uniform × recurrent_gain
    (E1 0.1, X-gated 1.0); biases 0; normalised W_h of norm ≥ 0.99, a little above at construction."""
    dim, expansion, gain = 128, 1.5, {"E1Layer": 0.1, "XGatedElman": 1.0}[kind]
    layer = getattr(elman, kind)(dim, expansion, dtype=F64, generator=gen(6)).eval()
    d = layer.d_inner
    errors = (xavier_errors(layer.in_proj.weight, 1.0, f"{kind} in_proj") + xavier_errors(layer.W_x, 1.0, f"{kind} W_x")
              + xavier_errors(layer.W_h, gain, f"{kind} W_h (gain {gain})")
              + xavier_errors(layer.out_proj.weight, 1.0, f"{kind} out_proj"))
    expected_in = (2 * d, dim) if kind == "E1Layer" else (d, dim)
    if tuple(layer.in_proj.weight.shape) != expected_in:
        errors.append(f"{kind} in_proj weight {tuple(layer.in_proj.weight.shape)}, expected {expected_in}")
    biases = [layer.b] + ([layer.b_gate] if kind == "XGatedElman" else [])
    if kind == "XGatedElman":
        errors += xavier_errors(layer.W_gate, 1.0, f"{kind} W_gate")
    if any(torch.count_nonzero(b) for b in biases):
        errors.append(f"{kind}: a bias is not 0 at init")
    norm = float(torch.linalg.matrix_norm(layer.recurrent_matrix().detach(), ord=2))
    if not elman.SPECTRAL_TARGET - 1e-9 <= norm <= 1.1:
        errors.append(f"{kind}: normalised W_h has norm {norm:.6g} at construction, expected in [0.99, 1.1]")
    assert not errors, errors


def test_e5_init_is_orthogonal_times_half():
    """Every U and V orthogonal × 0.5, so each U V has its rank's singular values all 0.25; b = 0;
    num_parameters = 6·dim·rank + dim."""
    dim, rank = 48, 12
    layer = elman.E5Layer(dim, rank, dtype=F64, generator=gen(7))
    errors = []
    for name in ("h", "x", "z"):
        U, V = getattr(layer, f"U_{name}"), getattr(layer, f"V_{name}")
        errors += singular_value_errors(U, 0.5, f"U_{name}") + singular_value_errors(V, 0.5, f"V_{name}")
        errors += singular_value_errors(U @ V, 0.25, f"U_{name} V_{name}", count=rank)
    if torch.count_nonzero(layer.b):
        errors.append("E5Layer b is not 0 at init")
    if elman.num_parameters(layer) != 6 * dim * rank + dim:
        errors.append(f"num_parameters {elman.num_parameters(layer)} != 6·dim·rank + dim = {6 * dim * rank + dim}")
    assert not errors, errors


@pytest.mark.parametrize("kind", ["StockElman", "E1Layer", "E5Layer", "XGatedElman"])
def test_elman_draws_do_not_depend_on_dtype(kind):
    """Initial values are drawn in float64 from the generator and then cast."""
    args = (8, 12) if kind == "StockElman" else (8, 3) if kind == "E5Layer" else (8, 1.5)
    build = lambda dtype: getattr(elman, kind)(*args, dtype=dtype, generator=gen(9))  # noqa: E731
    wide, narrow = build(F64), build(torch.float32)
    for (name, a), (_, b) in zip(wide.named_parameters(), narrow.named_parameters(), strict=True):
        assert torch.equal(a.detach().float(), b.detach()), f"{kind}.{name}: float32 draw differs from float64's"


def test_elman_meta_device_draws_nothing_and_counts_parameters():
    dim, d_in = 512, 768
    layer = elman.E1Layer(dim, 1.5, device="meta")
    assert elman.num_parameters(layer) == 2 * d_in * dim + 2 * d_in * d_in + d_in + dim * d_in
    assert layer.W_h.device.type == "meta"


# ---------------------------------------------------------------- Mamba2 (impl/ssm/model.py)

def test_mamba2_init():
    """Δ = softplus(dt_bias) log-uniform in [dt_min, dt_max]; −A = exp(A_log) uniform on [1, 16];
    D = 1; norm weight 1; conv weight and bias uniform in ±1/√d_conv."""
    dt_min, dt_max, d_conv = 1e-3, 0.1, 4
    with torch.random.fork_rng():
        torch.manual_seed(20260312)
        layer = ssm_model.Mamba2Layer(1024, d_state=1, expand=2, headdim=1, d_conv=d_conv, dtype=F64,
                                      dt_min=dt_min, dt_max=dt_max)
    errors = []
    dt = F.softplus(layer.dt_bias.detach())
    if float(dt.min()) < dt_min * (1 - 1e-9) or float(dt.max()) > dt_max * (1 + 1e-9):
        errors.append(f"Δ at init in [{float(dt.min()):.6g}, {float(dt.max()):.6g}], outside [{dt_min}, {dt_max}]")
    log_dt = scipy.stats.kstest(torch.log(dt).numpy(), "uniform",
                                args=(math.log(dt_min), math.log(dt_max) - math.log(dt_min)))
    minus_A = torch.exp(layer.A_log.detach())
    a_law = scipy.stats.kstest(minus_A.numpy(), "uniform", args=(1.0, 15.0))
    laws = {"log Δ vs uniform on [log dt_min, log dt_max]": log_dt, "−A vs uniform on [1, 16]": a_law}
    for what, result in laws.items():
        if result.pvalue <= KS_P_MIN:
            errors.append(f"{what}: KS D = {result.statistic:.4g}, p = {result.pvalue:.3g} over {layer.nheads} heads")
    if float(minus_A.min()) < 1 - 1e-12 or float(minus_A.max()) > 16 + 1e-12:
        errors.append(f"−A in [{float(minus_A.min())}, {float(minus_A.max())}], outside [1, 16]")
    for name in ("D", "norm_weight"):
        if not torch.equal(getattr(layer, name).detach(), torch.ones_like(getattr(layer, name))):
            errors.append(f"{name} is not all ones at init")
    bound = 1 / math.sqrt(d_conv)
    for name in ("conv_weight", "conv_bias"):
        values = getattr(layer, name).detach().flatten()
        law = scipy.stats.kstest(values.numpy(), "uniform", args=(-bound, 2 * bound))
        if float(values.abs().max()) > bound or law.pvalue <= KS_P_MIN:
            errors.append(f"{name}: largest abs {float(values.abs().max()):.4g} (bound {bound}), KS p {law.pvalue:.3g}")
    assert not errors, errors


# ===================================================================== input contracts

def diagonal(*args, **kw):
    return diag_model.DiagonalLinearRNN(*args, **kw)


def z(*shape, dtype=torch.float32):
    return torch.zeros(*shape, dtype=dtype)


def mamba(**kw):
    return ssm_model.Mamba2Layer(8, **{"d_state": 2, "expand": 2, "headdim": 4, "d_conv": 3, **kw})


# case: (a call that must raise, the exact message)
CONTRACTS = {
    # ---- impl/linear_rnn
    "LinearRNN state_dim 0": (lambda: linear_model.LinearRNN(0, 2),
                              "LinearRNN: state_dim, input_dim (and output_dim) must be >= 1, got 0, 2, None"),
    "LinearRNN input_dim 0": (lambda: linear_model.LinearRNN(3, 0),
                              "LinearRNN: state_dim, input_dim (and output_dim) must be >= 1, got 3, 0, None"),
    "LinearRNN output_dim 0": (lambda: linear_model.LinearRNN(3, 2, 0),
                               "LinearRNN: state_dim, input_dim (and output_dim) must be >= 1, got 3, 2, 0"),
    "LinearRNN rank -1": (lambda: linear_model.LinearRNN(3, 2, rank=-1),
                          "LinearRNN: rank must be in [0, state_dim=3], got -1"),
    "LinearRNN rank > state_dim": (lambda: linear_model.LinearRNN(3, 2, rank=4),
                                   "LinearRNN: rank must be in [0, state_dim=3], got 4"),
    "LinearRNN path": (lambda: linear_model.LinearRNN(3, 2, path="fast"),
                       "LinearRNN: path must be one of ['auto', 'chunked', 'reference', 'scan'], got 'fast'"),
    "LinearRNN integer dtype": (lambda: linear_model.LinearRNN(3, 2, dtype=torch.int64),
                                "LinearRNN: dtype must be a real floating torch.dtype, got torch.int64"),
    "LinearRNN x 2-D": (lambda: linear_model.LinearRNN(3, 2)(z(4, 2)),
                        "LinearRNN: x must be (batch, T, 2), got (4, 2)"),
    "LinearRNN x width": (lambda: linear_model.LinearRNN(3, 2)(z(1, 4, 3)),
                          "LinearRNN: x must be (batch, T, 2), got (1, 4, 3)"),
    "LinearRNN x dtype": (lambda: linear_model.LinearRNN(3, 2)(z(1, 4, 2, dtype=F64)),
                          "LinearRNN: x has dtype torch.float64, the parameters torch.float32"),
    "LinearRNN h0 shape": (lambda: linear_model.LinearRNN(3, 2)(z(1, 4, 2), z(1, 4)),
                           "LinearRNN: h0 must be (1, 3), got (1, 4)"),
    **{f"{fn} {what}": (lambda module=module, fn=fn, args=args: getattr(module, fn)(*args), f"{fn}: {message}")
       for module, fn in ((linear_naive, "linear_rnn_reference"), (linear_scan, "linear_rnn_scan"),
                          (linear_chunked, "linear_rnn_chunked"))
       for what, args, message in (
           ("A not square", (z(3, 2), z(3, 2), z(1, 4, 2)), "A must be (n, n), got shape (3, 2)"),
           ("B rows", (z(3, 3), z(2, 2), z(1, 4, 2)), "B must be (3, m) to match A, got shape (2, 2)"),
           ("x width", (z(3, 3), z(3, 2), z(1, 4, 5)), "x must be (batch, T, 2), got shape (1, 4, 5)"),
           ("h0 shape", (z(3, 3), z(3, 2), z(2, 4, 2), z(1, 3)), "h0 must be (2, 3), got shape (1, 3)"))},
    # ---- impl/diagonal_rnn/model.py
    "DiagonalLinearRNN state_dim 0": (lambda: diagonal(0, 2), "DiagonalLinearRNN: state_dim, input_dim (and "
                                      "output_dim) must be >= 1, got 0, 2, None"),
    "DiagonalLinearRNN output_dim 0": (lambda: diagonal(3, 2, 0), "DiagonalLinearRNN: state_dim, input_dim (and "
                                       "output_dim) must be >= 1, got 3, 2, 0"),
    "DiagonalLinearRNN r_min < 0": (lambda: diagonal(3, 2, r_min=-0.1),
                                    "DiagonalLinearRNN: need 0 <= r_min < r_max <= 1, got r_min=-0.1, r_max=1.0"),
    "DiagonalLinearRNN r_max > 1": (lambda: diagonal(3, 2, r_max=1.5),
                                    "DiagonalLinearRNN: need 0 <= r_min < r_max <= 1, got r_min=0.0, r_max=1.5"),
    "DiagonalLinearRNN r_min = r_max": (lambda: diagonal(3, 2, r_min=0.5, r_max=0.5),
                                        "DiagonalLinearRNN: need 0 <= r_min < r_max <= 1, got r_min=0.5, r_max=0.5"),
    "DiagonalLinearRNN max_phase 0": (lambda: diagonal(3, 2, max_phase=0.0),
                                      "DiagonalLinearRNN: max_phase must be > 0, got 0.0"),
    "DiagonalLinearRNN integer dtype": (lambda: diagonal(3, 2, dtype=torch.int32),
                                        "DiagonalLinearRNN: dtype must be a real floating dtype (complex quantities "
                                        "are stored as two real parameters), got torch.int32"),
    "DiagonalLinearRNN complex float16": (lambda: diagonal(3, 2, dtype=torch.float16),
                                          "DiagonalLinearRNN: a complex model needs dtype float32 or float64 (torch "
                                          "has no complex float16), got torch.float16"),
    "DiagonalLinearRNN path": (lambda: diagonal(3, 2, path="fast"), "DiagonalLinearRNN: path must be one of "
                               "('auto', 'chunked', 'compiled', 'triton', 'reference'), got 'fast'"),
    "DiagonalLinearRNN skip with p != m": (lambda: diagonal(3, 2, 3, skip=True),
                                           "DiagonalLinearRNN: skip=True (y += D ⊙ u) needs output_dim == "
                                           "input_dim, got input_dim=2, output_dim=3"),
    "DiagonalLinearRNN skip without readout": (lambda: diagonal(3, 2, skip=True), "DiagonalLinearRNN: skip=True "
                                               "(y += D ⊙ u) needs output_dim == input_dim, got input_dim=2, "
                                               "output_dim=None"),
    "DiagonalLinearRNN u 2-D": (lambda: diagonal(3, 2)(z(4, 2)),
                                "DiagonalLinearRNN: u must be (batch, T, 2), got shape (4, 2)"),
    "DiagonalLinearRNN u complex": (lambda: diagonal(3, 2)(z(1, 4, 2, dtype=torch.complex64)),
                                    "DiagonalLinearRNN: u must be real floating point, got torch.complex64 of "
                                    "shape (1, 4, 2)"),
    "DiagonalLinearRNN u integer": (lambda: diagonal(3, 2)(z(1, 4, 2, dtype=torch.int64)),
                                    "DiagonalLinearRNN: u must be real floating point, got torch.int64 of "
                                    "shape (1, 4, 2)"),
    "DiagonalLinearRNN h0 shape": (lambda: diagonal(3, 2)(z(1, 4, 2), z(1, 2, dtype=torch.complex64)),
                                   "DiagonalLinearRNN: h0 must be (1, 3), got shape (1, 2)"),
    "lru_ring_parameters n < 0": (lambda: diag_model.lru_ring_parameters(-1),
                                  "lru_ring_parameters: n must be >= 0, got -1"),
    "lru_ring_init r_max > 1": (lambda: diag_model.lru_ring_init(4, 0.0, 2.0),
                                "lru_ring_parameters: need 0 <= r_min < r_max <= 1, got r_min=0.0, r_max=2.0"),
    "lru_ring_parameters max_phase < 0": (lambda: diag_model.lru_ring_parameters(4, max_phase=-1.0),
                                          "lru_ring_parameters: max_phase must be > 0, got -1.0"),
    "vandermonde_matrix nodes 2-D": (lambda: diag_model.vandermonde_matrix(z(2, 2), 3),
                                     "vandermonde_matrix: nodes must be (N,), got shape (2, 2)"),
    "vandermonde_matrix columns < 0": (lambda: diag_model.vandermonde_matrix(z(2), -1),
                                       "vandermonde_matrix: columns must be >= 0, got -1"),
    # ---- impl/polynomial_rnn.py (the Lean theorem's α > 0)
    "polynomial_step alpha 0": (lambda: poly.polynomial_step(z(1, 2), z(1, 2), 1.0, 0.0),
                                "polynomial RNN: alpha must be > 0, got 0.0"),
    "polynomial_step alpha < 0": (lambda: poly.polynomial_step(z(1, 2), z(1, 2), 1.0, -0.5),
                                  "polynomial RNN: alpha must be > 0, got -0.5"),
    "polynomial_step alpha nan": (lambda: poly.polynomial_step(z(1, 2), z(1, 2), 1.0, math.nan),
                                  "polynomial RNN: alpha must be > 0, got nan"),
    "polynomial_rnn_reference alpha 0": (lambda: poly.polynomial_rnn_reference(1.0, z(1, 3, 2), 0.0),
                                         "polynomial RNN: alpha must be > 0, got 0.0"),
    "polynomial_rnn_reference alpha 0, empty sequence": (lambda: poly.polynomial_rnn_reference(1.0, z(1, 0, 2), 0),
                                                         "polynomial RNN: alpha must be > 0, got 0"),
    "polynomial w 3-D": (lambda: poly.polynomial_step(z(1, 2), z(1, 2), z(2, 2, 2), 2.0),
                         "polynomial RNN: w must be a scalar, (n,) or (n, n), got shape (2, 2, 2)"),
    "polynomial w vector size": (lambda: poly.polynomial_step(z(1, 2), z(1, 2), z(3), 2.0),
                                 "polynomial RNN: w of shape (3,) does not fit states of size 2"),
    "polynomial w matrix rows": (lambda: poly.polynomial_step(z(1, 2), z(1, 2), z(3, 2), 2.0),
                                 "polynomial RNN: w of shape (3, 2) does not fit states of size 2"),
    "polynomial w, empty sequence": (lambda: poly.polynomial_rnn_reference(z(3), z(1, 0, 2), 2.0),
                                     "polynomial RNN: w of shape (3,) does not fit states of size 2"),
    "polynomial h vs x_t": (lambda: poly.polynomial_step(z(1, 3), z(1, 2), 1.0, 2.0),
                            "polynomial RNN: h (1, 3) and x_t (1, 2) differ in size"),
    "polynomial x 2-D": (lambda: poly.polynomial_rnn_reference(1.0, z(4, 2), 2.0),
                         "polynomial RNN: x must be (batch, T, n), got (4, 2)"),
    "polynomial h0 shape": (lambda: poly.polynomial_rnn_reference(1.0, z(1, 4, 2), 2.0, z(1, 3)),
                            "polynomial RNN: h0 must be (1, 2), got (1, 3)"),
    # ---- impl/elman/models.py
    "StockElman input_dim 0": (lambda: elman.StockElman(0, 3),
                               "StockElman: input_dim and state_size must be >= 1, got 0, 3"),
    "StockElman state_size 0": (lambda: elman.StockElman(2, 0),
                                "StockElman: input_dim and state_size must be >= 1, got 2, 0"),
    "StockElman path": (lambda: elman.StockElman(2, 3, path="scan"),
                        "StockElman: path must be one of ('auto', 'fused', 'reference'), got 'scan'"),
    "StockElman integer dtype": (lambda: elman.StockElman(2, 3, dtype=torch.int64),
                                 "StockElman: dtype must be a floating torch.dtype, got torch.int64"),
    "StockElman x 2-D": (lambda: elman.StockElman(2, 3)(z(4, 2)), "StockElman: x must be (batch, T, 2), got (4, 2)"),
    "StockElman x dtype": (lambda: elman.StockElman(2, 3)(z(1, 4, 2, dtype=F64)),
                           "StockElman: x has dtype torch.float64, the parameters torch.float32"),
    "StockElman h0 shape": (lambda: elman.StockElman(2, 3)(z(1, 4, 2), z(1, 2)),
                            "StockElman: h0 must be (1, 3) for x of shape (1, 4, 2), got (1, 2)"),
    "StockElman step h": (lambda: elman.StockElman(2, 3).step(z(2), z(2)), "StockElman: h must be (..., 3), got (2,)"),
    "StockElman step x_t": (lambda: elman.StockElman(2, 3).step(z(3), z(3)),
                            "StockElman: x_t must be (..., 2), got (3,)"),
    "StockElman step broadcast": (lambda: elman.StockElman(2, 3).step(z(2, 3), z(3, 2)),
                                  "StockElman: leading dimensions of h (2, 3) and x_t (3, 2) do not broadcast"),
    "StockElman step_jacobian h": (lambda: elman.StockElman(2, 3).step_jacobian(z(4), z(2)),
                                   "StockElman: h must be (..., 3), got (4,)"),
    "ResidualElman step h": (lambda: elman.ResidualElman(2, 3).step(z(2), z(2)),
                             "ResidualElman: h must be (..., 3), got (2,)"),
    "ResidualElman x 2-D": (lambda: elman.ResidualElman(2, 3)(z(4, 2)),
                            "ResidualElman: x must be (batch, T, 2), got (4, 2)"),
    "E1Layer d_inner 0": (lambda: elman.E1Layer(1, 0.5),
                          "E1Layer: int(dim · expansion) must be >= 1, got dim=1, expansion=0.5"),
    "E1Layer path": (lambda: elman.E1Layer(4, path="scan"),
                     "E1Layer: path must be one of ('auto', 'fused', 'reference'), got 'scan'"),
    "E1Layer x width": (lambda: elman.E1Layer(4)(z(1, 3, 6)), "E1Layer: x must be (batch, T, 4), got (1, 3, 6)"),
    "E1Layer h0 shape": (lambda: elman.E1Layer(4)(z(1, 3, 4), z(1, 4)),
                         "E1Layer: h0 must be (1, 6) for x of shape (1, 3, 4), got (1, 4)"),
    "E5Layer rank 0": (lambda: elman.E5Layer(4, 0), "E5Layer: rank must be in [1, dim=4], got 0"),
    "E5Layer rank > dim": (lambda: elman.E5Layer(4, 5), "E5Layer: rank must be in [1, dim=4], got 5"),
    "E5Layer x dtype": (lambda: elman.E5Layer(4, 2)(z(1, 3, 4, dtype=F64)),
                        "E5Layer: x has dtype torch.float64, the parameters torch.float32"),
    "XGatedElman d_inner 0": (lambda: elman.XGatedElman(1, 0.5),
                              "XGatedElman: int(dim · expansion) must be >= 1, got dim=1, expansion=0.5"),
    "XGatedElman x 2-D": (lambda: elman.XGatedElman(4)(z(3, 4)), "XGatedElman: x must be (batch, T, 4), got (3, 4)"),
    "XGatedElman step x_t": (lambda: elman.XGatedElman(4).step(z(4), z(5)),
                             "XGatedElman: x_t must be (..., 4), got (5,)"),
    # ---- impl/ssm/model.py
    **{f"Mamba2Layer {name} 0": (lambda name=name: mamba(**{name: 0}), f"Mamba2Layer: {name} must be >= 1, got 0")
       for name in ("d_state", "expand", "headdim", "d_conv", "chunk_size")},
    "Mamba2Layer dim 0": (lambda: ssm_model.Mamba2Layer(0), "Mamba2Layer: dim must be >= 1, got 0"),
    "Mamba2Layer headdim": (lambda: mamba(headdim=5),
                            "Mamba2Layer: expand·dim = 16 must be a multiple of headdim = 5"),
    "Mamba2Layer path": (lambda: mamba(path="scan"),
                         "Mamba2Layer: path must be one of ('auto', 'chunked', 'reference'), got 'scan'"),
    "Mamba2Layer dt_min 0": (lambda: mamba(dt_min=0.0), "Mamba2Layer: need 0 < dt_min <= dt_max, got 0.0, 0.1"),
    "Mamba2Layer dt_min > dt_max": (lambda: mamba(dt_min=0.2),
                                    "Mamba2Layer: need 0 < dt_min <= dt_max, got 0.2, 0.1"),
    "Mamba2Layer integer dtype": (lambda: mamba(dtype=torch.int64),
                                  "Mamba2Layer: dtype must be a real floating torch.dtype, got torch.int64"),
    "Mamba2Layer u 2-D": (lambda: mamba()(z(4, 8)), "Mamba2Layer: u must be (batch, T, 8), got (4, 8)"),
    "Mamba2Layer u dtype": (lambda: mamba()(z(1, 4, 8, dtype=F64)),
                            "Mamba2Layer: u has dtype torch.float64, the parameters torch.float32"),
    "Mamba2Layer ssm_state shape": (lambda: mamba()(z(1, 4, 8), z(1, 4, 4, 3)),
                                    "Mamba2Layer: ssm_state must be (1, 4, 4, 2), got (1, 4, 4, 3)"),
    "Mamba2Layer conv_state shape": (lambda: mamba()(z(1, 4, 8), None, z(1, 20, 3)),
                                     "Mamba2Layer: conv_state must be (1, 20, 2), got (1, 20, 3)"),
    "Mamba2Layer step u_t": (lambda: mamba().step(z(1, 1, 8), *mamba().initial_state(1)),
                             "Mamba2Layer.step: u_t must be (batch, 8), got (1, 1, 8)"),
    "Mamba2Layer step u_t dtype": (lambda: mamba().step(z(1, 8, dtype=F64), *mamba().initial_state(1)),
                                   "Mamba2Layer: u_t has dtype torch.float64, the parameters torch.float32"),
    # ---- impl/flow/factorized.py
    "flow loss shapes": (lambda: flow.loss(z(2, 3), z(4, 2), z(2, 2)),
                         "factorised model: W (2, 3) · U (4, 2) must be defined and match the target A* (2, 2)"),
    "flow target shape": (lambda: flow.factor_gradients(z(2, 3), z(3, 2), z(3, 3)),
                          "factorised model: W (2, 3) · U (3, 2) must be defined and match the target A* (3, 3)"),
    "gradient_descent lr 0": (lambda: flow.gradient_descent(z(2, 2), z(2, 2), z(2, 2), 0.0, 1),
                              "gradient_descent: needs lr > 0, steps >= 0, record_every >= 1; got lr=0.0, steps=1, "
                              "record_every=1"),
    "gradient_descent steps < 0": (lambda: flow.gradient_descent(z(2, 2), z(2, 2), z(2, 2), 0.1, -1),
                                   "gradient_descent: needs lr > 0, steps >= 0, record_every >= 1; got lr=0.1, "
                                   "steps=-1, record_every=1"),
    "gradient_descent record_every 0": (lambda: flow.gradient_descent(z(2, 2), z(2, 2), z(2, 2), 0.1, 1,
                                                                      record_every=0),
                                        "gradient_descent: needs lr > 0, steps >= 0, record_every >= 1; got lr=0.1, "
                                        "steps=1, record_every=0"),
    "logistic_mode sigma < 0": (lambda: flow.logistic_mode(1.0, -1.0, 0.5),
                                "logistic_mode: needs sigma >= 0 and s0 >= 0, got sigma=-1.0, s0=0.5"),
    "logistic_mode s0 < 0": (lambda: flow.logistic_mode(1.0, 1.0, -0.5),
                             "logistic_mode: needs sigma >= 0 and s0 >= 0, got sigma=1.0, s0=-0.5"),
    # ---- impl/scan/affine.py
    "affine_scan M 2-D": (lambda: affine.affine_scan(z(2, 2), z(3, 2)),
                          "affine_scan: M must be (..., T, n, n) and v (..., T, n); got M (2, 2), v (3, 2)"),
    "affine_scan M vs v": (lambda: affine.affine_scan(z(3, 2, 2), z(4, 2)),
                           "affine_scan: M has shape (3, 2, 2), expected (..., 4, 2, 2) to match v (4, 2)"),
}


@pytest.mark.parametrize("case", list(CONTRACTS))
def test_bad_input_is_refused_with_a_message_naming_it(case):
    call, message = CONTRACTS[case]
    with pytest.raises(ValueError, match=re.escape(message)):
        call()
