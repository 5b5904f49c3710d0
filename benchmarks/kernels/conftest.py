"""After a kernel benchmark run: print every case's table (time, tokens/s, ratios against the
reference, peers and bound) and write them to reports/kernel_benchmarks_<device>.md."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

REPORTS = Path(__file__).resolve().parents[2] / "reports"


def _machine() -> tuple[str, str]:
    import torch
    if torch.cuda.is_available():
        return "cuda", f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return "cpu", (f"{platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, "
                   f"torch {torch.__version__}")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    throughput = sys.modules.get(f"{__package__}.test_kernel_throughput")   # only if this run imported it
    if throughput is None or not throughput.RESULTS:
        return
    device, machine = _machine()
    terminalreporter.section("kernel benchmarks: time, tokens/s, and how many times faster the fast path is")
    for table in throughput.RESULTS:
        terminalreporter.write_line(table)
    commit = subprocess.run(["git", "-C", str(REPORTS.parent), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    scale = os.environ.get("KERNEL_BENCH_SCALE", "issue")
    text = (f"# Kernel benchmarks ({device})\n\n"
            f"{datetime.date.today().isoformat()}, commit {commit}, {machine}, sizes: {scale}.\n"
            f"Written by `pytest benchmarks/kernels/test_kernel_throughput.py -m kernel_bench -p no:xdist`; medians of "
            f"interleaved rounds; \"fast is k× faster\" = t_contender / t_fast, measured in the same run.\n\n"
            + "\n\n".join(f"```\n{table}\n```" for table in throughput.RESULTS) + "\n")
    if config.getoption("keyword", "") or config.getoption("deselect", None):
        terminalreporter.write_line("(a -k/--deselect selection: reports/kernel_benchmarks_*.md left as it was)")
        return
    REPORTS.mkdir(exist_ok=True)
    path = REPORTS / f"kernel_benchmarks_{device}{'' if scale == 'issue' else '_' + scale}.md"
    path.write_text(text)
    terminalreporter.write_line(f"written to {path}")

