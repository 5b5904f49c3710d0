"""The pytest plugin: links tests to claims, records outcomes and evidence, writes the report.

This is the only module that touches pytest hooks. It is enabled by
`-p claims.pytest_plugin` (the project's pytest configuration does that).

    @pytest.mark.claim("capacity.state_is_sum")
    def test_state_is_sum(evidence): ...

- An unknown claim id, a `claim` marker without ids, or a claim-linked test
  with its own `xfail` marker is a collection error of that test's module.
- Tests linked to a claim with `expect = "fails"` run as strict xfail.
- At the end of every session (also after Ctrl-C, SIGTERM, -x or an internal
  error) the report is written: to `reports/` for a complete full run, to
  `reports/partial/` otherwise, saying what was not run.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

from . import hypothesis_profiles
from .evidence import Evidence
from .registry import Registry, RegistryError, load_registry
from .report import NOT_STATED_TO_DECIDE, SCHEMA, build_report, to_decide_lines, write_report
from .verdicts import (DESELECTED, ERROR, FAILED, INCONCLUSIVE, NOT_RUN, PASSED, RAN, SKIPPED,
                       XFAILED, XPASSED, CheckResult, compute_verdicts, counts)

DEFAULT_CHECK_PATHS = ("property_tests", "numeric_checks", "benchmarks")
_STATE = pytest.StashKey["RunState"]()
_PAYLOAD = "claims.record"  # user property that carries an item's record from an xdist worker


def _is_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


@dataclass
class ItemRecord:
    nodeid: str
    claims: tuple[str, ...]
    evidence: Evidence
    outcome: str = NOT_RUN
    duration_s: float = 0.0
    message: str | None = None
    location: str | None = None
    experiment: bool = False       # carries the `experiment` marker (kind E)


@dataclass
class RunState:
    registry: Registry
    report_dir: Path
    started: float = field(default_factory=time.time)
    records: dict[str, ItemRecord] = field(default_factory=dict)
    deselected: list[ItemRecord] = field(default_factory=list)
    collection_errors: int = 0
    interrupted: str | None = None
    written: tuple[Path, dict] | None = None
    previous_sigterm: object = None
    deselected_items: list = field(default_factory=list)
    deselected_ids: set = field(default_factory=set)     # reported by xdist workers
    collection_error_ids: list[str] = field(default_factory=list)
    interrupts: list[str] = field(default_factory=list)
    worker_torch: tuple[str | None, str] | None = None   # (version, device) as an xdist worker saw them
    worker_hypothesis: list[dict] = field(default_factory=list)  # the hypothesis settings each worker ran


class _RunListener:
    """Hooks that are not handed the config: registered per run so state never leaks between runs."""

    def __init__(self, state: RunState, worker: bool = False):
        self.state = state
        self.worker = worker

    def pytest_collectreport(self, report):
        if report.failed:  # pytest stops the session itself; the report says why it is incomplete
            self.state.collection_error_ids.append(report.nodeid or "<rootdir>")

    def pytest_deselected(self, items):  # -k, -m, --lf, --deselect
        # only claim checks count: leaving out a kernel benchmark or a harness test leaves every
        # claim's verdict as it is, so the run can still be a full one
        self.state.deselected_items.extend(item for item in items if any(item.iter_markers("claim")))

    def pytest_runtest_logreport(self, report):
        """On the xdist controller: each worker ships an item's record with its teardown report."""
        for name, payload in getattr(report, "user_properties", ()):
            if name == _PAYLOAD and not self.worker:
                self.state.records[payload["nodeid"]] = _record_from_payload(payload, self.state)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        """xdist: a worker is done; learn what it collected and deselected (checks that no worker
        ran stay 'never ran', which makes the run incomplete)."""
        output = getattr(node, "workeroutput", None) or {}
        self.state.deselected_ids.update(output.get("claims_deselected", ()))
        if output.get("claims_torch_imported"):
            self.state.worker_torch = tuple(output["claims_torch"])
        if output.get("claims_hypothesis"):
            self.state.worker_hypothesis.append(dict(output["claims_hypothesis"]))
        for nodeid, ids in output.get("claims_collected", ()):
            if nodeid not in self.state.records:  # deselected ones are moved aside when the report is written
                self.state.records[nodeid] = ItemRecord(nodeid, tuple(ids), _evidence(self.state, nodeid, ids))

    def pytest_keyboard_interrupt(self, excinfo):
        self.state.interrupts.append("interrupted (KeyboardInterrupt / Ctrl-C)")


# ---------------------------------------------------------------- options and set-up

def pytest_addoption(parser):
    group = parser.getgroup("claims", "claim-status report")
    group.addoption("--claims-registry", default=None,
                    help="directory of registry *.toml files (default: the shipped claims/registry)")
    group.addoption("--claims-report-dir", default=None,
                    help="where the report goes (default: <rootdir>/reports; partial runs: .../partial)")
    parser.addini("claims_registry", "directory of registry *.toml files", default="")
    parser.addini("claims_report_dir", "report directory, relative to rootdir", default="reports")
    parser.addini("claims_check_paths", "directories that together make up a full run",
                  type="args", default=list(DEFAULT_CHECK_PATHS))


def pytest_configure(config):
    config.addinivalue_line("markers", "claim(*ids): link this check to claims of the registry")
    config.addinivalue_line("markers", "experiment: an experiment (kind E); emits evidence, may be "
                                       "inconclusive; scaled by CLAIMS_SCALE")
    config.addinivalue_line("markers", "symbolic: a sympy derivation (kind S)")
    config.addinivalue_line("markers", "sweep: a long numeric sweep; left out of the plain `pytest` run "
                                       "(addopts -m), run by the main job `claims check`")
    config.addinivalue_line("markers", "kernel_bench: a kernel throughput benchmark (kind B); left out of "
                                       "`pytest` and `claims check`, run with -m kernel_bench")
    config.addinivalue_line("markers", "kernel_gate: the CI regression gate on kernel speed ratios; runs in "
                                       "the plain `pytest`, left out of `claims check` (its workers share the CPU)")
    # Every process loads the same profile: xdist workers inherit the controller's environment
    # (HYPOTHESIS_PROFILE, CI) and its command line (--hypothesis-profile, which then wins).
    if not config.getoption("hypothesis_profile", None):
        try:
            hypothesis_profiles.load_chosen_profile()
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None

    # The experiments' settings (CLAIMS_SCALE, CLAIMS_DEVICE, CLAIMS_EXECUTOR, RAY_ADDRESS, the
    # results store): a bad one stops the run here with one line, before any check runs.
    from .executors import SettingsError, check_settings
    try:
        check_settings()
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None

    registry_dir = config.getoption("claims_registry") or config.getini("claims_registry") or None
    if registry_dir and not Path(registry_dir).is_absolute():
        registry_dir = config.rootpath / registry_dir
    try:
        registry = load_registry(registry_dir)
    except RegistryError as exc:
        raise pytest.UsageError(f"claim registry: {exc}") from None

    report_dir = config.getoption("claims_report_dir")
    report_dir = Path(report_dir) if report_dir else config.rootpath / config.getini("claims_report_dir")
    state = RunState(registry, report_dir.resolve())
    config.stash[_STATE] = state
    config.pluginmanager.register(_RunListener(state, worker=_is_xdist_worker(config)), "claims-run-listener")

    # A SIGTERM (a CI time-out, `kill`) becomes an interrupt, so the report is still written.
    if threading.current_thread() is threading.main_thread():
        def on_sigterm(signum, frame):
            state.interrupted = "terminated by SIGTERM"
            raise KeyboardInterrupt("SIGTERM")
        state.previous_sigterm = signal.signal(signal.SIGTERM, on_sigterm)


def pytest_unconfigure(config):
    state = config.stash.get(_STATE, None)
    if state is not None and state.previous_sigterm is not None:
        signal.signal(signal.SIGTERM, state.previous_sigterm)


# ---------------------------------------------------------------- collection

def _claim_ids(item) -> tuple[str, ...]:
    ids: list[str] = []
    for mark in item.iter_markers("claim"):
        ids.extend(mark.args)
    return tuple(dict.fromkeys(ids))


def _linking_problems(item, registry: Registry) -> list[str]:
    marks = list(item.iter_markers("claim"))
    if not marks:
        return []
    problems = []
    ids = _claim_ids(item)
    if any(not m.args for m in marks) or not ids:
        problems.append("@pytest.mark.claim needs at least one claim id")
    for cid in ids:
        if not isinstance(cid, str):
            problems.append(f"claim id {cid!r} is not a string")
        elif cid not in registry:
            problems.append(f"unknown claim id {cid!r} (not in the registry; see `claims list`)")
    known = [registry[c] for c in ids if isinstance(c, str) and c in registry]
    if known and len({c.expected_to_fail for c in known}) > 1:
        problems.append("links claims expected to fail together with claims expected to hold; "
                        "split it into one test per expectation")
    if any(item.iter_markers("xfail")):
        problems.append("a claim check may not carry its own xfail marker; record the expectation "
                        "in the registry (expect = \"fails\" with expect_reason)")
    return [f"{item.nodeid}: {p}" for p in problems]


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """Turn a bad claim link into a collection error of the module that holds it."""
    report = yield
    state = collector.config.stash.get(_STATE, None)
    if state is None or not report.passed:
        return report
    problems = []
    for node in report.result or []:
        if isinstance(node, pytest.Item):
            problems.extend(_linking_problems(node, state.registry))
    if problems:
        report.outcome = "failed"
        report.longrepr = "claim marker errors:\n  " + "\n  ".join(problems)
        report.result = []
    return report


def _evidence(state: RunState, nodeid: str, ids) -> Evidence:
    # Figures are staged under partial/; a full complete run moves them to reports/figures/.
    return Evidence(nodeid, tuple(ids), state.report_dir / "partial" / "figures")


def _record_payload(record: ItemRecord) -> dict:
    return {"nodeid": record.nodeid, "claims": list(record.claims), "outcome": record.outcome,
            "duration_s": record.duration_s, "message": record.message, "location": record.location,
            "experiment": record.experiment,
            "evidence": record.evidence.records, "inconclusive": record.evidence.inconclusive_reason}


def _record_from_payload(payload: dict, state: RunState) -> ItemRecord:
    evidence = _evidence(state, payload["nodeid"], payload["claims"])
    evidence.records = [dict(r) for r in payload["evidence"]]
    evidence.inconclusive_reason = payload["inconclusive"]
    return ItemRecord(payload["nodeid"], tuple(payload["claims"]), evidence, payload["outcome"],
                      payload["duration_s"], payload["message"], payload["location"],
                      payload.get("experiment", False))


def pytest_collection_modifyitems(session, config, items):
    state = config.stash[_STATE]
    for item in items:
        ids = _claim_ids(item)
        if not ids:
            continue
        state.records[item.nodeid] = ItemRecord(item.nodeid, ids, _evidence(state, item.nodeid, ids),
                                                experiment=any(item.iter_markers("experiment")))
        expected = [state.registry[c] for c in ids if state.registry[c].expected_to_fail]
        if expected:
            reason = "; ".join(f"{c.id}: {c.expect_reason}" for c in expected)
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"registry expects refutation: {reason}"))


# ---------------------------------------------------------------- running

@pytest.fixture
def evidence(request) -> Evidence:
    """Record figures, notes, files and 'inconclusive' for the claims this test is linked to."""
    state = request.config.stash[_STATE]
    record = state.records.get(request.node.nodeid)
    if record is None:
        raise pytest.UsageError(f"{request.node.nodeid}: the evidence fixture needs "
                                "@pytest.mark.claim(...) on the test")
    return record.evidence


def _is_assertion_failure(exc: BaseException) -> bool:
    """A failed check (counterexample) as opposed to a crash of the check."""
    from hypothesis.errors import Flaky, HypothesisException
    if isinstance(exc, (Flaky, HypothesisException)):
        return False
    if isinstance(exc, (AssertionError, pytest.fail.Exception)):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_assertion_failure(e) for e in exc.exceptions)
    return False


def _describe(exc: BaseException, limit: int = 4000) -> str:
    """Exception text with its notes (hypothesis puts the falsifying example there)."""
    lines = [f"{type(exc).__name__}: {exc}".rstrip(": ")]
    lines.extend(str(n) for n in getattr(exc, "__notes__", ()) or ())
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions[:3]:
            lines.append("  " + _describe(sub, limit // 3).replace("\n", "\n  "))
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _location(report) -> str | None:
    crash = getattr(report.longrepr, "reprcrash", None)
    return f"{crash.path}:{crash.lineno}" if crash is not None else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    state = item.config.stash.get(_STATE, None)
    record = state.records.get(item.nodeid) if state else None
    if record is None:
        return report
    excinfo = call.excinfo
    if call.when == "setup":
        if report.skipped:
            record.outcome = SKIPPED
            record.message = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        elif report.failed:
            record.outcome, record.message = ERROR, "setup failed: " + _describe(excinfo.value)
            record.location = _location(report)
    elif call.when == "call":
        record.duration_s = report.duration
        if hasattr(report, "wasxfail"):
            if report.skipped:  # failed as the registry expected
                failed = excinfo is not None and _is_assertion_failure(excinfo.value)
                record.outcome = XFAILED if failed else ERROR
                record.message = _describe(excinfo.value) if excinfo else report.wasxfail
            else:
                _unexpected_pass(record)
        elif report.passed:
            reason = record.evidence.inconclusive_reason
            record.outcome = INCONCLUSIVE if reason else PASSED
            record.message = reason
        elif report.skipped:
            record.outcome = SKIPPED
            record.message = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        elif report.failed:
            if "XPASS(strict)" in str(report.longrepr):
                _unexpected_pass(record)
            else:
                record.outcome = FAILED if _is_assertion_failure(excinfo.value) else ERROR
                record.message = _describe(excinfo.value)
                record.location = _location(report)
    elif call.when == "teardown" and report.failed and record.outcome in (PASSED, INCONCLUSIVE):
        record.outcome, record.message = ERROR, "teardown failed: " + _describe(excinfo.value)
    if call.when == "teardown" and _is_xdist_worker(item.config):
        report.user_properties.append((_PAYLOAD, _record_payload(record)))
    return report


def _unexpected_pass(record) -> None:
    """A check the registry expects to fail did not fail. If it is an experiment that declared its data
    inconclusive, the verdict is inconclusive (not confirmed): the expectation is unmet either way, and
    pytest's strict xfail still turns the run red so that the registry gets updated."""
    expected = ("the registry expects it to fail (expect = \"fails\"): the finding no longer holds; "
                "update the registry")
    reason = record.evidence.inconclusive_reason
    if reason:
        record.outcome, record.message = INCONCLUSIVE, f"{reason} — inconclusive although {expected}"
    else:
        record.outcome, record.message = XPASSED, f"passed although {expected}"


# ---------------------------------------------------------------- the report

def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _torch_info() -> tuple[str | None, str]:
    """torch version and device, without importing torch: a run that never imported it (harness
    tests) must not pay for it, and re-importing torch after pytester restored sys.modules crashes."""
    torch = sys.modules.get("torch")
    if torch is None:
        try:
            from importlib.metadata import version
            return version("torch"), "not queried (no check imported torch)"
        except Exception:  # noqa: BLE001 - metadata only
            return None, "unknown (torch not installed)"
    if torch.cuda.is_available():
        return torch.__version__, f"cuda: {torch.cuda.get_device_name(0)}"
    return torch.__version__, f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def _scope(config, state: RunState) -> list[str]:
    """Why this run is not a full run (empty list: it is)."""
    reasons = []
    deselected = len({item.nodeid for item in state.deselected_items} | state.deselected_ids)
    if deselected:
        how = []
        if config.getoption("keyword", ""):
            how.append(f"-k {config.getoption('keyword')!r}")
        if config.getoption("markexpr", ""):
            how.append(f"-m {config.getoption('markexpr')!r}")
        reasons.append(f"{deselected} tests deselected" + (f" ({', '.join(how)})" if how else ""))
    invocation = config.invocation_params.dir
    args = []
    for arg in config.args:
        path_part = arg.split("::")[0]
        if "::" in arg:
            reasons.append(f"selected by node id {arg}")
        args.append((invocation / path_part).resolve())
    ignored = [(invocation / p).resolve() for p in (config.getoption("ignore") or [])]
    for name in config.getini("claims_check_paths"):
        path = (config.rootpath / name).resolve()
        if not path.exists():
            continue
        if not any(path == a or a in path.parents for a in args):
            reasons.append(f"{name}/ not collected")
        elif any(i == path or path in i.parents or i in path.parents for i in ignored):
            reasons.append(f"{name}/ partly ignored (--ignore)")
    return reasons


def _write(session, exitstatus) -> None:
    config = session.config
    state = config.stash.get(_STATE, None)
    if state is None or state.written is not None:
        return
    for nodeid in [item.nodeid for item in state.deselected_items] + sorted(state.deselected_ids):
        record = state.records.pop(nodeid, None)
        if record is not None:
            record.outcome, record.message = DESELECTED, "deselected in this run"
            state.deselected.append(record)

    incomplete = []
    if state.collection_error_ids:  # pytest then stops with its own "Interrupted", not a Ctrl-C
        errors = state.collection_error_ids
        incomplete.append(f"{len(errors)} collection error(s): {', '.join(errors[:5])}")
    elif state.interrupted:
        incomplete.append(state.interrupted)
    elif state.interrupts:
        incomplete.append(state.interrupts[0])
    if int(exitstatus) == int(pytest.ExitCode.INTERNAL_ERROR):
        incomplete.append("pytest internal error")
    if session.shouldfail and not incomplete:
        incomplete.append(f"stopped early: {session.shouldfail}")
    not_run = [r for r in state.records.values() if r.outcome == NOT_RUN]
    if not_run:
        incomplete.append(f"{len(not_run)} collected checks never ran")
        for r in not_run:
            r.message = "never ran: the session stopped before it (" + (incomplete[0]) + ")"

    scope = _scope(config, state)
    target = state.report_dir if (not scope and not incomplete) else state.report_dir / "partial"
    _place_figures(state, target)
    results = [CheckResult(r.nodeid, r.claims, r.outcome, r.duration_s, r.message, r.location,
                           r.evidence.records, r.experiment)
               for r in [*state.records.values(), *state.deselected]]
    verdicts = compute_verdicts(state.registry, results)
    if scope or incomplete:
        for v in verdicts.values():
            if v.verdict == "unchecked" and not v.checks:
                v.reason = "not in this run's selection; " + v.reason

    torch_version, device = _torch_info()
    if "torch" not in sys.modules and state.worker_torch:   # under xdist the workers imported torch
        torch_version, device = state.worker_torch
    ran = [r for r in state.records.values() if r.outcome in RAN]
    hypothesis = _hypothesis_settings(state)
    run = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - state.started, 2),
        "git_commit": _git(config.rootpath, "rev-parse", "HEAD"),
        # changes outside reports/: this run's own report and figures are not what makes the code dirty
        "git_dirty": bool(_git(config.rootpath, "status", "--porcelain", "--untracked-files=no", "--", ".",
                               ":(exclude)reports")),
        "python": platform.python_version(),
        "torch": torch_version,
        "device": device,
        "hypothesis_profile": hypothesis["profile"] if hypothesis else None,
        "hypothesis": hypothesis,
        "scale": os.environ.get("CLAIMS_SCALE", "small"),
        "executor": os.environ.get("CLAIMS_EXECUTOR", "local") or "local",
        "registry": _relative(Path(state.registry.families[0].file).parent, config.rootpath)
        if state.registry.families else None,
        "selection": {
            "args": list(config.invocation_params.args),
            "keyword": config.getoption("keyword", "") or None,
            "markexpr": config.getoption("markexpr", "") or None,
            "claim_checks_collected": len(state.records) + len(state.deselected),
            "claim_checks_deselected": len(state.deselected),
            "claim_checks_ran": len(ran),
        },
        "full": not scope,
        "scope_reasons": scope,
        "complete": not incomplete,
        "incomplete_reasons": incomplete,
        "exit_status": int(exitstatus),
    }
    run["cells"] = cells_totals(results)
    report = build_report(state.registry, verdicts, run)
    write_report(report, target)
    state.written = (target, report)


def cells_totals(results) -> dict | None:
    """The run's experiment cells over every check's `cells` evidence: distinct cells, how many were
    reused from the store, computed in this run, stale; the stores, executors and where they were computed."""
    records = [e for r in results for e in r.evidence if e.get("kind") == "cells"]
    if not records:
        return None
    keys = {k for e in records for k in e.get("keys", ())}
    reused = {k for e in records for k in e.get("reused_keys", ())}
    stale = {k for e in records for k in e.get("stale_keys", ())}
    return {"distinct": len(keys), "reused": len(reused & keys), "ran": len(keys - reused), "stale": len(stale),
            "stores": sorted({e.get("store", "") for e in records}),
            "executors": sorted({e.get("executor", "") for e in records}),
            # where, when and on what (each experiment's counts are in its own cells evidence)
            "origins": sorted({p for e in records for p in e.get("places", ())})}


def cells_line(cells: dict | None) -> str | None:
    if not cells:
        return None
    stale = f", {cells['stale']} STALE" if cells["stale"] else ""
    return (f"{cells['distinct']} distinct cells: {cells['reused']} reused from the store, {cells['ran']} computed "
            f"in this run{stale} (executor {', '.join(cells['executors'])}; store {', '.join(cells['stores'])})")


def _place_figures(state: RunState, target: Path) -> None:
    """Files recorded as evidence are written to the staging folder partial/figures/. A full
    complete run replaces reports/figures/ with them; every file path in the report is then
    made relative to the report's folder, so CLAIMS.md links work wherever the checkout is."""
    staging = (state.report_dir / "partial" / "figures").resolve()
    final = (target / "figures").resolve()
    moving = final != staging
    if moving and final.exists():
        shutil.rmtree(final)  # exactly this run's figures: none of an earlier run, none of a concurrent one
    for record in [*state.records.values(), *state.deselected]:
        for e in record.evidence.records:
            if e["kind"] != "file":
                continue
            path = Path(e["path"]).resolve()
            if moving and path.is_relative_to(staging) and path.exists():
                destination = final / path.relative_to(staging)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination)
                path = destination
            e["path"] = os.path.relpath(path, target.resolve())


def _hypothesis_settings(state: RunState) -> dict | None:
    """The hypothesis profile the checks ran under: the workers' under xdist (they ran the
    examples), else this process's. Workers that disagree with each other or with the controller
    are named (they should not: they inherit its environment and command line)."""
    try:
        here = hypothesis_profiles.describe_current()
    except Exception:  # noqa: BLE001 - metadata only
        return None
    if not state.worker_hypothesis:
        return here
    seen = {tuple(sorted(w.items())) for w in state.worker_hypothesis}
    ran = dict(state.worker_hypothesis[0])
    if len(seen) > 1 or ran != here:
        ran["mismatch"] = (f"controller {here['profile']}, workers " +
                           ", ".join(sorted({w['profile'] for w in state.worker_hypothesis})) +
                           (" with different settings" if len(seen) > 1 else ""))
    return ran


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    state = config.stash.get(_STATE, None)
    if _is_xdist_worker(config):
        if state is not None:
            config.workeroutput["claims_collected"] = [[r.nodeid, list(r.claims)] for r in state.records.values()]
            config.workeroutput["claims_deselected"] = [item.nodeid for item in state.deselected_items]
            config.workeroutput["claims_torch"] = [None if v is None else str(v) for v in _torch_info()]
            config.workeroutput["claims_torch_imported"] = "torch" in sys.modules
            config.workeroutput["claims_hypothesis"] = hypothesis_profiles.describe_current()
        return  # the controller writes the report
    _write(session, exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(_STATE, None)
    if state is None or state.written is None:
        return
    target, report = state.written
    claims = report["claims"]
    tr = terminalreporter
    tr.section("claim verdicts")
    where = _relative(target / "CLAIMS.md", config.invocation_params.dir)
    if report["run"]["full"] and report["run"]["complete"]:
        tr.write_line(f"report: {where} (full run, schema {SCHEMA})")
    else:
        why = "; ".join(report["run"]["scope_reasons"] + report["run"]["incomplete_reasons"])
        tr.write_line(f"report: {where} (PARTIAL/INCOMPLETE: {why}); "
                      f"the full report in {_relative(state.report_dir, config.invocation_params.dir)}/ "
                      "was left as it was", yellow=True)
    surprises = [cid for cid, c in claims.items() if c["expectation"] and c["expectation"]["met"] is False
                 and c["verdict"] != "unchecked"]
    if surprises:
        tr.write_line("claims expected to fail that did not: " + ", ".join(surprises), red=True)
    inconclusive = [(cid, c) for cid, c in claims.items() if c["verdict"] == "inconclusive"]
    if inconclusive:
        tr.write_line("inconclusive claims, and what would decide them:")
        for cid, c in inconclusive:
            tr.write_line(f"  {cid}: " + " | ".join(to_decide_lines(c)), yellow=NOT_STATED_TO_DECIDE in to_decide_lines(c))
    line = cells_line(report["run"].get("cells"))
    if line:
        tr.write_line("experiment cells: " + line)
    # the section ends with the counts and the refuted claims, the lines a reader looks for
    tally = counts(c["verdict"] for c in claims.values())
    fully = sum(c["fully_confirmed"] for c in claims.values())
    tr.write_line(" · ".join(f"{k} {v}" for k, v in tally.items()) + f"   (fully confirmed {fully})")
    refuted = [(cid, c) for cid, c in claims.items() if c["verdict"] == "refuted"]
    if refuted:
        tr.write_line("refuted claims:")
        for cid, c in refuted:
            tag = " (expected)" if c["expectation"] and c["expectation"]["met"] else ""
            tr.write_line(f"  {cid}{tag}: {c['reason']}", red=not tag)


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
