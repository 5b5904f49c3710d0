"""Kernel tests of the dense linear RNN's fast path (`impl.linear_rnn.chunked`) vs the step loop.

As the diagonal RNN's kernel tests: for each dtype (float64, float32, bfloat16) the states, the final
state and the gradients w.r.t. A, B, x and h0 (autograd of a random projection of the states) are
compared with `naive.linear_rnn_reference` run in float64 on the same dtype-rounded inputs, by the
relative RMS error of `impl.testing.KERNEL_TOLERANCES` (the shared comparison is
`impl.linear_rnn.kernel_check.check_against_reference`). hypothesis draws the shapes — T from 0 up,
lengths that are not multiples of the chunk, batch 1, m below and above n (the two layouts of the
block-Toeplitz matrix) — the chunk length (None: the default; 1: the step loop) and the seed.

These tests check the kernel, not a claim: property_tests/test_capacity.py links the recurrence
(its step loop and its log-depth scan) to the capacity claims.
"""

from __future__ import annotations

import pytest
import torch

import impl.linear_rnn.model as linear_model
from hypothesis import example, given
from hypothesis import strategies as st

from impl.linear_rnn import LinearRNN, linear_rnn_chunked, linear_rnn_reference
from impl.linear_rnn.chunked import block_toeplitz, default_chunk_length, transition_powers
from impl.linear_rnn.kernel_check import check_against_reference

DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16], ids=str)
SHAPES = st.fixed_dictionaries({
    "batch": st.integers(1, 3), "T": st.one_of(st.sampled_from([0, 1, 7, 16, 33, 100]), st.integers(0, 130)),
    "n": st.integers(1, 9), "m": st.integers(1, 12), "with_h0": st.booleans(),
    "seed": st.integers(0, 2 ** 31 - 1)})
CHUNKS = st.one_of(st.none(), st.integers(1, 40))


def chunked(chunk):
    return lambda A, B, x, h0: linear_rnn_chunked(A, B, x, h0, chunk=chunk)


@DTYPES
@example(shape={"batch": 1, "T": 1, "n": 3, "m": 2, "with_h0": True, "seed": 5}, chunk=None)
@example(shape={"batch": 1, "T": 0, "n": 3, "m": 2, "with_h0": True, "seed": 5}, chunk=4)
@example(shape={"batch": 2, "T": 37, "n": 4, "m": 2, "with_h0": True, "seed": 1}, chunk=8)   # 4 chunks + 5
@example(shape={"batch": 1, "T": 37, "n": 3, "m": 6, "with_h0": False, "seed": 2}, chunk=8)  # m ≥ n layout
@given(shape=SHAPES, chunk=CHUNKS)
def test_chunked_matches_reference(dtype, shape, chunk):
    check_against_reference(f"chunked (chunk {chunk})", chunked(chunk), dtype, **shape)


@pytest.mark.parametrize("n", [129, 160])
def test_default_step_loop_for_a_large_state_matches_reference(n):
    """Past n = 128 the default chunk length is 1 (the hoisted step loop): checked on its own, since
    hypothesis's n stays small."""
    assert default_chunk_length(50, n, 8) == 1
    check_against_reference("chunked (default, large n)", chunked(None), torch.float64,
                            batch=2, T=19, n=n, m=8, with_h0=True, seed=n)


def test_default_chunk_lengths():
    """The measured choice (impl/linear_rnn/chunked.py): 16 for a small state, L·max(n, 2·min(m, n)) ≤ 512,
    1 past n = 128, never longer than the sequence."""
    assert [default_chunk_length(256, n, 8) for n in (8, 32, 64, 128, 256)] == [16, 16, 8, 4, 1]
    assert default_chunk_length(256, 32, 64) == 8 and default_chunk_length(5, 32, 8) == 5


def test_powers_and_block_toeplitz_structure():
    """transition_powers against torch.linalg.matrix_power; block_toeplitz's block [i, j] is G_{i-j}
    below and on the diagonal, 0 above."""
    gen = torch.Generator().manual_seed(0)
    A = torch.randn(3, 3, dtype=torch.float64, generator=gen) / 2
    for L in (1, 2, 5, 8):
        powers = transition_powers(A, L)
        expected = torch.stack([torch.linalg.matrix_power(A, k) for k in range(L + 1)])
        assert powers.shape == (L + 1, 3, 3) and torch.allclose(powers, expected, rtol=1e-12, atol=1e-14), L
    G = torch.randn(4, 3, 2, dtype=torch.float64, generator=gen)
    K = block_toeplitz(G)
    assert K.shape == (12, 8)
    for i in range(4):
        for j in range(4):
            block = K[3 * i:3 * i + 3, 2 * j:2 * j + 2]
            assert torch.equal(block, G[i - j] if i >= j else torch.zeros(3, 2, dtype=torch.float64)), (i, j)


@pytest.mark.parametrize("rank", [None, 2])
def test_module_chunked_path_matches_reference_path(rank):
    """LinearRNN's default path ("auto", which runs the chunked path) against the same module on
    path="reference" in float64:
    outputs and the gradients w.r.t. every parameter and the inputs."""
    gen = torch.Generator().manual_seed(3)
    fast = LinearRNN(6, 3, 2, rank=rank, dtype=torch.float64, generator=gen)
    assert fast.path == "auto" and linear_model.PATHS["auto"] is linear_model.PATHS["chunked"]
    ref = LinearRNN(6, 3, 2, rank=rank, dtype=torch.float64, path="reference")
    ref.load_state_dict(fast.state_dict())
    x = torch.randn(2, 45, 3, dtype=torch.float64, generator=gen)
    h0 = torch.randn(2, 6, dtype=torch.float64, generator=gen)
    inputs = {name: (x.clone().requires_grad_(), h0.clone().requires_grad_()) for name in ("fast", "ref")}
    out = {"fast": fast(*inputs["fast"]), "ref": ref(*inputs["ref"])}
    assert torch.allclose(out["fast"], out["ref"], rtol=1e-10, atol=1e-12)
    grads = {name: torch.autograd.grad(out[name].sum(), [*module.parameters(), *inputs[name]])
             for name, module in (("fast", fast), ("ref", ref))}
    for got, want in zip(grads["fast"], grads["ref"], strict=True):
        assert torch.allclose(got, want, rtol=1e-9, atol=1e-11)


def test_empty_sequence_and_bad_input():
    """T = 0 gives (batch, 0, n) states; bad shapes and chunk lengths raise ValueErrors naming the
    function and the tensor."""
    A, B = torch.eye(3), torch.ones(3, 2)
    assert linear_rnn_chunked(A, B, torch.zeros(4, 0, 2), torch.ones(4, 3)).shape == (4, 0, 3)
    assert linear_rnn_reference(A, B, torch.zeros(4, 0, 2)).shape == (4, 0, 3)
    with pytest.raises(ValueError, match=r"linear_rnn_chunked: A must be \(n, n\), got shape \(3, 2\)"):
        linear_rnn_chunked(B, B, torch.zeros(1, 4, 2))
    with pytest.raises(ValueError, match=r"linear_rnn_chunked: h0 must be \(1, 3\), got shape \(2, 3\)"):
        linear_rnn_chunked(A, B, torch.zeros(1, 4, 2), torch.zeros(2, 3))
    for chunk in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match=f"linear_rnn_chunked: chunk must be a positive length, got {chunk!r}"):
            linear_rnn_chunked(A, B, torch.zeros(1, 4, 2), chunk=chunk)
