"""The claim registry: TOML files in, small frozen dataclasses out.

Every error names the file, the line (found by scanning the raw text, since
``tomllib`` keeps no positions) and the claim id, so that a researcher editing
a registry file can go straight to the mistake.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_REGISTRY_DIR = Path(__file__).parent / "registry"

DECLARED = ("proven", "derived", "observed", "assumed", "conjectured", "definition")
CHECK_KINDS = {
    "P": "property test (hypothesis)",
    "N": "high-precision numeric check (mpmath)",
    "C": "certified check (python-flint)",
    "S": "symbolic check (sympy)",
    "E": "experiment",
    "B": "throughput benchmark",
}
EXPECTATIONS = ("fails",)

_REQUIRED = {"id": str, "title": str, "statement": str, "declared": str,
             "sources": list, "uses": list, "checks": list}
_OPTIONAL = {"formal": str, "formal_gap": str, "decision_rule": str,
             "unchecked_reason": str, "limits": str, "expect": str,
             "expect_reason": str, "notes": str, "full_scale": str}
_FAMILY_KEYS = {"title": str, "source": str, "order": int}
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$")


class RegistryError(ValueError):
    """A registry file is malformed; the message names file, line and claim."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None,
                 claim_id: str | None = None):
        self.path, self.line, self.claim_id, self.detail = Path(path), line, claim_id, message
        where = str(path) + (f":{line}" if line else "")
        who = f" [claim {claim_id}]" if claim_id else ""
        super().__init__(f"{where}{who}: {message}")


@dataclass(frozen=True)
class Claim:
    id: str
    family: str
    title: str
    statement: str
    declared: str
    sources: tuple[str, ...]
    uses: tuple[str, ...]
    checks: tuple[str, ...]
    formal: str | None = None
    formal_gap: str | None = None
    decision_rule: str | None = None
    unchecked_reason: str | None = None
    limits: str | None = None
    expect: str | None = None
    expect_reason: str | None = None
    notes: str | None = None
    full_scale: str | None = None      # experiments: the documents' configuration CLAIMS_SCALE=full runs
    file: str = ""
    line: int | None = None

    @property
    def expected_to_fail(self) -> bool:
        return self.expect == "fails"


@dataclass(frozen=True)
class Family:
    id: str
    title: str
    source: str
    order: int
    file: str


@dataclass(frozen=True)
class Registry:
    families: tuple[Family, ...]
    claims: dict[str, Claim] = field(hash=False)

    def __contains__(self, claim_id: str) -> bool:
        return claim_id in self.claims

    def __getitem__(self, claim_id: str) -> Claim:
        return self.claims[claim_id]

    def __iter__(self):
        return iter(self.claims.values())

    def __len__(self) -> int:
        return len(self.claims)

    def in_family(self, family: str) -> list[Claim]:
        return [c for c in self.claims.values() if c.family == family]

    def ancestors(self, claim_id: str) -> list[str]:
        """All claims reachable through `uses`, nearest first, without repeats."""
        seen: list[str] = []
        stack = list(self.claims[claim_id].uses)
        while stack:
            cid = stack.pop(0)
            if cid not in seen:
                seen.append(cid)
                stack.extend(self.claims[cid].uses)
        return seen


class _LineIndex:
    """Finds the line of a claim's `[[claim]]` block and of a key inside it."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.blocks = [i + 1 for i, ln in enumerate(self.lines) if ln.strip() == "[[claim]]"]
        self.family_line = next((i + 1 for i, ln in enumerate(self.lines)
                                 if ln.strip() == "[family]"), None)

    def claim(self, index: int) -> int | None:
        return self.blocks[index] if index < len(self.blocks) else None

    def key(self, index: int, key: str) -> int | None:
        start = self.claim(index)
        if start is None:
            return None
        end = self.blocks[index + 1] if index + 1 < len(self.blocks) else len(self.lines) + 1
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(start, end):
            if pattern.match(self.lines[number - 1]):
                return number
        return start


def _load_file(path: Path) -> tuple[Family, list[Claim]]:
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise RegistryError(path, f"TOML syntax error: {exc}",
                            line=int(match.group(1)) if match else None) from None
    index = _LineIndex(text)
    family_id = path.stem

    unknown_top = set(data) - {"family", "claim"}
    if unknown_top:
        raise RegistryError(path, f"unknown top-level table(s) {sorted(unknown_top)}; "
                                  "expected [family] and [[claim]]")
    fam = data.get("family")
    if not isinstance(fam, dict):
        raise RegistryError(path, "missing [family] table (title, source, order)")
    for key, typ in _FAMILY_KEYS.items():
        if not isinstance(fam.get(key), typ):
            raise RegistryError(path, f"[family] needs {key!r} of type {typ.__name__}",
                                line=index.family_line)
    if set(fam) - set(_FAMILY_KEYS):
        raise RegistryError(path, f"[family] has unknown key(s) {sorted(set(fam) - set(_FAMILY_KEYS))}",
                            line=index.family_line)
    family = Family(family_id, fam["title"], fam["source"], fam["order"], str(path))

    claims = []
    entries = data.get("claim", [])
    if not isinstance(entries, list) or not entries:
        raise RegistryError(path, "no [[claim]] entries")
    for i, entry in enumerate(entries):
        claims.append(_parse_claim(path, index, i, entry, family_id))
    return family, claims


def _parse_claim(path: Path, index: _LineIndex, i: int, entry: dict, family_id: str) -> Claim:
    claim_id = entry.get("id") if isinstance(entry.get("id"), str) else None

    def fail(message: str, key: str | None = None):
        raise RegistryError(path, message, line=index.key(i, key) if key else index.claim(i),
                            claim_id=claim_id)

    unknown = set(entry) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        key = sorted(unknown)[0]
        fail(f"unknown key(s) {sorted(unknown)}; allowed: "
             f"{sorted(set(_REQUIRED) | set(_OPTIONAL))}", key)
    for key, typ in _REQUIRED.items():
        if key not in entry:
            fail(f"missing required field {key!r}")
        if not isinstance(entry[key], typ):
            fail(f"field {key!r} must be a {typ.__name__}, got {type(entry[key]).__name__}", key)
    for key, typ in _OPTIONAL.items():
        if key in entry and not isinstance(entry[key], typ):
            fail(f"field {key!r} must be a {typ.__name__}, got {type(entry[key]).__name__}", key)
    for key in ("sources", "uses", "checks"):
        if not all(isinstance(x, str) for x in entry[key]):
            fail(f"field {key!r} must be a list of strings", key)

    if not _ID_PATTERN.match(claim_id):
        fail(f"id {claim_id!r} is not of the form '<family>.<name>' (lowercase, digits, _)", "id")
    if claim_id.split(".")[0] != family_id:
        fail(f"id {claim_id!r} is not in family {family_id!r} (the file name)", "id")
    if not entry["title"].strip() or not entry["statement"].strip():
        fail("title and statement must not be empty", "title")
    if entry["declared"] not in DECLARED:
        fail(f"declared {entry['declared']!r} is not one of {list(DECLARED)}", "declared")
    if not entry["sources"]:
        fail("sources must name at least one source document", "sources")
    bad_kinds = [k for k in entry["checks"] if k not in CHECK_KINDS]
    if bad_kinds:
        fail(f"unknown check kind(s) {bad_kinds}; allowed: {list(CHECK_KINDS)}", "checks")
    if not entry["checks"] and not entry.get("unchecked_reason"):
        fail("checks is empty: give unchecked_reason (why no check can exist)", "checks")
    if "E" in entry["checks"] and not entry.get("decision_rule"):
        fail("an experiment (check kind E) needs a decision_rule", "checks")
    if "expect" in entry:
        if entry["expect"] not in EXPECTATIONS:
            fail(f"expect {entry['expect']!r} is not one of {list(EXPECTATIONS)}", "expect")
        if not entry.get("expect_reason"):
            fail("expect needs expect_reason: the finding, with its numbers", "expect")
    if claim_id in entry["uses"]:
        fail("a claim cannot use itself", "uses")

    return Claim(
        id=claim_id, family=family_id, title=entry["title"].strip(),
        statement=entry["statement"].strip(), declared=entry["declared"],
        sources=tuple(entry["sources"]), uses=tuple(entry["uses"]),
        checks=tuple(entry["checks"]),
        **{k: entry[k].strip() for k in _OPTIONAL if k in entry},
        file=str(path), line=index.claim(i),
    )


def load_registry(directory: Path | str | None = None) -> Registry:
    """Load and validate every `*.toml` in `directory` (default: the shipped registry)."""
    directory = Path(directory) if directory else DEFAULT_REGISTRY_DIR
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise RegistryError(directory, "no registry files (*.toml) found")
    families, claims = [], {}
    for path in files:
        family, entries = _load_file(path)
        families.append(family)
        for claim in entries:
            if claim.id in claims:
                first = claims[claim.id]
                raise RegistryError(path, f"duplicate id, first defined at {first.file}:{first.line}",
                                    line=claim.line, claim_id=claim.id)
            claims[claim.id] = claim
    for claim in claims.values():
        for target in claim.uses:
            if target not in claims:
                raise RegistryError(claim.file, f"uses unknown claim {target!r}",
                                    line=_line_of(claim, "uses"), claim_id=claim.id)
    cycle = _find_cycle(claims)
    if cycle:
        first = claims[cycle[0]]
        raise RegistryError(first.file, "cycle in uses: " + " -> ".join(cycle),
                            line=_line_of(first, "uses"), claim_id=first.id)
    families.sort(key=lambda f: (f.order, f.id))
    ordered = {c.id: c for f in families for c in claims.values() if c.family == f.id}
    return Registry(tuple(families), ordered)


def _line_of(claim: Claim, key: str) -> int | None:
    """Line of `key` inside the claim's block (re-reads the file; errors only)."""
    if claim.line is None:
        return None
    lines = Path(claim.file).read_text(encoding="utf-8").splitlines()
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number in range(claim.line, len(lines) + 1):
        if number > claim.line and lines[number - 1].strip() == "[[claim]]":
            break
        if pattern.match(lines[number - 1]):
            return number
    return claim.line


def _find_cycle(claims: dict[str, Claim]) -> list[str] | None:
    """Depth-first search; returns the cycle as a closed path of ids, or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    path: list[str] = []

    def visit(cid: str) -> list[str] | None:
        state[cid] = 1
        path.append(cid)
        for nxt in claims[cid].uses:
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[cid] = 2
        return None

    for cid in claims:
        if cid not in state:
            found = visit(cid)
            if found:
                return found
    return None
