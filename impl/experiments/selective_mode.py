"""Experiment: flow.selective_mode_activation (002 § 2026-02-06) on the 16 × 16 two-layer linear model.

Measurement and decision rule are the registry entry's, fixed before looking at the data:
per seed, random orthogonal P, Q and A* = P diag(σ) Qᵀ with σ = (1, 1/2, 1/4, 1/8, 1/16, 0 × 11);
W, U with i.i.d. N(0, c²) entries for c in {1e-3, 1e-4, 1e-5, 1e-6}; plain gradient descent
(`impl.flow.factorized.gradient_descent`, η = 0.005, t = η · steps) until every target mode is
learned. Mode strength s_i(t) = p_iᵀ A(t) q_i, learning time t_i = first t with s_i >= σ_i/2.
Tests: (a) t_1 < … < t_5; (b) per seed and mode, the least-squares slope b_i of t_i on ln(1/c²)
over the four c satisfies 2σ_i b_i ∈ [0.9, 1.1] (the logistic law predicts b_i = 1/(2σ_i));
(c) s_i(t_(i−1)) <= 0.1 σ_i for i = 2..5, and the off-target part ‖A − P_T P_Tᵀ A Q_T Q_Tᵀ‖_2
stays <= 0.01 σ_5 throughout (required where c <= 1e-5). `decide` applies the rule to the
measurements; it is a pure function, tested on synthetic measurements in
tests/test_selective_mode_rule.py.

Design choices inside the rule: each seed draws one standard normal pair (Z_W, Z_U) and uses
W = c Z_W, U = c Z_U for every c (common random numbers: each c still gets i.i.d. N(0, c²)
entries, and the fit over c then sees the effect of c, not a fresh draw). One cell per seed
(`simulate_seed`): the seed's four scales run as one batch (the model is batched), each member's
off-target maximum taken up to its own t_5; the seed is the rule's unit (tests (a)–(c) are read
per seed, (b) fits over that seed's four c). The off-target 2-norm is evaluated at every step
where it could raise the running maximum (its Frobenius norm, an upper bound, exceeds the maximum
so far), so the maximum is exact over all steps. CLAIMS_SCALE=medium and full run 20 seeds
instead of 5 (the source runs no simulation, so no larger model size is taken from it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from impl.flow import factorized
from impl.spectral.spectra import random_orthogonal

from claims.cells import Cell, cell_function, make_cell
from .common import CONFIRMED, INCONCLUSIVE, conclude, pyplot, save_figure
from claims.scale import at_scale, scale

EXPERIMENT = "selective_mode"
CLAIM = "flow.selective_mode_activation"

SIZE = 16                                                  # m = n = k
SIGMA = np.array([1.0, 1 / 2, 1 / 4, 1 / 8, 1 / 16])       # the target modes; the other 11 are 0
INIT_SCALES = np.array([1e-3, 1e-4, 1e-5, 1e-6])
LR = 0.005
# t = 600: about 3× the slowest learning time expected (t_5 ≈ 190 at c = 1e-6); a mode not
# learned by then leaves the protocol ("run until every target mode is learned") unfinished
MAX_STEPS = 120_000
SLOPE_BAND = (0.9, 1.1)          # (b): 2σ_i b_i
SMALL_MODE_BOUND = 0.1           # (c): s_i(t_(i−1)) / σ_i
OFF_TARGET_BOUND = 0.01          # (c): max_t ‖off-target part‖_2 / σ_5
OFF_TARGET_MAX_SCALE = 1e-5      # the off-target bound is required (and refutes) at c <= this
REFUTING_MAX_SCALE = 1e-4        # (a) and (c)'s first part refute only at c <= this
FIGURE_SEED, FIGURE_SCALE = 0, 1e-4
DRAW_SEED = 20260206             # one generator draws P, Q, Z_W, Z_U for all seeds, in that order
HISTORY_EVERY = 20               # the figure's trajectory: every 20th step and each learning step


def seed_count() -> int:
    """small: the registry's ">= 5 seeds"; medium and full: 20 (002 simulates nothing, so there is
    no larger source configuration; more seeds only sharpen the majority rule)."""
    return at_scale(small=5, medium=20, full=20)


# The scale of the source's claim: 002 derives it symbolically, for one mode, and runs nothing.
SOURCE_SCALE = ("no size, no simulation: a symbolic one-mode derivation; 002 derives the logistic law "
                "ds/dt = 2 s (σ − s) (SymPy) for one aligned, balanced mode of the 2-layer linear model W U "
                "under whitened squared loss, any size, and reads selective mode activation off it "
                "(002 § 2026-02-06, interpretation note)")


# ------------------------------------------------------------- the decision rule

@dataclass(frozen=True)
class Measurements:
    """What the rule needs, for `seeds` seeds and C init scales (5 target modes)."""
    sigma: np.ndarray             # (5,) target strengths σ_1 > … > σ_5
    init_scales: np.ndarray       # (C,) the scales c
    learning_times: np.ndarray    # (seeds, C, 5) t_i; nan where a mode was not learned in the run
    small_mode_ratio: np.ndarray  # (seeds, C, 4) s_i(t_(i−1)) / σ_i for i = 2..5
    off_target_ratio: np.ndarray  # (seeds, C) max over the run of ‖A − P_T P_Tᵀ A Q_T Q_Tᵀ‖_2 / σ_5


def fitted_slopes(m: Measurements) -> np.ndarray:
    """(seeds, 5): least-squares b_i of t_i = a_i + b_i ln(1/c²), per seed and mode."""
    x = np.log(1 / m.init_scales ** 2)
    centred = x - x.mean()
    times = m.learning_times
    return ((times - times.mean(axis=1, keepdims=True)) * centred[None, :, None]).sum(axis=1) / (centred ** 2).sum()


def decide(m: Measurements) -> tuple[str, list[str]]:
    """The registry's rule: confirmed when (a), (b), (c) hold in every seed ((a) and the small-mode
    bound at every c, the off-target bound at c <= 1e-5); refuted when in a majority of seeds
    [(a) or the small-mode bound fails at some c <= 1e-4, or (b) fails, or the off-target bound
    fails at some c <= 1e-5]; otherwise inconclusive. Returns (verdict, reasons with numbers).
    A mode not learned within the run makes the data incomplete: inconclusive."""
    seeds = m.learning_times.shape[0]
    if seeds < 3:
        raise ValueError(f"decide: the rule needs at least 3 seeds, got learning_times of shape "
                         f"{m.learning_times.shape}")
    if np.isnan(m.learning_times).any():
        missing = np.argwhere(np.isnan(m.learning_times))
        return "inconclusive", [f"mode {i + 1} not learned within the run at c = {m.init_scales[c]:g}, seed {s}"
                                for s, c, i in missing]
    order_ok = (np.diff(m.learning_times, axis=-1) > 0).all(axis=-1)                 # (seeds, C)
    small_ok = (m.small_mode_ratio <= SMALL_MODE_BOUND).all(axis=-1)                 # (seeds, C)
    off_ok = m.off_target_ratio <= OFF_TARGET_BOUND                                  # (seeds, C)
    ratio = 2 * m.sigma * fitted_slopes(m)                                           # (seeds, 5)
    slope_ok = ((ratio >= SLOPE_BAND[0]) & (ratio <= SLOPE_BAND[1])).all(axis=-1)    # (seeds,)
    off_required = m.init_scales <= OFF_TARGET_MAX_SCALE
    refuting_scales = m.init_scales <= REFUTING_MAX_SCALE

    holds = order_ok.all(-1) & small_ok.all(-1) & off_ok[:, off_required].all(-1) & slope_ok
    refutes = ((~order_ok | ~small_ok)[:, refuting_scales].any(-1) | ~slope_ok
               | (~off_ok[:, off_required]).any(-1))

    reasons = []
    for s in range(seeds):
        for c, scale_c in enumerate(m.init_scales):
            if not order_ok[s, c]:
                reasons.append(f"seed {s}, c = {scale_c:g}: (a) learning order fails, t = "
                               f"{np.round(m.learning_times[s, c], 3).tolist()}")
            if not small_ok[s, c]:
                reasons.append(f"seed {s}, c = {scale_c:g}: (c) s_i(t_(i−1))/σ_i = "
                               f"{np.round(m.small_mode_ratio[s, c], 4).tolist()} (i = 2..5) exceeds {SMALL_MODE_BOUND}")
            if not off_ok[s, c]:
                required = "required" if off_required[c] else "not required at this c"
                reasons.append(f"seed {s}, c = {scale_c:g}: (c) off-target max/σ_5 = {m.off_target_ratio[s, c]:.3g} "
                               f"> {OFF_TARGET_BOUND} ({required})")
        if not slope_ok[s]:
            reasons.append(f"seed {s}: (b) 2σ_i b_i = {np.round(ratio[s], 4).tolist()} outside {list(SLOPE_BAND)}")
    summary = (f"{int(holds.sum())} of {seeds} seeds satisfy (a), (b), (c); {int(refutes.sum())} show a refuting "
               f"failure (refuted needs more than {seeds // 2})")
    if holds.all():
        return "confirmed", [summary, *reasons]
    if refutes.sum() > seeds / 2:
        return "refuted", [summary, *reasons]
    return "inconclusive", [summary, *reasons]


def what_would_decide(m: Measurements) -> str:
    """For an inconclusive verdict of `decide`: what the data lack, from the measurements."""
    seeds = m.learning_times.shape[0]
    if np.isnan(m.learning_times).any():
        learned = np.isfinite(m.learning_times)
        slowest = m.init_scales[~learned.all(axis=(0, 2))].min()
        # the logistic law's t_5 ≈ ln(σ_5/s0)/(2σ_5) with s0 ≈ c²
        law = np.log(SIGMA[-1] / slowest ** 2) / (2 * SIGMA[-1])
        longer = max(2 * law, 2 * LR * MAX_STEPS)
        return (f"a run long enough for every mode to be learned: {int((~learned).sum())} (seed, c, mode) "
                f"learning times are missing (smallest such c = {slowest:g}); the run stopped at "
                f"t = {LR * MAX_STEPS:g}, the logistic law puts t_5 near {law:.0f} at that c; a run to "
                f"t = {longer:.0f} (MAX_STEPS = {int(np.ceil(longer / LR)):,}) would show whether they are "
                f"learned at all")
    order_ok = (np.diff(m.learning_times, axis=-1) > 0).all(axis=-1)
    small_ok = (m.small_mode_ratio <= SMALL_MODE_BOUND).all(axis=-1)
    off_ok = (m.off_target_ratio <= OFF_TARGET_BOUND)[:, m.init_scales <= OFF_TARGET_MAX_SCALE]
    ratio = 2 * m.sigma * fitted_slopes(m)
    slope_ok = ((ratio >= SLOPE_BAND[0]) & (ratio <= SLOPE_BAND[1])).all(axis=-1)
    refuting = m.init_scales <= REFUTING_MAX_SCALE
    holds = order_ok.all(-1) & small_ok.all(-1) & off_ok.all(-1) & slope_ok
    refutes = (~order_ok | ~small_ok)[:, refuting].any(-1) | ~slope_ok | (~off_ok).any(-1)
    fraction = refutes.mean()
    return (f"{int((~holds).sum())} of {seeds} seeds fail a test, {int(refutes.sum())} of them with a refuting "
            f"failure (refuted needs more than half of all seeds): confirmed would need every seed to pass; at the observed "
            f"refuting fraction {fraction:.2f} more seeds (CLAIMS_SCALE=medium and full run 20) "
            + ("would refute it once the majority holds" if fraction > 0.5 else
               "would not reach a majority either: a finer look at the failing (seed, c) above decides "
               "whether the failures are the claim's or the protocol's (e.g. c too large for the small-"
               "initialisation theory)"))


# ------------------------------------------------------------- the simulation (one cell per seed)

class ModeTracker:
    """`record` and `stop` for gradient_descent, called at every step (record_every = 1): the first
    step with s_i >= σ_i/2, s_i at the step mode i−1 is learned, and each member's running
    maximum of the off-target 2-norm up to (and including) the step its last mode is learned.
    `watch`: the member whose trajectory is kept for the figure (None: keep none)."""

    def __init__(self, P: torch.Tensor, Q: torch.Tensor, lr: float, watch: int | None):
        device = P.device
        self.P, self.Q, self.lr = P, Q, lr
        batch, modes = P.shape[0], len(SIGMA)
        self.half = torch.as_tensor(SIGMA / 2, device=device)
        self.first_step = torch.full((batch, modes), -1, dtype=torch.long, device=device)
        self.at_previous = torch.full((batch, modes - 1), float("nan"), dtype=torch.float64, device=device)
        self.off_target_max = torch.zeros(batch, dtype=torch.float64, device=device)
        self.done = torch.zeros(batch, dtype=torch.bool, device=device)
        self.all_done = False
        self.off_block = torch.ones(SIZE, SIZE, dtype=torch.float64, device=device)
        self.off_block[:modes, :modes] = 0
        self.step = 0
        self.watch = watch
        self.history: list[tuple[float, np.ndarray, np.ndarray]] = []

    def record(self, W: torch.Tensor, U: torch.Tensor) -> None:
        rotated = self.P.mT @ (W @ U) @ self.Q                       # Pᵀ A Q: s_i on the diagonal
        s = rotated.diagonal(dim1=-2, dim2=-1)[:, :len(SIGMA)]
        new = (s >= self.half) & (self.first_step < 0)
        learned_now = bool(new.any())          # a few steps of ~10⁴: the masked updates only then
        if learned_now:
            self.first_step[new] = self.step
            previous_new = new[:, :-1]                               # mode i−1 learned now: keep s_i
            self.at_previous[previous_new] = s[:, 1:][previous_new]
        off = rotated * self.off_block
        # the 2-norm only where it can raise the running maximum (‖X‖_2 <= ‖X‖_F)
        could_raise = ~self.done & (torch.linalg.matrix_norm(off) > self.off_target_max)
        if could_raise.any():
            spectral = torch.linalg.matrix_norm(off[could_raise], ord=2)
            self.off_target_max[could_raise] = torch.maximum(self.off_target_max[could_raise], spectral)
        if learned_now:
            self.done |= (self.first_step >= 0).all(dim=-1)
            self.all_done = bool(self.done.all())
        if self.watch is not None and (self.step % HISTORY_EVERY == 0 or (learned_now and bool(new[self.watch].any()))):
            self.history.append((self.lr * self.step, s[self.watch].cpu().numpy().copy(),
                                 torch.linalg.svdvals(W[self.watch] @ U[self.watch]).cpu().numpy()))
        self.step += 1

    def stop(self, W: torch.Tensor, U: torch.Tensor) -> bool:
        return self.all_done


@cell_function(uses=("impl.flow", "impl.spectral.spectra"))
def simulate_seed(*, placement, seed: int, seeds_drawn: int, init_scales: list, lr: float, max_steps: int,
                  keep_history: bool) -> dict:
    """Gradient descent for one seed at every init scale c (one batch member per c), float64 on
    the placement's device, until each member has learned its 5 target modes (or max_steps).

    The draws: one generator (DRAW_SEED) draws P, Q, Z_W, Z_U for `seeds_drawn` seeds, in that
    order, and this cell takes seed `seed`'s (so a cell's numbers do not depend on which other
    seeds run, only on how many are drawn). Returns per c: the first step each mode is learned
    (−1: not learned), s_i at the step mode i−1 is learned, the off-target 2-norm maximum; the
    steps run and the wall time; with `keep_history`, the trajectory of member c = FIGURE_SCALE."""
    if not 0 <= seed < seeds_drawn:
        raise ValueError(f"simulate_seed: seed {seed} is not among the {seeds_drawn} seeds drawn")
    device = placement.torch_device()
    gen = torch.Generator().manual_seed(DRAW_SEED)
    P = random_orthogonal(SIZE, seeds_drawn, generator=gen)
    Q = random_orthogonal(SIZE, seeds_drawn, generator=gen)
    Z_W = torch.randn(seeds_drawn, SIZE, SIZE, generator=gen, dtype=torch.float64)[seed]
    Z_U = torch.randn(seeds_drawn, SIZE, SIZE, generator=gen, dtype=torch.float64)[seed]
    sigma = torch.zeros(SIZE, dtype=torch.float64)
    sigma[:len(SIGMA)] = torch.as_tensor(SIGMA)
    target = (P @ torch.diag_embed(sigma.expand(seeds_drawn, SIZE)) @ Q.mT)[seed]   # as one batch: the same bits
    P, Q = P[seed], Q[seed]
    scales = torch.as_tensor(init_scales, dtype=torch.float64)
    count = len(init_scales)
    on = lambda M: M.expand(count, SIZE, SIZE).contiguous().to(device)            # noqa: E731
    watch = init_scales.index(FIGURE_SCALE) if keep_history else None
    tracker = ModeTracker(on(P), on(Q), lr, watch)
    started = time.perf_counter()
    c = scales.view(-1, 1, 1).to(device)                                           # member b: c = init_scales[b]
    factorized.gradient_descent(c * on(Z_W), c * on(Z_U), on(target), lr, max_steps,
                                record=tracker.record, record_every=1, stop=tracker.stop)
    seconds = time.perf_counter() - started
    history = None
    if keep_history:
        history = {"times": np.array([h[0] for h in tracker.history]),
                   "strengths": np.stack([h[1] for h in tracker.history]),
                   "singular_values": np.stack([h[2] for h in tracker.history])}
    return {"first_step": tracker.first_step.cpu(), "at_previous": tracker.at_previous.cpu(),
            "off_target_max": tracker.off_target_max.cpu(), "steps": tracker.step, "seconds": seconds,
            "history": history}


def declare_cells() -> list[Cell]:
    """One cell per seed (its four init scales batched); a 512-parameter linear model stepped by
    plain gradient descent is a numeric simulation, not a training run: no parameter or token
    count for the plan."""
    seeds = seed_count()
    return [make_cell(simulate_seed, EXPERIMENT, seed=seed, seeds_drawn=seeds, init_scales=INIT_SCALES.tolist(),
                      lr=LR, max_steps=MAX_STEPS, keep_history=seed == FIGURE_SEED)
            for seed in range(seeds)]


@dataclass
class Run:
    measurements: Measurements
    steps: int                  # the longest cell's steps (every mode of every member learned)
    seconds: float              # summed over the cells, as each was computed
    history: dict               # the figure member's trajectory: times, strengths, singular_values


def run_from_records(records: list[dict]) -> Run:
    """The run the rule reads, from the cells' records in seed order (as decoded from the store:
    arrays as numpy arrays, so a fresh and a reused run give the same numbers)."""
    results = [record["result"] for record in records]
    first = np.stack([np.asarray(r["first_step"]) for r in results])              # (seeds, C, 5)
    times = np.where(first >= 0, LR * first, np.nan)
    measurements = Measurements(
        sigma=SIGMA, init_scales=INIT_SCALES, learning_times=times,
        small_mode_ratio=np.stack([np.asarray(r["at_previous"]) for r in results]) / SIGMA[1:],
        off_target_ratio=np.stack([np.asarray(r["off_target_max"]) for r in results]) / SIGMA[-1])
    return Run(measurements, max(int(r["steps"]) for r in results), float(sum(r["seconds"] for r in results)),
               results[FIGURE_SEED]["history"])


# ------------------------------------------------------------- evidence and verdict

def report(evidence, run: Run) -> None:
    """Record the run's scale, figures, notes and figure, then conclude with the rule's verdict."""
    m = run.measurements
    seeds = m.learning_times.shape[0]
    verdict, reasons = decide(m)
    members = seeds * len(INIT_SCALES)
    current = scale()
    evidence.scale(f"{SIZE}×{SIZE} linear W U ({2 * SIZE * SIZE} parameters), {members} runs × up to {run.steps:,} "
                   f"gradient-descent steps: 5 target + {SIZE - len(SIGMA)} off-target modes, {seeds} seeds × "
                   f"{len(INIT_SCALES)} init scales (one cell per seed, its scales in one batch), "
                   f"t = {LR * run.steps:g}, float64 (CLAIMS_SCALE={current}"
                   + ("" if current != "small" else "; medium and full run 20 seeds") + ")",
                   SOURCE_SCALE, reduced=current != "full")

    evidence.note(f"m = n = k = {SIZE}, σ = {SIGMA.tolist()} + 11 zeros, c ∈ {INIT_SCALES.tolist()}, "
                  f"η = {LR}, {seeds} seeds (CLAIMS_SCALE={current}), float64, one cell per seed with its "
                  f"four scales in one batch; W = c Z_W, U = c Z_U with one standard normal draw per seed "
                  f"for every c")
    evidence.figure("gradient-descent steps run (until every mode of every member was learned)", run.steps, "steps")
    evidence.figure("simulated time", LR * run.steps, "time")
    evidence.figure("wall time of the simulation", run.seconds, "s")
    complete = not np.isnan(m.learning_times).any()
    if complete:
        ratio = 2 * SIGMA * fitted_slopes(m)
        for i, sg in enumerate(SIGMA):
            b = ratio[:, i] / (2 * sg)
            evidence.figure(f"mode {i + 1} (σ = {sg:g}): slope b_i mean (predicted 1/(2σ_i) = {1 / (2 * sg):g})",
                            b.mean(), "time")
            evidence.figure(f"mode {i + 1} (σ = {sg:g}): slope b_i spread (std over seeds)", b.std(ddof=1), "time")
            evidence.figure(f"mode {i + 1}: 2σ_i b_i min over seeds", ratio[:, i].min(), "1")
            evidence.figure(f"mode {i + 1}: 2σ_i b_i max over seeds", ratio[:, i].max(), "1")
        in_order = (np.diff(m.learning_times, axis=-1) > 0).all(axis=-1)
        evidence.figure("(seed, c) runs learning the modes in order 1..5", int(in_order.sum()), f"of {in_order.size}")
    for c, scale_c in enumerate(INIT_SCALES):
        evidence.note(f"c = {scale_c:g}: mean learning times t_1..t_5 = "
                      f"{np.round(np.nanmean(m.learning_times[:, c], axis=0), 3).tolist()}")
        evidence.figure(f"max s_i(t_(i−1))/σ_i over i = 2..5 and seeds, c = {scale_c:g}",
                        np.nanmax(m.small_mode_ratio[:, c]), "1")
        evidence.figure(f"max off-target ‖·‖_2 / σ_5 over the run and seeds, c = {scale_c:g}",
                        m.off_target_ratio[:, c].max(), "1")
    evidence.note("decision rule: " + "; ".join(reasons[:12]) + (" …" if len(reasons) > 12 else ""))
    if complete:
        draw_modes(evidence, run)

    reason = "; ".join(reasons)
    if verdict not in (CONFIRMED, INCONCLUSIVE):
        reason = "selective mode activation refuted by the registry's rule: " + reason
    conclude(evidence, verdict, reason, lambda: what_would_decide(m))


def draw_modes(evidence, run: Run):
    """Left: s_i(t)/σ_i (log time), with the measured t_i and the balanced aligned logistic law
    shifted to reach σ_i/2 at t_i (dashed). Right: all 16 singular values of A(t)."""
    plt = pyplot()
    times = np.asarray(run.history["times"])
    s = np.asarray(run.history["strengths"])
    singular = np.asarray(run.history["singular_values"])
    c = int(np.flatnonzero(INIT_SCALES == FIGURE_SCALE)[0])
    learned = run.measurements.learning_times[FIGURE_SEED, c]
    slopes = fitted_slopes(run.measurements)[FIGURE_SEED]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    grid = np.linspace(times[1], times[-1], 800)
    for i, sg in enumerate(SIGMA):
        line, = left.plot(times[1:], np.abs(s[1:, i]) / sg,
                          label=f"s_{i + 1}/σ_{i + 1}, σ = {sg:g}: t_{i + 1} = {learned[i]:.2f}, "
                                f"b = {slopes[i]:.2f} (pred. {1 / (2 * sg):g})")
        s0 = FIGURE_SCALE ** 2                   # any small start: the shift puts σ/2 at t_i
        shifted = factorized.logistic_mode(torch.from_numpy(grid - learned[i] + np.log(sg / s0 - 1) / (2 * sg)),
                                           float(sg), s0).numpy()
        left.plot(grid, shifted / sg, ls="--", lw=0.8, color=line.get_color())
        left.axvline(learned[i], color=line.get_color(), ls=":", lw=0.8)
    left.axhline(0.5, color="grey", lw=0.5)
    left.set(xscale="log", yscale="log", ylim=(1e-10, 2), xlabel="t = η · step", ylabel="|s_i(t)| / σ_i",
             title="target modes (dashed: logistic law through t_i)")
    left.legend(fontsize=7, loc="lower right")
    right.plot(times[1:], singular[1:], lw=0.8)
    right.set(xscale="log", yscale="log", ylim=(1e-12, 2), xlabel="t = η · step",
              title=f"all {SIZE} singular values of A = W U")
    fig.suptitle(f"gradient descent, η = {LR}, c = {FIGURE_SCALE:g}, seed {FIGURE_SEED}", fontsize=10)
    return save_figure(fig, evidence, CLAIM,
                       f"{CLAIM}: s_i(t)/σ_i and the singular values of A = W U over training time, "
                       f"seed {FIGURE_SEED}, c = {FIGURE_SCALE:g}")
