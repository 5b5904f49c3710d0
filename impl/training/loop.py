"""A seeded training loop for byte-level LMs, with measurement hooks.

Deterministic on CPU for a given (model seed, data seed): the model is built from its seed,
the data windows come from an explicit generator, and nothing else draws random numbers.
The optimiser is AdamW (torch's; the original runs used schedule-free AdamW, which torch does
not ship — experiments say so in their evidence). Throughput is measured over the steps after
`warmup` (excluded), forward + backward + optimiser step, wall clock.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from .lm import ByteLM, next_byte_loss
from .stream import ByteStream

Hook = Callable[[ByteLM, int], object]   # (model, step) → a record


@dataclass
class TrainResult:
    losses: list[float]                   # training loss per step (nats/byte)
    held_out_loss: float | None           # mean over the fixed held-out windows, after training
    tokens_per_s: float | None            # steady state (warm-up excluded)
    records: dict[str, list[tuple[int, object]]] = field(default_factory=dict)

    def final_loss(self, last: int = 100) -> float:
        """Mean training loss over the last `last` steps (the registry's 'final loss')."""
        tail = self.losses[-last:]
        return sum(tail) / len(tail)


def held_out_loss(model: ByteLM, windows: list[torch.Tensor], placement=None) -> float:
    """Mean next-byte loss over `windows`, on `placement`'s device and precision (default: CPU fp32)."""
    device = _device_of(model)
    autocast = placement.autocast_context() if placement is not None else contextlib.nullcontext()
    model.eval()
    with torch.no_grad(), autocast:
        value = sum(float(next_byte_loss(model, w.to(device))) for w in windows) / len(windows)
    model.train()
    return value


def train(model: ByteLM, stream: ByteStream, *, steps: int, batch: int, length: int, lr: float,
          data_seed: int = 0, weight_decay: float = 0.0, grad_clip: float | None = 1.0,
          warmup: int = 5, held_out: int = 4, hooks: dict[str, tuple[int, Hook]] | None = None,
          progress: bool | None = None, placement=None) -> TrainResult:
    """Train for `steps` steps on random windows of `length` + 1 bytes; `hooks` maps a name to
    (every, hook): hook(model, step) runs at step 0, every `every` steps and after the last.

    `placement` (claims.device.Placement): the device and autocast precision; the model
    is moved there, the windows are drawn on the CPU (the same data order on every device) and
    moved. None: where the model is, in float32."""
    if steps < 1 or batch < 1 or length < 1 or lr <= 0:
        raise ValueError(f"train: needs steps, batch, length >= 1 and lr > 0; got {steps}, {batch}, {length}, {lr}")
    hooks = hooks or {}
    if placement is not None:
        model.to(placement.torch_device())
    device = _device_of(model)
    autocast = placement.autocast_context() if placement is not None else contextlib.nullcontext()
    generator = torch.Generator().manual_seed(data_seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    records: dict[str, list] = {name: [] for name in hooks}
    losses: list[float] = []
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm
        bar = tqdm(total=steps, desc=model.config.describe(), file=sys.stderr, leave=False)
    model.train()
    started = None
    for step in range(steps):
        for name, (every, hook) in hooks.items():
            if step % every == 0:
                records[name].append((step, hook(model, step)))
        if step == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            started = time.perf_counter()
        window = stream.batch(batch, length, generator).to(device)
        with autocast:
            loss = next_byte_loss(model, window)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(f"train: loss is {value} at step {step} ({model.config.describe()})")
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimiser.step()
        losses.append(value)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    if device.type == "cuda":
        torch.cuda.synchronize(device)           # the timed steps end when the GPU has run them
    elapsed = time.perf_counter() - started if started is not None else None
    if bar is not None:
        bar.close()
    for name, (every, hook) in hooks.items():
        records[name].append((steps, hook(model, steps)))
    timed_steps = steps - warmup
    rate = timed_steps * batch * length / elapsed if elapsed and timed_steps > 0 else None
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    held = held_out_loss(model, stream.held_out_batches(batch, length, held_out), placement) if held_out else None
    return TrainResult(losses, held, rate, records)


def recurrent_spectra(model: ByteLM, step: int) -> list[torch.Tensor]:
    """Hook: singular values (float64) of each layer's recurrent matrix."""
    from .lm import recurrent_matrix
    with torch.no_grad():
        return [torch.linalg.svdvals(recurrent_matrix(layer).detach().double()) for layer in model.recurrences()]


def _device_of(model: torch.nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")
