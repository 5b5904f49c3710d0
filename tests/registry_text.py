"""Registry text for the harness's own tests: the shipped catalogue's claim ids, and the TOML of
small registries written one [family] and one [[claim]] table at a time."""

from __future__ import annotations

import json
from pathlib import Path

# The 82 claim ids of the shipped registry, in the catalogue's order (tests/catalogue_ids.txt).
CATALOGUE = [line.strip() for line in (Path(__file__).parent / "catalogue_ids.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]


def _toml_lines(fields: dict) -> str:
    # JSON's strings, lists and integers are TOML's too
    return "".join(f"{key} = {json.dumps(value, ensure_ascii=False)}\n" for key, value in fields.items())


def family_toml(title: str, source: str, order: int) -> str:
    """A registry file's [family] table."""
    return "\n[family]\n" + _toml_lines({"title": title, "source": source, "order": order})


def claim_toml(claim_id: str, title: str, statement: str, declared: str, sources: list, uses: list, checks: list,
               **more) -> str:
    """A [[claim]] table: the required keys in the registry's usual order, then `more` (e.g.
    decision_rule, unchecked_reason), one `key = value` line each."""
    fields = {"id": claim_id, "title": title, "statement": statement, "declared": declared, "sources": sources,
              "uses": uses, "checks": checks, **more}
    return "\n[[claim]]\n" + _toml_lines(fields)
