"""The `claims` command: check, plan, store, report, list, show, spectrum.

`list`, `show` and `report` read only the registry and `reports/claims.json`;
they never import torch. `check` runs pytest on the claim checks; `plan` prints
what the experiments would compute at a scale; `store` exports and imports the
results store's finished cells (claims/store.py). `spectrum`
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


# `claims check`'s own options (taken out of the arguments; everything else goes to pytest), and
# the environment variable each sets for the experiments (claims/executors.py).
CHECK_OPTIONS = {"--scale": "CLAIMS_SCALE", "--device": "CLAIMS_DEVICE", "--executor": "CLAIMS_EXECUTOR",
                 "--store": "CLAIMS_STORE"}
CHECK_FLAGS = {"--fresh": "CLAIMS_FRESH", "--force": "CLAIMS_FORCE"}


def split_check_options(extra: list[str]) -> tuple[dict, list[str]]:
    """({ENV: value} of claims check's own options, the rest for pytest)."""
    settings, rest, items = {}, [], iter(extra)
    for arg in items:
        name, eq, value = arg.partition("=")
        if name in CHECK_OPTIONS:
            if not eq:
                value = next(items, None)
                if value is None:
                    raise ValueError(f"claims check {name}: needs a value")
            settings[CHECK_OPTIONS[name]] = value
        elif arg in CHECK_FLAGS:
            settings[CHECK_FLAGS[arg]] = "1"
        else:
            rest.append(arg)
    return settings, rest


def cmd_check(args, extra: list[str]) -> int:
    root = project_root()
    try:
        settings, extra = split_check_options(extra)
    except ValueError as exc:
        print(f"claims: {exc}", file=sys.stderr)
        return 2
    env = main_job_environment({**os.environ, **settings})
    problem = _experiment_settings_problem(env)
    if problem:
        print(f"claims: {problem}", file=sys.stderr)
        return 2
    paths = [p for p in CHECK_PATHS if (root / p).exists()]
    # The main job selects every check, sweeps and experiments included (the project's addopts
    # leave those out of a plain `pytest`), but not the kernel benchmarks and the speed gate:
    # timings need a quiet machine, not one shared with xdist workers. A -m of the caller's own
    # still wins, coming later.
    command = [sys.executable, "-m", "pytest", *paths, "-m", "not kernel_bench and not kernel_gate",
               *_parallel(extra), *extra]
    shown = " ".join(f"{k}={env[k]}" for k in ("HYPOTHESIS_PROFILE", *CHECK_OPTIONS.values(), *CHECK_FLAGS.values())
                     if env.get(k))
    with _ray_head_if_needed(env):
        print("running:", " ".join(command), f"(in {root}; {shown})", flush=True)
        return subprocess.call(command, cwd=root, env=env)


def _experiment_settings_problem(env: dict) -> str | None:
    """One line on a bad experiment setting, or on full-scale cells that would train on a CPU."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from .executors import SettingsError, check_settings, executor_name, may_run_here
        from impl.experiments.device import resolve
        try:
            check_settings()
        except SettingsError as exc:
            return str(exc)
        placement = resolve(here=executor_name() == "local")
        if not may_run_here(placement):
            return _full_scale_refusal(placement)
        return None
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _full_scale_refusal(placement) -> str | None:
    """At CLAIMS_SCALE=full on a CPU: None when the store holds every cell (imported results: the
    report is built from them without training), else the plan's estimate of what is missing."""
    from .executors import refusal_text
    from .plan import EXPERIMENT_MODULES, declared
    from .store import ResultsStore, default_path
    known = ResultsStore(create=False).count_by_key() if default_path().exists() else set()
    missing = [c for name in EXPERIMENT_MODULES for c in declared(name) if c.key not in known]
    return refusal_text(missing, placement) if missing else None


class _ray_head_if_needed:
    """CLAIMS_EXECUTOR=ray without RAY_ADDRESS: start a one-node Ray for this run (its own process
    group, stopped after it) and point every pytest worker at it through RAY_ADDRESS."""

    def __init__(self, env: dict):
        self.env, self.process = env, None

    def __enter__(self):
        if self.env.get("CLAIMS_EXECUTOR") != "ray" or self.env.get("RAY_ADDRESS"):
            return self
        import shutil
        import socket
        import time
        ray = shutil.which("ray", path=os.path.dirname(sys.executable)) or shutil.which("ray")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.process = subprocess.Popen([ray, "start", "--head", "--block", f"--port={port}",
                                         "--node-ip-address=127.0.0.1", "--include-dashboard=false",
                                         "--disable-usage-stats"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        self.env["RAY_ADDRESS"] = f"127.0.0.1:{port}"
        print(f"started a local Ray head at 127.0.0.1:{port} for this run", flush=True)
        return self

    def __exit__(self, *exc):
        if self.process is not None:
            import signal
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
        return False


def cmd_plan(args, extra) -> int:
    from .plan import plan_rows, render
    from .store import ResultsStore, default_path
    store = ResultsStore(create=False) if default_path().exists() else None
    rows = plan_rows(args.scale, store)
    if args.json:
        import json
        print(json.dumps(rows, indent=1))
    else:
        print(render(rows, args.scale, str(default_path())))
    return 0


def cmd_store(args, extra) -> int:
    from .store import ResultsStore, default_path
    if args.action == "export":
        store = ResultsStore(create=False)
        n = store.export(Path(args.file), args.experiment)
        print(f"exported {n} cells from {store.path} to {args.file}")
    elif args.action == "import":
        if not Path(args.file).exists():
            raise FileNotFoundError(f"claims store import: {args.file}: no such file")
        store = ResultsStore()
        added, present = store.import_file(Path(args.file))
        print(f"imported {added} cells into {store.path} ({present} were already there)")
    else:
        path = default_path()
        if not path.exists():
            print(f"{path}: no results store yet (the first experiment run creates it)")
            return 0
        import collections
        entries = ResultsStore(create=False).all()
        count = collections.Counter((e.experiment, e.device_kind, e.torch, e.origin.split(" on ")[0])
                                    for e in entries)
        print(f"{path}: {len(entries)} cells")
        for (experiment, device, torch_version, origin), n in sorted(count.items()):
            print(f"  {experiment:<20} {n:>5}  {device:<5} torch {torch_version:<14} {origin}")
    return 0


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
                       "which writes a partial report to reports/partial/), except check's own: "
                       "--scale small|medium|full, --device auto|cpu|cuda|cuda:N, --executor local|ray, "
                       "--store PATH, --fresh (recompute every cell), --force (full scale on a CPU). Hypothesis runs the derandomised profile 'main' (40 "
                       "examples per property test, the same on every run) unless HYPOTHESIS_PROFILE "
                       "names another (thorough: 1000 random examples, the exploration run).")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("plan", help="per experiment: cells, tokens, FLOPs and GPU-hours at a scale, and how "
                       "many cells the results store holds")
    p.add_argument("--scale", default=os.environ.get("CLAIMS_SCALE") or "small",
                   choices=("small", "medium", "full"))
    p.add_argument("--json", action="store_true", help="the rows as JSON")
    p.set_defaults(func=cmd_plan)
    p = sub.add_parser("store", help="the results store: info, export FILE, import FILE",
                       description="Finished experiment cells (.claims/results.sqlite, CLAIMS_STORE to move "
                       "it). export writes them as JSON lines, a file to commit or copy; import adds a file's "
                       "cells (checked first: a bad line changes nothing).")
    p.add_argument("action", choices=("info", "export", "import"))
    p.add_argument("file", nargs="?", help="the export file (export, import)")
    p.add_argument("--experiment", help="export only this experiment's cells (e.g. trained_elman)")
    p.set_defaults(func=cmd_store)
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
    if args.command == "store" and args.action in ("export", "import") and not args.file:
        parser.error(f"claims store {args.action}: needs a FILE")
    from .store import StoreError
    try:
        return args.func(args, [])
    except (RegistryError, FileNotFoundError, ValueError, StoreError) as exc:
        print(f"claims: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `claims show X | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
