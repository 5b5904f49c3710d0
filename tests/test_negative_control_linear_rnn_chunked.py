"""Negative controls for the kernel check of the dense linear RNN's chunked fast path (issue 14): a
planted off-by-one power in the block-Toeplitz matrix (A^{k-j+1} B instead of A^{k-j} B) or a dropped
state entering each chunk (h_start = 0, so h0 and everything before the chunk are lost) must make
the comparison with the float64 step loop fail; the intact kernel passes the same comparison.

The bug is planted by monkeypatching `impl.linear_rnn.chunked`'s helpers (looked up at call time);
the comparison is the kernel test's shared one (`impl.linear_rnn.kernel_check`), called directly on
fixed multi-chunk inputs (no test module is imported: issue 15).
"""

from __future__ import annotations

import pytest
import torch

from impl.linear_rnn import chunked as chunked_module
from impl.linear_rnn.kernel_check import check_against_reference

# 37 steps in chunks of 4: 9 whole chunks and a padded one; m < n and m ≥ n (the two layouts of K)
CASES = {"m<n": dict(batch=2, T=37, n=4, m=2, with_h0=True, seed=11),
         "m>=n": dict(batch=2, T=37, n=3, m=5, with_h0=True, seed=12)}
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["fp64", "fp32"])
LAYOUTS = pytest.mark.parametrize("layout", list(CASES))


def run_check(dtype, layout):
    fast = lambda A, B, x, h0: chunked_module.linear_rnn_chunked(A, B, x, h0, chunk=4)  # noqa: E731
    check_against_reference("chunked", fast, dtype, **CASES[layout])


@DTYPES
@LAYOUTS
def test_intact_chunked_kernel_passes(dtype, layout):
    run_check(dtype, layout)


@DTYPES
@LAYOUTS
def test_block_toeplitz_with_powers_off_by_one_fails(monkeypatch, dtype, layout):
    real = chunked_module.block_toeplitz

    def off_by_one(blocks):                  # block [k, j] = G_{k-j+1} (the last lag repeated): A^{k-j+1} B
        return real(torch.cat([blocks[1:], blocks[-1:]]))
    monkeypatch.setattr(chunked_module, "block_toeplitz", off_by_one)
    with pytest.raises(AssertionError, match="chunked states: relative RMS error"):
        run_check(dtype, layout)


@DTYPES
@LAYOUTS
def test_dropped_state_entering_each_chunk_fails(monkeypatch, dtype, layout):
    real = chunked_module.chunk_starts
    monkeypatch.setattr(chunked_module, "chunk_starts",
                        lambda ends, carry, h0: torch.zeros_like(real(ends, carry, h0)))
    with pytest.raises(AssertionError, match="chunked states: relative RMS error"):
        run_check(dtype, layout)

