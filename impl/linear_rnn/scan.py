"""The parallel (log-depth) form of the linear RNN: a prefix scan over the affine monoid.

Same contract as `naive.linear_rnn_reference`; the inputs are projected for all
steps at once (one matmul), then `impl.scan.affine_scan` composes the steps in
⌈log2 T⌉ rounds. It is the form the associativity / parallel-training claims are
about, not the fast path: composing affine maps multiplies n × n matrices,
O(T log T · n³) work against the loop's O(T · n²), so on a CPU it is several times
slower than the step loop (issue 14: B8 T256 n32 m8 fp32, ≈ 8×). The fast path is
`chunked.linear_rnn_chunked`.
"""

from __future__ import annotations

import torch

from ..scan import affine_scan
from .contracts import check_linear_rnn_shapes


def linear_rnn_scan(A: torch.Tensor, B: torch.Tensor, x: torch.Tensor,
                    h0: torch.Tensor | None = None) -> torch.Tensor:
    check_linear_rnn_shapes(A, B, x, h0, "linear_rnn_scan")
    batch, T, _ = x.shape
    n = A.shape[0]
    if T == 0:
        return x.new_zeros(batch, 0, n)
    v = x @ B.T                                    # (batch, T, n): all input projections at once
    M = A.expand(T, n, n)                           # the same transition at every step
    return affine_scan(M, v, h0)
