"""`claims report`, `claims list`, `claims show`: reading the registry and `reports/claims.json`.

They never import torch or hypothesis: a reader's machine needs neither.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from .entries import scale_lines, to_decide_lines
from .markdown import render_markdown
from .registry import load_registry
from .report import atomic_write, load_report


def _reports_dir(args) -> Path:
    from . import project
    return Path(args.reports) if args.reports else project.project_root() / "reports"


def _load_verdicts(args) -> dict:
    path = _reports_dir(args) / "claims.json"
    if not path.exists():
        return {}
    return load_report(path)["claims"]


def cmd_report(args, extra) -> int:
    directory = _reports_dir(args)
    report = load_report(directory / "claims.json")
    atomic_write(directory / "CLAIMS.md", render_markdown(report))
    print(f"wrote {directory / 'CLAIMS.md'} from {directory / 'claims.json'}")
    return 0


def cmd_list(args, extra) -> int:
    registry = load_registry(args.registry)
    verdicts = _load_verdicts(args)
    rows = []
    for claim in registry:
        v = verdicts.get(claim.id, {})
        label = v.get("label", "not in report")
        if args.family and claim.family != args.family:
            continue
        if args.declared and claim.declared != args.declared:
            continue
        if args.verdict and v.get("verdict") != args.verdict:
            continue
        rows.append((claim.id, claim.declared, label, claim.title))
    width = max((len(r[0]) for r in rows), default=10)
    for cid, declared, label, title in rows:
        print(f"{cid:<{width}}  {declared:<11}  {label:<20}  {title}")
    print(f"-- {len(rows)} of {len(registry)} claims", file=sys.stderr)
    return 0


def cmd_show(args, extra) -> int:
    registry = load_registry(args.registry)
    if args.id not in registry:
        close = [c for c in registry.claims if args.id.split(".")[-1] in c]
        print(f"claims: unknown claim id {args.id!r}" + (f"; did you mean {', '.join(close[:5])}?" if close else
                                                         "; see `claims list`"), file=sys.stderr)
        return 2
    c = registry[args.id]
    v = _load_verdicts(args).get(c.id)
    wrap = lambda text: textwrap.indent(textwrap.fill(" ".join(text.split()), 88), "  ")  # noqa: E731
    print(f"{c.id} — {c.title}")
    print(f"declared: {c.declared}    checks needed: {', '.join(c.checks) or 'none'}    "
          f"registry: {c.file}:{c.line}")
    print("statement:\n" + wrap(c.statement))
    print("sources:\n" + "\n".join(f"  - {s}" for s in c.sources))
    for label, text in (("formal content", c.formal), ("formal gap", c.formal_gap),
                        ("decision rule", c.decision_rule), ("full-scale configuration", c.full_scale), ("limits", c.limits),
                        ("unchecked because", c.unchecked_reason), ("notes", c.notes)):
        if text:
            print(f"{label}:\n" + wrap(text))
    if c.expect:
        print(f"expected: {c.expect}, because:\n" + wrap(c.expect_reason or "(no reason recorded)"))
    print("uses: " + (", ".join(c.uses) or "nothing"))
    used_by = [o.id for o in registry if c.id in o.uses]
    print("used by: " + (", ".join(used_by) or "nothing"))
    if v is None:
        print("last verdict: none (no report yet, or the claim is not in it)")
        return 0
    print(f"last verdict: {v['label']}" + (" (fully confirmed)" if v["fully_confirmed"] else "") +
          f" — {v['reason']}")
    if v["blocked_by"] and v["verdict"] == "confirmed":
        print("  not fully confirmed because of: " + ", ".join(v["blocked_by"]))
    for text in scale_lines(v):
        print("scale:\n" + wrap(text))
    for text in to_decide_lines(v):
        label, _, rest = text.partition(": ")
        print(f"{label}:\n" + wrap(rest))
    for check in v["checks"]:
        print(f"  check {check['outcome']:<12} {check['duration_s']:>8.3f}s  {check['nodeid']}")
        if check["outcome"] in ("failed", "xfailed", "error") and check.get("message"):
            print(textwrap.indent(check["message"].strip(), "      "))
    for e in v["evidence"]:
        if e["kind"] in ("scale", "to_decide"):   # printed above, beside the verdict
            continue
        if e["kind"] == "figure":
            print(f"  figure  {e['name']} = {e['value']} {e.get('unit') or ''}".rstrip())
        elif e["kind"] == "file":
            print(f"  file    {e['path']} {e.get('caption') or ''}".rstrip())
        else:
            print(f"  {e['kind']:<7} {e['text']}")
    return 0
