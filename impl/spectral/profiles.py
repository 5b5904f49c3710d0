"""Is a depthwise profile of fitted exponents smooth? A permutation test on total variation.

For exponents α[w, l] of weight types w over layers l, the depth order is compared with random
layer orders of the same values: TV_w = Σ_l |α_{w,l+1} − α_{w,l}| against its exact
permutation distribution (all L! orders, L ≤ 8), and the aggregate Z = Σ_w TV_w / median_π TV_{π,w}
against a sampled null in which each type is permuted independently. Small Z: smoother than
chance (003 §6's "structured depthwise trajectories"); Z near the null median: no depth structure.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np


def total_variation(alphas: np.ndarray) -> np.ndarray:
    """Σ_l |α_{l+1} − α_l| along the last axis."""
    return np.abs(np.diff(np.asarray(alphas, dtype=float), axis=-1)).sum(axis=-1)


@dataclass(frozen=True)
class NullSample:
    seed: int
    p05: float      # 5th percentile of the null distribution of Z
    median: float
    p_value: float  # fraction of null draws with Z_null ≤ Z


@dataclass(frozen=True)
class SmoothnessTest:
    tv: np.ndarray           # (types,) depthwise total variation
    p_per_type: np.ndarray   # (types,) exact permutation p-value of each type's TV
    median_null_tv: np.ndarray
    z: float
    null: tuple[NullSample, ...]


def depth_smoothness_test(alphas, draws: int = 100_000, seeds=(0, 1, 2)) -> SmoothnessTest:
    """Permutation test of the depth order of `alphas` (types × layers); see the module docstring."""
    alphas = np.asarray(alphas, dtype=float)
    if alphas.ndim != 2 or not 3 <= alphas.shape[1] <= 8:
        raise ValueError(f"depth_smoothness_test: needs exponents of shape (types, layers) with 3..8 "
                         f"layers (exact enumeration of layer orders), got {alphas.shape}")
    if not np.all(np.isfinite(alphas)):
        raise ValueError("depth_smoothness_test: exponents must be finite")
    orders = np.array(list(itertools.permutations(range(alphas.shape[1]))))
    assert len(orders) == math.factorial(alphas.shape[1])
    tv = total_variation(alphas)
    tv_perm = total_variation(alphas[:, orders])                  # (types, L!): exact null per type
    p_per_type = (tv_perm <= tv[:, None]).mean(axis=1)
    median_null = np.median(tv_perm, axis=1)
    if np.any(median_null <= 0):
        raise ValueError("depth_smoothness_test: a weight type has constant exponents (TV ≡ 0)")
    z = float(np.sum(tv / median_null))
    types = np.arange(len(tv))
    null = []
    for seed in seeds:
        # a uniformly random layer order per type and draw is a uniform index into the L! orders
        picks = np.random.default_rng(seed).integers(0, len(orders), size=(draws, len(tv)))
        z_null = np.sum(tv_perm[types, picks] / median_null, axis=1)
        null.append(NullSample(seed, float(np.percentile(z_null, 5)), float(np.median(z_null)),
                               float(np.mean(z_null <= z))))
    return SmoothnessTest(tv, p_per_type, median_null, z, tuple(null))
