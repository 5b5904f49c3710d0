"""Helpers for the harness's own tests: tiny registries and runs of pytest inside pytest."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

PLUGIN = ("-p", "claims.pytest_plugin")

MINI_REGISTRY = '''
[family]
title = "Demo family"
source = "demo.txt"
order = 1

[[claim]]
id = "demo.holds"
title = "A claim whose check passes"
statement = "1 + 1 = 2"
declared = "proven"
sources = ["demo.txt § 1"]
uses = []
checks = ["P"]

[[claim]]
id = "demo.fails"
title = "A claim whose check fails"
statement = "1 + 1 = 3"
declared = "proven"
sources = ["demo.txt § 2"]
uses = ["demo.holds"]
checks = ["P"]

[[claim]]
id = "demo.depends"
title = "A claim that uses a refuted one"
statement = "follows from demo.fails"
declared = "derived"
sources = ["demo.txt § 3"]
uses = ["demo.fails"]
checks = ["P"]

[[claim]]
id = "demo.nocheck"
title = "A claim nobody checks"
statement = "something"
declared = "conjectured"
sources = ["demo.txt § 4"]
uses = []
checks = ["E"]
decision_rule = "measure it"

[[claim]]
id = "demo.definition"
title = "A definition"
statement = "score := a / b"
declared = "definition"
sources = ["demo.txt § 5"]
uses = []
checks = []
unchecked_reason = "a definition asserts nothing that could be false"
'''


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


def run_bug_group(pytester, monkeypatch, check_file: str, prelude: str, bugs: dict, group: str) -> tuple[dict, dict]:
    """Plant the bugs of one group together — `bugs` maps a name to (group, source, claim, the check
    only it breaks, a fragment of that check's failure message) — and run just their pinned checks."""
    chosen = {name: bug for name, bug in bugs.items() if bug[0] == group}
    source = prelude + "".join(textwrap.dedent(bug[1]) for bug in chosen.values())
    pinned = " or ".join(sorted({bug[3] for bug in chosen.values()}))
    return chosen, run_checks_with_bug(pytester, monkeypatch, [check_file], source, "-m", "not sweep", "-k", pinned)


def assert_pinned_checks_fail(claims: dict, bugs: dict) -> None:
    """Each planted bug refutes its claim, and its pinned check fails with its own message."""
    for name, (_, _, claim, check, message) in bugs.items():
        assert claims[claim]["verdict"] == "refuted", (name, claims[claim]["reason"])
        pinned = [c for c in claims[claim]["checks"] if c["nodeid"].endswith("::" + check)]
        assert pinned and all(c["outcome"] == "failed" and message in (c["message"] or "") for c in pinned), (
            name, [(c["outcome"], (c["message"] or "")[:300]) for c in pinned])
