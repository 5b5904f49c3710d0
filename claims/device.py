"""Where cells run: `CLAIMS_DEVICE=auto|cpu|cuda|cuda:N` (auto: CUDA when torch sees a device).

On CUDA, training runs in the documents' precision (bf16 autocast, fp32 master weights) with the
layers' fast kernels; on the CPU in float32 without autocast, bit-for-bit reproducible.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


class DeviceError(ValueError):
    """A CLAIMS_DEVICE this machine cannot honour (reported as a one-line usage error)."""


@dataclass(frozen=True)
class Placement:
    device: str            # "cpu", "cuda:0", ...
    autocast: str | None   # "bfloat16" on CUDA, None on the CPU

    @property
    def kind(self) -> str:
        return "cuda" if self.device.startswith("cuda") else "cpu"

    def torch_device(self):
        import torch
        return torch.device(self.device)

    def autocast_context(self):
        """torch.autocast for the forward pass (a no-op context on the CPU)."""
        import contextlib
        import torch
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=getattr(torch, self.autocast))

    def name(self) -> str:
        """The device in words, for records: 'cpu (x86_64, 2 cores)' or the GPU's name."""
        if self.kind == "cpu":
            import platform
            return f"cpu ({platform.machine()}, {os.cpu_count()} cores)"
        import torch
        return torch.cuda.get_device_name(self.torch_device())


def resolve(value: str | None = None, here: bool = True) -> Placement:
    """The placement CLAIMS_DEVICE asks for; a DeviceError names the setting and what was found.
    `here=False` (a Ray driver whose cells run on the cluster's nodes): check the form only."""
    if value is None:
        value = os.environ.get("CLAIMS_DEVICE", "auto") or "auto"
    value = value.strip()
    if value == "cpu":
        return Placement("cpu", None)
    if value != "auto" and not re.fullmatch(r"cuda(:\d+)?", value):
        raise DeviceError(f"CLAIMS_DEVICE={value!r}: expected auto, cpu, cuda or cuda:N")
    if not here and value != "auto":
        return Placement("cuda:0" if value == "cuda" else value, "bfloat16")
    import torch
    available = torch.cuda.is_available()
    if value == "auto":
        return Placement("cuda:0", "bfloat16") if available else Placement("cpu", None)
    if not available:
        raise DeviceError(f"CLAIMS_DEVICE={value!r}: torch {torch.__version__} sees no CUDA device on this machine "
                          "(use auto or cpu)")
    index = int(value.split(":")[1]) if ":" in value else 0
    if index >= torch.cuda.device_count():
        raise DeviceError(f"CLAIMS_DEVICE={value!r}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                          f"indices 0..{torch.cuda.device_count() - 1}")
    return Placement(f"cuda:{index}", "bfloat16")
