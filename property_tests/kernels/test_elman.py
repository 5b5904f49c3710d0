"""Kernel tests of the Elman family: the fast path against the step-by-step reference.

As flash-linear-attention does for its ops: for every model, outputs, final
states and the gradients of a random projection of both (with respect to the
inputs, h0 and every parameter) are compared. The fast path runs in the dtype
under test; the reference runs in float64 on the same dtype-rounded inputs and
parameters, so the error measured is the fast path's own rounding. Errors are
relative RMS, bounded by impl.testing.KERNEL_TOLERANCES. Shapes are drawn by
hypothesis; values come from torch generators seeded by the drawn seed.
"""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from impl.elman import E1Layer, E5Layer, ResidualElman, StockElman, XGatedElman
from impl.testing import KERNEL_TOLERANCES, assert_kernel_close, relative_rms_error

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
DTYPES = {"fp64": torch.float64, "fp32": torch.float32, "bf16": torch.bfloat16}
LENGTHS = (1, 7, 33, 100)          # not powers of two (1 aside): no scan-friendly lengths


@st.composite
def configurations(draw) -> dict:
    """Sizes of one model and its input; `seed` fixes every tensor value."""
    dim = draw(st.integers(1, 6))
    return dict(batch=draw(st.integers(1, 3)), T=draw(st.sampled_from(LENGTHS)), dim=dim,
                state_size=draw(st.integers(1, 8)), expansion=draw(st.sampled_from((1.0, 1.5, 2.0))),
                rank=draw(st.integers(1, dim)), with_h0=draw(st.booleans()),
                seed=draw(st.integers(0, 2**31 - 1)))


def build(kind: str, cfg: dict, generator: torch.Generator):
    kw = dict(dtype=torch.float64, device=DEVICE, generator=generator)
    dim, n = cfg["dim"], cfg["state_size"]
    # E1 and X-gated: d_in = int(dim·expansion) >= 2. With d_in = 1 the normalised W_h is ±0.99
    # whatever W_h is, so its gradient is zero up to rounding and a relative error of it is noise.
    expansion = max(cfg["expansion"], 2 / dim)
    return {"stock": lambda: StockElman(dim, n, **kw),
            "residual": lambda: ResidualElman(dim, n, **kw),
            "e1": lambda: E1Layer(dim, expansion, **kw),
            "e5": lambda: E5Layer(dim, cfg["rank"], **kw),
            "xgated": lambda: XGatedElman(dim, expansion, **kw)}[kind]()


def randn(*shape, generator, scale=1.0):
    return (torch.randn(*shape, dtype=torch.float64, generator=generator) * scale).to(DEVICE)


@pytest.mark.parametrize("dtype_name", list(DTYPES))
@pytest.mark.parametrize("kind", ["stock", "residual", "e1", "e5", "xgated"])
@settings(max_examples=8)
@given(cfg=configurations())
def test_fast_path_matches_reference(kind, dtype_name, cfg):
    dtype = DTYPES[dtype_name]
    gen = torch.Generator().manual_seed(cfg["seed"])
    model = build(kind, cfg, gen).eval()             # eval: the spectral normalisation is fixed
    with torch.no_grad():                            # move every parameter off its init (biases are 0)
        for p in model.parameters():
            p.add_(randn(*p.shape, generator=gen, scale=0.1))
    if hasattr(model, "refresh_spectral_norm"):
        # W_h was edited: re-estimate σ̂, to convergence as after training. A stale σ̂ can leave the
        # normalised W_h with norm 80, a chaotic recurrence whose float32 rounding grows to O(1).
        model.refresh_spectral_norm(steps=30)
    fast = copy.deepcopy(model).to(dtype)            # parameters rounded to the dtype under test
    fast.path = "fused"
    reference = copy.deepcopy(fast).to(torch.float64)  # the same rounded values, exactly, in float64
    reference.path = "reference"

    x = randn(cfg["batch"], cfg["T"], model.input_dim, generator=gen).to(dtype)
    h0 = randn(cfg["batch"], model.state_size, generator=gen, scale=0.5).to(dtype) if cfg["with_h0"] else None
    inputs = [x] + ([h0] if h0 is not None else [])
    inputs_ref = [t.to(torch.float64).requires_grad_() for t in inputs]
    inputs = [t.clone().requires_grad_() for t in inputs]

    y, h_T = fast(*inputs)
    y_ref, h_T_ref = reference(*inputs_ref)
    where = f"{kind} {dtype_name} batch={cfg['batch']} T={cfg['T']} state={model.state_size}"
    assert y.dtype == h_T.dtype == dtype, f"{where}: fast path returned {y.dtype}, {h_T.dtype}"
    assert_kernel_close(y, y_ref, dtype, "forward", f"{where}: outputs")
    assert_kernel_close(h_T, h_T_ref, dtype, "forward", f"{where}: final state")

    # gradients of a random projection of outputs and final state
    proj_y = randn(*y.shape, generator=gen).to(dtype)
    proj_h = randn(*h_T.shape, generator=gen).to(dtype)
    names = [name for name, _ in fast.named_parameters()]
    grads = torch.autograd.grad((y * proj_y).sum() + (h_T * proj_h).sum(),
                                inputs + list(fast.parameters()), allow_unused=True)
    grads_ref = torch.autograd.grad((y_ref * proj_y.double()).sum() + (h_T_ref * proj_h.double()).sum(),
                                    inputs_ref + list(reference.parameters()), allow_unused=True)
    grads_loop = None
    for i, (name, g, g_ref) in enumerate(zip(["x", "h0"][: len(inputs)] + names, grads, grads_ref, strict=True)):
        assert (g is None) == (g_ref is None), f"{where}: d/d{name} is None on one path only"
        if g is None or relative_rms_error(g, g_ref) <= KERNEL_TOLERANCES[dtype]["backward"]:
            continue
        # FlashAttention's criterion, as for the SSD and LRU modules: a gradient that is a long
        # cancelling sum (W_h of a residual Elman over 100 steps) may exceed the fixed bound in
        # float32 whatever the order of summation; then the fast path must be no worse than twice
        # the step loop run in the same dtype (+ the bound)
        if grads_loop is None:
            grads_loop = same_dtype_loop_gradients(fast, inputs, proj_y, proj_h)
        err, floor = relative_rms_error(g, g_ref), relative_rms_error(grads_loop[i], g_ref)
        bound = KERNEL_TOLERANCES[dtype]["backward"]
        assert err <= 2 * floor + bound, (f"{where}: gradient w.r.t. {name}: relative RMS error {err:.3g} > {bound:g} "
                                          f"and > 2 × the {dtype} step loop's {floor:.3g} + {bound:g}")


def same_dtype_loop_gradients(fast, inputs, proj_y, proj_h):
    """The same gradients from the reference (step loop) path run in the fast path's dtype."""
    loop = copy.deepcopy(fast)
    loop.path = "reference"
    leaves = [t.detach().clone().requires_grad_() for t in inputs]
    y, h_T = loop(*leaves)
    return torch.autograd.grad((y * proj_y).sum() + (h_T * proj_h).sum(), leaves + list(loop.parameters()),
                               allow_unused=True)
