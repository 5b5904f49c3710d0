"""Fixtures for every test folder (tests, property_tests, numeric_checks, benchmarks).

`precision_restored`: mpmath's and python-flint's precision are process-wide; a check that leaves
one changed would change the checks after it. Every test runs inside `impl.precision.precision_guard`,
which restores what the test found and fails it (at teardown) naming the setting it leaked.
"""

from __future__ import annotations

import pytest

from impl.precision import precision_guard


@pytest.fixture(autouse=True)
def precision_restored(request):
    with precision_guard(request.node.nodeid):
        yield
