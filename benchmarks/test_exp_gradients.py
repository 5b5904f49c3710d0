"""Experiments: gradient quality, throughput and state capacity (gradient.mamba2_better_quality,
lowrank.increases_snr, observed.xgated_faster_than_mamba2, expansion.wide_beats_narrow).

Every decision rule is the registry entry's, fixed before looking at the data, and is a pure
function `decide_*` of the measured figures (tested on synthetic figures in
tests/test_experiment_rules_gradients.py). Sizes come from `at_scale`; the small (default) scale
is a CPU replica and every test states in its evidence how it differs from the original.

Gradient SNR (gradient.mamba2_better_quality, lowrank.increases_snr). One shared set of byte-LM
runs (depth 1, so "the recurrent layer" is one layer), seeds 0 … 4 (init and data order; the rule's
preferred 5, at both checkpoints):
- impl's Mamba2Layer with d_state = 1 and expand = 1 against impl's StockElman followed by a
  linear output projection. The rule asks for equal state size and parameters within ±5%: the
  SSD state is expand·dim·d_state while an Elman's parameters grow with the square of its state,
  so the only matching pair is d_state = expand = 1 (state = dim for both; the update is then the
  claim's own h_t = a(x_t) ⊙ h_{t−1} + B(x_t) x_t) with the Elman given the projection that
  Mamba2's out_proj has (without it the Elman has 2/3 of the parameters).
- lowrank.increases_snr: the same Elman with W_h = U V (`LowRankStockElman`, defined here: no
  impl layer is a stock Elman with only W_h factorised; E5 factorises all three maps, which the
  rule's "everything else identical" excludes). U V starts at the dense W_h's spectral norm 0.9.
  The dense Elman runs are shared with the claim above; every variant uses the learning rate
  picked there for the dense Elman (the rule's "same learning rate").
SNR = ‖ḡ‖ / sqrt(Σ_k ‖g_k − ḡ‖² / (K − 1)) over K = 32 fixed minibatches (the same for every
model of a seed, drawn apart from the training data), at initialisation and after the training
steps (AdamW, torch's; schedule-free AdamW is not available).

Throughput and loss (observed.xgated_faster_than_mamba2): impl's XGatedElman (pure-PyTorch step
loop) against impl's Mamba2Layer (pure-PyTorch chunked SSD) byte LMs, parameters within 5%; each
of the 5 repeats is a fresh Python process that trains both models (order alternating) the full
steps on the same data, timing forward+backward and the optimiser step of every step separately,
so every repeat gives a loss seed too; float32 on one CPU thread instead of bf16 on a GPU. R is the
ratio of geometric-mean tok/s with a log-scale Welch interval (the percentile bootstrap it replaced
covers ~85% at 5 repeats: tests/test_experiment_rules_gradients.py).

Memory capacity (expansion.wide_beats_narrow): impl's StockElman (state d) feeding a per-step
MLP d → e·d → d, narrow (d, e) = (16, 4) against wide (25, 1) (P = 2d²(1 + e) = 2560 vs 2500)
instead of (256, 4) vs (405, 1); multi-lag recall of x_t ∈ ℝ⁸ with K = 2·d_w lags; linear
memory capacity from a fresh ridge readout of the state; seeds 0 … 4.

Every test records evidence.scale (this run against the source's scale) and, when its rule says
inconclusive, evidence.to_decide (the seeds that would decide it at the observed spread).
"""

from __future__ import annotations

import bisect
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from impl.elman.models import StockElman, XGatedElman, num_parameters
from impl.experiments import (at_scale, gradient_snr, scale, seeds_to_decide, seeds_to_decide_difference,
                              t_interval, welch_interval)
from impl.ssm.model import Mamba2Layer
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)
from impl.training.lm import ByteLM, LMConfig, next_byte_loss
from impl.training.loop import train
from impl.training.stream import ByteStream

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ("init", "trained")


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
        return "confirmed", text
    if all(hi < 0 for _, _, hi in intervals.values()):
        return "refuted", text
    return "inconclusive", text + " — an interval contains 0 or the checkpoints disagree"


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
        side, verdict = ("below", "refuted") if max(means.values()) < 0 else ("above", "confirmed")
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
        return "refuted", f"{text} — {why}"
    if r_lo > 1 and similar:
        return "confirmed", text
    why = ["R's interval contains 1"] if r_lo <= 1 else []
    why += [] if similar else [f"D's interval straddles {SIMILAR_LOSS} (similar loss undecided)"]
    return "inconclusive", f"{text} — {' and '.join(why)}"


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
        return "confirmed", text
    if hi < 0:
        return "refuted", text
    return "inconclusive", text + " — the interval contains 0"


def capacity_to_decide(deltas: list[float]) -> str:
    side = "above 0 (confirmed)" if np.mean(deltas) > 0 else "below 0 (refuted)"
    return (f"{seeds_phrase(seeds_to_decide(deltas, [0.0]), len(deltas), 'seeds')} would put the interval of "
            f"Δ MC clear of 0, {side} (if the observed mean and sd held)")


def report(evidence, verdict: str, reason: str, to_decide) -> None:
    """Turn a rule's verdict into the test outcome (the model experiment's convention); an
    inconclusive verdict also records what would decide it (`to_decide()`, computed only then)."""
    if verdict == "inconclusive":
        evidence.to_decide(to_decide())
        evidence.inconclusive(reason)
        return
    assert verdict == "confirmed", reason


def figure_with_interval(evidence, name: str, values: list[float], unit: str) -> None:
    mean, lo, hi = t_interval(values)
    evidence.figure(f"{name}: mean", mean, unit)
    evidence.figure(f"{name}: 95% t-interval low", lo, unit)
    evidence.figure(f"{name}: 95% t-interval high", hi, unit)


def save(fig, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt
    plt.close(fig)
    return path


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


@pytest.fixture(scope="module")
def stream() -> ByteStream:
    from impl.data import MissingData, text_corpus
    try:
        return ByteStream(text_corpus())
    except MissingData as exc:
        pytest.skip(str(exc))


# ================================================================ gradient SNR: models and runs

class LowRankStockElman(StockElman):
    """StockElman with W_h = U V (U (n, r), V (r, n)); W_x, b and the step are the stock ones.

    Built from the same generator draws as the dense layer (W_x identical for a seed; the dense
    W_h is drawn and discarded), then U, V orthogonal × sqrt(recurrent_gain), so that U V has r
    singular values equal to the dense W_h's spectral norm. After each forward, `effective`
    holds the U V of that pass, for the gradient ∂L/∂W at W = U V."""

    def __init__(self, input_dim: int, state_size: int, rank: int, *, recurrent_gain: float = 0.9,
                 generator=None):
        if not 1 <= rank < state_size:
            raise ValueError(f"LowRankStockElman: rank must be in [1, {state_size}), got {rank}")
        super().__init__(input_dim, state_size, recurrent_gain=recurrent_gain, generator=generator)
        del self.W_h
        self.rank = rank
        gain = recurrent_gain ** 0.5
        for name, shape in (("U", (state_size, rank)), ("V", (rank, state_size))):
            value = nn.init.orthogonal_(torch.empty(*shape, dtype=torch.float64), gain, generator=generator)
            self.register_parameter(name, nn.Parameter(value.float()))
        self.effective: torch.Tensor | None = None

    def recurrent_matrix(self):
        return self.U @ self.V

    def pre_activation(self, h, x_t):
        return F.linear(x_t, self.W_x, self.b) + F.linear(h, self.recurrent_matrix())

    def _path_arguments(self):
        self.effective = self.recurrent_matrix()
        return self.W_x, self.effective, self.b


class ProjectedElman(nn.Module):
    """A stock Elman (rank None: dense W_h; else W_h = U V) followed by a bias-free linear map
    state → dim. The projection is drawn first, so that the dense and low-rank variants of a seed
    share it (and W_x) exactly."""

    def __init__(self, dim: int, rank: int | None, generator):
        super().__init__()
        self.out_proj = nn.Linear(dim, dim, bias=False)
        with torch.no_grad():
            self.out_proj.weight.copy_(nn.init.xavier_uniform_(torch.empty(dim, dim, dtype=torch.float64),
                                                               generator=generator))
        self.recurrence = (StockElman(dim, dim, generator=generator) if rank is None
                           else LowRankStockElman(dim, dim, rank, generator=generator))

    def forward(self, x):
        return self.out_proj(self.recurrence(x)[0])


SNR_SEEDS = (0, 1, 2, 3, 4)                # the rule's preferred 5 (amended 2026-12-03; was 3)
SNR_SCALES = dict(
    small=dict(dim=64, headdim=32, depth=1, batch=16, length=64, steps=200, last=50, minibatches=32),
    full=dict(dim=256, headdim=64, depth=1, batch=64, length=256, steps=500, last=100, minibatches=32))
SNR_SIZES = at_scale(**SNR_SCALES)
LR_GRID = (1e-3, 3e-3, 1e-2)
RANK_RATIOS = (0.10, 0.176, 0.25, 0.50)
DECIDING_RATIO = 0.176                     # E5's 270/1536
SNR_DATA_SEED = 10_000                     # + seed: the K minibatches, apart from the training data


def rank_of(ratio: float) -> int:
    return max(1, round(ratio * SNR_SIZES["dim"]))


def elman_lm(seed: int, rank: int | None = None) -> ByteLM:
    kind = "custom:elman+proj" if rank is None else f"custom:elman+proj,W_h=UV,r={rank}"
    return ByteLM(LMConfig(kind, SNR_SIZES["dim"], SNR_SIZES["depth"]), seed,
                  layer_factory=lambda config, generator: ProjectedElman(config.dim, rank, generator))


def mamba2_lm(seed: int) -> ByteLM:
    def factory(config, generator):       # Mamba2Layer draws from the global generator ByteLM seeds
        return Mamba2Layer(config.dim, d_state=1, expand=1, headdim=SNR_SIZES["headdim"])
    return ByteLM(LMConfig("custom:mamba2,d_state=1,expand=1", SNR_SIZES["dim"], SNR_SIZES["depth"]),
                  seed, layer_factory=factory)


def gradient_snrs(model: ByteLM, windows: list[torch.Tensor], groups: dict) -> dict[str, float]:
    """SNR of the loss gradient with respect to each group of tensors over the minibatches.
    `groups` maps a name to a function of the model returning the tensors, called after each
    forward (so a tensor built in the forward, like U V, can be one of them)."""
    gradients: dict[str, list[torch.Tensor]] = {name: [] for name in groups}
    for window in windows:
        loss = next_byte_loss(model, window)
        chosen = {name: pick(model) for name, pick in groups.items()}
        grads = iter(torch.autograd.grad(loss, [t for ts in chosen.values() for t in ts]))
        for name, tensors in chosen.items():
            gradients[name].append(torch.cat([next(grads).reshape(-1) for _ in tensors]))
    return {name: gradient_snr(g) for name, g in gradients.items()}


def layer_of(model: ByteLM) -> nn.Module:
    (layer,) = model.recurrences()
    return layer


def all_layer_parameters(model):
    return list(layer_of(model).parameters())


def recurrent_parameters(model):
    cell = layer_of(model).recurrence
    return [cell.U, cell.V] if isinstance(cell, LowRankStockElman) else [cell.W_h]


def effective_matrix(model):
    cell = layer_of(model).recurrence
    return [cell.effective] if isinstance(cell, LowRankStockElman) else [cell.W_h]


def log_snrs(runs: dict, checkpoint: str, group: str) -> list[float]:
    """log SNR of `group` at `checkpoint`, one per seed."""
    return [math.log(runs[seed][checkpoint]["snr"][group]) for seed in SNR_SEEDS]


ELMAN_GROUPS = {"layer": all_layer_parameters, "recurrent": recurrent_parameters, "effective": effective_matrix}
MAMBA2_GROUPS = {"layer": all_layer_parameters}


def jacobian_norms(model: ByteLM, window: torch.Tensor) -> np.ndarray:
    """‖∂h_T/∂h_{T−k}‖₂ for k = 1 … T−1 on each sequence of `window`, (batch, T − 1): for the Elman
    the product of the step Jacobians diag(tanh′(z_t)) W_h, for Mamba2 the SSM state's, which is
    exp(A Σ Δ_t) times the identity in each head (the norm: the largest over heads)."""
    layer = layer_of(model)
    cell = layer.recurrence if isinstance(layer, ProjectedElman) else layer
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
            return torch.exp(tail.max(dim=-1).values).double().numpy()
        states = cell(u)[0]
        previous = torch.cat([torch.zeros_like(states[:, :1]), states[:, :-1]], dim=1)
        product, norms = None, []
        for t in range(T - 1, 0, -1):                       # k = T − t steps back from the last state
            J = cell.step_jacobian(previous[:, t], u[:, t])
            product = J if product is None else product @ J
            norms.append(torch.linalg.matrix_norm(product.double(), ord=2))
        return torch.stack(norms, dim=1).numpy()


def snr_windows(stream: ByteStream, seed: int) -> list[torch.Tensor]:
    """The K minibatches of a seed (the same for every model), drawn apart from the training data."""
    s, generator = SNR_SIZES, torch.Generator().manual_seed(SNR_DATA_SEED + seed)
    return [stream.batch(s["batch"], s["length"], generator) for _ in range(s["minibatches"])]


def measure(model: ByteLM, windows: list[torch.Tensor], groups: dict, jacobians: bool) -> dict:
    out = {"snr": gradient_snrs(model, windows, groups)}
    if jacobians:
        out["jacobian"] = jacobian_norms(model, windows[0])
    return out


def train_for_snr(model: ByteLM, stream: ByteStream, seed: int, lr: float) -> float:
    """Train in place (data order = seed); returns the final training loss."""
    s = SNR_SIZES
    result = train(model, stream, steps=s["steps"], batch=s["batch"], length=s["length"], lr=lr,
                   data_seed=seed, held_out=0, progress=False)
    return result.final_loss(last=s["last"])


def snr_run(build, stream: ByteStream, seed: int, lr: float | None, groups: dict, jacobians: bool = False) -> dict:
    """`build(seed)` measured at initialisation and, unless lr is None, after training with lr."""
    windows, model = snr_windows(stream, seed), build(seed)
    run = {"init": measure(model, windows, groups, jacobians)}
    if lr is not None:
        run["final_loss"] = train_for_snr(model, stream, seed, lr)
        run["trained"] = measure(model, windows, groups, jacobians)
    return run


@pytest.fixture(scope="module")
def snr_runs(stream) -> dict:
    """Runs shared by gradient.mamba2_better_quality and lowrank.increases_snr:
    {"elman" | "mamba2" | rank: {seed: run}}, "lr": {model: lr}, "grid": {model: {lr: loss}}.
    A run: {"init" | "trained": {"snr": {group: SNR}, "jacobian": norms}, "final_loss": loss}."""
    runs, grid, chosen = {}, {}, {}
    first, rest = SNR_SEEDS[0], SNR_SEEDS[1:]
    for name, build, groups in (("elman", elman_lm, ELMAN_GROUPS), ("mamba2", mamba2_lm, MAMBA2_GROUPS)):
        # the learning rate: the grid point with the lowest final training loss on the first seed
        # (the initial model, hence the init measurement, is the same for every grid point)
        run, models, grid[name] = snr_run(build, stream, first, None, groups, jacobians=True), {}, {}
        for lr in LR_GRID:
            models[lr] = build(first)
            try:
                grid[name][lr] = train_for_snr(models[lr], stream, first, lr)
            except FloatingPointError:                 # a diverging grid point: never picked
                grid[name][lr] = math.inf
        chosen[name] = min(LR_GRID, key=lambda lr: grid[name][lr])
        run.update(final_loss=grid[name][chosen[name]],
                   trained=measure(models[chosen[name]], snr_windows(stream, first), groups, jacobians=True))
        runs[name] = {first: run, **{seed: snr_run(build, stream, seed, chosen[name], groups, jacobians=True)
                                     for seed in rest}}
    # low rank: the deciding r/d trained; the other r/d (reported, not deciding) at initialisation only
    for ratio in RANK_RATIOS:
        lr = chosen["elman"] if ratio == DECIDING_RATIO else None
        runs[rank_of(ratio)] = {seed: snr_run(lambda s: elman_lm(s, rank_of(ratio)), stream, seed, lr, ELMAN_GROUPS)
                                for seed in SNR_SEEDS}
    return dict(runs, lr=chosen, grid=grid)


def full_scale_note(evidence, full: dict) -> None:
    """At the small scale, what CLAIMS_SCALE=full would run instead."""
    if scale() != "full":
        evidence.note("CLAIMS_SCALE=full would use: " + ", ".join(f"{k} {v}" for k, v in full.items()))


def snr_tokens() -> int:
    s = SNR_SIZES
    return s["steps"] * s["batch"] * s["length"]


SNR_SOURCE_SCALE = ("no experiment: the Lean theorem states no model, size or data (see `formal`), and "
                    "001 § Phase 4 › 4.2 Gradient Flow Analysis only plans to track gradient SNR during training; "
                    "the registry's rule asks for 500 optimiser steps (CLAIMS_SCALE=full: width 256)")


def snr_sizes_note(extra: str = "") -> str:
    s = SNR_SIZES
    tokens = s["steps"] * s["batch"] * s["length"]
    return (f"scale {scale()}: byte LM (Shakespeare), width {s['dim']}, depth {s['depth']}, batch {s['batch']} × "
            f"length {s['length']}, {s['steps']} training steps (the rule: 500) = {tokens:,} tokens, torch "
            f"AdamW (schedule-free AdamW is not available; grad-norm clip 1.0, no weight decay), float32 on one "
            f"CPU thread. Checkpoints: initialisation and after the {s['steps']} steps. K = {s['minibatches']} "
            f"minibatches of the same shape, fixed per seed (data seed {SNR_DATA_SEED} + seed) and the same for "
            f"every model; seeds {SNR_SEEDS} set the initialisation and the training data order. {extra}")


# ================================================================ gradient.mamba2_better_quality

@pytest.mark.experiment
@pytest.mark.claim("gradient.mamba2_better_quality")
def test_mamba2_gradient_snr_against_stock_elman(snr_runs, evidence):
    elman, mamba2 = snr_runs["elman"], snr_runs["mamba2"]
    deltas = {c: list(np.subtract(log_snrs(mamba2, c, "layer"), log_snrs(elman, c, "layer"))) for c in CHECKPOINTS}
    verdict, reason = decide_snr_gain(deltas)

    e_params, m_params = num_parameters(layer_of(elman_lm(0))), num_parameters(layer_of(mamba2_lm(0)))
    e_model, m_model = num_parameters(elman_lm(0)), num_parameters(mamba2_lm(0))
    assert abs(m_params / e_params - 1) <= 0.05, f"layer parameters not within 5%: {m_params} vs {e_params}"
    evidence.note(snr_sizes_note(
        f"Models: impl's Mamba2Layer(dim {SNR_SIZES['dim']}, d_state 1, expand 1, headdim {SNR_SIZES['headdim']}, "
        f"d_conv 4) with {m_params} layer parameters against impl's StockElman(state {SNR_SIZES['dim']}) + a "
        f"bias-free output projection with {e_params} ({m_params / e_params - 1:+.1%}; whole LMs {m_model} "
        f"vs {e_model}); state size {SNR_SIZES['dim']} for both (Mamba2's SSM state heads·headdim·d_state). "
        f"The original Mamba2 has d_state 64 and expand 2: at equal state size and parameters only "
        f"d_state = expand = 1 is possible. SNR over all parameters of the recurrent layer."))
    for name in ("elman", "mamba2"):
        grid = ", ".join(f"{lr:g}: {loss:.4f}" for lr, loss in snr_runs["grid"][name].items())
        evidence.note(f"{name}: learning rate grid (final training loss = mean of the last "
                      f"{SNR_SIZES['last']} steps, first seed) {grid} → lr {snr_runs['lr'][name]:g}")
        evidence.figure(f"{name}: learning rate picked", snr_runs["lr"][name], "1")
        figure_with_interval(evidence, f"{name}: final training loss", [snr_runs[name][s]["final_loss"]
                                                                       for s in SNR_SEEDS], "nats/byte")
        for c in CHECKPOINTS:
            figure_with_interval(evidence, f"{name}: log SNR at {c}",
                                 log_snrs(snr_runs[name], c, "layer"), "1")
    for c in CHECKPOINTS:
        figure_with_interval(evidence, f"Δ = log SNR_Mamba2 − log SNR_Elman at {c}", deltas[c], "1")
    for name in ("elman", "mamba2"):
        for c in CHECKPOINTS:
            norms = np.concatenate([snr_runs[name][s][c]["jacobian"] for s in SNR_SEEDS])
            spread = ", ".join(f"k={k}: {np.median(norms[:, k - 1]):.3g} [{np.quantile(norms[:, k - 1], 0.1):.3g}, "
                               f"{np.quantile(norms[:, k - 1], 0.9):.3g}]" for k in (1, 8, norms.shape[1]))
            evidence.note(f"(not deciding) {name} ‖∂h_T/∂h_(T−k)‖₂ at {c}, median [10%, 90%] over "
                          f"{norms.shape[0]} sequences: {spread}")
    s = SNR_SIZES
    evidence.scale(
        ran=f"byte LMs (Shakespeare) width {s['dim']}, depth {s['depth']}: Mamba2Layer(d_state 1, expand 1) "
            f"{m_params:,} vs StockElman + projection {e_params:,} layer parameters (whole LMs {m_model:,} vs "
            f"{e_model:,}), state {s['dim']} each; {s['steps']} AdamW steps × {s['batch']} × {s['length']} bytes = "
            f"{snr_tokens():,} tokens per model and seed; SNR over K = {s['minibatches']} minibatches at "
            f"initialisation and after training; {len(SNR_SEEDS)} seeds",
        source="000 § Formally Proven (Lean 4) › GradientDynamics.lean › mamba2_tradeoff: " + SNR_SOURCE_SCALE,
        reduced=True)
    full_scale_note(evidence, SNR_SCALES["full"])
    evidence.note(f"rule: {reason}")
    evidence.file(draw_mamba2_snr(evidence.figures_dir, snr_runs, deltas),
                  "gradient SNR per seed (Mamba2 d_state 1 vs stock Elman + projection) and state Jacobian decay")
    report(evidence, verdict, reason, lambda: snr_to_decide(deltas))


def draw_mamba2_snr(folder, runs, deltas):
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for name, colour in (("elman", "C0"), ("mamba2", "C1")):
        for i, c in enumerate(CHECKPOINTS):
            values = np.exp(log_snrs(runs[name], c, "layer"))
            axes[0].scatter([i + (0.1 if name == "mamba2" else -0.1)] * len(values), values, color=colour,
                            label=name if i == 0 else None)
        for c, style in (("init", ":"), ("trained", "-")):
            norms = np.concatenate([runs[name][s][c]["jacobian"] for s in SNR_SEEDS])
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
    return save(fig, folder, "gradient_mamba2_better_quality")


# ================================================================ lowrank.increases_snr

@pytest.mark.experiment
@pytest.mark.claim("lowrank.increases_snr")
def test_low_rank_recurrence_gradient_snr_against_dense(snr_runs, evidence):
    dense, r = snr_runs["elman"], rank_of(DECIDING_RATIO)
    deltas = {c: list(np.subtract(log_snrs(snr_runs[r], c, "recurrent"), log_snrs(dense, c, "recurrent")))
              for c in CHECKPOINTS}
    verdict, reason = decide_snr_gain(deltas)

    d = SNR_SIZES["dim"]
    spectral = [float(torch.linalg.matrix_norm(layer_of(elman_lm(0, rank)).recurrence.recurrent_matrix().detach(), 2))
                for rank in (None, r)]
    evidence.note(snr_sizes_note(
        f"Models: impl's StockElman(state d = {d}) + output projection (the Elman of "
        f"gradient.mamba2_better_quality) with dense W_h ({d}×{d}, orthogonal × 0.9) and with W_h = U V "
        f"(LowRankStockElman in this module; U, V orthogonal × √0.9, spectral norm at init "
        f"{spectral[1]:.3f} vs dense {spectral[0]:.3f}); d = {d} instead of 256. Deciding rank r = {r} "
        f"(r/d = {r / d:.3f} for the rule's 0.176); the same learning rate {snr_runs['lr']['elman']:g} "
        f"(picked for the dense Elman from {LR_GRID}), data order and minibatches for every variant. "
        f"SNR over W_h (dense) or (U, V) concatenated; the effective-matrix SNR is that of ∂L/∂W at W = U V."))
    for c in CHECKPOINTS:
        figure_with_interval(evidence, f"Δ = log SNR_lowrank(r={r}) − log SNR_dense at {c}", deltas[c], "1")
    for key in ["dense", *(rank_of(x) for x in RANK_RATIOS)]:
        runs = dense if key == "dense" else snr_runs[key]
        label = "dense" if key == "dense" else f"r={key} (r/d={key / d:.3f})"
        for c in (c for c in CHECKPOINTS if c in runs[SNR_SEEDS[0]]):
            figure_with_interval(evidence, f"{label}: log SNR (trained parameters) at {c}",
                                 log_snrs(runs, c, "recurrent"), "1")
            figure_with_interval(evidence, f"{label}: log SNR of ∂L/∂W (effective matrix) at {c}",
                                 log_snrs(runs, c, "effective"), "1")
        if "final_loss" in runs[SNR_SEEDS[0]]:
            figure_with_interval(evidence, f"{label}: final training loss",
                                 [runs[s]["final_loss"] for s in SNR_SEEDS], "nats/byte")
    evidence.note(f"(not deciding) the other r/d values are measured at initialisation only (the CPU budget "
                  f"trains the deciding r = {r} and the dense Elman); they and the effective-matrix SNRs are the "
                  f"figures above")
    s = SNR_SIZES
    evidence.scale(
        ran=f"byte LMs (Shakespeare) width d = {d}, depth {s['depth']}: StockElman + projection with dense W_h "
            f"({d * d:,} recurrent parameters) vs W_h = U V at r = {r} (r/d = {r / d:.3f}; {2 * d * r:,}); "
            f"{s['steps']} AdamW steps × {s['batch']} × {s['length']} bytes = {snr_tokens():,} tokens per model "
            f"and seed; SNR over K = {s['minibatches']} minibatches at initialisation and after training; "
            f"{len(SNR_SEEDS)} seeds",
        source="000 § Formally Proven (Lean 4) › LowRankCapacity.lean › lowRank_increases_snr: "
               + SNR_SOURCE_SCALE + "; the rule's d = 256, r/d = 0.176 (E5's 270/1536)",
        reduced=True)
    full_scale_note(evidence, SNR_SCALES["full"])
    evidence.note(f"rule: {reason}")
    evidence.file(draw_lowrank_snr(evidence.figures_dir, snr_runs),
                  "gradient SNR of the recurrent parameters and of the effective matrix against r/d")
    report(evidence, verdict, reason, lambda: snr_to_decide(deltas))


def draw_lowrank_snr(folder, runs):
    plt = pyplot()
    d, ranks = SNR_SIZES["dim"], [rank_of(x) for x in RANK_RATIOS]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
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
    return save(fig, folder, "lowrank_increases_snr")


# ================================================================ observed.xgated_faster_than_mamba2

XG_SCALES = dict(
    small=dict(dim=64, depth=1, d_state=16, headdim=16, batch=16, length=64, steps=200, last=50, warmup=10,
               timed=50, small_batch=4, lr=3e-3),
    full=dict(dim=512, depth=4, d_state=64, headdim=64, batch=256, length=512, steps=200, last=50, warmup=10,
              timed=50, small_batch=4, lr=3e-4))
XG_SIZES = at_scale(**XG_SCALES)
XG_REPEATS = 5                      # fresh processes, seeds 0 … 4; each trains the full steps (a loss seed too)
XG_KINDS = ("xgated", "mamba2")


def xgated_configs() -> dict[str, LMConfig]:
    """Mamba2 (LMConfig "ssd": expand 2) and the X-gated Elman whose state d_in gives the parameter
    count closest to Mamba2's (the rule: within 5%)."""
    s = XG_SIZES
    mamba2 = LMConfig("ssd", s["dim"], s["depth"], d_state=s["d_state"], headdim=s["headdim"])
    target = num_parameters(Mamba2Layer(s["dim"], d_state=s["d_state"], headdim=s["headdim"], device="meta"))
    count = lambda n: num_parameters(XGatedElman(s["dim"], n / s["dim"], device="meta"))  # noqa: E731
    above = bisect.bisect_left(range(1, 4 * s["dim"]), target, key=count) + 1     # the count grows with d_in
    d_in = min((above - 1, above), key=lambda n: abs(count(n) - target))
    return {"xgated": LMConfig("xgated", s["dim"], s["depth"], expansion=d_in / s["dim"]), "mamba2": mamba2}


def timed_steps(model: ByteLM, windows: list[torch.Tensor], lr: float) -> dict:
    """Train on `windows`, one per step, timing forward + backward and the optimiser step (with the
    gradient clipping) of each step separately; wall clock. impl's `train` times them together,
    so the loop is spelled out here."""
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr)
    losses, forward_backward, optimiser_step = [], [], []
    model.train()
    for window in windows:
        started = time.perf_counter()
        loss = next_byte_loss(model, window)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        between = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        losses.append(float(loss.detach()))
        forward_backward.append(between - started)
        optimiser_step.append(time.perf_counter() - between)
    return dict(losses=losses, forward_backward=forward_backward, optimiser=optimiser_step)


def xgated_repeat(seed: int, steps: int) -> dict:
    """One repeat, meant for a fresh process: both models from `seed` trained `steps` steps on the
    same data (the order of the models alternating with the seed), then each timed for warm-up +
    timed steps at the small batch."""
    from impl.data import text_corpus
    torch.set_num_threads(1)
    s, configs = XG_SIZES, xgated_configs()
    stream = ByteStream(text_corpus())
    order = XG_KINDS if seed % 2 == 0 else XG_KINDS[::-1]
    out = {}
    for kind in order:
        generator = torch.Generator().manual_seed(seed)
        windows = [stream.batch(s["batch"], s["length"], generator) for _ in range(steps)]
        small = [stream.batch(s["small_batch"], s["length"], generator) for _ in range(s["warmup"] + s["timed"])]
        model = ByteLM(configs[kind], seed)
        out[kind] = timed_steps(model, windows, s["lr"])
        out[kind]["small_batch"] = timed_steps(model, small, s["lr"])["forward_backward"]
        out[kind]["parameters"] = num_parameters(model)
        out[kind]["layer_parameters"] = num_parameters(model.recurrences()[0])
    return out


def run_repeat_in_fresh_process(seed: int, steps: int) -> dict:
    code = ("import json; from benchmarks.test_exp_gradients import xgated_repeat; "
            f"print(json.dumps(xgated_repeat({seed}, {steps})))")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"repeat {seed} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def tokens_per_s(times: list[float], batch: int) -> float:
    """Steady-state rate: tokens of the timed steps after the warm-up over their summed seconds
    (the same steps in every repeat, whatever its length)."""
    s = XG_SIZES
    timed = times[s["warmup"]: s["warmup"] + s["timed"]]
    return len(timed) * batch * s["length"] / sum(timed)


def xgated_plan() -> list[tuple[int, int]]:
    """(seed, training steps) of each repeat: every repeat trains the full steps, so every repeat
    that ran is also a loss seed (amended 2026-12-03: before, only the first 3 of 5 did)."""
    return [(seed, XG_SIZES["steps"]) for seed in range(XG_REPEATS)]


def losses_per_seed(repeats: list[dict]) -> dict[str, list[float]]:
    """The loss part of the rule: per repeat (= seed) and model, the mean training loss over the last
    `last` steps, from every repeat; a repeat that did not train the full steps is an error, not
    left out (leaving it out would decide on fewer seeds than ran)."""
    s = XG_SIZES
    for seed, repeat in enumerate(repeats):
        for kind in XG_KINDS:
            trained = len(repeat[kind]["losses"])
            if trained != s["steps"]:
                raise ValueError(f"X-gated experiment: repeat {seed} ({kind}) trained {trained} steps, not the "
                                 f"rule's {s['steps']}: its loss is not comparable with the others")
    return {kind: [float(np.mean(repeat[kind]["losses"][-s["last"]:])) for repeat in repeats] for kind in XG_KINDS}


@pytest.mark.experiment
@pytest.mark.claim("observed.xgated_faster_than_mamba2")
def test_xgated_throughput_and_loss_against_mamba2(stream, evidence):
    s = XG_SIZES
    repeats = [run_repeat_in_fresh_process(seed, steps) for seed, steps in xgated_plan()]
    rates = {k: [tokens_per_s(r[k]["forward_backward"], s["batch"]) for r in repeats] for k in XG_KINDS}
    small_rates = {k: [tokens_per_s(r[k]["small_batch"], s["small_batch"]) for r in repeats] for k in XG_KINDS}
    optimiser_ms = {k: [1e3 * np.mean(r[k]["optimiser"][s["warmup"]: s["warmup"] + s["timed"]]) for r in repeats]
                    for k in XG_KINDS}
    losses = losses_per_seed(repeats)
    verdict, reason = decide_xgated_faster(rates["xgated"], rates["mamba2"], losses["xgated"], losses["mamba2"])

    params = {k: (repeats[0][k]["parameters"], repeats[0][k]["layer_parameters"]) for k in XG_KINDS}
    assert abs(params["xgated"][0] / params["mamba2"][0] - 1) <= 0.05, f"parameters not within 5%: {params}"
    configs = xgated_configs()
    d_in = int(configs["xgated"].expansion * s["dim"])
    tokens = s["steps"] * s["batch"] * s["length"]
    evidence.note(
        f"scale {scale()}: impl's XGatedElman (d_in {d_in}, spectral norm "
        f"0.99, pure-PyTorch step loop) vs impl's Mamba2Layer (expand 2, d_state {s['d_state']}, headdim "
        f"{s['headdim']}, d_conv 4, pure-PyTorch chunked SSD, chunk 64) byte LMs, width {s['dim']}, depth "
        f"{s['depth']}; parameters {params['xgated'][0]} vs {params['mamba2'][0]} (layers "
        f"{params['xgated'][1]} vs {params['mamba2'][1]}). Original: the ekg/elman CUDA kernels against the "
        f"Mamba2 SSD kernels, bf16, batch 256 × 512 on a GPU; here float32 on one CPU thread, batch "
        f"{s['batch']} × {s['length']} (batch {s['small_batch']} also timed), so this compares these two "
        f"PyTorch implementations on a CPU, not the original kernels.")
    evidence.note(
        f"Throughput: {XG_REPEATS} repeats (seeds 0 … {XG_REPEATS - 1}), each a fresh Python process (one torch "
        f"thread) that trains both models (order alternating) the full {s['steps']} steps on the same pre-drawn "
        f"windows (so every repeat is also a loss seed). Every step's forward + backward and optimiser step "
        f"(grad clip + AdamW) are timed separately with time.perf_counter (CPU work is synchronous); in "
        f"every repeat steps 1–{s['warmup']} are warm-up and excluded and the rate is {s['timed']} × "
        f"{s['batch']} × {s['length']} tokens over the summed forward+backward seconds of steps "
        f"{s['warmup'] + 1}–{s['warmup'] + s['timed']}; data loading is not timed. Batch {s['small_batch']}: "
        f"{s['warmup'] + s['timed']} further steps in the same process, timed the same way. R = geometric-mean "
        f"tok/s (X-gated) / geometric-mean tok/s (Mamba2), 95% interval = Welch's t interval of the difference "
        f"of mean log tok/s, exponentiated (rule amended 2026-12-03: the percentile bootstrap of the ratio of "
        f"means covers only ≈ 85% at 5 repeats per model); the ratio of arithmetic means is reported, not "
        f"deciding. The document's R is 166k/96k = 1.73 (cumulative tokens over wall time including data "
        f"loading and optimiser, no warm-up excluded). Throughput is wall clock: it varies from run to run and "
        f"with other load on the machine.")
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
            f"{tokens:,} tokens per model and seed; float32, one CPU thread, pure-PyTorch loops; "
            f"{len(repeats)} repeats = seeds",
        source="000 § Empirically Observed › X-Gated Elman: single runs, 166k vs 96k tok/s, loss 1.89 vs 1.84, no "
               "model size stated (the codebase's run per the registry notes: batch 256 × 512, ~200 steps ≈ "
               "26.2M tokens, bf16, CUDA kernels on a GPU)",
        reduced=True)
    full_scale_note(evidence, XG_SCALES["full"])
    r, r_lo, r_hi = throughput_ratio(rates["xgated"], rates["mamba2"])
    evidence.figure("R = tok/s X-gated / tok/s Mamba2 (fwd+bwd, geometric means)", r, "1")
    evidence.figure("R: 95% log-scale Welch low", r_lo, "1")
    evidence.figure("R: 95% log-scale Welch high", r_hi, "1")
    evidence.figure("(not deciding) ratio of arithmetic-mean tok/s", np.mean(rates["xgated"]) / np.mean(rates["mamba2"]),
                    "1")
    evidence.figure("R: the document's figure", 166 / 96, "1")
    r4, r4_lo, r4_hi = throughput_ratio(small_rates["xgated"], small_rates["mamba2"])
    evidence.figure(f"(not deciding) R at batch {s['small_batch']}", r4, "1")
    evidence.figure(f"(not deciding) R at batch {s['small_batch']}: 95% log-scale Welch low", r4_lo, "1")
    evidence.figure(f"(not deciding) R at batch {s['small_batch']}: 95% log-scale Welch high", r4_hi, "1")
    for k in XG_KINDS:
        figure_with_interval(evidence, f"{k}: tok/s forward+backward, batch {s['batch']}", rates[k], "tokens/s")
        figure_with_interval(evidence, f"{k}: tok/s forward+backward, batch {s['small_batch']}", small_rates[k],
                             "tokens/s")
        figure_with_interval(evidence, f"{k}: optimiser step (clip + AdamW)", optimiser_ms[k], "ms")
        figure_with_interval(evidence, f"{k}: mean training loss over the last {s['last']} steps", losses[k],
                             "nats/byte")
    d, d_lo, d_hi = welch_interval(losses["xgated"], losses["mamba2"])
    evidence.figure("D = loss X-gated − loss Mamba2", d, "nats/byte")
    evidence.figure("D: 95% Welch low", d_lo, "nats/byte")
    evidence.figure("D: 95% Welch high", d_hi, "nats/byte")
    evidence.note(f"rule: {reason}")
    evidence.file(draw_xgated(evidence.figures_dir, repeats, rates, small_rates),
                  "tokens/s per repeat (fresh processes) and training loss curves per seed")
    report(evidence, verdict, reason,
           lambda: xgated_to_decide(rates["xgated"], rates["mamba2"], losses["xgated"], losses["mamba2"]))


def draw_xgated(folder, repeats, rates, small_rates):
    plt = pyplot()
    s = XG_SIZES
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
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
    return save(fig, folder, "observed_xgated_faster_than_mamba2")


# ================================================================ expansion.wide_beats_narrow

MC_SEEDS = (0, 1, 2, 3, 4)                 # the rule's preferred 5 (amended 2026-12-03; was 3)
MC_INPUT = 8
MC_SCALES = dict(
    small=dict(narrow=(16, 4), wide=(25, 1), steps=400, batch=16, lr=3e-3, fit=20_000, test=5_000),
    full=dict(narrow=(256, 4), wide=(405, 1), steps=2000, batch=32, lr=1e-3, fit=20_000, test=5_000))
MC_SIZES = at_scale(**MC_SCALES)
MC_LAGS = 2 * MC_SIZES["wide"][0]          # K = 2·d_w
MC_LENGTH = 2 * MC_LAGS                    # training sequences: every lag has K targets per sequence
RIDGE = 1e-3                               # ridge penalty per fitted time step (on the covariance scale)
MC_EVAL_SEED = 20_000                      # + seed: the long sequence of the readout, and held-out batches


def document_parameters(d: int, e: int) -> int:
    """P(d, e) = 2d² + 2e·d² (the document's count: W_x, W_h and the d → e·d → d expansion)."""
    return 2 * d * d + 2 * e * d * d


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
    back = torch.arange(T)[:, None] - torch.arange(1, lags + 1)[None, :]   # t − k
    mask = back >= 0
    return x[:, back.clamp(min=0)] * mask[..., None], mask


def recall_loss(model: RecallNet, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the defined (t, k) pairs (masked sum: cheaper to differentiate than
    indexing with the mask)."""
    targets, mask = lagged_targets(x, model.lags)
    error = (model(x) - targets) * mask[..., None]
    return error.pow(2).sum() / (mask.sum() * x.shape[0] * x.shape[2])


def train_recall(d: int, e: int, seed: int) -> tuple[RecallNet, list[float]]:
    s = MC_SIZES
    model = RecallNet(d, e, MC_LAGS, seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=s["lr"], weight_decay=0.0)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(s["steps"]):
        loss = recall_loss(model, torch.randn(s["batch"], MC_LENGTH, MC_INPUT, generator=generator))
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


def capacity_run(d: int, e: int, seed: int) -> dict:
    s = MC_SIZES
    model, losses = train_recall(d, e, seed)
    generator = torch.Generator().manual_seed(MC_EVAL_SEED + seed)
    x = torch.randn(1, MC_LAGS + s["fit"] + s["test"], MC_INPUT, generator=generator)
    held_out = [torch.randn(s["batch"], MC_LENGTH, MC_INPUT, generator=generator) for _ in range(4)]
    with torch.no_grad():
        states = model.states(x)[0].double().numpy()
        held_out_loss = float(np.mean([float(recall_loss(model, b)) for b in held_out]))
    r2 = memory_capacity(states, x[0].double().numpy(), MC_LAGS, s["fit"], s["test"])
    return dict(r2=r2, mc=float(r2.sum()), held_out_loss=held_out_loss, losses=losses)


@pytest.mark.experiment
@pytest.mark.claim("expansion.wide_beats_narrow")
def test_wide_state_has_more_memory_capacity_at_equal_parameters(evidence):
    s = MC_SIZES
    (d_n, e_n), (d_w, e_w) = s["narrow"], s["wide"]
    runs = {name: {seed: capacity_run(d, e, seed) for seed in MC_SEEDS}
            for name, (d, e) in (("narrow", s["narrow"]), ("wide", s["wide"]))}
    deltas = [runs["wide"][seed]["mc"] - runs["narrow"][seed]["mc"] for seed in MC_SEEDS]
    verdict, reason = decide_wide_beats_narrow(deltas)

    p_n, p_w = document_parameters(d_n, e_n), document_parameters(d_w, e_w)
    evidence.note(
        f"scale {scale()}: narrow (d, e) = ({d_n}, {e_n}), P = {p_n}; wide ({d_w}, {e_w}), P = {p_w} "
        f"({p_w / p_n - 1:+.1%}) under P = 2d² + 2e·d² — the rule's (256, 4) vs (405, 1) reduced to keep the "
        f"same construction (d_w/d_n = {d_w / d_n:.3f} vs 1.582). Model: x_t ∈ ℝ⁸ → linear embedding (8 → d) → "
        f"impl's StockElman (W_x, W_h d × d, state d) → per-step MLP W_down gelu(W_up h_t) (d → e·d → d, no "
        f"biases) → linear readout of the K = 2·d_w = {MC_LAGS} lagged inputs (MSE over the defined (t, k)). "
        f"Training: {s['steps']} steps instead of 2,000 (torch AdamW lr {s['lr']:g}, grad clip 1.0, batch "
        f"{s['batch']} sequences of {MC_LENGTH} steps of i.i.d. N(0, I) inputs, seed = init and data). "
        f"MC = Σ_k R²_k over k = 1 … {MC_LAGS}: R²_k is the held-out coefficient of determination (mean over "
        f"the 8 coordinates, not clipped at 0) of a fresh ridge readout (penalty {RIDGE:g} × fitted steps, "
        f"intercept) of x_(t−k) from h_t on one fresh input sequence: fitted on {s['fit']:,} steps, tested on "
        f"the following {s['test']:,}, after {MC_LAGS} steps of burn-in.")
    for name in ("narrow", "wide"):
        figure_with_interval(evidence, f"{name}: MC", [runs[name][seed]["mc"] for seed in MC_SEEDS], "1")
        figure_with_interval(evidence, f"(not deciding) {name}: held-out task loss (MSE)",
                             [runs[name][seed]["held_out_loss"] for seed in MC_SEEDS], "1")
    figure_with_interval(evidence, "Δ = MC_wide − MC_narrow", deltas, "1")
    figure_with_interval(evidence, "(not deciding) held-out loss wide − narrow",
                         [runs["wide"][seed]["held_out_loss"] - runs["narrow"][seed]["held_out_loss"]
                          for seed in MC_SEEDS], "1")
    evidence.scale(
        ran=f"StockElman + per-step MLP on 8-dim i.i.d. inputs: narrow (d, e) = ({d_n}, {e_n}), P = {p_n:,} vs wide "
            f"({d_w}, {e_w}), P = {p_w:,}; {s['steps']} AdamW steps × {s['batch']} sequences × {MC_LENGTH} steps "
            f"= {s['steps'] * s['batch'] * MC_LENGTH:,} input steps per model and seed; K = {MC_LAGS} lags; "
            f"{len(MC_SEEDS)} seeds",
        source="no experiment: 000 § Formally Proven (Lean 4) › ExpansionTradeoff.lean › "
               "wide_beats_narrow_on_capacity takes 'wider' as a hypothesis and capacity := hidden dim, with no "
               "model, size or data; the registry's rule: (256, 4), P = 655,360 vs (405, 1), P = 656,100, 2,000 "
               "steps",
        reduced=True)
    full_scale_note(evidence, MC_SCALES["full"])
    evidence.note(f"rule: {reason}")
    evidence.file(draw_capacity(evidence.figures_dir, runs), "R²_k of the ridge readout against the lag k")
    report(evidence, verdict, reason, lambda: capacity_to_decide(deltas))


def draw_capacity(folder, runs):
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
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
    return save(fig, folder, "expansion_wide_beats_narrow")
