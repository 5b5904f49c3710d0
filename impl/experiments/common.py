"""What every experiment family needs once: the corpus stream, the rank grid and its rounding, the
registry's α convention, the spread over seeds as evidence, figure saving, and turning a decision
rule's verdict into the test outcome.

The evidence helpers take the `evidence` fixture (claims/evidence.py) as an argument; nothing here
imports pytest, so cell functions (which may run in a Ray task) can import this module.
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import numpy as np

from .stats import t_interval

CONFIRMED, REFUTED, INCONCLUSIVE = "confirmed", "refuted", "inconclusive"

# The rank-ratio grid of 001 (§§ 1.3, 4.2, 4.3), in percent of the state dimension.
RATIO_GRID = (5, 10, 15, 17, 20, 25, 30)
# The registry's α convention: singular values below 1e-6 σ_1 are dropped before the fit.
MIN_RELATIVE_SIGMA = 1e-6


def grid_rank(ratio_percent: float, d: int) -> int:
    """r = ρ d rounded half up, at least 1 (ρ in percent of d)."""
    return max(1, math.floor(ratio_percent / 100 * d + 0.5))


def alpha_cut(sigma) -> np.ndarray:
    """σ_1 ≥ σ_2 ≥ … without the values below MIN_RELATIVE_SIGMA · σ_1."""
    sigma = np.asarray(sigma, dtype=float)
    return sigma[sigma >= MIN_RELATIVE_SIGMA * sigma[0]]


def rank_alpha(sigma) -> float:
    """The registry's α: −slope of ln σ_i on ln i over i = 1..k after the α cut (nan if k < 2)."""
    from impl.spectral.fits import fit_rank_power_law
    kept = alpha_cut(sigma)
    return fit_rank_power_law(kept).alpha if kept.size >= 2 else math.nan


@functools.lru_cache(maxsize=None)
def corpus() -> bytes:
    """The byte corpus of the language-model experiments (impl.data.text_corpus; raises
    impl.data.MissingData, naming the package, when it is not installed)."""
    from impl.data import text_corpus
    return text_corpus()


def byte_stream(**options):
    """A ByteStream over the corpus (options: held_out_fraction, train_fraction)."""
    from impl.training.stream import ByteStream
    return ByteStream(corpus(), **options)


# ------------------------------------------------------------------------------------ evidence

def record_spread(evidence, name: str, values: Sequence[float], unit: str = "1", *, claim: str | None = None,
                  extremes: bool = False, per_seed: Sequence | None = None) -> tuple[float, float, float]:
    """The mean over seeds and its 95% t-interval as three figures (and the min and max with
    `extremes`, the per-seed values in a note with `per_seed` = the seeds); returns (mean, lo, hi)."""
    mean, lo, hi = t_interval(values)
    evidence.figure(f"{name}: mean over {len(values)} seeds", mean, unit, claim=claim)
    evidence.figure(f"{name}: 95% t-interval low", lo, unit, claim=claim)
    evidence.figure(f"{name}: 95% t-interval high", hi, unit, claim=claim)
    if extremes:
        evidence.figure(f"{name}: min over seeds", float(np.min(values)), unit, claim=claim)
        evidence.figure(f"{name}: max over seeds", float(np.max(values)), unit, claim=claim)
    if per_seed is not None:
        evidence.note(f"{name} per seed {list(per_seed)}: {[round(float(v), 4) for v in values]}", claim=claim)
    return mean, lo, hi


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def two_panels(**options):
    """(fig, axes) of the experiments' usual figure: two panels side by side, 11 × 4 inches
    (`options` go to pyplot.subplots: sharey, gridspec_kw, ...)."""
    return pyplot().subplots(1, 2, figsize=(11, 4), **options)


def save_figure(fig, evidence, claim: str, caption: str, suffix: str = ""):
    """Save `fig` as <figures_dir>/<claim with _>{suffix}.png, close it, attach it as evidence."""
    evidence.figures_dir.mkdir(parents=True, exist_ok=True)
    path = evidence.figures_dir / f"{claim.replace('.', '_')}{suffix}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    evidence.file(path, caption)
    return path


def conclude(evidence, verdict: str, reason: str, to_decide: str | Callable[[], str] | None = None) -> None:
    """A decision rule's verdict as the test outcome: confirmed passes, refuted fails with the
    rule's numbers, inconclusive is declared with what would decide it (`to_decide`, a text or a
    function computing it, called only then)."""
    if verdict == INCONCLUSIVE:
        if to_decide is None:
            raise ValueError("conclude: an inconclusive verdict needs to_decide")
        evidence.to_decide(to_decide() if callable(to_decide) else to_decide)
        evidence.inconclusive(reason)
        return
    if verdict not in (CONFIRMED, REFUTED):
        raise ValueError(f"conclude: unknown verdict {verdict!r}")
    assert verdict == CONFIRMED, reason
