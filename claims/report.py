"""The status report's data: `claims.json`, and writing it with `CLAIMS.md` beside it.

The Markdown (claims/markdown.py) is always rendered from the JSON dict, so `claims report` can
re-render it without running anything (and without torch). Both files are written atomically
(`atomic_write`): a reader never sees half a report.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .markdown import render_markdown
from .registry import Registry

SCHEMA = "claims-report/1"


def build_report(registry: Registry, verdicts: dict, run: dict) -> dict:
    family = {f.id: f for f in registry.families}
    claims = {}
    for claim in registry:
        v = verdicts[claim.id]
        evidence = [dict(record, check=check.nodeid) for check in v.checks
                    for record in check.evidence if record.get("claim") in (None, claim.id)]
        for record in evidence:
            record.pop("claim", None)
        claims[claim.id] = {
            "family": claim.family,
            "family_title": family[claim.family].title,
            "family_order": family[claim.family].order,
            "title": claim.title,
            "statement": claim.statement,
            "declared": claim.declared,
            "sources": list(claim.sources),
            "formal": claim.formal,
            "formal_gap": claim.formal_gap,
            "uses": list(claim.uses),
            "check_kinds": list(claim.checks),
            "decision_rule": claim.decision_rule,
            "full_scale": claim.full_scale,
            "limits": claim.limits,
            "notes": claim.notes,
            "verdict": v.verdict,
            "label": v.label,
            "reason": v.reason,
            "expectation": ({"expect": claim.expect, "reason": claim.expect_reason,
                             "met": v.expectation_met} if claim.expect else None),
            "fully_confirmed": v.fully_confirmed,
            "blocked_by": v.blocked_by,
            "checks": [{"nodeid": c.nodeid, "outcome": c.outcome, "duration_s": round(c.duration_s, 4),
                        "message": c.message, "location": c.location, "experiment": c.experiment}
                       for c in v.checks],
            "evidence": evidence,
        }
    return {"schema": SCHEMA, "run": run, "claims": claims}


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(report: dict, directory: Path) -> tuple[Path, Path]:
    directory = Path(directory)
    json_path, md_path = directory / "claims.json", directory / "CLAIMS.md"
    atomic_write(json_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    atomic_write(md_path, render_markdown(report))
    return json_path, md_path


def load_report(path: Path) -> dict:
    """Read a claims.json, checking its schema (a clear error beats a KeyError later)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no report at {path}: run `claims check` first") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: schema {data.get('schema') if isinstance(data, dict) else None!r} "
                         f"is not {SCHEMA!r}")
    return data

