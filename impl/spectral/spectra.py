"""Spectra and matrices with a prescribed spectrum; variance captured and truncation rank.

Conventions (the documents' 1-based ranks): σ_1 ≥ σ_2 ≥ … ≥ σ_d, and the rank-r quantities use
the top r values. Everything is batched over leading dimensions and runs on any device.
"""

from __future__ import annotations

import torch


def power_law_spectrum(d: int, alpha, c=1.0, *, dtype=torch.float64, device=None) -> torch.Tensor:
    """σ_i = c · i^{−α}, i = 1 … d. `alpha` and `c` may be tensors of shape (...,): result (..., d)."""
    if d < 1:
        raise ValueError(f"power_law_spectrum: d must be >= 1, got {d}")
    i = torch.arange(1, d + 1, dtype=dtype, device=device)
    alpha = torch.as_tensor(alpha, dtype=dtype, device=device).unsqueeze(-1)
    c = torch.as_tensor(c, dtype=dtype, device=device).unsqueeze(-1)
    return c * torch.exp(-alpha * torch.log(i))


def random_orthogonal(n: int, *batch: int, generator: torch.Generator | None = None,
                      dtype=torch.float64, device=None) -> torch.Tensor:
    """Haar-distributed orthogonal matrices (..., n, n): QR of a Gaussian with the signs of R fixed."""
    g = torch.randn(*batch, n, n, generator=generator, dtype=dtype, device=device)
    q, r = torch.linalg.qr(g)
    signs = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    signs = torch.where(signs == 0, torch.ones_like(signs), signs)
    return q * signs.unsqueeze(-2)


def matrix_with_spectrum(sigma: torch.Tensor, rows: int | None = None, cols: int | None = None, *,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """U diag(σ) Vᵀ with Haar-random U (rows×rows), V (cols×cols); σ of shape (..., k), k ≤ min(rows, cols).

    The nonzero singular values of the result are exactly σ (up to rounding), in any order given."""
    k = sigma.shape[-1]
    rows, cols = rows or k, cols or k
    if k > min(rows, cols):
        raise ValueError(f"matrix_with_spectrum: {k} singular values do not fit a {rows}×{cols} matrix")
    batch = sigma.shape[:-1]
    U = random_orthogonal(rows, *batch, generator=generator, dtype=sigma.dtype, device=sigma.device)
    V = random_orthogonal(cols, *batch, generator=generator, dtype=sigma.dtype, device=sigma.device)
    return (U[..., :, :k] * sigma.unsqueeze(-2)) @ V[..., :, :k].transpose(-1, -2)


def _sorted_descending(sigma: torch.Tensor) -> torch.Tensor:
    return torch.sort(sigma.abs(), dim=-1, descending=True).values


def captured_variance(sigma: torch.Tensor) -> torch.Tensor:
    """Fraction of Σσ² held by the top r values, for r = 1 … d: shape (..., d), last entry 1."""
    energy = torch.cumsum(_sorted_descending(sigma) ** 2, dim=-1)
    return energy / energy[..., -1:]


def truncation_rank(sigma: torch.Tensor, eps) -> torch.Tensor:
    """ε-truncation rank: min{r ≥ 1 : Σ_{i≤r} σ_i² ≥ (1 − ε) Σ_{i≤d} σ_i²} (integer tensor, shape (...)).

    Compared on unnormalised partial sums so that the last rank always qualifies."""
    eps = torch.as_tensor(eps, dtype=sigma.dtype, device=sigma.device)
    if torch.any((eps < 0) | (eps >= 1)):
        raise ValueError(f"truncation_rank: ε must lie in [0, 1), got {eps}")
    energy = torch.cumsum(_sorted_descending(sigma) ** 2, dim=-1)
    enough = energy >= (1 - eps).unsqueeze(-1) * energy[..., -1:]
    return torch.argmax(enough.to(torch.int8), dim=-1) + 1


def condition_number(sigma: torch.Tensor, r: int) -> torch.Tensor:
    """Rank-r condition number κ_r = σ_1/σ_r (1-based r)."""
    d = sigma.shape[-1]
    if not 1 <= r <= d:
        raise ValueError(f"condition_number: r must lie in 1..{d}, got {r}")
    s = _sorted_descending(sigma)
    return s[..., 0] / s[..., r - 1]
