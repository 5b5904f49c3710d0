"""impl.elman.variants.FactoredElman against a plain step loop written from its equations, for
every dense / low-rank choice of W_h, W_x, W_z, with and without tanh; its E5 special case
against impl's E5Layer; the spectral-norm cap; initialisation and argument checks.
LowRankStockElman (W_h = U V through StockElman's public `path_arguments` hook) against the stock
step loop on both paths, and ProjectedElman's shared draws."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from impl.elman.models import E5Layer
from impl.elman.variants import SPECTRAL_CAP, FactoredElman, LowRankStockElman, ProjectedElman
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)

DIM, RANK, BATCH, T = 7, 3, 2, 5


def step_loop(layer: FactoredElman, x: torch.Tensor, h0: torch.Tensor | None = None):
    """h_t = φ(W_h' h_{t-1} + W_x x_t + b), y_t = h_t ⊙ silu(W_z x_t), one step at a time, with
    W_h' = W_h · min(1, cap/σ_max(W_h)) and σ_max from an SVD."""
    W_h = layer.matrix("h")
    W_h = W_h * min(1.0, layer.cap / float(torch.linalg.svdvals(W_h.detach())[0]))
    W_x, W_z = layer.matrix("x"), layer.matrix("z")
    h = torch.zeros(x.shape[0], layer.dim, dtype=x.dtype) if h0 is None else h0
    outputs = []
    for t in range(x.shape[1]):
        z = h @ W_h.T + x[:, t] @ W_x.T + layer.b
        h = torch.tanh(z) if layer.nonlinear else z
        outputs.append(h * F.silu(x[:, t] @ W_z.T))
    return torch.stack(outputs, dim=1), h


RANK_CHOICES = list(itertools.product((None, RANK), repeat=3))


@pytest.mark.parametrize("nonlinear", [True, False])
@pytest.mark.parametrize("ranks", RANK_CHOICES, ids=lambda r: "-".join("dense" if v is None else f"r{v}" for v in r))
def test_every_variant_matches_the_step_loop(ranks, nonlinear):
    layer = FactoredElman(DIM, *ranks, nonlinear=nonlinear, generator=torch.Generator().manual_seed(1)).double()
    with torch.no_grad():                       # off the init values: b ≠ 0, and W_h above the cap
        layer.b.normal_(generator=torch.Generator().manual_seed(2))
        for p in layer.parameters():
            p.mul_(3.0)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(BATCH, T, DIM, dtype=torch.float64, generator=g)
    h0 = torch.randn(BATCH, DIM, dtype=torch.float64, generator=g)
    for start in (None, h0):
        y, h = layer(x, start)
        y_ref, h_ref = step_loop(layer, x, start)
        torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(h, h_ref, rtol=1e-12, atol=1e-12)
        states, _ = layer.states(x, start)
        torch.testing.assert_close(states[:, -1], h_ref, rtol=1e-12, atol=1e-12)


def test_e5_form_is_impl_e5_layer():
    e5 = E5Layer(DIM, RANK, generator=torch.Generator().manual_seed(0)).double()
    layer = FactoredElman(DIM, RANK, RANK, RANK).double()
    with torch.no_grad():
        for name, p in layer.named_parameters():
            p.copy_(getattr(e5, name))
        e5.b.normal_(generator=torch.Generator().manual_seed(1))
        layer.b.copy_(e5.b)
    x = torch.randn(BATCH, T, DIM, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    assert float(torch.linalg.matrix_norm(layer.matrix("h").detach(), ord=2)) <= SPECTRAL_CAP   # cap inactive
    for got, want in zip(layer(x), e5(x)):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    assert sum(p.numel() for p in layer.parameters()) == 6 * DIM * RANK + DIM


@pytest.mark.parametrize("rank_h", [None, RANK])
def test_the_cap_bounds_the_recurrence_and_leaves_small_matrices_alone(rank_h):
    layer = FactoredElman(DIM, rank_h, None, None, nonlinear=False).double()
    before = layer.recurrent_matrix().detach().clone()
    torch.testing.assert_close(before, layer.matrix("h").detach())       # ‖W_h‖₂ = 0.25 < 0.99
    with torch.no_grad():
        for p in layer.parameters():
            if p.dim() == 2:
                p.mul_(10.0)
    W = layer.recurrent_matrix()
    assert float(torch.linalg.matrix_norm(W.detach(), ord=2)) == pytest.approx(SPECTRAL_CAP, rel=1e-12)
    # a long linear run stays bounded, and the gradient flows through the cap
    x = torch.ones(1, 400, DIM, dtype=torch.float64)
    y, h = layer(x)
    assert torch.isfinite(y).all() and float(h.detach().norm()) < 1e4
    y.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in layer.parameters())


def test_initial_spectra_are_e5s():
    layer = FactoredElman(DIM, RANK, None, RANK, generator=torch.Generator().manual_seed(0)).double()
    low = torch.linalg.svdvals(layer.matrix("h").detach())
    dense = torch.linalg.svdvals(layer.matrix("x").detach())
    torch.testing.assert_close(low[:RANK], torch.full((RANK,), 0.25, dtype=torch.float64), rtol=1e-6, atol=0)
    assert float(low[RANK:].max()) < 1e-6
    torch.testing.assert_close(dense, torch.full((DIM,), 0.25, dtype=torch.float64), rtol=1e-6, atol=0)


def test_same_generator_seed_gives_the_same_layer():
    make = lambda: FactoredElman(DIM, RANK, None, RANK, generator=torch.Generator().manual_seed(5))  # noqa: E731
    for (name, a), (_, b) in zip(make().named_parameters(), make().named_parameters()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("bad, message", [
    (dict(rank_h=0, rank_x=None, rank_z=None), "rank_h must be None"),
    (dict(rank_h=None, rank_x=DIM + 1, rank_z=None), "rank_x must be None"),
    (dict(rank_h=None, rank_x=None, rank_z=None, cap=0.0), "cap must be > 0"),
])
def test_bad_arguments_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        FactoredElman(DIM, **bad)


def test_wrong_input_shape_is_refused():
    with pytest.raises(ValueError, match="x must be"):
        FactoredElman(DIM, None, None, None)(torch.zeros(1, 3, DIM + 1))


@pytest.mark.parametrize("path", ["fused", "reference"])
def test_low_rank_stock_elman_runs_w_h_as_u_v(path):
    layer = LowRankStockElman(DIM, DIM, RANK, generator=torch.Generator().manual_seed(2)).double()
    layer.path = path
    x = torch.randn(BATCH, T, DIM, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    h0 = torch.randn(BATCH, DIM, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    y, h_T = layer(x, h0)
    W_h, h, want = layer.U @ layer.V, h0, []
    for t in range(T):
        h = torch.tanh(x[:, t] @ layer.W_x.T + h @ W_h.T + layer.b)
        want.append(h)
    torch.testing.assert_close(y, torch.stack(want, dim=1), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h_T, h, rtol=1e-12, atol=1e-12)
    assert torch.equal(layer.effective, W_h) and not hasattr(layer, "W_h")
    torch.testing.assert_close(layer.step_jacobian(h0[0], x[0, 0]),
                               torch.func.jacrev(lambda v: layer.step(v, x[0, 0]))(h0[0]))


def test_projected_elman_variants_of_a_seed_share_the_projection_and_w_x():
    dense, low = (ProjectedElman(DIM, rank, torch.Generator().manual_seed(6)) for rank in (None, RANK))
    assert torch.equal(dense.out_proj.weight, low.out_proj.weight)
    assert torch.equal(dense.recurrence.W_x, low.recurrence.W_x)
    assert isinstance(low.recurrence, LowRankStockElman) and low.recurrence.rank == RANK
    x = torch.randn(BATCH, T, DIM, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(low(x), F.linear(low.recurrence(x)[0], low.out_proj.weight))
    with pytest.raises(ValueError, match=r"LowRankStockElman: rank must be in \[1, 7\), got 7"):
        ProjectedElman(DIM, DIM, torch.Generator().manual_seed(6))
