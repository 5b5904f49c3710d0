"""Experiments: rank sweeps at one fixed width d (the research plan 001 §§ 1.3, 2.2, 2.3, 4.2, 4.3
and 000's nonlinear correction): observed.eps_threshold, observed.linear_vs_elman_ratio,
observed.nonlinear_correction, observed.lower_rank_better_flow, observed.multi_matrix,
observed.lr_scales_with_rank.

What is trained. Byte-level LMs (impl.training: embedding, depth × pre-LN residual layer, final LN,
tied head) whose layer is `impl.elman.variants.FactoredElman`:
h_t = φ(W_h h_{t-1} + W_x x_t + b), y_t = h_t ⊙ silu(W_z x_t), each W dense or U V of rank r.
- Elman grid: φ = tanh, W_h, W_x, W_z all of rank r = ρ d rounded half up (common.grid_rank) for ρ
  in the plan's grid {5, 10, 15, 17, 20, 25, 30}% (d = 60: r = 3, 6, 9, 10, 12, 15, 18, so "17%" is 10/60 = 16.7%),
  and the full-rank reference r = d. This is the E5 layer (REFERENCE §2) plus a spectral-norm
  cap: W_h is used as W_h · min(1, 0.99/‖W_h‖₂), which only acts once ‖W_h‖₂ exceeds 0.99. It
  does act here: trained U_h V_h reach ‖·‖₂ ≈ 3 within the 200 steps (the evidence reports the
  largest ‖W_h‖₂ met at the checkpoints), so the grid is E5 with its recurrence held at 0.99.
- Linear grid: the same with φ = identity. The cap is what keeps a linear recurrence stable (the
  registry's note); giving it to both makes the tanh the only difference between the grids.
- 2 × 2 design (multi_matrix): W_h ∈ {dense, rank 10} × W_x ∈ {dense, rank 10}, W_z rank 10 in
  every cell, so the (low, low) cell is the Elman grid's 17% model (shared).
- Learning-rate sweep (lr_scales_with_rank): the Elman grid's models at ρ ∈ {5, 10, 17, 30}%
  (the rule's minimum) over lr = 1e-4 · 2^k, k = 0..7 (1e-4 to 1.28e-2), extended by factors of 2
  (at most 3 times per side) while a ratio's seed-mean minimum sits at an end of its grid; the
  runs at the grid lr 3.2e-3 are the Elman grid's own.
Every configuration is trained with seeds 0, 1, 2 (model init and data order); all runs of the
module share the same sizes and optimiser, so each is trained once and measured by every claim
that needs it.

How it differs from the original runs (REFERENCE §2: E5 at d = 1536, depth 20, batch 256 × 512
bytes, 1000 steps = 131M tokens, schedule-free AdamW lr 3e-4, bf16, single runs): at the small
scale (default) width 60, depth 1, batch 16 × 32 bytes, 200 steps = 102,400 tokens per run, torch
AdamW (schedule-free AdamW is not available) lr 3.2e-3, weight decay 0, gradient clip 1.0, float32,
on the Shakespeare byte corpus (impl.data). `CLAIMS_SCALE=full` uses d = 1536, depth 20,
batch 256 × 512, 1000 steps, lr 4e-4 (the lr grid point nearest 3e-4), far beyond a CPU.

Measured: final loss = mean training loss (nats/byte) over the last 100 steps; held-out loss on 4
fixed windows of the corpus's last 5% (reported, not deciding); singular values of the capped W_h
and of W_x after training; for the Elman grid, at steps 0, S/4, S/2, 3S/4, S, the gradient SNR of
(U_h, V_h) over K = 32 independent training minibatches and κ_r = σ_1/σ_r of W_h; on held-out text,
the participation ratio of the hidden states and (Elman reference) the spectrum of the step
Jacobian diag(1 − h_t²) W_h averaged over 1024 sampled positions. The decision rules are the
registry's, as pure functions (`decide_*`) of the per-seed measurements; their intervals are
widened percentile bootstraps (see `widening`: seeds spread by 2.69 about their configuration's
mean before resampling, as the plain bootstrap covers far less than 95% at 3 seeds; 2000 resamples,
fixed seed, vectorised: each grid
configuration's seeds resampled independently; a run's SNR and loss curve together; for the lr
sweep a ratio's seeds once for its whole lr grid, as a seed has the same init and data order at
every lr) or, for the 2 × 2 design whose rule says "over seeds", t-intervals of per-seed contrasts.

Cells (claims/cells.py). Every training run — a (layer configuration, seed, lr) — is one
cell of `train_run`, which trains the model on the cell's placement (bf16 autocast on CUDA) and
returns every measurement above; `declare_cells()` lists them at the current scale, `Lab` rebuilds
the runs from the records. The lr sweep's extensions depend on the losses, so they are not
declared up front: `lr_block` asks the Lab for them, and the Lab fetches them (as further cells)
through the `fetch` callable the benchmark gives it. `CLAIMS_SCALE` (impl/experiments/scale.py):
small as above; medium d = 256, depth 1, 400 steps × 64 × 32 bytes, lr 1.6e-3 on one GPU; full the
original E5 sizes (d = 1536, depth 20, 1000 steps × 256 × 512 bytes, lr 4e-4; see SMALL, MEDIUM, FULL).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

from typing import Callable, Sequence

import numpy as np
import scipy.stats
import torch

from claims.cells import Cell, cell_function, make_cell
from .common import RATIO_GRID, byte_stream, conclude, grid_rank, pyplot, rank_alpha, record_spread, save_figure
from claims.device import Placement
from claims.scale import at_scale, scale
from .stats import gradient_snr, percentile_interval, seeds_to_decide, t_interval

EXPERIMENT = "rank_sweeps"
SEEDS = (0, 1, 2)
GRID = RATIO_GRID                           # the plan's rank-ratio grid, percent of d
LR_RATIOS = (5, 10, 17, 30)                 # lr_scales_with_rank: the rule's minimum set
MULTI_RATIO = 17                            # multi_matrix: r/d of a low-rank W_h or W_x
LR_BASE = 1e-4                              # lr grid: LR_BASE · 2^k ...
LR_GRID = tuple(range(8))                   # ... k = 0..7: 1e-4 to 1.28e-2, spanning [1e-4, 1e-2]
LR_EXTENSIONS = 3                           # at most this many factor-2 steps beyond each end
KNEE_TOLERANCE = 0.01                       # nats/byte
EPS_BAND = (0.025, 0.10)                    # eps_threshold: within a factor 2 of 0.05
EPS_ASSUMED = 0.05                          # nonlinear_correction's ε
RATIO_BAND = 3.0                            # linear_vs_elman: percentage points
CORRECTION_BAND = 0.05                      # nonlinear_correction
FLOW_BAND = 0.05                            # lower_rank_better_flow: both slopes inside ±0.05
MULTI_BAND = 0.01                           # multi_matrix: nats/byte
LR_BAND = 0.1                               # lr_scales_with_rank: slope b
SNR_MINIBATCHES = 32                        # K
HELD_OUT_WINDOWS = 4
RESAMPLES = 2000
BOOTSTRAP_SEED = 0
FINAL_STEPS = 100                           # "final loss": mean over the last 100 steps


@dataclass(frozen=True)
class Sizes:
    dim: int
    depth: int
    steps: int                  # divisible by 4 (checkpoints at 0, S/4, S/2, 3S/4, S)
    batch: int
    length: int
    lr_exponent: int            # the grid lr is LR_BASE · 2^lr_exponent, a point of the lr grid
    # Probes after training: the hidden states of the first `probe_sequences` sequences of each
    # held-out window (all of them at the small scale), the step Jacobian at `jacobian_samples`
    # of those positions (full scale: 20 layers of 1536 × 1536, so fewer).
    probe_sequences: int = 16
    jacobian_samples: int = 1024

    @property
    def lr(self) -> float:
        return learning_rate(self.lr_exponent)

    @property
    def tokens(self) -> int:
        return self.steps * self.batch * self.length

    @property
    def smoothing(self) -> int:
        """Trailing window (steps) of the loss curve read by lower_rank_better_flow's T(ρ)."""
        return self.steps // 10

    def describe(self, precision: str = "float32") -> str:
        return (f"d = {self.dim}, depth {self.depth}, batch {self.batch} × {self.length} bytes, "
                f"{self.steps} steps = {self.tokens:,} tokens per run, torch AdamW lr {self.lr:g} "
                f"(weight decay 0, gradient clip 1.0, no schedule), {precision}, seeds {SEEDS}")


# small: a CPU replica (every run a few seconds on one core).
SMALL = Sizes(dim=60, depth=1, steps=200, batch=16, length=32, lr_exponent=5)
# medium: one GPU in about 10 minutes for the ~150 runs of this family. The layer's recurrence is
# a Python loop over the window, so a step costs about `length` kernel launches whatever the batch:
# a short window, a large batch, 400 steps (an estimate of ≈ 3–4 s a run, not measured on a GPU).
# Width 256 (ranks 13 … 77), one layer, 8× the small run's tokens; lr 1.6e-3, the grid point
# between the small scale's 3.2e-3 and the original's 3e-4.
MEDIUM = Sizes(dim=256, depth=1, steps=400, batch=64, length=32, lr_exponent=4)
# full: the original E5 runs (REFERENCE §2; 000 § Empirically Observed › E5 Results): d = 1536,
# depth 20, batch 256 × 512 bytes, 1000 steps = 131M tokens; schedule-free AdamW lr 3e-4 there,
# here torch AdamW at 4e-4 = 1e-4 · 2^2, the lr grid point nearest 3e-4.
FULL = Sizes(dim=1536, depth=20, steps=1000, batch=256, length=512, lr_exponent=2, jacobian_samples=64)
ORIGINAL = ("original (REFERENCE §2): E5 d = 1536, depth 20, batch 256 × 512 bytes, 1000 steps = 131M "
            "tokens, schedule-free AdamW lr 3e-4, bf16, single runs")


def sizes() -> Sizes:
    """The sizes at the current CLAIMS_SCALE (read at each call: `claims plan` declares the cells
    of every scale in one process)."""
    return at_scale(small=SMALL, medium=MEDIUM, full=FULL)


def learning_rate(exponent: int) -> float:
    return LR_BASE * 2.0 ** exponent


# ============================================================== the decision rules (pure)

def knee_index(mean_losses) -> int:
    """Index of the smallest grid ratio whose seed-mean loss is within 0.01 of the grid's best."""
    return int(knee_indices(np.asarray(mean_losses, dtype=float)))


def knee_indices(mean_losses: np.ndarray) -> np.ndarray:
    """knee_index along the last axis (one knee per row of resampled seed-mean curves)."""
    return np.argmax(mean_losses <= mean_losses.min(axis=-1, keepdims=True) + KNEE_TOLERANCE, axis=-1)


def _slope(x, y) -> float:
    """OLS slope of y on x (nan with fewer than 2 points)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size < 2:
        return math.nan
    xc = x - x.mean()
    return float(xc @ (y - y.mean()) / (xc @ xc))


def _slopes(x, y: np.ndarray) -> np.ndarray:
    """OLS slope of each row of y on x over the row's finite entries (nan with fewer than 2)."""
    x = np.broadcast_to(np.asarray(x, dtype=float), y.shape)
    finite = np.isfinite(y)
    count = finite.sum(axis=-1)
    xs, ys = np.where(finite, x, 0.0), np.where(finite, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = xs.sum(axis=-1, keepdims=True) / count[..., None]
        ym = ys.sum(axis=-1, keepdims=True) / count[..., None]
        xc = np.where(finite, x - xm, 0.0)
        slope = (xc * np.where(finite, y - ym, 0.0)).sum(axis=-1) / (xc * xc).sum(axis=-1)
    return np.where(count >= 2, slope, math.nan)


def _inside(interval, band) -> bool:
    return band[0] <= interval[0] and interval[1] <= band[1]


def _excludes_zero(interval) -> bool:
    return interval[0] > 0 or interval[1] < 0


def decide_difference_against_band(text: str, censored: str, interval, band: float, band_text: str
                                   ) -> tuple[str, str]:
    """The rule of a difference whose null is 0, with its 95% interval, in order: inconclusive when
    `censored` says why (a knee at a grid end), confirmed when the interval excludes 0, refuted
    when it lies inside ±band, otherwise inconclusive (it contains 0 but reaches beyond ±band).
    The reason is `text` and the step that decided (band written as `band_text`)."""
    if censored:
        return "inconclusive", text + " — " + censored
    if _excludes_zero(interval):
        return "confirmed", text + " — excludes 0"
    if _inside(interval, (-band, band)):
        return "refuted", text + f" — inside ±{band_text}"
    return "inconclusive", text + f" — contains 0 but reaches beyond ±{band_text}"


def _fmt_interval(interval, digits: int = 3) -> str:
    return f"[{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


# ------------------------------------------------------------------ the widened seed bootstrap
# A percentile bootstrap over 3 seeds understates the spread: a resampled mean of n values has
# (n − 1)/n of the mean's variance, and each configuration's spread rests on n − 1 = 2 degrees of
# freedom. Simulated at this module's sizes with the spreads observed (tests/test_experiment_rules_
# rank_sweeps.py, impl.experiments.simulated_coverage, 400 trials) the plain bootstrap covered 83%
# (b_S), 84% (ε̂), 81% (b, seed curves), 92% (c, b per cell) instead of 95%; spreading by the
# pooled degrees of freedom still left ε̂ at 92% and b at 90%. So every interval here resamples
# seeds that were first spread about their configuration's mean by
# WIDENING = sqrt(n/(n − 1)) · t_{0.975, n−1} / z_{0.975} (2.69 at n = 3): a configuration's
# resampled means then span its own t-interval. Simulated coverage: 97.5% to 100% (2026-12-03).

def widening(seeds: int) -> float:
    """Factor by which seeds are spread about their configuration's mean before resampling."""
    if seeds < 2:
        raise ValueError(f"widening: needs >= 2 seeds, got {seeds}")
    return math.sqrt(seeds / (seeds - 1)) * float(scipy.stats.t.ppf(0.975, seeds - 1) / scipy.stats.norm.ppf(0.975))


def widen(values, factor: float, axis: int = -1) -> np.ndarray:
    """Values spread about their mean along `axis` (the seeds) by `factor`; a configuration with a
    non-finite value (a diverged run) is left as it is."""
    x = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        mean = x.mean(axis=axis, keepdims=True)
        out = mean + factor * (x - mean)
    return np.where(np.isfinite(mean), out, x)


def seed_draws(groups: int, seeds: int, resamples: int | None = None, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """(resamples, groups, seeds) seed indices: every group's seeds drawn with replacement, independently."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, seeds, (RESAMPLES if resamples is None else resamples, groups, seeds))


def resampled_means(values: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """(resamples, configurations) seed means of values (configurations, seeds) under draws."""
    rows = np.arange(values.shape[0])[None, :, None]
    return values[rows, draws].mean(axis=-1)


def censored_interval(samples, lower_unbounded, upper_unbounded, floor=-math.inf, ceiling=math.inf):
    """95% percentile interval of samples where a resample whose knee sat at a grid end only bounds
    the statistic on one side: there it counts as `floor` for the lower percentile
    (lower_unbounded) or as `ceiling` for the upper one (upper_unbounded). Percentiles are sample
    values (inverted CDF), so the bounds pass through."""
    samples = np.asarray(samples, dtype=float)
    low = np.quantile(np.where(lower_unbounded, floor, samples), 0.025, method="inverted_cdf")
    high = np.quantile(np.where(upper_unbounded, ceiling, samples), 0.975, method="inverted_cdf")
    return float(low), float(high)


@dataclass(frozen=True)
class KneeSweep:
    """Final losses of one architecture on the grid: losses[i, s] for ratio ratios[i], seed s."""
    ratios: tuple[float, ...]       # r/d as fractions, ascending (the actual ratios of integer r)
    losses: np.ndarray

    @property
    def knee_at(self) -> int:
        return knee_index(self.losses.mean(axis=1))

    @property
    def knee(self) -> float:
        return self.ratios[self.knee_at]

    @property
    def censored(self) -> str | None:
        """'top' or 'bottom' when the knee sits at that end of the grid: the true knee may lie
        beyond it, so the knee is only bounded."""
        return {0: "bottom", len(self.ratios) - 1: "top"}.get(self.knee_at)

    def per_seed_knees(self) -> np.ndarray:
        return np.asarray(self.ratios)[knee_indices(self.losses.T)]


def censored_reason(sweeps: dict[str, KneeSweep]) -> str | None:
    """Why the knees cannot decide (a knee at a grid end), or None."""
    ends = [f"{label}'s knee sits at the {s.censored} of the grid ({s.knee:.1%})"
            for label, s in sweeps.items() if s.censored]
    return ("censored: " + "; ".join(ends) + ", so it only bounds the knee") if ends else None


def knee_grid_to_decide(sweeps: dict[str, KneeSweep], reference_losses: dict[str, np.ndarray] | None = None) -> str:
    """What would locate censored knees: a grid reaching beyond the end where a knee sits."""
    parts = []
    for label, s in sweeps.items():
        if s.censored == "top":
            gap = ""
            if reference_losses and label in reference_losses:
                gap = (f" (its {s.ratios[-1]:.0%} model's seed-mean loss lies "
                       f"{s.losses[-1].mean() - np.mean(reference_losses[label]):+.3f} nats/byte from the "
                       f"full-rank reference's; knee tolerance {KNEE_TOLERANCE})")
            parts.append(f"for {label}, a grid reaching above {s.ratios[-1]:.0%} toward r = d{gap}")
        elif s.censored == "bottom":
            parts.append(f"for {label}, a grid reaching below {s.ratios[0]:.0%}")
    return "a grid beyond the end where the knee sits would locate it: " + "; ".join(parts)


def seeds_text(n: int | None, what: str, thresholds) -> str:
    limits = ", ".join(f"{t:g}" for t in thresholds)
    if n is None:
        return (f"no number of seeds would separate {what} from {limits} if the observed per-seed mean "
                f"and spread held (the mean sits on a threshold, or more than 10,000 seeds)")
    return (f"≈ {n} seeds per configuration would put a t-interval of {what} clear of {limits} "
            f"if the observed per-seed mean and spread held")


# ------------------------------------------------------------------ observed.eps_threshold

@dataclass(frozen=True)
class EpsMeasurements:
    sweep: KneeSweep
    reference_eps: np.ndarray       # (seeds, ratios): ε(ρ) = 1 − Σ_{i≤r} σ_i²/Σ σ_i² of the reference's W_h
    reference_alpha: np.ndarray     # (seeds,): the reference's fitted α (the plan's prediction)


@dataclass(frozen=True)
class EpsEstimate:
    knee: float                     # ρ_k
    eps: float                      # ε̂ = seed-mean ε(ρ_k) (a bound when censored)
    interval: tuple[float, float]
    censored: str | None            # 'top': ε̂ only bounded above; 'bottom': only bounded below
    alpha: float                    # α̂ of the reference
    predicted_ratio: float          # ε̂^(1/(2α̂−1)); nan for α̂ <= 1/2


def estimate_eps(m: EpsMeasurements, resamples: int | None = None) -> EpsEstimate:
    """ε̂ = ε(ρ_k) with its widened bootstrap interval (the grid's and the reference's seeds). A
    resample whose knee is the grid's top ratio only bounds ε̂ above by ε(top): it counts as 0 for
    the lower percentile; one whose knee is the bottom ratio only bounds it below: 1 for the upper."""
    grid, eps = m.sweep.losses, np.asarray(m.reference_eps, dtype=float)
    top = len(m.sweep.ratios) - 1
    factor = widening(grid.shape[1])
    draws = seed_draws(grid.shape[0] + 1, grid.shape[1], resamples)
    knees = knee_indices(resampled_means(widen(grid, factor), draws[:, :-1]))
    widened_eps = np.clip(widen(eps, factor, axis=0), 0.0, 1.0)            # (seeds, ratios)
    samples = widened_eps[draws[:, -1]].mean(axis=1)[np.arange(knees.size), knees]
    interval = censored_interval(samples, knees == top, knees == 0, floor=0.0, ceiling=1.0)
    k = m.sweep.knee_at
    point = float(eps[:, k].mean())
    alpha = float(m.reference_alpha.mean())
    predicted = point ** (1 / (2 * alpha - 1)) if alpha > 0.5 else math.nan
    return EpsEstimate(m.sweep.ratios[k], point, interval, m.sweep.censored, alpha, predicted)


def decide_eps_threshold(m: EpsMeasurements) -> tuple[str, str]:
    """Confirmed when ε̂'s interval lies inside [0.025, 0.10] and the knee is interior; refuted when
    disjoint from it (a censored knee's bound can refute); otherwise inconclusive."""
    e = estimate_eps(m)
    bound = {"top": "≤ ", "bottom": "≥ "}.get(e.censored, "")
    text = (f"knee ρ_k = {e.knee:.1%}, ε̂ = {bound}{e.eps:.4f}, 95% interval "
            f"{_fmt_interval(e.interval, 4)} against [{EPS_BAND[0]}, {EPS_BAND[1]}]")
    if e.interval[1] < EPS_BAND[0] or e.interval[0] > EPS_BAND[1]:
        return "refuted", text + " — disjoint"
    if e.censored:
        return "inconclusive", text + " — " + censored_reason({"the Elman grid": m.sweep})
    if _inside(e.interval, EPS_BAND):
        return "confirmed", text
    return "inconclusive", text + " — the interval overlaps the band without lying inside it"


def eps_to_decide(m: EpsMeasurements, reference_losses=None) -> str:
    if m.sweep.censored:
        return knee_grid_to_decide({"the Elman grid": m.sweep},
                                   None if reference_losses is None else {"the Elman grid": reference_losses})
    knees = knee_indices(m.sweep.losses.T)
    per_seed = np.asarray(m.reference_eps)[np.arange(knees.size), knees]
    return seeds_text(seeds_to_decide(per_seed, EPS_BAND), "the per-seed ε(ρ_k(seed))", EPS_BAND)


# ------------------------------------------------------------------ observed.linear_vs_elman_ratio

@dataclass(frozen=True)
class PairedSweeps:
    elman: KneeSweep
    linear: KneeSweep

    def labelled(self) -> dict[str, KneeSweep]:
        return {"Elman": self.elman, "linear": self.linear}


@dataclass(frozen=True)
class ResampledKnees:
    """Knee indices of widened bootstrap resamples of both grids (and the extra groups' draws)."""
    elman: np.ndarray
    linear: np.ndarray
    extra: np.ndarray               # (resamples, extra groups, seeds) draws for further per-seed groups
    factor: float


def resample_knees(m: PairedSweeps, extra_groups: int = 0, resamples: int | None = None) -> ResampledKnees:
    n, seeds = len(m.elman.ratios), m.elman.losses.shape[1]
    factor = widening(seeds)
    draws = seed_draws(2 * n + extra_groups, seeds, resamples)
    return ResampledKnees(knee_indices(resampled_means(widen(m.elman.losses, factor), draws[:, :n])),
                          knee_indices(resampled_means(widen(m.linear.losses, factor), draws[:, n:2 * n])),
                          draws[:, 2 * n:], factor)


def _censoring_masks(r: ResampledKnees, top: int, rises_with_linear: bool):
    """(lower_unbounded, upper_unbounded) for a statistic that rises with the linear knee and falls
    with the Elman knee (or the reverse): a top knee may truly lie higher, a bottom one lower."""
    up = (r.linear == top) | (r.elman == 0)           # the statistic may truly be higher
    down = (r.linear == 0) | (r.elman == top)         # ... or lower
    return (down, up) if rises_with_linear else (up, down)


def estimate_ratio_difference(m: PairedSweeps, resamples: int | None = None) -> tuple[float, tuple[float, float]]:
    """Δ = ρ_k(linear) − ρ_k(Elman) in percentage points and its 95% widened bootstrap interval
    (resamples with a knee at a grid end bound Δ on one side only)."""
    r = resample_knees(m, resamples=resamples)
    ratios = np.asarray(m.elman.ratios)
    samples = 100 * (ratios[r.linear] - ratios[r.elman])
    interval = censored_interval(samples, *_censoring_masks(r, len(ratios) - 1, True))
    return 100 * (m.linear.knee - m.elman.knee), interval


def decide_linear_vs_elman(m: PairedSweeps) -> tuple[str, str]:
    """Inconclusive when a knee sits at a grid end (censored); then, in order: confirmed when Δ's
    interval excludes 0; refuted when inside [−3, 3] points."""
    delta, interval = estimate_ratio_difference(m)
    text = (f"ρ_k(linear) = {m.linear.knee:.1%}, ρ_k(Elman) = {m.elman.knee:.1%}, Δ = {delta:+.1f} points, "
            f"95% interval {_fmt_interval(interval, 1)}")
    return decide_difference_against_band(text, censored_reason(m.labelled()), interval, RATIO_BAND,
                                          f"{RATIO_BAND:g} points")


def linear_vs_elman_to_decide(m: PairedSweeps, reference_losses=None) -> str:
    if censored_reason(m.labelled()):
        return knee_grid_to_decide(m.labelled(), reference_losses)
    per_seed = 100 * (m.linear.per_seed_knees() - m.elman.per_seed_knees())
    band = (-RATIO_BAND, 0.0, RATIO_BAND)
    return seeds_text(seeds_to_decide(per_seed, band), "the per-seed Δ (points)", band)


# ------------------------------------------------------------------ observed.nonlinear_correction

@dataclass(frozen=True)
class CorrectionMeasurements:
    sweeps: PairedSweeps
    alpha_static_elman: np.ndarray      # (seeds,): fitted α of the Elman reference's W_h
    alpha_static_linear: np.ndarray     # (seeds,): the same for the linear reference


@functools.lru_cache(maxsize=None)
def implied(ratio: float) -> float:
    """α_implied = (ln ε / ln ρ_k + 1)/2 at ε = 0.05 (spectral.implied_alpha)."""
    from impl.spectral.rank_formulas import implied_alpha
    return float(implied_alpha(ratio, EPS_ASSUMED))


def _correction(elman_knee, linear_knee, alpha_elman, alpha_linear) -> float:
    delta_elman = implied(elman_knee) - float(np.mean(alpha_elman))
    return delta_elman - (implied(linear_knee) - float(np.mean(alpha_linear)))


def estimate_correction(m: CorrectionMeasurements, resamples: int | None = None) -> tuple[float, tuple[float, float]]:
    """c = δ(Elman) − δ(linear), δ = α_implied − α_static, and its 95% widened bootstrap interval.
    α_implied rises with ρ_k (ln ε < ln ρ_k < 0), so c rises with the Elman knee: a resample whose
    knee sits at a grid end bounds c on one side only."""
    s = m.sweeps
    r = resample_knees(s, extra_groups=2, resamples=resamples)
    alphas = [widen(a, r.factor) for a in (m.alpha_static_elman, m.alpha_static_linear)]
    implied_by_index = np.array([implied(ratio) for ratio in s.elman.ratios])
    samples = (implied_by_index[r.elman] - alphas[0][r.extra[:, 0]].mean(axis=1)
               - implied_by_index[r.linear] + alphas[1][r.extra[:, 1]].mean(axis=1))
    interval = censored_interval(samples, *_censoring_masks(r, len(s.elman.ratios) - 1, False))
    point = _correction(s.elman.knee, s.linear.knee, m.alpha_static_elman, m.alpha_static_linear)
    return point, interval


def decide_nonlinear_correction(m: CorrectionMeasurements) -> tuple[str, str]:
    """Inconclusive when a knee sits at a grid end (censored: α_implied is then only bounded);
    then, in order: confirmed when c's interval excludes 0; refuted when inside [−0.05, 0.05]."""
    c, interval = estimate_correction(m)
    text = f"c = {c:+.3f}, 95% interval {_fmt_interval(interval)}"
    return decide_difference_against_band(text, censored_reason(m.sweeps.labelled()), interval, CORRECTION_BAND,
                                          f"{CORRECTION_BAND}")


def correction_to_decide(m: CorrectionMeasurements, reference_losses=None) -> str:
    s = m.sweeps
    if censored_reason(s.labelled()):
        return knee_grid_to_decide(s.labelled(), reference_losses)
    per_seed = np.array([_correction(e, l, ae, al) for e, l, ae, al in
                         zip(s.elman.per_seed_knees(), s.linear.per_seed_knees(),
                             m.alpha_static_elman, m.alpha_static_linear)])
    band = (-CORRECTION_BAND, 0.0, CORRECTION_BAND)
    return seeds_text(seeds_to_decide(per_seed, band), "the per-seed c", band)


# ------------------------------------------------------------------ observed.lower_rank_better_flow

@dataclass(frozen=True)
class FlowMeasurements:
    ratios: tuple[float, ...]       # ascending; the last one (30%) sets L_thr
    snr: np.ndarray                 # (ratios, seeds): SNR of (U_h, V_h) averaged over the checkpoints
    losses: np.ndarray              # (ratios, seeds, steps): training loss per step
    window: int                     # trailing mean over this many steps gives "the loss at step t"


@dataclass(frozen=True)
class FlowEstimate:
    b_snr: float
    snr_interval: tuple[float, float]
    b_steps: float
    steps_interval: tuple[float, float]
    threshold: float                # L_thr
    steps_to_threshold: tuple[float, ...]   # T(ρ); nan where never reached (capacity limit)


def smoothed(losses: np.ndarray, window: int) -> np.ndarray:
    """Trailing means over `window` steps along the last axis: entry j is the loss at step j + window − 1."""
    c = np.cumsum(np.asarray(losses, dtype=float), axis=-1)
    c = np.concatenate([np.zeros(c.shape[:-1] + (1,)), c], axis=-1)
    return (c[..., window:] - c[..., :-window]) / window


def _thresholds_and_steps(means: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """For seed-mean trailing-mean curves (..., ratios, steps − window + 1): L_thr = the top ratio's
    loss at half of training, and T per ratio = the first step whose loss <= L_thr (nan if never)."""
    half = (means.shape[-1] + window - 1) // 2
    threshold = means[..., -1, half - window + 1]
    reached = means <= threshold[..., None, None]
    first = np.argmax(reached, axis=-1).astype(float) + window - 1
    return threshold, np.where(reached.any(axis=-1), first, math.nan)


def _steps_to_threshold(curves: list[np.ndarray], window: int) -> tuple[float, list[float]]:
    """(L_thr, T(ρ) per ratio) from per-ratio (seeds, steps − window + 1) trailing means of the loss
    (`smoothed`): L_thr = the top ratio's seed-mean loss at half of training, T = the first step at
    which a ratio's seed-mean loss <= L_thr (nan if never)."""
    threshold, steps = _thresholds_and_steps(np.stack([c.mean(axis=0) for c in curves]), window)
    return float(threshold), [float(t) for t in steps]


def estimate_flow(m: FlowMeasurements, resamples: int | None = None) -> FlowEstimate:
    """Slopes of ln SNR and ln T on ln ρ with 95% widened bootstrap intervals (the SNR and the loss
    curve of one run are resampled together; ln SNR and each step's loss are widened over seeds).
    Where some resample leaves fewer than 2 ratios reaching L_thr, b_T's interval is unbounded."""
    log_ratio = np.log(m.ratios)
    ratios, seeds = m.snr.shape
    curves = smoothed(m.losses, m.window)                                    # (ratios, seeds, steps')
    factor = widening(seeds)
    draws = seed_draws(ratios, seeds, resamples)
    snr_means = resampled_means(np.exp(widen(np.log(m.snr), factor)), draws)
    snr_samples = _slopes(log_ratio, np.log(snr_means))
    widened = widen(curves, factor, axis=1)
    means = np.stack([widened[i][draws[:, i]].mean(axis=1) for i in range(ratios)], axis=1)
    steps_samples = _slopes(log_ratio, np.log(_thresholds_and_steps(means, m.window)[1]))
    steps_interval = (percentile_interval(steps_samples) if np.all(np.isfinite(steps_samples))
                      else (-math.inf, math.inf))
    threshold, steps = _thresholds_and_steps(curves.mean(axis=1), m.window)
    return FlowEstimate(_slope(log_ratio, np.log(m.snr.mean(axis=1))), percentile_interval(snr_samples),
                        float(_slopes(log_ratio, np.log(steps))), steps_interval, float(threshold),
                        tuple(float(t) for t in steps))


def decide_lower_rank_better_flow(m: FlowMeasurements) -> tuple[str, str]:
    """Confirmed when b_S's interval lies below 0 and b_T's above 0; refuted when either lies on the
    wrong side of 0 or both lie inside [−0.05, 0.05]; otherwise inconclusive."""
    e = estimate_flow(m)
    text = (f"b_S = {e.b_snr:+.3f} {_fmt_interval(e.snr_interval)}, b_T = {e.b_steps:+.3f} "
            f"{_fmt_interval(e.steps_interval)} (T(ρ) to L_thr = {e.threshold:.4f}: "
            + ", ".join(f"{r:.0%}: {t:g}" for r, t in zip(m.ratios, e.steps_to_threshold)) + ")")
    if e.snr_interval[1] < 0 and e.steps_interval[0] > 0:
        return "confirmed", text
    if e.snr_interval[0] > 0 or e.steps_interval[1] < 0:
        return "refuted", text + " — a slope lies on the wrong side of 0"
    band = (-FLOW_BAND, FLOW_BAND)
    if _inside(e.snr_interval, band) and _inside(e.steps_interval, band):
        return "refuted", text + f" — both slopes inside ±{FLOW_BAND}"
    return "inconclusive", text + " — an interval contains 0"


def flow_to_decide(m: FlowMeasurements) -> str:
    """From per-seed slopes (each seed's own SNRs and loss curves, its own L_thr)."""
    log_ratio = np.log(m.ratios)
    band = (-FLOW_BAND, 0.0, FLOW_BAND)
    b_snr = _slopes(log_ratio, np.log(m.snr.T))
    b_steps = _slopes(log_ratio, np.log(_thresholds_and_steps(smoothed(m.losses, m.window).transpose(1, 0, 2),
                                                             m.window)[1]))
    parts = [seeds_text(seeds_to_decide(b_snr, band), "the per-seed b_S", band)]
    parts.append(seeds_text(seeds_to_decide(b_steps, band), "the per-seed b_T", band)
                 if np.all(np.isfinite(b_steps)) else
                 "b_T: some seed's own curves reach its L_thr at fewer than 2 ratios, so more seeds and "
                 "longer runs (every ratio reaching L_thr) would be needed")
    return "; ".join(parts)


# ------------------------------------------------------------------ observed.multi_matrix

@dataclass(frozen=True)
class TwoByTwo:
    """Final losses per seed (paired: seed s has the same data order in every cell)."""
    both_dense: np.ndarray
    x_low: np.ndarray               # W_h dense, W_x low rank
    h_low: np.ndarray               # W_h low rank, W_x dense
    both_low: np.ndarray


def multi_contrasts(m: TwoByTwo) -> dict[str, np.ndarray]:
    """Per-seed E_h0, E_h1 and I."""
    e_h0 = np.asarray(m.x_low) - np.asarray(m.both_dense)
    e_h1 = np.asarray(m.both_low) - np.asarray(m.h_low)
    return {"E_h0": e_h0, "E_h1": e_h1, "I": e_h1 - e_h0}


def multi_effects(m: TwoByTwo) -> dict[str, tuple[float, float, float]]:
    """E_h0, E_h1, I as (mean, low, high): 95% t-intervals of the per-seed contrasts."""
    return {name: t_interval(values) for name, values in multi_contrasts(m).items()}


def decide_multi_matrix(m: TwoByTwo) -> tuple[str, str]:
    """Confirmed when an interval of E_h0, E_h1 or I excludes 0; refuted when all three lie inside
    [−0.01, 0.01] nats/byte; otherwise inconclusive."""
    effects = multi_effects(m)
    text = "; ".join(f"{k} = {v[0]:+.4f} [{v[1]:+.4f}, {v[2]:+.4f}]" for k, v in effects.items())
    if any(_excludes_zero(v[1:]) for v in effects.values()):
        return "confirmed", text + " nats/byte — an interval excludes 0"
    if all(_inside(v[1:], (-MULTI_BAND, MULTI_BAND)) for v in effects.values()):
        return "refuted", text + f" nats/byte — all inside ±{MULTI_BAND}"
    return "inconclusive", text + " nats/byte — every interval contains 0, not all inside the band"


def multi_to_decide(m: TwoByTwo) -> str:
    band = (-MULTI_BAND, 0.0, MULTI_BAND)
    return "; ".join(f"{name}: " + seeds_text(seeds_to_decide(values, band), f"the per-seed {name}", band)
                     for name, values in multi_contrasts(m).items())


# ------------------------------------------------------------------ observed.lr_scales_with_rank

@dataclass(frozen=True)
class LrMeasurements:
    ratios: tuple[float, ...]
    exponents: tuple[tuple[int, ...], ...]  # per ratio, consecutive k of lr = 1e-4 · 2^k, ascending
    losses: tuple[np.ndarray, ...]          # per ratio (lrs, seeds); inf for a diverged run


def optimal_log_lr(exponents, mean_losses) -> float:
    """ln lr*: vertex of the parabola in ln lr through the grid minimum and its two neighbours
    (the three end points when the minimum is at an end, the vertex then clipped to the grid);
    the minimum's own ln lr when those points are not convex or not all finite."""
    return float(optimal_log_lrs(exponents, np.asarray(mean_losses, dtype=float)))


def optimal_log_lrs(exponents, mean_losses: np.ndarray) -> np.ndarray:
    """optimal_log_lr along the last axis of (..., lrs) seed-mean losses."""
    x = math.log(LR_BASE) + np.asarray(exponents, dtype=float) * math.log(2)
    y = np.asarray(mean_losses, dtype=float)
    i = np.argmin(y, axis=-1)
    j = np.clip(i, 1, y.shape[-1] - 2)
    y0, y1, y2 = (np.take_along_axis(y, (j + o)[..., None], axis=-1)[..., 0] for o in (-1, 0, 1))
    curvature = y0 - 2 * y1 + y2
    usable = np.isfinite(y0) & np.isfinite(y1) & np.isfinite(y2) & (curvature > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        vertex = np.clip(x[j] - math.log(2) * (y2 - y0) / (2 * curvature), x[0], x[-1])
    return np.where(usable, vertex, x[i])


def _lr_slope(m: LrMeasurements, means) -> np.ndarray:
    """b for per-ratio (..., lrs) seed-mean final losses."""
    log_lr = np.stack([optimal_log_lrs(e, mean) for e, mean in zip(m.exponents, means)], axis=-1)
    return _slopes(np.log(m.ratios), log_lr)


def _widened_blocks(m: LrMeasurements) -> list[np.ndarray]:
    return [widen(block, widening(block.shape[1]), axis=1) for block in m.losses]


def estimate_lr_slope(m: LrMeasurements, resamples: int | None = None) -> tuple[float, tuple[float, float], list[float]]:
    """(b, its 95% widened bootstrap interval, lr*(ρ) per ratio) for ln lr* = a + b ln ρ. A seed has
    the same init and data order at every lr of a ratio, so a resample draws a ratio's seeds once
    for its whole lr grid (the ratios independently)."""
    blocks = _widened_blocks(m)
    draws = seed_draws(len(m.ratios), blocks[0].shape[1], resamples)
    samples = _lr_slope(m, [block[:, draws[:, i]].mean(axis=-1).T for i, block in enumerate(blocks)])
    means = [np.asarray(losses).mean(axis=1) for losses in m.losses]
    optima = [math.exp(optimal_log_lr(e, mean)) for e, mean in zip(m.exponents, means)]
    return float(_lr_slope(m, means)), percentile_interval(samples), optima


def lr_slope_interval_per_cell(m: LrMeasurements, resamples: int | None = None) -> tuple[float, float]:
    """b's 95% widened interval when every (ratio, lr) cell's seeds are resampled independently
    (breaking each seed's lr curve apart)."""
    sizes = [len(e) for e in m.exponents]
    blocks = _widened_blocks(m)
    draws = seed_draws(sum(sizes), blocks[0].shape[1], resamples)
    starts = np.cumsum([0, *sizes])
    means = [resampled_means(block, draws[:, a:b]) for block, a, b in zip(blocks, starts[:-1], starts[1:])]
    return percentile_interval(_lr_slope(m, means))


def lr_minimum_at_end(m: LrMeasurements) -> list[str]:
    return [f"{r:.0%}" for r, block in zip(m.ratios, m.losses)
            if int(np.argmin(block.mean(axis=1))) in (0, len(block) - 1)]


def decide_lr_scales_with_rank(m: LrMeasurements) -> tuple[str, str]:
    """Inconclusive while a ratio's seed-mean minimum is at an end of its lr grid (the extensions
    ran out); then, in order: confirmed when b's interval excludes 0; refuted when it lies inside
    [−0.1, 0.1]; otherwise inconclusive."""
    at_end = lr_minimum_at_end(m)
    b, interval, optima = estimate_lr_slope(m)
    # Both resampling schemes must agree: the seed-curve scheme was chosen after the per-cell one
    # had been seen, so a verdict that depends on the choice is reported as inconclusive.
    per_cell = lr_slope_interval_per_cell(m)
    text = (f"b = {b:+.3f}, 95% interval {_fmt_interval(interval)} (seed curves resampled), "
            f"{_fmt_interval(per_cell)} (cells resampled); lr* = "
            + ", ".join(f"{r:.0%}: {lr:.3g}" for r, lr in zip(m.ratios, optima)))
    if at_end:
        return "inconclusive", text + f" — the loss minimum is still at an end of the lr grid for {at_end}"
    if _excludes_zero(interval) and _excludes_zero(per_cell):
        return "confirmed", text + " — both exclude 0"
    if _inside(interval, (-LR_BAND, LR_BAND)) and _inside(per_cell, (-LR_BAND, LR_BAND)):
        return "refuted", text + f" — both inside ±{LR_BAND}"
    return "inconclusive", text + f" — the intervals do not both exclude 0 nor both lie inside ±{LR_BAND}"


def lr_to_decide(m: LrMeasurements) -> str:
    at_end = lr_minimum_at_end(m)
    if at_end:
        return f"an lr grid extended beyond its end for {at_end} (the minimum is still at the end)"
    per_seed = _lr_slope(m, [np.asarray(block).T for block in m.losses])          # (seeds,)
    band = (-LR_BAND, 0.0, LR_BAND)
    return seeds_text(seeds_to_decide(per_seed, band), "the per-seed b (each seed's own lr curves)", band)


# ============================================================== the runs

@dataclass(frozen=True)
class Spec:
    """A layer configuration: ranks of W_h, W_x, W_z (None: dense) and whether φ is tanh."""
    rank_h: int | None
    rank_x: int | None
    rank_z: int | None
    nonlinear: bool = True


def e5_form(ratio: float, nonlinear: bool = True) -> Spec:
    r = grid_rank(ratio, sizes().dim)
    return Spec(r, r, r, nonlinear)


def reference(nonlinear: bool = True) -> Spec:
    """The full-rank reference r = d (E5 form, factors of rank d)."""
    return Spec(sizes().dim, sizes().dim, sizes().dim, nonlinear)


def multi_cell(h_low: bool, x_low: bool) -> Spec:
    r = grid_rank(MULTI_RATIO, sizes().dim)
    return Spec(r if h_low else None, r if x_low else None, r)


def flow_specs() -> frozenset[Spec]:
    """The Elman grid: gradient SNR and κ_r are measured during training (at the grid lr)."""
    return frozenset(e5_form(ratio) for ratio in GRID)


def probed_specs() -> frozenset[Spec]:
    """The references and the 2 × 2 cells: held-out states probed after training (at the grid lr;
    the step Jacobian of the Elman reference only, the one α_J is read from)."""
    return frozenset([reference(True), reference(False),
                      *(multi_cell(h, x) for h in (False, True) for x in (False, True))])


@dataclass
class Run:
    final_loss: float                   # inf when the run diverged
    losses: np.ndarray | None           # per step; None when diverged
    held_out_loss: float
    sigma_h: list[np.ndarray]           # per layer: singular values of the capped W_h
    sigma_x: list[np.ndarray]           # per layer: singular values of W_x
    largest_norm: float                 # largest ‖W_h‖₂ before the cap, over checkpoints and layers
    snr: float | None                   # flow_specs(): mean over the 5 checkpoints
    kappa: float | None                 # flow_specs(): mean over checkpoints of the median σ_1/σ_r
    state_pr: float | None              # probed_specs(): median over layers, held-out hidden states
    jacobian_sigma: list[np.ndarray] | None   # the Elman reference: mean sorted σ of diag(1 − h²) W_h
    cpu_s: float
    parameters: int = 0                 # trainable parameters of the whole byte LM

    @classmethod
    def from_result(cls, result: dict) -> "Run":
        """A Run from `train_run`'s result as it comes back from the store (decoded JSON: lists
        for tuples, numpy arrays for tensors)."""
        def spectra(value):
            return None if value is None else [np.asarray(s, dtype=float) for s in value]

        def number(value):
            return None if value is None else float(value)

        return cls(final_loss=float(result["final_loss"]),
                   losses=None if result["losses"] is None else np.asarray(result["losses"], dtype=float),
                   held_out_loss=float(result["held_out_loss"]), sigma_h=spectra(result["sigma_h"]),
                   sigma_x=spectra(result["sigma_x"]), largest_norm=float(result["largest_norm"]),
                   snr=number(result["snr"]), kappa=number(result["kappa"]), state_pr=number(result["state_pr"]),
                   jacobian_sigma=spectra(result["jacobian_sigma"]), cpu_s=float(result["cpu_s"]),
                   parameters=int(result["parameters"]))


def median_alpha(spectra) -> float:
    """The registry's α (common.rank_alpha) of each layer's spectrum, median over layers."""
    return float(np.median([rank_alpha(s) for s in spectra]))


def residual_variance(sigma, rank: int) -> float:
    """ε = 1 − Σ_{i<=rank} σ_i² / Σ σ_i²."""
    from impl.spectral.spectra import captured_variance
    return 1.0 - float(captured_variance(torch.as_tensor(sigma, dtype=torch.float64))[rank - 1])


def rule_snr(gradients) -> float:
    """The rule's SNR = ‖ḡ‖² / ((1/K) Σ_k ‖g_k − ḡ‖²). impl's gradient_snr is
    ‖ḡ‖ / sqrt(Σ_k ‖g_k − ḡ‖² / (K − 1)), so the rule's is its square times K/(K − 1)."""
    k = len(gradients)
    return k / (k - 1) * gradient_snr(gradients) ** 2


def snr_of_factors(model, stream, seed: int, step: int, size: Sizes, placement: Placement) -> float:
    """rule_snr of the gradients of (U_h, V_h) over K independent training minibatches, drawn
    from their own generator (the training order is untouched), in the training's precision."""
    from impl.training.lm import next_byte_loss
    generator = torch.Generator().manual_seed(1_000_000 + 1000 * seed + step)
    factors = [p for layer in model.recurrences() for p in (layer.U_h, layer.V_h)]
    device = factors[0].device
    gradients = []
    for _ in range(SNR_MINIBATCHES):
        with placement.autocast_context():
            loss = next_byte_loss(model, stream.batch(size.batch, size.length, generator).to(device))
        gradients.append(torch.cat([g.reshape(-1).float().cpu() for g in torch.autograd.grad(loss, factors)]))
    return rule_snr(gradients)


def condition_number_of_recurrence(model) -> float:
    """Median over layers of κ_r = σ_1/σ_r of the capped W_h, r = its rank."""
    from impl.spectral.spectra import condition_number
    return float(np.median([condition_number(torch.linalg.svdvals(layer.recurrent_matrix().double()).cpu(),
                                             layer.ranks["h"]) for layer in model.recurrences()]))


def held_out_states(model, stream, size: Sizes, sequences: int) -> list[torch.Tensor]:
    """Per layer, the hidden states h_t (N, d) on the first `sequences` sequences of each fixed
    held-out window (float32 forward, on the model's device, states in float64)."""
    inputs: dict[int, list[torch.Tensor]] = {}
    layers = model.recurrences()
    device = next(model.parameters()).device
    handles = [layer.register_forward_hook(lambda mod, args, out, i=i: inputs.setdefault(i, []).append(args[0]))
               for i, layer in enumerate(layers)]
    try:
        with torch.no_grad():
            for window in stream.held_out_batches(size.batch, size.length, HELD_OUT_WINDOWS):
                model(window[:sequences, :-1].to(device))
            return [torch.cat([layer.states(x)[0] for x in inputs[i]]).reshape(-1, size.dim).double()
                    for i, layer in enumerate(layers)]
    finally:
        for handle in handles:
            handle.remove()


def participation_ratio_of_states(states: torch.Tensor) -> float:
    from impl.spectral.effective_rank import participation_ratio
    return float(participation_ratio(torch.linalg.svdvals(states - states.mean(dim=0)).cpu()))


def mean_jacobian_spectrum(layer, states: torch.Tensor, samples: int) -> np.ndarray:
    """Sorted singular values of J_t = diag(1 − h_t²) W_h (h_t = tanh(z_t)), averaged over
    `samples` positions drawn with a fixed generator."""
    generator = torch.Generator().manual_seed(0)
    picks = torch.randint(0, states.shape[0], (samples,), generator=generator)
    with torch.no_grad():
        W = layer.recurrent_matrix().double()
        h = states[picks.to(states.device)]
        return torch.linalg.svdvals((1 - h * h).unsqueeze(-1) * W).mean(dim=0).cpu().numpy()


@functools.lru_cache(maxsize=1)
def _stream():
    return byte_stream()


@cell_function(uses=("impl.parameters", "impl.training", "impl.elman", "impl.spectral", "impl.data", "impl.experiments.common",
                     "impl.experiments.stats", "claims.device"))
def train_run(*, rank_h: int | None, rank_x: int | None, rank_z: int | None, nonlinear: bool, seed: int,
              lr_exponent: int, dim: int, depth: int, steps: int, batch: int, length: int, measure_flow: bool,
              probe_sequences: int, jacobian_samples: int, placement: Placement) -> dict:
    """One training run of the byte LM with a FactoredElman layer (ranks None: dense), seed `seed`
    (init and data order), lr 1e-4 · 2^lr_exponent, and the measurements of Run: with
    `measure_flow` the gradient SNR of (U_h, V_h) and κ_r at steps 0, S/4, S/2, 3S/4, S; with
    `probe_sequences` > 0 the participation ratio of the hidden states on that many sequences of
    each held-out window; with `jacobian_samples` > 0 (tanh) the mean step-Jacobian spectrum at
    that many of those positions. A diverged run returns final_loss inf and no spectra."""
    from impl.elman.variants import FactoredElman
    from impl.parameters import num_parameters
    from impl.training.lm import ByteLM, LMConfig
    from impl.training.loop import train
    size = Sizes(dim=dim, depth=depth, steps=steps, batch=batch, length=length, lr_exponent=lr_exponent)
    stream = _stream()
    started = time.process_time()
    factory = lambda config, generator: FactoredElman(                         # noqa: E731
        config.dim, rank_h, rank_x, rank_z, nonlinear=nonlinear, generator=generator)
    model = ByteLM(LMConfig("custom:factored", dim, depth), seed=seed, layer_factory=factory)
    parameters = num_parameters(model)

    def checkpoint(model, step):
        """(largest ‖W_h‖₂ before the cap, SNR, κ_r); the last two with measure_flow only."""
        with torch.no_grad():
            norm = max(float(torch.linalg.matrix_norm(layer.matrix("h"), ord=2)) for layer in model.recurrences())
            kappa = condition_number_of_recurrence(model) if measure_flow else None
        snr = snr_of_factors(model, stream, seed, step, size, placement) if measure_flow else None
        return norm, snr, kappa

    try:
        result = train(model, stream, steps=steps, batch=batch, length=length, lr=learning_rate(lr_exponent),
                       data_seed=seed, held_out=HELD_OUT_WINDOWS, hooks={"checkpoint": (steps // 4, checkpoint)},
                       progress=False, placement=placement)
    except FloatingPointError:
        return {"final_loss": math.inf, "losses": None, "held_out_loss": math.nan, "sigma_h": [], "sigma_x": [],
                "largest_norm": math.nan, "snr": None, "kappa": None, "state_pr": None, "jacobian_sigma": None,
                "cpu_s": time.process_time() - started, "parameters": parameters}
    records = [value for _, value in result.records["checkpoint"]]
    layers = model.recurrences()
    with torch.no_grad():
        sigma_h = [torch.linalg.svdvals(layer.recurrent_matrix().double()).cpu().numpy() for layer in layers]
        sigma_x = [torch.linalg.svdvals(layer.input_matrix().double()).cpu().numpy() for layer in layers]
    state_pr = jacobian = None
    if probe_sequences:
        states = held_out_states(model, stream, size, probe_sequences)
        state_pr = float(np.median([participation_ratio_of_states(s) for s in states]))
        if jacobian_samples and nonlinear:
            jacobian = [mean_jacobian_spectrum(layer, s, jacobian_samples) for layer, s in zip(layers, states)]
    return {"final_loss": result.final_loss(FINAL_STEPS), "losses": np.asarray(result.losses, dtype=float),
            "held_out_loss": result.held_out_loss, "sigma_h": sigma_h, "sigma_x": sigma_x,
            "largest_norm": max(norm for norm, _, _ in records),
            "snr": float(np.mean([snr for _, snr, _ in records])) if measure_flow else None,
            "kappa": float(np.mean([kappa for _, _, kappa in records])) if measure_flow else None,
            "state_pr": state_pr, "jacobian_sigma": jacobian, "cpu_s": time.process_time() - started,
            "parameters": parameters}


# ------------------------------------------------------------------ cells

RunKey = tuple  # (Spec, seed, lr_exponent)


def parameter_count(spec: Spec, dim: int, depth: int) -> int:
    """Trainable parameters of the byte LM with this layer, counted without building it: embedding
    256·d (tied head), per layer a pre-LN (2d) and FactoredElman (d² per dense W, 2dr per rank-r
    one, bias d), final LN 2d."""
    layer = sum(dim * dim if r is None else 2 * dim * r for r in (spec.rank_h, spec.rank_x, spec.rank_z)) + dim
    return 256 * dim + depth * (2 * dim + layer) + 2 * dim


def run_cell(spec: Spec, seed: int, lr_exponent: int | None = None) -> Cell:
    """The cell training `spec` with `seed` at lr 1e-4 · 2^lr_exponent (default: the grid lr)."""
    size = sizes()
    k = size.lr_exponent if lr_exponent is None else lr_exponent
    grid_lr = k == size.lr_exponent
    return make_cell(train_run, EXPERIMENT, params=parameter_count(spec, size.dim, size.depth), tokens=size.tokens,
                     rank_h=spec.rank_h, rank_x=spec.rank_x, rank_z=spec.rank_z, nonlinear=spec.nonlinear,
                     seed=seed, lr_exponent=k, dim=size.dim, depth=size.depth, steps=size.steps, batch=size.batch,
                     length=size.length, measure_flow=grid_lr and spec in flow_specs(),
                     probe_sequences=size.probe_sequences if grid_lr and spec in probed_specs() else 0,
                     jacobian_samples=size.jacobian_samples if grid_lr and spec == reference(True) else 0)


def _key_of(cell: Cell) -> RunKey:
    c = cell.config_dict
    return Spec(c["rank_h"], c["rank_x"], c["rank_z"], c["nonlinear"]), c["seed"], c["lr_exponent"]


def declared_keys() -> list[RunKey]:
    """Every (spec, seed, lr exponent) the experiment trains before the lr sweep's extensions, in
    the claims' order: Elman grid and reference, linear grid and reference, the 2 × 2 cells, the
    lr grid (its runs at the grid lr are the Elman grid's own)."""
    size = sizes()
    specs = [*(e5_form(r) for r in GRID), reference(True), *(e5_form(r, False) for r in GRID), reference(False),
             *(multi_cell(h, x) for h in (False, True) for x in (False, True))]
    keys = [(spec, seed, size.lr_exponent) for spec in specs for seed in SEEDS]
    keys += [(e5_form(r), seed, k) for r in LR_RATIOS for k in LR_GRID for seed in SEEDS]
    return list(dict.fromkeys(keys))


def declare_cells() -> list[Cell]:
    """Every cell of the experiment at the current scale, before the lr sweep's extensions (at most
    LR_EXTENSIONS more lrs per end and ratio, declared only when a minimum sits at an end)."""
    return [run_cell(*key) for key in declared_keys()]


class Lab:
    """The runs of the experiment by (spec, seed, lr exponent), rebuilt from cell records; a run
    it does not hold (an lr extension) is fetched as a further cell through `fetch` (a callable
    taking cells and returning their records in order)."""

    def __init__(self, fetch: Callable[[list[Cell]], Sequence[dict]] | None = None):
        self.fetch = fetch
        self.runs: dict[RunKey, Run] = {}
        self.precisions: set[str] = set()

    @classmethod
    def from_records(cls, cells: Sequence[Cell], records: Sequence[dict], fetch=None) -> "Lab":
        lab = cls(fetch)
        lab.add(cells, records)
        return lab

    def add(self, cells: Sequence[Cell], records: Sequence[dict]) -> None:
        if len(cells) != len(records):
            raise ValueError(f"Lab.add: {len(cells)} cells but {len(records)} records")
        for cell, record in zip(cells, records):
            if cell.experiment != EXPERIMENT:
                raise ValueError(f"Lab.add: cell {cell.describe()} is not a {EXPERIMENT} cell")
            self.runs[_key_of(cell)] = Run.from_result(record["result"])
            dtype = record.get("meta", {}).get("dtype", "float32")      # the training's compute dtype
            self.precisions.add("float32" if dtype == "float32" else f"{dtype} autocast, float32 weights")

    def ensure(self, keys: Sequence[RunKey]) -> None:
        """Fetch the runs of `keys` this Lab does not hold yet (one batch of cells)."""
        missing = list(dict.fromkeys(key for key in keys if key not in self.runs))
        if not missing:
            return
        if self.fetch is None:
            raise KeyError(f"Lab: no run for {missing[0]} (and {len(missing) - 1} more) and no fetch to run them")
        cells = [run_cell(*key) for key in missing]
        self.add(cells, list(self.fetch(cells)))

    def run(self, spec: Spec, seed: int, lr_exponent: int | None = None) -> Run:
        key = (spec, seed, sizes().lr_exponent if lr_exponent is None else lr_exponent)
        self.ensure([key])
        return self.runs[key]

    def seeds(self, spec: Spec, what: str = "final_loss", lr_exponent: int | None = None) -> np.ndarray:
        return np.array([getattr(self.run(spec, seed, lr_exponent), what) for seed in SEEDS])

    def sweep(self, nonlinear: bool = True) -> KneeSweep:
        return KneeSweep(tuple(grid_rank(r, sizes().dim) / sizes().dim for r in GRID),
                         np.stack([self.seeds(e5_form(r, nonlinear)) for r in GRID]))

    def cpu_s(self, specs, lr_exponents=None) -> float:
        lr_exponents = (sizes().lr_exponent,) if lr_exponents is None else lr_exponents
        return sum(run.cpu_s for (spec, _, k), run in self.runs.items() if spec in specs and k in lr_exponents)

    def precision(self) -> str:
        return " and ".join(sorted(self.precisions)) or "float32"


# ============================================================== evidence helpers

def record_interval(evidence, name: str, point: float, interval, unit: str) -> None:
    evidence.figure(name, point, unit)
    evidence.figure(f"{name}: 95% widened bootstrap interval low", interval[0], unit)
    evidence.figure(f"{name}: 95% widened bootstrap interval high", interval[1], unit)


def record_setup(evidence, lab: Lab, specs, what: str, lr_exponents=None) -> None:
    lr_exponents = (sizes().lr_exponent,) if lr_exponents is None else lr_exponents
    evidence.note(f"Byte-level LM (embedding, pre-LN residual FactoredElman layer, tied head; "
                  f"impl.elman.variants): {what}. {sizes().describe(lab.precision())}. {ORIGINAL}.")
    if scale() != "full":
        evidence.note(f"CLAIMS_SCALE=full would train {FULL.describe('bf16 autocast on a GPU')}")
    evidence.note("W_h is used as W_h · min(1, 0.99/‖W_h‖₂) in every model (Elman and linear alike); "
                  "init: U, V orthogonal × 0.5, dense W orthogonal × 0.25 (E5's). Final loss = mean "
                  "training loss over the last 100 steps (nats/byte); held-out loss = mean over "
                  f"{HELD_OUT_WINDOWS} fixed windows of {sizes().batch} × {sizes().length} bytes of the corpus's "
                  "last 5%; no throughput is measured")
    used = [run for (spec, _, k), run in lab.runs.items() if spec in specs and k in lr_exponents]
    evidence.figure("largest ‖W_h‖₂ before the cap, over the runs used (cap acts above 0.99)",
                    max(run.largest_norm for run in used if math.isfinite(run.final_loss)), "1")
    evidence.figure("CPU time of the training runs this claim uses (shared runs counted in each claim)",
                    lab.cpu_s(specs, lr_exponents), "s")


def record_grid(evidence, lab: Lab, nonlinear: bool) -> None:
    label = "Elman" if nonlinear else "linear"
    for ratio in GRID:
        r = grid_rank(ratio, sizes().dim)
        record_spread(evidence, f"final loss, {label}, {ratio}% (r = {r}/{sizes().dim})",
                      lab.seeds(e5_form(ratio, nonlinear)), "nats/byte")
    record_spread(evidence, f"final loss, {label}, reference r = d", lab.seeds(reference(nonlinear)), "nats/byte")
    held_out = np.stack([lab.seeds(e5_form(ratio, nonlinear), "held_out_loss") for ratio in GRID])
    evidence.note(f"held-out loss, {label} (seed means, not deciding): "
                  + ", ".join(f"{ratio}%: {row.mean():.4f}" for ratio, row in zip(GRID, held_out)))


SOURCE_SCALE = ("E5 (000 § Empirically Observed › E5 Results; REFERENCE §2): d = 1536, depth 20, r = 270 "
                "(17.6%) in a ~50M-parameter model, 1000 steps × 256 × 512 bytes = 131M tokens, single runs; "
                "001 (§§ 1.3, 2.2, 2.3, 4.2, 4.3) asks for the grid {5, …, 30}% at one fixed d and names no "
                "smaller size")


def record_scale(evidence, lab: Lab, specs, what: str, lr_exponents=None) -> None:
    """evidence.scale for this claim: sizes, rank grid, parameters, tokens, seeds of the runs it uses."""
    lr_exponents = (sizes().lr_exponent,) if lr_exponents is None else lr_exponents
    used = [run for (spec, _, k), run in lab.runs.items() if spec in specs and k in lr_exponents]
    params = sorted({run.parameters for run in used})
    evidence.scale(f"{what}; d = {sizes().dim}, depth {sizes().depth}, ranks r = "
                   + ", ".join(str(grid_rank(r, sizes().dim)) for r in GRID)
                   + f" of {sizes().dim} ({GRID[0]}–{GRID[-1]}%) "
                   f"and the full-rank reference; {params[0]:,}–{params[-1]:,} parameters per model; "
                   f"{sizes().steps} steps × {sizes().batch} × {sizes().length} bytes = {sizes().tokens:,} tokens "
                   f"per run; {len(used)} runs, seeds {SEEDS} per configuration (scale {scale()})",
                   SOURCE_SCALE, reduced=scale() != "full")


def plot_sweep(ax, sweep: KneeSweep, label: str, x=None) -> None:
    x = 100 * np.asarray(sweep.ratios) if x is None else x
    means = sweep.losses.mean(axis=1)
    half = [t_interval(row)[2] - row.mean() for row in sweep.losses]
    ax.errorbar(x, means, yerr=half, marker="o", capsize=3, label=label)


def elman_grid() -> frozenset[Spec]:
    return frozenset(e5_form(ratio) for ratio in GRID)


def linear_grid() -> frozenset[Spec]:
    return frozenset(e5_form(ratio, nonlinear=False) for ratio in GRID)


def reference_eps(lab: Lab) -> np.ndarray:
    """(seeds, grid ratios): ε(ρ) of the Elman reference's W_h (median over layers)."""
    spectra = [lab.run(reference(), seed).sigma_h for seed in SEEDS]
    return np.array([[np.median([residual_variance(s, grid_rank(ratio, sizes().dim)) for s in layers])
                      for ratio in GRID] for layers in spectra])


def reference_losses(lab: Lab) -> dict[str, np.ndarray]:
    """Per-seed final losses of the full-rank references (where a censored knee's grid should reach)."""
    return {"Elman": lab.seeds(reference(True)), "linear": lab.seeds(reference(False))}


def reference_alphas(lab: Lab, nonlinear: bool = True) -> np.ndarray:
    return np.array([median_alpha(lab.run(reference(nonlinear), seed).sigma_h) for seed in SEEDS])


# ============================================================== the experiments

def report_eps_threshold(lab: Lab, evidence) -> None:
    eps = reference_eps(lab)
    m = EpsMeasurements(lab.sweep(), eps, reference_alphas(lab))
    e = estimate_eps(m)
    verdict, reason = decide_eps_threshold(m)
    bound = {"top": " (an upper bound: the knee is at the grid's top)",
             "bottom": " (a lower bound: the knee is at the grid's bottom)"}.get(e.censored, "")
    record_interval(evidence, f"ε̂ = ε(ρ_k) of the reference's W_h{bound}", e.eps, e.interval, "1")
    evidence.figure("knee ratio ρ_k", 100 * e.knee, "%")
    for ratio, column in zip(GRID, eps.T):
        record_spread(evidence, f"ε({ratio}%) of the reference's W_h", column, "1")
    record_grid(evidence, lab, nonlinear=True)
    record_spread(evidence, "α̂ of the reference's W_h", m.reference_alpha, "1")
    evidence.figure("success criterion: ε̂^(1/(2α̂−1)), to compare with ρ_k (nan when α̂ <= 1/2)",
                    e.predicted_ratio, "1")
    evidence.note("ε(ρ) = 1 − Σ_{i<=r} σ_i²/Σ σ_i² with r = the grid rank, from the trained full-rank "
                  "reference (E5 form, r = d) of each seed; the bootstrap resamples the grid's and the "
                  "reference's seeds")
    record_setup(evidence, lab, elman_grid() | {reference()},
                 "Elman grid (E5 form, tanh) and its full-rank reference")
    record_scale(evidence, lab, elman_grid() | {reference()}, "Elman grid (tanh) and its full-rank reference")

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    plot_sweep(left, m.sweep, "Elman grid", x=1 - eps.mean(axis=0))
    left.axvline(1 - e.eps, color="grey", ls="--", label=f"knee ρ_k = {e.knee:.1%}")
    left.set(xlabel="variance captured by rank r in the reference's W_h, 1 − ε(ρ)",
             ylabel="final loss (nats/byte)", title="loss against captured variance")
    left.legend(fontsize=8)
    right.plot(GRID, eps.mean(axis=0), marker="o")
    right.axhspan(*EPS_BAND, color="green", alpha=0.15, label="[0.025, 0.10]")
    right.axhline(e.eps, color="grey", ls="--", label=f"ε̂ = {e.eps:.3f}")
    right.set(xlabel="r/d (%)", ylabel="ε(ρ)", yscale="log", title="residual variance of the reference")
    right.legend(fontsize=8)
    save_figure(fig, evidence, "observed.eps_threshold",
                "final loss against captured variance; ε(ρ) of the reference")
    conclude(evidence, verdict, reason, lambda: eps_to_decide(m, lab.seeds(reference())))


def report_linear_vs_elman_ratio(lab: Lab, evidence) -> None:
    m = PairedSweeps(lab.sweep(True), lab.sweep(False))
    delta, interval = estimate_ratio_difference(m)
    verdict, reason = decide_linear_vs_elman(m)
    record_interval(evidence, "Δ = ρ_k(linear) − ρ_k(Elman)", delta, interval, "percentage points")
    evidence.figure("knee ratio ρ_k, Elman", 100 * m.elman.knee, "%")
    evidence.figure("knee ratio ρ_k, linear", 100 * m.linear.knee, "%")
    record_grid(evidence, lab, nonlinear=True)
    record_grid(evidence, lab, nonlinear=False)
    record_setup(evidence, lab, elman_grid() | linear_grid(),
                 "Elman grid (tanh) and linear grid (the same layer without tanh), E5 form")
    record_scale(evidence, lab, elman_grid() | linear_grid() | {reference(True), reference(False)},
                 "Elman (tanh) and linear grids with a full-rank reference each")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for sweep, label in ((m.elman, "Elman (tanh)"), (m.linear, "linear (no tanh)")):
        plot_sweep(ax, sweep, f"{label}, knee {sweep.knee:.1%}")
    ax.set(xlabel="r/d (%)", ylabel="final loss (nats/byte)",
           title=f"Δ = {delta:+.1f} points {_fmt_interval(interval, 1)}")
    ax.legend(fontsize=8)
    save_figure(fig, evidence, "observed.linear_vs_elman_ratio", "final loss against r/d, Elman and linear")
    conclude(evidence, verdict, reason, lambda: linear_vs_elman_to_decide(m, reference_losses(lab)))


def report_nonlinear_correction(lab: Lab, evidence) -> None:
    sweeps = PairedSweeps(lab.sweep(True), lab.sweep(False))
    m = CorrectionMeasurements(sweeps, reference_alphas(lab, True), reference_alphas(lab, False))
    c, interval = estimate_correction(m)
    verdict, reason = decide_nonlinear_correction(m)
    record_interval(evidence, "c = δ(Elman) − δ(linear)", c, interval, "1")
    for label, sweep, alphas in (("Elman", sweeps.elman, m.alpha_static_elman),
                                 ("linear", sweeps.linear, m.alpha_static_linear)):
        evidence.figure(f"ρ_k, {label}", 100 * sweep.knee, "%")
        evidence.figure(f"α_implied, {label} (ε = 0.05)", implied(sweep.knee), "1")
        record_spread(evidence, f"α_static, {label} reference W_h", alphas, "1")
        evidence.figure(f"δ = α_implied − α_static, {label}", implied(sweep.knee) - alphas.mean(), "1")
    alpha_j = np.array([median_alpha(lab.run(reference(), seed).jacobian_sigma) for seed in SEEDS])
    record_spread(evidence, "α_J of the Elman reference's step Jacobian (reported)", alpha_j, "1")
    evidence.figure("α_static(Elman) + c (reported next to α_J)", m.alpha_static_elman.mean() + c, "1")
    evidence.note(f"α_J: the sorted singular values of diag(1 − h_t²) W_h averaged over {sizes().jacobian_samples} "
                  f"positions of {HELD_OUT_WINDOWS} held-out windows, fitted like α_static")
    record_grid(evidence, lab, nonlinear=True)
    record_grid(evidence, lab, nonlinear=False)
    record_setup(evidence, lab, elman_grid() | linear_grid() | {reference(True), reference(False)},
                 "Elman and linear grids (E5 form) with a full-rank reference each")
    record_scale(evidence, lab, elman_grid() | linear_grid() | {reference(True), reference(False)},
                 "Elman (tanh) and linear grids with a full-rank reference each")

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    ranks = np.arange(1, sizes().dim + 1)
    for spectra, label in ((lab.run(reference(True), 0).sigma_h, "Elman W_h"),
                           (lab.run(reference(False), 0).sigma_h, "linear W_h"),
                           (lab.run(reference(True), 0).jacobian_sigma, "Elman mean Jacobian")):
        left.loglog(ranks, spectra[0], label=label)
    left.set(xlabel="rank i", ylabel="σ_i", title="reference spectra (seed 0, layer 1)")
    left.legend(fontsize=8)
    names = ["α_static", "α_implied"]
    for offset, (label, sweep, alphas) in enumerate((("Elman", sweeps.elman, m.alpha_static_elman),
                                                     ("linear", sweeps.linear, m.alpha_static_linear))):
        right.bar(np.arange(2) + 0.4 * offset, [alphas.mean(), implied(sweep.knee)], width=0.4, label=label)
    right.set_xticks(np.arange(2) + 0.2, names)
    right.set(title=f"c = {c:+.3f} {_fmt_interval(interval)}")
    right.legend(fontsize=8)
    save_figure(fig, evidence, "observed.nonlinear_correction",
                "reference spectra; static and implied α per architecture")
    conclude(evidence, verdict, reason, lambda: correction_to_decide(m, reference_losses(lab)))


def report_lower_rank_better_flow(lab: Lab, evidence) -> None:
    ratios = tuple(grid_rank(r, sizes().dim) / sizes().dim for r in GRID)
    runs = [[lab.run(e5_form(ratio), seed) for seed in SEEDS] for ratio in GRID]
    m = FlowMeasurements(ratios, np.array([[run.snr for run in row] for row in runs]),
                         np.array([[run.losses for run in row] for row in runs]), sizes().smoothing)
    e = estimate_flow(m)
    verdict, reason = decide_lower_rank_better_flow(m)
    record_interval(evidence, "b_S: slope of ln SNR on ln ρ", e.b_snr, e.snr_interval, "1")
    record_interval(evidence, "b_T: slope of ln T on ln ρ", e.b_steps, e.steps_interval, "1")
    evidence.figure("L_thr: the 30% model's seed-mean loss at half of training", e.threshold, "nats/byte")
    for ratio, snr, steps in zip(GRID, m.snr, e.steps_to_threshold):
        record_spread(evidence, f"gradient SNR of (U_h, V_h), {ratio}%", snr, "1")
        evidence.figure(f"T({ratio}%): steps to L_thr (nan: never reached)", steps, "steps")
    kappa = np.array([[run.kappa for run in row] for row in runs])
    evidence.figure("correlation of ln SNR with ln κ_r over the runs (reported)",
                    float(np.corrcoef(np.log(m.snr).ravel(), np.log(kappa).ravel())[0, 1]), "1")
    for ratio, row in zip(GRID, kappa):
        record_spread(evidence, f"κ_r = σ_1/σ_r of W_h, {ratio}% (checkpoint mean)", row, "1")
    evidence.note(f"SNR = ‖ḡ‖²/mean_k ‖g_k − ḡ‖² over K = {SNR_MINIBATCHES} minibatches of {sizes().batch} × "
                  f"{sizes().length} bytes at steps 0, S/4, S/2, 3S/4, S (S = {sizes().steps}), averaged; "
                  f"the loss at step t is the trailing mean of the training loss over {sizes().smoothing} steps")
    record_setup(evidence, lab, elman_grid(), "Elman grid (E5 form, tanh), one learning rate")
    record_scale(evidence, lab, elman_grid(), "Elman grid (tanh), one learning rate, no reference used")

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    means = m.snr.mean(axis=1)
    left.errorbar(GRID, means, yerr=[t_interval(row)[2] - row.mean() for row in m.snr], marker="o", capsize=3)
    left.set(xscale="log", yscale="log", xlabel="r/d (%)", ylabel="gradient SNR of (U_h, V_h)",
             title=f"b_S = {e.b_snr:+.2f} {_fmt_interval(e.snr_interval, 2)}")
    steps = np.arange(sizes().smoothing - 1, sizes().steps)
    for ratio, curves in zip(GRID, m.losses):
        right.plot(steps, smoothed(curves, sizes().smoothing).mean(axis=0), label=f"{ratio}%", lw=1)
    right.axhline(e.threshold, color="k", ls="--", lw=1, label="L_thr")
    right.set(xlabel="step", ylabel=f"training loss, {sizes().smoothing}-step mean",
              ylim=(e.threshold - 0.4, e.threshold + 0.6),
              title=f"b_T = {e.b_steps:+.2f} {_fmt_interval(e.steps_interval, 2)}")
    right.legend(fontsize=7, ncol=2)
    save_figure(fig, evidence, "observed.lower_rank_better_flow", "gradient SNR and loss curves against r/d")
    conclude(evidence, verdict, reason, lambda: flow_to_decide(m))


def report_multi_matrix(lab: Lab, evidence) -> None:
    cells = {"both dense": multi_cell(False, False), "W_h dense, W_x low": multi_cell(False, True),
             "W_h low, W_x dense": multi_cell(True, False), "both low": multi_cell(True, True)}
    m = TwoByTwo(*(lab.seeds(spec) for spec in cells.values()))
    effects = multi_effects(m)
    verdict, reason = decide_multi_matrix(m)
    for name, (mean, lo, hi) in effects.items():
        evidence.figure(f"{name}: mean of the per-seed contrasts", mean, "nats/byte")
        evidence.figure(f"{name}: 95% t-interval low", lo, "nats/byte")
        evidence.figure(f"{name}: 95% t-interval high", hi, "nats/byte")
    for name, spec in cells.items():
        runs = [lab.run(spec, seed) for seed in SEEDS]
        record_spread(evidence, f"final loss, {name}", [run.final_loss for run in runs], "nats/byte")
        record_spread(evidence, f"α of W_h, {name}", [median_alpha(run.sigma_h) for run in runs], "1")
        record_spread(evidence, f"α of W_x, {name}", [median_alpha(run.sigma_x) for run in runs], "1")
        record_spread(evidence, f"participation ratio of held-out hidden states, {name}",
                      [run.state_pr for run in runs], "1")
    r = grid_rank(MULTI_RATIO, sizes().dim)
    evidence.note(f"low rank = r {r} of d {sizes().dim} ({r / sizes().dim:.1%}); W_z is rank {r} in every cell; the "
                  "(low, low) cell is the Elman grid's 17% model. E_h0 = L(W_h dense, W_x low) − L(both dense), "
                  "E_h1 = L(both low) − L(W_h low, W_x dense), I = E_h1 − E_h0, each per seed (a seed has the "
                  "same data order in every cell), t-interval over the seeds")
    record_setup(evidence, lab, frozenset(cells.values()), "2 × 2 design, tanh Elman")
    record_scale(evidence, lab, frozenset(cells.values()),
                 f"2 × 2 design (W_h, W_x each dense or rank {r}; W_z rank {r}), tanh Elman")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for h_low, label in ((False, "W_h dense"), (True, f"W_h rank {r}")):
        values = [lab.seeds(multi_cell(h_low, x_low)) for x_low in (False, True)]
        ax.errorbar([0, 1], [v.mean() for v in values], yerr=[t_interval(v)[2] - v.mean() for v in values],
                    marker="o", capsize=3, label=label)
    ax.set_xticks([0, 1], ["W_x dense", f"W_x rank {r}"])
    ax.set(ylabel="final loss (nats/byte)",
           title="2 × 2: " + ", ".join(f"{k} {v[0]:+.3f}" for k, v in effects.items()))
    ax.legend(fontsize=8)
    save_figure(fig, evidence, "observed.multi_matrix", "final loss of the 2 × 2 cells (mean, 95% t-interval)")
    conclude(evidence, verdict, reason, lambda: multi_to_decide(m))


def lr_block(lab: Lab, ratio: float) -> tuple[tuple[int, ...], np.ndarray]:
    """Exponents k of the ratio's lr grid and its (lrs, seeds) final losses: 1e-4 · 2^k for k = 0..7,
    extended by one factor of 2 at a time (at most LR_EXTENSIONS per end) while the seed-mean
    minimum sits at an end. An extension's runs are fetched by the Lab as further cells."""
    spec, exponents, extensions = e5_form(ratio), list(LR_GRID), [0, 0]
    while True:
        lab.ensure([(spec, seed, k) for k in exponents for seed in SEEDS])
        losses = np.stack([lab.seeds(spec, lr_exponent=k) for k in exponents])
        i = int(np.argmin(losses.mean(axis=1)))
        if i == 0 and extensions[0] < LR_EXTENSIONS:
            exponents.insert(0, exponents[0] - 1)
            extensions[0] += 1
        elif i == len(exponents) - 1 and extensions[1] < LR_EXTENSIONS:
            exponents.append(exponents[-1] + 1)
            extensions[1] += 1
        else:
            return tuple(exponents), losses


def lr_blocks(lab: Lab) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """lr_block of every ratio of LR_RATIOS (fetching the extensions it needs)."""
    return [lr_block(lab, ratio) for ratio in LR_RATIOS]


def report_lr_scales_with_rank(lab: Lab, evidence, blocks=None) -> None:
    """`blocks`: lr_blocks(lab), when the caller fetched them first (to report the cells)."""
    blocks = lr_blocks(lab) if blocks is None else blocks
    m = LrMeasurements(tuple(grid_rank(r, sizes().dim) / sizes().dim for r in LR_RATIOS),
                       tuple(e for e, _ in blocks), tuple(losses for _, losses in blocks))
    b, interval, optima = estimate_lr_slope(m)
    verdict, reason = decide_lr_scales_with_rank(m)
    record_interval(evidence, "b: slope of ln lr* on ln ρ", b, interval, "1")
    low, high = lr_slope_interval_per_cell(m)
    evidence.figure("b: 95% interval with each (ratio, lr) cell resampled alone, low", low, "1")
    evidence.figure("b: 95% interval with each (ratio, lr) cell resampled alone, high", high, "1")
    alpha = reference_alphas(lab)
    evidence.figure("condition-number prediction b = −α̂ (if lr* ∝ 1/κ_r, κ_r = r^α̂; α̂ of the Elman "
                    "reference's W_h)", -alpha.mean(), "1")
    for ratio, lr in zip(LR_RATIOS, optima):
        evidence.figure(f"lr*({ratio}%)", lr, "1")
    for ratio, (exponents, losses) in zip(LR_RATIOS, blocks):
        cells = ", ".join(f"{learning_rate(k):.3g}: {row.mean():.4f} ± {t_interval(row)[2] - row.mean():.4f}"
                          if np.all(np.isfinite(row)) else f"{learning_rate(k):.3g}: diverged"
                          for k, row in zip(exponents, losses))
        evidence.note(f"{ratio}% (r = {grid_rank(ratio, sizes().dim)}): seed-mean final loss ± 95% t half-width "
                      f"by lr: {cells}")
    evidence.note("lr grid 1e-4 · 2^k from k = 0 (1e-4) to 7 (1.28e-2), extended by factors of 2 (at most "
                  f"{LR_EXTENSIONS} per end) while the minimum sat at an end; lr* = vertex in ln lr of the "
                  "parabola through the grid minimum and its neighbours. Short runs: the same "
                  f"{sizes().steps} steps as the grids (whose runs at lr {sizes().lr:g} are reused). torch AdamW, "
                  "not the original schedule-free AdamW, whose step is less sensitive to curvature")
    used = {k for exponents, _ in blocks for k in exponents}
    record_setup(evidence, lab, frozenset(e5_form(r) for r in LR_RATIOS) | {reference()},
                 "Elman (E5 form, tanh) at r/d = 5, 10, 17, 30%, learning-rate sweep", lr_exponents=used)
    record_scale(evidence, lab, frozenset(e5_form(r) for r in LR_RATIOS),
                 f"Elman (tanh) at r/d = 5, 10, 17, 30%, lr 1e-4 · 2^k for k in {sorted(used)}",
                 lr_exponents=used)

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for ratio, (exponents, losses), lr in zip(LR_RATIOS, blocks, optima):
        lrs = [learning_rate(k) for k in exponents]
        line, = left.plot(lrs, losses.mean(axis=1), marker="o", label=f"{ratio}%")
        left.axvline(lr, color=line.get_color(), ls=":", lw=1)
    finite = np.concatenate([l.mean(axis=1)[np.isfinite(l.mean(axis=1))] for _, l in blocks])
    left.set(xscale="log", xlabel="learning rate", ylabel="final loss (nats/byte)",
             ylim=(finite.min() - 0.05, min(finite.max(), finite.min() + 1.5)),
             title="seed-mean final loss; lr* dotted")
    left.legend(fontsize=8)
    right.loglog(100 * np.asarray(m.ratios), optima, marker="o")
    right.set(xlabel="r/d (%)", ylabel="lr*", title=f"b = {b:+.3f} {_fmt_interval(interval)}")
    save_figure(fig, evidence, "observed.lr_scales_with_rank",
                "final loss against learning rate per r/d; lr* against r/d")
    conclude(evidence, verdict, reason, lambda: lr_to_decide(m))
