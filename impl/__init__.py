"""The PyTorch implementation the claims are checked against.

A library in its own right: its models and kernels import nothing from `claims/` or the
checks (only `impl/experiments/`, the experiments' library, runs through the harness's cell
protocol). Each recurrence keeps its plain step-by-step reference (`naive.py`) beside its fast
paths, so "correct" is defined one file away from "fast"; shape contracts live in each
package's `contracts.py`.

One naming of paths across models (`path=` of every module):
- "reference": the step loop of `naive.py`;
- "auto" (the default everywhere): the fastest path for the tensors' device;
- the fast paths, named by their algorithm, each in the module of that name:
  "chunked" (a chunk-parallel form: `ssm/chunked.py`, `diagonal_rnn/chunked.py`,
  `linear_rnn/chunked.py`), "compiled" (a numba loop: `diagonal_rnn/compiled.py`), "triton"
  (a Triton kernel: `diagonal_rnn/triton_scan.py`, named so as not to shadow the triton
  package), "fused" (the Elman family's loop as one autograd node: `elman/fused.py`), "scan"
  (the log-depth associative scan over n × n matrices: `linear_rnn/scan.py`).
"""
