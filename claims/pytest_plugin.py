"""The pytest plugin: links tests to claims, records outcomes and evidence, writes the report.

Enabled by `-p claims.pytest_plugin` (the project's pytest configuration does that).

    @pytest.mark.claim("capacity.state_is_sum")
    def test_state_is_sum(evidence): ...

This module holds only the hooks, the options and the markers; each hook hands its work to the
run's `ClaimsSession` (claims/session.py) or to one of the modules it uses: claim links
(links.py), outcomes (outcomes.py), xdist payloads (payloads.py), full or partial (scope.py), run
metadata (runinfo.py), evidence files (figures.py), the terminal summary (summary.py).

- An unknown claim id, a `claim` marker without ids, or a claim-linked test
  with its own `xfail` marker is a collection error of that test's module.
- Tests linked to a claim with `expect = "fails"` run as strict xfail.
- At the end of every session (also after Ctrl-C, SIGTERM, -x or an internal
  error) the report is written: to `reports/` for a complete full run, to
  `reports/partial/` otherwise, saying what was not run.
"""

from __future__ import annotations

import pytest

from . import hypothesis_profiles, payloads
from .evidence import Evidence
from .links import linking_problems
from .outcomes import classify
from .session import ClaimsSession, SessionError
from .summary import write_summary

_SESSION = pytest.StashKey[ClaimsSession]()

MARKERS = (
    "claim(*ids): link this check to claims of the registry",
    "experiment: an experiment (kind E); emits evidence, may be inconclusive; scaled by CLAIMS_SCALE",
    "symbolic: a sympy derivation (kind S)",
    "sweep: a long numeric sweep; left out of the plain `pytest` run (addopts -m), run by the main job "
    "`claims check`",
    "kernel_bench: a kernel throughput benchmark (kind B); left out of `pytest` and `claims check`, run with "
    "-m kernel_bench",
    "kernel_gate: the CI regression gate on kernel speed ratios; runs in the plain `pytest`, left out of "
    "`claims check` (its workers share the CPU)",
)


class _RunListener:
    """Hooks that are not handed the config: registered per run so state never leaks between runs."""

    def __init__(self, claims_session: ClaimsSession, worker: bool = False):
        self.session = claims_session
        self.worker = worker

    def pytest_collectreport(self, report):
        if report.failed:  # pytest stops the session itself; the report says why it is incomplete
            self.session.collection_error_ids.append(report.nodeid or "<rootdir>")

    def pytest_deselected(self, items):  # -k, -m, --lf, --deselect
        self.session.deselect(items)

    def pytest_runtest_logreport(self, report):
        """On the xdist controller: each worker ships an item's record with its teardown report."""
        if not self.worker:
            for record in payloads.records_in(report, self.session):
                self.session.records[record.nodeid] = record

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        """xdist: a worker is done; learn what it collected, deselected and ran under."""
        payloads.absorb_worker_output(self.session, getattr(node, "workeroutput", None) or {})

    def pytest_keyboard_interrupt(self, excinfo):
        self.session.interrupts.append("interrupted (KeyboardInterrupt / Ctrl-C)")


# ---------------------------------------------------------------- options and set-up

def pytest_addoption(parser):
    group = parser.getgroup("claims", "claim-status report")
    group.addoption("--claims-registry", default=None,
                    help="directory of registry *.toml files (default: the shipped claims/registry)")
    group.addoption("--claims-report-dir", default=None,
                    help="where the report goes (default: <rootdir>/reports; partial runs: .../partial)")
    parser.addini("claims_registry", "directory of registry *.toml files", default="")
    parser.addini("claims_report_dir", "report directory, relative to rootdir", default="reports")


def pytest_configure(config):
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
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
        claims_session = ClaimsSession.from_config(config)
    except (*SettingsError, SessionError) as exc:   # SettingsError: a tuple of exception classes
        raise pytest.UsageError(str(exc)) from None
    config.stash[_SESSION] = claims_session
    config.pluginmanager.register(_RunListener(claims_session, worker=payloads.is_xdist_worker(config)),
                                  "claims-run-listener")
    claims_session.catch_sigterm()


def pytest_unconfigure(config):
    claims_session = config.stash.get(_SESSION, None)
    if claims_session is not None:
        claims_session.restore_sigterm()


# ---------------------------------------------------------------- collection

@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """Turn a bad claim link into a collection error of the module that holds it."""
    report = yield
    claims_session = collector.config.stash.get(_SESSION, None)
    if claims_session is None or not report.passed:
        return report
    problems = [p for node in report.result or [] if isinstance(node, pytest.Item)
                for p in linking_problems(node, claims_session.registry)]
    if problems:
        report.outcome = "failed"
        report.longrepr = "claim marker errors:\n  " + "\n  ".join(problems)
        report.result = []
    return report


def pytest_collection_modifyitems(session, config, items):
    claims_session = config.stash[_SESSION]
    for item in items:
        reason = claims_session.collect(item)
        if reason:
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))


# ---------------------------------------------------------------- running

@pytest.fixture
def evidence(request) -> Evidence:
    """Record figures, notes, files and 'inconclusive' for the claims this test is linked to."""
    record = request.config.stash[_SESSION].records.get(request.node.nodeid)
    if record is None:
        raise pytest.UsageError(f"{request.node.nodeid}: the evidence fixture needs "
                                "@pytest.mark.claim(...) on the test")
    return record.evidence


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    claims_session = item.config.stash.get(_SESSION, None)
    record = claims_session.records.get(item.nodeid) if claims_session else None
    if record is None:
        return report
    classify(record, report, call)
    if call.when == "teardown" and payloads.is_xdist_worker(item.config):
        payloads.attach_record(report, record)
    return report


# ---------------------------------------------------------------- the report

def pytest_sessionfinish(session, exitstatus):
    config = session.config
    claims_session = config.stash.get(_SESSION, None)
    if claims_session is None:
        return
    if payloads.is_xdist_worker(config):
        payloads.write_worker_output(config, claims_session)
        return  # the controller writes the report
    claims_session.finish(config, exitstatus, session.shouldfail)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    claims_session = config.stash.get(_SESSION, None)
    if claims_session is None or claims_session.written is None:
        return
    target, report = claims_session.written
    write_summary(terminalreporter, target, report, claims_session.report_dir, config.invocation_params.dir)
