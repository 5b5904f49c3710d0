"""The normalised power-law (Cartan) orbit of 003 (GSA I, §3), in closed form, float64 torch.

Notation (REFERENCE.md §3, reconstructed; the numeric checks confirm every formula against
`naive.py`, which computes the same quantities from their definitions in high precision):

    H_{d,s} = Σ_{i≤d} i^{-s},   p_i(α) = i^{-2α} / H_{d,2α}   (Gibbs family on ranks 1..d),
    λ_i(α) = d p_i(α)           (orbit eigenvalues, trace d, λ(0) = 1),
    ρ(α) = log λ_1(α) = log d − log H_{d,2α}          (top-radial coordinate),
    ρ'(α) = 2 E_α[log i],  ρ''(α) = −I(α),  I(α) = 4 Var_α(log i)  (Fisher information).

Every function takes an integer width d and real exponents that may be tensors (broadcast);
results are float64 tensors of the exponents' shape (with a trailing rank axis where stated).
Sums are formed in log space (logsumexp) so large exponents do not underflow.
"""

from __future__ import annotations

import math

import torch

DTYPE = torch.float64


def _log_ranks(d: int, device=None) -> torch.Tensor:
    if d < 1:
        raise ValueError(f"orbit: the width d must be >= 1, got {d}")
    return torch.log(torch.arange(1, d + 1, dtype=DTYPE, device=device))


def _exponent(x, device=None) -> torch.Tensor:
    return torch.as_tensor(x, dtype=DTYPE, device=device)


def log_harmonic(d: int, s) -> torch.Tensor:
    """log H_{d,s} = log Σ_{i=1}^{d} i^{-s}."""
    s = _exponent(s)
    return torch.logsumexp(-s.unsqueeze(-1) * _log_ranks(d, s.device), dim=-1)


def harmonic(d: int, s) -> torch.Tensor:
    """Generalised harmonic number H_{d,s} = Σ_{i=1}^{d} i^{-s}."""
    return torch.exp(log_harmonic(d, s))


def log_weighted_harmonic(d: int, s) -> torch.Tensor:
    """L_{d,s} = Σ_{i=1}^{d} i^{-s} log i (so ∂_s H_{d,s} = −L_{d,s})."""
    s = _exponent(s)
    log_i = _log_ranks(d, s.device)
    return torch.sum(torch.exp(-s.unsqueeze(-1) * log_i) * log_i, dim=-1)


def gibbs_probabilities(d: int, alpha) -> torch.Tensor:
    """p_i(α) = i^{-2α}/H_{d,2α}, shape (..., d)."""
    alpha = _exponent(alpha)
    return torch.softmax(-2 * alpha.unsqueeze(-1) * _log_ranks(d, alpha.device), dim=-1)


def orbit_eigenvalues(d: int, alpha) -> torch.Tensor:
    """λ_i(α) = d · i^{-2α}/H_{d,2α}: the Cartan projection of the orbit point A_α, shape (..., d)."""
    return d * gibbs_probabilities(d, alpha)


def expected_log_rank(d: int, alpha) -> torch.Tensor:
    """E_α[log i]."""
    return gibbs_probabilities(d, alpha) @ _log_ranks(d, _exponent(alpha).device)


def variance_log_rank(d: int, alpha) -> torch.Tensor:
    """Var_α(log i), by centring (no E[x²] − E[x]² cancellation)."""
    p = gibbs_probabilities(d, alpha)
    log_i = _log_ranks(d, p.device)
    centred = log_i - (p @ log_i).unsqueeze(-1)
    return torch.sum(p * centred ** 2, dim=-1)


def fisher_information(d: int, alpha) -> torch.Tensor:
    """I(α) = A''(α) = 4 Var_α(log i), A(α) = log H_{d,2α}."""
    return 4 * variance_log_rank(d, alpha)


def top_radial(d: int, alpha) -> torch.Tensor:
    """ρ(α) = log λ_1(α) = log d − log H_{d,2α}."""
    return math.log(d) - log_harmonic(d, 2 * _exponent(alpha))


def top_radial_derivative(d: int, alpha) -> torch.Tensor:
    """ρ'(α) = 2 E_α[log i]."""
    return 2 * expected_log_rank(d, alpha)


def top_radial_second_derivative(d: int, alpha) -> torch.Tensor:
    """ρ''(α) = −I(α)."""
    return -fisher_information(d, alpha)


def spectral_entropy(d: int, alpha) -> torch.Tensor:
    """S(α) = log H_{d,2α} + 2α E_α[log i] (closed form (21))."""
    alpha = _exponent(alpha)
    return log_harmonic(d, 2 * alpha) + 2 * alpha * expected_log_rank(d, alpha)


def kl_divergence(d: int, alpha, beta) -> torch.Tensor:
    """KL(p_α ‖ p_β) = log(H_{d,2β}/H_{d,2α}) + 2(β − α) E_α[log i] (closed form (22))."""
    alpha, beta = _exponent(alpha), _exponent(beta)
    return (log_harmonic(d, 2 * beta) - log_harmonic(d, 2 * alpha)
            + 2 * (beta - alpha) * expected_log_rank(d, alpha))


def bures_wasserstein_orbit(d: int, alpha, beta) -> torch.Tensor:
    """d_BW(A_α, A_β) = √(2d [1 − H_{d,α+β}/√(H_{d,2α} H_{d,2β})]) (closed form (F1)).

    The bracket is formed as −expm1(log ratio) to keep digits when α ≈ β."""
    alpha, beta = _exponent(alpha), _exponent(beta)
    log_ratio = log_harmonic(d, alpha + beta) - 0.5 * (log_harmonic(d, 2 * alpha) + log_harmonic(d, 2 * beta))
    return torch.sqrt(torch.clamp(-2 * d * torch.expm1(log_ratio), min=0.0))


def bures_line_element(d: int, alpha) -> torch.Tensor:
    """ds/dα along the orbit: √((d/4) I(α)) (closed form (F2))."""
    return torch.sqrt(d / 4 * fisher_information(d, alpha))


def tail_mass(d: int, k, alpha) -> torch.Tensor:
    """T_k(α) = Σ_{i>k} p_i(α) (k = 0 … d; T_0 = 1, T_d = 0)."""
    p = gibbs_probabilities(d, alpha)
    k = torch.as_tensor(k, device=p.device)
    ranks = torch.arange(1, d + 1, device=p.device)
    return torch.sum(p * (ranks > k.unsqueeze(-1)), dim=-1)


def orbit_truncation_rank(d: int, alpha, eps) -> torch.Tensor:
    """r_ε(α) = min{k ∈ 1..d : Σ_{i≤k} λ_i(α) ≥ (1 − ε) Σ_{i≤d} λ_i(α)} = min{k : T_k(α) ≤ ε}."""
    p = gibbs_probabilities(d, alpha)
    eps = torch.as_tensor(eps, dtype=DTYPE, device=p.device)
    enough = torch.cumsum(p, dim=-1) >= (1 - eps).unsqueeze(-1)
    enough[..., -1] = True  # the full sum is 1 up to rounding; rank d always qualifies
    return torch.argmax(enough.to(torch.int8), dim=-1) + 1


# ---------------------------------------------------------------- matrices and charts

def frobenius_normalise(J: torch.Tensor) -> torch.Tensor:
    """Ĵ = √d J/‖J‖_F for square J (..., d, d), so ‖Ĵ‖_F² = d (Assumption 3.4)."""
    d = J.shape[-1]
    if J.shape[-2] != d:
        raise ValueError(f"frobenius_normalise: needs square matrices, got shape {tuple(J.shape)}")
    return math.sqrt(d) * J / torch.linalg.matrix_norm(J, keepdim=True)


def top_radial_of_matrix(J: torch.Tensor) -> torch.Tensor:
    """ρ(Ĵ) = log λ_1(ĴᵀĴ) = log(d σ_1(J)² / ‖J‖_F²) for square J (..., d, d); scale invariant."""
    d = J.shape[-1]
    if J.shape[-2] != d:
        raise ValueError(f"top_radial_of_matrix: needs square matrices, got shape {tuple(J.shape)}")
    sigma1 = torch.linalg.matrix_norm(J, ord=2)
    return math.log(d) + 2 * torch.log(sigma1) - 2 * torch.log(torch.linalg.matrix_norm(J))


def top_radial_chart(d: int, rho, *, lo: float = 0.0, hi: float = 64.0, iterations: int = 200) -> torch.Tensor:
    """α = ρ^{-1}(ρ) on [lo, hi] by bisection (ρ is strictly increasing for d ≥ 2).

    Values of ρ outside [ρ(lo), ρ(hi)] are clamped to the endpoints (the chart's domain)."""
    if d < 2:
        raise ValueError("top_radial_chart: ρ ≡ 0 for d = 1, the exponent is not identifiable")
    rho = _exponent(rho)
    a = torch.full_like(rho, lo)
    b = torch.full_like(rho, hi)
    for _ in range(iterations):
        mid = (a + b) / 2
        below = top_radial(d, mid) < rho
        a = torch.where(below, mid, a)
        b = torch.where(below, b, mid)
        if torch.all(b - a <= 4 * torch.finfo(DTYPE).eps * torch.clamp(b.abs(), min=1.0)):
            break
    return (a + b) / 2


def bures_wasserstein(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """d_BW(X, Y) = √(tr X + tr Y − 2 tr (X^{1/2} Y X^{1/2})^{1/2}) for symmetric PSD X, Y (..., n, n).

    Square roots by symmetric eigendecomposition (negative rounding eigenvalues clipped to 0)."""
    if X.shape != Y.shape or X.shape[-1] != X.shape[-2]:
        raise ValueError(f"bures_wasserstein: needs two square matrices of one shape, got "
                         f"{tuple(X.shape)} and {tuple(Y.shape)}")
    root_x = psd_sqrt(X)
    middle = root_x @ Y @ root_x
    fidelity = torch.sum(torch.sqrt(torch.clamp(torch.linalg.eigvalsh((middle + middle.mT) / 2), min=0)), -1)
    trace = torch.diagonal(X, dim1=-2, dim2=-1).sum(-1) + torch.diagonal(Y, dim1=-2, dim2=-1).sum(-1)
    return torch.sqrt(torch.clamp(trace - 2 * fidelity, min=0.0))


def psd_sqrt(X: torch.Tensor) -> torch.Tensor:
    """Principal square root of a symmetric PSD matrix (..., n, n) by eigendecomposition."""
    w, V = torch.linalg.eigh((X + X.mT) / 2)
    return (V * torch.sqrt(torch.clamp(w, min=0)).unsqueeze(-2)) @ V.mT


def hellinger(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Hellinger distance √(½ Σ (√p_i − √q_i)²) between probability vectors (last axis)."""
    return torch.sqrt(0.5 * torch.sum((torch.sqrt(p) - torch.sqrt(q)) ** 2, dim=-1))
