"""Effective ranks of singular spectra σ (..., n), batched over leading dimensions.

- ε-truncation rank: min{r : Σ_{i≤r} σ_i² ≥ (1 − ε) Σσ²} (`impl.spectral.spectra.truncation_rank`);
- participation ratio: (Σσ²)² / Σσ⁴;
- entropy effective rank: exp(H(w)) with w_i = σ_i²/Σσ², the energy distribution. Roy & Vetterli
  (2007) use p_i = σ_i/Σσ instead; this is the version on energies, the same distribution as
  the orbit's Gibbs probabilities (`impl.geometry.orbit`);
- stable rank: ‖W‖_F²/‖W‖_2² = Σσ²/σ_max².
Each equals k for k equal nonzero values and lies in [1, n]. `numerical_rank` counts the values
that are not rounding noise.
"""

from __future__ import annotations

import torch

from .spectra import truncation_rank

__all__ = ["truncation_rank", "participation_ratio", "entropy_effective_rank", "stable_rank", "numerical_rank"]


def _energies(sigma: torch.Tensor, what: str) -> torch.Tensor:
    if not isinstance(sigma, torch.Tensor) or sigma.ndim < 1 or sigma.shape[-1] == 0:
        raise ValueError(f"{what}: sigma must be a tensor (..., n) with n >= 1, got "
                         f"{tuple(sigma.shape) if isinstance(sigma, torch.Tensor) else type(sigma).__name__}")
    energy = sigma.to(torch.float64) ** 2
    if torch.any(energy.sum(dim=-1) == 0):
        raise ValueError(f"{what}: a spectrum of sigma (shape {tuple(sigma.shape)}) is all zero")
    return energy


def participation_ratio(sigma: torch.Tensor) -> torch.Tensor:
    """(Σσ²)²/Σσ⁴, shape (...)."""
    energy = _energies(sigma, "participation_ratio")
    return energy.sum(dim=-1) ** 2 / (energy ** 2).sum(dim=-1)


def entropy_effective_rank(sigma: torch.Tensor) -> torch.Tensor:
    """exp(−Σ w log w), w = σ²/Σσ² (0 log 0 = 0), shape (...)."""
    energy = _energies(sigma, "entropy_effective_rank")
    w = energy / energy.sum(dim=-1, keepdim=True)
    return torch.exp(torch.special.entr(w).sum(dim=-1))


def stable_rank(sigma: torch.Tensor) -> torch.Tensor:
    """Σσ²/max σ², shape (...)."""
    energy = _energies(sigma, "stable_rank")
    return energy.sum(dim=-1) / energy.amax(dim=-1)


def numerical_rank(sigma: torch.Tensor, shape: tuple[int, int], storage_dtype: torch.dtype = torch.float64
                   ) -> torch.Tensor:
    """Number of σ_i above the noise floor of an m × n matrix stored in `storage_dtype` whose σ
    were computed in float64: max(σ_1·max(m, n)·ε_64, ½ε_storage·‖W‖_F).

    The first term is the usual matrix-rank tolerance of the float64 SVD; the second bounds how
    far rounding the entries to the storage dtype can move any σ_i (‖ΔW‖₂ ≤ ‖ΔW‖_F ≤ ½ε‖W‖_F),
    so smaller values cannot be told apart from that rounding (bfloat16: 0.4% of ‖W‖_F)."""
    energy = _energies(sigma, "numerical_rank")
    m, n = shape
    floor = torch.maximum(energy.amax(dim=-1).sqrt() * max(m, n) * torch.finfo(torch.float64).eps,
                          0.5 * torch.finfo(storage_dtype).eps * energy.sum(dim=-1).sqrt())
    return (sigma.to(torch.float64).abs() > floor.unsqueeze(-1)).sum(dim=-1)
