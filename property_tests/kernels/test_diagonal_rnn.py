"""Kernel tests of the diagonal linear RNN: fast paths vs the step-by-step reference.

As in flash-linear-attention and mamba: for each fast path (the chunked scan, the numba-compiled
loop, the Triton kernel) and dtype, the outputs, the final states and the gradients (torch.autograd.grad of a
random projection of the outputs w.r.t. the inputs and the parameters) are compared with
`naive`'s loop run in float64 / complex128 on the same dtype-rounded inputs, by the relative
RMS error of `impl.testing.KERNEL_TOLERANCES` (complex dtypes use the bound of their real
dtype). Shapes, sequence lengths (non-powers of two among them) and seeds are drawn by
hypothesis; the tensors come from a torch.Generator seeded by the drawn seed.

These tests check the kernels, not a claim: `property_tests/test_lru.py` links the
recurrence to lru.state_unrolling.

Triton: without a GPU the kernel runs under the Triton interpreter on CPU tensors.
`triton.jit` reads TRITON_INTERPRET when it decorates the kernel, i.e. when
`impl.diagonal_rnn.triton_scan` is imported, so the variable is set here before that import
(and the module is reloaded if something imported it earlier). Without triton installed the
Triton tests skip, saying so.
"""

from __future__ import annotations

import copy
import importlib
import math
import os

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

if not torch.cuda.is_available():
    # the only way to run a Triton kernel without a GPU; must precede the import of triton_scan
    os.environ.setdefault("TRITON_INTERPRET", "1")

from impl.diagonal_rnn import (DiagonalLinearRNN, diagonal_rnn_reference, diagonal_rnn_scan,
                               diagonal_scan, diagonal_scan_reference, num_parameters, triton_scan)
from impl.diagonal_rnn import compiled as compiled_scan
from impl.testing import KERNEL_TOLERANCES, assert_kernel_close, error_scale, relative_rms_error

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

if triton_scan.HAS_TRITON and not triton_scan.triton_usable(DEVICE):
    triton_scan = importlib.reload(triton_scan)      # imported before TRITON_INTERPRET was set

TRITON_SKIP = pytest.mark.skipif(
    not triton_scan.triton_usable(DEVICE),
    reason="triton is not installed (pip install triton==3.9.0; without a GPU the kernel runs under "
           "TRITON_INTERPRET=1)" if not triton_scan.HAS_TRITON else f"the Triton kernel cannot run on {DEVICE}")

COMPILED_SKIP = pytest.mark.skipif(
    not compiled_scan.compiled_usable(torch.float64, DEVICE),
    reason="numba is not installed (pip install numba)" if not compiled_scan.NUMBA_AVAILABLE
    else f"the compiled loop runs on CPU tensors only, the tests run on {DEVICE}")

# state dtype -> the real dtype whose tolerance applies
DTYPES = {torch.float64: torch.float64, torch.float32: torch.float32, torch.bfloat16: torch.bfloat16,
          torch.complex128: torch.float64, torch.complex64: torch.float32}
DTYPE_PARAMS = pytest.mark.parametrize("dtype", list(DTYPES), ids=str)
LENGTHS = st.one_of(st.sampled_from([1, 7, 33, 100]), st.integers(1, 130))
SHAPES = st.fixed_dictionaries({"batch": st.integers(1, 3), "T": LENGTHS, "N": st.integers(1, 9),
                                "m": st.integers(1, 3), "with_h0": st.booleans(),
                                "seed": st.integers(0, 2 ** 31 - 1)})
# The interpreter runs each program of the grid in Python: a (3, 130, 9) scan with its backward takes
# seconds. Under it, few examples of small batches and the listed lengths (100 spans two time chunks
# of the kernel), plus one explicit multi-chunk case.
TRITON_EXAMPLES = settings(max_examples=2) if triton_scan.interpreter_active() else (lambda test: test)
TRITON_SHAPES = SHAPES if not triton_scan.interpreter_active() else st.fixed_dictionaries(
    {"batch": st.integers(1, 2), "T": st.sampled_from([1, 7, 33, 100]), "N": st.integers(1, 9),
     "m": st.integers(1, 3), "with_h0": st.booleans(), "seed": st.integers(0, 2 ** 31 - 1)})
# the edges hypothesis need not draw: one step of one row, with and without h0 (λ's gradient is then
# zero without h0: x_0 = 0)
ONE_STEP = [example(shape={"batch": 1, "T": 1, "N": 3, "m": 2, "with_h0": h0, "seed": 5}) for h0 in (True, False)]
MULTI_CHUNK = example(shape={"batch": 1, "T": 100, "N": 5, "m": 2, "with_h0": True, "seed": 1})


def reference_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype.is_complex else torch.float64


def random_eigenvalues(shape, dtype: torch.dtype, gen: torch.Generator) -> torch.Tensor:
    """Stable eigenvalues (|λ| < 1): real uniform in (−1, 1), complex uniform on the unit disc."""
    uniform = torch.rand(shape, dtype=torch.float64, generator=gen, device=gen.device)
    if dtype.is_complex:
        phase = 2 * math.pi * torch.rand(shape, dtype=torch.float64, generator=gen, device=gen.device)
        return torch.polar(uniform.sqrt(), phase).to(dtype)
    return (uniform * 2 - 1).to(dtype)


def projection_weights(shape, dtype, gen):
    """W of the loss Re Σ conj(W) · y, representable in the tested dtype: both paths then get the
    same upstream gradient (as fla's tests draw `do` in the tested dtype)."""
    return randn(shape, dtype, gen).to(torch.complex128 if dtype.is_complex else torch.float64)


def randn(shape, dtype, gen, scale=1.0):
    kind = torch.complex128 if dtype.is_complex else torch.float64
    return (torch.randn(shape, dtype=kind, generator=gen, device=gen.device) * scale).to(dtype)


def projection_loss(outputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Re Σ conj(W) · y, in the reference precision: a random linear functional of the outputs."""
    return (weights.conj() * outputs.to(weights.dtype)).real.sum()


def gradients(loss: torch.Tensor, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """d loss / d inputs; zeros for an input the loss does not depend on (λ when T = 1 from x_0 = 0)."""
    return torch.autograd.grad(loss, inputs, allow_unused=True, materialize_grads=True)


def leaves(tensors: dict, dtype_of) -> dict:
    return {k: v.detach().to(dtype_of(v.dtype)).requires_grad_() for k, v in tensors.items()}


def magnitudes(reference, ref_leaves: dict, weights: torch.Tensor):
    """The reference run on |every input| with the loss weights |W|: its states and gradients are the
    sums of |terms| that bound the round-off of the real run (impl.testing.error_scale)."""
    absolute = {k: v.detach().abs().requires_grad_() for k, v in ref_leaves.items()}
    out = reference(**absolute)
    return out, gradients(projection_loss(out, weights.abs()), list(absolute.values()))


def compare(path, fast_out, ref_out, fast_leaves, ref_leaves, weights, dtype, reference):
    """Outputs, final states and every gradient of the fast path vs the reference, each error relative
    to the magnitude of the terms it sums (a thorough-profile run found float32 gradients of a (1, 1)
    B at 7.5e-5 relative to a sum that cancels, 3e-7 relative to its terms)."""
    tol = DTYPES[dtype]
    assert fast_out.shape == ref_out.shape, f"{path}: shape {tuple(fast_out.shape)} != {tuple(ref_out.shape)}"
    assert fast_out.dtype == dtype, f"{path}: states are {fast_out.dtype}, expected {dtype}"
    mag_out, mag_grads = magnitudes(reference, ref_leaves, weights)
    assert_kernel_close(fast_out, ref_out, tol, "forward", f"{path} states", mag_out)
    assert_kernel_close(fast_out[:, -1], ref_out[:, -1], tol, "forward", f"{path} final state", mag_out[:, -1])
    grads_fast = gradients(projection_loss(fast_out, weights), list(fast_leaves.values()))
    grads_ref = gradients(projection_loss(ref_out, weights), list(ref_leaves.values()))
    for leaf, got, want, mag in zip(fast_leaves, grads_fast, grads_ref, mag_grads, strict=True):
        assert got.dtype == fast_leaves[leaf].dtype, f"{path}: gradient w.r.t. {leaf} is {got.dtype}"
        assert_kernel_close(got, want, tol, "backward", f"{path} gradient w.r.t. {leaf}", mag)


def check_rnn(path, rnn, dtype, shape):
    """x_k = λ ⊙ x_{k-1} + B u_k (+ h0): states, final state, gradients w.r.t. u, λ, B, h0."""
    batch, T, N, m = shape["batch"], shape["T"], shape["N"], shape["m"]
    gen = torch.Generator(device=DEVICE).manual_seed(shape["seed"])
    tensors = {"u": randn((batch, T, m), dtype.to_real(), gen),
               "lam": random_eigenvalues((N,), dtype, gen),
               "B": randn((N, m), dtype, gen, m ** -0.5)}
    if shape["with_h0"]:
        tensors["h0"] = randn((batch, N), dtype, gen)
    fast = leaves(tensors, lambda d: d)                     # rounded to the tested dtype
    ref = leaves(fast, reference_dtype)                     # the same values, in float64
    fast_out = rnn(fast["lam"], fast["B"], fast["u"], fast.get("h0"))
    ref_out = diagonal_rnn_reference(ref["lam"], ref["B"], ref["u"], ref.get("h0"))
    compare(path, fast_out, ref_out, fast, ref, projection_weights(ref_out.shape, dtype, gen), dtype,
            lambda lam, B, u, h0=None: diagonal_rnn_reference(lam, B, u, h0))


def check_time_varying_scan(path, scan, dtype, shape):
    """x_t = a_t ⊙ x_{t-1} + v_t with a different diagonal at every step (a selective SSM's
    scan): states, final state, gradients w.r.t. a, v, h0. (The broadcast check with a full a.)"""
    check_broadcast_diagonal(path, scan, dtype, lambda batch, T, N: (batch, T, N), shape)


@DTYPE_PARAMS
@given(shape=SHAPES)
def test_rnn_scan_matches_reference(dtype, shape):
    check_rnn("scan", diagonal_rnn_scan, dtype, shape)


@DTYPE_PARAMS
@given(shape=SHAPES)
def test_time_varying_scan_matches_reference(dtype, shape):
    check_time_varying_scan("scan", diagonal_scan, dtype, shape)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex64], ids=str)
@given(shape=SHAPES, chunk=st.integers(1, 140))
def test_scan_with_any_chunk_length_matches_reference(dtype, shape, chunk):
    """The chunk length L changes how the steps are grouped (C = T // L whole chunks, then the
    rest step by step), never the states: L = 1, L > T / 2 (no whole-chunk pass) and every
    remainder are drawn."""
    check_time_varying_scan(f"scan (chunk {chunk})", lambda a, v, h0: diagonal_scan(a, v, h0, chunk=chunk),
                            dtype, shape)


def with_examples(examples):
    def decorate(test):
        for ex in examples:
            test = ex(test)
        return test
    return decorate


@COMPILED_SKIP
@DTYPE_PARAMS
@with_examples(ONE_STEP)
@given(shape=SHAPES)
def test_rnn_compiled_matches_reference(dtype, shape):
    check_rnn("compiled", compiled_scan.diagonal_rnn_compiled, dtype, shape)


@COMPILED_SKIP
@DTYPE_PARAMS
@with_examples(ONE_STEP)
@given(shape=SHAPES)
def test_time_varying_compiled_matches_reference(dtype, shape):
    check_time_varying_scan("compiled", compiled_scan.diagonal_scan_compiled, dtype, shape)


def check_broadcast_diagonal(path, scan, dtype, a_shape, shape):
    """a with a broadcast axis (shared by the batch rows, or constant in time): the states and the
    gradient w.r.t. a (summed over the broadcast axis) against the reference on the same a."""
    batch, T, N = shape["batch"], shape["T"], shape["N"]
    gen = torch.Generator(device=DEVICE).manual_seed(shape["seed"])
    tensors = {"a": random_eigenvalues(a_shape(batch, T, N), dtype, gen), "v": randn((batch, T, N), dtype, gen)}
    if shape["with_h0"]:
        tensors["h0"] = randn((batch, N), dtype, gen)
    fast = leaves(tensors, lambda d: d)
    ref = leaves(fast, reference_dtype)
    fast_out = scan(fast["a"], fast["v"], fast.get("h0"))
    ref_out = diagonal_scan_reference(ref["a"], ref["v"], ref.get("h0"))
    compare(path, fast_out, ref_out, fast, ref, projection_weights(ref_out.shape, dtype, gen), dtype,
            lambda a, v, h0=None: diagonal_scan_reference(a, v, h0))


BROADCAST_DIAGONALS = {"shared-by-batch (T, N)": lambda batch, T, N: (T, N),
                       "constant-in-time (batch, 1, N)": lambda batch, T, N: (batch, 1, N),
                       "one-for-all (1, 1, N)": lambda batch, T, N: (1, 1, N)}


@COMPILED_SKIP
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex64], ids=str)
@pytest.mark.parametrize("a_shape", list(BROADCAST_DIAGONALS.values()), ids=list(BROADCAST_DIAGONALS))
@given(shape=SHAPES)
def test_compiled_scan_with_broadcast_diagonal_matches_reference(dtype, a_shape, shape):
    check_broadcast_diagonal("compiled", compiled_scan.diagonal_scan_compiled, dtype, a_shape, shape)


@COMPILED_SKIP
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex64], ids=str)
@pytest.mark.parametrize("block", [1, 3, 8])
def test_compiled_scan_split_into_channel_blocks_matches_reference(dtype, block, monkeypatch):
    """With fewer batch rows than threads the loop splits the channels into blocks, one task each:
    the states do not depend on the split (ragged last block included). The block is forced here,
    since the split `_block` picks depends on the machine's thread count."""
    monkeypatch.setattr(compiled_scan, "_block", lambda B, N: block)
    for with_h0 in (True, False):
        for a_shape in ((1, 17, 8), (8,)):
            check_broadcast_diagonal(f"compiled (blocks of {block})", compiled_scan.diagonal_scan_compiled, dtype,
                                     lambda batch, T, N: a_shape,
                                     {"batch": 1, "T": 17, "N": 8, "with_h0": with_h0, "seed": block})


@TRITON_SKIP
@DTYPE_PARAMS
@TRITON_EXAMPLES
@MULTI_CHUNK
@given(shape=TRITON_SHAPES)
def test_rnn_triton_matches_reference(dtype, shape):
    check_rnn("triton", triton_scan.diagonal_rnn_triton, dtype, shape)


@TRITON_SKIP
@DTYPE_PARAMS
@TRITON_EXAMPLES
@given(shape=TRITON_SHAPES)
def test_time_varying_triton_matches_reference(dtype, shape):
    check_time_varying_scan("triton", triton_scan.diagonal_scan_triton, dtype, shape)


MODEL_CASES = [(True, torch.float64), (True, torch.float32), (False, torch.float64), (False, torch.float32),
               (False, torch.bfloat16)]
MODEL_PARAMS = pytest.mark.parametrize(("is_complex", "dtype"), MODEL_CASES,
                                       ids=[f"{'complex' if c else 'real'}-{d}" for c, d in MODEL_CASES])
MODEL_SHAPES = st.fixed_dictionaries({"batch": st.integers(1, 2), "T": LENGTHS, "N": st.integers(1, 8),
                                      "m": st.integers(1, 3), "p": st.integers(1, 3),
                                      "seed": st.integers(0, 2 ** 31 - 1)})
TRITON_MODEL_SHAPES = MODEL_SHAPES if not triton_scan.interpreter_active() else MODEL_SHAPES.map(
    lambda shape: {**shape, "T": min(shape["T"], 40)})


def assert_module_close(got, want, same_dtype_loop, dtype, direction, what, magnitude=None):
    """Within KERNEL_TOLERANCES relative to the magnitude of the summed terms (error_scale), or no worse
    than twice the error of the step loop run in the same dtype (FlashAttention's criterion). The
    fallback is needed where the magnitude run cannot see the cancellation: θ_log's gradient is
    Re(conj(∂L/∂λ) · iλ) e^θ, zero in the magnitude run (real λ), and can cancel to a small number."""
    scale = error_scale(want, magnitude)
    err = relative_rms_error(got, want) * error_scale(want) / scale if scale > 0 else relative_rms_error(got, want)
    bound = KERNEL_TOLERANCES[dtype][direction]
    if err <= bound:
        return
    floor = relative_rms_error(same_dtype_loop, want) * error_scale(want) / scale if scale > 0 else 0.0
    assert err <= 2 * floor + bound, (f"{what}: relative RMS error {err:.3g} > {bound:g} ({dtype}, {direction}) "
                                      f"and > 2 × the {dtype} step loop's {floor:.3g} + {bound:g}; "
                                      f"shape {tuple(want.shape)}")


def check_module(path, is_complex, dtype, shape):
    """DiagonalLinearRNN on a fast path vs the same module (same parameters) on path="reference"
    in float64: outputs, final states, gradients w.r.t. every parameter and the inputs."""
    batch, T, N, m, p = shape["batch"], shape["T"], shape["N"], shape["m"], shape["p"]
    gen = torch.Generator(device=DEVICE).manual_seed(shape["seed"])
    fast = DiagonalLinearRNN(N, m, p, complex=is_complex, r_min=0.5, r_max=0.99, dtype=dtype, device=DEVICE,
                             path=path, generator=gen)
    loop = DiagonalLinearRNN(N, m, p, complex=is_complex, dtype=dtype, device=DEVICE, path="reference")
    ref = DiagonalLinearRNN(N, m, p, complex=is_complex, dtype=torch.float64, device=DEVICE, path="reference")
    loop.load_state_dict(fast.state_dict())
    ref.load_state_dict({k: v.double() for k, v in fast.state_dict().items()})
    u = randn((batch, T, m), dtype, gen)
    inputs = {name: u.detach().clone().requires_grad_() for name in ("fast", "loop")}
    inputs["ref"] = u.detach().double().requires_grad_()
    modules = {"fast": fast, "loop": loop, "ref": ref}
    outputs = {name: modules[name](inputs[name]) for name in modules}
    finals = {name: modules[name].final_state(inputs[name]) for name in modules}
    assert outputs["fast"].shape == (batch, T, p) and outputs["fast"].dtype == dtype, (
        f"{path}: output {outputs['fast'].dtype} {tuple(outputs['fast'].shape)}")
    assert_module_close(outputs["fast"], outputs["ref"], outputs["loop"], dtype, "forward", f"module {path} outputs")
    assert_module_close(finals["fast"], finals["ref"], finals["loop"], dtype, "forward", f"module {path} final state")
    weights = projection_weights(outputs["ref"].shape, dtype, gen)
    grads = {name: gradients(projection_loss(outputs[name], weights), [*modules[name].parameters(), inputs[name]])
             for name in modules}
    magnitude = magnitude_module(ref)
    u_abs = u.detach().double().abs().requires_grad_()
    grads_mag = gradients(projection_loss(magnitude(u_abs), weights.abs()), [*magnitude.parameters(), u_abs])
    names = [name for name, _ in fast.named_parameters()] + ["u"]
    for i, name in enumerate(names):
        assert_module_close(grads["fast"][i], grads["ref"][i], grads["loop"][i], dtype, "backward",
                            f"module {path} gradient w.r.t. {name}", grads_mag[i])


def magnitude_module(ref: DiagonalLinearRNN) -> DiagonalLinearRNN:
    """The float64 reference module on magnitudes: λ → |λ| (θ_log = −inf), B, C → their complex moduli,
    D → |D|; with |u| and |W| its gradients are the sums of |terms| (impl.testing.error_scale)."""
    magnitude = copy.deepcopy(ref)
    with torch.no_grad():
        if magnitude.theta_log is not None:
            magnitude.theta_log.fill_(-math.inf)
        for part in ("B", "C"):
            re, im = getattr(magnitude, f"{part}_re", None), getattr(magnitude, f"{part}_im", None)
            if re is None:
                continue
            modulus = torch.sqrt(re ** 2 + (im ** 2 if im is not None else 0))
            re.copy_(modulus)
            if im is not None:
                im.zero_()
        if getattr(magnitude, "D", None) is not None:
            magnitude.D.abs_()
    return magnitude


@MODEL_PARAMS
@given(shape=MODEL_SHAPES)
def test_module_chunked_path_matches_reference_module(is_complex, dtype, shape):
    check_module("chunked", is_complex, dtype, shape)


@COMPILED_SKIP
@MODEL_PARAMS
@example(shape={"batch": 1, "T": 1, "N": 2, "m": 2, "p": 1, "seed": 7})
@given(shape=MODEL_SHAPES)
def test_module_compiled_path_matches_reference_module(is_complex, dtype, shape):
    check_module("compiled", is_complex, dtype, shape)


@TRITON_SKIP
@MODEL_PARAMS
@TRITON_EXAMPLES
@given(shape=TRITON_MODEL_SHAPES)
def test_module_triton_path_matches_reference_module(is_complex, dtype, shape):
    check_module("triton", is_complex, dtype, shape)


def test_empty_sequences_and_shapes():
    """T = 0 gives (batch, 0, N) states on every path; the model's final state is then h0."""
    lam = torch.tensor([0.5, -0.25], dtype=torch.float64, device=DEVICE)
    B = torch.ones(2, 3, dtype=torch.float64, device=DEVICE)
    u = torch.zeros(4, 0, 3, dtype=torch.float64, device=DEVICE)
    for fn in (diagonal_rnn_reference, diagonal_rnn_scan, compiled_scan.diagonal_rnn_compiled):
        assert fn(lam, B, u).shape == (4, 0, 2)
    model = DiagonalLinearRNN(2, 3, dtype=torch.float64, device=DEVICE)
    h0 = torch.ones(4, 2, dtype=torch.complex128, device=DEVICE)
    assert torch.equal(model.final_state(u, h0), h0)
    assert model.final_state(u).shape == (4, 2)


def test_bad_shapes_raise_value_errors_naming_the_tensor():
    lam = torch.full((3,), 0.5, device=DEVICE)
    B = torch.ones(3, 2, device=DEVICE)
    u = torch.ones(2, 5, 2, device=DEVICE)
    bad = [((lam[None], B, u, None), "lam must be (N,), got shape (1, 3)"),
           ((lam, B[:2], u, None), "B must be (3, m) to match lam (3,), got shape (2, 2)"),
           ((lam, B, u[..., :1], None), "u must be (batch, T, 2), got shape (2, 5, 1)"),
           ((lam, B, u, torch.zeros(3, 3, device=DEVICE)), "h0 must be (2, 3), got shape (3, 3)")]
    for fn in (diagonal_rnn_reference, diagonal_rnn_scan, compiled_scan.diagonal_rnn_compiled):
        for args, message in bad:
            with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
                fn(*args)
    for scan in (diagonal_scan, compiled_scan.diagonal_scan_compiled):
        with pytest.raises(ValueError, match=r"a of shape \(4, 3\) does not broadcast to v of shape \(2, 5, 3\)"):
            scan(torch.ones(4, 3, device=DEVICE), torch.ones(2, 5, 3, device=DEVICE))
    with pytest.raises(ValueError, match="chunk must be a positive length, got 0"):
        diagonal_scan(torch.ones(3, device=DEVICE), torch.ones(2, 5, 3, device=DEVICE), chunk=0)
    model = DiagonalLinearRNN(3, 2, device=DEVICE)
    with pytest.raises(ValueError, match=r"u must be \(batch, T, 2\), got shape \(5, 2\)"):
        model(u[0])
    with pytest.raises(ValueError, match=r"h0 must be \(2, 3\), got shape \(2, 4\)"):
        model(u, torch.zeros(2, 4, device=DEVICE))
    with pytest.raises(ValueError, match="r_min < r_max"):
        DiagonalLinearRNN(3, 2, r_min=0.9, r_max=0.5)
    with pytest.raises(ValueError, match="complex bfloat16"):
        DiagonalLinearRNN(3, 2, dtype=torch.bfloat16)


def test_module_sizes_and_auto_path():
    """state sizes and parameter counts come from the module; "auto" picks Triton only on CUDA, the
    compiled loop on a CPU when numba is installed (for half-precision states too: it scans in float32)."""
    N, m, p = 5, 3, 2
    model = DiagonalLinearRNN(N, m, p, device=DEVICE)
    assert (model.state_size, model.real_state_size) == (N, 2 * N)
    assert num_parameters(model) == model.num_parameters == 3 * N + 2 * N * m + 2 * p * N  # ν, θ, γ; B, C re + im
    real = DiagonalLinearRNN(N, m, complex=False, device=DEVICE)
    assert (real.state_size, real.real_state_size, num_parameters(real)) == (N, N, 2 * N + N * m)
    auto = DiagonalLinearRNN(N, m, path="auto", device=DEVICE)
    on_cpu = "compiled" if compiled_scan.NUMBA_AVAILABLE else "chunked"
    expected = "triton" if DEVICE.type == "cuda" and triton_scan.triton_usable(DEVICE) else (
        on_cpu if DEVICE.type == "cpu" else "chunked")
    assert auto.resolved_path(DEVICE) == expected
    assert auto.resolved_path("cpu") == on_cpu
    half = DiagonalLinearRNN(N, m, complex=False, dtype=torch.bfloat16, path="auto")
    assert half.resolved_path("cpu") == on_cpu
