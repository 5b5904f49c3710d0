"""Toy cell functions for the harness's own tests of cells, the store and the executors (an
importable module, not a test file: Ray workers and subprocess runs import these by name)."""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from claims.cells import cell_function, make_cell


@cell_function(uses=("claims.cells",))
def noisy_mean(*, seed: int, n: int, delay: float = 0.0, placement) -> dict:
    """A seeded draw: its mean, and the draw itself as a float32 array (bit-exact through the store)."""
    time.sleep(delay)
    draw = torch.randn(n, generator=torch.Generator().manual_seed(seed))
    return {"mean": float(draw.double().mean()), "draw": draw, "device": placement.device}


@cell_function(uses=())
def fails_for_seed(*, seed: int, bad: int, placement) -> dict:
    if seed == bad:
        raise ArithmeticError(f"planted failure in cell seed={seed}")
    return {"seed": seed}


@cell_function(uses=())
def fails_once_per_marker(*, seed: int, marker_dir: str, placement) -> dict:
    """Raises the first time it runs for a seed (leaving a marker file), succeeds the second: a
    flaky cell that Ray's retry recovers."""
    marker = os.path.join(marker_dir, f"seed{seed}")
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise ConnectionError(f"planted transient failure, seed {seed}")
    return {"seed": seed, "pid": os.getpid()}


def toy_cells(seeds=range(4), n: int = 64, delay: float = 0.0):
    return [make_cell(noisy_mean, "toy", seed=s, n=n, delay=delay, params=10, tokens=1000) for s in seeds]


def mean_of_means(records) -> float:
    return float(np.mean([r["result"]["mean"] for r in records]))
