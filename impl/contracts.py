"""Shape contracts shared by every package: one way to say which tensor is wrong, where, and how.

Each package keeps its own contract module (`diagonal_rnn/contracts.py`, `linear_rnn/contracts.py`,
`ssm/contracts.py`) that its reference (`naive.py`) and its fast paths both import, so the plain
reference stays a plain loop and the checks exist once.
"""

from __future__ import annotations

import torch


def require_shape(ok: bool, where: str, name: str, expected: str, tensor: torch.Tensor) -> None:
    """ValueError "{where}: {name} must be {expected}, got shape {shape}" unless `ok`."""
    if not ok:
        raise ValueError(f"{where}: {name} must be {expected}, got shape {tuple(tensor.shape)}")


def result_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """The promoted dtype of `tensors` (complex as soon as one is)."""
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype
