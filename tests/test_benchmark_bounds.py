"""The kernel benchmarks' compiled bound (benchmarks/kernels/loops.py) computes the scan it stands
for: a bound that skipped work would make every fast path look slow against it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.kernels import loops
from impl.diagonal_rnn.naive import diagonal_scan_reference

pytestmark = pytest.mark.skipif(not loops.available(), reason="numba is not installed: no compiled bound")


def _inputs(B=3, T=17, N=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand(B, T, N, generator=gen, dtype=torch.float64) * 0.5 + 0.5
    v = torch.randn(B, T, N, generator=gen, dtype=torch.float64)
    return a, v


def test_bound_loop_forward_is_the_scan():
    a, v = _inputs()
    expected = diagonal_scan_reference(a, v).numpy()
    np.testing.assert_allclose(loops.loop_forward(a.numpy(), v.numpy()), expected, rtol=1e-12)
    out = np.empty_like(expected)
    loops.loop_forward_into(a.numpy(), v.numpy(), out)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_bound_loop_backward_is_the_scans_gradient():
    a, v = _inputs(seed=1)
    g = torch.randn(v.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    a.requires_grad_(), v.requires_grad_()
    expected = torch.autograd.grad(diagonal_scan_reference(a, v), [a, v], g)
    got = loops.loop_forward_backward(a.detach().numpy(), v.detach().numpy(), g.numpy())
    for mine, theirs in zip(got, expected, strict=True):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-12, atol=1e-12)
