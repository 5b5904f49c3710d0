"""Fixtures of the experiments."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def corpus():
    """The byte corpus of the language-model experiments; skips (saying which package is missing)
    when it is not installed."""
    from impl.data import MissingData
    from impl.experiments.common import corpus as load
    try:
        return load()
    except MissingData as exc:
        pytest.skip(str(exc))
