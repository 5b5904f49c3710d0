"""Linear RNN h_t = A h_{t-1} + B x_t (dense A, B), with an optional low-rank A = U V.

- `naive.linear_rnn_reference`: the step-by-step loop (the reference).
- `chunked.linear_rnn_chunked`: the fast path — chunks of L steps, each one matmul with a
  block-Toeplitz matrix of powers of A, chained by T/L small steps.
- `scan.linear_rnn_scan`: the parallel (log-depth) form, a prefix scan over the affine monoid:
  what the associativity claims are about, O(T log T · n³) work, slower than the loop on a CPU.
- `LinearRNN`: the module researchers use; `path="chunked"` (default), `"scan"` or `"reference"`.
"""

from .chunked import linear_rnn_chunked
from .model import LinearRNN, krylov_matrix
from .naive import linear_rnn_reference
from .scan import linear_rnn_scan

__all__ = ["LinearRNN", "krylov_matrix", "linear_rnn_chunked", "linear_rnn_reference", "linear_rnn_scan"]
