"""Cells: every training run or measurement inside an experiment, as a frozen config → a record.

The harness's execution protocol, with no models in it: the project's experiment libraries declare
cells of their cell functions, the executors (claims/executors.py) run them.

An experiment declares its cells (`make_cell(function, **config)`), has them executed (by the
harness's executor: in this process, or as Ray tasks; finished cells are kept in the results
store, `claims/store.py`), then applies its decision rule to the records.

- A cell function is a plain module-level function of keyword arguments (the config) plus
  `placement` (where to run: `claims.device.Placement`), decorated with
  `@cell_function(uses=(...))`, that returns a dict of JSON values, numpy arrays and tensors.
  `uses` names the model modules or packages the function runs; with the function's own module
  they make the cell's code fingerprint, so a changed kernel marks its stored cells stale.
- `execute(cell, placement)` runs one cell under the canonical conditions (one torch / BLAS
  thread on the CPU, so a record is bit-for-bit the same in any process) and returns its record:
  `{"result": ..., "meta": {device, precision, versions, host, node, started, wall_s, cpu_s}}`.
- `encode` / `decode`: a record as JSON text, arrays kept bit-exact (raw bytes, base64).
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import importlib
import json
import math
import os
import platform
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .device import Placement

RECORD_SCHEMA = 1


class CellError(RuntimeError):
    """A cell that could not be declared or executed (names the cell and what was wrong)."""


# ------------------------------------------------------------------------------------ declaring

def cell_function(uses: tuple[str, ...] = ()) -> Callable:
    """Mark a module-level function as a cell function; `uses`: the modules or packages it runs
    (dotted names, e.g. the training loop's and the model's packages), for the code fingerprint."""
    def mark(fn):
        if "<locals>" in fn.__qualname__:
            raise CellError(f"cell function {fn.__qualname__} must be defined at module level (it is imported "
                            "by name where the cell runs)")
        fn.cell_uses = tuple(uses)
        return fn
    return mark


@dataclass(frozen=True)
class Cell:
    """One unit of an experiment. `config` holds JSON values only (numbers, strings, booleans,
    None, lists as tuples), sorted by name; `params` and `tokens` estimate its cost for the plan
    (not part of its identity)."""
    experiment: str
    function: str                                  # "module:qualname"
    config: tuple[tuple[str, Any], ...]
    params: int | None = field(default=None, compare=False)
    tokens: int | None = field(default=None, compare=False)

    @property
    def config_dict(self) -> dict[str, Any]:
        return {k: _thaw(v) for k, v in self.config}

    @functools.cached_property
    def key(self) -> str:
        """sha256 of the canonical JSON of (function, config): the cell's identity."""
        text = json.dumps({"function": self.function, "config": self.config_dict}, sort_keys=True,
                          separators=(",", ":"), allow_nan=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config)
        return f"{self.experiment}: {self.function.split(':')[1]}({args})"

    def resolve(self) -> Callable:
        module, _, name = self.function.partition(":")
        fn = getattr(importlib.import_module(module), name, None)
        if fn is None or not hasattr(fn, "cell_uses"):
            raise CellError(f"cell {self.describe()}: {self.function} is not a cell function")
        return fn

    @functools.cached_property
    def fingerprint(self) -> str:
        fn = self.resolve()
        return code_fingerprint((fn.__module__, *fn.cell_uses))


def make_cell(fn: Callable, experiment: str, *, params: int | None = None, tokens: int | None = None,
              **config) -> Cell:
    """A cell running `fn(**config, placement=...)`; `experiment` names the family (for the plan
    and the store), `params` / `tokens` the model size and tokens trained (for the plan)."""
    if not hasattr(fn, "cell_uses"):
        raise CellError(f"{fn.__module__}.{fn.__qualname__} is not marked @cell_function")
    frozen = tuple(sorted((name, _freeze(value, f"{experiment}: {fn.__qualname__}({name}=...)"))
                          for name, value in config.items()))
    return Cell(experiment, f"{fn.__module__}:{fn.__qualname__}", frozen, params, tokens)


def _freeze(value, where: str):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v, where) for v in value)
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise CellError(f"{where}: dict keys of a cell config must be strings, got {list(value)}")
        return ("__dict__", tuple(sorted((k, _freeze(v, where)) for k, v in value.items())))
    raise CellError(f"{where}: a cell config holds JSON values only (numbers, strings, booleans, None, "
                    f"lists, dicts), got {type(value).__name__}")


def _thaw(value):
    if isinstance(value, tuple):
        if len(value) == 2 and value[0] == "__dict__":
            return {k: _thaw(v) for k, v in value[1]}
        return [_thaw(v) for v in value]
    return value


@functools.lru_cache(maxsize=None)
def code_fingerprint(modules: tuple[str, ...]) -> str:
    """sha256 over the source files of `modules` (a package: every .py under it), by path."""
    digest = hashlib.sha256()
    for path in sorted({p for name in modules for p in _source_files(name)}):
        digest.update(str(path.relative_to(_root_of(path))).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _source_files(module_name: str) -> list[Path]:
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise CellError(f"cell fingerprint: module {module_name!r} not found")
    origin = Path(spec.origin)
    if spec.submodule_search_locations:                    # a package
        return sorted(p for p in origin.parent.rglob("*.py") if "__pycache__" not in p.parts)
    return [origin]


def _root_of(path: Path) -> Path:
    """The folder above the top-level package of `path` (so fingerprints do not depend on where
    the checkout lies)."""
    folder = path.parent
    while (folder / "__init__.py").exists():
        folder = folder.parent
    return folder


# ------------------------------------------------------------------------------------ executing

def execute(cell: Cell, placement: Placement) -> dict:
    """Run one cell and return its record. On the CPU: one torch thread and one BLAS thread (the
    same bits in any process: the main job's, an xdist worker's, a Ray task's)."""
    import torch
    fn = cell.resolve()
    started = datetime.datetime.now(datetime.timezone.utc)
    wall, cpu = time.perf_counter(), time.process_time()
    threads = torch.get_num_threads()
    limits = None
    if placement.kind == "cpu":
        from threadpoolctl import threadpool_limits
        torch.set_num_threads(1)
        limits = threadpool_limits(limits=1)
    try:
        result = fn(placement=placement, **cell.config_dict)
    finally:
        torch.set_num_threads(threads)
        if limits is not None:
            limits.restore_original_limits()
    if not isinstance(result, dict):
        raise CellError(f"cell {cell.describe()}: the function returned {type(result).__name__}, not a dict")
    return {"result": result, "meta": {
        "experiment": cell.experiment, "function": cell.function, "config": cell.config_dict,
        "key": cell.key, "fingerprint": cell.fingerprint,
        "device": placement.device, "device_kind": placement.kind, "device_name": placement.name(),
        # the cell's own tensors set its dtypes; on CUDA its forward passes run under bf16 autocast
        "precision": f"{placement.autocast} autocast" if placement.autocast else "no autocast",
        "dtype": placement.autocast or "float32",       # a training run's compute dtype (LM cells)
        "torch": torch.__version__,
        "python": platform.python_version(), "numpy": np.__version__,
        "host": socket.gethostname(), "node": _ray_node(), "pid": os.getpid(),
        "started": started.isoformat(timespec="seconds"), "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu}}


def _ray_node() -> str | None:
    """The Ray node id when this runs inside a Ray task, else None."""
    if "ray" not in sys.modules:
        return None
    import ray
    if not ray.is_initialized():
        return None
    try:
        return ray.get_runtime_context().get_node_id()
    except Exception:          # noqa: BLE001 — outside a task the context may have no node
        return None


# ------------------------------------------------------------------------------------ records as text

def encode(record) -> str:
    """JSON text of a record; numpy arrays and tensors as {"__array__": [dtype, shape, base64]}
    (bit-exact), floats by repr (exact), nan and ±inf kept."""
    return json.dumps(_encodable(record, "record"), sort_keys=True, separators=(",", ":"), allow_nan=True)


def decode(text: str):
    return json.loads(text, object_hook=_decode_object)


def _encodable(value, where: str):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise CellError(f"{where}: record dict keys must be strings (JSON would turn {bad[:3]} into strings)")
        return {k: _encodable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encodable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if type(value).__module__ == "torch" and hasattr(value, "detach"):
        import torch
        tensor = value.detach().cpu()
        if tensor.dtype == torch.bfloat16:
            tensor = tensor.float()
        value = tensor.numpy()
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return {"__array__": [array.dtype.str, list(array.shape), base64.b64encode(array.tobytes()).decode()]}
    raise CellError(f"{where}: a record holds JSON values, numpy arrays and tensors, got {type(value).__name__}")


def _decode_object(obj: dict):
    if len(obj) == 1 and "__array__" in obj:
        dtype, shape, data = obj["__array__"]
        return np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype)).reshape(shape).copy()
    return obj


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def is_finite_number(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
