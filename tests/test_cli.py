"""The `claims` command, as a user runs it."""

from __future__ import annotations

import pytest

import json
import subprocess
import sys
from pathlib import Path

from .test_registry import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]


def claims(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "claims.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_list_shows_every_catalogue_id(tmp_path):
    out = claims("list", "--reports", str(tmp_path))
    assert out.returncode == 0, out.stderr
    listed = [line.split()[0] for line in out.stdout.splitlines()]
    assert listed == CATALOGUE


def test_list_filters_by_family_and_declared(tmp_path):
    out = claims("list", "--family", "capacity", "--reports", str(tmp_path))
    assert [line.split()[0] for line in out.stdout.splitlines()] == [c for c in CATALOGUE
                                                                     if c.startswith("capacity.")]
    out = claims("list", "--declared", "definition", "--reports", str(tmp_path))
    assert [line.split()[0] for line in out.stdout.splitlines()] == ["spectral.learning_score"]


def test_show_prints_statement_and_source(tmp_path):
    out = claims("show", "spectral.optimal_rank_formula", "--reports", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "statement:" in out.stdout and "ε^{1/(2α" in out.stdout.replace("\n", " ").replace("  ", "")
    assert "000_017466b5744f9449.txt" in out.stdout
    assert "last verdict: none" in out.stdout


def test_show_unknown_id_is_a_clear_error(tmp_path):
    out = claims("show", "spectral.no_such", "--reports", str(tmp_path))
    assert out.returncode == 2 and "unknown claim id 'spectral.no_such'" in out.stderr


def test_report_rerenders_markdown_from_json(tmp_path):
    from claims.registry import load_registry
    from claims.report import build_report, write_report
    from claims.verdicts import CheckResult, compute_verdicts
    registry = load_registry()
    verdicts = compute_verdicts(registry, [CheckResult("t::x", ("capacity.state_is_sum",), "passed", 0.2)])
    run = {"date": "2026-01-01T00:00:00+00:00", "selection": {"args": [], "claim_checks_ran": 1,
           "claim_checks_deselected": 0}, "full": True, "complete": True}
    write_report(build_report(registry, verdicts, run), tmp_path)
    (tmp_path / "CLAIMS.md").unlink()
    out = claims("report", "--reports", str(tmp_path))
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "CLAIMS.md").read_text()
    assert "capacity.state_is_sum" in text and "confirmed **1**" in text
    shown = claims("show", "capacity.state_is_sum", "--reports", str(tmp_path))
    assert "last verdict: confirmed" in shown.stdout


def test_report_rejects_a_foreign_file(tmp_path):
    (tmp_path / "claims.json").write_text(json.dumps({"schema": "other/9"}))
    out = claims("report", "--reports", str(tmp_path))
    assert out.returncode == 2 and "schema" in out.stderr


def test_every_subcommand_has_help():
    for sub in ("check", "report", "list", "show"):
        out = claims(sub, "--help")
        assert out.returncode == 0 and "usage: claims" in out.stdout, sub


def test_readme_carries_the_two_commands_ci_runs():
    """.ci/run executes the block after <!-- test-command -->; both blocks must exist and set up."""
    lines = (ROOT / "README.md").read_text().splitlines()
    blocks = {}
    for marker in ("<!-- main-command -->", "<!-- test-command -->"):
        start = lines.index(marker)
        assert lines[start + 1] == "```bash", marker
        blocks[marker] = lines[start + 2]
        assert lines[start + 3] == "```", "one command per block"
    assert blocks["<!-- main-command -->"].endswith("claims check")
    assert blocks["<!-- test-command -->"].endswith("pytest")
    for command in blocks.values():
        assert "pip install torch==2.13.0 -e ." in command  # the CPU pin travels with the install
    assert "<!-- test-command -->" in (ROOT / ".ci" / "run").read_text()


def test_the_main_job_runs_on_xdist_workers_unless_told_otherwise(monkeypatch):
    from claims.cli import _parallel
    pytest.importorskip("xdist")
    monkeypatch.setenv("CLAIMS_WORKERS", "3")
    assert _parallel([]) == ["-n", "3", "--dist", "loadscope"]
    assert _parallel(["-n", "0"]) == [] and _parallel(["--numprocesses=4"]) == []
    monkeypatch.setenv("CLAIMS_WORKERS", "1")
    assert _parallel([]) == []
