"""Negative controls for the kernel tests of the fast paths rewritten in issue 7: each planted bug
in the chunked diagonal scan (forward pass 3, the reverse scan of its backward) or in the Elman
loop's closed-form weight gradients makes the kernel test's comparison with the float64 reference
fail, and the FlashAttention fallback of the Elman test does not excuse it.

The checks are called directly (no claim is linked to a kernel test) on fixed, multi-chunk inputs.
"""

from __future__ import annotations

import pytest
import torch

from impl.diagonal_rnn import scan as diagonal_scan_module
from impl.elman import fast as elman_fast_module
from property_tests.kernels import test_diagonal_rnn as scan_kernel_test
from property_tests.kernels import test_elman as elman_kernel_test

SCAN_SHAPE = {"batch": 2, "T": 100, "N": 5, "with_h0": True, "seed": 3}     # 10 chunks of 10


def run_scan_check(dtype=torch.float64, chunk=None):
    scan = (lambda a, v, h0: diagonal_scan_module.diagonal_scan(a, v, h0, chunk=chunk))
    scan_kernel_test.check_time_varying_scan("scan", scan, dtype, SCAN_SHAPE)


def test_intact_scan_passes():
    run_scan_check()
    run_scan_check(torch.complex64, chunk=7)


def test_scan_that_ignores_the_state_entering_a_chunk_fails(monkeypatch):
    # pass 2 composes the summaries with diagonal_combine: carry nothing from chunk to chunk
    monkeypatch.setattr(diagonal_scan_module, "diagonal_combine", lambda first, second: (second[0], second[1]))
    with pytest.raises(AssertionError, match="scan states: relative RMS error"):
        run_scan_check()


def test_backward_that_drops_the_carry_between_chunks_fails(monkeypatch):
    real = diagonal_scan_module.chunked_scan_backward

    def carry_lost(a, grad, chunk=None):        # each chunk's δ from a zero δ after it: pass 2 skipped
        L = chunk or diagonal_scan_module.default_chunk_length(grad.shape[1])
        pieces = [real(a[:, s:s + L], grad[:, s:s + L], L) for s in range(0, grad.shape[1], L)]
        return torch.cat(pieces, dim=1)
    monkeypatch.setattr(diagonal_scan_module, "chunked_scan_backward", carry_lost)
    with pytest.raises(AssertionError, match=r"scan gradient w.r.t. [av]: relative RMS error"):
        run_scan_check()


ELMAN_CFG = dict(batch=2, T=33, dim=5, state_size=6, expansion=1.5, rank=2, with_h0=True, seed=11)


def run_elman_check(kind, dtype_name):
    elman_kernel_test.test_fast_path_matches_reference.hypothesis.inner_test(kind, dtype_name, ELMAN_CFG)


@pytest.mark.parametrize("dtype_name", ["fp64", "fp32"])
def test_intact_elman_paths_pass(dtype_name):
    for kind in ("stock", "residual", "e5"):
        run_elman_check(kind, dtype_name)


@pytest.mark.parametrize("dtype_name", ["fp64", "fp32"])
def test_transposed_dense_weight_gradient_fails(monkeypatch, dtype_name):
    monkeypatch.setattr(elman_fast_module.DENSE, "weight_gradients", staticmethod(lambda Z, H, W: (H.T @ Z,)))
    with pytest.raises(AssertionError, match="gradient w.r.t. W_h"):
        run_elman_check("stock", dtype_name)


def test_factored_weight_gradient_off_by_a_factor_of_two_fails(monkeypatch):
    monkeypatch.setattr(elman_fast_module.FACTORED, "weight_gradients",
                        staticmethod(lambda Z, H, U, V: (Z.T @ (H @ V.T), 0.5 * ((Z @ U).T @ H))))
    with pytest.raises(AssertionError, match="gradient w.r.t. V_h"):
        run_elman_check("e5", "fp64")
