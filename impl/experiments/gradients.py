"""Experiments: gradient quality, throughput and state capacity (gradient.mamba2_better_quality,
lowrank.increases_snr, observed.xgated_faster_than_mamba2, expansion.wide_beats_narrow).

Every decision rule is the registry entry's, fixed before looking at the data, and is a pure
function `decide_*` of the measured figures (tested on synthetic figures in
tests/test_experiment_rules_gradients.py). Sizes come from `at_scale` (read when the cells are
declared); the small (default) scale is a CPU replica and every test states in its evidence how it
differs from the original. Every training run is a cell (claims/cells.py): one per SNR
run (model, seed, learning rate), one per X-gated/Mamba2 repeat, one per memory-capacity run
(d, e, seed); benchmarks/experiments/test_exp_gradients.py runs them (`run_cells`) and decides.

Gradient SNR (gradient.mamba2_better_quality, lowrank.increases_snr). One shared set of byte-LM
runs (depth 1, so "the recurrent layer" is one layer), seeds 0 … 4 (init and data order; the rule's
preferred 5, at both checkpoints):
- impl's Mamba2Layer with d_state = 1 and expand = 1 against impl's StockElman followed by a
  linear output projection. The rule asks for equal state size and parameters within ±5%: the
  SSD state is expand·dim·d_state while an Elman's parameters grow with the square of its state,
  so the only matching pair is d_state = expand = 1 (state = dim for both; the update is then the
  claim's own h_t = a(x_t) ⊙ h_{t−1} + B(x_t) x_t) with the Elman given the projection that
  Mamba2's out_proj has (without it the Elman has 2/3 of the parameters).
- lowrank.increases_snr: the same Elman with W_h = U V (`impl.elman.variants.LowRankStockElman`: no
  impl layer is a stock Elman with only W_h factorised; E5 factorises all three maps, which the
  rule's "everything else identical" excludes). U V starts at the dense W_h's spectral norm 0.9.
  The dense Elman runs are shared with the claim above; every variant uses the learning rate
  picked there for the dense Elman (the rule's "same learning rate").
The learning rate is picked per model on the first seed from LR_GRID, so the SNR cells come in two
stages: the grid cells (first seed, each model × learning rate, `snr_grid_cells`), then, with the
picked rates, the other seeds and the low-rank variants (`snr_cells(picked)`).
SNR = ‖ḡ‖ / sqrt(Σ_k ‖g_k − ḡ‖² / (K − 1)) over K = 32 fixed minibatches (the same for every
model of a seed, drawn apart from the training data), at initialisation and after the training
steps (AdamW, torch's; schedule-free AdamW is not available).

Throughput and loss (observed.xgated_faster_than_mamba2): impl's XGatedElman (pure-PyTorch step
loop) against impl's Mamba2Layer (pure-PyTorch chunked SSD) byte LMs, parameters within 5%; each
of the 5 repeats (one cell each) is a fresh Python process, spawned by the cell, that trains both
models (order alternating) the full steps on the same data, timing forward+backward and the
optimiser step of every step separately, so every repeat gives a loss seed too; float32 on one CPU
thread (on CUDA: bf16 autocast, timed with device synchronisation, the record naming the kernel
path that ran). R is the ratio of geometric-mean tok/s with a log-scale Welch interval (the
percentile bootstrap it replaced covers ~85% at 5 repeats: tests/test_experiment_rules_gradients.py).
The tok/s are part of the cells' records: a run that reuses a stored cell reports the rates
measured when that cell ran (the cells evidence says which were reused and where they ran).

Memory capacity (expansion.wide_beats_narrow): impl's StockElman (state d) feeding a per-step
MLP d → e·d → d, narrow (d, e) = (16, 4) against wide (25, 1) (P = 2d²(1 + e) = 2560 vs 2500)
instead of (256, 4) vs (405, 1); multi-lag recall of x_t ∈ ℝ⁸ with K = 2·d_w lags; linear
memory capacity from a fresh ridge readout of the state; seeds 0 … 4.

Every test records evidence.scale (this run against the source's scale) and, when its rule says
inconclusive, evidence.to_decide (the seeds that would decide it at the observed spread).
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from impl.elman.models import StockElman, XGatedElman, num_parameters
from impl.elman.variants import LowRankStockElman, ProjectedElman
from impl.ssm.model import Mamba2Layer
from impl.training.lm import VOCAB, ByteLM, LMConfig, next_byte_loss
from impl.training.loop import train

from claims.cells import Cell, cell_function, make_cell
from .common import (CONFIRMED, INCONCLUSIVE, REFUTED, byte_stream, pyplot, record_spread, save_figure,
                     two_panels)
from claims.device import Placement
from claims.scale import at_scale, scale
from .stats import gradient_snr, seeds_to_decide, seeds_to_decide_difference, t_interval, welch_interval

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = "gradients"
CHECKPOINTS = ("init", "trained")
# what the cells run, for their code fingerprint (their own module is always part of it)
SNR_USES = ("impl.parameters", "impl.elman", "impl.ssm", "impl.training", "impl.data", "impl.experiments.stats",
            "impl.experiments.common", "claims.device")
XGATED_USES = ("impl.parameters", "impl.elman", "impl.ssm", "impl.training", "impl.data", "impl.experiments.common",
               "claims.device")
CAPACITY_USES = ("impl.parameters", "impl.elman", "claims.device")


# ================================================================ decision rules (pure)

def decide_snr_gain(deltas: dict[str, list[float]]) -> tuple[str, str]:
    """gradient.mamba2_better_quality and lowrank.increases_snr (the same rule): `deltas` maps each
    checkpoint to the per-seed Δ_s = log SNR_candidate − log SNR_baseline. Confirmed when every
    checkpoint's 95% t-interval lies above 0, refuted when every one lies below 0, else
    inconclusive."""
    intervals = {c: t_interval(d) for c, d in deltas.items()}
    text = "; ".join(f"{c}: mean Δ log SNR = {m:+.3f}, 95% interval [{lo:+.3f}, {hi:+.3f}] (n = {len(deltas[c])})"
                     for c, (m, lo, hi) in intervals.items())
    if all(lo > 0 for _, lo, _ in intervals.values()):
        return CONFIRMED, text
    if all(hi < 0 for _, _, hi in intervals.values()):
        return REFUTED, text
    return INCONCLUSIVE, text + " — an interval contains 0 or the checkpoints disagree"


def seeds_phrase(n: int | None, ran: int, what: str) -> str:
    """"≈ n seeds would …" from seeds_to_decide(_difference), saying so when the count is out of reach."""
    if n is None:
        return f"no feasible number of {what} (more than 10,000, or the mean sits on the threshold)"
    if n <= ran:   # the pooled-variance count at 2n − 2 degrees of freedom; Welch's interval has fewer
        return (f"≈ {n} {what} by the pooled-variance count, but {ran} ran without deciding: Welch's interval "
                f"has fewer degrees of freedom at unequal spreads, so a few more than {ran}")
    return f"≈ {n} {what}"


def snr_to_decide(deltas: dict[str, list[float]]) -> str:
    """What would decide an inconclusive SNR rule, if the observed per-checkpoint mean and sd of Δ held."""
    means = {c: float(np.mean(d)) for c, d in deltas.items()}
    if min(means.values()) < 0 < max(means.values()):
        signs = ", ".join(f"{c} {m:+.3f}" for c, m in means.items())
        return (f"the checkpoints' mean Δ have opposite signs ({signs}): the rule needs every interval on the "
                f"same side of 0, so no number of seeds decides it if these means held")
    needed, counts = {}, []
    for c, d in deltas.items():
        _, lo, hi = t_interval(d)
        if lo <= 0 <= hi:
            counts.append(seeds_to_decide(d, [0.0]))
            needed[c] = seeds_phrase(counts[-1], len(d), "seeds")
    text = ("; ".join(f"{c}: {phrase}" for c, phrase in needed.items())
            + " would put the interval clear of 0 (t interval, if the observed mean and sd of Δ held)")
    if None not in counts:
        side, verdict = ("below", REFUTED) if max(means.values()) < 0 else ("above", CONFIRMED)
        text += f"; with ≈ {max(counts)} seeds every interval would lie {side} 0: {verdict}"
    return text


SIMILAR_LOSS = 0.10          # nats/byte: twice the gap (1.89 vs 1.84) the document calls similar


def throughput_ratio(rates_x: list[float], rates_m: list[float]) -> tuple[float, float, float]:
    """R = geometric-mean tok/s (X-gated) / geometric-mean tok/s (Mamba2) and its 95% interval:
    Welch's t interval of mean log rate (X-gated) − mean log rate (Mamba2), exponentiated. Its
    simulated coverage at 5 repeats per model is ≈ 0.95; the percentile bootstrap of the ratio of
    means it replaced covered ≈ 0.85 there (tests/test_experiment_rules_gradients.py)."""
    for name, rates in (("X-gated", rates_x), ("Mamba2", rates_m)):
        if not all(math.isfinite(r) and r > 0 for r in rates):
            raise ValueError(f"throughput_ratio: {name} rates must be positive and finite, got {list(rates)}")
    d, lo, hi = welch_interval(np.log(rates_x), np.log(rates_m))
    return math.exp(d), math.exp(lo), math.exp(hi)


def decide_xgated_faster(rates_x: list[float], rates_m: list[float], losses_x: list[float],
                         losses_m: list[float]) -> tuple[str, str]:
    """observed.xgated_faster_than_mamba2: R's log-scale Welch interval (throughput) and the Welch
    interval of D = loss(X-gated) − loss(Mamba2). "Similar" holds when D's upper bound is
    <= 0.10 nats/byte and fails when its lower bound is > 0.10. Confirmed: R's interval above 1 and
    similar holds; refuted: R's interval below 1 or similar fails; else inconclusive."""
    r, r_lo, r_hi = throughput_ratio(rates_x, rates_m)
    d, d_lo, d_hi = welch_interval(losses_x, losses_m)
    text = (f"R = {r:.3f} [{r_lo:.3f}, {r_hi:.3f}] (geometric means, log-scale Welch) over {len(rates_x)}/"
            f"{len(rates_m)} repeats; D = {d:+.4f} [{d_lo:+.4f}, {d_hi:+.4f}] nats/byte over {len(losses_x)}/"
            f"{len(losses_m)} seeds")
    similar, dissimilar = d_hi <= SIMILAR_LOSS, d_lo > SIMILAR_LOSS
    if r_hi < 1 or dissimilar:
        why = "R's interval lies below 1" if r_hi < 1 else f"D's lower bound exceeds {SIMILAR_LOSS}"
        return REFUTED, f"{text} — {why}"
    if r_lo > 1 and similar:
        return CONFIRMED, text
    why = ["R's interval contains 1"] if r_lo <= 1 else []
    why += [] if similar else [f"D's interval straddles {SIMILAR_LOSS} (similar loss undecided)"]
    return INCONCLUSIVE, f"{text} — {' and '.join(why)}"


def xgated_to_decide(rates_x: list[float], rates_m: list[float], losses_x: list[float],
                     losses_m: list[float]) -> str:
    """What would decide an inconclusive X-gated rule, if the observed means and spreads held."""
    _, r_lo, _ = throughput_ratio(rates_x, rates_m)
    _, d_lo, d_hi = welch_interval(losses_x, losses_m)
    parts = []
    if r_lo <= 1:
        n = seeds_to_decide_difference(np.log(rates_x), np.log(rates_m), [0.0])
        side = "above 1" if np.mean(np.log(rates_x)) > np.mean(np.log(rates_m)) else "below 1 (refuted)"
        parts.append(f"{seeds_phrase(n, min(len(rates_x), len(rates_m)), 'repeats per model')} would put R's "
                     f"interval clear of 1, {side}")
    if d_lo <= SIMILAR_LOSS < d_hi:
        n = seeds_to_decide_difference(losses_x, losses_m, [SIMILAR_LOSS])
        side = ("above it (similar loss fails: refuted)" if np.mean(losses_x) - np.mean(losses_m) > SIMILAR_LOSS
                else "below it (similar loss holds)")
        parts.append(f"{seeds_phrase(n, min(len(losses_x), len(losses_m)), 'loss seeds per model')} would put "
                     f"D's interval clear of {SIMILAR_LOSS} nats/byte, {side}")
    return "; ".join(parts) + " (if the observed means and spreads held)"


def decide_wide_beats_narrow(deltas: list[float]) -> tuple[str, str]:
    """expansion.wide_beats_narrow: per-seed Δ_s = MC_wide − MC_narrow; confirmed when the 95%
    t-interval lies above 0, refuted when below 0, inconclusive when it contains 0."""
    m, lo, hi = t_interval(deltas)
    text = f"Δ MC = {m:+.3f}, 95% interval [{lo:+.3f}, {hi:+.3f}] (n = {len(deltas)})"
    if lo > 0:
        return CONFIRMED, text
    if hi < 0:
        return REFUTED, text
    return INCONCLUSIVE, text + " — the interval contains 0"


def capacity_to_decide(deltas: list[float]) -> str:
    side = "above 0 (confirmed)" if np.mean(deltas) > 0 else "below 0 (refuted)"
    return (f"{seeds_phrase(seeds_to_decide(deltas, [0.0]), len(deltas), 'seeds')} would put the interval of "
            f"Δ MC clear of 0, {side} (if the observed mean and sd held)")


# ================================================================ shared evidence pieces

def full_scale_note(evidence, full: dict) -> None:
    """Below the full scale, what CLAIMS_SCALE=full would run instead."""
    if scale() != "full":
        evidence.note("CLAIMS_SCALE=full would use: " + ", ".join(f"{k} {v}" for k, v in full.items()))


def where_ran(records: list[dict]) -> str:
    """Device and precision of the records ("float32 on one CPU thread" on the CPU, as execute runs
    CPU cells; else the GPU's name and the autocast dtype)."""
    places = sorted({(r["meta"]["device_kind"], r["meta"]["device_name"], r["meta"]["dtype"]) for r in records})
    return "; ".join("float32 on one CPU thread" if kind == "cpu" else f"{dtype} autocast on {name}"
                     for kind, name, dtype in places)


# ================================================================ gradient SNR: models

# ================================================================ gradient SNR: settings

SNR_SEEDS = (0, 1, 2, 3, 4)                # the rule's preferred 5 (amended 2026-12-03; was 3)
SNR_SCALES = dict(
    small=dict(dim=64, headdim=32, depth=1, batch=16, length=64, steps=200, last=50, minibatches=32),
    # one GPU, minutes: the rule's width and steps, a quarter of full's tokens per step
    medium=dict(dim=256, headdim=64, depth=1, batch=32, length=128, steps=500, last=100, minibatches=32),
    # the registry's rules (gradient.mamba2_better_quality, lowrank.increases_snr): d = 256, 500
    # optimiser steps, K >= 32 minibatches; batch and length are stated by neither source (000 §
    # Formally Proven › GradientDynamics.lean / LowRankCapacity.lean, 001 § Phase 4 › 4.2): 64 × 256
    full=dict(dim=256, headdim=64, depth=1, batch=64, length=256, steps=500, last=100, minibatches=32))
LR_GRID = (1e-3, 3e-3, 1e-2)
RANK_RATIOS = (0.10, 0.176, 0.25, 0.50)
DECIDING_RATIO = 0.176                     # E5's 270/1536
SNR_DATA_SEED = 10_000                     # + seed: the K minibatches, apart from the training data
SNR_MODELS = ("elman", "mamba2")


def snr_sizes() -> dict:
    """The SNR runs' sizes at the current CLAIMS_SCALE (read at call time)."""
    return dict(at_scale(**SNR_SCALES))


def rank_of(ratio: float, dim: int | None = None) -> int:
    return max(1, round(ratio * (snr_sizes()["dim"] if dim is None else dim)))


def elman_lm(seed: int, rank: int | None = None, sizes: dict | None = None) -> ByteLM:
    s = sizes or snr_sizes()
    kind = "custom:elman+proj" if rank is None else f"custom:elman+proj,W_h=UV,r={rank}"
    return ByteLM(LMConfig(kind, s["dim"], s["depth"]), seed,
                  layer_factory=lambda config, generator: ProjectedElman(config.dim, rank, generator))


def mamba2_lm(seed: int, sizes: dict | None = None) -> ByteLM:
    s = sizes or snr_sizes()

    def factory(config, generator):       # Mamba2Layer draws from the global generator ByteLM seeds
        return Mamba2Layer(config.dim, d_state=1, expand=1, headdim=s["headdim"])
    return ByteLM(LMConfig("custom:mamba2,d_state=1,expand=1", s["dim"], s["depth"]), seed, layer_factory=factory)


def snr_lm(model: str, seed: int, rank: int | None, sizes: dict) -> ByteLM:
    if model == "elman":
        return elman_lm(seed, rank, sizes)
    if model == "mamba2" and rank is None:
        return mamba2_lm(seed, sizes)
    raise ValueError(f"SNR run: model must be 'elman' (rank None or int) or 'mamba2' (rank None), got {model!r}, "
                     f"rank {rank!r}")


def layer_of(model: ByteLM) -> nn.Module:
    (layer,) = model.recurrences()
    return layer


@functools.lru_cache(maxsize=None)
def mamba2_layer_parameters(dim: int, d_state: int, expand: int, headdim: int) -> int:
    """Mamba2Layer's trainable parameters, built on the CPU with the global generator's state restored
    (its initialisation on the meta device imports torch._dynamo: seconds, where this takes
    milliseconds at the full scale's sizes)."""
    with torch.random.fork_rng(devices=[]):
        return num_parameters(Mamba2Layer(dim, d_state=d_state, expand=expand, headdim=headdim))


@functools.lru_cache(maxsize=None)
def snr_parameter_counts(model: str, rank: int | None, dim: int, depth: int, headdim: int) -> tuple[int, int]:
    """(whole LM, recurrent layer) trainable parameters without drawing a model: the projected Elman's
    by count (out_proj dim², W_x dim², W_h dim² or U, V 2·dim·r, b dim), Mamba2's on the meta device."""
    if model == "mamba2":
        layer = mamba2_layer_parameters(dim, 1, 1, headdim)
    else:
        layer = 2 * dim * dim + dim + (dim * dim if rank is None else 2 * dim * rank)
    return lm_parameters(layer, dim, depth), layer


def initial_spectral_norms(rank: int, sizes: dict | None = None) -> tuple[float, float]:
    """‖W_h‖₂ of the dense and ‖U V‖₂ of the rank-`rank` Elman at initialisation (seed 0)."""
    return tuple(float(torch.linalg.matrix_norm(
        layer_of(elman_lm(0, r, sizes)).recurrence.recurrent_matrix().detach(), 2)) for r in (None, rank))


# ================================================================ gradient SNR: measurement

def gradient_snrs(model: ByteLM, windows: list[torch.Tensor], groups: dict,
                  placement: Placement | None = None) -> dict[str, float]:
    """SNR of the loss gradient with respect to each group of tensors over the minibatches.
    `groups` maps a name to a function of the model returning the tensors, called after each
    forward (so a tensor built in the forward, like U V, can be one of them). On the model's
    device, in the placement's precision."""
    device = next(model.parameters()).device
    gradients: dict[str, list[torch.Tensor]] = {name: [] for name in groups}
    for window in windows:
        with placement.autocast_context() if placement is not None else _no_autocast():
            loss = next_byte_loss(model, window.to(device))
        chosen = {name: pick(model) for name, pick in groups.items()}
        grads = iter(torch.autograd.grad(loss, [t for ts in chosen.values() for t in ts]))
        for name, tensors in chosen.items():
            gradients[name].append(torch.cat([next(grads).reshape(-1) for _ in tensors]))
    return {name: gradient_snr(g) for name, g in gradients.items()}


def _no_autocast():
    import contextlib
    return contextlib.nullcontext()


def all_layer_parameters(model):
    return list(layer_of(model).parameters())


def recurrent_parameters(model):
    cell = layer_of(model).recurrence
    return [cell.U, cell.V] if isinstance(cell, LowRankStockElman) else [cell.W_h]


def effective_matrix(model):
    cell = layer_of(model).recurrence
    return [cell.effective] if isinstance(cell, LowRankStockElman) else [cell.W_h]


ELMAN_GROUPS = {"layer": all_layer_parameters, "recurrent": recurrent_parameters, "effective": effective_matrix}
MAMBA2_GROUPS = {"layer": all_layer_parameters}


def jacobian_norms(model: ByteLM, window: torch.Tensor) -> np.ndarray:
    """‖∂h_T/∂h_{T−k}‖₂ for k = 1 … T−1 on each sequence of `window`, (batch, T − 1): for the Elman
    the product of the step Jacobians diag(tanh′(z_t)) W_h, for Mamba2 the SSM state's, which is
    exp(A Σ Δ_t) times the identity in each head (the norm: the largest over heads). Computed on
    the model's device in float32, returned on the CPU in float64."""
    layer = layer_of(model)
    cell = layer.recurrence if isinstance(layer, ProjectedElman) else layer
    window = window.to(next(model.parameters()).device)
    captured = {}
    handle = cell.register_forward_hook(lambda module, args, out: captured.setdefault("u", args[0]))
    with torch.no_grad():
        model(window[:, :-1])
        handle.remove()
        u = captured["u"]
        T = u.shape[1]
        if isinstance(cell, Mamba2Layer):
            _, _, dt_raw = cell._split_projection(u)
            log_decay = F.softplus(dt_raw + cell.dt_bias) * cell.A                      # (batch, T, heads)
            tail = torch.cumsum(torch.flip(log_decay[:, 1:], [1]), 1)   # [k − 1]: Σ over the last k steps
            return torch.exp(tail.max(dim=-1).values).double().cpu().numpy()
        states = cell(u)[0]
        previous = torch.cat([torch.zeros_like(states[:, :1]), states[:, :-1]], dim=1)
        product, norms = None, []
        for t in range(T - 1, 0, -1):                       # k = T − t steps back from the last state
            J = cell.step_jacobian(previous[:, t], u[:, t])
            product = J if product is None else product @ J
            norms.append(torch.linalg.matrix_norm(product.double(), ord=2))
        return torch.stack(norms, dim=1).cpu().numpy()


def snr_windows(stream, seed: int, sizes: dict | None = None) -> list[torch.Tensor]:
    """The K minibatches of a seed (the same for every model), drawn apart from the training data."""
    s, generator = sizes or snr_sizes(), torch.Generator().manual_seed(SNR_DATA_SEED + seed)
    return [stream.batch(s["batch"], s["length"], generator) for _ in range(s["minibatches"])]


def measure(model: ByteLM, windows: list[torch.Tensor], groups: dict, jacobians: bool,
            placement: Placement | None = None) -> dict:
    out = {"snr": gradient_snrs(model, windows, groups, placement)}
    if jacobians:
        out["jacobian"] = jacobian_norms(model, windows[0])
    return out


@cell_function(uses=SNR_USES)
def snr_cell(*, placement: Placement, model: str, rank: int | None, seed: int, lr: float | None,
             jacobians: bool, dim: int, headdim: int, depth: int, batch: int, length: int, steps: int,
             last: int, minibatches: int) -> dict:
    """One SNR run: `model` ("elman", with `rank` None for the dense W_h; "mamba2") from `seed`,
    measured at initialisation and, unless lr is None, after `steps` training steps (data order
    = seed) with lr. A diverging run returns final_loss inf and no trained measurement.
    Returns {"init": {"snr": {group: SNR}, "jacobian": norms}, "trained": ..., "final_loss",
    "tokens_per_s"}."""
    sizes = dict(dim=dim, headdim=headdim, depth=depth, batch=batch, length=length, minibatches=minibatches)
    stream = byte_stream()
    groups = ELMAN_GROUPS if model == "elman" else MAMBA2_GROUPS
    windows, net = snr_windows(stream, seed, sizes), snr_lm(model, seed, rank, sizes)
    net.to(placement.torch_device())
    run = {"init": measure(net, windows, groups, jacobians, placement)}
    if lr is None:
        return run
    try:
        result = train(net, stream, steps=steps, batch=batch, length=length, lr=lr, data_seed=seed, held_out=0,
                       progress=False, placement=placement)
    except FloatingPointError as exc:                  # a diverging grid point: never picked
        return dict(run, final_loss=math.inf, diverged=str(exc))
    run.update(final_loss=result.final_loss(last=last), tokens_per_s=result.tokens_per_s,
               trained=measure(net, windows, groups, jacobians, placement))
    return run


def _snr_cell(model: str, rank: int | None, seed: int, lr: float | None, jacobians: bool, s: dict) -> Cell:
    lm_params, _ = snr_parameter_counts(model, rank, s["dim"], s["depth"], s["headdim"])
    return make_cell(snr_cell, EXPERIMENT, params=lm_params,
                     tokens=s["steps"] * s["batch"] * s["length"] if lr is not None else None,
                     model=model, rank=rank, seed=seed, lr=lr, jacobians=jacobians, **s)


def snr_grid_cells() -> list[Cell]:
    """Stage 1: the first seed of each model at every grid learning rate (each also measured at
    initialisation, which is the same model for every grid point)."""
    s = snr_sizes()
    return [_snr_cell(model, None, SNR_SEEDS[0], lr, True, s) for model in SNR_MODELS for lr in LR_GRID]


def picked_learning_rates(grid_cells: list[Cell], records: list[dict]) -> dict:
    """The grid point with the lowest final training loss on the first seed, per model (the first
    in LR_GRID on a tie; a diverged point has loss inf and is never picked):
    {"lr": {model: lr}, "grid": {model: {lr: final loss}}}."""
    grid: dict[str, dict[float, float]] = {model: {} for model in SNR_MODELS}
    for cell, record in zip(grid_cells, records):
        config = cell.config_dict
        grid[config["model"]][config["lr"]] = float(record["result"]["final_loss"])
    for model, losses in grid.items():
        if set(losses) != set(LR_GRID):
            raise ValueError(f"SNR learning-rate grid of {model}: ran {sorted(losses)}, expected {LR_GRID}")
    return {"lr": {model: min(LR_GRID, key=lambda lr: grid[model][lr]) for model in SNR_MODELS}, "grid": grid}


def snr_cells(picked: dict[str, float] | None = None) -> list[Cell]:
    """Every SNR cell: the grid (stage 1), then at the picked learning rates ({model: lr}) the other
    seeds of both models and the low-rank variants (the deciding r/d trained at the dense Elman's
    rate for every seed, the other r/d at initialisation only). Without `picked` (claims plan,
    before the grid ran) stage 2 is declared at the grid's largest rate as a stand-in: its cost does
    not depend on the rate, but its cells' keys do."""
    s = snr_sizes()
    lr = picked or {model: LR_GRID[-1] for model in SNR_MODELS}
    rest = [_snr_cell(model, None, seed, lr[model], True, s) for model in SNR_MODELS for seed in SNR_SEEDS[1:]]
    low = [_snr_cell("elman", rank_of(ratio, s["dim"]), seed, lr["elman"] if ratio == DECIDING_RATIO else None,
                     False, s) for ratio in RANK_RATIOS for seed in SNR_SEEDS]
    return snr_grid_cells() + rest + low


def snr_runs_from(cells: list[Cell], records: list[dict], picked: dict) -> dict:
    """The runs the SNR rules use, from the cells' records (fresh or from the store):
    {"elman" | "mamba2" | rank: {seed: run}, "lr": {model: lr}, "grid": {model: {lr: loss}}}; a run:
    {"init" | "trained": {"snr": {group: SNR}, "jacobian": norms}, "final_loss": loss}. The first
    seed's run of each model is its grid cell at the picked rate."""
    by_config = {}
    for cell, record in zip(cells, records):
        c = cell.config_dict
        by_config[(c["model"], c["rank"], c["seed"], c["lr"])] = record["result"]
    lr = picked["lr"]

    def run(model, rank, seed, rate):
        result = by_config.get((model, rank, seed, rate))
        if result is None:
            raise KeyError(f"SNR runs: no cell for model {model}, rank {rank}, seed {seed}, lr {rate}")
        if rate is not None and "trained" not in result:
            raise FloatingPointError(f"SNR run {model} (rank {rank}) seed {seed} at the picked lr {rate:g} "
                                     f"diverged: {result.get('diverged')}")
        return result

    runs = {model: {seed: run(model, None, seed, lr[model]) for seed in SNR_SEEDS} for model in SNR_MODELS}
    dim = snr_sizes()["dim"]
    for ratio in RANK_RATIOS:
        rate = lr["elman"] if ratio == DECIDING_RATIO else None
        runs[rank_of(ratio, dim)] = {seed: run("elman", rank_of(ratio, dim), seed, rate) for seed in SNR_SEEDS}
    return dict(runs, lr=dict(lr), grid=picked["grid"])


def log_snrs(runs: dict, checkpoint: str, group: str) -> list[float]:
    """log SNR of `group` at `checkpoint`, one per seed."""
    return [math.log(runs[seed][checkpoint]["snr"][group]) for seed in SNR_SEEDS]


def snr_tokens() -> int:
    s = snr_sizes()
    return s["steps"] * s["batch"] * s["length"]


SNR_SOURCE_SCALE = ("no experiment: the Lean theorem states no model, size or data (see `formal`), and "
                    "001 § Phase 4 › 4.2 Gradient Flow Analysis only plans to track gradient SNR during training; "
                    "the registry's rule asks for 500 optimiser steps (CLAIMS_SCALE=full: width 256)")


def snr_sizes_note(where: str, extra: str = "") -> str:
    s = snr_sizes()
    tokens = s["steps"] * s["batch"] * s["length"]
    return (f"scale {scale()}: byte LM (Shakespeare), width {s['dim']}, depth {s['depth']}, batch {s['batch']} × "
            f"length {s['length']}, {s['steps']} training steps (the rule: 500) = {tokens:,} tokens, torch "
            f"AdamW (schedule-free AdamW is not available; grad-norm clip 1.0, no weight decay), {where}. "
            f"Checkpoints: initialisation and after the {s['steps']} steps. K = {s['minibatches']} "
            f"minibatches of the same shape, fixed per seed (data seed {SNR_DATA_SEED} + seed) and the same for "
            f"every model; seeds {SNR_SEEDS} set the initialisation and the training data order. {extra}")


# ---------------------------------------------------------------- gradient.mamba2_better_quality

def mamba2_snr_deltas(runs: dict) -> dict[str, list[float]]:
    return {c: list(np.subtract(log_snrs(runs["mamba2"], c, "layer"), log_snrs(runs["elman"], c, "layer")))
            for c in CHECKPOINTS}


def record_mamba2_snr(evidence, runs: dict, records: list[dict]):
    """Evidence of gradient.mamba2_better_quality; returns (verdict, reason, to_decide)."""
    deltas = mamba2_snr_deltas(runs)
    verdict, reason = decide_snr_gain(deltas)
    s = snr_sizes()
    (e_model, e_params), (m_model, m_params) = (snr_parameter_counts(model, None, s["dim"], s["depth"], s["headdim"])
                                                for model in SNR_MODELS)
    if abs(m_params / e_params - 1) > 0.05:
        raise AssertionError(f"layer parameters not within 5%: {m_params} vs {e_params}")
    evidence.note(snr_sizes_note(where_ran(records),
        f"Models: impl's Mamba2Layer(dim {s['dim']}, d_state 1, expand 1, headdim {s['headdim']}, "
        f"d_conv 4) with {m_params} layer parameters against impl's StockElman(state {s['dim']}) + a "
        f"bias-free output projection with {e_params} ({m_params / e_params - 1:+.1%}; whole LMs {m_model} "
        f"vs {e_model}); state size {s['dim']} for both (Mamba2's SSM state heads·headdim·d_state). "
        f"The original Mamba2 has d_state 64 and expand 2: at equal state size and parameters only "
        f"d_state = expand = 1 is possible. SNR over all parameters of the recurrent layer."))
    for name in SNR_MODELS:
        grid = ", ".join(f"{lr:g}: {loss:.4f}" for lr, loss in runs["grid"][name].items())
        evidence.note(f"{name}: learning rate grid (final training loss = mean of the last "
                      f"{s['last']} steps, first seed) {grid} → lr {runs['lr'][name]:g}")
        evidence.figure(f"{name}: learning rate picked", runs["lr"][name], "1")
        record_spread(evidence, f"{name}: final training loss", [runs[name][seed]["final_loss"] for seed in SNR_SEEDS],
                      "nats/byte")
        for c in CHECKPOINTS:
            record_spread(evidence, f"{name}: log SNR at {c}", log_snrs(runs[name], c, "layer"))
    for c in CHECKPOINTS:
        record_spread(evidence, f"Δ = log SNR_Mamba2 − log SNR_Elman at {c}", deltas[c])
    for name in SNR_MODELS:
        for c in CHECKPOINTS:
            norms = np.concatenate([runs[name][seed][c]["jacobian"] for seed in SNR_SEEDS])
            spread = ", ".join(f"k={k}: {np.median(norms[:, k - 1]):.3g} [{np.quantile(norms[:, k - 1], 0.1):.3g}, "
                               f"{np.quantile(norms[:, k - 1], 0.9):.3g}]" for k in (1, 8, norms.shape[1]))
            evidence.note(f"(not deciding) {name} ‖∂h_T/∂h_(T−k)‖₂ at {c}, median [10%, 90%] over "
                          f"{norms.shape[0]} sequences: {spread}")
    evidence.scale(
        ran=f"byte LMs (Shakespeare) width {s['dim']}, depth {s['depth']}: Mamba2Layer(d_state 1, expand 1) "
            f"{m_params:,} vs StockElman + projection {e_params:,} layer parameters (whole LMs {m_model:,} vs "
            f"{e_model:,}), state {s['dim']} each; {s['steps']} AdamW steps × {s['batch']} × {s['length']} bytes = "
            f"{snr_tokens():,} tokens per model and seed; SNR over K = {s['minibatches']} minibatches at "
            f"initialisation and after training; {len(SNR_SEEDS)} seeds",
        source="000 § Formally Proven (Lean 4) › GradientDynamics.lean › mamba2_tradeoff: " + SNR_SOURCE_SCALE,
        reduced=scale() != "full")
    full_scale_note(evidence, SNR_SCALES["full"])
    evidence.note(f"rule: {reason}")
    save_figure(draw_mamba2_snr(runs, deltas), evidence, "gradient.mamba2_better_quality",
                "gradient SNR per seed (Mamba2 d_state 1 vs stock Elman + projection) and state Jacobian decay")
    return verdict, reason, lambda: snr_to_decide(deltas)


def draw_mamba2_snr(runs, deltas):
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for name, colour in (("elman", "C0"), ("mamba2", "C1")):
        for i, c in enumerate(CHECKPOINTS):
            values = np.exp(log_snrs(runs[name], c, "layer"))
            axes[0].scatter([i + (0.1 if name == "mamba2" else -0.1)] * len(values), values, color=colour,
                            label=name if i == 0 else None)
        for c, style in (("init", ":"), ("trained", "-")):
            norms = np.concatenate([runs[name][seed][c]["jacobian"] for seed in SNR_SEEDS])
            k = np.arange(1, norms.shape[1] + 1)
            axes[2].plot(k, np.median(norms, 0), style, color=colour, label=f"{name}, {c}")
            axes[2].fill_between(k, np.quantile(norms, 0.1, 0), np.quantile(norms, 0.9, 0), color=colour, alpha=0.15)
    axes[0].set_xticks(range(len(CHECKPOINTS)), CHECKPOINTS)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("gradient SNR (layer parameters)")
    axes[0].legend()
    for i, c in enumerate(CHECKPOINTS):
        m, lo, hi = t_interval(deltas[c])
        axes[1].errorbar([i], [m], yerr=[[m - lo], [hi - m]], fmt="o", capsize=4)
        axes[1].scatter([i] * len(deltas[c]), deltas[c], color="grey", s=10)
    axes[1].axhline(0, color="k", lw=0.8)
    axes[1].set_xticks(range(len(CHECKPOINTS)), CHECKPOINTS)
    axes[1].set_ylabel("Δ = log SNR_Mamba2 − log SNR_Elman (95% t)")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("k")
    axes[2].set_ylabel("‖∂h_T/∂h_(T−k)‖₂, median and 10–90%")
    axes[2].legend(fontsize=7)
    return fig


# ---------------------------------------------------------------- lowrank.increases_snr

def lowrank_snr_deltas(runs: dict) -> dict[str, list[float]]:
    r = rank_of(DECIDING_RATIO)
    return {c: list(np.subtract(log_snrs(runs[r], c, "recurrent"), log_snrs(runs["elman"], c, "recurrent")))
            for c in CHECKPOINTS}


def record_lowrank_snr(evidence, runs: dict, records: list[dict]):
    """Evidence of lowrank.increases_snr; returns (verdict, reason, to_decide)."""
    dense, r = runs["elman"], rank_of(DECIDING_RATIO)
    deltas = lowrank_snr_deltas(runs)
    verdict, reason = decide_snr_gain(deltas)
    s = snr_sizes()
    d = s["dim"]
    spectral = initial_spectral_norms(r)
    evidence.note(snr_sizes_note(where_ran(records),
        f"Models: impl's StockElman(state d = {d}) + output projection (the Elman of "
        f"gradient.mamba2_better_quality) with dense W_h ({d}×{d}, orthogonal × 0.9) and with W_h = U V "
        f"(LowRankStockElman in impl/elman/variants.py; U, V orthogonal × √0.9, spectral norm at init "
        f"{spectral[1]:.3f} vs dense {spectral[0]:.3f}); d = {d}" + ("" if d == 256 else " instead of 256")
        + f". Deciding rank r = {r} (r/d = {r / d:.3f} for the rule's 0.176); the same learning rate "
        f"{runs['lr']['elman']:g} (picked for the dense Elman from {LR_GRID}), data order and minibatches for "
        f"every variant. SNR over W_h (dense) or (U, V) concatenated; the effective-matrix SNR is that of ∂L/∂W "
        f"at W = U V."))
    for c in CHECKPOINTS:
        record_spread(evidence, f"Δ = log SNR_lowrank(r={r}) − log SNR_dense at {c}", deltas[c])
    for key in ["dense", *(rank_of(x) for x in RANK_RATIOS)]:
        variant = dense if key == "dense" else runs[key]
        label = "dense" if key == "dense" else f"r={key} (r/d={key / d:.3f})"
        for c in (c for c in CHECKPOINTS if c in variant[SNR_SEEDS[0]]):
            record_spread(evidence, f"{label}: log SNR (trained parameters) at {c}", log_snrs(variant, c, "recurrent"))
            record_spread(evidence, f"{label}: log SNR of ∂L/∂W (effective matrix) at {c}",
                          log_snrs(variant, c, "effective"))
        if "final_loss" in variant[SNR_SEEDS[0]]:
            record_spread(evidence, f"{label}: final training loss",
                          [variant[seed]["final_loss"] for seed in SNR_SEEDS], "nats/byte")
    evidence.note(f"(not deciding) the other r/d values are measured at initialisation only (the CPU budget "
                  f"trains the deciding r = {r} and the dense Elman); they and the effective-matrix SNRs are the "
                  f"figures above")
    evidence.scale(
        ran=f"byte LMs (Shakespeare) width d = {d}, depth {s['depth']}: StockElman + projection with dense W_h "
            f"({d * d:,} recurrent parameters) vs W_h = U V at r = {r} (r/d = {r / d:.3f}; {2 * d * r:,}); "
            f"{s['steps']} AdamW steps × {s['batch']} × {s['length']} bytes = {snr_tokens():,} tokens per model "
            f"and seed; SNR over K = {s['minibatches']} minibatches at initialisation and after training; "
            f"{len(SNR_SEEDS)} seeds",
        source="000 § Formally Proven (Lean 4) › LowRankCapacity.lean › lowRank_increases_snr: "
               + SNR_SOURCE_SCALE + "; the rule's d = 256, r/d = 0.176 (E5's 270/1536)",
        reduced=scale() != "full")
    full_scale_note(evidence, SNR_SCALES["full"])
    evidence.note(f"rule: {reason}")
    save_figure(draw_lowrank_snr(runs), evidence, "lowrank.increases_snr",
                "gradient SNR of the recurrent parameters and of the effective matrix against r/d")
    return verdict, reason, lambda: snr_to_decide(deltas)


def draw_lowrank_snr(runs):
    d, ranks = snr_sizes()["dim"], [rank_of(x) for x in RANK_RATIOS]
    fig, axes = two_panels(sharey=True)
    for ax, group, title in zip(axes, ("recurrent", "effective"), ("(U, V) or W_h", "∂L/∂W at W = U V")):
        for c, colour in zip(CHECKPOINTS, ("C0", "C1")):
            measured = [r for r in ranks if c in runs[r][SNR_SEEDS[0]]]
            for r in measured:
                ax.scatter([r / d] * len(SNR_SEEDS), log_snrs(runs[r], c, group), color=colour, s=12)
            ax.plot([r / d for r in measured], [np.mean(log_snrs(runs[r], c, group)) for r in measured], "o-",
                    color=colour, label=f"low rank, {c}")
            ax.axhline(np.mean(log_snrs(runs["elman"], c, group)), color=colour, ls="--", label=f"dense, {c}")
        ax.axvline(rank_of(DECIDING_RATIO) / d, color="grey", lw=0.8)
        ax.set_xlabel("r / d")
        ax.set_title(f"SNR of {title}", fontsize=10)
    axes[0].set_ylabel("log gradient SNR (seeds and their mean)")
    axes[0].legend(fontsize=8)
    return fig


# ================================================================ observed.xgated_faster_than_mamba2

XG_SCALES = dict(
    small=dict(dim=64, depth=1, d_state=16, headdim=16, batch=16, length=64, steps=200, last=50, warmup=10,
               timed=50, small_batch=4, lr=3e-3),
    # one GPU, minutes: half full's width and depth, a quarter of its batch and half its length
    medium=dict(dim=256, depth=2, d_state=64, headdim=64, batch=64, length=256, steps=200, last=50, warmup=10,
                timed=50, small_batch=4, lr=1e-3),
    # 000 § Empirically Observed › X-Gated Elman states no model size; the registry's rule (from the
    # codebase's run): batch 256 × 512, >= 200 steps, lr 3e-4 (schedule-free AdamW there), >= 10
    # warm-up and >= 50 timed steps, batch 4 also timed; width 512 as E1's (000 § Empirical
    # Observations), depth 4 (not stated in the source), Mamba2's d_state 64 and headdim 64 (its defaults)
    full=dict(dim=512, depth=4, d_state=64, headdim=64, batch=256, length=512, steps=200, last=50, warmup=10,
              timed=50, small_batch=4, lr=3e-4))
XG_REPEATS = 5                      # fresh processes, seeds 0 … 4; each trains the full steps (a loss seed too)
XG_KINDS = ("xgated", "mamba2")


def xg_sizes() -> dict:
    """The X-gated runs' sizes at the current CLAIMS_SCALE (read at call time)."""
    return dict(at_scale(**XG_SCALES))


@functools.lru_cache(maxsize=None)
def _matched_state(dim: int, d_state: int, headdim: int) -> int:
    """The X-gated state d_in whose layer parameter count is closest to Mamba2's (counted on meta)."""
    target = mamba2_layer_parameters(dim, d_state, 2, headdim)
    count = lambda n: num_parameters(XGatedElman(dim, n / dim, device="meta"))  # noqa: E731
    above = bisect.bisect_left(range(1, 4 * dim), target, key=count) + 1     # the count grows with d_in
    return min((above - 1, above), key=lambda n: abs(count(n) - target))


def xgated_configs(sizes: dict | None = None, d_in: int | None = None) -> dict[str, LMConfig]:
    """Mamba2 (LMConfig "ssd": expand 2) and the X-gated Elman whose state d_in gives the parameter
    count closest to Mamba2's (the rule: within 5%)."""
    s = sizes or xg_sizes()
    mamba2 = LMConfig("ssd", s["dim"], s["depth"], d_state=s["d_state"], headdim=s["headdim"])
    d_in = _matched_state(s["dim"], s["d_state"], s["headdim"]) if d_in is None else d_in
    return {"xgated": LMConfig("xgated", s["dim"], s["depth"], expansion=d_in / s["dim"]), "mamba2": mamba2}


def lm_parameters(layer_parameters: int, dim: int, depth: int) -> int:
    """Trainable parameters of a ByteLM: tied embedding (VOCAB × dim), a LayerNorm per layer and the
    final one (weight and bias), and the layers."""
    return VOCAB * dim + 2 * dim * (depth + 1) + depth * layer_parameters


def kernel_path(layer: nn.Module) -> str:
    """The function the layer's forward dispatches to (looked up at call time from `path`)."""
    if isinstance(layer, XGatedElman):
        path = layer.resolved_path
        return f"impl.elman.{'fused' if path == 'fused' else 'naive'}.{layer.family}_{path}"
    if isinstance(layer, Mamba2Layer):
        return "impl.ssm.naive.ssd_reference" if layer.path == "reference" else "impl.ssm.chunked.ssd_chunked"
    return type(layer).__qualname__


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_steps(model: ByteLM, windows: list[torch.Tensor], lr: float, placement: Placement | None = None) -> dict:
    """Train on `windows`, one per step, timing forward + backward and the optimiser step (with the
    gradient clipping) of each step separately; wall clock, with device synchronisation on CUDA
    (CPU work is synchronous). impl's `train` times them together, so the loop is spelled out here."""
    device = next(model.parameters()).device
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr)
    losses, forward_backward, optimiser_step = [], [], []
    model.train()
    for window in windows:
        window = window.to(device)
        _synchronize(device)
        started = time.perf_counter()
        with placement.autocast_context() if placement is not None else _no_autocast():
            loss = next_byte_loss(model, window)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        _synchronize(device)
        between = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        losses.append(float(loss.detach()))
        _synchronize(device)
        forward_backward.append(between - started)
        optimiser_step.append(time.perf_counter() - between)
    return dict(losses=losses, forward_backward=forward_backward, optimiser=optimiser_step)


def tokens_per_s(times: list[float], batch: int, sizes: dict | None = None) -> float:
    """Steady-state rate: tokens of the timed steps after the warm-up over their summed seconds
    (the same steps in every repeat, whatever its length)."""
    s = sizes or xg_sizes()
    timed = times[s["warmup"]: s["warmup"] + s["timed"]]
    return len(timed) * batch * s["length"] / sum(timed)


def xgated_repeat(*, seed: int, steps: int, dim: int, depth: int, d_state: int, headdim: int, d_in: int,
                  batch: int, length: int, warmup: int, timed: int, small_batch: int, lr: float,
                  device: str = "cpu", autocast: str | None = None) -> dict:
    """One repeat, meant for a fresh process (`xgated_repeat_cell` spawns it): both models from
    `seed` trained `steps` steps on the same data (the order of the models alternating with the
    seed), then each timed for warm-up + timed steps at the small batch; on `device` with
    `autocast` (None: float32)."""
    placement = Placement(device, autocast)
    if placement.kind == "cpu":
        torch.set_num_threads(1)
    sizes = dict(dim=dim, depth=depth, d_state=d_state, headdim=headdim, length=length, warmup=warmup, timed=timed)
    configs = xgated_configs(sizes, d_in)
    stream = byte_stream()
    order = XG_KINDS if seed % 2 == 0 else XG_KINDS[::-1]
    out = {}
    for kind in order:
        generator = torch.Generator().manual_seed(seed)
        windows = [stream.batch(batch, length, generator) for _ in range(steps)]
        small = [stream.batch(small_batch, length, generator) for _ in range(warmup + timed)]
        model = ByteLM(configs[kind], seed).to(placement.torch_device())
        layer = model.recurrences()[0]
        dtypes = {}

        def capture(module, args, output):           # the first forward only: then the hook removes itself
            result = output[0] if isinstance(output, tuple) else output
            dtypes["in_out"] = (str(args[0].dtype).removeprefix("torch."), str(result.dtype).removeprefix("torch."))
            hook.remove()
        hook = layer.register_forward_hook(capture)
        out[kind] = timed_steps(model, windows, lr, placement)
        out[kind]["small_batch"] = timed_steps(model, small, lr, placement)["forward_backward"]
        out[kind]["tokens_per_s"] = tokens_per_s(out[kind]["forward_backward"], batch, sizes)
        out[kind]["small_batch_tokens_per_s"] = tokens_per_s(out[kind]["small_batch"], small_batch, sizes)
        out[kind]["parameters"] = num_parameters(model)
        out[kind]["layer_parameters"] = num_parameters(layer)
        out[kind]["kernel_path"] = (f"{kernel_path(layer)} on {placement.device}, recurrent layer input/output "
                                    f"{dtypes['in_out'][0]}/{dtypes['in_out'][1]}"
                                    + (f" under {autocast} autocast" if autocast else ""))
    return out


@cell_function(uses=XGATED_USES)
def xgated_repeat_cell(*, placement: Placement, seed: int, steps: int, dim: int, depth: int, d_state: int,
                       headdim: int, d_in: int, batch: int, length: int, warmup: int, timed: int, small_batch: int,
                       lr: float) -> dict:
    """One repeat of the X-gated vs Mamba2 comparison, in a fresh Python process (clean timing: no
    allocator, cache or JIT state from other runs): runs `xgated_repeat` there on the placement's
    device and precision, returns its times, losses, tok/s and kernel paths."""
    config = dict(seed=seed, steps=steps, dim=dim, depth=depth, d_state=d_state, headdim=headdim, d_in=d_in,
                  batch=batch, length=length, warmup=warmup, timed=timed, small_batch=small_batch, lr=lr,
                  device=placement.device, autocast=placement.autocast)
    code = ("import json, sys; from impl.experiments.gradients import xgated_repeat; "
            "print(json.dumps(xgated_repeat(**json.loads(sys.argv[1]))))")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", code, json.dumps(config)], cwd=ROOT, env=env, capture_output=True,
                          text=True)
    if done.returncode:
        raise RuntimeError(f"X-gated repeat {seed} failed in its process:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def xgated_plan() -> list[tuple[int, int]]:
    """(seed, training steps) of each repeat: every repeat trains the full steps, so every repeat
    that ran is also a loss seed (amended 2026-12-03: before, only the first 3 of 5 did)."""
    return [(seed, xg_sizes()["steps"]) for seed in range(XG_REPEATS)]


@functools.lru_cache(maxsize=None)
def xgated_lm_parameters(dim: int, depth: int, d_state: int, headdim: int) -> int:
    return lm_parameters(mamba2_layer_parameters(dim, d_state, 2, headdim), dim, depth)


def xgated_cells() -> list[Cell]:
    """One cell per repeat (seed). params: the Mamba2 LM's (the X-gated one's is within 5%);
    tokens: both models' training and small-batch steps."""
    s = xg_sizes()
    d_in = _matched_state(s["dim"], s["d_state"], s["headdim"])
    config = {k: s[k] for k in ("dim", "depth", "d_state", "headdim", "batch", "length", "warmup", "timed",
                                "small_batch", "lr")}
    params = xgated_lm_parameters(s["dim"], s["depth"], s["d_state"], s["headdim"])
    return [make_cell(xgated_repeat_cell, EXPERIMENT, params=params,
                      tokens=2 * (steps * s["batch"] + (s["warmup"] + s["timed"]) * s["small_batch"]) * s["length"],
                      seed=seed, steps=steps, d_in=d_in, **config)
            for seed, steps in xgated_plan()]


def losses_per_seed(repeats: list[dict]) -> dict[str, list[float]]:
    """The loss part of the rule: per repeat (= seed) and model, the mean training loss over the last
    `last` steps, from every repeat; a repeat that did not train the full steps is an error, not
    left out (leaving it out would decide on fewer seeds than ran)."""
    s = xg_sizes()
    for seed, repeat in enumerate(repeats):
        for kind in XG_KINDS:
            trained = len(repeat[kind]["losses"])
            if trained != s["steps"]:
                raise ValueError(f"X-gated experiment: repeat {seed} ({kind}) trained {trained} steps, not the "
                                 f"rule's {s['steps']}: its loss is not comparable with the others")
    return {kind: [float(np.mean(repeat[kind]["losses"][-s["last"]:])) for repeat in repeats] for kind in XG_KINDS}


def record_xgated(evidence, repeats: list[dict], records: list[dict]):
    """Evidence of observed.xgated_faster_than_mamba2 from the repeats (the cells' results, in seed
    order); returns (verdict, reason, to_decide)."""
    s = xg_sizes()
    rates = {k: [r[k]["tokens_per_s"] for r in repeats] for k in XG_KINDS}
    small_rates = {k: [r[k]["small_batch_tokens_per_s"] for r in repeats] for k in XG_KINDS}
    optimiser_ms = {k: [1e3 * np.mean(r[k]["optimiser"][s["warmup"]: s["warmup"] + s["timed"]]) for r in repeats]
                    for k in XG_KINDS}
    losses = losses_per_seed(repeats)
    verdict, reason = decide_xgated_faster(rates["xgated"], rates["mamba2"], losses["xgated"], losses["mamba2"])

    params = {k: (repeats[0][k]["parameters"], repeats[0][k]["layer_parameters"]) for k in XG_KINDS}
    if abs(params["xgated"][0] / params["mamba2"][0] - 1) > 0.05:
        raise AssertionError(f"parameters not within 5%: {params}")
    configs = xgated_configs()
    d_in = int(configs["xgated"].expansion * s["dim"])
    tokens = s["steps"] * s["batch"] * s["length"]
    where = where_ran(records)
    evidence.note(
        f"scale {scale()}: impl's XGatedElman (d_in {d_in}, spectral norm "
        f"0.99, pure-PyTorch step loop) vs impl's Mamba2Layer (expand 2, d_state {s['d_state']}, headdim "
        f"{s['headdim']}, d_conv 4, pure-PyTorch chunked SSD, chunk 64) byte LMs, width {s['dim']}, depth "
        f"{s['depth']}; parameters {params['xgated'][0]} vs {params['mamba2'][0]} (layers "
        f"{params['xgated'][1]} vs {params['mamba2'][1]}). Original: the ekg/elman CUDA kernels against the "
        f"Mamba2 SSD kernels, bf16, batch 256 × 512 on a GPU; here {where}, batch "
        f"{s['batch']} × {s['length']} (batch {s['small_batch']} also timed), so this compares these two "
        f"PyTorch implementations, not the original kernels. Kernel paths that ran: "
        + "; ".join(sorted({f"{k}: {r[k]['kernel_path']}" for r in repeats for k in XG_KINDS})) + ".")
    evidence.note(
        f"Throughput: {XG_REPEATS} repeats (seeds 0 … {XG_REPEATS - 1}), each a fresh Python process (one torch "
        f"thread) that trains both models (order alternating) the full {s['steps']} steps on the same pre-drawn "
        f"windows (so every repeat is also a loss seed). Every step's forward + backward and optimiser step "
        f"(grad clip + AdamW) are timed separately with time.perf_counter (CPU work is synchronous; on CUDA after "
        f"a device synchronisation); in every repeat steps 1–{s['warmup']} are warm-up and excluded and the rate "
        f"is {s['timed']} × {s['batch']} × {s['length']} tokens over the summed forward+backward seconds of steps "
        f"{s['warmup'] + 1}–{s['warmup'] + s['timed']}; data loading is not timed. Batch {s['small_batch']}: "
        f"{s['warmup'] + s['timed']} further steps in the same process, timed the same way. R = geometric-mean "
        f"tok/s (X-gated) / geometric-mean tok/s (Mamba2), 95% interval = Welch's t interval of the difference "
        f"of mean log tok/s, exponentiated (rule amended 2026-12-03: the percentile bootstrap of the ratio of "
        f"means covers only ≈ 85% at 5 repeats per model); the ratio of arithmetic means is reported, not "
        f"deciding. The document's R is 166k/96k = 1.73 (cumulative tokens over wall time including data "
        f"loading and optimiser, no warm-up excluded). Throughput is wall clock: it varies from run to run and "
        f"with other load on the machine. The tok/s are part of each repeat's cell record: a repeat reused from "
        f"the results store reports the rates measured when it ran (the cells line says how many were reused, "
        f"and where and when they were computed).")
    evidence.note(
        f"Loss: both trained with the same data (seed = repeat), batch, {s['steps']} steps (= {tokens:,} tokens "
        f"vs the original's ~200 × 256 × 512 = 26.2M) and optimiser (torch AdamW lr {s['lr']:g}, no weight "
        f"decay, grad clip 1.0; the original: schedule-free AdamW lr 3e-4, not available in torch); per seed "
        f"the mean training loss over the last {s['last']} steps; D = loss(X-gated) − loss(Mamba2) with a 95% "
        f"Welch interval over all {len(repeats)} seeds that ran.")
    evidence.scale(
        ran=f"byte LMs (Shakespeare) width {s['dim']}, depth {s['depth']}: XGatedElman d_in {d_in} "
            f"({params['xgated'][0]:,} parameters) vs Mamba2Layer expand 2, d_state {s['d_state']} "
            f"({params['mamba2'][0]:,}); {s['steps']} AdamW steps × {s['batch']} × {s['length']} bytes = "
            f"{tokens:,} tokens per model and seed; {where}, pure-PyTorch loops; "
            f"{len(repeats)} repeats = seeds",
        source="000 § Empirically Observed › X-Gated Elman: single runs, 166k vs 96k tok/s, loss 1.89 vs 1.84, no "
               "model size stated (the codebase's run per the registry notes: batch 256 × 512, ~200 steps ≈ "
               "26.2M tokens, bf16, CUDA kernels on a GPU)",
        reduced=scale() != "full")
    full_scale_note(evidence, XG_SCALES["full"])
    r, r_lo, r_hi = throughput_ratio(rates["xgated"], rates["mamba2"])
    evidence.figure("R = tok/s X-gated / tok/s Mamba2 (fwd+bwd, geometric means)", r, "1")
    evidence.figure("R: 95% log-scale Welch low", r_lo, "1")
    evidence.figure("R: 95% log-scale Welch high", r_hi, "1")
    evidence.figure("(not deciding) ratio of arithmetic-mean tok/s",
                    np.mean(rates["xgated"]) / np.mean(rates["mamba2"]), "1")
    evidence.figure("R: the document's figure", 166 / 96, "1")
    r4, r4_lo, r4_hi = throughput_ratio(small_rates["xgated"], small_rates["mamba2"])
    evidence.figure(f"(not deciding) R at batch {s['small_batch']}", r4, "1")
    evidence.figure(f"(not deciding) R at batch {s['small_batch']}: 95% log-scale Welch low", r4_lo, "1")
    evidence.figure(f"(not deciding) R at batch {s['small_batch']}: 95% log-scale Welch high", r4_hi, "1")
    for k in XG_KINDS:
        record_spread(evidence, f"{k}: tok/s forward+backward, batch {s['batch']}", rates[k], "tokens/s")
        record_spread(evidence, f"{k}: tok/s forward+backward, batch {s['small_batch']}", small_rates[k], "tokens/s")
        record_spread(evidence, f"{k}: optimiser step (clip + AdamW)", optimiser_ms[k], "ms")
        record_spread(evidence, f"{k}: mean training loss over the last {s['last']} steps", losses[k], "nats/byte")
    d, d_lo, d_hi = welch_interval(losses["xgated"], losses["mamba2"])
    evidence.figure("D = loss X-gated − loss Mamba2", d, "nats/byte")
    evidence.figure("D: 95% Welch low", d_lo, "nats/byte")
    evidence.figure("D: 95% Welch high", d_hi, "nats/byte")
    evidence.note(f"rule: {reason}")
    save_figure(draw_xgated(repeats, rates, small_rates), evidence, "observed.xgated_faster_than_mamba2",
                "tokens/s per repeat (fresh processes) and training loss curves per seed")
    return verdict, reason, lambda: xgated_to_decide(rates["xgated"], rates["mamba2"], losses["xgated"],
                                                     losses["mamba2"])


def draw_xgated(repeats, rates, small_rates):
    s = xg_sizes()
    fig, axes = two_panels()
    for i, k in enumerate(XG_KINDS):
        axes[0].scatter([i] * len(rates[k]), rates[k], color=f"C{i}", label=f"{k}, batch {s['batch']}")
        axes[0].scatter([i + 0.2] * len(small_rates[k]), small_rates[k], color=f"C{i}", marker="x",
                        label=f"{k}, batch {s['small_batch']}")
        for j, r in enumerate(repeats):
            axes[1].plot(np.convolve(r[k]["losses"], np.ones(10) / 10, "valid"), color=f"C{i}", lw=0.8,
                         label=k if j == 0 else None)
    axes[0].set_xticks(range(len(XG_KINDS)), XG_KINDS)
    axes[0].set_ylabel("tokens/s (forward + backward, warm-up excluded)")
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("training loss, 10-step mean (nats/byte)")
    axes[1].legend()
    return fig


# ================================================================ expansion.wide_beats_narrow

MC_SEEDS = (0, 1, 2, 3, 4)                 # the rule's preferred 5 (amended 2026-12-03; was 3)
MC_INPUT = 8
MC_SCALES = dict(
    small=dict(narrow=(16, 4), wide=(25, 1), steps=400, batch=16, lr=3e-3, fit=20_000, test=5_000),
    # one GPU, minutes: P = 40,960 vs 40,804 (−0.4%), d_w/d_n = 1.578 (the rule's 1.582)
    medium=dict(narrow=(64, 4), wide=(101, 1), steps=1000, batch=32, lr=1e-3, fit=20_000, test=5_000),
    # the registry's rule (expansion.wide_beats_narrow; no experiment in the source, 000 § Formally
    # Proven › ExpansionTradeoff.lean): (256, 4), P = 655,360 vs (405, 1), P = 656,100; 2,000
    # steps; ridge readout fitted on 20,000 and tested on 5,000 steps (batch and lr not stated)
    full=dict(narrow=(256, 4), wide=(405, 1), steps=2000, batch=32, lr=1e-3, fit=20_000, test=5_000))
RIDGE = 1e-3                               # ridge penalty per fitted time step (on the covariance scale)
MC_EVAL_SEED = 20_000                      # + seed: the long sequence of the readout, and held-out batches


def mc_sizes() -> dict:
    """The capacity runs' sizes at the current CLAIMS_SCALE, with K = lags = 2·d_w and the
    training sequence length 2K (every lag has K targets per sequence)."""
    s = dict(at_scale(**MC_SCALES))
    s["lags"] = 2 * s["wide"][0]
    s["length"] = 2 * s["lags"]
    return s


def document_parameters(d: int, e: int) -> int:
    """P(d, e) = 2d² + 2e·d² (the document's count: W_x, W_h and the d → e·d → d expansion)."""
    return 2 * d * d + 2 * e * d * d


def recall_parameters(d: int, e: int, lags: int) -> int:
    """Trainable parameters of RecallNet(d, e, lags): the embedding 8 → d, StockElman's W_x, W_h, b,
    the bias-free d → e·d → d MLP and the readout d → 8K with bias."""
    return MC_INPUT * d + 2 * d * d + d + 2 * e * d * d + (d + 1) * MC_INPUT * lags


class RecallNet(nn.Module):
    """x_t ∈ ℝ⁸ → u_t = E x_t (d) → h_t = tanh(W_x u_t + W_h h_{t−1} + b) (impl's StockElman, state d)
    → y_t = W_down gelu(W_up h_t) (d → e·d → d) → a linear readout of x_{t−1}, …, x_{t−K} (8K).
    E and the readout are outside the document's parameter count (the same in kind for both)."""

    def __init__(self, d: int, e: int, lags: int, seed: int):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.lags = lags

        def linear(n_in, n_out, bias=False):
            layer = nn.Linear(n_in, n_out, bias=bias)
            with torch.no_grad():
                layer.weight.copy_(nn.init.xavier_uniform_(torch.empty(n_out, n_in, dtype=torch.float64),
                                                           generator=generator))
                if bias:
                    layer.bias.zero_()
            return layer
        self.embed = linear(MC_INPUT, d)
        self.elman = StockElman(d, d, generator=generator)
        self.up, self.down = linear(d, e * d), linear(e * d, d)
        self.readout = linear(d, MC_INPUT * lags, bias=True)

    def states(self, x: torch.Tensor) -> torch.Tensor:
        return self.elman(self.embed(x))[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, T, K, 8): the prediction of x_{t−k} at step t for k = 1 … K."""
        y = self.readout(self.down(F.gelu(self.up(self.states(x)))))
        return y.unflatten(-1, (self.lags, MC_INPUT))


def lagged_targets(x: torch.Tensor, lags: int) -> tuple[torch.Tensor, torch.Tensor]:
    """targets (batch, T, K, 8) with targets[:, t, k−1] = x[:, t−k], and the mask of t ≥ k (T, K)
    (undefined targets are 0)."""
    T = x.shape[1]
    back = torch.arange(T, device=x.device)[:, None] - torch.arange(1, lags + 1, device=x.device)[None, :]   # t − k
    mask = back >= 0
    return x[:, back.clamp(min=0)] * mask[..., None], mask


def recall_loss(model: RecallNet, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the defined (t, k) pairs (masked sum: cheaper to differentiate than
    indexing with the mask)."""
    targets, mask = lagged_targets(x, model.lags)
    error = (model(x).float() - targets) * mask[..., None]
    return error.pow(2).sum() / (mask.sum() * x.shape[0] * x.shape[2])


def train_recall(d: int, e: int, seed: int, *, lags: int, length: int, steps: int, batch: int, lr: float,
                 placement: Placement | None = None) -> tuple[RecallNet, list[float]]:
    """Train RecallNet(d, e) on fresh N(0, I) sequences (drawn on the CPU from `seed`, moved to the
    placement's device; the forward in its precision)."""
    device = placement.torch_device() if placement is not None else torch.device("cpu")
    model = RecallNet(d, e, lags, seed).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        x = torch.randn(batch, length, MC_INPUT, generator=generator).to(device)
        with placement.autocast_context() if placement is not None else _no_autocast():
            loss = recall_loss(model, x)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        losses.append(float(loss.detach()))
    return model, losses


def memory_capacity(states: np.ndarray, inputs: np.ndarray, lags: int, fit: int, test: int,
                    ridge: float = RIDGE) -> np.ndarray:
    """R²_k for k = 1 … lags: a ridge readout of inputs[t − k] from states[t] (t ≥ lags), fitted on
    the first `fit` usable steps, scored on the next `test` (R² per input coordinate, averaged).
    MC = the sum of the returned values."""
    usable = np.arange(lags, lags + fit + test)
    H = states[usable]
    Y = np.concatenate([inputs[usable - k] for k in range(1, lags + 1)], axis=1)   # (n, K·8)
    H_fit, H_test, Y_fit, Y_test = H[:fit], H[fit:], Y[:fit], Y[fit:]
    h_mean, y_mean = H_fit.mean(0), Y_fit.mean(0)
    A = (H_fit - h_mean).T @ (H_fit - h_mean) + ridge * fit * np.eye(H.shape[1])
    W = np.linalg.solve(A, (H_fit - h_mean).T @ (Y_fit - y_mean))
    residual = Y_test - ((H_test - h_mean) @ W + y_mean)
    r2 = 1 - (residual ** 2).sum(0) / ((Y_test - Y_test.mean(0)) ** 2).sum(0)
    return r2.reshape(lags, inputs.shape[1]).mean(1)


@cell_function(uses=CAPACITY_USES)
def capacity_cell(*, placement: Placement, d: int, e: int, seed: int, lags: int, length: int, steps: int,
                  batch: int, lr: float, fit: int, test: int) -> dict:
    """One memory-capacity run: RecallNet(d, e) trained from `seed`, then a fresh ridge readout of
    the state on one long fresh sequence: {"r2": R²_k (k = 1 … lags), "mc", "held_out_loss",
    "losses"}."""
    model, losses = train_recall(d, e, seed, lags=lags, length=length, steps=steps, batch=batch, lr=lr,
                                 placement=placement)
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(MC_EVAL_SEED + seed)
    x = torch.randn(1, lags + fit + test, MC_INPUT, generator=generator)
    held_out = [torch.randn(batch, length, MC_INPUT, generator=generator) for _ in range(4)]
    with torch.no_grad(), placement.autocast_context():
        states = model.states(x.to(device))[0].double().cpu().numpy()
        held_out_loss = float(np.mean([float(recall_loss(model, b.to(device))) for b in held_out]))
    r2 = memory_capacity(states, x[0].double().numpy(), lags, fit, test)
    return dict(r2=r2, mc=float(r2.sum()), held_out_loss=held_out_loss, losses=losses)


def capacity_cells() -> list[Cell]:
    s = mc_sizes()
    config = {k: s[k] for k in ("lags", "length", "steps", "batch", "lr", "fit", "test")}
    return [make_cell(capacity_cell, EXPERIMENT, params=recall_parameters(d, e, s["lags"]),
                      tokens=s["steps"] * s["batch"] * s["length"], d=d, e=e, seed=seed, **config)
            for d, e in (s["narrow"], s["wide"]) for seed in MC_SEEDS]


def capacity_runs_from(cells: list[Cell], records: list[dict]) -> dict:
    """{"narrow" | "wide": {seed: run}} from the cells' records (r2 as a numpy array)."""
    s = mc_sizes()
    names = {tuple(s["narrow"]): "narrow", tuple(s["wide"]): "wide"}
    runs: dict[str, dict[int, dict]] = {"narrow": {}, "wide": {}}
    for cell, record in zip(cells, records):
        c = cell.config_dict
        runs[names[(c["d"], c["e"])]][c["seed"]] = dict(record["result"], r2=np.asarray(record["result"]["r2"]))
    for name, by_seed in runs.items():
        if sorted(by_seed) != list(MC_SEEDS):
            raise KeyError(f"capacity runs of {name}: seeds {sorted(by_seed)}, expected {MC_SEEDS}")
    return {name: {seed: runs[name][seed] for seed in MC_SEEDS} for name in ("narrow", "wide")}


def record_capacity(evidence, runs: dict, records: list[dict]):
    """Evidence of expansion.wide_beats_narrow; returns (verdict, reason, to_decide)."""
    s = mc_sizes()
    (d_n, e_n), (d_w, e_w) = s["narrow"], s["wide"]
    deltas = [runs["wide"][seed]["mc"] - runs["narrow"][seed]["mc"] for seed in MC_SEEDS]
    verdict, reason = decide_wide_beats_narrow(deltas)

    p_n, p_w = document_parameters(d_n, e_n), document_parameters(d_w, e_w)
    evidence.note(
        f"scale {scale()}: narrow (d, e) = ({d_n}, {e_n}), P = {p_n}; wide ({d_w}, {e_w}), P = {p_w} "
        f"({p_w / p_n - 1:+.1%}) under P = 2d² + 2e·d² — the rule's (256, 4) vs (405, 1)"
        + ("" if (d_n, d_w) == (256, 405) else " reduced to keep the same construction")
        + f" (d_w/d_n = {d_w / d_n:.3f} vs 1.582). Model: x_t ∈ ℝ⁸ → linear embedding (8 → d) → "
        f"impl's StockElman (W_x, W_h d × d, state d) → per-step MLP W_down gelu(W_up h_t) (d → e·d → d, no "
        f"biases) → linear readout of the K = 2·d_w = {s['lags']} lagged inputs (MSE over the defined (t, k)). "
        f"Training: {s['steps']} steps" + ("" if s["steps"] == 2000 else " instead of 2,000")
        + f" (torch AdamW lr {s['lr']:g}, grad clip 1.0, batch "
        f"{s['batch']} sequences of {s['length']} steps of i.i.d. N(0, I) inputs, seed = init and data; "
        f"{where_ran(records)}). "
        f"MC = Σ_k R²_k over k = 1 … {s['lags']}: R²_k is the held-out coefficient of determination (mean over "
        f"the 8 coordinates, not clipped at 0) of a fresh ridge readout (penalty {RIDGE:g} × fitted steps, "
        f"intercept) of x_(t−k) from h_t on one fresh input sequence: fitted on {s['fit']:,} steps, tested on "
        f"the following {s['test']:,}, after {s['lags']} steps of burn-in.")
    for name in ("narrow", "wide"):
        record_spread(evidence, f"{name}: MC", [runs[name][seed]["mc"] for seed in MC_SEEDS])
        record_spread(evidence, f"(not deciding) {name}: held-out task loss (MSE)",
                      [runs[name][seed]["held_out_loss"] for seed in MC_SEEDS])
    record_spread(evidence, "Δ = MC_wide − MC_narrow", deltas)
    record_spread(evidence, "(not deciding) held-out loss wide − narrow",
                  [runs["wide"][seed]["held_out_loss"] - runs["narrow"][seed]["held_out_loss"] for seed in MC_SEEDS])
    evidence.scale(
        ran=f"StockElman + per-step MLP on 8-dim i.i.d. inputs: narrow (d, e) = ({d_n}, {e_n}), P = {p_n:,} vs wide "
            f"({d_w}, {e_w}), P = {p_w:,}; {s['steps']} AdamW steps × {s['batch']} sequences × {s['length']} steps "
            f"= {s['steps'] * s['batch'] * s['length']:,} input steps per model and seed; K = {s['lags']} lags; "
            f"{len(MC_SEEDS)} seeds",
        source="no experiment: 000 § Formally Proven (Lean 4) › ExpansionTradeoff.lean › "
               "wide_beats_narrow_on_capacity takes 'wider' as a hypothesis and capacity := hidden dim, with no "
               "model, size or data; the registry's rule: (256, 4), P = 655,360 vs (405, 1), P = 656,100, 2,000 "
               "steps",
        reduced=scale() != "full")
    full_scale_note(evidence, MC_SCALES["full"])
    evidence.note(f"rule: {reason}")
    save_figure(draw_capacity(runs), evidence, "expansion.wide_beats_narrow",
                "R²_k of the ridge readout against the lag k")
    return verdict, reason, lambda: capacity_to_decide(deltas)


def draw_capacity(runs):
    fig, axes = two_panels()
    for i, (name, by_seed) in enumerate(runs.items()):
        r2 = np.stack([run["r2"] for run in by_seed.values()])
        k = np.arange(1, r2.shape[1] + 1)
        axes[0].plot(k, r2.mean(0), color=f"C{i}", label=f"{name}: MC {r2.sum(1).mean():.2f}")
        axes[0].fill_between(k, r2.min(0), r2.max(0), color=f"C{i}", alpha=0.2)
        for j, run in enumerate(by_seed.values()):
            axes[1].plot(np.convolve(run["losses"], np.ones(10) / 10, "valid"), color=f"C{i}", lw=0.8,
                         label=name if j == 0 else None)
    axes[0].axhline(0, color="k", lw=0.6)
    axes[0].set_xlabel("lag k")
    axes[0].set_ylabel("held-out R²_k (mean over seeds, range)")
    axes[0].legend()
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("training MSE, 10-step mean")
    axes[1].legend()
    return fig


# ================================================================ all cells

def declare_cells() -> list[Cell]:
    """Every cell of the family at the current scale (`claims plan`); the SNR cells' second stage
    at a stand-in learning rate (see `snr_cells`)."""
    return snr_cells() + xgated_cells() + capacity_cells()
