"""The `claims` command: check, report, list, show, spectrum.

`list`, `show` and `report` read only the registry and `reports/claims.json`;
they never import torch. `check` runs pytest on the claim checks. `spectrum`
fits the singular spectra of a model file's weights (`claims/spectrum.py`;
it imports torch and `impl` only when it runs).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from . import spectrum
from .registry import DECLARED, RegistryError, load_registry
from .report import load_report, render_markdown, scale_lines, to_decide_lines, _atomic_write
from .verdicts import VERDICTS

CHECK_PATHS = ("property_tests", "numeric_checks", "benchmarks")
# The main job's hypothesis profile (claims/hypothesis_profiles.py): derandomised, 40 examples per
# property test, so that its verdicts are the same on every run. Named here, not imported, so that
# `list`, `show` and `report` never import hypothesis.
MAIN_JOB_PROFILE = "main"


def project_root() -> Path:
    """The checkout: the nearest folder upwards from cwd with claims/registry and pyproject.toml,
    else the folder that holds this package (an editable install)."""
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "pyproject.toml").exists() and (folder / "claims" / "registry").is_dir():
            return folder
    return Path(__file__).resolve().parents[1]


def _reports_dir(args) -> Path:
    return Path(args.reports) if args.reports else project_root() / "reports"


def _load_verdicts(args) -> dict:
    path = _reports_dir(args) / "claims.json"
    if not path.exists():
        return {}
    return load_report(path)["claims"]


def cmd_check(args, extra: list[str]) -> int:
    root = project_root()
    paths = [p for p in CHECK_PATHS if (root / p).exists()]
    # The main job selects every check, sweeps and experiments included (the project's addopts
    # leave those out of a plain `pytest`), but not the kernel benchmarks and the speed gate:
    # timings need a quiet machine, not one shared with xdist workers. A -m of the caller's own
    # still wins, coming later.
    command = [sys.executable, "-m", "pytest", *paths, "-m", "not kernel_bench and not kernel_gate",
               *_parallel(extra), *extra]
    env = main_job_environment(os.environ)
    print("running:", " ".join(command), f"(in {root}; HYPOTHESIS_PROFILE={env['HYPOTHESIS_PROFILE']})",
          flush=True)
    return subprocess.call(command, cwd=root, env=env)


def main_job_environment(environ) -> dict:
    """The main job's environment: the derandomised profile unless the caller named one
    (HYPOTHESIS_PROFILE=thorough is the random exploration run). The xdist workers inherit it."""
    env = dict(environ)
    if not env.get("HYPOTHESIS_PROFILE"):
        env["HYPOTHESIS_PROFILE"] = MAIN_JOB_PROFILE
    return env


def _parallel(extra: list[str]) -> list[str]:
    """pytest-xdist workers for the main job: CLAIMS_WORKERS (default: the CPU count, at most 8);
    one module per worker (--dist loadscope) so an experiment's shared runs stay in one process.
    A -n/--numprocesses of the caller's own wins; CLAIMS_WORKERS=1 runs in one process."""
    if any(a in ("-n", "--numprocesses") or a.startswith(("-n", "--numprocesses=")) for a in extra):
        return []
    workers = int(os.environ.get("CLAIMS_WORKERS") or min(os.cpu_count() or 1, 8))
    if workers <= 1:
        return []
    try:
        import xdist  # noqa: F401
    except ImportError:
        return []
    return ["-n", str(workers), "--dist", "loadscope"]


def cmd_report(args, extra) -> int:
    directory = _reports_dir(args)
    report = load_report(directory / "claims.json")
    _atomic_write(directory / "CLAIMS.md", render_markdown(report))
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
                        ("decision rule", c.decision_rule), ("limits", c.limits),
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="claims", description=(
        "Claim-verification harness: check every claim of the registry and read the status report."))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p, registry=True):
        p.add_argument("--reports", metavar="DIR", help="report directory (default: <checkout>/reports)")
        if registry:
            p.add_argument("--registry", metavar="DIR", help="registry directory (default: the shipped one)")

    p = sub.add_parser("check", help="run every claim check at the default scale and write the report",
                       description="Run pytest on " + ", ".join(CHECK_PATHS) + " and write reports/. "
                       "Arguments after `check` go to pytest (e.g. `claims check -k capacity`, "
                       "which writes a partial report to reports/partial/). Scale experiments with "
                       "CLAIMS_SCALE=full. Hypothesis runs the derandomised profile 'main' (40 "
                       "examples per property test, the same on every run) unless HYPOTHESIS_PROFILE "
                       "names another (thorough: 1000 random examples, the exploration run).")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("report", help="re-render reports/CLAIMS.md from reports/claims.json")
    common(p, registry=False)
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("list", help="list claims, filtered by family, declared status or verdict")
    common(p)
    p.add_argument("--family", help="e.g. capacity, spectral, gsa")
    p.add_argument("--declared", choices=DECLARED)
    p.add_argument("--verdict", choices=VERDICTS, help="verdict in the last report")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("show", help="statement, sources, formal content, uses, last verdict and evidence")
    common(p)
    p.add_argument("id", help="claim id, e.g. spectral.optimal_rank_formula")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("spectrum", help="fit the singular spectrum of every 2-D weight matrix of a model file",
                       description="For every 2-D floating-point matrix of a .safetensors file or torch "
                       "checkpoint: rank exponent α (OLS and MLE), WeightWatcher's eigenvalue-tail "
                       "exponent, power law vs (stretched) exponential, effective ranks.")
    spectrum.add_arguments(p)
    p.set_defaults(func=spectrum.cmd_spectrum)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] == "check" and not ({"-h", "--help"} & set(argv[1:2])):
        return cmd_check(None, argv[1:])  # everything after `check` belongs to pytest
    args = parser.parse_args(argv)
    try:
        return args.func(args, [])
    except (RegistryError, FileNotFoundError, ValueError) as exc:
        print(f"claims: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `claims show X | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
