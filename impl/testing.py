"""Shared hypothesis strategies and tolerance tables for checks of `impl/`.

Like `numpy.testing`, this module is for tests only: it imports hypothesis,
which the models themselves never need. Strategies say what they draw.
Exact rationals (small numerators over a power of two) are drawn so that a
check can compare float64 results with an exact computation in Fractions or
python-flint: the inputs are exactly representable in every float dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import pytest
import torch
from hypothesis import strategies as st

# Tolerances per dtype, in one place (REFERENCE.md §5 lists what peer projects use).
TOLERANCES = {
    torch.float64: dict(rtol=1e-9, atol=1e-11),
    torch.float32: dict(rtol=6e-4, atol=2e-3),
    torch.bfloat16: dict(rtol=1.6e-2, atol=1e-1),
}


# Fast path vs reference (kernel tests): relative RMS error ‖fast − ref‖ / ‖ref‖, the measure
# flash-linear-attention uses. The reference runs in float64 on the same (dtype-rounded) inputs;
# gradients get a looser bound because they accumulate over the whole sequence.
KERNEL_TOLERANCES = {
    torch.float64: {"forward": 1e-10, "backward": 1e-9},
    torch.float32: {"forward": 1e-5, "backward": 5e-5},
    torch.bfloat16: {"forward": 2e-2, "backward": 5e-2},
}


def relative_rms_error(got: torch.Tensor, want: torch.Tensor) -> float:
    """‖got − want‖ / ‖want‖ in float64 (complex tensors allowed); 0 when both are zero."""
    got, want = got.detach().to(torch.complex128 if got.is_complex() else torch.float64), \
        want.detach().to(torch.complex128 if want.is_complex() else torch.float64)
    if got.shape != want.shape:
        raise ValueError(f"relative_rms_error: shapes differ, {tuple(got.shape)} vs {tuple(want.shape)}")
    scale = torch.linalg.vector_norm(want)
    diff = torch.linalg.vector_norm(got - want)
    return float(diff / scale) if scale > 0 else float(diff)


def error_scale(want: torch.Tensor, magnitude: torch.Tensor | None = None) -> float:
    """The scale a rounding error is measured against: ‖want‖, or ‖magnitude‖ when that is larger.

    `magnitude` is the same reference computation run on the absolute values of every input (and of
    the loss's weights): for sums of products — a linear recurrence, its gradients — each entry is
    then Σ|terms|, the scale of the standard bound |fl(Σ a_k) − Σ a_k| ≤ γ_n Σ|a_k| (Higham, Accuracy
    and Stability of Numerical Algorithms, §4.2). Where the terms cancel (a scalar gradient summed
    over a whole sequence with random signs or rotating phases), ‖want‖ alone would call honest
    round-off a failure."""
    scale = torch.linalg.vector_norm(want.detach().to(torch.complex128 if want.is_complex() else torch.float64))
    if magnitude is not None:
        if magnitude.shape != want.shape:
            raise ValueError(f"error_scale: magnitude shape {tuple(magnitude.shape)} != {tuple(want.shape)}")
        scale = torch.maximum(scale, torch.linalg.vector_norm(magnitude.detach().abs().double()))
    return float(scale)


def assert_kernel_close(got: torch.Tensor, want: torch.Tensor, dtype: torch.dtype, direction: str,
                        what: str, magnitude: torch.Tensor | None = None) -> float:
    """Assert the fast path matches the reference within KERNEL_TOLERANCES, relative to ‖want‖ or, with
    `magnitude` (see error_scale), to the magnitude of the terms summed; returns the error."""
    diff = relative_rms_error(got, want) * error_scale(want)          # ‖got − want‖
    scale = error_scale(want, magnitude)
    err = diff / scale if scale > 0 else diff
    bound = KERNEL_TOLERANCES[dtype][direction]
    against = "‖want‖" if magnitude is None or scale == error_scale(want) else "the magnitude of the summed terms"
    assert err <= bound, (f"{what}: relative RMS error {err:.3g} > {bound:g} ({dtype}, {direction}; "
                          f"relative to {against}); shape {tuple(want.shape)}")
    return err


def dyadic_rationals(max_numerator: int = 4, denominator: int = 4) -> st.SearchStrategy[Fraction]:
    """k / denominator for |k| <= max_numerator: exact in binary floating point."""
    return st.integers(-max_numerator, max_numerator).map(lambda k: Fraction(k, denominator))


def rational_matrices(rows: int, cols: int, **kw) -> st.SearchStrategy[list[list[Fraction]]]:
    return st.lists(st.lists(dyadic_rationals(**kw), min_size=cols, max_size=cols),
                    min_size=rows, max_size=rows)


def to_tensor(rows: list[list[Fraction]], dtype=torch.float64, *, cols: int = 0) -> torch.Tensor:
    """A (rows, cols) tensor; `cols` gives the width of an empty list of rows (e.g. T = 0 inputs)."""
    if not rows:
        return torch.zeros(0, cols, dtype=dtype)
    return torch.tensor([[float(v) for v in row] for row in rows], dtype=dtype)


@dataclass
class LinearSystem:
    """A linear RNN h_t = A h_{t-1} + B x_t drawn in exact rationals, with an input sequence."""
    A: list[list[Fraction]]      # (n, n)
    B: list[list[Fraction]]      # (n, m)
    x: list[list[Fraction]]      # (T, m), one sequence
    invariant_dim: int | None    # if set, B lies in an A-invariant subspace of this dimension

    @property
    def n(self) -> int:
        return len(self.A)

    @property
    def m(self) -> int:
        return len(self.B[0])

    @property
    def T(self) -> int:
        return len(self.x)


@st.composite
def linear_systems(draw, max_state: int = 6, max_input: int = 3, max_steps: int = 9,
                   min_steps: int = 1) -> LinearSystem:
    """A random small linear system. A third of the draws are built rank-deficient on purpose:
    A block upper-triangular with B confined to the first block, so the reachable subspace is a
    proper subspace of dimension <= k < n (the interesting case for capacity claims)."""
    n = draw(st.integers(1, max_state))
    m = draw(st.integers(1, max_input))
    T = draw(st.integers(min_steps, max_steps))
    A = draw(rational_matrices(n, n))
    B = draw(rational_matrices(n, m))
    invariant_dim = None
    if n >= 2 and draw(st.booleans()) and draw(st.booleans()):
        k = draw(st.integers(1, n - 1))
        for i in range(k, n):
            for j in range(k):
                A[i][j] = Fraction(0)           # A maps span(e_1..e_k) into itself
            for j in range(m):
                B[i][j] = Fraction(0)           # inputs enter only through span(e_1..e_k)
        invariant_dim = k
    x = draw(rational_matrices(T, m))
    return LinearSystem(A, B, x, invariant_dim)


@pytest.fixture(autouse=True, scope="module")
def one_linear_algebra_thread():
    """Run a check module's LAPACK calls on one thread. Import it into a check module to use it
    (`from impl.testing import one_linear_algebra_thread  # noqa: F401`; autouse there).

    The matrices of the checks are small to mid-sized: one thread is about as fast on a quiet
    machine, while two OpenMP threads on a busy 2-core machine spin-wait: an SVD of a 1536 × 512
    matrix took 8 s instead of 0.08 s, svdvals of 384 × 384 0.35–0.7 s instead of 0.02 s."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
