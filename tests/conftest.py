"""Helpers for the harness's own tests: tiny registries and runs of pytest inside pytest."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

PLUGIN = ("-p", "claims.pytest_plugin")

MINI_REGISTRY = '''
[family]
title = "Demo family"
source = "demo.txt"
order = 1

[[claim]]
id = "demo.holds"
title = "A claim whose check passes"
statement = "1 + 1 = 2"
declared = "proven"
sources = ["demo.txt § 1"]
uses = []
checks = ["P"]

[[claim]]
id = "demo.fails"
title = "A claim whose check fails"
statement = "1 + 1 = 3"
declared = "proven"
sources = ["demo.txt § 2"]
uses = ["demo.holds"]
checks = ["P"]

[[claim]]
id = "demo.depends"
title = "A claim that uses a refuted one"
statement = "follows from demo.fails"
declared = "derived"
sources = ["demo.txt § 3"]
uses = ["demo.fails"]
checks = ["P"]

[[claim]]
id = "demo.nocheck"
title = "A claim nobody checks"
statement = "something"
declared = "conjectured"
sources = ["demo.txt § 4"]
uses = []
checks = ["E"]
decision_rule = "measure it"

[[claim]]
id = "demo.definition"
title = "A definition"
statement = "score := a / b"
declared = "definition"
sources = ["demo.txt § 5"]
uses = []
checks = []
unchecked_reason = "a definition asserts nothing that could be false"
'''


@pytest.fixture
def mini_registry(pytester) -> Path:
    """A registry directory with one small family ("demo"); returns its path."""
    folder = pytester.path / "registry"
    folder.mkdir()
    (folder / "demo.toml").write_text(textwrap.dedent(MINI_REGISTRY))
    return folder


def read_report(folder: Path) -> dict:
    return json.loads((folder / "claims.json").read_text())
