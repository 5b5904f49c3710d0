"""Run a check with a planted bug and read how it ended, for the negative controls.

A negative control plants a bug in impl (a wrong closed form, a dropped factor, a loosened bound)
where the check looks it up: an impl module's attribute or class, patched by its import path. It
never imports the check module; it runs the check as pytest would, by its node id:

- `run_checks(*node_ids)`, in this process: the caller plants the bug with monkeypatch, then an
  inner pytest session runs the nodes and reports each one's `Outcome`. The inner session collects
  the check file (imported once per process and found in sys.modules afterwards), so a run costs
  the session's setup and teardown (the project's configuration, the claims plugin and its
  registry), the collection of one file and the check itself: about 0.7 s on top of the check
  (measured on the loaded 2-core machine), against several seconds for a fresh interpreter
  (torch, scipy, flint).
  `assert_check_fails` and `run_check` wrap it for the usual controls.
- `assert_bug_group_refutes` / `assert_intact_run_confirms`, in a subprocess over whole check
  files, for controls that read the claims' verdicts (tests/conftest.py's `run_checks_with_bug` plants the
  bug there in a conftest): bugs planted together in groups, each pinned to checks no other bug
  of its group can break.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from .conftest import run_checks_with_bug

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Outcome:
    outcome: str        # "passed", "failed" or "skipped"
    message: str        # the failure's report (assertion message, falsifying example) or the skip reason


class _Outcomes:
    """Plugin of the inner session: each test's outcome (a failure in any phase wins) and any
    collection error."""

    def __init__(self) -> None:
        self.by_node: dict[str, Outcome] = {}
        self.collection_errors: list[str] = []

    def pytest_runtest_logreport(self, report) -> None:
        if report.when != "call" and report.passed:
            return
        if self.by_node.get(report.nodeid, Outcome("passed", "")).outcome == "failed":
            return
        self.by_node[report.nodeid] = Outcome(report.outcome, report.longreprtext)

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.collection_errors.append(report.longreprtext)


def run_checks(*node_ids: str, hypothesis_profile: str = "quick") -> dict[str, Outcome]:
    """Run the checks `node_ids` (paths relative to the repository root, `file::test[param]`) in an
    inner pytest session in this process, with the project's configuration and the claims plugin
    (its report goes to a temporary folder), every marker selected, hypothesis under
    `hypothesis_profile` ("quick": no shrinking, few examples, derandomised). Returns each node's
    Outcome; a node that did not run, or a collection error, is an error of the control itself."""
    recorder = _Outcomes()
    previous_profile, previous_env = settings.get_current_profile_name(), os.environ.get("HYPOTHESIS_PROFILE")
    os.environ["HYPOTHESIS_PROFILE"] = hypothesis_profile
    try:
        with tempfile.TemporaryDirectory(prefix="planted-") as scratch:
            code = pytest.main([*(str(ROOT / node) for node in node_ids),
                                "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), "-m", "",
                                "-p", "no:cacheprovider", "-p", "no:randomly", "-q", "--no-header",
                                # its gc.collect() at the end of a session costs ~0.7 s with torch loaded
                                "-p", "no:unraisableexception",
                                # the inner session's own temporary folders (pytest prunes old ones:
                                # the default place would prune the outer session's)
                                "--basetemp", str(Path(scratch) / "tmp"),
                                "--claims-report-dir", str(Path(scratch) / "report")],
                               plugins=[recorder])
    finally:
        # the plugin loads the chosen profile globally: the outer session goes on under its own
        settings.load_profile(previous_profile)
        if previous_env is None:
            os.environ.pop("HYPOTHESIS_PROFILE", None)
        else:
            os.environ["HYPOTHESIS_PROFILE"] = previous_env
    assert not recorder.collection_errors, "\n".join(recorder.collection_errors)[:3000]
    missing = [node for node in node_ids if node not in recorder.by_node]
    assert not missing, f"the inner session (exit code {code}) ran no test named {missing}: a wrong node id?"
    return {node: recorder.by_node[node] for node in node_ids}


def run_check(node_id: str) -> None:
    """Run one check (as `run_checks`) and end as it ended: an AssertionError carrying its report
    if it failed, a skip with its reason if it skipped; so `with pytest.raises(AssertionError,
    match=...): run_check(node)` reads like a direct call of the check."""
    outcome = run_checks(node_id)[node_id]
    if outcome.outcome == "failed":
        raise AssertionError(f"{node_id} failed:\n{outcome.message}")
    if outcome.outcome == "skipped":
        pytest.skip(f"{node_id} skipped: {outcome.message[-300:]}")


def assert_check_fails(node_id: str, fragment: str) -> None:
    """The check `node_id` fails, and its report contains `fragment` (the check's own message)."""
    outcome = run_checks(node_id)[node_id]
    assert outcome.outcome == "failed", f"{node_id} {outcome.outcome} with the planted bug: {outcome.message[:600]}"
    assert fragment in outcome.message, f"{node_id}: {fragment!r} not in its report: {outcome.message[-1500:]}"


# ------------------------------------------------------------- subprocess runs that read the claims' verdicts

def pins_of(bug: tuple) -> list[tuple[str, str, str]]:
    """A bug's pins, [(claim, pinned check (its name; "name[" for its parametrised cases), a fragment
    of that check's failure message)]: a bug is (group, source, claim, check, message) when it breaks one
    check, (group, source, [pins]) when it breaks several."""
    return list(bug[2]) if len(bug) == 3 else [tuple(bug[2:5])]


def is_pinned(node_id: str, check: str) -> bool:
    """`node_id` is the check named `check`, with any parameters ("name[" pins every case of it)."""
    name = node_id.split("::")[-1]
    return name == check or name.startswith(check if check.endswith("[") else check + "[")


def assert_bug_group_refutes(pytester, monkeypatch, check_files: list[str], prelude: str, bugs: dict,
                             group: str) -> None:
    """Plant the bugs of one group together (`bugs` maps a name to (group, source appending
    (module, attribute, replacement) to TARGETS, pins...), see `pins_of`; `prelude` starts the
    source), run just their pinned checks (-k) in a subprocess, and assert that each bug refutes
    its claims and that each pinned check fails with its own message. Within a group no bug may
    touch another bug's pinned check."""
    chosen = {name: bug for name, bug in bugs.items() if bug[0] == group}
    source = prelude + "".join(textwrap.dedent(bug[1]) for bug in chosen.values())
    selected = " or ".join(sorted({check.rstrip("[") for bug in chosen.values() for _, check, _ in pins_of(bug)}))
    claims = run_checks_with_bug(pytester, monkeypatch, check_files, source, "-m", "not sweep", "-k", selected)
    for name, bug in chosen.items():
        for claim, check, message in pins_of(bug):
            assert claims[claim]["verdict"] == "refuted", (name, claims[claim]["reason"])
            pinned = [c for c in claims[claim]["checks"] if is_pinned(c["nodeid"], check)]
            assert pinned and all(c["outcome"] == "failed" and message in (c["message"] or "") for c in pinned), (
                name, check, [(c["outcome"], (c["message"] or "")[:300]) for c in pinned])


def assert_intact_run_confirms(pytester, monkeypatch, check_files: list[str], checked: list[str]) -> None:
    """With nothing planted, the default selection (sweeps aside) of `check_files` confirms every
    claim in `checked`."""
    claims = run_checks_with_bug(pytester, monkeypatch, check_files, None, "-m", "not sweep")
    assert {cid: claims[cid]["verdict"] for cid in checked} == {cid: "confirmed" for cid in checked}, (
        {cid: claims[cid]["reason"] for cid in checked})
