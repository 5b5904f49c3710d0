"""The kernel check of a dense linear-RNN path against the step loop, shared by the kernel test
(property_tests/kernels/test_linear_rnn.py) and its negative control, which must not import a test
module (issue 15). For tests only, like `impl.testing`.

A path `fast(A, B, x, h0)` runs on inputs rounded to the tested dtype; `naive.linear_rnn_reference`
runs in float64 on the same values. The states, the final state and the gradients (autograd) of a
random projection of the states w.r.t. A, B, x and h0 are compared by the relative RMS error of
`impl.testing.KERNEL_TOLERANCES`, each relative to the magnitude of the terms it sums
(`impl.testing.error_scale`: the reference run on |A|, |B|, |x|, |h0| with the loss weights |W|).

A is drawn with |A| (entrywise) of spectral radius r ∈ [0.5, 0.99]: then ρ(A) ≤ r, the states stay
bounded, and so does the magnitude run — whose A is |A| — so the error scale stays near the size of
the states instead of growing like ρ(|A|)^T (for a plain Gaussian A, ρ(|A|) ≈ 0.7 √n · ρ(A) exceeds 1
and would make the bound vacuous on long sequences).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..testing import assert_kernel_close
from .naive import linear_rnn_reference

Path = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]


def draw_system(batch: int, T: int, n: int, m: int, with_h0: bool, seed: int) -> dict[str, torch.Tensor]:
    """A (n, n) with ρ(|A|) = r ∈ [0.5, 0.99], B (n, m) entries N(0, 1/m), x (batch, T, m) and h0 (batch, n)
    entries N(0, 1), in float64, from a generator seeded by `seed`."""
    gen = torch.Generator().manual_seed(seed)
    G = torch.randn(n, n, dtype=torch.float64, generator=gen)
    radius = 0.5 + 0.49 * torch.rand((), dtype=torch.float64, generator=gen)
    perron = torch.linalg.eigvals(G.abs()).abs().max()               # ρ(|G|), the Perron root
    system = {"A": G * (radius / perron),
              "B": torch.randn(n, m, dtype=torch.float64, generator=gen) / m ** 0.5,
              "x": torch.randn(batch, T, m, dtype=torch.float64, generator=gen)}
    if with_h0:
        system["h0"] = torch.randn(batch, n, dtype=torch.float64, generator=gen)
    system["weights"] = torch.randn(batch, T, n, dtype=torch.float64, generator=gen)
    return system


def _gradients(states: torch.Tensor, weights: torch.Tensor, leaves: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    loss = (weights * states.to(weights.dtype)).sum()             # a random linear functional of the states
    return torch.autograd.grad(loss, leaves, allow_unused=True, materialize_grads=True)


def check_against_reference(path: str, fast: Path, dtype: torch.dtype, *, batch: int, T: int, n: int, m: int,
                            with_h0: bool, seed: int) -> None:
    """AssertionError naming `path`, the quantity and the error when `fast` is outside the tolerance."""
    system = draw_system(batch, T, n, m, with_h0, seed)
    weights = system.pop("weights").to(dtype).double()             # representable in dtype: the same upstream gradient
    fast_in = {k: v.to(dtype).requires_grad_() for k, v in system.items()}
    ref_in = {k: v.detach().double().requires_grad_() for k, v in fast_in.items()}
    got = fast(fast_in["A"], fast_in["B"], fast_in["x"], fast_in.get("h0"))
    want = linear_rnn_reference(ref_in["A"], ref_in["B"], ref_in["x"], ref_in.get("h0"))
    assert got.shape == want.shape, f"{path}: states of shape {tuple(got.shape)}, expected {tuple(want.shape)}"
    assert got.dtype == dtype, f"{path}: states are {got.dtype}, expected {dtype}"
    if T == 0:
        return                                                      # nothing to compare, nothing to differentiate
    mag_in = {k: v.detach().abs().requires_grad_() for k, v in ref_in.items()}
    magnitude = linear_rnn_reference(mag_in["A"], mag_in["B"], mag_in["x"], mag_in.get("h0"))
    assert_kernel_close(got, want, dtype, "forward", f"{path} states", magnitude)
    assert_kernel_close(got[:, -1], want[:, -1], dtype, "forward", f"{path} final state", magnitude[:, -1])
    grads_got = _gradients(got, weights, list(fast_in.values()))
    grads_want = _gradients(want, weights, list(ref_in.values()))
    grads_mag = _gradients(magnitude, weights.abs(), list(mag_in.values()))
    for name, g, w, mag in zip(fast_in, grads_got, grads_want, grads_mag, strict=True):
        assert g.dtype == dtype, f"{path}: gradient w.r.t. {name} is {g.dtype}, expected {dtype}"
        assert_kernel_close(g, w, dtype, "backward", f"{path} gradient w.r.t. {name}", mag)
