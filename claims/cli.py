"""The `claims` command: check, plan, store, report, list, show, spectrum — its parser and entry point.

The subcommands live in cli_check.py (check), cli_cells.py (plan, store) and cli_read.py (report,
list, show).

`list`, `show` and `report` read only the registry and `reports/claims.json`;
they never import torch. `check` runs pytest on the claim checks; `plan` prints
what the experiments would compute at a scale; `store` exports and imports the
results store's finished cells (claims/store.py). `spectrum`
fits the singular spectra of a model file's weights (its library is
`impl/spectral/report.py`, which imports torch and the fitters only when it runs).
"""

from __future__ import annotations

import argparse
import os
import sys

from impl.spectral import report as spectrum

from .cli_cells import cmd_plan, cmd_store
from .cli_check import cmd_check
from .cli_read import cmd_list, cmd_report, cmd_show
from .project import CHECK_PATHS
from .registry import DECLARED, RegistryError
from .verdicts import VERDICTS


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
