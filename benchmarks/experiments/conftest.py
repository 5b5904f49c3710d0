"""Fixtures of the experiments."""

from __future__ import annotations

import pytest

from benchmarks.experiments.deciding import installed_or_skip


@pytest.fixture(scope="session")
def corpus():
    """The byte corpus of the language-model experiments; skips (saying which package is missing)
    when it is not installed."""
    from impl.experiments.common import corpus as load
    return installed_or_skip(load)
