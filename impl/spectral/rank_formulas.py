"""The spectral low-rank theory's closed forms (000_017466b5744f9449.txt, SpectralLowRank.lean), as stated.

These are the document's formulas, transcribed without correction so that the checks can judge
them against exact computations (the checks of `spectral.*` find several of them false):

- `variance_integral_approximation`: derivation step 1, Var(r) = Σ_{i≤r} i^{−2α} ≈ r^{1−2α}/(1−2α).
- `captured_fraction_approximation`: step 3, Var(r)/Var(d) = (r/d)^{1−2α}.
- `predicted_optimal_ratio`, `predicted_rank`: the "Optimal Rank Formula" r*/d = ε^{1/(2α−1)}
  (Lean: predictedOptimalRatio), and the rank d·ε^{1/(2α−1)} it predicts at width d.
- `implied_alpha`: its inversion α = (log ε / log(r*/d) + 1)/2 (Lean: impliedAlpha).
- `rank_manifold_dimension`: 2dr − r² (Lean: rankManifoldDim), and `factorisation_differential`,
  the tangent map (δU, δV) ↦ δU V + U δV whose rank that dimension should be.

The power formulas use only +, −, ·, / and ** so that one definition serves every number type:
Python floats, float64 tensors (what the models use), mpmath numbers and python-flint `arb` balls
(the certified checks evaluate these very functions in ball arithmetic).
"""

from __future__ import annotations

import torch


def variance_integral_approximation(r, alpha):
    """The document's step 1: Σ_{i≤r} i^{−2α} ≈ r^{1−2α}/(1−2α) (α ≠ 1/2)."""
    return r ** (1 - 2 * alpha) / (1 - 2 * alpha)


def captured_fraction_approximation(r, d, alpha):
    """The document's step 3: the fraction of Σ_{i≤d} i^{−2α} held by the top r values, (r/d)^{1−2α}."""
    return (r / d) ** (1 - 2 * alpha)


def predicted_optimal_ratio(alpha, eps):
    """The document's optimal rank formula r*/d = ε^{1/(2α−1)} (α > 1/2, 0 < ε < 1)."""
    return eps ** (1 / (2 * alpha - 1))


def predicted_rank(alpha, eps, d):
    """The rank the formula predicts at width d: d·ε^{1/(2α−1)} (real, not rounded)."""
    return d * predicted_optimal_ratio(alpha, eps)


def implied_alpha(ratio, eps) -> torch.Tensor:
    """α = (log ε / log(r*/d) + 1)/2, the exponent for which ε^{1/(2α−1)} = r*/d (float64 tensor).

    `ratio` (r*/d) and `eps` broadcast together; both must lie in (0, 1)."""
    ratio = torch.as_tensor(ratio, dtype=torch.float64)
    eps = torch.as_tensor(eps, dtype=torch.float64)
    for name, value in (("ratio", ratio), ("eps", eps)):
        if not torch.all((value > 0) & (value < 1)):
            raise ValueError(f"implied_alpha: {name} must lie in (0, 1), got shape {tuple(value.shape)} "
                             f"with values in [{float(value.min())}, {float(value.max())}]")
    return (torch.log(eps) / torch.log(ratio) + 1) / 2


def rank_manifold_dimension(d: int, r: int) -> int:
    """2dr − r²: the dimension of the manifold of d×d real matrices of rank r (0 ≤ r ≤ d)."""
    if not 0 <= r <= d:
        raise ValueError(f"rank_manifold_dimension: need 0 <= r <= d, got d={d}, r={r}")
    return 2 * d * r - r * r


def factorisation_differential(U: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """The differential of (U, V) ↦ U V at (U, V) as a matrix: rows index vec(W) (row-major, m·n),
    columns index (vec δU, vec δV) (row-major, m·r + r·n); column blocks δU V and U δV."""
    if U.ndim != 2 or V.ndim != 2 or U.shape[1] != V.shape[0]:
        raise ValueError(f"factorisation_differential: need U (m, r) and V (r, n), got U of shape "
                         f"{tuple(U.shape)} and V of shape {tuple(V.shape)}")
    m, r = U.shape
    n = V.shape[1]
    # entry ((i, j), (a, b)) of each block: ∂(δU V)_ij/∂δU_ab = δ_ia V_bj, ∂(U δV)_ij/∂δV_ab = U_ia δ_bj
    # (einsum rather than torch.kron, which fails on some transposed r = 1 operands in torch 2.13)
    dU = torch.einsum("ia,bj->ijab", torch.eye(m, dtype=U.dtype, device=U.device), V).reshape(m * n, m * r)
    dV = torch.einsum("ia,bj->ijab", U, torch.eye(n, dtype=V.dtype, device=V.device)).reshape(m * n, r * n)
    return torch.cat([dU, dV], dim=1)
