"""Kernel benchmarks (kind B): throughput of every fast path, with ratios against its reference,
its peers and the hardware's bound, measured in the same run.

    pytest benchmarks/kernels/test_kernel_throughput.py -m kernel_bench -p no:xdist

(left out of the plain `pytest` and of `claims check`: timings need a quiet machine). Each test
times the fast path with pytest-benchmark (its table and `--benchmark-json` hold the statistics)
and then all contenders interleaved (`cases.measure`), prints one table per case — time,
tokens/s, and how many times faster the fast path is than each contender — and stores the
ratios in the benchmark's `extra_info`. The tables are printed at the end of the run and written
to `reports/kernel_benchmarks_<device>.md`. The issue's targets are printed beside the figures;
nothing here asserts a speed.

Sizes: the issue's (diagonal scan 8 × 4096 × 256 fp32; Elman 32 × 256 × 512) by default;
`KERNEL_BENCH_SCALE=small` for a quick look. On CUDA the Triton scan and the device copy are
added, and the layer table (E1, E5, X-gated Elman, Mamba2/SSD) runs at GPU sizes. The LM training table
times one optimiser step of the experiments' small byte LMs (their tokens/s are the experiments').
"""

from __future__ import annotations

import os

import pytest
import torch

from . import cases

RESULTS: list[str] = []          # one table per case, printed and written by conftest.py at the end
pytestmark = pytest.mark.kernel_bench

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
SMALL = os.environ.get("KERNEL_BENCH_SCALE", "issue") == "small"
ROUNDS = 3 if SMALL else 7

# (builder, kwargs, printed target) — the targets of issue 7, on this CPU
SCAN = dict(batch=8, T=1024 if SMALL else 4096, N=256)
ELMAN = dict(batch=32, T=64 if SMALL else 256, d=512)
SCAN_TARGET = ("target (issue 14): ≥ 10× faster than the fastest peer; within 1.5× of the compiled loop "
               "(t_compiled_loop / t_fast ≥ 0.67)")
SKELETON_TARGET = "target (issue 14): within 1.3× of the matmul skeleton (t_bound / t_fast ≥ 0.77), or why not"
CASES = {
    "diagonal_scan": (cases.diagonal_scan_case, SCAN, SCAN_TARGET),
    "diagonal_scan_fwd_bwd": (cases.diagonal_scan_case, dict(SCAN, backward=True), SCAN_TARGET),
    "elman_fwd_bwd": (cases.elman_case, dict(ELMAN, kind="stock"),
                      "target: within 1.5× of the matmul skeleton (t_bound / t_fast ≥ 0.67)"),
    "elman_fwd": (cases.elman_case, dict(ELMAN, kind="stock", backward=False), None),
    "residual_elman_fwd_bwd": (cases.elman_case, dict(ELMAN, kind="residual"), None),
    "e1_fwd_bwd": (cases.elman_case, dict(ELMAN, kind="e1"), SKELETON_TARGET),
    "e5_fwd_bwd": (cases.elman_case, dict(ELMAN, kind="e5"), SKELETON_TARGET),
    "xgated_fwd_bwd": (cases.elman_case, dict(ELMAN, kind="xgated"), SKELETON_TARGET),
    "linear_rnn": (cases.linear_rnn_case, dict(batch=8, T=256, n=32, m=8), None),
    "linear_rnn_fwd_bwd": (cases.linear_rnn_case, dict(batch=8, T=256, n=32, m=8, backward=True), None),
    "ssd": (cases.ssd_case, dict(batch=8, T=256 if SMALL else 1024, heads=8, headdim=64, d_state=64), None),
    "ssd_fwd_bwd": (cases.ssd_case, dict(batch=8, T=256 if SMALL else 1024, heads=8, headdim=64, d_state=64,
                                           backward=True), None),
}
LAYER_SIZES = (dict(batch=16, T=512, dim=1024) if DEVICE.type == "cuda"
               else dict(batch=4, T=64 if SMALL else 256, dim=256))


def report(measurement: cases.Measurement, benchmark, target: str | None) -> None:
    table = measurement.table()
    peers = {name: r for name, r in measurement.ratios().items() if name.startswith("peer")}
    lines = [table]
    if peers:
        fastest = min(peers, key=peers.get)
        lines.append(f"  fastest peer: {fastest}, fast path {peers[fastest]:.2f}× faster")
    for bound in ("bound", "copy of the inputs", "compiled loop (bound)", "compiled loops (bound)"):
        if bound in measurement.seconds:
            lines.append(f"  t_{bound.replace(' (bound)', '').replace(' ', '_')} / t_fast = {measurement.ratio(bound):.2f}")
    seconds = measurement.seconds
    if "triton" in seconds and "copy" in seconds and measurement.case.bytes_moved:
        scan_bytes = measurement.case.bytes_moved                       # read a, v; write x
        copy_bytes = scan_bytes * 2 / 3                                  # read v; write its copy
        scan_bw = scan_bytes / measurement.median("triton")
        copy_bw = copy_bytes / measurement.median("copy")
        lines.append(f"  Triton scan {scan_bw / 1e9:.0f} GB/s = {scan_bw / copy_bw:.0%} of the device copy "
                     f"bandwidth {copy_bw / 1e9:.0f} GB/s (target ≥ 60%)")
        benchmark.extra_info["triton_fraction_of_copy_bandwidth"] = scan_bw / copy_bw
    if target:
        lines.append(f"  {target}")
    RESULTS.append("\n".join(lines))
    benchmark.extra_info.update({"case": measurement.case.name, "device": str(DEVICE),
                                 "tokens_per_s": measurement.tokens_per_s("fast"),
                                 "ratios": measurement.ratios(), "notes": measurement.case.notes})


@pytest.mark.parametrize("name", list(CASES))
def test_kernel_throughput(name, benchmark):
    build, kwargs, target = CASES[name]
    case = build(**kwargs, device=DEVICE)
    benchmark.group = name
    benchmark.pedantic(case.contenders["fast"], rounds=ROUNDS, warmup_rounds=1)
    report(cases.measure(case, rounds=ROUNDS, device=DEVICE), benchmark, target)


@pytest.mark.parametrize("kind", cases.LM_KINDS)
def test_lm_training_throughput(kind, benchmark):
    """tokens/s of a training step (forward, backward, AdamW) of the byte LM at the experiments'
    small scale, every layer on its default path against the same model on the step loop."""
    case = cases.lm_training_case(kind)
    benchmark.group = "lm training"
    benchmark.pedantic(case.contenders["fast"], rounds=ROUNDS, warmup_rounds=1)
    report(cases.measure(case, rounds=ROUNDS), benchmark, None)


@pytest.mark.parametrize("kind", cases.LAYER_KINDS)
def test_layer_throughput(kind, benchmark):
    """tokens/s of one layer of each family, forward+backward, fast path vs its step loop."""
    case = cases.layer_case(kind, **LAYER_SIZES, device=DEVICE, reference=DEVICE.type == "cpu")
    benchmark.group = "layers"
    benchmark.pedantic(case.contenders["fast"], rounds=ROUNDS, warmup_rounds=1)
    report(cases.measure(case, rounds=ROUNDS, device=DEVICE), benchmark, None)
