"""Experiments of the linear recurrent units (004, Orvieto et al.; the LRU paper arXiv 2303.06349):
lru.complex_near_circle_helps, lru.reconstruction, lru.mlp_universality and the E part of
lru.forward_blowup.

Every decision rule is the registry entry's, fixed before looking at the data, and is a pure
function `decide_*` of the measured figures (tested on synthetic figures in
tests/test_experiment_rules_lru.py). Everything runs on impl's diagonal linear RNN
(`impl.diagonal_rnn`): its ring initialisation, its step loop `diagonal_rnn_reference` /
`diagonal_scan_reference` for the recurrence in float32 (the `DiagonalLinearRNN` module, scan path,
for the Lotka–Volterra features), `vandermonde_matrix` for V[n, j] = λ_n^j.

Every measurement is a cell (claims/cells.py), declared by `declare_cells()` and run by
benchmarks/experiments/test_exp_lru.py through the harness's executor: one per seed of the near-circle
measurements (every L and N; and one mpmath cross-check), one per seed of the digit reconstruction, one per seed of
the universality run (the MLPs train on the cell's placement), one per (ring, seed) blow-up run.
Only the MLP training uses the placement; the other cells measure float32 / complex64 recurrences
and float64 readouts on the CPU whatever the placement (no training, and their numbers are the
rule's, not a device's).

- lru.complex_near_circle_helps: the rule's sizes at every scale (L ∈ {16, 32, 64}, N = L and
  N = 2L, 5 seeds, 100 sequences). κ₂(V) in high precision with python-flint ball arithmetic
  instead of mpmath (impl.diagonal_rnn.vandermonde.condition_number, whose certified sibling the N/C
  checks of lru.roots_of_unity_conditioning and lru.real_eigen_ill_conditioned test): κ₂ = sqrt(λ_max(G) λ_max(G⁻¹)) with G = V^H V formed and inverted in arb
  balls (precision doubled until G⁻¹ is certified to 20 digits), the two extreme eigenvalues then
  taken in float64 (well conditioned). mpmath's pure-Python SVD costs 4 s per 64 × 64 complex
  matrix here (measured), over the budget; it cross-checks the flint value at L = 16 instead.
- lru.reconstruction: the rule's sizes at every scale (scikit-learn 8×8 digits, L = 64). The fixed
  split (a permutation with seed 0): ridge fitted on 1000 images (its λ chosen on the last 200 of
  them, then refitted on all 1000), both readouts evaluated on the other 797.
- lru.mlp_universality: reduced at the small scale (sequences, batch, steps; below); the medium and
  full scales are the rule's sizes (a GPU trains them in minutes). The module's B is impl's complex
  Gaussian with impl's γ = √(1 − |λ|²) applied.
- lru.forward_blowup (E): the rule's sizes at every scale (100000 units, T = ⌈30/(1 − r_max²)⌉,
  3 seeds), each unit driven by its own scalar input; constant input u = 1 and white noise
  u ~ N(0, 1), so E|Bu|² = 1. The closed form F (`forward_blowup_factor`, below) is the one the
  N check certifies (numeric_checks/test_lru_blowup.py).
"""

from __future__ import annotations

import functools
import math
import warnings

import mpmath
import numpy as np
import torch
from torch import nn

from impl.diagonal_rnn import (DiagonalLinearRNN, diagonal_rnn_reference, diagonal_scan_reference, lru_ring_init,
                               vandermonde_matrix)
from impl.diagonal_rnn.vandermonde import condition_number, mpmath_condition_number

from . import common
from claims.cells import Cell, cell_function, make_cell
from .common import record_spread
from claims.scale import at_scale, scale
from .stats import seeds_to_decide

EXPERIMENT = "lru"

R_MAX = 0.999
NEAR_CIRCLE = (0.9, R_MAX)       # (r_min, r_max) of the near-circle ring initialisation
FULL_DISC = (0.0, R_MAX)         # the r_min = 0 reference
RIDGE_ALPHAS = 10.0 ** np.arange(-10, 3)

# The source's scale of the near-circle and reconstruction claims (evidence.scale's `source`)
MNIST_SOURCE_SCALE = ("MNIST digit reconstruction: 28×28 images flattened to sequences of length L = 784, state size "
                      "and node sets not stated (004 § Key Results, § Architecture Onboarding › First 3 experiments)")


# ================================================================ decision rules (pure)

def decide_complex_near_circle(ratios: dict[tuple[int, str], dict[str, list[float]]]) -> tuple[str, str]:
    """lru.complex_near_circle_helps. `ratios` maps (L, R) for R ∈ {"R1", "R2"} to the per-seed
    q_kappa = κ₂(R)/κ₂(C) and q_err = err(R)/err(C) (5 seeds). Confirmed if for L = 32 and 64,
    against both R1 and R2, median q_kappa ≥ 100, median q_err ≥ 10 and q_err > 1 in ≥ 4 of 5
    seeds; refuted if for L = 64 median q_err ≤ 1 against both R1 and R2; else inconclusive."""
    def line(L, R):
        q = ratios[(L, R)]
        return (f"L={L} {R}/C: median q_κ {np.median(q['q_kappa']):.3g}, median q_e {np.median(q['q_err']):.3g}, "
                f"q_e > 1 in {sum(e > 1 for e in q['q_err'])}/{len(q['q_err'])} seeds")
    for q in ratios.values():
        if len(q["q_kappa"]) != 5 or len(q["q_err"]) != 5:
            raise ValueError(f"decide_complex_near_circle: the rule has 5 seeds, got {q}")
    text = "; ".join(line(L, R) for L in (32, 64) for R in ("R1", "R2"))
    if all(np.median(ratios[(L, R)]["q_kappa"]) >= 100 and np.median(ratios[(L, R)]["q_err"]) >= 10
           and sum(e > 1 for e in ratios[(L, R)]["q_err"]) >= 4 for L in (32, 64) for R in ("R1", "R2")):
        return "confirmed", text
    if all(np.median(ratios[(64, R)]["q_err"]) <= 1 for R in ("R1", "R2")):
        return "refuted", text
    return "inconclusive", text


def decide_reconstruction(errors: dict[tuple[str, int, str], list[float]]) -> tuple[str, str]:
    """lru.reconstruction. `errors` maps (init, N, readout), init "near" (r_min = 0.9) or "disc"
    (r_min = 0, reported only), N ∈ {64, 128}, readout "a" (V⁺) or "b" (ridge), to the per-seed
    mean relative error (3 seeds). Confirmed if near-circle N = 128 is ≤ 0.05 in all 3 seeds with
    readout a or with readout b; refuted if near-circle errors exceed 0.25 for both N and both
    readouts in ≥ 2 of 3 seeds; else inconclusive."""
    near = {key: v for key, v in errors.items() if key[0] == "near"}
    if any(len(v) != 3 for v in near.values()):
        raise ValueError(f"decide_reconstruction: the rule has 3 seeds, got {near}")
    text = "; ".join(f"near-circle N={N} readout {r}: " + ", ".join(f"{e:.3g}" for e in near[("near", N, r)])
                     for N in (64, 128) for r in ("a", "b"))
    if any(all(e <= 0.05 for e in near[("near", 128, r)]) for r in ("a", "b")):
        return "confirmed", text
    failing_seeds = sum(all(near[("near", N, r)][s] > 0.25 for N in (64, 128) for r in ("a", "b")) for s in range(3))
    if failing_seeds >= 2:
        return "refuted", text
    return "inconclusive", text


def decide_mlp_universality(nrmse: dict[str, list[float]]) -> tuple[str, str]:
    """lru.mlp_universality. `nrmse` maps "w32", "w128", "w512" (RNN + MLP), "ridge" (B1) and
    "memoryless" (B2) to per-seed test NRMSE (3 seeds). Confirmed if in all 3 seeds w512 ≤ 0.1 and
    ≤ 0.5 × each of B1, B2, and the medians satisfy w128 ≤ 1.1 w32 and w512 ≤ 1.1 w128; refuted if
    in ≥ 2 of 3 seeds w512 ≥ B1 or w512 ≥ 0.5; else inconclusive."""
    if any(len(v) != 3 for v in nrmse.values()):
        raise ValueError(f"decide_mlp_universality: the rule has 3 seeds, got {nrmse}")
    med = {k: float(np.median(v)) for k, v in nrmse.items()}
    w512, b1, b2 = nrmse["w512"], nrmse["ridge"], nrmse["memoryless"]
    text = ("; ".join(f"{k}: " + ", ".join(f"{x:.3g}" for x in v) for k, v in nrmse.items())
            + f" (medians w32 {med['w32']:.3g}, w128 {med['w128']:.3g}, w512 {med['w512']:.3g})")
    if (all(w <= 0.1 and w <= 0.5 * r and w <= 0.5 * m for w, r, m in zip(w512, b1, b2))
            and med["w128"] <= 1.1 * med["w32"] and med["w512"] <= 1.1 * med["w128"]):
        return "confirmed", text
    if sum(w >= r or w >= 0.5 for w, r in zip(w512, b1)) >= 2:
        return "refuted", text
    return "inconclusive", text


def decide_forward_blowup(runs: list[dict]) -> tuple[str, str]:
    """lru.forward_blowup (E). `runs`: one dict per (config, input, seed) with keys config, input,
    seed, R (the estimate R̂), SE and F. Confirmed if every run has |R̂ − F| ≤ 3 SE or ≤ 0.01 F;
    refuted if for some (config, input) ≥ 2 of its 3 seeds have |R̂ − F| > 5 SE and > 0.05 F;
    else inconclusive."""
    def dev(r):
        return abs(r["R"] - r["F"])
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["config"], r["input"]), []).append(r)
    if any(len(g) != 3 for g in groups.values()):
        raise ValueError(f"decide_forward_blowup: the rule has 3 seeds per configuration and input, got "
                         f"{ {k: len(g) for k, g in groups.items()} }")
    worst = max(runs, key=lambda r: min(dev(r) / r["SE"], dev(r) / (0.01 * r["F"])))
    text = (f"{len(runs)} runs; worst: config {worst['config']}, {worst['input']} input, seed {worst['seed']}: "
            f"R̂ = {worst['R']:.5g}, F = {worst['F']:.5g}, |R̂ − F| = {dev(worst) / worst['SE']:.2f} SE = "
            f"{dev(worst) / worst['F']:.2%} of F")
    if all(dev(r) <= 3 * r["SE"] or dev(r) <= 0.01 * r["F"] for r in runs):
        return "confirmed", text
    for key, group in groups.items():
        if sum(dev(r) > 5 * r["SE"] and dev(r) > 0.05 * r["F"] for r in group) >= 2:
            return "refuted", f"config {key[0]}, {key[1]} input off by > 5 SE and > 5% in ≥ 2 seeds; " + text
    return "inconclusive", text


# ================================================================ what would decide (pure)
# Each says, for an inconclusive outcome, which of the rule's conditions fall short and by how much,
# and how many seeds the observed spread would need for the mean-based reading of that condition
# (impl.experiments.seeds_to_decide; "none" when the mean sits on the threshold).


def _seeds(values, thresholds) -> str:
    n = seeds_to_decide(values, thresholds)
    return "none would (the mean sits on the threshold)" if n is None else f"≈ {n}"


def near_circle_to_decide(ratios: dict[tuple[int, str], dict[str, list[float]]]) -> str:
    """lru.complex_near_circle_helps: the confirming conditions that fail, with the seeds that would
    put the t-interval of mean log10 q clear of the threshold, if the observed spread held."""
    parts = []
    for L in (32, 64):
        for R in ("R1", "R2"):
            q = ratios[(L, R)]
            for key, label, need in (("q_kappa", "q_κ", 100.0), ("q_err", "q_e", 10.0)):
                if np.median(q[key]) < need:
                    parts.append(f"L={L} {R}/C median {label} {np.median(q[key]):.3g} < {need:g} "
                                 f"(seeds for mean log10 {label} clear of {np.log10(need):g}: "
                                 f"{_seeds(np.log10(q[key]), [np.log10(need)])})")
            above = sum(e > 1 for e in q["q_err"])
            if above < 4:
                parts.append(f"L={L} {R}/C q_e > 1 in {above}/5 seeds (4 needed)")
    return ("to confirm: " + "; ".join(parts)) if parts else "every confirming condition holds"


def reconstruction_to_decide(errors: dict[tuple[str, int, str], list[float]]) -> str:
    """lru.reconstruction: how far the near-circle N = 128 errors are from 0.05 in every seed (to
    confirm) and from 0.25 in 2 of 3 seeds at both N and both readouts (to refute)."""
    parts = []
    for readout in ("a", "b"):
        v = errors[("near", 128, readout)]
        parts.append(f"readout {readout} at N=128: worst seed {max(v):.3g} against 0.05 (all 3 seeds must be "
                     f"≤ 0.05; seeds for the mean's interval clear of 0.05: {_seeds(v, [0.05])})")
    worst_low = min(min(v) for k, v in errors.items() if k[0] == "near")
    parts.append(f"refutation needs every near-circle error > 0.25 in 2 of 3 seeds; the lowest is {worst_low:.3g}")
    return "; ".join(parts)


def universality_to_decide(nrmse: dict[str, list[float]]) -> str:
    """lru.mlp_universality: the gaps of the width-512 NRMSE to the confirming threshold (≤ 0.1 and
    ≤ 0.5 × each baseline in every seed) and to the refuting one (≥ B1 or ≥ 0.5 in 2 of 3 seeds),
    with the seeds the mean-based reading would need and the scale the rule names."""
    w512, b1, b2 = nrmse["w512"], nrmse["ridge"], nrmse["memoryless"]
    bound = [min(0.1, 0.5 * r, 0.5 * m) for r, m in zip(b1, b2)]
    short = [f"{w:.3g} > {b:.3g}" for w, b in zip(w512, bound) if w > b]
    text = (f"to confirm, the width-512 NRMSE must fall to min(0.1, 0.5·B1, 0.5·B2) in every seed: "
            f"{len(short)} of {len(w512)} seeds short ({', '.join(short) or 'none'}), the worst by a factor "
            f"{max(w / b for w, b in zip(w512, bound)):.2f}; mean {np.mean(w512):.3g}, seeds for its interval "
            f"clear of 0.1 if the spread held: {_seeds(w512, [0.1])}")
    refuting = sum(w >= r or w >= 0.5 for w, r in zip(w512, b1))
    text += (f"; to refute, w512 ≥ B1 or ≥ 0.5 in 2 of 3 seeds: {refuting} of 3 now, the nearest margin "
             f"{min(min(r - w, 0.5 - w) for w, r in zip(w512, b1)):.3g}")
    if mlp_reduced():
        text += (f"; this run is reduced ({MLP_TRAIN} sequences, {MLP_ITERATIONS} Adam steps of {MLP_BATCH}): "
                 "the rule's own sizes (CLAIMS_SCALE=medium or full: 4096 sequences, 3000 steps of 64, "
                 f"{3000 * 64 / (MLP_ITERATIONS * MLP_BATCH):.0f}× the sequences seen) are what would decide it")
    return text


def blowup_to_decide(runs: list[dict]) -> str:
    """lru.forward_blowup (E): for the runs off by > 3 SE and > 1% of F, the number of units that
    would shrink SE enough to put a real deviation beyond 5 SE (the refutation also needs > 5% of F)."""
    off = [r for r in runs if abs(r["R"] - r["F"]) > 3 * r["SE"] and abs(r["R"] - r["F"]) > 0.01 * r["F"]]
    if not off:
        return "every run is within 3 SE or 1% of F"
    parts = []
    for r in off:
        dev = abs(r["R"] - r["F"])
        units = math.ceil(BLOWUP_UNITS * (5 * r["SE"] / dev) ** 2)
        parts.append(f"config {r['config']} {r['input']} seed {r['seed']}: |R̂ − F| = {dev / r['SE']:.2f} SE = "
                     f"{dev / r['F']:.2%} of F; ≈ {units} units would put it beyond 5 SE if it held"
                     + ("" if dev > 0.05 * r["F"] else ", but it is under the 5% the refutation also needs: "
                        "more units can only confirm it within 1% or leave it inconclusive"))
    return "; ".join(parts)


# ================================================================ measurement pieces

def final_states(nodes: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """x_L (batch, N) of x_k = λ ⊙ x_{k−1} + u_k (scalar input, B = 1) for inputs u (batch, L), by
    impl's step loop in the nodes' precision (float32 / complex64 here)."""
    B = torch.ones(nodes.shape[0], 1, dtype=nodes.dtype)
    return diagonal_rnn_reference(nodes, B, u.to(nodes.dtype.to_real()).unsqueeze(-1))[:, -1]


def vandermonde_readout(nodes: torch.Tensor, x: torch.Tensor, length: int) -> torch.Tensor:
    """û (batch, L) = V⁺ x_L in float64 (complex128 for complex nodes), V built from the very
    nodes the recurrence used; x_L = V ū holds the inputs reversed, so û is flipped back."""
    wide = torch.complex128 if nodes.is_complex() else torch.float64
    V = vandermonde_matrix(nodes.to(wide), length)
    return (x.to(wide) @ torch.linalg.pinv(V).T).flip(-1)


def relative_errors(u_hat: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """‖û − u‖/‖u‖ per sequence (û may be complex: its imaginary part counts as error)."""
    u = u.to(torch.float64)
    return torch.linalg.vector_norm(u_hat - u, dim=-1) / torch.linalg.vector_norm(u, dim=-1)


def spread(evidence, name: str, values, unit: str = "1") -> None:
    """Record the mean over seeds with its 95% t-interval, and the range."""
    record_spread(evidence, name, values, unit, extremes=True)


def conclude(evidence, verdict: str, reason: str, to_decide: str) -> None:
    """Record the rule's outcome as a note ("decision rule: verdict — reason"), then as the test's
    outcome (common.conclude: confirmed passes, refuted fails with the numbers, inconclusive is
    declared together with what would decide it)."""
    evidence.note(f"decision rule: {verdict} — {reason}")
    common.conclude(evidence, verdict, reason, to_decide)


def declare_cells() -> list[Cell]:
    """Every cell of the four experiments at the current scale (CLAIMS_SCALE)."""
    return near_circle_cells() + reconstruction_cells() + universality_cells() + blowup_cells()


# ================================================================ lru.complex_near_circle_helps

NC_LENGTHS = (16, 32, 64)
NC_SEEDS = (0, 1, 2, 3, 4)
NC_SEQUENCES = 100
NC_SETS = ("C", "R1", "R2", "C0", "roots")
NC_CROSS_CHECK = dict(L=16, N=16, seed=0)    # where mpmath's SVD is affordable


def near_circle_node_sets(N: int, seed: int) -> dict[str, torch.Tensor]:
    """The rule's node sets (complex64 or float32, as the recurrence runs them)."""
    g = torch.Generator().manual_seed(10_000 * seed + N)
    C = lru_ring_init(N, *NEAR_CIRCLE, generator=g, dtype=torch.complex64)
    signs = torch.randint(0, 2, (N,), generator=g).to(torch.float32) * 2 - 1
    R2 = ((torch.rand(N, generator=g, dtype=torch.float64) * 2 - 1) * R_MAX).to(torch.float32)
    C0 = lru_ring_init(N, *FULL_DISC, generator=g, dtype=torch.complex64)
    roots = torch.polar(torch.ones(N, dtype=torch.float64), 2 * math.pi * torch.arange(N, dtype=torch.float64) / N)
    return {"C": C, "R1": C.abs() * signs, "R2": R2, "C0": C0, "roots": roots.to(torch.complex64)}


def measure_near_circle(L: int, N: int, seed: int, sequences: int = NC_SEQUENCES) -> dict[str, tuple[float, float]]:
    """set → (κ₂(V), median relative reconstruction error over `sequences` sequences u ~ N(0, I_L))."""
    u = torch.randn(sequences, L, generator=torch.Generator().manual_seed(10_000 * seed + 7 * L + 1))
    out = {}
    for name, nodes in near_circle_node_sets(N, seed).items():
        x = final_states(nodes, u)
        err = float(relative_errors(vandermonde_readout(nodes, x, L), u).median())
        out[name] = (roots_condition_number(N, L) if name == "roots" else condition_number(nodes, L), err)
    return out


@functools.lru_cache(maxsize=None)
def roots_condition_number(N: int, L: int) -> float:
    """κ₂ for the roots of unity, which do not depend on the seed: computed once per (N, L) in a process."""
    return condition_number(near_circle_node_sets(N, 0)["roots"], L)


@cell_function(uses=("impl.diagonal_rnn",))
def near_circle_cell(*, seed: int, lengths: list, sequences: int, placement) -> dict:
    """One seed of lru.complex_near_circle_helps, every L and N ∈ {L, 2L} (a (L, N) alone is 0.05–1.3 s):
    per (L, N) and node set [κ₂(V), median error]. On the CPU whatever the placement (no training)."""
    return {"measurements": [{"L": L, "N": N, "sets": {name: list(values) for name, values
                                                       in measure_near_circle(L, N, seed, sequences).items()}}
                             for L in lengths for N in (L, 2 * L)]}


@cell_function(uses=("impl.diagonal_rnn",))
def near_circle_mpmath_cell(*, L: int, N: int, seed: int, placement) -> dict:
    """κ₂ of the same node sets by mpmath's SVD at 60 digits, to cross-check the flint values."""
    return {"kappa": {name: float(mpmath_condition_number(nodes, L))
                      for name, nodes in near_circle_node_sets(N, seed).items()}}


def near_circle_cells() -> list[Cell]:
    cells = [make_cell(near_circle_cell, EXPERIMENT, seed=s, lengths=NC_LENGTHS, sequences=NC_SEQUENCES)
             for s in NC_SEEDS]
    return cells + [make_cell(near_circle_mpmath_cell, EXPERIMENT, **NC_CROSS_CHECK)]


def near_circle_results(records: list[dict]):
    """The near-circle cells' records as {(L, N, seed): {set: (κ₂, error)}} and the mpmath
    cross-check {set: κ₂}."""
    results, cross_check = {}, None
    for record in records:
        config, result = record["meta"]["config"], record["result"]
        if "kappa" in result:
            cross_check = {name: float(k) for name, k in result["kappa"].items()}
            continue
        for m in result["measurements"]:
            results[(m["L"], m["N"], config["seed"])] = {name: (float(k), float(e))
                                                         for name, (k, e) in m["sets"].items()}
    if cross_check is None:
        raise ValueError("near_circle_results: the mpmath cross-check cell is missing from the records")
    return results, cross_check


def near_circle_ratios(results) -> dict[tuple[int, str], dict[str, list[float]]]:
    """Per (L, R): the per-seed q_kappa = κ₂(R)/κ₂(C) and q_err = err(R)/err(C) at N = L."""
    return {(L, R): {"q_kappa": [results[(L, L, s)][R][0] / results[(L, L, s)]["C"][0] for s in NC_SEEDS],
                     "q_err": [results[(L, L, s)][R][1] / results[(L, L, s)]["C"][1] for s in NC_SEEDS]}
            for L in NC_LENGTHS for R in ("R1", "R2")}


def near_circle_cross_check_gaps(results, cross_check) -> list[float]:
    """|κ₂(flint)/κ₂(mpmath) − 1| per node set at the cross-check's (L, N, seed)."""
    c = NC_CROSS_CHECK
    return [abs(results[(c["L"], c["N"], c["seed"])][name][0] / cross_check[name] - 1) for name in NC_SETS]


def record_near_circle(evidence, records: list[dict]) -> tuple[str, str, str]:
    """Decide lru.complex_near_circle_helps on its cells' records and record its figures, note,
    plot and scale, once flint's κ₂ has passed the cross-check against mpmath's SVD (at L = 16,
    where mpmath is affordable); returns (verdict, reason, what would decide it)."""
    results, cross_check = near_circle_results(records)
    ratios = near_circle_ratios(results)
    verdict, reason = decide_complex_near_circle(ratios)
    gaps = near_circle_cross_check_gaps(results, cross_check)
    if max(gaps) > 1e-8:
        raise RuntimeError(f"flint κ₂ disagrees with mpmath's SVD at L = 16: max relative gap {max(gaps):.3g}")
    evidence.figure("max relative gap of flint κ₂ vs mpmath SVD (60 digits), L = N = 16, seed 0, all sets",
                    max(gaps), "1")

    evidence.note(f"Rule's sizes at every scale (scale: {scale()}): scalar input, B = 1, L ∈ {NC_LENGTHS}, "
                  f"N = L (decisive) and N = 2L (reported), seeds {NC_SEEDS} (node draws and inputs), "
                  f"{NC_SEQUENCES} sequences u ~ N(0, I_L) per (L, seed), shared by all node sets. C: impl's "
                  f"lru_ring_init r_min = 0.9, r_max = 0.999, full phase (complex64); R1: |C| with random signs; "
                  f"R2: uniform on [−0.999, 0.999]; C0: ring r_min = 0; roots: N-th roots of unity. x_L by impl's "
                  "step loop in float32/complex64; û = V⁺ x_L with torch.linalg.pinv in float64 (default "
                  "rtol = max(N, L)·eps), V from the same rounded nodes; error ‖û − u‖/‖u‖ with complex û "
                  "(imaginary part counted), median over the sequences. κ₂ with python-flint ball arithmetic "
                  "(see module docstring) instead of mpmath.")
    for L in NC_LENGTHS:
        for R in ("R1", "R2"):
            q = ratios[(L, R)]
            for key, label in (("q_kappa", "q_κ"), ("q_err", "q_e")):
                evidence.figure(f"L={L} {label} = {R}/C: median over 5 seeds", float(np.median(q[key])), "1")
                spread(evidence, f"L={L} log10 {label} = {R}/C", np.log10(q[key]).tolist())
            evidence.figure(f"L={L} q_e {R}/C > 1: seeds", sum(e > 1 for e in q["q_err"]), "seeds")
        for N in (L, 2 * L):
            for name in NC_SETS:
                kappas = [results[(L, N, s)][name][0] for s in NC_SEEDS]
                errs = [results[(L, N, s)][name][1] for s in NC_SEEDS]
                evidence.figure(f"L={L} N={N} {name}: median κ₂(V)", float(np.median(kappas)), "1")
                evidence.figure(f"L={L} N={N} {name}: median reconstruction error", float(np.median(errs)), "1")
                if name != "roots":    # the roots do not depend on the seed
                    spread(evidence, f"L={L} N={N} {name}: log10 κ₂(V)", np.log10(kappas).tolist())
                    spread(evidence, f"L={L} N={N} {name}: reconstruction error", errs)
    common.save_figure(draw_near_circle(results), evidence, "lru.complex_near_circle_helps",
                       "κ₂(V) and median reconstruction error by node set and L (median over 5 seeds, range as bars)")
    evidence.scale(f"synthetic scalar sequences, L ∈ {NC_LENGTHS}, N = L and 2L, {len(NC_SEEDS)} seeds × "
                   f"{NC_SEQUENCES} sequences per (L, node set); no training",
                   MNIST_SOURCE_SCALE, reduced=True)
    return verdict, reason, near_circle_to_decide(ratios)


def draw_near_circle(results):
    fig, axes = common.two_panels()
    for k, ax in enumerate(axes):
        for name, color in zip(NC_SETS, ("C0", "C1", "C2", "C3", "C4")):
            for N_of, style in ((lambda L: L, "-"), (lambda L: 2 * L, "--")):
                vals = np.array([[results[(L, N_of(L), s)][name][k] for s in NC_SEEDS] for L in NC_LENGTHS])
                med = np.median(vals, axis=1)
                ax.errorbar(NC_LENGTHS, med, yerr=[med - vals.min(1), vals.max(1) - med], color=color, ls=style,
                            marker="o", capsize=3, label=f"{name}, N = {'L' if style == '-' else '2L'}")
        ax.set_yscale("log")
        ax.set_xlabel("L")
        ax.set_ylabel(("κ₂(V)", "median ‖û − u‖/‖u‖ (float32 state)")[k])
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle("lru.complex_near_circle_helps: C ring [0.9, 0.999], R1 |C|·±1, R2 U[−0.999, 0.999], "
                 "C0 ring [0, 0.999]", fontsize=9)
    return fig


# ================================================================ lru.reconstruction

RC_SEEDS = (0, 1, 2)
RC_STATES = (64, 128)
RC_FIT, RC_VALIDATION = 1000, 200        # ridge fitted on 1000 images, λ chosen on the last 200 of them
RC_INITS = (("near", NEAR_CIRCLE), ("disc", FULL_DISC))
RC_EXAMPLES = 4                          # test digits drawn with their reconstructions (seed 0, N = 64)


def ridge_readout(features: np.ndarray, targets: np.ndarray, fit: np.ndarray, validation: np.ndarray, score):
    """Ridge regression with intercept: the penalty is the one of RIDGE_ALPHAS with the lowest
    `score(prediction, target)` on the `validation` rows after fitting on the `fit` rows; the model
    is then refitted on both. Returns its prediction function. One eigendecomposition of the
    centred Gram matrix per fit serves every penalty (scikit-learn refactors per penalty: 14 fits
    of 82000 × 257 rows took seconds per seed)."""
    def fitted(rows):
        X, Y = features[rows], targets[rows]
        x_mean, y_mean = X.mean(0), Y.mean(0)
        Xc = X - x_mean
        evals, evecs = np.linalg.eigh(Xc.T @ Xc)
        projected = evecs.T @ (Xc.T @ (Y - y_mean))

        def with_penalty(alpha):
            W = evecs @ (projected / (np.maximum(evals, 0) + alpha)[:, None])
            return lambda Z: (Z - x_mean) @ W + y_mean
        return with_penalty
    on_fit = fitted(fit)
    best = min(RIDGE_ALPHAS, key=lambda a: score(on_fit(a)(features[validation]), targets[validation]))
    return fitted(np.concatenate([fit, validation]))(best)


def mean_relative_error(pred: np.ndarray, target: np.ndarray) -> float:
    return float(np.mean(np.linalg.norm(pred - target, axis=1) / np.linalg.norm(target, axis=1)))


def digit_sequences(fit: int = RC_FIT, validation: int = RC_VALIDATION
                    ) -> tuple[torch.Tensor, np.ndarray, np.ndarray, np.ndarray]:
    """The 1797 8×8 digits as sequences (1797, 64) in [0, 1] (row-major), and the fixed split:
    fit, validation (inside the `fit` fitted images) and the other (evaluated) images."""
    from sklearn.datasets import load_digits
    images = torch.tensor(load_digits().data / 16.0, dtype=torch.float32)
    order = np.random.default_rng(0).permutation(len(images))
    return images, order[:fit - validation], order[fit - validation:fit], order[fit:]


@cell_function(uses=("impl.diagonal_rnn",))
def reconstruction_cell(*, seed: int, states: list, fit: int, validation: int, placement) -> dict:
    """One seed of lru.reconstruction: for both rings and every N, the mean relative error of the
    closed-form readout ("a") and the ridge readout ("b") on the evaluated digits; at N = 64 of
    seed 0, the first closed-form reconstructions (for the plot). On the CPU whatever the placement."""
    images, fit_rows, validation_rows, test = digit_sequences(fit, validation)
    L = images.shape[1]
    target = images.numpy().astype(np.float64)
    errors, examples = {}, {}
    for init, ring in RC_INITS:
        for N in states:
            nodes = lru_ring_init(N, *ring, generator=torch.Generator().manual_seed(100 * seed + N))
            x = final_states(nodes, images)
            closed = vandermonde_readout(nodes, x, L)
            errors[f"{init} {N} a"] = float(relative_errors(closed[test], images[test]).mean())
            features = torch.cat([x.real, x.imag], dim=1).numpy().astype(np.float64)
            ridge = ridge_readout(features, target, fit_rows, validation_rows, mean_relative_error)
            errors[f"{init} {N} b"] = mean_relative_error(ridge(features[test]), target[test])
            if seed == 0 and N == 64:
                examples[init] = closed[test[:RC_EXAMPLES]].real.numpy()
    return {"errors": errors, "examples": examples}


def reconstruction_cells() -> list[Cell]:
    return [make_cell(reconstruction_cell, EXPERIMENT, seed=s, states=RC_STATES, fit=RC_FIT,
                      validation=RC_VALIDATION) for s in RC_SEEDS]


def reconstruction_results(records: list[dict]):
    """The reconstruction records (one per seed, in seed order) as the rule's errors
    {(init, N, readout): per-seed errors} and the seed-0 reconstructions {init: (4, 64)}."""
    if not records:
        raise ValueError("reconstruction_results: no records")
    states = records[0]["meta"]["config"]["states"]
    errors = {(init, N, readout): [float(r["result"]["errors"][f"{init} {N} {readout}"]) for r in records]
              for init, _ in RC_INITS for N in states for readout in ("a", "b")}
    with_examples = [r["result"]["examples"] for r in records if r["meta"]["config"]["seed"] == 0]
    if not with_examples:
        raise ValueError("reconstruction_results: the seed-0 record (which holds the example reconstructions) "
                         f"is missing; seeds {[r['meta']['config']['seed'] for r in records]}")
    return errors, {init: np.asarray(a) for init, a in with_examples[0].items()}


def record_reconstruction(evidence, records: list[dict]) -> tuple[str, str, str]:
    """Decide lru.reconstruction on its cells' records and record its evidence; returns (verdict,
    reason, what would decide it)."""
    errors, examples = reconstruction_results(records)
    verdict, reason = decide_reconstruction(errors)
    images, _, _, test = digit_sequences()
    L = images.shape[1]
    evidence.note(f"Rule's sizes at every scale (scale: {scale()}): scikit-learn 8×8 digits (1797 images, "
                  f"pixels / 16, row-major, L = 64) instead of MNIST (L = 784); impl's lru_ring_init "
                  f"(complex64) with r_max = 0.999, r_min = 0.9 (near circle) or 0 (reported), B = 1, x_L by "
                  f"impl's step loop in complex64; seeds {RC_SEEDS} draw the eigenvalues. (a) û = V⁺ x_L "
                  f"(torch.linalg.pinv, complex128; error counts the imaginary part of û); (b) ridge (with "
                  f"intercept) from (Re x_L, Im x_L) to the 64 pixels, λ ∈ 10^[-10..2] chosen by mean "
                  f"relative error on {RC_VALIDATION} of the {RC_FIT} fitted images, refitted on all {RC_FIT}. "
                  f"Split by a fixed permutation (numpy seed 0); both readouts evaluated on the other "
                  f"{len(test)} images; metric: mean of ‖û − u‖/‖u‖ over them.")
    for (init, N, readout), values in errors.items():
        label = "near-circle r_min=0.9" if init == "near" else "r_min=0"
        spread(evidence, f"{label} N={N} readout {readout}: mean relative error", values)
    with warnings.catch_warnings():
        # save_figure's tight_layout leaves the hand-placed axes (fig.add_axes) where they are, and says so
        warnings.filterwarnings("ignore", "This figure includes Axes that are not compatible with tight_layout")
        common.save_figure(draw_reconstruction(errors, images[test[:RC_EXAMPLES]].numpy(), examples), evidence,
                           "lru.reconstruction", "mean relative error per setting and seed; test digits and "
                           "their closed-form reconstructions at N = 64 (seed 0)")
    evidence.scale(f"scikit-learn 8×8 digits: {len(images)} images as sequences of length L = {L}, N ∈ {RC_STATES}, "
                   f"{len(RC_SEEDS)} seeds; ridge fitted on {RC_FIT} images, evaluated on {len(test)}",
                   MNIST_SOURCE_SCALE, reduced=True)
    return verdict, reason, reconstruction_to_decide(errors)


def draw_reconstruction(errors, originals, examples):
    plt = common.pyplot()
    # laid out by hand (fig.add_axes), the digit panels beside the error plot
    fig = plt.figure(figsize=(11, 4.2))
    ax = fig.add_axes([0.06, 0.15, 0.5, 0.75])
    keys = sorted(errors)
    for i, key in enumerate(keys):
        ax.scatter([i] * len(errors[key]), errors[key], color="C0" if key[0] == "near" else "C3")
    ax.set_xticks(range(len(keys)), [f"{'0.9' if k[0] == 'near' else '0'}\nN={k[1]}\n{k[2]}" for k in keys],
                  fontsize=7)
    ax.set_yscale("log")
    for level in (0.05, 0.25):
        ax.axhline(level, color="grey", ls=":")
    ax.set_ylabel("mean ‖û − u‖/‖u‖ (797 test digits)")
    ax.set_xlabel("r_min / state size / readout (a: V⁺, b: ridge)")
    rows = [("original", originals), ("r_min 0.9", examples["near"]), ("r_min 0", examples["disc"])]
    for r, (label, imgs) in enumerate(rows):
        for c in range(RC_EXAMPLES):
            sub = fig.add_axes([0.6 + 0.095 * c, 0.66 - 0.29 * r, 0.085, 0.25])
            sub.imshow(np.clip(imgs[c].reshape(8, 8), 0, 1), cmap="gray_r", vmin=0, vmax=1)
            sub.set_xticks([])
            sub.set_yticks([])
            if c == 0:
                sub.set_ylabel(label, fontsize=7)
    fig.suptitle("lru.reconstruction: digits from the final state of a diagonal linear RNN", fontsize=9)
    return fig


# ================================================================ lru.mlp_universality

LV_STEPS, LV_DT, LV_SUBSTEPS = 100, 0.1, 10
MLP_SEEDS = (0, 1, 2)
MLP_WIDTHS = (32, 128, 512)
MEMORYLESS_WIDTH = 512
MLP_STATE = 128
MLP_LR = 1e-3
# The rule's sizes (registry lru.mlp_universality; 004 states none): 4096 / 1024 sequences, 3000 Adam
# steps of 64 whole sequences. A GPU trains them in minutes, so medium runs them too; small is reduced.
MLP_RULE_SIZES = {"train": 4096, "test": 1024, "batch": 64, "iterations": 3000}
MLP_TRAIN = at_scale(small=1024, medium=4096, full=4096)       # training sequences
MLP_TEST = at_scale(small=256, medium=1024, full=1024)         # test sequences
MLP_BATCH = at_scale(small=8, medium=64, full=64)              # sequences per Adam step
MLP_ITERATIONS = at_scale(small=700, medium=3000, full=3000)   # Adam steps


def mlp_reduced() -> bool:
    """Whether this scale's universality run is smaller than the rule's."""
    return {"train": MLP_TRAIN, "test": MLP_TEST, "batch": MLP_BATCH, "iterations": MLP_ITERATIONS} != MLP_RULE_SIZES


def lotka_volterra(u: np.ndarray) -> np.ndarray:
    """The rule's target: dp/dt = p(1 − q) + u(t), dq/dt = q(p − 1), (p, q)(0) = (1, 0.5), u held
    constant at u_k over step k (Δt = 0.1), RK4 with 10 substeps; u (S, L) → (p, q) at t_k (S, L, 2)."""
    p, q = np.ones(len(u)), np.full(len(u), 0.5)
    h = LV_DT / LV_SUBSTEPS
    out = np.empty(u.shape + (2,))

    def field(p, q, c):
        return p * (1 - q) + c, q * (p - 1)
    for k in range(u.shape[1]):
        c = u[:, k]
        for _ in range(LV_SUBSTEPS):
            k1 = field(p, q, c)
            k2 = field(p + h / 2 * k1[0], q + h / 2 * k1[1], c)
            k3 = field(p + h / 2 * k2[0], q + h / 2 * k2[1], c)
            k4 = field(p + h * k3[0], q + h * k3[1], c)
            p = p + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            q = q + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        out[:, k] = np.stack([p, q], axis=1)
    return out


def nrmse(pred: np.ndarray, target: np.ndarray) -> float:
    """sqrt(Σ (ŷ − y)² / Σ (y − ȳ)²) over sequences, positions and both outputs (ȳ per output)."""
    flat_p, flat_t = pred.reshape(-1, 2), target.reshape(-1, 2)
    return float(np.sqrt(((flat_p - flat_t) ** 2).sum() / ((flat_t - flat_t.mean(0)) ** 2).sum()))


def mlp_parameters(inputs: int, width: int) -> int:
    """Trainable parameters of Linear(inputs, width) → ReLU → Linear(width, 2)."""
    return inputs * width + width + width * 2 + 2


def train_mlp(features: torch.Tensor, targets: torch.Tensor, width: int, seed: int, *, iterations: int, batch: int,
              lr: float, placement) -> nn.Module:
    """One-hidden-layer ReLU MLP (torch's default init under `seed`) trained with Adam on MSE over
    batches of `batch` whole sequences (all their positions) drawn with `seed`, on the placement's
    device (forward under its autocast: none on the CPU, bf16 on CUDA)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mlp = nn.Sequential(nn.Linear(features.shape[-1], width), nn.ReLU(), nn.Linear(width, 2))
    device = placement.torch_device()
    mlp, features, targets = mlp.to(device), features.to(device), targets.to(device)
    optimiser = torch.optim.Adam(mlp.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)          # batch order drawn on the CPU: the same on any device
    for _ in range(iterations):
        pick = torch.randint(0, features.shape[0], (batch,), generator=order).to(device)
        with placement.autocast_context():
            prediction = mlp(features[pick])
        loss = ((prediction.float() - targets[pick]) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return mlp


def predict(mlp: nn.Module, features: torch.Tensor, placement) -> np.ndarray:
    device = placement.torch_device()
    with torch.no_grad(), placement.autocast_context():
        return mlp(features.to(device)).float().cpu().numpy()


@cell_function(uses=("impl.diagonal_rnn",))
def universality_cell(*, seed: int, train: int, test: int, batch: int, iterations: int, lr: float, state: int,
                      widths: list, memoryless_width: int, placement) -> dict:
    """Test NRMSE of RNN + MLP per width and of the two baselines, for one seed. The RNN features
    (float32, the default path: the compiled loop on a CPU) and the ridge baseline (float64) on the CPU; the MLPs on the placement."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.0, 0.5, size=(train + test, LV_STEPS))
    y = lotka_volterra(u)
    mean, std = y[:train].reshape(-1, 2).mean(0), y[:train].reshape(-1, 2).std(0)
    y = torch.tensor((y - mean) / std, dtype=torch.float32)
    rnn = DiagonalLinearRNN(state, 1, None, r_min=NEAR_CIRCLE[0], r_max=NEAR_CIRCLE[1],
                            generator=torch.Generator().manual_seed(seed))
    inputs = torch.tensor(u, dtype=torch.float32)
    position = (torch.arange(1, LV_STEPS + 1, dtype=torch.float32) / LV_STEPS).expand(len(u), -1).unsqueeze(-1)
    with torch.no_grad():
        x = rnn.states(inputs.unsqueeze(-1))
    features = torch.cat([x.real, x.imag, position], dim=-1)        # (S, L, 2N + 1)
    memoryless = torch.cat([inputs.unsqueeze(-1), position], dim=-1)  # (S, L, 2)
    fitted, held_out = slice(0, train), slice(train, None)
    target_test = y[held_out].numpy()
    settings = dict(iterations=iterations, batch=batch, lr=lr, placement=placement)

    out = {}
    for width in widths:
        mlp = train_mlp(features[fitted], y[fitted], width, seed, **settings)
        out[f"w{width}"] = nrmse(predict(mlp, features[held_out], placement), target_test)
    mlp = train_mlp(memoryless[fitted], y[fitted], memoryless_width, seed, **settings)
    out["memoryless"] = nrmse(predict(mlp, memoryless[held_out], placement), target_test)
    # B1: ridge on the same features, its penalty chosen on the last 20% of the training sequences
    rows = features.reshape(-1, features.shape[-1]).numpy().astype(np.float64)
    targets = y.reshape(-1, 2).numpy().astype(np.float64)
    split, end = int(0.8 * train) * LV_STEPS, train * LV_STEPS
    ridge = ridge_readout(rows, targets, np.arange(split), np.arange(split, end), nrmse)
    out["ridge"] = nrmse(ridge(rows[end:]), targets[end:])
    return out


def universality_cells() -> list[Cell]:
    # the plan's cost: the four MLPs' parameters together, each trained on iterations × batch × L positions
    params = (sum(mlp_parameters(2 * MLP_STATE + 1, w) for w in MLP_WIDTHS) + mlp_parameters(2, MEMORYLESS_WIDTH))
    return [make_cell(universality_cell, EXPERIMENT, params=params, tokens=MLP_ITERATIONS * MLP_BATCH * LV_STEPS,
                      seed=s, train=MLP_TRAIN, test=MLP_TEST, batch=MLP_BATCH, iterations=MLP_ITERATIONS, lr=MLP_LR,
                      state=MLP_STATE, widths=MLP_WIDTHS, memoryless_width=MEMORYLESS_WIDTH) for s in MLP_SEEDS]


def universality_results(records: list[dict]) -> tuple[dict[str, list[float]], list[str]]:
    """The universality records (one per seed, in seed order) as {"w<width>", "ridge", "memoryless":
    per-seed NRMSE} and where the MLPs trained ("cpu (no autocast)", "cuda:0 (bfloat16 autocast)")."""
    if not records:
        raise ValueError("universality_results: no records")
    keys = [f"w{w}" for w in records[0]["meta"]["config"]["widths"]] + ["ridge", "memoryless"]
    nrmses = {key: [float(r["result"][key]) for r in records] for key in keys}
    return nrmses, sorted({f"{r['meta']['device']} ({r['meta']['precision']})" for r in records})


def record_universality(evidence, records: list[dict]) -> tuple[str, str, str]:
    """Decide lru.mlp_universality on its cells' records and record its evidence; returns (verdict,
    reason, what would decide it)."""
    nrmses, devices = universality_results(records)
    verdict, reason = decide_mlp_universality(nrmses)
    evidence.note(f"Scale {scale()}: {MLP_TRAIN} training / {MLP_TEST} test sequences (rule: 4096 / 1024), "
                  f"Adam lr {MLP_LR}, {MLP_ITERATIONS} steps (rule: 3000) of {MLP_BATCH} whole sequences "
                  f"(rule: 64), i.e. {MLP_ITERATIONS * MLP_BATCH * LV_STEPS} positions seen (rule: 19200000). "
                  f"Unchanged: controlled Lotka–Volterra by RK4 (Δt = {LV_DT}, {LV_SUBSTEPS} substeps, "
                  f"L = {LV_STEPS}, u_k ~ U[0, 0.5]), targets standardised with training statistics; impl's "
                  f"DiagonalLinearRNN N = {MLP_STATE}, ring r_min = 0.9, r_max = 0.999, impl's complex Gaussian B "
                  f"with its γ = √(1 − |λ|²) normalisation, fixed, float32 (scan path); features (Re x_k, Im x_k, "
                  f"k/L) unscaled; one-hidden-layer ReLU MLPs of widths {MLP_WIDTHS} (torch default init). "
                  f"B1: ridge (with intercept) on the same features, λ ∈ 10^[-10..2] chosen by NRMSE "
                  f"on the last 20% of the training sequences, refitted on all; B2: memoryless MLP width 512 on "
                  f"(u_k, k/L), trained like the others. NRMSE in standardised units, ȳ per output, pooled over "
                  f"test sequences, positions and both outputs. Seeds {MLP_SEEDS}: eigenvalues, B, data, MLP "
                  f"init and batch order. MLPs trained on: {', '.join(devices)}.")
    for key, values in nrmses.items():
        label = {"ridge": "B1 ridge", "memoryless": "B2 memoryless MLP w512"}.get(key, f"RNN + MLP width {key[1:]}")
        spread(evidence, f"test NRMSE, {label}", values)
        evidence.figure(f"test NRMSE, {label}: median over seeds", float(np.median(values)), "1")
    common.save_figure(draw_universality(nrmses), evidence, "lru.mlp_universality",
                       "test NRMSE by MLP width (3 seeds) against the ridge and memoryless baselines")
    evidence.scale(f"diagonal RNN N = {MLP_STATE} + MLP widths {MLP_WIDTHS}; {MLP_TRAIN} training / {MLP_TEST} test "
                   f"sequences of L = {LV_STEPS}; {MLP_ITERATIONS} Adam steps of {MLP_BATCH} sequences "
                   f"({MLP_ITERATIONS * MLP_BATCH * LV_STEPS:,} positions); {len(MLP_SEEDS)} seeds",
                   "controlled Lotka–Volterra, sizes not stated in 004 (§ Key Results, § Architecture Onboarding › "
                   "First 3 experiments); the rule's full scale: 4096 / 1024 sequences, 3000 Adam steps of 64 "
                   "(19,200,000 positions)", reduced=mlp_reduced())
    return verdict, reason, universality_to_decide(nrmses)


def draw_universality(nrmses):
    plt = common.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for s in range(len(MLP_SEEDS)):
        ax.plot(MLP_WIDTHS, [nrmses[f"w{w}"][s] for w in MLP_WIDTHS], marker="o", color="C0", alpha=0.6,
                label="RNN + MLP" if s == 0 else None)
        ax.axhline(nrmses["ridge"][s], color="C1", ls="--", label="B1 ridge on RNN features" if s == 0 else None)
        ax.axhline(nrmses["memoryless"][s], color="C2", ls=":", label="B2 memoryless MLP (512)" if s == 0 else None)
    ax.axhline(0.1, color="grey", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("MLP width")
    ax.set_ylabel("test NRMSE")
    ax.set_title(f"lru.mlp_universality ({scale()} scale: {MLP_TRAIN} sequences, {MLP_ITERATIONS} Adam steps)",
                 fontsize=9)
    ax.legend(fontsize=8)
    return fig


# ================================================================ lru.forward_blowup (E part)

BLOWUP_RINGS = ((0.0, 0.9), (0.4, 0.99), (0.9, 0.999))
BLOWUP_UNITS = 100_000
BLOWUP_SEEDS = (0, 1, 2)
BLOWUP_CHUNK = 16        # steps per call of the step loop (it stacks the chunk's states)


def forward_blowup_factor(r_min, r_max):
    """The claim's F = log((1 − r_min²)/(1 − r_max²)) / (r_max² − r_min²), in mpmath (at the
    caller's precision; float inputs are taken exactly as the binary numbers they are). Certified
    against quadrature by numeric_checks/test_lru_blowup.py, which imports it from here."""
    a, b = mpmath.mpf(r_min) ** 2, mpmath.mpf(r_max) ** 2
    return mpmath.log((1 - a) / (1 - b)) / (b - a)


def blowup_steps(r_max: float) -> int:
    """T = ⌈30/(1 − r_max²)⌉, so that r_max^(2T) ≤ e^(−30)."""
    return math.ceil(30 / (1 - r_max ** 2))


def blowup_final_state(nodes: torch.Tensor, steps: int, white: bool, generator: torch.Generator) -> torch.Tensor:
    """x_T of x_k = λ ⊙ x_{k−1} + u_k, each unit with its own scalar input (B = 1): white noise
    u ~ N(0, 1) iid over units and steps, or constant u = 1. impl's step loop, chunk by chunk."""
    x, done = None, 0
    ones = torch.ones(BLOWUP_CHUNK, len(nodes))
    while done < steps:
        n = min(BLOWUP_CHUNK, steps - done)
        v = torch.randn(n, len(nodes), generator=generator) if white else ones[:n]
        x = diagonal_scan_reference(nodes, v, x)[-1]
        done += n
    return x


def blowup_run(ring: tuple[float, float], seed: int, units: int = BLOWUP_UNITS) -> list[dict]:
    """White and constant input for one ring and seed: R̂ = mean |x_T|², its SE, F and the
    γ-normalised power."""
    g = torch.Generator().manual_seed(1000 * seed + round(1000 * ring[1]))
    nodes = lru_ring_init(units, *ring, generator=g)
    gamma_sq = 1 - nodes.abs().double() ** 2          # the LRU normalisation γ² (B → γ B scales x by γ)
    F = float(forward_blowup_factor(*ring))
    runs = []
    for kind in ("white", "constant"):
        power = blowup_final_state(nodes, blowup_steps(ring[1]), kind == "white", g).abs().double() ** 2
        runs.append({"config": ring, "input": kind, "seed": seed, "F": F, "R": float(power.mean()),
                     "SE": float(power.std() / math.sqrt(len(power))), "R_gamma": float((gamma_sq * power).mean()),
                     "SE_gamma": float((gamma_sq * power).std() / math.sqrt(len(power)))})
    return runs


@cell_function(uses=("impl.diagonal_rnn",))
def blowup_cell(*, r_min: float, r_max: float, seed: int, units: int, placement) -> dict:
    """One (ring, seed) of lru.forward_blowup (E), on the CPU whatever the placement (complex64 step loop)."""
    return {"runs": blowup_run((r_min, r_max), seed, units)}


def blowup_cells() -> list[Cell]:
    return [make_cell(blowup_cell, EXPERIMENT, r_min=ring[0], r_max=ring[1], seed=s, units=BLOWUP_UNITS)
            for ring in BLOWUP_RINGS for s in BLOWUP_SEEDS]


def blowup_results(records: list[dict]) -> list[dict]:
    """The blow-up records as the rule's runs (one per ring, input and seed), configs as tuples again."""
    return [{**run, "config": tuple(run["config"])} for record in records for run in record["result"]["runs"]]


def record_blowup(evidence, records: list[dict]) -> tuple[str, str, str]:
    """Decide the E part of lru.forward_blowup on its cells' records and record its evidence;
    returns (verdict, reason, what would decide it)."""
    runs = blowup_results(records)
    verdict, reason = decide_forward_blowup(runs)
    evidence.note(f"Rule's sizes at every scale (scale: {scale()}): {BLOWUP_UNITS} units per run, λ from impl's "
                  f"lru_ring_init (complex64, full phase), B = 1, each unit its own scalar input (white u ~ N(0, 1) "
                  f"iid, or constant u = 1; E|Bu|² = 1); impl's step loop (diagonal_scan_reference) in complex64 for "
                  f"T = ⌈30/(1 − r_max²)⌉ steps ({', '.join(str(blowup_steps(r[1])) for r in BLOWUP_RINGS)}); "
                  f"R̂ = mean_n |x_T,n|², SE = sd/√n across units; seeds {BLOWUP_SEEDS} (eigenvalues and inputs). "
                  "F from the closed form certified by the N check. Constant input: 1/|1 − λ|² has a heavy tail "
                  "near λ = 1 (up to 1/(1 − r_max)²), so its SE is itself noisy.")
    for ring in BLOWUP_RINGS:
        for kind in ("white", "constant"):
            group = [r for r in runs if r["config"] == ring and r["input"] == kind]
            name = f"r∈[{ring[0]}, {ring[1]}] {kind}"
            evidence.figure(f"{name}: closed form F", group[0]["F"], "1")
            spread(evidence, f"{name}: R̂", [r["R"] for r in group])
            evidence.figure(f"{name}: max |R̂ − F|/SE over seeds", max(abs(r["R"] - r["F"]) / r["SE"] for r in group),
                            "SE")
            evidence.figure(f"{name}: max |R̂ − F|/F over seeds", max(abs(r["R"] - r["F"]) / r["F"] for r in group),
                            "1")
            spread(evidence, f"{name}: with γ normalisation, mean γ²|x_T|² (reported)", [r["R_gamma"] for r in group])
    common.save_figure(draw_blowup(runs), evidence, "lru.forward_blowup",
                       "R̂/F per configuration, input and seed, with ±3 SE bars; γ-normalised runs alongside")
    evidence.scale(f"{BLOWUP_UNITS:,} units per run, {len(BLOWUP_RINGS)} rings × 2 inputs × {len(BLOWUP_SEEDS)} seeds, "
                   f"T = {', '.join(str(blowup_steps(r[1])) for r in BLOWUP_RINGS)} steps",
                   "an analytical statement, E over the ring as k → ∞ (arXiv 2303.06349, Proposition 3); no "
                   "simulation scale in the source: the rule fixes 100,000 units and T = ⌈30/(1 − r_max²)⌉",
                   reduced=False)
    return verdict, reason, blowup_to_decide(runs)


def draw_blowup(runs):
    fig, axes = common.two_panels()
    for ax, (value, se, title) in zip(axes, (("R", "SE", "R̂ / F (B = 1)"),
                                            ("R_gamma", "SE_gamma", "γ-normalised: mean γ²|x_T|² (reported)"))):
        for i, r in enumerate(runs):
            scale_by = r["F"] if value == "R" else 1.0
            color = "C0" if r["input"] == "white" else "C1"
            ax.errorbar(i, r[value] / scale_by, yerr=3 * r[se] / scale_by, color=color, marker="o", capsize=2)
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_xticks(range(len(runs)), [f"[{r['config'][0]}, {r['config'][1]}] {r['input']} s{r['seed']}"
                                         for r in runs], fontsize=6, rotation=90)
        ax.set_title(title, fontsize=9)
    fig.suptitle("lru.forward_blowup: simulated E|x_∞|² against the closed form (blue: white noise, orange: "
                 "constant input)", fontsize=9)
    return fig
