"""The spectral report of a model file: the singular spectrum of every 2-D weight matrix, fitted.

The library behind the `claims spectrum PATH` command (claims/cli.py registers `add_arguments` and
`cmd_spectrum`); `analyse_matrix` is the per-matrix record on its own.

Per matrix (read by `impl.spectral.weights`, singular values in float64 by `impl.spectral.svd`):
- rank exponent α of σ_i ∝ i^{−α}: OLS of log σ_i on log i over a rank window given as fractions
  of the numerical rank k (default 0.01 … 0.5: ranks ceil(0.01k) … floor(0.5k)), with its standard
  error and R²; the maximum-likelihood α of the Gibbs family on the same window;
- density-tail exponent a of the eigenvalues σ² (Clauset–Shalizi–Newman, `impl.spectral.tail_fit`)
  with xmin, KS distance and tail size, or the reason it was not fitted. By default xmin is searched
  as WeightWatcher searches it (every eigenvalue but the largest a candidate), so a is
  WeightWatcher's alpha (tests/test_spectrum_cli.py checks all-MiniLM-L6-v2 against WeightWatcher
  0.7.7's figures); `--min-tail K` keeps more than K eigenvalues in every candidate tail (the
  project's earlier default, K = 50): a steadier a, but no longer WeightWatcher's;
- the best of power law / exponential / stretched exponential on log σ over the window by AIC,
  with ΔAIC to the runner-up (and by BIC in the JSON);
- effective ranks: truncation rank at ε = 0.05 and 0.01, participation ratio, entropy effective
  rank (of σ²/Σσ²), stable rank.
The numerical rank k counts the σ_i above the rounding noise of the stored dtype
(`impl.spectral.effective_rank.numerical_rank`); the fits use σ_1 … σ_k.

This module imports only the standard library at import time (so the `claims` command, which
imports it, never loads torch for its other subcommands); the fitters are imported inside the
functions that use them.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

SCHEMA = "claims.spectrum/1"
DEFAULT_WINDOW = (0.01, 0.5)
TRUNCATION_EPS = (0.05, 0.01)


def add_arguments(parser) -> None:
    parser.add_argument("path", help="a .safetensors file or a torch checkpoint (.pt, .pth, .bin)")
    parser.add_argument("--json", metavar="OUT", help="write the per-matrix records as JSON")
    parser.add_argument("--figure", metavar="OUT.png", help="plot the rank exponent α against the layer index")
    parser.add_argument("--window", nargs=2, type=float, metavar=("LO", "HI"), default=list(DEFAULT_WINDOW),
                        help="rank window of the α fits, as fractions of the numerical rank "
                             f"(default {DEFAULT_WINDOW[0]} {DEFAULT_WINDOW[1]})")
    parser.add_argument("--max-matrices", type=int, metavar="N", help="analyse at most N matrices")
    parser.add_argument("--filter", metavar="REGEX", help="only matrices whose name matches (re.search)")
    parser.add_argument("--min-tail", type=int, metavar="K",
                        help="tail fit: keep more than K eigenvalues in every candidate tail (e.g. 50); "
                             "default: WeightWatcher's xmin search, so that a is WeightWatcher's alpha")


def rank_window(k: int, fractions) -> tuple[int, int]:
    """1-based inclusive ranks (max(1, ceil(lo·k)), floor(hi·k)) of a spectrum with k nonzero values."""
    lo, hi = fractions
    return max(1, math.ceil(lo * k)), math.floor(hi * k)


def layer_and_type(name: str) -> tuple[int | None, str]:
    """The layer index (the name's first integer) and the weight type (the name without it)."""
    match = re.search(r"\d+", name)
    if match is None:
        return None, name
    kind = (name[:match.start()] + name[match.end():]).replace("..", ".").strip(".")
    return int(match.group()), kind


def _number(value: float) -> float | None:
    """JSON has no NaN: an undefined figure (e.g. a standard error from 2 points) is null."""
    return None if value is None or not math.isfinite(value) else float(value)


def analyse_matrix(name: str, W, fractions=DEFAULT_WINDOW, min_tail: int | None = None) -> dict:
    """The record of one matrix; min_tail=None fits the eigenvalue tail by WeightWatcher's search."""
    from . import effective_rank, fits, svd, tail_fit

    m, n = W.shape
    layer, kind = layer_and_type(name)
    record = {"name": name, "shape": [m, n], "dtype": str(W.dtype).removeprefix("torch."),
              "layer": layer, "type": kind, "rank": 0}
    if not bool(W.isfinite().all()):
        record["error"] = "non-finite entries (nan or inf)"
        return record
    sigma = svd.singular_values(W).values
    record["sigma_max"] = float(sigma[0])
    if float(sigma[0]) == 0:
        record["error"] = "zero matrix"
        return record
    k = record["rank"] = int(effective_rank.numerical_rank(sigma, (m, n), W.dtype))
    record["effective_rank"] = {
        **{f"truncation_{eps}": int(effective_rank.truncation_rank(sigma, eps)) for eps in TRUNCATION_EPS},
        "participation_ratio": float(effective_rank.participation_ratio(sigma)),
        "entropy": float(effective_rank.entropy_effective_rank(sigma)),
        "stable": float(effective_rank.stable_rank(sigma)),
    }
    window = rank_window(k, fractions)
    record["window"] = list(window)
    top = sigma[:k]

    def rank_exponent():
        ls, mle = fits.fit_rank_power_law(top, window), fits.fit_rank_power_law_mle(top, window)
        return {"alpha": ls.alpha, "stderr": _number(ls.stderr), "r2": ls.r2, "residual_rms": ls.residual_rms,
                "n_points": ls.n_points, "alpha_mle": mle.alpha}

    def models():
        comparison = fits.compare_spectral_models(top, window)
        return {"best_aic": comparison.best_aic, "delta_aic": comparison.margin("aic"),
                "best_bic": comparison.best_bic, "delta_bic": comparison.margin("bic"),
                "fits": {fit.name: {"params": {p: _number(v) for p, v in fit.params.items()},
                                    "r2": fit.r2, "aic": fit.aic, "bic": fit.bic}
                         for fit in comparison.fits.values()}}

    def tail():
        fit = tail_fit.fit_eigenvalue_tail(top ** 2, name=name, min_tail=min_tail)
        return {"a": fit.alpha, "a_stderr": fit.alpha_stderr, "xmin": fit.xmin, "ks_distance": fit.ks_distance,
                "n_tail": fit.n_tail, "implied_rank_alpha": fits.rank_exponent_from_tail(fit.alpha)}

    for key, compute in (("rank_exponent", rank_exponent), ("models", models), ("tail", tail)):
        try:
            record[key] = compute()
        except ValueError as exc:  # too few values for this fit: the record says why
            record[f"{key}_error"] = str(exc)
    return record


COLUMNS = ("matrix", "shape", "rank", "window", "α", "±se", "R²", "α_MLE", "a(WW)", "xmin", "KS",
           "n_tail", "best by AIC (ΔAIC)", "r.05", "r.01", "PR", "erank", "srank")
_SHORT = {"power_law": "power", "exponential": "exp", "stretched_exponential": "stretched"}


def _row(r: dict) -> list[str]:
    blank = "-"
    fit, tail, models, eff = (r.get(key) for key in ("rank_exponent", "tail", "models", "effective_rank"))
    f3 = lambda v: blank if v is None else f"{v:.3f}"  # noqa: E731
    return [
        r["name"], "×".join(map(str, r["shape"])), str(r["rank"]),
        f"{r['window'][0]}-{r['window'][1]}" if "window" in r else blank,
        f3(fit and fit["alpha"]), f3(fit and fit["stderr"]), f3(fit and fit["r2"]), f3(fit and fit["alpha_mle"]),
        f3(tail and tail["a"]), blank if not tail else f"{tail['xmin']:.3g}", f3(tail and tail["ks_distance"]),
        str(tail["n_tail"]) if tail else blank,
        f"{_SHORT[models['best_aic']]} ({models['delta_aic']:.1f})" if models else blank,
        *([str(eff["truncation_0.05"]), str(eff["truncation_0.01"]), f"{eff['participation_ratio']:.1f}",
           f"{eff['entropy']:.1f}", f"{eff['stable']:.2f}"] if eff else [blank] * 5),
    ]


def render_table(records: list[dict]) -> str:
    rows = [list(COLUMNS)] + [_row(r) for r in records]
    widths = [max(len(row[c]) for row in rows) for c in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    notes = [f"  {r[key]}" if r[key].startswith(r["name"]) else f"  {r['name']}: {r[key]}"
             for r in records for key in ("error", "rank_exponent_error", "models_error", "tail_error") if key in r]
    return "\n".join(lines + (["not fitted:"] + notes if notes else []))


def write_figure(records: list[dict], path: Path, fractions) -> int:
    """α against the layer index, one line per weight type; returns the number of lines drawn."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, list[tuple[int, float, float]]] = {}
    for r in records:
        if r["layer"] is not None and "rank_exponent" in r:
            fit = r["rank_exponent"]
            series.setdefault(r["type"], []).append((r["layer"], fit["alpha"], fit["stderr"] or 0.0))
    fig, ax = plt.subplots(figsize=(8, 5))
    for kind, points in sorted(series.items()):
        layers, alphas, errors = zip(*sorted(points))
        ax.errorbar(layers, alphas, yerr=errors, marker="o", capsize=2, label=kind)
    ax.set_xlabel("layer index (first integer of the matrix name)")
    ax.set_ylabel("rank exponent α of σ_i ∝ i^-α")
    ax.set_title(f"OLS of log σ on log i, ranks {fractions[0]:g}k … {fractions[1]:g}k (k = numerical rank)")
    if series:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no fitted matrix has a layer index", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return len(series)


def cmd_spectrum(args, extra) -> int:
    from tqdm import tqdm

    from .weights import iter_weight_matrices

    fractions = tuple(args.window)
    if not 0 <= fractions[0] < fractions[1] <= 1:
        raise ValueError(f"--window {fractions[0]} {fractions[1]}: need 0 <= LO < HI <= 1 (fractions of the rank)")
    if args.min_tail is not None and args.min_tail < 2:
        raise ValueError(f"--min-tail must be >= 2, got {args.min_tail}")
    if args.max_matrices is not None and args.max_matrices < 1:
        raise ValueError(f"--max-matrices must be >= 1, got {args.max_matrices}")
    try:
        pattern = re.compile(args.filter) if args.filter else None
    except re.error as exc:
        raise ValueError(f"--filter {args.filter!r} is not a regular expression: {exc}") from None

    records = []
    matrices = iter_weight_matrices(args.path)
    with tqdm(desc="spectrum", unit="matrix", file=sys.stderr, disable=None) as progress:
        for name, W in matrices:
            if pattern is not None and not pattern.search(name):
                continue
            records.append(analyse_matrix(name, W, fractions, args.min_tail))
            progress.update()
            if args.max_matrices is not None and len(records) >= args.max_matrices:
                break
    if not records:
        print(f"claims: no 2-D floating-point matrix in {args.path}"
              + (f" matches --filter {args.filter!r}" if pattern else ""), file=sys.stderr)
        return 1
    print(render_table(records))
    if args.json:
        document = {"schema": SCHEMA, "path": str(args.path), "window_fractions": list(fractions),
                    "tail_min_tail": args.min_tail,
                    "conventions": {
                        "alpha": "rank exponent of singular values, sigma_i ~ i^-alpha (OLS of ln sigma on ln i)",
                        "alpha_mle": "MLE of p_i ~ i^(-2 alpha) on the window, fitted to sigma_i^2/sum sigma^2",
                        "tail.a": "density tail exponent of eigenvalues sigma^2, p(lambda) ~ lambda^-a "
                                  "(tail_min_tail null: WeightWatcher's xmin search, a = WeightWatcher's "
                                  "alpha; K: every candidate tail keeps more than K eigenvalues); "
                                  "implied_rank_alpha = 1/(2(a-1))",
                        "models": "least squares on ln sigma over the window; AIC = n ln(RSS/n) + 2p, "
                                  "BIC = n ln(RSS/n) + p ln n",
                        "rank": "numerical rank: sigma_i > max(sigma_1 max(m,n) eps_64, eps_dtype/2 ||W||_F)"},
                    "matrices": records}
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(document, indent=1))
        print(f"wrote {out}", file=sys.stderr)
    if args.figure:
        lines = write_figure(records, Path(args.figure), fractions)
        print(f"wrote {args.figure} ({lines} weight types)", file=sys.stderr)
    return 0
