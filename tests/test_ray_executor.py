"""CLAIMS_EXECUTOR=ray on a real two-node Ray cluster on 127.0.0.1 (`ray start --head`, then a
second node joining it): cells run on both nodes, an experiment's verdict and numbers equal the
local executor's, and killing the worker node mid-run still completes (Ray retries its cells).

Skips, saying why, when the `distributed` extra (Ray) is not installed; CI installs it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: the `distributed` extra "
                                        "(pip install -e '.[distributed]') runs these tests")

from claims.executors import run_cells  # noqa: E402
from claims.store import ResultsStore  # noqa: E402
from claims.device import Placement  # noqa: E402

from claims.cells import make_cell  # noqa: E402

from .cell_fixtures import fails_once_per_marker, toy_cells  # noqa: E402
from .conftest import ROOT, read_report  # noqa: E402

CPU = Placement("cpu", None)
# A dead node is noticed within a few seconds instead of Ray's default ~30 s of missed health checks.
FAST_FAILURE_DETECTION = {"RAY_health_check_initial_delay_ms": "0", "RAY_health_check_period_ms": "500",
                          "RAY_health_check_timeout_ms": "500", "RAY_health_check_failure_threshold": "3"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TwoNodeCluster:
    """`ray start --head` and `ray start --address` as two process groups on this machine, one CPU
    each; `kill_worker()` kills the second node's processes (its raylet and workers)."""

    def __init__(self, tmp: Path):
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        ray_bin = shutil.which("ray", path=os.path.dirname(sys.executable)) or "ray"
        env = dict(os.environ, PYTHONPATH=str(ROOT), **FAST_FAILURE_DETECTION)
        common = ["--block", "--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
        self.head = subprocess.Popen([ray_bin, "start", "--head", f"--port={self.port}", "--include-dashboard=false",
                                      *common], env=env, start_new_session=True,
                                     stdout=open(tmp / "head.log", "w"), stderr=subprocess.STDOUT)
        self._wait_for_port()
        self.worker = subprocess.Popen([ray_bin, "start", f"--address={self.address}", *common], env=env,
                                       start_new_session=True, stdout=open(tmp / "worker.log", "w"),
                                       stderr=subprocess.STDOUT)

    def _wait_for_port(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the Ray head did not open {self.address} within {timeout} s")

    def alive_nodes(self) -> list[str]:
        return [n["NodeID"] for n in ray.nodes() if n["Alive"]]

    def wait_for_nodes(self, count: int, timeout: float = 120) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(nodes := self.alive_nodes()) == count:
                return nodes
            time.sleep(0.2)
        raise RuntimeError(f"{len(self.alive_nodes())} Ray nodes alive after {timeout} s, expected {count}")

    def kill_worker(self) -> None:
        os.killpg(self.worker.pid, signal.SIGKILL)

    def stop(self) -> None:
        for process in (self.worker, self.head):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = TwoNodeCluster(tmp_path_factory.mktemp("ray"))
    try:
        ray.init(address=cluster.address, log_to_driver=False, include_dashboard=False)
        cluster.wait_for_nodes(2)
        yield cluster
    finally:
        ray.shutdown()
        cluster.stop()


@pytest.fixture
def ray_executor(monkeypatch, cluster):
    monkeypatch.setenv("CLAIMS_EXECUTOR", "ray")
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    return cluster


def test_cells_run_on_both_nodes_and_equal_the_local_executors(ray_executor, tmp_path, monkeypatch):
    on_ray = run_cells(toy_cells(seeds=range(6), delay=0.5), ResultsStore(tmp_path / "ray.sqlite"), CPU)
    nodes = {r["meta"]["node"] for r in on_ray.records}
    assert nodes == set(ray_executor.alive_nodes()) and len(nodes) == 2
    monkeypatch.setenv("CLAIMS_EXECUTOR", "local")
    local = run_cells(toy_cells(seeds=range(6), delay=0.5), ResultsStore(tmp_path / "local.sqlite"), CPU)
    for a, b in zip(on_ray.records, local.records):
        assert a["result"]["draw"].tobytes() == b["result"]["draw"].tobytes()
        assert a["result"]["mean"] == b["result"]["mean"]


REAL_EXPERIMENT = ("benchmarks/experiments/test_exp_lru.py::test_lru[lru.reconstruction]",
                   "lru.reconstruction")


def _run_experiment(tmp: Path, executor: str, address: str | None) -> tuple[dict, list[dict]]:
    """One real experiment through the plugin in its own pytest process: (its claim, its records)."""
    env = dict(os.environ, CLAIMS_EXECUTOR=executor, CLAIMS_STORE=str(tmp / "store.sqlite"), PYTHONPATH=str(ROOT))
    env.pop("RAY_ADDRESS", None)
    if address:
        env["RAY_ADDRESS"] = address
    out = subprocess.run([sys.executable, "-m", "pytest", REAL_EXPERIMENT[0], "-m", "experiment", "-p", "no:xdist",
                          "-p", "no:cacheprovider", "--claims-report-dir", str(tmp / "reports"), "-q"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    report = read_report(tmp / "reports" / "partial")
    from claims.cells import decode
    store = ResultsStore(tmp / "store.sqlite", create=False)
    records = [decode(e.record) for e in store.all()]
    store.close()
    return report["claims"][REAL_EXPERIMENT[1]], records


def test_a_real_experiment_on_the_cluster_gives_the_local_executors_verdict_and_numbers(ray_executor, tmp_path):
    (tmp_path / "ray").mkdir()
    (tmp_path / "local").mkdir()
    on_ray, ray_records = _run_experiment(tmp_path / "ray", "ray", ray_executor.address)
    local, local_records = _run_experiment(tmp_path / "local", "local", None)
    assert on_ray["verdict"] == local["verdict"] == "confirmed"
    figures = lambda claim: {e["name"]: e["value"] for e in claim["evidence"] if e["kind"] == "figure"}  # noqa: E731
    assert figures(on_ray) == figures(local) and len(figures(local)) > 10
    assert {r["meta"]["node"] for r in local_records} == {None}
    ray_nodes = {r["meta"]["node"] for r in ray_records}
    assert ray_nodes <= set(ray_executor.alive_nodes()) and None not in ray_nodes
    cells = next(e for e in on_ray["evidence"] if e["kind"] == "cells")
    assert cells["executor"] == "ray" and cells["ran"] == len(ray_records)


def test_a_failing_cell_is_retried_by_ray(ray_executor, tmp_path):
    cells = [make_cell(fails_once_per_marker, "toy", seed=s, marker_dir=str(tmp_path)) for s in range(3)]
    outcome = run_cells(cells, ResultsStore(tmp_path / "s.sqlite"), CPU)
    assert [r["result"]["seed"] for r in outcome.records] == [0, 1, 2]      # each failed once, then passed


def test_a_cell_failing_twice_is_an_error_with_its_traceback_and_the_others_finish(ray_executor, tmp_path):
    from claims.executors import CellsFailed

    from .cell_fixtures import fails_for_seed
    store = ResultsStore(tmp_path / "s.sqlite")
    with pytest.raises(CellsFailed) as failure:
        run_cells([make_cell(fails_for_seed, "toy", seed=s, bad=1) for s in range(3)], store, CPU)
    assert "1 of 3 cells failed" in str(failure.value)
    message = str(failure.value)
    assert "ArithmeticError: planted failure in cell seed=1" in message and "failed twice" in message
    assert 'raise ArithmeticError(f"planted failure' in message           # the task's traceback
    assert len(store.all()) == 2


def test_killing_the_worker_node_mid_run_still_completes(ray_executor, tmp_path):
    """The last test of the module: it leaves the cluster with one node."""
    cells = toy_cells(seeds=range(8), n=32, delay=2.0)
    store = ResultsStore(tmp_path / "s.sqlite")
    killer = threading.Timer(3.0, ray_executor.kill_worker)      # while the first cells are in flight
    killer.start()
    try:
        outcome = run_cells(cells, store, CPU)
    finally:
        killer.cancel()
    assert len(outcome.ran) == 8 and len(store.all()) == 8
    assert ray_executor.wait_for_nodes(1)
    expected = run_cells(cells, ResultsStore(tmp_path / "again.sqlite"), CPU, fresh=True)
    assert [r["result"]["mean"] for r in outcome.records] == [r["result"]["mean"] for r in expected.records]
