"""Residual Jacobian chains of 003 (GSA I, §2, §4, §7) and the exponent charts applied to them.

A residual network x_{l+1} = x_l + F_l(x_l) has layer Jacobians J_l = I + DF_l(x_l) along its
trajectory; the network's Jacobian is the ordered product 𝒥(L, 0) = J_{L−1} ⋯ J_0 (rightmost
factor J_0), and 𝒥(m, k) = J_{m−1} ⋯ J_k is a discrete cocycle. This module builds those chains
for any blocks (callables ℝ^d → ℝ^d, e.g. `torch.nn.Module`s), the near-identity chains
I + A_l/L of §4.5 with the leading terms of their expansions (Propositions 4.20, 4.21), strictly
balanced chains (§7), and measures on them what Theorem 4.16 uses: the non-backtracking slack,
the fitted exponents α_l of a chart map (Definition 4.9) and the signed radial residuals
r_l = ρ(Ĵ_l) − ρ(α_l) (Definition 4.7).

Charts (each returns α_l in the exponent interval [α_−, α_+] = `bounds`):
- "top_radial":    α = Proj_[α_−, α_+] ρ^{-1}(ρ(Ĵ)), ρ(Ĵ) = log λ_1(ĴᵀĴ); r_l = 0 when ρ(Ĵ) lies in
                   ρ([α_−, α_+]).
- "bures":         argmin over [α_−, α_+] of d_BW(Cartan(Ĵ), A_α). Both matrices are diagonal with
                   trace d, so d_BW = √(2d) · Hellinger(σ̂²/d, p(α)), which has no cancellation
                   near the minimum; minimised on a 65-point grid, then on zooming grids
                   around the best point (assumes one minimum within a grid cell).
- "least_squares": minus the slope of the ordinary least-squares fit of log σ_i on log i (free
                   intercept) over a rank window (`impl.spectral.fits.fit_rank_power_law`),
                   projected onto [α_−, α_+] (the objective is quadratic in α, so the
                   constrained minimiser is the projection of the unconstrained one). The
                   paper's display of this chart was lost; a free intercept is our reading.

Everything is float64 torch; the checks compare it with mpmath references.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from impl.geometry import orbit
from impl.spectral.fits import fit_rank_power_law
from impl.spectral.spectra import random_orthogonal

DTYPE = torch.float64
CHARTS = ("top_radial", "bures", "least_squares")
BURES_GRID, BURES_ZOOM = 65, 17


def _stack_square(jacobians, what: str) -> torch.Tensor:
    """(L, d, d) float64 from a list of (d, d) tensors or an (L, d, d) tensor."""
    J = torch.stack(list(jacobians)) if not isinstance(jacobians, torch.Tensor) else jacobians
    if J.ndim != 3 or J.shape[-1] != J.shape[-2] or J.shape[0] == 0:
        raise ValueError(f"{what}: needs a non-empty chain of square matrices (L, d, d), "
                         f"got shape {tuple(J.shape)}")
    return J.to(DTYPE)


# ---------------------------------------------------------------- residual chains

def trajectory(blocks: Sequence[Callable[[torch.Tensor], torch.Tensor]], x0: torch.Tensor) -> list[torch.Tensor]:
    """x_0, x_1, …, x_L with x_{l+1} = x_l + F_l(x_l)."""
    if x0.ndim != 1:
        raise ValueError(f"trajectory: x0 must be one state vector (d,), got shape {tuple(x0.shape)}")
    states = [x0]
    for block in blocks:
        states.append(states[-1] + block(states[-1]))
    return states


def residual_jacobians(blocks: Sequence[Callable[[torch.Tensor], torch.Tensor]],
                       x0: torch.Tensor) -> list[torch.Tensor]:
    """J_l = I_d + DF_l(x_l) for l = 0 … L−1 along the trajectory from x0 (DF_l by reverse mode)."""
    states = trajectory(blocks, x0)
    eye = torch.eye(x0.shape[0], dtype=x0.dtype, device=x0.device)
    jacobians = []
    for block, x in zip(blocks, states[:-1]):
        DF = torch.func.jacrev(block)(x)
        if DF.shape != eye.shape:
            raise ValueError(f"residual_jacobians: a block maps ℝ^{x0.shape[0]} to shape "
                             f"{tuple(DF.shape[:-1])}; residual blocks must map ℝ^d to ℝ^d")
        jacobians.append(eye + DF)
    return jacobians


def chain_product(jacobians: Sequence[torch.Tensor], k: int, m: int) -> torch.Tensor:
    """𝒥(m, k) = J_{m−1} ⋯ J_{k+1} J_k (rightmost factor J_k) for 0 ≤ k ≤ m ≤ L; 𝒥(k, k) = I."""
    if not 0 <= k <= m <= len(jacobians):
        raise ValueError(f"chain_product: needs 0 <= k <= m <= L = {len(jacobians)}, got k={k}, m={m}")
    if not jacobians:
        raise ValueError("chain_product: the chain is empty, so the identity's size is unknown")
    first = jacobians[0]
    product = torch.eye(first.shape[-1], dtype=first.dtype, device=first.device)
    for J in jacobians[k:m]:
        product = J @ product
    return product


def near_identity_chain(generators, L: int) -> list[torch.Tensor]:
    """[I + A_l / L for each generator A_l (d, d)] (Proposition 4.20's factors)."""
    if L < 1:
        raise ValueError(f"near_identity_chain: L must be >= 1, got {L}")
    A = _stack_square(generators, "near_identity_chain")
    eye = torch.eye(A.shape[-1], dtype=DTYPE, device=A.device)
    return list(eye + A / L)


def _top_symmetric_eigenvalue(A: torch.Tensor) -> torch.Tensor:
    """μ_1(S), S = (A + Aᵀ)/2, for A (..., d, d)."""
    return torch.linalg.eigvalsh((A + A.mT) / 2)[..., -1]


def near_identity_log_norm(A: torch.Tensor, L: int) -> torch.Tensor:
    """Leading term of log σ_1(I + A/L): μ_1(S)/L (57); for a product (I + A'/L)(I + A/L) pass
    A + A' (58)."""
    return _top_symmetric_eigenvalue(A.to(DTYPE)) / L


def near_identity_radial(A: torch.Tensor, L: int) -> torch.Tensor:
    """Leading term of ρ(Ĵ) for J = I + A/L: 2(μ_1(S) − tr S/d)/L (61); for a product pass A + A' (62)."""
    A = A.to(DTYPE)
    trace = torch.diagonal(A, dim1=-2, dim2=-1).sum(-1)          # tr S = tr A
    return 2 * (_top_symmetric_eigenvalue(A) - trace / A.shape[-1]) / L


def near_identity_slack(A: torch.Tensor, A_next: torch.Tensor, L: int) -> torch.Tensor:
    """Leading term of the slack of (I + A_next/L, I + A/L): [μ_1(S) + μ_1(S') − μ_1(S + S')]/L (59)–(60)."""
    A, A_next = A.to(DTYPE), A_next.to(DTYPE)
    return (_top_symmetric_eigenvalue(A) + _top_symmetric_eigenvalue(A_next)
            - _top_symmetric_eigenvalue(A + A_next)) / L


# ---------------------------------------------------------------- padding and slack

def pad_to_square(W: torch.Tensor) -> torch.Tensor:
    """P(W) ∈ ℝ^{D×D}, D = max(m, n): W (…, m, n) in the top-left block, zeros elsewhere."""
    if W.ndim < 2:
        raise ValueError(f"pad_to_square: needs a matrix (..., m, n), got shape {tuple(W.shape)}")
    m, n = W.shape[-2:]
    D = max(m, n)
    padded = W.new_zeros(*W.shape[:-2], D, D)
    padded[..., :m, :n] = W
    return padded


def slack(J_next: torch.Tensor, J: torch.Tensor) -> torch.Tensor:
    """s = log σ_1(J_{l+1}) + log σ_1(J_l) − log σ_1(J_{l+1} J_l) (≥ 0 by submultiplicativity)."""
    if J_next.shape[-1] != J.shape[-2]:
        raise ValueError(f"slack: J_next {tuple(J_next.shape)} and J {tuple(J.shape)} cannot be multiplied")
    norm = lambda X: torch.linalg.matrix_norm(X, ord=2)  # noqa: E731
    return torch.log(norm(J_next)) + torch.log(norm(J)) - torch.log(norm(J_next @ J))


def slacks(jacobians) -> torch.Tensor:
    """The slacks s_0 … s_{L−2} of adjacent pairs (J_{l+1}, J_l) of a chain."""
    J = _stack_square(jacobians, "slacks")
    return slack(J[1:], J[:-1])


# ---------------------------------------------------------------- charts and residuals

def fitted_exponents(jacobians, chart: str = "top_radial", *, bounds: tuple[float, float] = (0.0, 8.0),
                     window: tuple[int, int] | None = None) -> torch.Tensor:
    """Fitted exponents α_l ∈ [α_−, α_+] of the factors J_l (L, d, d) by a chart map (module docstring).

    `window` (1-based inclusive ranks (lo, hi)) is used only by the least-squares chart; None means
    all d ranks."""
    if chart not in CHARTS:
        raise ValueError(f"fitted_exponents: chart must be one of {CHARTS}, got {chart!r}")
    lo, hi = map(float, bounds)
    if not 0 <= lo <= hi:
        raise ValueError(f"fitted_exponents: bounds must satisfy 0 <= α_− <= α_+, got {bounds}")
    J = _stack_square(jacobians, "fitted_exponents")
    d = J.shape[-1]
    if d < 2:
        raise ValueError("fitted_exponents: d = 1 has ρ ≡ 0 and a flat spectrum; the exponent is not identifiable")
    if chart == "top_radial":
        return orbit.top_radial_chart(d, orbit.top_radial_of_matrix(J), lo=lo, hi=hi)
    sigma = torch.linalg.svdvals(J)
    if chart == "bures":
        return _bures_chart(sigma, lo, hi)
    alphas = [fit_rank_power_law(s, window=window).alpha for s in sigma]
    return torch.clamp(torch.as_tensor(alphas, dtype=DTYPE), lo, hi)


def bures_chart_error(jacobians, alphas) -> torch.Tensor:
    """d_BW(Cartan(Ĵ_l), A_{α_l}) = √(2d) · Hellinger(σ(Ĵ_l)²/d, p(α_l)) (both diagonal, trace d)."""
    J = _stack_square(jacobians, "bures_chart_error")
    d = J.shape[-1]
    return math.sqrt(2 * d) * orbit.hellinger(_cartan_distribution(torch.linalg.svdvals(J)),
                                              orbit.gibbs_probabilities(d, alphas))


def _cartan_distribution(sigma: torch.Tensor) -> torch.Tensor:
    """σ_i²/Σσ²: the Cartan projection of Ĵ divided by its trace d."""
    energy = sigma ** 2
    return energy / energy.sum(-1, keepdim=True)


def _bures_chart(sigma: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """argmin_α Hellinger(σ²/Σσ², p(α)) on [lo, hi] per row of sigma (L, d): a 65-point grid, then
    zooming grids of 17 points on the two cells around the best point (the bracket shrinks 8-fold
    per step, ~17 steps reach round-off; one batched objective evaluation per step)."""
    d = sigma.shape[-1]
    target = _cartan_distribution(sigma).unsqueeze(-2)                        # (L, 1, d)
    a = torch.full((sigma.shape[0],), lo, dtype=DTYPE)
    b = torch.full_like(a, hi)
    points = BURES_GRID
    for _ in range(60):
        t = torch.linspace(0, 1, points, dtype=DTYPE)
        grid = a.unsqueeze(-1) + (b - a).unsqueeze(-1) * t                    # (L, points)
        best = torch.argmin(orbit.hellinger(target, orbit.gibbs_probabilities(d, grid)), dim=-1, keepdim=True)
        a = torch.gather(grid, -1, torch.clamp(best - 1, min=0))[:, 0]
        b = torch.gather(grid, -1, torch.clamp(best + 1, max=points - 1))[:, 0]
        points = BURES_ZOOM
        if torch.all(b - a <= 4 * torch.finfo(DTYPE).eps * torch.clamp(b.abs(), min=1.0)):
            break
    return (a + b) / 2


def radial_residuals(jacobians, alphas) -> torch.Tensor:
    """Signed radial residuals r_l = ρ(Ĵ_l) − ρ(α_l) (Definition 4.7)."""
    J = _stack_square(jacobians, "radial_residuals")
    return orbit.top_radial_of_matrix(J) - orbit.top_radial(J.shape[-1], alphas)


# ---------------------------------------------------------------- strictly balanced chains

def balanced_successor(W: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """A W' with W'ᵀ W' = W Wᵀ: W' = Q (W Wᵀ)^{1/2} with Q Haar-random orthogonal."""
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"balanced_successor: needs a square matrix (d, d), got shape {tuple(W.shape)}")
    Q = random_orthogonal(W.shape[0], generator=generator, dtype=W.dtype, device=W.device)
    return Q @ orbit.psd_sqrt(W @ W.mT)


def balanced_chain(W0: torch.Tensor, L: int, *, generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """W_0, …, W_{L−1}, strictly balanced (W_{l+1}ᵀ W_{l+1} = W_l W_lᵀ), each from its predecessor."""
    if L < 1:
        raise ValueError(f"balanced_chain: L must be >= 1, got {L}")
    chain = [W0.to(DTYPE)]
    for _ in range(L - 1):
        chain.append(balanced_successor(chain[-1], generator=generator))
    return chain


def balancedness_defect(chain) -> torch.Tensor:
    """max_l ‖W_{l+1}ᵀ W_{l+1} − W_l W_lᵀ‖_F / max(‖W_l W_lᵀ‖_F, tiny): 0 for a strictly balanced chain."""
    W = _stack_square(chain, "balancedness_defect")
    if W.shape[0] < 2:
        return torch.zeros((), dtype=DTYPE)
    gram_next, cogram = W[1:].mT @ W[1:], W[:-1] @ W[:-1].mT
    scale = torch.clamp(torch.linalg.matrix_norm(cogram), min=torch.finfo(DTYPE).tiny)
    return torch.max(torch.linalg.matrix_norm(gram_next - cogram) / scale)
