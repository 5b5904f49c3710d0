"""Interval statistics of the experiments' decision rules: t and Welch intervals, the bootstrap,
gradient SNR, how many seeds would decide, and the simulated coverage of an interval method."""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import scipy.stats


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, lower, upper): mean ± t_{(1+level)/2, n−1} · sd/√n (sd with n − 1)."""
    x = np.asarray(values, dtype=float)
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"t_interval: needs >= 2 finite values, got {x.tolist()}")
    half = scipy.stats.t.ppf((1 + level) / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half)


def welch_interval(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean(a) − mean(b), lower, upper) with Welch's unequal-variance t interval."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 2 or b.size < 2:
        raise ValueError(f"welch_interval: needs >= 2 values per group, got {a.size} and {b.size}")
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    diff, se = a.mean() - b.mean(), math.sqrt(va + vb)
    if se == 0:
        return float(diff), float(diff), float(diff)
    dof = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    half = scipy.stats.t.ppf((1 + level) / 2, dof) * se
    return float(diff), float(diff - half), float(diff + half)


def bootstrap(statistic: Callable[..., float], groups: Sequence[Sequence[float]], resamples: int = 2000,
              seed: int = 0) -> np.ndarray:
    """Resample each group (e.g. the seeds of one configuration) with replacement, independently,
    and evaluate `statistic(*resampled_groups)`; returns the resampled statistics."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(g, dtype=float) for g in groups]
    out = np.empty(resamples)
    for j in range(resamples):
        out[j] = statistic(*(g[rng.integers(0, len(g), len(g))] for g in arrays))
    return out


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    return float(np.percentile(samples, tail)), float(np.percentile(samples, 100 - tail))


def gradient_snr(gradients: Sequence["torch.Tensor"]) -> float:
    """‖ḡ‖₂ / sqrt((1/(K−1)) Σ_k ‖g_k − ḡ‖₂²) over K flattened minibatch gradients."""
    if len(gradients) < 2:
        raise ValueError(f"gradient_snr: needs K >= 2 gradients, got {len(gradients)}")
    import torch
    G = torch.stack([g.detach().reshape(-1).double() for g in gradients])
    mean = G.mean(dim=0)
    noise = ((G - mean) ** 2).sum(dim=1).sum() / (len(gradients) - 1)
    return float(mean.norm() / noise.sqrt())


def seeds_to_decide(values: Sequence[float], thresholds: Sequence[float], level: float = 0.95,
                    max_n: int = 10_000) -> int | None:
    """How many seeds would put the t interval clear of every threshold, if the observed mean and
    spread held: the smallest n with t_{(1+level)/2, n−1} · sd/√n < min |mean − threshold|.

    For an inconclusive verdict's "what would decide it". None when the mean sits on a threshold
    (no number of seeds separates them) or more than `max_n` would be needed."""
    x = np.asarray(values, dtype=float)
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"seeds_to_decide: needs >= 2 finite values, got {x.tolist()}")
    gap = min(abs(float(x.mean()) - float(t)) for t in thresholds)
    return _smallest_n(x.std(ddof=1), gap, level, max_n, groups=1)


def seeds_to_decide_difference(a: Sequence[float], b: Sequence[float], thresholds: Sequence[float],
                               level: float = 0.95, max_n: int = 10_000) -> int | None:
    """seeds_to_decide for a difference of means mean(a) − mean(b) with n seeds per group:
    the smallest n with t_{(1+level)/2, 2n−2} · sqrt((s_a² + s_b²)/n) < min |diff − threshold|."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 2 or b.size < 2:
        raise ValueError(f"seeds_to_decide_difference: needs >= 2 values per group, got {a.size} and {b.size}")
    gap = min(abs(float(a.mean() - b.mean()) - float(t)) for t in thresholds)
    return _smallest_n(math.sqrt(a.var(ddof=1) + b.var(ddof=1)), gap, level, max_n, groups=2)


def _smallest_n(sd: float, gap: float, level: float, max_n: int, groups: int) -> int | None:
    if gap <= 0:
        return None
    if sd == 0:
        return 2
    quantile = (1 + level) / 2
    for n in range(2, max_n + 1):
        if scipy.stats.t.ppf(quantile, groups * (n - 1)) * sd / math.sqrt(n) < gap:
            return n
    return None


def simulated_coverage(interval: Callable[[np.random.Generator], tuple[float, float]], truth: float,
                       trials: int = 2000, seed: int = 0) -> float:
    """The fraction of `trials` simulated experiments whose interval contains `truth`.

    `interval(rng)` draws one synthetic data set of the size an experiment uses (e.g. 3 seeds per
    arm, with the spread the experiment observed) and returns the (lower, upper) that the
    experiment's method computes from it. A 95% method whose simulated coverage falls well below
    0.95 at that sample size understates the spread there: use another method or more seeds."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(trials):
        lower, upper = interval(rng)
        hits += lower <= truth <= upper
    return hits / trials
