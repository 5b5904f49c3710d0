"""Kernel tests of the Mamba2 SSM (SSD form): chunked fast path vs the step-by-step reference.

As in flash-linear-attention and mamba: outputs, final states and gradients (of a random
projection of outputs and final state, w.r.t. every input and parameter) of the fast path in
float64 / float32 / bfloat16 are compared with the reference run in float64 on the same
dtype-rounded inputs (the backward's cotangents rounded too), by relative RMS error within
`KERNEL_TOLERANCES`. Lengths are drawn to include 1, non-powers of two and non-multiples of the
chunk size; shapes by hypothesis; values from a seeded generator (the seed is drawn too, so a
failure names it). The SSM core is held to the kernel bounds in every dtype; the whole layer
(projections, conv, gated RMSNorm around the core) is held to them in float64, and in float32 /
bfloat16 by the rules its tests explain (the layer's own reduced-precision error is not the kernel's).
"""

from __future__ import annotations

import math
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from impl.ssm import Mamba2Layer, num_parameters
from impl.ssm.chunked import ssd_chunked
from impl.ssm.naive import ssd_reference, ssd_step
from impl.testing import KERNEL_TOLERANCES, assert_kernel_close

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16],
                                 ids=["fp64", "fp32", "bf16"])
LENGTHS = st.one_of(st.sampled_from([1, 7, 33, 100]), st.integers(1, 70))
CHUNKS = st.sampled_from([1, 4, 8, 16, 64])


def examples(share: float) -> int:
    """A share of the active hypothesis profile's example count (dev and ci 40, quick 25, thorough
    1000), for the costlier checks: they scale with the profile instead of pinning a number."""
    return max(3, round(settings().max_examples * share))


def core_inputs(gen: torch.Generator, batch, T, heads, headdim, d_state, *, with_D, with_h0):
    """Float64 inputs in Mamba2's ranges: Δ log-uniform in [1e-3, 1], −A log-uniform in [0.5, 16]."""
    def randn(*shape):
        return torch.randn(*shape, dtype=torch.float64, generator=gen)

    def log_uniform(lo, hi, *shape):
        return torch.exp(math.log(lo) + torch.rand(*shape, dtype=torch.float64, generator=gen)
                         * (math.log(hi) - math.log(lo)))

    args = dict(x=randn(batch, T, heads, headdim), dt=log_uniform(1e-3, 1.0, batch, T, heads),
                A=-log_uniform(0.5, 16.0, heads), B=randn(batch, T, heads, d_state),
                C=randn(batch, T, heads, d_state), D=randn(heads) if with_D else None,
                h0=randn(batch, heads, headdim, d_state) if with_h0 else None)
    return {k: (v.to(DEVICE) if v is not None else None) for k, v in args.items()}


def run_with_grads(fn, args: dict, proj_y: torch.Tensor, proj_h: torch.Tensor):
    """Outputs, final state and the gradients of ⟨y, proj_y⟩ + ⟨h_T, proj_h⟩ w.r.t. every input."""
    leaves = {k: v.detach().requires_grad_(True) for k, v in args.items() if v is not None}
    y, h = fn(**{k: leaves.get(k) for k in args})
    loss = (y.double() * proj_y).sum() + (h.double() * proj_h).sum()
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return y.detach(), h.detach(), dict(zip(leaves, grads, strict=True))


@DTYPES
@settings(max_examples=examples(0.2))
@given(batch=st.integers(1, 2), T=LENGTHS, heads=st.integers(1, 3), headdim=st.integers(1, 6),
       d_state=st.integers(1, 6), chunk=CHUNKS, with_D=st.booleans(), with_h0=st.booleans(),
       seed=st.integers(0, 2**16))
def test_chunked_core_matches_reference(dtype, batch, T, heads, headdim, d_state, chunk, with_D, with_h0, seed):
    """ssd_chunked in `dtype` vs ssd_reference in float64: y, final state, and gradients w.r.t. x, Δ,
    A, B, C, D and h0."""
    gen = torch.Generator().manual_seed(seed)
    exact = core_inputs(gen, batch, T, heads, headdim, d_state, with_D=with_D, with_h0=with_h0)
    rounded = {k: (v.to(dtype) if v is not None else None) for k, v in exact.items()}
    reference_in = {k: (v.double() if v is not None else None) for k, v in rounded.items()}  # same values
    # the projections are the cotangents of the backward pass: rounded to `dtype` like every input
    proj_y = torch.randn(batch, T, heads, headdim, dtype=torch.float64, generator=gen).to(DEVICE, dtype).double()
    proj_h = torch.randn(batch, heads, headdim, d_state, dtype=torch.float64, generator=gen).to(DEVICE, dtype).double()

    y, h, grads = run_with_grads(lambda **a: ssd_chunked(**a, chunk_size=chunk), rounded, proj_y, proj_h)
    y_ref, h_ref, grads_ref = run_with_grads(ssd_reference, reference_in, proj_y, proj_h)

    assert y.dtype == dtype and h.dtype == dtype, f"outputs in {y.dtype}/{h.dtype}, inputs in {dtype}"
    where = f"T={T}, chunk={chunk}, heads={heads}, headdim={headdim}, d_state={d_state}, seed={seed}"
    assert_kernel_close(y, y_ref, dtype, "forward", f"outputs y ({where})")
    assert_kernel_close(h, h_ref, dtype, "forward", f"final state ({where})")
    for name, grad in grads.items():
        assert grad.dtype == dtype, f"gradient of {name} in {grad.dtype}"
        assert_kernel_close(grad, grads_ref[name], dtype, "backward", f"d loss / d {name} ({where})")


def layer_pair(dtype, dim_heads, headdim, d_state, d_conv, chunk, seed):
    """A chunked layer in `dtype` and a float64 reference layer holding the same (rounded) weights.

    The layer's own initialisation gives Δ ≈ 1e-3…0.1, where the SSM barely moves; the Δ bias is
    redrawn up to Δ ≈ 2 and the weights made larger so that the SSM path carries the output."""
    torch.manual_seed(seed)
    dim = dim_heads * headdim // 2
    fast = Mamba2Layer(dim, d_state=d_state, expand=2, headdim=headdim, d_conv=d_conv, chunk_size=chunk,
                       dtype=torch.float64, device=DEVICE)
    with torch.no_grad():
        fast.dt_bias.uniform_(-3.0, 2.0)
        fast.in_proj.weight.mul_(2.0)
        fast.D.normal_()
        fast.norm_weight.normal_(1.0, 0.3)
    fast = fast.to(dtype)
    ref = Mamba2Layer(dim, d_state=d_state, expand=2, headdim=headdim, d_conv=d_conv, dtype=torch.float64,
                      device=DEVICE, path="reference")
    ref.load_state_dict({k: v.double() for k, v in fast.state_dict().items()})
    return fast, ref


def layer_results(layer: Mamba2Layer, u: torch.Tensor, proj: torch.Tensor, proj_h: torch.Tensor) -> dict:
    """Output, final states, and the gradients of ⟨out, proj⟩ + ⟨S_T, proj_h⟩ w.r.t. the input and
    every parameter."""
    u = u.detach().requires_grad_(True)
    out, (ssm_state, conv_state) = layer(u, return_state=True)
    loss = (out.double() * proj).sum() + (ssm_state.double() * proj_h).sum()
    params = dict(layer.named_parameters())
    grads = torch.autograd.grad(loss, [u, *params.values()])
    return dict(output=out.detach(), ssm_state=ssm_state.detach(), conv_state=conv_state.detach(),
                **{f"d loss / d {k}": g for k, g in zip(["input", *params], grads, strict=True)})


def layer_inputs(layer: Mamba2Layer, batch: int, T: int, dtype, seed: int):
    """Input u in `dtype` and the two cotangent projections, rounded to `dtype` like every input."""
    gen = torch.Generator().manual_seed(seed + 1)
    u = torch.randn(batch, T, layer.dim, dtype=torch.float64, generator=gen).to(DEVICE, dtype)
    proj = torch.randn(batch, T, layer.dim, dtype=torch.float64, generator=gen).to(DEVICE, dtype).double()
    proj_h = torch.randn(batch, layer.nheads, layer.headdim, layer.d_state, dtype=torch.float64,
                         generator=gen).to(DEVICE, dtype).double()
    return u, proj, proj_h


def layer_errors(got: dict, want: dict) -> dict[str, float]:
    """Per tensor: relative RMS error; a gradient's error is taken relative to the larger of its norm
    and the norm it would have with entries of the layer's RMS gradient size. A head's D, A_log or
    dt_bias has a one-element gradient that is a long, cancelling sum (the gated RMSNorm is
    invariant to the scale of y ≈ D x), so its own relative error says nothing about the kernel."""
    grads = [g for k, g in want.items() if k.startswith("d loss")]
    gradient_rms = float(torch.cat([g.flatten().double() for g in grads]).pow(2).mean().sqrt())
    errors = {}
    for what, w in want.items():
        diff = float(torch.linalg.vector_norm(got[what].double() - w.double()))
        scale = float(torch.linalg.vector_norm(w.double()))
        if what.startswith("d loss"):
            scale = max(scale, w.numel() ** 0.5 * gradient_rms)
        errors[what] = diff / scale if scale > 0 else diff
    return errors


def direction_of(what: str) -> str:
    return "backward" if what.startswith("d loss") else "forward"


PER_HEAD_SCALARS = ("D", "A_log", "dt_bias")
LAYER_SHAPES = dict(batch=st.integers(1, 2), heads=st.integers(1, 3), headdim=st.sampled_from([2, 4, 6]),
                    d_state=st.integers(1, 6), d_conv=st.integers(1, 4), chunk=CHUNKS)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["fp64", "fp32"])
@settings(max_examples=examples(0.1))
@given(T=LENGTHS, seed=st.integers(0, 2**16), **LAYER_SHAPES)
def test_chunked_layer_matches_reference_layer(dtype, batch, T, heads, headdim, d_state, d_conv, chunk, seed):
    """The whole layer (projections, conv, SSM, gated norm) in `dtype` against the reference layer in
    float64: output, final SSM and conv states, gradients w.r.t. the input and every parameter.
    float64: each tensor's own relative RMS error within KERNEL_TOLERANCES (assert_kernel_close).
    float32: the same bounds with gradient errors measured as in `layer_errors`."""
    fast, ref = layer_pair(dtype, heads, headdim, d_state, d_conv, chunk, seed)
    u, proj, proj_h = layer_inputs(fast, batch, T, dtype, seed)
    got, want = layer_results(fast, u, proj, proj_h), layer_results(ref, u.double(), proj, proj_h)
    where = f"T={T}, chunk={chunk}, heads={heads}, headdim={headdim}, d_state={d_state}, d_conv={d_conv}, seed={seed}"
    if dtype == torch.float64:
        for what in want:
            assert_kernel_close(got[what], want[what], dtype, direction_of(what), f"{what} ({where})")
        return
    loop_errors = None
    for what, err in layer_errors(got, want).items():
        bound = KERNEL_TOLERANCES[dtype][direction_of(what)]
        if err > bound and loop_errors is None:
            # over the bound: is it the kernel, or float32 itself on this layer? The step loop in float32
            # on the same inputs says (the bf16 test's rule, flash-attention's for fused kernels: no worse
            # than 1.5 × the plain implementation in the same precision). Added 2026-12-03 after a thorough
            # run drew T=50, chunk=1, d_state=1 with an error of 1.25e-5 against 1e-5.
            loop = Mamba2Layer(fast.dim, d_state=d_state, expand=2, headdim=headdim, d_conv=d_conv,
                               dtype=dtype, device=DEVICE, path="reference")
            loop.load_state_dict(fast.state_dict())
            loop_errors = layer_errors(layer_results(loop, u, proj, proj_h), want)
        allowed = bound if err <= bound else max(bound, 1.5 * loop_errors[what])
        assert err <= allowed, (f"{what} ({where}): error {err:.3g} > {bound:g} ({dtype}) and > 1.5 × the {dtype} "
                                f"step loop's {loop_errors[what]:.3g}; shape {tuple(want[what].shape)}")


@settings(max_examples=examples(0.075))
@given(T=st.one_of(st.sampled_from([1, 7, 33]), st.integers(1, 40)), seed=st.integers(0, 2**16), **LAYER_SHAPES)
def test_chunked_layer_in_bf16_is_as_accurate_as_the_step_loop(batch, T, heads, headdim, d_state, d_conv, chunk, seed):
    """bfloat16 layer vs the float64 reference. Here the projections, conv and gated RMSNorm in
    bf16 dominate the error of either path: on 150 random small layers the step-by-step layer in bf16
    had a worst-tensor error of median 1.7 % and up to 33 % (a head's D gradient), above the kernel's
    bounds. So, over 5 seeded layers of the drawn shape, each tensor's median error of the chunked
    layer must be within the kernel's bf16 bound or at most 1.5 × the step loop's median error in
    bf16 (flash-attention's rule for its fused kernels: no worse than the plain implementation in
    the same precision). The per-head scalars' gradients (D, A_log, dt_bias) are left out here: in
    bf16 they are noise for both paths (medians over 5 seeds still differ 3× either way); the core
    test checks dD, dA and dΔ of the kernel in bf16 within the kernel's bound."""
    errors = {"chunked": {}, "loop": {}}
    for k in range(5):
        fast, ref = layer_pair(torch.bfloat16, heads, headdim, d_state, d_conv, chunk, seed + k)
        loop = Mamba2Layer(fast.dim, d_state=d_state, expand=2, headdim=headdim, d_conv=d_conv,
                           dtype=torch.bfloat16, device=DEVICE, path="reference")
        loop.load_state_dict(fast.state_dict())
        u, proj, proj_h = layer_inputs(fast, batch, T, torch.bfloat16, seed + k)
        want = layer_results(ref, u.double(), proj, proj_h)
        for name, layer in (("chunked", fast), ("loop", loop)):
            for what, err in layer_errors(layer_results(layer, u, proj, proj_h), want).items():
                errors[name].setdefault(what, []).append(err)
    where = (f"T={T}, chunk={chunk}, heads={heads}, headdim={headdim}, d_state={d_state}, d_conv={d_conv}, "
             f"seeds {seed}+0..4")
    for what, errs in errors["chunked"].items():
        if what.removeprefix("d loss / d ") in PER_HEAD_SCALARS:
            continue                      # cancelled sums in bf16 (see above); the core test covers dD, dA, dΔ
        median, loop_median = float(torch.tensor(errs).median()), float(torch.tensor(errors["loop"][what]).median())
        bound = KERNEL_TOLERANCES[torch.bfloat16][direction_of(what)]
        assert median <= max(bound, 1.5 * loop_median), (
            f"{what} ({where}): median error {median:.3g} of the chunked bf16 layer > {bound:g} and > 1.5 × the "
            f"step loop's {loop_median:.3g}; errors {[f'{e:.2g}' for e in errs]}")


@settings(max_examples=examples(0.15))
@given(T=st.integers(1, 40), split=st.integers(0, 40), d_conv=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_step_and_resumed_forward_match_one_forward(T, split, d_conv, seed):
    """Token-by-token `step` from the zero state, and a forward resumed from the states returned by
    an earlier forward, both reproduce one forward over the whole sequence (float64)."""
    fast, _ = layer_pair(torch.float64, 2, 4, 3, d_conv, 8, seed)
    u = torch.randn(2, T, fast.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)).to(DEVICE)
    with torch.no_grad():
        whole, (ssm_end, conv_end) = fast(u, return_state=True)
        ssm, conv = fast.initial_state(2)
        outs = []
        for t in range(T):
            out_t, ssm, conv = fast.step(u[:, t], ssm, conv)
            outs.append(out_t)
        split = min(split, T)
        head, states = fast(u[:, :split], return_state=True)
        tail, (ssm_resumed, _) = fast(u[:, split:], *states, return_state=True)
    for what, got, want in (("stepped outputs", torch.stack(outs, 1), whole), ("stepped SSM state", ssm, ssm_end),
                            ("stepped conv window", conv, conv_end),
                            ("resumed outputs", torch.cat([head, tail], 1), whole),
                            ("resumed SSM state", ssm_resumed, ssm_end)):
        assert_kernel_close(got, want, torch.float64, "forward", f"{what} (T={T}, split={split}, d_conv={d_conv})")


def test_single_step_is_the_reference_loop_of_length_one():
    gen = torch.Generator().manual_seed(3)
    a = core_inputs(gen, 2, 1, 3, 4, 5, with_D=True, with_h0=True)
    y, h = ssd_step(a["h0"], a["x"][:, 0], a["dt"][:, 0], a["A"], a["B"][:, 0], a["C"][:, 0], a["D"])
    y_ref, h_ref = ssd_reference(**a)
    assert torch.equal(y, y_ref[:, 0]) and torch.equal(h, h_ref)


@pytest.mark.parametrize("dim, d_state, headdim, d_conv", [(256, 64, 64, 4), (24, 8, 12, 3)])
def test_sizes_and_parameter_count(dim, d_state, headdim, d_conv):
    layer = Mamba2Layer(dim, d_state=d_state, headdim=headdim, d_conv=d_conv, device=DEVICE)
    d_inner = 2 * dim
    nheads, conv_dim = d_inner // headdim, d_inner + 2 * d_state
    counted = (dim * (2 * d_inner + 2 * d_state + nheads)   # in_proj → z, x, B, C, Δ
               + conv_dim * d_conv + conv_dim               # depthwise conv weight and bias
               + 3 * nheads + d_inner                       # dt_bias, A_log, D; norm weight
               + d_inner * dim)                             # out_proj
    assert num_parameters(layer) == layer.num_parameters == counted
    assert layer.state_size == nheads * headdim * d_state == d_inner * d_state
    assert layer.conv_state_size == conv_dim * (d_conv - 1)
    ssm_state, conv_state = layer.initial_state(3)
    assert ssm_state[0].numel() == layer.state_size and conv_state[0].numel() == layer.conv_state_size


def test_shape_errors_name_the_tensor_and_its_shape():
    gen = torch.Generator().manual_seed(0)
    a = core_inputs(gen, 2, 5, 3, 4, 2, with_D=True, with_h0=True)
    for name, bad in (("x", a["x"][..., None]), ("dt", a["dt"][:, :4]), ("A", a["A"][:2]),
                      ("B", a["B"][:, :, :2]), ("C", a["C"][..., :1]), ("D", a["D"][None]),
                      ("h0", a["h0"][:1])):
        with pytest.raises(ValueError, match=rf"{name} must have shape .*got {re.escape(str(tuple(bad.shape)))}"):
            ssd_chunked(**dict(a, **{name: bad}))
    layer = Mamba2Layer(4, d_state=2, headdim=4, dtype=torch.float64, device=DEVICE)
    with pytest.raises(ValueError, match=r"u must be \(batch, T, 4\), got \(2, 3\)"):
        layer(torch.zeros(2, 3, dtype=torch.float64, device=DEVICE))
    with pytest.raises(ValueError, match=r"ssm_state must be .*got \(1, 2, 4, 2\)"):
        layer(torch.zeros(2, 3, 4, dtype=torch.float64, device=DEVICE),
              torch.zeros(1, 2, 4, 2, dtype=torch.float64, device=DEVICE))
    with pytest.raises(ValueError, match="multiple of headdim"):
        Mamba2Layer(5, headdim=4)


# --- issue 14: the batched-matmul SSD (one segment sum of the decays, reused by every step) ---

def test_decay_segments_are_the_exponentials_of_the_direct_sums():
    """decay_segments(a)[i, j] = exp(a_{j+1} + … + a_i) (a_0 := 0) for i ≥ j, 0 above the diagonal, each
    entry summed by a plain Python loop and exponentiated by math.exp in float64 (not by the running
    product under test); and a strong decay underflows to 0, never to NaN."""
    from impl.ssm.chunked import decay_segments
    a = -torch.rand(2, 3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(5)) * 4
    decay = decay_segments(a)
    assert decay.shape == (2, 3, 7, 7)
    for u in range(2):
        for v in range(3):
            padded = [0.0] + a[u, v].tolist()
            for i in range(7):
                for j in range(7):
                    want = math.exp(sum(padded[k] for k in range(j + 1, i + 1))) if i >= j else 0.0
                    assert abs(float(decay[u, v, i, j]) - want) <= 1e-14 * max(want, 1e-300) + 1e-300, (u, v, i, j)
    strong = decay_segments(torch.full((1, 40), -30.0))                 # float32: e^{-30·k} underflows
    assert torch.isfinite(strong).all() and strong[0, 39, 0] == 0 and strong[0, 1, 0] > 0


@pytest.mark.parametrize("T, chunk", [(5, 5), (5, 4), (5, 6), (5, 1000), (64, 63), (1, 1), (2, 1)],
                         ids=lambda v: str(v))
def test_chunk_size_edge_cases_match_the_reference(T, chunk):
    """One chunk exactly, one step over a chunk, a chunk longer than the sequence (all padding after
    T), chunk 1 (every step its own chunk: the recurrence is all in the across-chunk product), float64,
    with D and an initial state, gradients included."""
    gen = torch.Generator().manual_seed(T * 1000 + chunk)
    args = core_inputs(gen, 2, T, 2, 3, 4, with_D=True, with_h0=True)
    proj_y = torch.randn(2, T, 2, 3, dtype=torch.float64, generator=gen).to(DEVICE)
    proj_h = torch.randn(2, 2, 3, 4, dtype=torch.float64, generator=gen).to(DEVICE)
    y, h, grads = run_with_grads(lambda **a: ssd_chunked(**a, chunk_size=chunk), args, proj_y, proj_h)
    y_ref, h_ref, grads_ref = run_with_grads(ssd_reference, args, proj_y, proj_h)
    assert_kernel_close(y, y_ref, torch.float64, "forward", f"y (T={T}, chunk={chunk})")
    assert_kernel_close(h, h_ref, torch.float64, "forward", f"final state (T={T}, chunk={chunk})")
    for name, grad in grads.items():
        assert_kernel_close(grad, grads_ref[name], torch.float64, "backward",
                            f"d loss / d {name} (T={T}, chunk={chunk})")


def test_empty_sequence_and_bad_chunk_size():
    gen = torch.Generator().manual_seed(0)
    args = core_inputs(gen, 2, 0, 2, 3, 4, with_D=True, with_h0=True)
    y, h = ssd_chunked(**args, chunk_size=8)
    assert y.shape == (2, 0, 2, 3) and torch.equal(h, args["h0"])
    for bad in (0, -3):
        with pytest.raises(ValueError, match=f"chunk_size must be >= 1, got {bad}"):
            ssd_chunked(**core_inputs(gen, 1, 3, 1, 2, 2, with_D=False, with_h0=False), chunk_size=bad)


@DTYPES
def test_decays_that_underflow_inside_a_chunk_keep_outputs_and_gradients_right(dtype):
    """Δ = 1, A = −16 over 64-step chunks: the decay across a chunk, e^{−1024}, underflows to 0 in every
    dtype, so the running product of decays (and the backward of it, which takes its zero-aware path)
    meets exact zeros; outputs, final state and every gradient still match the float64 step loop."""
    gen = torch.Generator().manual_seed(21)
    exact = core_inputs(gen, 2, 100, 2, 3, 4, with_D=True, with_h0=True)
    exact["dt"], exact["A"] = torch.ones_like(exact["dt"]), torch.full_like(exact["A"], -16.0)
    rounded = {k: v.to(dtype) for k, v in exact.items()}
    proj_y = torch.randn(2, 100, 2, 3, dtype=torch.float64, generator=gen).to(DEVICE, dtype).double()
    proj_h = torch.randn(2, 2, 3, 4, dtype=torch.float64, generator=gen).to(DEVICE, dtype).double()
    y, h, grads = run_with_grads(lambda **a: ssd_chunked(**a, chunk_size=64), rounded, proj_y, proj_h)
    y_ref, h_ref, grads_ref = run_with_grads(ssd_reference, {k: v.double() for k, v in rounded.items()},
                                             proj_y, proj_h)
    assert_kernel_close(y, y_ref, dtype, "forward", "outputs y under underflowing decays")
    assert_kernel_close(h, h_ref, dtype, "forward", "final state under underflowing decays")
    for name, grad in grads.items():
        assert_kernel_close(grad, grads_ref[name], dtype, "backward", f"d loss / d {name} under underflowing decays")
