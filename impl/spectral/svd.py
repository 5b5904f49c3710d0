"""Singular values of (batches of) matrices: exact, or the top k by a randomized range finder.

`singular_values(W)` returns σ_1 ≥ … ≥ σ_min(m,n) of every matrix in W (..., m, n), computed in
float64 by default (a float32 or bfloat16 weight is promoted first, so the spectrum is the exact
one of the stored matrix up to float64 rounding). `method="randomized"` returns only the top k,
by the Halko–Martinsson–Tropp range finder (SIAM Review 53, 2011: Algorithm 4.4, subspace
iteration with re-orthonormalisation, then the SVD of the small matrix QᵀA) together with a
deterministic a-posteriori bound on how far each returned value may lie below the true one (see
`randomized_singular_values`). Everything runs on the device of W.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

METHODS = ("exact", "randomized")


@dataclass(frozen=True)
class SingularValues:
    """values: (..., k) in descending order. error_bound: (..., k), or None for the exact method.

    For the randomized method every returned value satisfies (up to float rounding)
        0 ≤ σ_j(W) − values_j ≤ error_bound_j   (j = 1 … k)."""
    values: torch.Tensor
    method: str
    error_bound: torch.Tensor | None


def _check_matrix(W: torch.Tensor) -> torch.Tensor:
    if not isinstance(W, torch.Tensor):
        raise ValueError(f"singular_values: W must be a torch.Tensor, got {type(W).__name__}")
    if W.ndim < 2 or W.shape[-1] == 0 or W.shape[-2] == 0:
        raise ValueError(f"singular_values: W must have shape (..., m, n) with m, n >= 1, "
                         f"got shape {tuple(W.shape)}")
    if W.is_complex():
        raise ValueError(f"singular_values: W must be real, got dtype {W.dtype}")
    return W


def singular_values(W: torch.Tensor, method: str = "exact", k: int | None = None, *,
                    oversample: int = 10, power_iterations: int = 2,
                    generator: torch.Generator | None = None,
                    dtype: torch.dtype = torch.float64) -> SingularValues:
    """Singular values of W (..., m, n) in `dtype` (float64 by default), descending.

    exact: all min(m, n) values (or the top k when k is given), torch.linalg.svdvals.
    randomized: the top k (required) with an error bound; see `randomized_singular_values`."""
    W = _check_matrix(W)
    if method not in METHODS:
        raise ValueError(f"singular_values: method must be one of {METHODS}, got {method!r}")
    if method == "randomized":
        if k is None:
            raise ValueError("singular_values: method='randomized' needs k (the number of top values)")
        return randomized_singular_values(W, k, oversample=oversample, power_iterations=power_iterations,
                                          generator=generator, dtype=dtype)
    full = min(W.shape[-2:])
    if k is not None and not 1 <= k <= full:
        raise ValueError(f"singular_values: k must lie in 1..{full} for W of shape {tuple(W.shape)}, got {k}")
    values = torch.linalg.svdvals(W.to(dtype))
    return SingularValues(values if k is None else values[..., :k], "exact", None)


def _orthonormal_basis(Y: torch.Tensor) -> torch.Tensor:
    return torch.linalg.qr(Y, mode="reduced").Q


def randomized_singular_values(W: torch.Tensor, k: int, *, oversample: int = 10, power_iterations: int = 2,
                               generator: torch.Generator | None = None,
                               dtype: torch.dtype = torch.float64) -> SingularValues:
    """Top-k singular values of W (..., m, n) by the randomized range finder, with an error bound.

    Q (m × l, l = min(k + oversample, m, n)) is an orthonormal basis of (WWᵀ)^q W Ω, Ω Gaussian
    n × l, q = power_iterations (each product re-orthonormalised, HMT Algorithm 4.4); the values
    returned are the top k singular values σ̂_j of QᵀW.

    Bound: with P = QQᵀ, WᵀW = (PW)ᵀ(PW) + ((I−P)W)ᵀ((I−P)W), a sum of two positive semidefinite
    matrices, so by Weyl σ̂_j² ≤ σ_j(W)² ≤ σ̂_j² + ‖(I−P)W‖₂², hence
        0 ≤ σ_j(W) − σ̂_j ≤ √(σ̂_j² + E²) − σ̂_j,   E = ‖W − Q(QᵀW)‖_F ≥ ‖(I−P)W‖₂,
    which is deterministic: E is computed from W itself (one more product of the cost already paid).
    HMT's probabilistic estimate from Gaussian probes ω (their eq. 4.3, 10√(2/π)·max‖(I−P)Wω‖,
    meant for W available only through products) is about 8 times E here, since E‖(I−P)Wω‖² = E².
    """
    W = _check_matrix(W).to(dtype)
    m, n = W.shape[-2:]
    if not isinstance(k, int) or not 1 <= k <= min(m, n):
        raise ValueError(f"randomized_singular_values: k must be an int in 1..{min(m, n)} for W of shape "
                         f"{tuple(W.shape)}, got {k!r}")
    if oversample < 0 or power_iterations < 0:
        raise ValueError(f"randomized_singular_values: oversample and power_iterations must be >= 0, "
                         f"got {oversample} and {power_iterations}")
    l = min(k + oversample, m, n)
    Wt = W.transpose(-1, -2)
    omega = torch.randn(*W.shape[:-2], n, l, generator=generator, dtype=dtype, device=W.device)
    Q = _orthonormal_basis(W @ omega)
    for _ in range(power_iterations):
        Q = _orthonormal_basis(W @ _orthonormal_basis(Wt @ Q))
    B = Q.transpose(-1, -2) @ W
    values = torch.linalg.svdvals(B)[..., :k]
    residual = torch.linalg.matrix_norm(W - Q @ B).unsqueeze(-1)  # Frobenius
    return SingularValues(values, "randomized", torch.sqrt(values ** 2 + residual ** 2) - values)
