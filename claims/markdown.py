"""`CLAIMS.md`: the status report rendered as Markdown from the report's JSON dict
(claims/report.py builds the dict; `claims report` re-renders this from claims.json).

Sections: the tallies and the run table, the Gaps, one table per family, the claim details,
counterexamples and evidence, the dependency graph (Mermaid).
"""

from __future__ import annotations

from .entries import (NOT_STATED_SCALE, NOT_STATED_TO_DECIDE, experiment_ran, is_experiment, scale_lines, scales,
                      table_text, to_decide_lines)
from .verdicts import VERDICTS, counts

_COLOURS = {  # Mermaid fill colours of the dependency graph, by verdict
    "confirmed": "#b7e4c7", "refuted": "#f4a6a6", "inconclusive": "#ffe8a3",
    "error": "#d7b4f3", "unchecked": "#e9ecef",
}
_SYMBOL = {"confirmed": "✅", "refuted": "❌", "inconclusive": "❔", "error": "💥", "unchecked": "·"}


def _short(text, limit=110) -> str:
    text = table_text(text)
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


def hypothesis_cell(run: dict) -> str:
    settings = run.get("hypothesis")
    if not settings:   # reports written before the settings were recorded
        return f"{run.get('hypothesis_profile')} (settings not recorded)"
    cell = (f"{settings['profile']} — " + ("derandomised" if settings.get("derandomize") else "random") +
            f", {settings.get('max_examples')} examples per property test" +
            ("" if settings.get("database") else ", no example database"))
    if settings.get("mismatch"):
        cell += f" — ⚠ {table_text(settings['mismatch'])}"
    return cell


def _cells_rows(run: dict) -> list[str]:
    """The run table's rows on experiment cells (absent when no experiment ran)."""
    cells = run.get("cells")
    if not cells:
        return []
    stale = f", **{cells['stale']} stale** (computed by code that has changed since)" if cells["stale"] else ""
    rows = [f"| experiment cells | {cells['distinct']} distinct: {cells['reused']} reused from the results store, "
            f"{cells['ran']} computed in this run{stale}; executor {', '.join(cells['executors'])}; store "
            f"{table_text(', '.join(cells['stores']))} |"]
    if cells.get("origins"):
        rows.append(f"| cells computed on | {table_text('; '.join(cells['origins']))} |")
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
            f"| torch / device | {run.get('torch')} / {table_text(run.get('device'))} |",
            f"| python | {run.get('python')} |",
            f"| hypothesis | {hypothesis_cell(run)} |",
            f"| scale | {run.get('scale')} |",
            *_cells_rows(run),
            f"| selection | {table_text(' '.join(run['selection']['args']) or '(default)')}; "
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
        out += [f"### `{cid}` — {table_text(c['title'])}", "", f"**Verdict:** {verdict} — {_short(c['reason'], 300)}", ""]
        if unstated:
            out += [f"**{NOT_STATED_TO_DECIDE[0].upper() + NOT_STATED_TO_DECIDE[1:]}.**", ""]
        for name, text in fields:
            out += [f"**{name}:** {table_text(text)}", ""]
    return out


def _details(claims: dict) -> list[str]:
    """Counterexamples of refuted claims and the evidence of every claim that has some."""
    out = []
    refuted = [(cid, c) for cid, c in claims.items() if c["verdict"] == "refuted"]
    if refuted:
        out += ["## Counterexamples", ""]
        for cid, c in refuted:
            out += [f"### `{cid}` — {c['label']}", "", f"Statement: {table_text(c['statement'])}", ""]
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
                    out.append(f"- ![{table_text(e.get('caption'))}]({e['path']}) — `{e['check']}`")
                else:
                    out.append(f"- {e['kind'].replace('_', ' ')}: {table_text(e['text'])} — `{e['check']}`")
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
