"""Linear RNN h_t = A h_{t-1} + B x_t (dense A, B), with an optional low-rank A = U V.

- `naive.linear_rnn_reference`: the step-by-step loop (the reference).
- `scan.linear_rnn_scan`: the parallel scan over the affine monoid (the fast path).
- `LinearRNN`: the module researchers use; `path="scan"` or `"reference"`.
"""

from .model import LinearRNN, krylov_matrix
from .naive import linear_rnn_reference
from .scan import linear_rnn_scan

__all__ = ["LinearRNN", "krylov_matrix", "linear_rnn_reference", "linear_rnn_scan"]
