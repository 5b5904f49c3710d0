"""Negative controls for the kernel tests of the fast paths rewritten in issue 7: each planted bug
in the chunked diagonal scan (forward pass 3, the reverse scan of its backward), in the numba-compiled
loop of the diagonal scan (forward, adjoint, h0 gradient; issue 14) or in the Elman
loop's closed-form weight gradients makes the kernel test's comparison with the float64 reference
fail, and the FlashAttention fallback of the Elman test does not excuse it.

The checks run by node id in an inner pytest session in this process (tests/planted.py; no claim is
linked to a kernel test), on their own drawn inputs under the quick hypothesis profile (multi-chunk
lengths among them); the planted bug is patched into impl's module, where the fast path looks it up.
"""

from __future__ import annotations

import inspect
import textwrap

import pytest
import torch

from impl.diagonal_rnn import compiled as compiled_scan_module
from impl.diagonal_rnn import chunked as diagonal_scan_module
from impl.elman import fused as elman_fast_module

from .planted import run_check

numba = compiled_scan_module.numba          # None without numba: the compiled loop's controls then skip

SCAN_CHECKS = "property_tests/kernels/test_diagonal_rnn.py::"


def run_scan_check(dtype=torch.float64, any_chunk=False):
    """The time-varying scan check at the default chunk length, or with drawn chunk lengths."""
    check = "scan_with_any_chunk_length" if any_chunk else "time_varying_scan"
    run_check(f"{SCAN_CHECKS}test_{check}_matches_reference[{dtype}]")


def test_intact_scan_passes():
    run_scan_check()
    run_scan_check(torch.complex64, any_chunk=True)


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


def run_elman_check(kind, dtype_name):
    run_check(f"property_tests/kernels/test_elman.py::test_fast_path_matches_reference[{kind}-{dtype_name}]")


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


# ----------------------------------------------------------------------------------------------------
# Issue 14 (SSD as batched matmuls): a planted bug in the decay segments of impl/ssm/chunked.py (every
# decay shifted by one step: a_j … a_{i−1} instead of a_{j+1} … a_i) must make the SSD kernel test fail.

from impl.ssm import chunked as ssd_chunked_module  # noqa: E402

SSD_DTYPE_IDS = {torch.float64: "fp64", torch.float32: "fp32"}


def run_ssd_check(dtype):
    run_check(f"property_tests/kernels/test_ssm.py::test_chunked_core_matches_reference[{SSD_DTYPE_IDS[dtype]}]")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["fp64", "fp32"])
def test_intact_ssd_passes(dtype):
    run_ssd_check(dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["fp64", "fp32"])
def test_ssd_with_decay_segments_shifted_by_one_step_fails(monkeypatch, dtype):
    real = ssd_chunked_module.decay_segments

    def shifted(log_decay):                       # the step decays padded at the end instead of the start
        return real(torch.nn.functional.pad(log_decay, (0, 1))[..., 1:])
    monkeypatch.setattr(ssd_chunked_module, "decay_segments", shifted)
    with pytest.raises(AssertionError, match=r"outputs y .*relative RMS error"):
        run_ssd_check(dtype)
# ---------------------------------------------------------------------- end of issue 14 SSD controls


# ---- the numba-compiled loop (impl/diagonal_rnn/compiled.py, issue 14): each planted bug is a
# one-token mutation of the real kernel's source, compiled in place of it.

def mutated_kernel(kernel, old: str, new: str):
    """`kernel` (a numba dispatcher) recompiled from its own source with `old` replaced by `new`."""
    source = textwrap.dedent(inspect.getsource(kernel.py_func))
    assert source.count(old) == 1, f"the planted mutation must hit exactly one place: {old!r}"
    body = "\n".join(line for line in source.replace(old, new).splitlines() if not line.startswith("@"))
    namespace = dict(vars(compiled_scan_module))
    exec(compile(body, f"<mutated {kernel.py_func.__name__}>", "exec"), namespace)
    return numba.njit(parallel=True)(namespace[kernel.py_func.__name__])


def run_compiled_check(dtype=torch.float64):
    run_check(f"{SCAN_CHECKS}test_time_varying_compiled_matches_reference[{dtype}]")


needs_numba = pytest.mark.skipif(not compiled_scan_module.NUMBA_AVAILABLE, reason="numba is not installed")


@needs_numba
def test_intact_compiled_scan_passes():
    run_compiled_check()
    run_compiled_check(torch.complex64)


@needs_numba
def test_compiled_forward_reading_the_previous_steps_input_fails(monkeypatch):
    planted = mutated_kernel(compiled_scan_module._forward_kernel, "v_t = v[b, t, lo:hi]", "v_t = v[b, t - 1, lo:hi]")
    monkeypatch.setattr(compiled_scan_module, "_forward_kernel", planted)
    with pytest.raises(AssertionError, match="compiled states: relative RMS error"):
        run_compiled_check()


@needs_numba
def test_compiled_backward_carrying_with_this_steps_coefficient_fails(monkeypatch):
    # δ_t = g_t + conj(a_t) δ_{t+1} instead of conj(a_{t+1}): the adjoint shifted by one step
    planted = mutated_kernel(compiled_scan_module._backward_kernel, "a[ab, t + 1 if a_per_step else 0, lo:hi]",
                             "a[ab, t if a_per_step else 0, lo:hi]")
    monkeypatch.setattr(compiled_scan_module, "_backward_kernel", planted)
    with pytest.raises(AssertionError, match=r"compiled gradient w.r.t. [av]: relative RMS error"):
        run_compiled_check()


@needs_numba
def test_compiled_h0_gradient_without_the_first_coefficient_fails(monkeypatch):
    planted = mutated_kernel(compiled_scan_module._backward_kernel,
                             "grad_h0_b[n] = np.conj(a_first[n]) * delta_first[n]", "grad_h0_b[n] = delta_first[n]")
    monkeypatch.setattr(compiled_scan_module, "_backward_kernel", planted)
    with pytest.raises(AssertionError, match=r"compiled gradient w.r.t. h0: relative RMS error"):
        run_compiled_check()
