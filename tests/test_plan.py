"""`claims plan`: per experiment cells, tokens, FLOPs (6·N·D) and GPU-hours at each scale, from the
experiments' own declarations; at full scale the E1/E5 models have the documents' parameter counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from claims.cli_cells import EXPERIMENT_MODULES
from claims.plan import REFERENCE_FLOPS, estimate

from .conftest import ROOT


def plan(scale: str, tmp_path, *options) -> subprocess.CompletedProcess:
    """`claims plan` in its own process (the experiment modules fix their sizes at import)."""
    out = subprocess.run([sys.executable, "-m", "claims.cli", "plan", "--scale", scale, *options],
                         capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env=dict(os.environ, CLAIMS_STORE=str(tmp_path / "s.sqlite")))
    assert out.returncode == 0, out.stderr
    return out


@pytest.mark.parametrize("scale", ["small", "medium", "full"])
def test_every_experiment_declares_its_cells_at_every_scale(scale, tmp_path):
    rows = json.loads(plan(scale, tmp_path, "--json").stdout)
    assert [r["experiment"] for r in rows] == [m.rsplit(".", 1)[1] for m in EXPERIMENT_MODULES]
    for row in rows:
        assert row["distinct"] >= 1, row["experiment"]
        assert (row["flops"] > 0) == (row["tokens"] > 0 and bool(row["params"])), row["experiment"]


def test_the_estimate_is_six_n_d_and_its_gpu_hours():
    class C:
        def __init__(self, params, tokens):
            self.params, self.tokens = params, tokens
    e = estimate([C(50_254_848, 131_072_000), C(None, None)])
    assert e["flops"] == 6 * 50_254_848 * 131_072_000
    assert e["gpu_hours"] == pytest.approx(e["flops"] / REFERENCE_FLOPS / 3600)


def test_full_scale_plan_of_e5_against_e1_has_the_documents_parameter_counts(tmp_path):
    out = plan("full", tmp_path)
    row = next(line for line in out.stdout.splitlines() if line.startswith("trained_elman"))
    assert "49.71M" in row and "50.25M" in row          # E1 49,714,944 and E5 50,254,848 (REFERENCE §2)
    assert "plan at scale full" in out.stdout and "GPU-hours" in out.stdout
    rows = json.loads(plan("full", tmp_path, "--json").stdout)
    assert {r["experiment"]: r for r in rows}["trained_elman"]["params"] == [49_714_944, 50_254_848]


def test_every_experiment_claim_states_the_configuration_its_full_scale_runs():
    from claims.registry import load_registry
    missing = [c.id for c in load_registry() if "E" in c.checks and not c.full_scale]
    assert missing == [], f"experiment claims without full_scale in the registry: {missing}"
    for claim in load_registry():
        if claim.full_scale:
            assert "§" in claim.full_scale or "arXiv" in claim.full_scale or "rule" in claim.full_scale, claim.id
