"""Read the 2-D floating-point weight matrices of a model file, one at a time.

`.safetensors` files are opened with `safetensors.safe_open` (framework "pt") and each tensor is
read only when it is a 2-D float, so a large file streams. Anything else is read as a torch
checkpoint with `torch.load(map_location="cpu", weights_only=True)`; nested containers (a state
dict inside {"model": …}, lists) are flattened with dotted names ("model.layers.0.weight").
Tensors that are not 2-D or not floating point are skipped; other values are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import torch

# safetensors dtype codes of floating-point tensors (F64, F32, F16, BF16, F8_E4M3, F8_E5M2, ...)
_FLOAT_PREFIXES = ("F", "BF")


class WeightFileError(ValueError):
    """A weight file could not be read; the message names the path."""


def iter_weight_matrices(path) -> Iterator[tuple[str, torch.Tensor]]:
    """Yield (name, tensor) for every 2-D floating tensor of a safetensors file or torch checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        yield from _safetensors_matrices(path)
    else:
        yield from _checkpoint_matrices(path)


def _safetensors_matrices(path: Path) -> Iterator[tuple[str, torch.Tensor]]:
    from safetensors import safe_open

    try:
        handle = safe_open(str(path), framework="pt")
    except Exception as exc:  # safetensors raises its own error types, and OSError
        raise WeightFileError(f"cannot read safetensors file {path}: {exc}") from None
    with handle as f:
        for name in f.keys():
            entry = f.get_slice(name)
            if len(entry.get_shape()) == 2 and entry.get_dtype().startswith(_FLOAT_PREFIXES):
                yield name, f.get_tensor(name)


def _checkpoint_matrices(path: Path) -> Iterator[tuple[str, torch.Tensor]]:
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors all mean "not a readable checkpoint"
        raise WeightFileError(f"cannot read torch checkpoint {path}: {type(exc).__name__}: {exc}") from None
    for name, tensor in _flatten(content, ""):
        if tensor.ndim == 2 and tensor.is_floating_point():
            yield name, tensor


def _flatten(value, prefix: str) -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(value, torch.Tensor):
        yield prefix, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{prefix}.{index}" if prefix else str(index))
