"""`claims plan` and `claims store`: the experiment cells before they run (what each experiment
would compute at a scale, claims/plan.py estimates the cost) and after (the results store's
finished cells, claims/store.py).

This and the other cli modules are the only harness modules that import `impl`: the experiment
library modules named here, each exposing `declare_cells() -> list[Cell]`.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from .plan import estimate, render

# The experiment families, in report order: each module holds its cell functions, declare_cells()
# and its decision rules; benchmarks/experiments/test_exp_*.py declare, run and decide.
EXPERIMENT_MODULES = (
    "impl.experiments.trained_elman",
    "impl.experiments.rank_sweeps",
    "impl.experiments.scaling",
    "impl.experiments.gradients",
    "impl.experiments.lru",
    "impl.experiments.selective_mode",
    "impl.experiments.exponent_profiles",
)


def declared(module_name: str) -> list:
    module = importlib.import_module(module_name)
    return list(module.declare_cells())


def plan_rows(scale: str, store=None) -> list[dict]:
    """One row per experiment module at `scale` (CLAIMS_SCALE is set for the declaration).

    The experiment modules read the scale when they are imported (their size constants), so call
    this once per process, before anything imported them at another scale (`claims plan` does)."""
    before = os.environ.get("CLAIMS_SCALE")
    os.environ["CLAIMS_SCALE"] = scale
    try:
        rows = []
        known = store.count_by_key() if store is not None else set()
        for name in EXPERIMENT_MODULES:
            cells = declared(name)
            row = estimate(cells)
            row["experiment"] = name.rsplit(".", 1)[1]
            row["in_store"] = sum(c.key in known for c in {c.key: c for c in cells}.values())
            row["distinct"] = len({c.key for c in cells})
            rows.append(row)
        return rows
    finally:
        if before is None:
            os.environ.pop("CLAIMS_SCALE", None)
        else:
            os.environ["CLAIMS_SCALE"] = before


def cmd_plan(args, extra) -> int:
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
