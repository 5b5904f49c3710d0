"""The results store: finished cells in an embedded SQLite database.

Default `.claims/results.sqlite` under the project; `CLAIMS_STORE=path` moves it. An entry is
keyed by the cell's config key, the fingerprint of the code it runs, the torch version and the
device kind; it holds the record (JSON text, `claims.cells.encode`), its sha256 and the
schema version of the record format. An entry with another schema version or a failing checksum
is never used (the cell is recomputed with a warning); a file that is not a results store is an
error (`StoreError`) and is left as it is.

Writers: the process that drives an experiment (the main job, or the xdist worker running that
experiment's module) writes each cell as soon as it finishes, in its own transaction (WAL mode,
so two workers never corrupt the file and a killed run keeps what it committed). Ray tasks never
write: they return records to the driver.

`export` / `import_file` move entries between machines as JSON lines (one entry a line, sorted,
so the file diffs and commits well).
"""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .cells import RECORD_SCHEMA, checksum

STORE_FORMAT = 1     # the table layout (PRAGMA user_version)
EXPORT_FORMAT = "claims-cells/1"

_COLUMNS = ("key", "fingerprint", "torch", "device_kind", "experiment", "function", "config", "record",
            "checksum", "schema", "created", "host", "device_name", "origin")


class StoreError(RuntimeError):
    """The store file cannot be used (names the setting, the file and what was found)."""


@dataclass(frozen=True)
class Entry:
    key: str
    fingerprint: str
    torch: str
    device_kind: str
    experiment: str
    function: str
    config: str
    record: str
    checksum: str
    schema: int
    created: str
    host: str
    device_name: str
    origin: str

    def problem(self) -> str | None:
        """Why this entry may not be used, or None."""
        if self.schema != RECORD_SCHEMA:
            return f"record schema {self.schema}, this code reads {RECORD_SCHEMA}"
        if checksum(self.record) != self.checksum:
            return "checksum mismatch (the record was altered or truncated)"
        return None


def default_path() -> Path:
    configured = os.environ.get("CLAIMS_STORE")
    if configured:
        return Path(configured).expanduser()
    from .project import project_root
    return project_root() / ".claims" / "results.sqlite"


def describe_setting(path: Path) -> str:
    return f"CLAIMS_STORE={path}" if os.environ.get("CLAIMS_STORE") else f"the results store {path}"


class ResultsStore:
    def __init__(self, path: Path | str | None = None, create: bool = True):
        self.path = Path(path) if path is not None else default_path()
        setting = describe_setting(self.path)
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"{setting}: is a directory, not a results store file")
        if not self.path.exists():
            if not create:
                raise StoreError(f"{setting}: no such file")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 60000")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{setting}: not a results store ({exc}); left untouched — move it away or point "
                             "CLAIMS_STORE elsewhere") from None
        if tables and "cells" not in tables:
            raise StoreError(f"{setting}: an SQLite file without the cells table (tables: {sorted(tables)}); "
                             "left untouched")
        if tables and version != STORE_FORMAT:
            raise StoreError(f"{setting}: store format {version}, this code reads {STORE_FORMAT}; left untouched")
        if not tables:
            self._create()

    def _create(self) -> None:
        with self._transaction():
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS cells (key TEXT, fingerprint TEXT, torch TEXT, device_kind TEXT, "
                "experiment TEXT, function TEXT, config TEXT, record TEXT, checksum TEXT, schema INTEGER, "
                "created TEXT, host TEXT, device_name TEXT, origin TEXT, "
                "PRIMARY KEY (key, fingerprint, torch, device_kind))")
            self._db.execute("CREATE INDEX IF NOT EXISTS cells_by_key ON cells (key)")
            self._db.execute(f"PRAGMA user_version = {STORE_FORMAT}")
        self._db.execute("PRAGMA journal_mode = WAL")

    def _transaction(self):
        db = self._db

        class _Tx:
            def __enter__(self):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind, exc, tb):
                db.execute("ROLLBACK" if kind else "COMMIT")
        return _Tx()

    def close(self) -> None:
        self._db.close()

    # -------------------------------------------------------------------------------- reading

    def entries(self, key: str) -> list[Entry]:
        """Every stored entry of a config key (any code, torch, device), newest first."""
        rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM cells WHERE key = ? ORDER BY created DESC",
                                (key,)).fetchall()
        return [Entry(*row) for row in rows]

    def all(self, experiment: str | None = None) -> list[Entry]:
        query = f"SELECT {', '.join(_COLUMNS)} FROM cells"
        rows = (self._db.execute(query + " WHERE experiment = ? ORDER BY key, created", (experiment,))
                if experiment else self._db.execute(query + " ORDER BY key, created")).fetchall()
        return [Entry(*row) for row in rows]

    def count_by_key(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT DISTINCT key FROM cells")}

    # -------------------------------------------------------------------------------- writing

    def put(self, cell, fingerprint: str, record_text: str, meta: dict, origin: str = "computed") -> None:
        """Keep one finished cell (replacing an entry of the same key, code, torch and device kind)."""
        entry = Entry(cell.key, fingerprint, meta["torch"], meta["device_kind"], cell.experiment, cell.function,
                      json.dumps(cell.config_dict, sort_keys=True), record_text, checksum(record_text),
                      RECORD_SCHEMA, meta["started"], meta["host"], meta["device_name"], origin)
        self._insert([entry], replace=True)

    def _insert(self, entries: list[Entry], replace: bool) -> int:
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        before = self._db.total_changes
        with self._transaction():
            self._db.executemany(f"{verb} INTO cells ({', '.join(_COLUMNS)}) VALUES "
                                 f"({', '.join('?' * len(_COLUMNS))})",
                                 [tuple(getattr(e, c) for c in _COLUMNS) for e in entries])
        return self._db.total_changes - before

    # -------------------------------------------------------------------------------- moving

    def export(self, target: Path, experiment: str | None = None) -> int:
        entries = [e for e in self.all(experiment) if e.problem() is None]
        lines = [json.dumps({"format": EXPORT_FORMAT, "exported": _now(), "entries": len(entries)})]
        lines += [json.dumps({c: getattr(e, c) for c in _COLUMNS}, sort_keys=True) for e in entries]
        tmp = Path(str(target) + ".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(target)
        return len(entries)

    def import_file(self, source: Path) -> tuple[int, int]:
        """(added, already present). Every line is checked before anything is written: a bad line
        is a StoreError naming the file and line, and the store is left as it was."""
        entries = []
        with open(source) as handle:
            header = handle.readline()
            try:
                meta = json.loads(header)
            except json.JSONDecodeError:
                meta = {}
            if meta.get("format") != EXPORT_FORMAT:
                raise StoreError(f"{source}:1: not a cells export (expected format {EXPORT_FORMAT!r}, "
                                 f"found {str(meta.get('format', header[:40]))!r})")
            for number, line in enumerate(handle, start=2):
                if not line.strip():
                    continue
                try:
                    fields = json.loads(line)
                    entry = Entry(**{c: fields[c] for c in _COLUMNS})
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise StoreError(f"{source}:{number}: not a cells entry ({type(exc).__name__}: {exc})") from None
                problem = entry.problem()
                if problem:
                    raise StoreError(f"{source}:{number}: cell {entry.experiment} {entry.config}: {problem}")
                if not entry.origin.startswith("imported"):
                    entry = Entry(**{**{c: getattr(entry, c) for c in _COLUMNS},
                                     "origin": f"imported from {Path(source).name} on {_now()}"})
                entries.append(entry)
        added = self._insert(entries, replace=False)
        return added, len(entries) - added


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
