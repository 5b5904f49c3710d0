"""Whole runs with cells: a run killed by SIGTERM keeps its finished cells and the rerun reuses
them; bad experiment settings stop `claims check` with one line and lose nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import PLUGIN, ROOT, read_report

EXPERIMENT = '''
import pytest
from claims.executors import run_cells
from tests.cell_fixtures import mean_of_means, toy_cells

@pytest.fixture(scope="module")
def outcome():
    return run_cells(toy_cells(seeds=range(6), delay={delay}))

@pytest.mark.experiment
@pytest.mark.claim("demo.holds")
def test_mean_of_seeded_draws_is_small(outcome, evidence):
    evidence.cells(outcome.summary())
    evidence.figure("mean of the cell means", mean_of_means(outcome.records), "1")
    assert abs(mean_of_means(outcome.records)) < 0.5
'''


def _pytest(pytester, registry, store: Path, reports: Path):
    env = dict(os.environ, CLAIMS_STORE=str(store), PYTHONPATH=str(ROOT), CLAIMS_EXECUTOR="local")
    command = [sys.executable, "-m", "pytest", *PLUGIN, f"--claims-registry={registry}", "-p", "no:cacheprovider",
               "-p", "no:xdist", "--claims-report-dir", str(reports), "-q", "test_toy.py"]
    return subprocess.Popen(command, cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _stored(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM cells").fetchone()[0]
    except sqlite3.OperationalError:        # the table is being created
        return 0


def _cells_evidence(report: dict) -> dict:
    return next(e for e in report["claims"]["demo.holds"]["evidence"] if e["kind"] == "cells")


def _figure(report: dict) -> float:
    return next(e["value"] for e in report["claims"]["demo.holds"]["evidence"] if e["kind"] == "figure")


def test_a_run_killed_by_sigterm_keeps_its_finished_cells_and_the_rerun_reuses_them(pytester, mini_registry):
    pytester.makepyfile(test_toy=EXPERIMENT.format(delay=0.6))
    store, reports = pytester.path / "store.sqlite", pytester.path / "reports"
    run = _pytest(pytester, mini_registry, store, reports)
    deadline = time.monotonic() + 120
    while _stored(store) < 2 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    output = run.communicate(timeout=60)[0]
    finished = _stored(store)
    assert 2 <= finished < 6, output
    interrupted = read_report(reports / "partial")
    assert not interrupted["run"]["complete"] and "SIGTERM" in interrupted["run"]["incomplete_reasons"][0]

    rerun = _pytest(pytester, mini_registry, store, reports)
    output = rerun.communicate(timeout=120)[0]
    assert rerun.returncode == 0, output
    report = read_report(reports)
    cells = _cells_evidence(report)
    assert (cells["reused"], cells["ran"]) == (finished, 6 - finished)
    assert report["run"]["cells"]["reused"] == finished and report["claims"]["demo.holds"]["verdict"] == "confirmed"

    # the same verdict and number as a run that was never interrupted
    uninterrupted = _pytest(pytester, mini_registry, pytester.path / "clean.sqlite", pytester.path / "clean")
    assert uninterrupted.wait(timeout=120) == 0
    clean = read_report(pytester.path / "clean")
    assert clean["claims"]["demo.holds"]["verdict"] == "confirmed" and _figure(clean) == _figure(report)
    assert _cells_evidence(clean)["ran"] == 6


def _claims(*args, env=None, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "claims.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ, **(env or {})), timeout=300)


@pytest.mark.parametrize("setting, expected", [
    ({"CLAIMS_DEVICE": "tpu"}, "CLAIMS_DEVICE='tpu': expected auto, cpu, cuda or cuda:N"),
    ({"CLAIMS_DEVICE": "cuda"}, "CLAIMS_DEVICE='cuda': torch "),
    ({"CLAIMS_EXECUTOR": "ray", "RAY_ADDRESS": "127.0.0.1:9"}, "RAY_ADDRESS='127.0.0.1:9': no Ray cluster answers"),
    ({"CLAIMS_EXECUTOR": "spark"}, "CLAIMS_EXECUTOR='spark': expected one of local, ray"),
    ({"CLAIMS_SCALE": "huge"}, "CLAIMS_SCALE='huge': expected one of small, medium, full"),
])
def test_a_bad_setting_is_one_line_naming_it_and_a_non_zero_exit(setting, expected, tmp_path):
    if setting.get("CLAIMS_DEVICE") == "cuda":
        import torch
        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA: 'cuda' is a valid setting here")
    if setting.get("CLAIMS_EXECUTOR") == "ray":
        pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[distributed]'): with it "
                                          "missing the setting fails earlier, on the missing extra")
    result = _claims("check", "-k", "no_such_check", env={**setting, "CLAIMS_STORE": str(tmp_path / "s.sqlite")})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"claims: {result.stderr.strip().removeprefix('claims: ')}"]
    assert expected in result.stderr and "Traceback" not in result.stderr + result.stdout


def test_a_corrupt_store_stops_the_run_and_is_left_as_it_was(tmp_path):
    store = tmp_path / "results.sqlite"
    store.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4000)      # a header, then garbage
    before = store.read_bytes()
    result = _claims("check", "-k", "no_such_check", env={"CLAIMS_STORE": str(store)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and f"CLAIMS_STORE={store}" in result.stderr
    plain = subprocess.run([sys.executable, "-m", "pytest", "tests/test_data.py", "-q", "-p", "no:xdist",
                            "--claims-report-dir", str(tmp_path / "r")], cwd=ROOT, capture_output=True, text=True,
                           env=dict(os.environ, CLAIMS_STORE=str(store)), timeout=300)
    assert plain.returncode == pytest.ExitCode.USAGE_ERROR and "not a results store" in plain.stderr
    assert store.read_bytes() == before


def test_store_export_and_import_through_the_command(tmp_path):
    from claims.executors import run_cells
    from claims.store import ResultsStore

    from .cell_fixtures import toy_cells
    source = ResultsStore(tmp_path / "a.sqlite")
    run_cells(toy_cells(), source)
    source.close()
    exported = tmp_path / "cells.jsonl"
    out = _claims("store", "export", str(exported), env={"CLAIMS_STORE": str(tmp_path / "a.sqlite")})
    assert out.returncode == 0 and "exported 4 cells" in out.stdout
    into = _claims("store", "import", str(exported), env={"CLAIMS_STORE": str(tmp_path / "b.sqlite")})
    assert into.returncode == 0 and "imported 4 cells" in into.stdout
    info = _claims("store", "info", env={"CLAIMS_STORE": str(tmp_path / "b.sqlite")})
    assert "4 cells" in info.stdout and "imported from cells.jsonl" in info.stdout
    missing = _claims("store", "import", str(tmp_path / "nope.jsonl"), env={"CLAIMS_STORE": str(tmp_path / "b.sqlite")})
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_full_scale_on_a_cpu_decides_from_imported_cells_and_says_where_they_were_computed(
        pytester, mini_registry, monkeypatch, tmp_path):
    """Cells computed elsewhere (here: a store filled as if on a CUDA machine, then exported) are
    imported; `--scale full` on this CPU then decides from them without training, the report says
    where, when and on what they ran, and a cell whose code changed since is marked stale."""
    from claims.executors import run_cells
    from claims.store import ResultsStore
    from claims.device import Placement

    from .cell_fixtures import toy_cells
    monkeypatch.setattr(Placement, "name", lambda self: "NVIDIA H200" if self.kind == "cuda" else "cpu")
    monkeypatch.setenv("CLAIMS_SCALE", "full")
    monkeypatch.setenv("CLAIMS_FORCE", "1")
    cluster = ResultsStore(tmp_path / "cluster.sqlite")
    run_cells(toy_cells(seeds=range(6), delay=0.0), cluster, Placement("cuda:0", "bfloat16"))
    cluster.export(tmp_path / "cells.jsonl")
    monkeypatch.delenv("CLAIMS_FORCE")

    store = pytester.path / "store.sqlite"
    imported = _claims("store", "import", str(tmp_path / "cells.jsonl"), env={"CLAIMS_STORE": str(store)})
    assert imported.returncode == 0 and "imported 6 cells" in imported.stdout, imported.stderr
    pytester.makepyfile(test_toy=EXPERIMENT.format(delay=0.0))     # the same cells; a missing one is refused
    run = _pytest(pytester, mini_registry, store, pytester.path / "reports")
    output = run.communicate(timeout=120)[0]
    assert run.returncode == 0, output
    report = read_report(pytester.path / "reports")
    cells = _cells_evidence(report)
    assert (cells["reused"], cells["ran"], cells["foreign"], cells["stale"]) == (6, 0, 6, 0)
    assert any("NVIDIA H200, bfloat16 autocast" in origin for origin in report["run"]["cells"]["origins"])
    markdown = (pytester.path / "reports" / "CLAIMS.md").read_text()
    assert "| cells computed on | " in markdown and "NVIDIA H200, bfloat16 autocast" in markdown
    assert "6 on " in next(e["text"] for e in report["claims"]["demo.holds"]["evidence"] if e["kind"] == "cells")

    # the cell function's code changes: the imported cells are used, marked stale, not dropped
    (pytester.path / "conftest.py").write_text(
        "import claims.cells as cells\n"
        "cells.code_fingerprint.cache_clear()\n"
        "_real = cells.code_fingerprint.__wrapped__\n"
        "cells.code_fingerprint = lambda modules: 'changed-' + _real(modules)[:8]\n")
    run = _pytest(pytester, mini_registry, store, pytester.path / "reports")
    output = run.communicate(timeout=120)[0]
    assert run.returncode == 0, output
    report = read_report(pytester.path / "reports")
    assert _cells_evidence(report)["stale"] == 6 and report["run"]["cells"]["stale"] == 6
    assert "6 stale" in (pytester.path / "reports" / "CLAIMS.md").read_text()
