"""Helpers for the harness's own tests: tiny registries and runs of pytest inside pytest."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from .registry_text import claim_toml, family_toml

PLUGIN = ("-p", "claims.pytest_plugin")

MINI_REGISTRY = family_toml("Demo family", "demo.txt", 1) + "".join([
    claim_toml("demo.holds", "A claim whose check passes", "1 + 1 = 2", "proven", ["demo.txt § 1"], [], ["P"]),
    claim_toml("demo.fails", "A claim whose check fails", "1 + 1 = 3", "proven", ["demo.txt § 2"], ["demo.holds"],
               ["P"]),
    claim_toml("demo.depends", "A claim that uses a refuted one", "follows from demo.fails", "derived",
               ["demo.txt § 3"], ["demo.fails"], ["P"]),
    claim_toml("demo.nocheck", "A claim nobody checks", "something", "conjectured", ["demo.txt § 4"], [], ["E"],
               decision_rule="measure it"),
    claim_toml("demo.definition", "A definition", "score := a / b", "definition", ["demo.txt § 5"], [], [],
               unchecked_reason="a definition asserts nothing that could be false"),
])


@pytest.fixture
def mini_registry(pytester) -> Path:
    """A registry directory with one small family ("demo"); returns its path."""
    folder = pytester.path / "registry"
    folder.mkdir()
    (folder / "demo.toml").write_text(textwrap.dedent(MINI_REGISTRY))
    return folder


def read_report(folder: Path) -> dict:
    return json.loads((folder / "claims.json").read_text())


ROOT = Path(__file__).resolve().parents[1]

PLANTED_BUG = """
import pytest
{bug}

@pytest.fixture(autouse=True)
def plant_the_bug(monkeypatch):
    for target in TARGETS:
        monkeypatch.setattr(*target)
"""


def run_checks_with_bug(pytester, monkeypatch, check_files: list[str], bug: str | None,
                        *pytest_args: str) -> dict:
    """Run the project's own check files (paths relative to the repository root) in a subprocess,
    beside a conftest that plants `bug`: Python source defining TARGETS, a list of
    (object, attribute name, replacement) for monkeypatch.setattr. Returns the report's claims.

    The hypothesis profile "quick" (no shrinking) keeps a failing run to seconds."""
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "quick")
    for name in check_files:
        shutil.copy(ROOT / name, pytester.path / Path(name).name)
    if bug:
        pytester.makeconftest(PLANTED_BUG.format(bug=textwrap.dedent(bug)))
    out = pytester.path / "out"
    pytester.runpytest_subprocess(*PLUGIN, "-p", "no:cacheprovider", "--claims-report-dir", str(out),
                                  *pytest_args)
    folder = out if (out / "claims.json").exists() else out / "partial"
    return read_report(folder)["claims"]
