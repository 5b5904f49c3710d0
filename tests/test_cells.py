"""Cells, the results store and the local executor (claims/store.py, claims/executors.py,
claims/cells.py): records are bit-exact through the store, finished cells are reused,
bad entries are recomputed with a warning, a bad store file is an error that loses nothing."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from claims import executors
from claims.executors import CellsFailed, ScaleRefused, StoreWarning, run_cells
from claims.store import ResultsStore, StoreError
from claims.cells import CellError, decode, encode, make_cell
from claims.device import DeviceError, Placement, resolve

from .cell_fixtures import fails_for_seed, noisy_mean, toy_cells

CPU = Placement("cpu", None)


@pytest.fixture
def store(tmp_path):
    s = ResultsStore(tmp_path / "results.sqlite")
    yield s
    s.close()


def test_records_survive_the_text_form_bit_for_bit():
    record = {"f32": np.array([1 / 3, np.nan, -np.inf], dtype=np.float32), "c128": np.array([1 + 2j, 1e-300j]),
              "nested": {"x": [0.1, float("nan"), (1, 2)]}, "big": 2 ** 70, "float": 0.1 + 0.2}
    back = decode(encode(record))
    assert back["f32"].dtype == np.float32 and back["f32"].tobytes() == record["f32"].tobytes()
    assert back["c128"].tobytes() == record["c128"].tobytes()
    assert back["float"] == 0.1 + 0.2 and back["big"] == 2 ** 70 and back["nested"]["x"][2] == [1, 2]
    with pytest.raises(CellError, match="keys must be strings"):
        encode({"runs": {3: 1.0}})        # JSON would silently turn 3 into "3"
    with pytest.raises(CellError, match="got set"):
        encode({"x": {1, 2}})


def test_a_cell_is_its_function_and_config():
    a, b = make_cell(noisy_mean, "toy", seed=1, n=4), make_cell(noisy_mean, "toy", n=4, seed=1)
    assert a == b and a.key == b.key and len(a.fingerprint) == 16
    assert make_cell(noisy_mean, "toy", seed=2, n=4).key != a.key
    with pytest.raises(CellError, match="JSON values only"):
        make_cell(noisy_mean, "toy", seed=object(), n=4)


def test_second_run_reuses_every_cell_and_returns_the_same_records(store):
    cold = run_cells(toy_cells(), store, CPU)
    assert (len(cold.ran), len(cold.reused)) == (4, 0)
    warm = run_cells(toy_cells(), store, CPU)
    assert (len(warm.ran), len(warm.reused)) == (0, 4)
    for a, b in zip(cold.records, warm.records):
        assert a["result"]["draw"].tobytes() == b["result"]["draw"].tobytes() and a["meta"] == b["meta"]
    fresh = run_cells(toy_cells(), store, CPU, fresh=True)
    assert len(fresh.ran) == 4
    assert "4 cells: 4 reused from the store, 0 computed in this run" in warm.text()


def test_an_altered_or_old_schema_entry_is_recomputed_with_a_warning(store):
    cells = toy_cells(seeds=[0, 1])
    first = run_cells(cells, store, CPU)
    db = sqlite3.connect(store.path)
    db.execute("UPDATE cells SET record = replace(record, '\"mean\":', '\"mean\": ') WHERE key = ?", (cells[0].key,))
    db.execute("UPDATE cells SET schema = 0 WHERE key = ?", (cells[1].key,))
    db.commit()
    db.close()
    with pytest.warns(StoreWarning) as caught:
        again = run_cells(cells, store, CPU)
    messages = " ".join(str(w.message) for w in caught)
    assert "checksum mismatch" in messages and "record schema 0" in messages
    assert len(again.ran) == 2 and len(again.recomputed) == 2
    assert again.records[0]["result"]["mean"] == first.records[0]["result"]["mean"]


def test_a_file_that_is_not_a_store_is_an_error_and_is_left_untouched(tmp_path, monkeypatch):
    bad = tmp_path / "results.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    before = bad.read_bytes()
    monkeypatch.setenv("CLAIMS_STORE", str(bad))
    with pytest.raises(StoreError, match=r"CLAIMS_STORE=.*not a results store"):
        ResultsStore()
    with pytest.raises(StoreError):
        executors.check_settings()
    assert bad.read_bytes() == before


def test_failing_cells_do_not_stop_the_others_and_are_reported_with_their_traceback(store):
    cells = [make_cell(fails_for_seed, "toy", seed=s, bad=2) for s in range(4)]
    with pytest.raises(CellsFailed) as failure:
        run_cells(cells, store, CPU)
    assert "1 of 4 cells failed" in str(failure.value)
    assert "ArithmeticError: planted failure in cell seed=2" in str(failure.value)
    assert "Traceback" in str(failure.value)
    assert len(store.all()) == 3


def test_changed_code_reruns_a_cell_here_but_full_scale_on_a_cpu_uses_it_marked_stale(store, monkeypatch):
    cells = toy_cells(seeds=[0])
    run_cells(cells, store, CPU)
    changed = toy_cells(seeds=[0])
    object.__setattr__(changed[0], "fingerprint", "0" * 16)   # as if impl/ had changed since
    monkeypatch.setenv("CLAIMS_SCALE", "small")
    assert len(run_cells(changed, store, CPU).ran) == 1
    assert len(store.entries(changed[0].key)) == 2             # the old entry is kept, not dropped
    monkeypatch.setenv("CLAIMS_SCALE", "full")
    again = toy_cells(seeds=[0])
    object.__setattr__(again[0], "fingerprint", "1" * 16)
    outcome = run_cells(again, store, CPU)
    assert outcome.ran == [] and outcome.stale == [again[0].key]
    assert "1 STALE" in outcome.text()


def test_full_scale_on_a_cpu_refuses_missing_cells_with_the_plans_estimate(store, monkeypatch):
    monkeypatch.setenv("CLAIMS_SCALE", "full")
    with pytest.raises(ScaleRefused, match=r"4 cells of toy .* 4,000 tokens .*CLAIMS_FORCE=1"):
        run_cells(toy_cells(), store, CPU)
    monkeypatch.setenv("CLAIMS_FORCE", "1")
    assert len(run_cells(toy_cells(), store, CPU).ran) == 4


def test_export_and_import_move_cells_and_a_bad_line_changes_nothing(store, tmp_path):
    run_cells(toy_cells(), store, CPU)
    exported = tmp_path / "cells.jsonl"
    assert store.export(exported) == 4
    other = ResultsStore(tmp_path / "other.sqlite")
    assert other.import_file(exported) == (4, 0)
    assert other.import_file(exported) == (0, 4)
    reused = run_cells(toy_cells(), other, CPU)
    assert len(reused.reused) == 4 and all(e.origin.startswith("imported from cells.jsonl") for e in other.all())
    lines = exported.read_text().splitlines()
    entry = json.loads(lines[2])
    entry["record"] = entry["record"].replace("mean", "MEAN")
    (tmp_path / "bad.jsonl").write_text("\n".join([lines[0], lines[1], json.dumps(entry)]) + "\n")
    third = ResultsStore(tmp_path / "third.sqlite")
    with pytest.raises(StoreError, match=r"bad.jsonl:3: .*checksum mismatch"):
        third.import_file(tmp_path / "bad.jsonl")
    assert third.all() == []


@pytest.mark.parametrize("value, message", [
    ("tpu", "CLAIMS_DEVICE='tpu': expected auto, cpu, cuda or cuda:N"),
    ("cuda", "sees no CUDA device"),
])
def test_bad_device_settings_name_the_setting(value, message):
    import torch
    if value == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA: 'cuda' is a valid setting here")
    with pytest.raises(DeviceError, match=message):
        resolve(value)
    assert resolve("cpu").kind == "cpu" and resolve("auto").kind in ("cpu", "cuda")
