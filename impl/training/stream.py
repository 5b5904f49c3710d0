"""Byte data stream: a corpus split into a training part and a held-out tail, sampled as
random windows from an explicit generator (so the data order is a function of the seed)."""

from __future__ import annotations

import torch


class ByteStream:
    def __init__(self, corpus: bytes, held_out_fraction: float = 0.05, train_fraction: float = 1.0):
        """`held_out_fraction` of the corpus (its tail) is held out; of the rest, the first
        `train_fraction` is the training set (for data-scaling experiments)."""
        if not 0 < held_out_fraction < 1 or not 0 < train_fraction <= 1:
            raise ValueError(f"ByteStream: need 0 < held_out_fraction < 1 and 0 < train_fraction <= 1, "
                             f"got {held_out_fraction}, {train_fraction}")
        data = torch.frombuffer(bytearray(corpus), dtype=torch.uint8).long()
        split = int(len(data) * (1 - held_out_fraction))
        self.train = data[: int(split * train_fraction)]
        self.held_out = data[split:]

    def _windows(self, source: torch.Tensor, batch: int, length: int, generator) -> torch.Tensor:
        if len(source) <= length:
            raise ValueError(f"ByteStream: a window of {length + 1} bytes does not fit {len(source)} bytes")
        starts = torch.randint(0, len(source) - length, (batch,), generator=generator)
        return torch.stack([source[s: s + length + 1] for s in starts.tolist()])

    def batch(self, batch: int, length: int, generator: torch.Generator) -> torch.Tensor:
        """(batch, length + 1) training windows (inputs are [:, :-1], targets [:, 1:])."""
        return self._windows(self.train, batch, length, generator)

    def held_out_batches(self, batch: int, length: int, count: int, seed: int = 12345) -> list[torch.Tensor]:
        """A fixed set of held-out windows (the same for every model and seed)."""
        generator = torch.Generator().manual_seed(seed)
        return [self._windows(self.held_out, batch, length, generator) for _ in range(count)]
