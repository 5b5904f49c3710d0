"""The experiments' scale: `CLAIMS_SCALE=small|medium|full`.

- small (default): a CPU-sized replica, every experiment in seconds to a few minutes on 2 cores;
- medium: what one GPU does for the whole suite in about an hour;
- full: the documents' configurations (sizes, steps, batch, length, learning rates, data).

Experiments choose their sizes with `at_scale(small=..., medium=..., full=...)` and state them in
their evidence (`evidence.scale`).
"""

from __future__ import annotations

import os

SCALES = ("small", "medium", "full")


class ScaleError(ValueError):
    """A bad CLAIMS_SCALE (reported as a one-line usage error)."""


def scale() -> str:
    value = os.environ.get("CLAIMS_SCALE", "small") or "small"
    if value not in SCALES:
        raise ScaleError(f"CLAIMS_SCALE={value!r}: expected one of {', '.join(SCALES)}")
    return value


def at_scale(small, full, medium=None):
    """The value for the current scale; an experiment without a medium size runs its small one
    there (and says so through its evidence.scale)."""
    current = scale()
    if current == "full":
        return full
    if current == "medium" and medium is not None:
        return medium
    return small
