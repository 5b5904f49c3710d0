"""Running an experiment's cells: reuse from the results store, execute the rest, keep each result.

    outcome = run_cells(cells)            # records in the order of `cells`
    outcome.summary(), outcome.records    # → evidence.cells(outcome.summary())

Settings (environment; `claims check` sets them from its options):
- `CLAIMS_EXECUTOR=local` (default: in this process, one cell after another — an xdist worker
  runs its own module's cells) or `ray` (Ray tasks, one GPU each where the cluster has GPUs,
  else one CPU; `RAY_ADDRESS` names an existing cluster, else Ray starts in this process).
- `CLAIMS_DEVICE` (claims/device.py), `CLAIMS_STORE` (claims/store.py).
- `CLAIMS_FRESH=1`: recompute every cell (the store keeps the new records).
- `CLAIMS_FORCE=1`: run full-scale cells on a CPU (refused otherwise: see `ScaleRefused`).

Reuse: an entry of the same config, code fingerprint, torch version and device kind is used as
it is. When this machine may run the cell, any other entry (older code, another device) is left
in the store and the cell runs again. When it may not (full scale on a CPU), the newest valid
entry of the same config is used — imported from a cluster, say — and the summary says where,
when and on what it was computed, marking it stale when its code fingerprint no longer matches.

A cell that raises (twice on Ray, which retries once) is reported with its traceback after the
other cells finished and were stored (`CellsFailed`). Only this, the driving process, writes the
store; a Ray task returns its record as text.
"""

from __future__ import annotations

import collections
import os
import socket
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Sequence

from .cells import Cell, decode, encode, execute
from .device import DeviceError, Placement, resolve
from .scale import ScaleError
from .scale import scale as current_scale
from .store import ResultsStore, StoreError, default_path

EXECUTORS = ("local", "ray")
RAY_EXTRA = "pip install -e '.[distributed]'"


class ExecutorError(RuntimeError):
    """A bad CLAIMS_EXECUTOR / RAY_ADDRESS (one line, naming the setting and what was found)."""


# A bad setting of any kind: the plugin and the CLI turn it into one line and a non-zero exit.
SettingsError = (ScaleError, DeviceError, ExecutorError, StoreError)


class CellsFailed(RuntimeError):
    """Cells that raised; the message holds each one's config and traceback."""


class ScaleRefused(RuntimeError):
    """Full-scale cells that would run on a CPU without CLAIMS_FORCE=1."""


class StoreWarning(UserWarning):
    pass


@dataclass
class CellsOutcome:
    cells: list[Cell]
    records: list[dict]
    reused: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)      # used, but computed by other code
    foreign: list[str] = field(default_factory=list)    # used, computed on another device / torch
    recomputed: list[str] = field(default_factory=list) # store entries refused (schema, checksum)
    store: str = ""
    executor: str = "local"

    def places(self) -> collections.Counter:
        """Where, when and on what the records were computed: (host, device, precision, torch, day)
        → how many cells."""
        count = collections.Counter()
        for record in {id(r): r for r in self.records}.values():
            m = record["meta"]
            node = f", Ray node {m['node'][:8]}" if m.get("node") else ""
            precision = m.get("precision") or m.get("dtype", "?")
            count[f"{m['host']}{node}, {m['device_name']}, {precision}, torch {m['torch']}, {m['started'][:10]}"] += 1
        return count

    def origins(self) -> list[str]:
        return [f"{n} on {place}" for place, n in sorted(self.places().items())]

    def summary(self) -> dict:
        return {"cells": len(self.cells), "reused": len(self.reused), "ran": len(self.ran),
                "stale": len(self.stale), "foreign": len(self.foreign), "recomputed": len(self.recomputed),
                "keys": sorted({c.key[:16] for c in self.cells}), "reused_keys": sorted(k[:16] for k in self.reused),
                "stale_keys": sorted(k[:16] for k in self.stale), "origins": self.origins(),
                "places": sorted(self.places()), "store": self.store,
                "executor": self.executor, "text": self.text()}

    def text(self) -> str:
        parts = [f"{len(self.cells)} cells: {len(self.reused)} reused from the store, {len(self.ran)} computed in this run"]
        if self.foreign:
            parts.append(f"{len(self.foreign)} computed on another device or torch")
        if self.stale:
            parts.append(f"{len(self.stale)} STALE (their code fingerprint no longer matches)")
        if self.recomputed:
            parts.append(f"{len(self.recomputed)} store entries refused and recomputed")
        return "; ".join(parts) + f" ({self.executor} executor); computed: " + "; ".join(self.origins())


def executor_name() -> str:
    value = os.environ.get("CLAIMS_EXECUTOR", "local") or "local"
    if value not in EXECUTORS:
        raise ExecutorError(f"CLAIMS_EXECUTOR={value!r}: expected one of {', '.join(EXECUTORS)}")
    return value


def check_settings() -> None:
    """Validate CLAIMS_SCALE, CLAIMS_DEVICE, CLAIMS_EXECUTOR, RAY_ADDRESS and the store file up
    front; raises a ValueError / ExecutorError / StoreError with one line of explanation."""
    current_scale()
    resolve(here=executor_name() == "local")        # on Ray the cells' device is the nodes'
    if executor_name() == "ray":
        _import_ray()
        address = os.environ.get("RAY_ADDRESS")
        if address:
            check_ray_address(address)
    if default_path().exists():          # a store is created by the first experiment that runs
        ResultsStore(create=False).close()


def check_ray_address(address: str, timeout: float = 3.0) -> None:
    """A RAY_ADDRESS ("host:port", "ray://host:port" or "auto") must answer on its port."""
    if address == "auto" or address.startswith("local"):
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorError(f"RAY_ADDRESS={address!r}: expected host:port (e.g. 127.0.0.1:6379) or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ExecutorError(f"RAY_ADDRESS={address!r}: no Ray cluster answers there ({exc.strerror or exc})") from None


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ExecutorError(f"CLAIMS_EXECUTOR=ray: Ray is not installed; install the extra: {RAY_EXTRA}") from None
    return ray


def may_run_here(placement: Placement) -> bool:
    return not (current_scale() == "full" and placement.kind == "cpu" and os.environ.get("CLAIMS_FORCE") != "1")


def run_cells(cells: Sequence[Cell], store: ResultsStore | None = None, placement: Placement | None = None,
              fresh: bool | None = None) -> CellsOutcome:
    cells = list(cells)
    placement = placement or resolve(here=executor_name() == "local")
    fresh = os.environ.get("CLAIMS_FRESH") == "1" if fresh is None else fresh
    own_store = store is None
    store = store or ResultsStore()
    try:
        return _run(cells, store, placement, fresh)
    finally:
        if own_store:
            store.close()


def _run(cells: list[Cell], store: ResultsStore, placement: Placement, fresh: bool) -> CellsOutcome:
    import torch
    name = executor_name()
    outcome = CellsOutcome(cells, [None] * len(cells), store=_display_path(store.path), executor=name)
    allowed = may_run_here(placement)
    pending: list[int] = []
    unique: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if cell.key in unique:                      # declared twice: computed once
            continue
        unique[cell.key] = index
        entries = [] if fresh else store.entries(cell.key)
        usable = []
        for entry in entries:
            problem = entry.problem()
            if problem:
                warnings.warn(f"results store {store.path}: cell {cell.describe()} ({entry.device_kind}, torch "
                              f"{entry.torch}): {problem}; recomputing it", StoreWarning, stacklevel=3)
                outcome.recomputed.append(cell.key)
            else:
                usable.append(entry)
        exact = [e for e in usable if (e.fingerprint, e.torch, e.device_kind)
                 == (cell.fingerprint, torch.__version__, placement.kind)]
        if exact:
            outcome.records[index] = decode(exact[0].record)
            outcome.reused.append(cell.key)
        elif not allowed and usable:
            chosen = usable[0]
            outcome.records[index] = decode(chosen.record)
            outcome.reused.append(cell.key)
            if chosen.fingerprint != cell.fingerprint:
                outcome.stale.append(cell.key)
            if (chosen.torch, chosen.device_kind) != (torch.__version__, placement.kind):
                outcome.foreign.append(cell.key)
        else:
            pending.append(index)
    if pending and not allowed:
        raise ScaleRefused(refusal_text([cells[i] for i in pending], placement))
    failures: list[str] = []
    if pending:
        run = _run_local if name == "local" else _run_ray
        for index, text, error in run([cells[i] for i in pending], placement, pending):
            cell = cells[index]
            if error is not None:
                failures.append(f"cell {cell.describe()} failed:\n{error}")
                continue
            record = decode(text)
            store.put(cell, cell.fingerprint, text, record["meta"])
            outcome.records[index] = record
            outcome.ran.append(cell.key)
    for index, cell in enumerate(cells):              # duplicates share their first record
        if outcome.records[index] is None and cell.key in unique and unique[cell.key] != index:
            outcome.records[index] = outcome.records[unique[cell.key]]
    if failures:
        raise CellsFailed(f"{len(failures)} of {len(unique)} cells failed (the other cells finished and are "
                          "in the store):\n\n" + "\n\n".join(failures))
    return outcome


def _display_path(path) -> str:
    """The store path relative to the project when it lies inside it (reports are committed)."""
    from .project import project_root
    try:
        return str(path.resolve().relative_to(project_root().resolve()))
    except ValueError:
        return str(path)


def refusal_text(cells: list[Cell], placement: Placement) -> str:
    from .plan import estimate
    e = estimate(cells)
    return (f"CLAIMS_SCALE=full on {placement.name()}: {len(cells)} cells of "
            f"{', '.join(sorted({c.experiment for c in cells}))} are not in the store and would train "
            f"{e['tokens']:,} tokens ({e['flops']:.2e} FLOPs, ≈ {e['gpu_hours']:.1f} GPU-hours on {e['gpu']}); "
            "import results computed elsewhere (claims store import FILE) or set CLAIMS_FORCE=1 to run them here")


# ------------------------------------------------------------------------------------ executors

def _run_local(cells: list[Cell], placement: Placement, indices: list[int]):
    """One after another in this process; a KeyboardInterrupt / SIGTERM stops at once (the cells
    already yielded are in the store)."""
    for cell, index in zip(cells, indices):
        try:
            record = execute(cell, placement)
        except Exception:                                   # noqa: BLE001 — reported with its traceback
            yield index, None, traceback.format_exc()
            continue
        yield index, encode(record), None


def _ray_task(cell: Cell, device_setting: str) -> str:
    """A Ray task: resolve the device where the task runs, execute, return the record as text."""
    return encode(execute(cell, resolve(device_setting)))


def _run_ray(cells: list[Cell], placement: Placement, indices: list[int]):
    ray = _import_ray()
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        if address:
            check_ray_address(address)
        ray.init(address=address or None, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    gpus = ray.cluster_resources().get("GPU", 0) > 0 and placement.kind == "cuda"
    device_setting = "cuda" if gpus else "cpu"
    task = ray.remote(_ray_task).options(num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1,
                                         max_retries=1, retry_exceptions=True)
    futures = {task.remote(cell, device_setting): index for cell, index in zip(cells, indices)}
    remaining = list(futures)
    while remaining:
        done, remaining = ray.wait(remaining, num_returns=1)
        for future in done:
            try:
                yield futures[future], ray.get(future), None
            except Exception as exc:                        # noqa: BLE001 — RayTaskError carries the traceback
                yield futures[future], None, f"failed twice (Ray retried it once); the task's traceback:\n{exc}"
