"""Shape contract of the SSD core, shared by the reference and the chunked path."""

from __future__ import annotations

import torch


def _shape_error(name: str, tensor: torch.Tensor, expected: str) -> ValueError:
    return ValueError(f"ssd: {name} must have shape {expected}, got {tuple(tensor.shape)}")


def check_ssd_inputs(x, dt, A, B, C, D=None, h0=None) -> tuple[int, int, int, int, int]:
    """Validate the shapes of the SSM core's arguments; returns (batch, T, heads, headdim, d_state)."""
    if x.dim() != 4:
        raise _shape_error("x", x, "(batch, T, heads, headdim)")
    b, T, H, P = x.shape
    if B.dim() != 4 or B.shape[:3] != (b, T, H):
        raise _shape_error("B", B, f"({b}, {T}, {H}, d_state)")
    N = B.shape[-1]
    if dt.shape != (b, T, H):
        raise _shape_error("dt", dt, f"({b}, {T}, {H})")
    if A.shape != (H,):
        raise _shape_error("A", A, f"({H},)")
    if C.shape != (b, T, H, N):
        raise _shape_error("C", C, f"({b}, {T}, {H}, {N})")
    if D is not None and D.shape != (H,):
        raise _shape_error("D", D, f"({H},)")
    if h0 is not None and h0.shape != (b, H, P, N):
        raise _shape_error("h0", h0, f"({b}, {H}, {P}, {N})")
    return b, T, H, P, N
