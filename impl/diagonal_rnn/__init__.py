"""Diagonal linear RNN x_k = λ ⊙ x_{k-1} + B u_k (real or complex λ), the LRU's recurrence.

- `naive.diagonal_rnn_reference`, `naive.diagonal_scan_reference`: the step-by-step loops (the reference).
- `chunked.diagonal_rnn_scan`, `chunked.diagonal_scan`: the chunked scan over the elementwise affine monoid.
- `compiled_scan.diagonal_rnn_compiled`, `compiled_scan.diagonal_scan_compiled`: the time-major loop
  compiled by numba (the CPU fast path; the chunked scan where numba is missing).
- `triton_scan.diagonal_rnn_triton`, `triton_scan.diagonal_scan_triton`: the Triton kernel
  (optional; not imported here, see its docstring on TRITON_INTERPRET).
- `DiagonalLinearRNN`: the module (LRU ring initialisation, γ normalisation, optional readout);
  `lru_ring_init`: the ring initialisation's eigenvalues; `vandermonde_matrix`: V[n, j] = λ_n^j.
- `vandermonde`: κ₂ of the Vandermonde map in ball arithmetic (certified and fast), roots of unity.
- `gains`: the steady-state gain under a constant input, averaged over the phase (mpmath closed form).
"""

from .compiled import compiled_usable, diagonal_rnn_compiled, diagonal_scan_compiled
from .model import (DiagonalLinearRNN, eigenvalues_from_parameters, lru_ring_init, lru_ring_parameters,
                    num_parameters, vandermonde_matrix)
from .naive import diagonal_rnn_reference, diagonal_scan_reference
from .chunked import diagonal_combine, diagonal_rnn_scan, diagonal_scan
from .vandermonde import certified_condition_number, condition_number, mpmath_condition_number, roots_of_unity

__all__ = ["DiagonalLinearRNN", "compiled_usable", "diagonal_rnn_compiled", "diagonal_scan_compiled",
           "diagonal_combine", "diagonal_rnn_reference", "diagonal_rnn_scan",
           "diagonal_scan", "diagonal_scan_reference", "eigenvalues_from_parameters", "lru_ring_init",
           "lru_ring_parameters", "num_parameters", "vandermonde_matrix", "certified_condition_number",
           "condition_number", "mpmath_condition_number", "roots_of_unity"]
