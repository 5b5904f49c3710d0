"""The terminal summary: the "claim verdicts" section pytest prints at the end of a run.

Where the report went (and, for a partial run, why), surprises against the registry's
expectations, inconclusive claims with what would decide them, the experiment cells, and last the
counts and the refuted claims — the lines a reader looks for.
"""

from __future__ import annotations

from pathlib import Path

from .entries import NOT_STATED_TO_DECIDE, to_decide_lines
from .report import SCHEMA
from .runinfo import relative
from .verdicts import counts


def write_summary(tr, target: Path, report: dict, report_dir: Path, invocation_dir: Path) -> None:
    """Write the section to the terminal reporter `tr`, for the report written to `target`."""
    claims = report["claims"]
    tr.section("claim verdicts")
    where = relative(target / "CLAIMS.md", invocation_dir)
    if report["run"]["full"] and report["run"]["complete"]:
        tr.write_line(f"report: {where} (full run, schema {SCHEMA})")
    else:
        why = "; ".join(report["run"]["scope_reasons"] + report["run"]["incomplete_reasons"])
        tr.write_line(f"report: {where} (PARTIAL/INCOMPLETE: {why}); "
                      f"the full report in {relative(report_dir, invocation_dir)}/ was left as it was", yellow=True)
    surprises = [cid for cid, c in claims.items() if c["expectation"] and c["expectation"]["met"] is False
                 and c["verdict"] != "unchecked"]
    if surprises:
        tr.write_line("claims expected to fail that did not: " + ", ".join(surprises), red=True)
    inconclusive = [(cid, c) for cid, c in claims.items() if c["verdict"] == "inconclusive"]
    if inconclusive:
        tr.write_line("inconclusive claims, and what would decide them:")
        for cid, c in inconclusive:
            lines = to_decide_lines(c)
            tr.write_line(f"  {cid}: " + " | ".join(lines), yellow=NOT_STATED_TO_DECIDE in lines)
    line = cells_line(report["run"].get("cells"))
    if line:
        tr.write_line("experiment cells: " + line)
    tally = counts(c["verdict"] for c in claims.values())
    fully = sum(c["fully_confirmed"] for c in claims.values())
    tr.write_line(" · ".join(f"{k} {v}" for k, v in tally.items()) + f"   (fully confirmed {fully})")
    refuted = [(cid, c) for cid, c in claims.items() if c["verdict"] == "refuted"]
    if refuted:
        tr.write_line("refuted claims:")
        for cid, c in refuted:
            tag = " (expected)" if c["expectation"] and c["expectation"]["met"] else ""
            tr.write_line(f"  {cid}{tag}: {c['reason']}", red=not tag)


def cells_line(cells: dict | None) -> str | None:
    """The run's experiment cells in one line (None when no experiment ran)."""
    if not cells:
        return None
    stale = f", {cells['stale']} STALE" if cells["stale"] else ""
    return (f"{cells['distinct']} distinct cells: {cells['reused']} reused from the store, {cells['ran']} computed "
            f"in this run{stale} (executor {', '.join(cells['executors'])}; store {', '.join(cells['stores'])})")
