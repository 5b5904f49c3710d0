"""The claims session: one run's state, from the registry it loaded to the report it wrote.

The pytest hooks (claims/pytest_plugin.py) stay thin and hand their work to this object: it
records the collected claim checks and their outcomes, turns SIGTERM into an interrupt, and at the
end of the session writes the report — to `reports/` for a full complete run, to
`reports/partial/` otherwise (claims/scope.py says which).
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .evidence import Evidence
from .figures import place_figures, staging_folder
from .links import claim_ids, expected_failure_reason
from .outcomes import ItemRecord
from .registry import Registry, RegistryError, load_registry
from .report import build_report, write_report
from .runinfo import run_metadata
from .scope import incomplete_reasons, scope_reasons
from .verdicts import DESELECTED, NOT_RUN, CheckResult, compute_verdicts


class SessionError(ValueError):
    """A setting the session cannot start with (the plugin reports it as a usage error)."""


@dataclass
class ClaimsSession:
    registry: Registry
    report_dir: Path
    started: float = field(default_factory=time.time)
    records: dict[str, ItemRecord] = field(default_factory=dict)
    deselected: list[ItemRecord] = field(default_factory=list)
    interrupted: str | None = None
    written: tuple[Path, dict] | None = None
    previous_sigterm: object = None
    deselected_items: list = field(default_factory=list)
    deselected_ids: set = field(default_factory=set)     # reported by xdist workers
    collection_error_ids: list[str] = field(default_factory=list)
    interrupts: list[str] = field(default_factory=list)
    worker_torch: tuple[str | None, str] | None = None   # (version, device) as an xdist worker saw them
    worker_hypothesis: list[dict] = field(default_factory=list)  # the hypothesis settings each worker ran

    @classmethod
    def from_config(cls, config) -> "ClaimsSession":
        """Load the registry (--claims-registry or the ini's, else the shipped one) and fix the report
        folder (--claims-report-dir or the ini's, relative to rootdir)."""
        registry_dir = config.getoption("claims_registry") or config.getini("claims_registry") or None
        if registry_dir and not Path(registry_dir).is_absolute():
            registry_dir = config.rootpath / registry_dir
        try:
            registry = load_registry(registry_dir)
        except RegistryError as exc:
            raise SessionError(f"claim registry: {exc}") from None
        report_dir = config.getoption("claims_report_dir")
        report_dir = Path(report_dir) if report_dir else config.rootpath / config.getini("claims_report_dir")
        return cls(registry, report_dir.resolve())

    # ------------------------------------------------------------ signals

    def catch_sigterm(self) -> None:
        """A SIGTERM (a CI time-out, `kill`) becomes an interrupt, so the report is still written."""
        if threading.current_thread() is not threading.main_thread():
            return

        def on_sigterm(signum, frame):
            self.interrupted = "terminated by SIGTERM"
            raise KeyboardInterrupt("SIGTERM")
        self.previous_sigterm = signal.signal(signal.SIGTERM, on_sigterm)

    def restore_sigterm(self) -> None:
        if self.previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self.previous_sigterm)

    # ------------------------------------------------------------ collection and running

    def evidence_for(self, nodeid: str, ids) -> Evidence:
        # Figures are staged under partial/; a full complete run moves them to reports/figures/.
        return Evidence(nodeid, tuple(ids), staging_folder(self.report_dir))

    def collect(self, item) -> str | None:
        """Record a collected test that is linked to claims; returns the strict-xfail reason when the
        registry expects its claims to be refuted (None otherwise, or for a test without claims)."""
        ids = claim_ids(item)
        if not ids:
            return None
        self.records[item.nodeid] = ItemRecord(item.nodeid, ids, self.evidence_for(item.nodeid, ids),
                                               experiment=any(item.iter_markers("experiment")))
        return expected_failure_reason(self.registry, ids)

    def deselect(self, items) -> None:
        # only claim checks count: leaving out a kernel benchmark or a harness test leaves every
        # claim's verdict as it is, so the run can still be a full one
        self.deselected_items.extend(item for item in items if any(item.iter_markers("claim")))

    # ------------------------------------------------------------ the report

    def finish(self, config, exitstatus, shouldfail) -> None:
        """Write the report (once): verdicts from the records, the run's metadata, figures placed."""
        if self.written is not None:
            return
        for nodeid in [item.nodeid for item in self.deselected_items] + sorted(self.deselected_ids):
            record = self.records.pop(nodeid, None)
            if record is not None:
                record.outcome, record.message = DESELECTED, "deselected in this run"
                self.deselected.append(record)

        not_run = [r for r in self.records.values() if r.outcome == NOT_RUN]
        incomplete = incomplete_reasons(
            collection_errors=self.collection_error_ids, interrupted=self.interrupted, interrupts=self.interrupts,
            internal_error=int(exitstatus) == int(pytest.ExitCode.INTERNAL_ERROR), stopped_early=shouldfail,
            never_ran=len(not_run))
        for r in not_run:
            r.message = "never ran: the session stopped before it (" + incomplete[0] + ")"

        scope = scope_reasons(config, len({item.nodeid for item in self.deselected_items} | self.deselected_ids))
        target = self.report_dir if (not scope and not incomplete) else self.report_dir / "partial"
        every = [*self.records.values(), *self.deselected]
        place_figures(every, self.report_dir, target)
        results = [CheckResult(r.nodeid, r.claims, r.outcome, r.duration_s, r.message, r.location,
                               r.evidence.records, r.experiment) for r in every]
        verdicts = compute_verdicts(self.registry, results)
        if scope or incomplete:
            for v in verdicts.values():
                if v.verdict == "unchecked" and not v.checks:
                    v.reason = "not in this run's selection; " + v.reason

        run = run_metadata(config, self, scope=scope, incomplete=incomplete, exitstatus=exitstatus, results=results)
        report = build_report(self.registry, verdicts, run)
        write_report(report, target)
        self.written = (target, report)
