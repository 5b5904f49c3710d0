"""The status report: `claims.json` (the data) and `CLAIMS.md` (rendered from it).

The Markdown is always rendered from the JSON dict, so `claims report` can
re-render it without running anything (and without torch). Both files are
written atomically: a reader never sees half a report.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .registry import Registry
from .verdicts import RAN, VERDICTS, counts

SCHEMA = "claims-report/1"
_COLOURS = {  # Mermaid fill colours of the dependency graph, by verdict
    "confirmed": "#b7e4c7", "refuted": "#f4a6a6", "inconclusive": "#ffe8a3",
    "error": "#d7b4f3", "unchecked": "#e9ecef",
}
_SYMBOL = {"confirmed": "✅", "refuted": "❌", "inconclusive": "❔", "error": "💥", "unchecked": "·"}


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


def _atomic_write(path: Path, text: str) -> None:
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
    _atomic_write(json_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    _atomic_write(md_path, render_markdown(report))
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


# ---------------------------------------------------------------- Markdown

def _cell(text) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def _short(text, limit=110) -> str:
    text = _cell(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _key_evidence(claim: dict, limit: int = 3) -> str:
    figures = [e for e in claim["evidence"] if e["kind"] == "figure"]
    parts = [f"{e['name']} = {_fmt(e['value'])}{(' ' + e['unit']) if e.get('unit') not in ('', '1', None) else ''}"
             for e in figures[:limit]]
    if not parts and claim["verdict"] != "confirmed":
        parts = [claim["reason"]]
    return _short("; ".join(parts), 160)


def _checks_cell(claim: dict) -> str:
    ran = [c for c in claim["checks"] if c["outcome"] in
           ("passed", "failed", "error", "xfailed", "xpassed", "inconclusive")]
    ok = [c for c in ran if c["outcome"] == "passed"]
    return f"{len(ok)}/{len(ran)}"


def _source_cell(claim: dict) -> str:
    """'000 › LinearCapacity.lean › linear_state_is_sum': the document's number and the last two
    steps of its section path (the full strings are in claims.json and `claims show`)."""
    if not claim["sources"]:
        return ""
    document, _, section = claim["sources"][0].partition(" § ")
    steps = [s.strip() for s in section.split("›") if s.strip()]
    label = " › ".join([document.split("_")[0]] + steps[-2:]) if steps else document
    return _short(label, 70) + (f" (+{len(claim['sources']) - 1})" if len(claim["sources"]) > 1 else "")


# ------------------------------------------------ what a verdict is worth: scale and what would decide it
# Reports written before these records existed (no "scale"/"to_decide" evidence, no "experiment" flag
# on checks, no "notes") still render: every accessor falls back to what such a report holds.

NOT_STATED_TO_DECIDE = "what would decide it: not stated by the check"
NOT_STATED_SCALE = "not stated by the check"


def is_experiment(claim: dict) -> bool:
    """The registry asks for an experiment (kind E) for this claim."""
    return "E" in (claim.get("check_kinds") or ())


def experiment_ran(claim: dict) -> bool:
    """An experiment check of this claim ran (older reports, without the checks' `experiment` flag:
    any check of a kind-E claim)."""
    ran = [c for c in claim["checks"] if c["outcome"] in RAN]
    if any("experiment" in c for c in claim["checks"]):
        return any(c.get("experiment") for c in ran)
    return is_experiment(claim) and bool(ran)


def scales(claim: dict) -> list[dict]:
    """The claim's scale records, one per distinct text."""
    out, seen = [], set()
    for e in claim["evidence"]:
        if e["kind"] == "scale" and e["text"] not in seen:
            seen.add(e["text"])
            out.append(e)
    return out


def to_decide(claim: dict) -> list[str]:
    """What would decide the claim, as its checks stated it (distinct texts)."""
    return list(dict.fromkeys(e["text"] for e in claim["evidence"] if e["kind"] == "to_decide"))


def scale_lines(claim: dict) -> list[str]:
    """Full scale texts for the Gaps, the details and `claims show` (empty for a claim with no
    experiment that ran and no scale record)."""
    texts = [_cell(e["text"]) for e in scales(claim)]
    if not texts and experiment_ran(claim):
        texts = [NOT_STATED_SCALE]
    return texts


def to_decide_lines(claim: dict) -> list[str]:
    """'to decide: …' texts; for an inconclusive claim without one, the visible 'not stated'."""
    texts = ["to decide: " + _cell(t) for t in to_decide(claim)]
    if not texts and claim["verdict"] == "inconclusive":
        texts = [NOT_STATED_TO_DECIDE]
    return texts


def _scale_items(claim: dict) -> list[str]:
    return [f"  - scale: **{text}**" if text == NOT_STATED_SCALE else f"  - scale: {text}"
            for text in scale_lines(claim)]


def _scale_cell(claim: dict) -> str:
    """Short: 'reduced replica — ran: …; source: …' (the full text is in Claim details)."""
    if not is_experiment(claim):
        return "—"
    records = scales(claim)
    if not records:
        return f"**{NOT_STATED_SCALE}**" if experiment_ran(claim) else "—"
    first = records[0]
    label = "reduced replica" if any(r.get("reduced") for r in records) else "source's scale"
    ran, source = first.get("ran"), first.get("source")
    text = (f"ran: {_short(ran, 60)}; source: {_short(source, 60)}" if ran and source
            else _short(first["text"], 100))
    more = f" (+{len(records) - 1})" if len(records) > 1 else ""
    return f"{label} — {text}{more}"


def _hypothesis_cell(run: dict) -> str:
    settings = run.get("hypothesis")
    if not settings:   # reports written before the settings were recorded
        return f"{run.get('hypothesis_profile')} (settings not recorded)"
    cell = (f"{settings['profile']} — " + ("derandomised" if settings.get("derandomize") else "random") +
            f", {settings.get('max_examples')} examples per property test" +
            ("" if settings.get("database") else ", no example database"))
    if settings.get("mismatch"):
        cell += f" — ⚠ {_cell(settings['mismatch'])}"
    return cell


def _cells_rows(run: dict) -> list[str]:
    """The run table's rows on experiment cells (absent when no experiment ran)."""
    cells = run.get("cells")
    if not cells:
        return []
    stale = f", **{cells['stale']} stale** (computed by code that has changed since)" if cells["stale"] else ""
    rows = [f"| experiment cells | {cells['distinct']} distinct: {cells['reused']} reused from the results store, "
            f"{cells['ran']} computed in this run{stale}; executor {', '.join(cells['executors'])}; store "
            f"{_cell(', '.join(cells['stores']))} |"]
    if cells.get("origins"):
        rows.append(f"| cells computed on | {_cell('; '.join(cells['origins']))} |")
    return rows


def _mermaid_id(cid: str) -> str:
    return cid.replace(".", "__")


def render_markdown(report: dict) -> str:
    run, claims = report["run"], report["claims"]
    tally = counts(c["verdict"] for c in claims.values())
    fully = sum(c["fully_confirmed"] for c in claims.values())
    out = ["# Claim status report", ""]
    if not run.get("full", True) or not run.get("complete", True):
        out += ["> **This is not a complete full run.** " +
                "; ".join(run.get("scope_reasons", []) + run.get("incomplete_reasons", [])) +
                ". Claims it did not run are listed below as unchecked, with the reason.", ""]
    out += [f"**{len(claims)} claims** — " + " · ".join(f"{_SYMBOL[k]} {k} **{v}**" for k, v in tally.items())
            + f" — fully confirmed (with every `uses` ancestor): **{fully}**", ""]
    expected = [cid for cid, c in claims.items() if c["label"] == "refuted (expected)"]
    if expected:
        out += [f"Refuted as the registry expects: {', '.join(expected)}.", ""]
    commit = (run.get("git_commit") or "unknown")[:12] + (" (dirty)" if run.get("git_dirty") else "")
    out += ["| run | |", "| --- | --- |",
            f"| date | {run.get('date')} |", f"| commit | {commit} |",
            f"| torch / device | {run.get('torch')} / {_cell(run.get('device'))} |",
            f"| python | {run.get('python')} |",
            f"| hypothesis | {_hypothesis_cell(run)} |",
            f"| scale | {run.get('scale')} |",
            *_cells_rows(run),
            f"| selection | {_cell(' '.join(run['selection']['args']) or '(default)')}; "
            f"{run['selection']['claim_checks_ran']} claim checks ran, "
            f"{run['selection']['claim_checks_deselected']} deselected |",
            f"| duration | {run.get('duration_s')} s, exit status {run.get('exit_status')} |", ""]
    out += ["Verdicts come from check outcomes only: **confirmed** — at least one check ran and all "
            "passed; **refuted** — a check failed (counterexample below); **inconclusive** — an "
            "experiment's data could not decide; **error** — a check crashed; **unchecked** — nothing "
            "ran (reason given). *Declared* is what the source document says.", ""]

    out += _gaps(claims)

    families = sorted({(c["family_order"], c["family"], c["family_title"]) for c in claims.values()})
    for _, fam, title in families:
        out += [f"## {title} (`{fam}`)", "",
                "| claim | declared | source | verdict | scale | checks passed/run | key evidence |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for cid, c in claims.items():
            if c["family"] != fam:
                continue
            verdict = f"{_SYMBOL[c['verdict']]} {c['label']}" + (" (fully)" if c["fully_confirmed"] else "")
            out.append(f"| `{cid}` {_short(c['title'], 60)} | {c['declared']} | {_source_cell(c)} | "
                       f"{verdict} | {_scale_cell(c)} | {_checks_cell(c)} | {_key_evidence(c)} |")
        out.append("")

    out += _claim_details(claims)
    out += _details(claims)
    out += _graph(claims)
    return "\n".join(out) + "\n"


def _gaps(claims: dict) -> list[str]:
    out = ["## Gaps", ""]
    proven_refuted = [(cid, c) for cid, c in claims.items()
                      if c["declared"] == "proven" and c["verdict"] == "refuted"]
    out += ["### Declared proven, refuted by our checks", ""]
    out += [f"- `{cid}` — {_short(c['reason'], 300)}" for cid, c in proven_refuted] or ["- none", ""]
    if proven_refuted:
        out.append("")
    weak = [(cid, c) for cid, c in claims.items() if c.get("formal_gap")]
    out += ["### Formal statement weaker than the claim", "",
            "The Lean theorem behind each of these asserts less than the claim's name or the document; "
            "our checks test the claim itself on the implementation.", ""]
    out += [f"- `{cid}` ({c['label']}) — {_short(c['formal_gap'], 300)}" for cid, c in weak] or ["- none"]
    out.append("")
    refuted = [(cid, c) for cid, c in claims.items() if c["verdict"] == "refuted"]
    if refuted:
        out += [f"### Refuted claims ({len(refuted)})", "",
                "Including those the registry expects to be refuted; an experiment's refutation speaks "
                "for the scale it ran at.", ""]
        for cid, c in refuted:
            out.append(f"- `{cid}` ({c['label']}) — {_short(c['reason'], 300)}")
            out += _scale_items(c)
        out.append("")
    bad = [(cid, c) for cid, c in claims.items() if c["verdict"] in ("error", "inconclusive")]
    if bad:
        out += ["### Errors and inconclusive checks", ""]
        for cid, c in bad:
            out.append(f"- `{cid}` ({c['verdict']}) — {_short(c['reason'], 300)}")
            out += _scale_items(c)
            out += [f"  - **{text}**" if text == NOT_STATED_TO_DECIDE else f"  - {text}"
                    for text in to_decide_lines(c)]
        out.append("")
    unchecked = [(cid, c) for cid, c in claims.items() if c["verdict"] == "unchecked"]
    out += [f"### Unchecked claims ({len(unchecked)})", ""]
    out += [f"- `{cid}` — {_short(c['reason'], 300)}" for cid, c in unchecked] or ["- none"]
    out.append("")
    return out


def _claim_details(claims: dict) -> list[str]:
    """Per claim: what its verdict is worth — scale, what would decide it — and the registry's
    decision rule, expectation, limits and notes, in full."""
    out = ["## Claim details", "",
           "For every claim with a decision rule, an expectation, limits, notes, a scale or a "
           "to-decide record: the full texts behind the tables above.", ""]
    for cid, c in claims.items():
        expectation = c.get("expectation") or {}
        fields = [
            ("Scale", " · ".join(scale_lines(c))),
            ("To decide", " · ".join(t.removeprefix("to decide: ") for t in to_decide_lines(c)
                                     if t != NOT_STATED_TO_DECIDE)),
            ("Decision rule", c.get("decision_rule")),
            ("Full scale (CLAIMS_SCALE=full runs the source's configuration)", c.get("full_scale")),
            ("Expected to fail because" if expectation.get("expect") == "fails"
             else f"Expected ({expectation.get('expect')}) because", expectation.get("reason")),
            ("Limits", c.get("limits")),
            ("Notes", c.get("notes")),
        ]
        fields = [(name, text) for name, text in fields if text]
        unstated = NOT_STATED_TO_DECIDE in to_decide_lines(c)
        if not fields and not unstated:
            continue
        verdict = f"{_SYMBOL[c['verdict']]} {c['label']}" + (" (fully)" if c["fully_confirmed"] else "")
        out += [f"### `{cid}` — {_cell(c['title'])}", "", f"**Verdict:** {verdict} — {_short(c['reason'], 300)}", ""]
        if unstated:
            out += [f"**{NOT_STATED_TO_DECIDE[0].upper() + NOT_STATED_TO_DECIDE[1:]}.**", ""]
        for name, text in fields:
            out += [f"**{name}:** {_cell(text)}", ""]
    return out


def _details(claims: dict) -> list[str]:
    """Counterexamples of refuted claims and the evidence of every claim that has some."""
    out = []
    refuted = [(cid, c) for cid, c in claims.items() if c["verdict"] == "refuted"]
    if refuted:
        out += ["## Counterexamples", ""]
        for cid, c in refuted:
            out += [f"### `{cid}` — {c['label']}", "", f"Statement: {_cell(c['statement'])}", ""]
            for check in c["checks"]:
                if check["outcome"] in ("failed", "xfailed"):
                    where = f" at `{check['location']}`" if check.get("location") else ""
                    out += [f"Check `{check['nodeid']}`{where}:", "", "```text",
                            (check["message"] or "").strip(), "```", ""]
    with_evidence = [(cid, c) for cid, c in claims.items() if c["evidence"]]
    if with_evidence:
        out += ["## Evidence", ""]
        for cid, c in with_evidence:
            out += [f"### `{cid}`", ""]
            for e in c["evidence"]:
                if e["kind"] == "figure":
                    unit = f" {e['unit']}" if e.get("unit") not in ("", "1", None) else ""
                    agg = f" (over {e['count']} calls)" if e.get("count") else ""
                    out.append(f"- {e['name']}: **{_fmt(e['value'])}**{unit}{agg} — `{e['check']}`")
                elif e["kind"] == "file":
                    out.append(f"- ![{_cell(e.get('caption'))}]({e['path']}) — `{e['check']}`")
                else:
                    out.append(f"- {e['kind'].replace('_', ' ')}: {_cell(e['text'])} — `{e['check']}`")
            out.append("")
    return out


def _graph(claims: dict) -> list[str]:
    out = ["## Dependency graph", "",
           "Edges point from a claim to the claims it uses; colour is the verdict.", "",
           "```mermaid", "graph BT"]
    for cid, c in claims.items():
        out.append(f'  {_mermaid_id(cid)}["{cid}"]:::{c["verdict"]}')
    for cid, c in claims.items():
        for target in c["uses"]:
            out.append(f"  {_mermaid_id(cid)} --> {_mermaid_id(target)}")
    for verdict in VERDICTS:
        out.append(f"  classDef {verdict} fill:{_COLOURS[verdict]},stroke:#555")
    out += ["```", ""]
    return out
