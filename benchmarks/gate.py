"""The CI regression gate on the kernels: correctness against the reference, and speed ratios
against the committed baseline.

For each gate case (small sizes, about a second each):

1. **deviation**: the fast path and its reference are run once in float64 on the same inputs;
   every output (or gradient) must agree within `impl.testing.KERNEL_TOLERANCES[float64]`;
2. **speed**: the contenders are timed interleaved on one torch thread (`kernels.measure`); each
   same-run ratio t_reference / t_fast and t_bound / t_fast must stay above
   (1 − margin) × its baseline in `kernel_baseline.json`. A ratio below the floor is measured
   again; the gate fails only when both measurements are below it (a planted 2× slowdown halves
   every ratio of its kernel: both fall, the gate goes red).

Ratios, not seconds: both sides of a ratio run in the same process, on the same machine, in
the same minute, so a slow or loaded machine moves them together.

    python -m benchmarks.gate                # check against the baseline (exit 1 on a regression)
    python -m benchmarks.gate --refresh      # measure 3 times, store the medians as the baseline

`benchmarks/test_kernel_gate.py` runs the check inside the plain `pytest` (so `.ci/run` gates);
refresh the baseline after an intended change of a kernel's speed, on the machine CI runs on,
and commit `benchmarks/kernel_baseline.json` with the change.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from impl.testing import KERNEL_TOLERANCES, relative_rms_error

from . import kernels

BASELINE = Path(__file__).with_name("kernel_baseline.json")
SCHEMA = "kernel-baseline/1"
MARGIN = 0.35                  # a ratio may fall to 65% of its baseline; a 2× slowdown (50%) may not
ROUNDS = 9
GATED = ("reference", "bound")  # the ratios the gate holds (peers are benchmarked, not gated)

# name -> builder of the case at the gate's size (dtype and device are the builder's defaults
# when timed; the deviation check rebuilds it in float64)
GATE_CASES: dict[str, Callable[..., kernels.Case]] = {
    "diagonal_scan": lambda **kw: kernels.diagonal_scan_case(4, 1024, 128, peers=False, **kw),
    "diagonal_scan_fwd_bwd": lambda **kw: kernels.diagonal_scan_case(4, 512, 128, backward=True, peers=False, **kw),
    "elman_fwd_bwd": lambda **kw: kernels.elman_case("stock", 8, 64, 128, **kw),
    "e5_fwd_bwd": lambda **kw: kernels.elman_case("e5", 8, 64, 128, **kw),
    "xgated_fwd_bwd": lambda **kw: kernels.elman_case("xgated", 8, 64, 128, **kw),
    "ssd": lambda **kw: kernels.ssd_case(2, 256, 4, 32, 32, **kw),
}


class BaselineError(ValueError):
    """The baseline file is missing, unreadable or lacks a case: names the file and what is wrong."""


@dataclass
class Verdict:
    case: str
    ratio: str                  # "reference", "bound" or "deviation"
    baseline: float | None
    measured: list[float]       # one per measurement (two when the first fell below the floor)
    floor: float | None
    passed: bool
    detail: str = ""

    def line(self) -> str:
        status = "ok" if self.passed else "FAIL"
        if self.ratio == "deviation":
            return f"  {status:4s} {self.case:24s} deviation from the reference: {self.detail}"
        got = " then ".join(f"{m:.3f}" for m in self.measured)
        return (f"  {status:4s} {self.case:24s} t_{self.ratio} / t_fast = {got:18s} baseline {self.baseline:.3f}, "
                f"floor {self.floor:.3f}{'  ' + self.detail if self.detail else ''}")


def judge(case: str, ratio: str, baseline: float, measurements: list[float], margin: float = MARGIN) -> Verdict:
    """Pass if any measurement reaches (1 − margin) × baseline (the second exists only when the
    first fell short); a ratio far above its baseline passes with a hint to refresh it."""
    floor = (1 - margin) * baseline
    passed = any(m >= floor for m in measurements)
    detail = ""
    if passed and measurements[-1] > baseline / (1 - margin):
        detail = "(well above the baseline: refresh it if the kernel got faster on purpose)"
    return Verdict(case, ratio, baseline, measurements, floor, passed, detail)


@contextmanager
def one_thread():
    """One torch thread while timing: ratios then do not depend on what else shares the CPU's cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _tensors(result) -> list[torch.Tensor]:
    if torch.is_tensor(result):
        return [result]
    return [t for item in result for t in _tensors(item)] if isinstance(result, (tuple, list)) else []


def deviation(name: str) -> Verdict:
    """The fast path against its reference in float64 on the same inputs: every output/gradient."""
    case = GATE_CASES[name](dtype=torch.float64)
    fast, ref = _tensors(case.contenders["fast"]()), _tensors(case.contenders["reference"]())
    bound = KERNEL_TOLERANCES[torch.float64]["backward"]
    errors = [relative_rms_error(f, r) for f, r in zip(fast, ref, strict=True)]
    worst = max(errors)
    return Verdict(name, "deviation", None, [worst], None, worst <= bound,
                   f"max relative RMS error {worst:.2e} over {len(errors)} tensor(s) (bound {bound:.0e})")


def measure_ratios(name: str, rounds: int = ROUNDS) -> dict[str, float]:
    with one_thread():
        measurement = kernels.measure(GATE_CASES[name](), rounds=rounds)
    return {r: v for r, v in measurement.ratios().items() if r in GATED}


def load_baseline(path: Path = BASELINE) -> dict:
    if not path.exists():
        raise BaselineError(f"{path}: no kernel baseline; create it with `python -m benchmarks.gate --refresh`")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise BaselineError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}") from None
    if data.get("schema") != SCHEMA or not isinstance(data.get("ratios"), dict):
        raise BaselineError(f"{path}: expected schema {SCHEMA!r} with a 'ratios' table, got schema "
                            f"{data.get('schema')!r}")
    return data


def run_gate(cases: list[str] | None = None, path: Path = BASELINE, rounds: int = ROUNDS) -> list[Verdict]:
    """Every verdict of the gate for `cases` (default: all): deviation, then each gated ratio."""
    baseline = load_baseline(path)
    verdicts = []
    for name in cases or list(GATE_CASES):
        if name not in GATE_CASES:
            raise BaselineError(f"unknown gate case {name!r}; known: {', '.join(GATE_CASES)}")
        if name not in baseline["ratios"]:
            raise BaselineError(f"{path}: no baseline for gate case {name!r}; refresh it with "
                                f"`python -m benchmarks.gate --refresh`")
        verdicts.append(deviation(name))
        stored = baseline["ratios"][name]
        first = measure_ratios(name, rounds)
        for ratio in stored:
            if ratio not in first:
                raise BaselineError(f"{path}: case {name!r} has a baseline for ratio {ratio!r}, which the case "
                                    f"no longer measures ({', '.join(first)})")
        second = measure_ratios(name, rounds) if any(first[r] < (1 - MARGIN) * stored[r] for r in stored) else {}
        for ratio, value in stored.items():
            verdicts.append(judge(name, ratio, value, [first[ratio]] + ([second[ratio]] if second else [])))
    return verdicts


def summary(verdicts: list[Verdict], path: Path = BASELINE) -> str:
    data = load_baseline(path)
    head = (f"kernel gate: {sum(not v.passed for v in verdicts)} failure(s) of {len(verdicts)}; margin "
            f"{MARGIN:.0%} below the baseline of {data['measured'].get('date', '?')} "
            f"({data['measured'].get('machine', '?')}), one torch thread, median of {ROUNDS} interleaved rounds")
    return "\n".join([head] + [v.line() for v in verdicts])


def _commit() -> str:
    """HEAD, marked "(dirty)" when impl/ or benchmarks/ differ from it: what the baseline measured."""
    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=Path(__file__).parent,
                              check=True).stdout.strip()
    try:
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "../impl", "../benchmarks")
        return git("rev-parse", "--short", "HEAD") + (" (dirty)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def refresh(path: Path = BASELINE, runs: int = 3) -> dict:
    """Measure every gate case `runs` times; store the median of each gated ratio."""
    ratios = {}
    for name in GATE_CASES:
        verdict = deviation(name)
        if not verdict.passed:
            raise SystemExit(f"refusing to store a baseline: {verdict.line().strip()}")
        runs_of = [measure_ratios(name) for _ in range(runs)]
        ratios[name] = {r: round(statistics.median(m[r] for m in runs_of), 4) for r in runs_of[0]}
        print(f"{name}: " + ", ".join(f"{r} {v:.3f} (runs: {', '.join(f'{m[r]:.3f}' for m in runs_of)})"
                                      for r, v in ratios[name].items()), flush=True)
    data = {"schema": SCHEMA,
            "measured": {"date": datetime.date.today().isoformat(), "commit": _commit(),
                         "torch": torch.__version__, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                         "runs": runs, "rounds": ROUNDS, "threads": 1},
            "ratios": ratios}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--refresh", action="store_true", help="measure and store a new baseline")
    parser.add_argument("--runs", type=int, default=3, help="measurements per case for --refresh")
    parser.add_argument("--case", action="append", help="only this gate case (repeatable)")
    args = parser.parse_args(argv)
    if args.refresh:
        refresh(runs=args.runs)
        print(f"baseline written to {BASELINE}")
        return 0
    try:
        verdicts = run_gate(args.case)
    except BaselineError as e:
        print(f"kernel gate: {e}", file=sys.stderr)
        return 2
    print(summary(verdicts))
    return 0 if all(v.passed for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
