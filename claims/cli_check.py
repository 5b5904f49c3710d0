"""`claims check`: the main job — pytest on every check folder, then the report.

Its own options (--scale, --device, --executor, --store, --fresh, --force) become the
experiments' environment variables (claims/executors.py); everything else goes to pytest. It runs
the derandomised hypothesis profile, on xdist workers (CLAIMS_WORKERS), and starts a local Ray head
for CLAIMS_EXECUTOR=ray without RAY_ADDRESS. A bad setting, or full-scale cells that would train on
a CPU, stop it with one line before pytest starts.
"""

from __future__ import annotations

import os
import subprocess
import sys

from .project import CHECK_PATHS

# The main job's hypothesis profile (claims/hypothesis_profiles.py): derandomised, 40 examples per
# property test, so that its verdicts are the same on every run. Named here, not imported, so that
# `list`, `show` and `report` never import hypothesis.
MAIN_JOB_PROFILE = "main"

# `claims check`'s own options (taken out of the arguments; everything else goes to pytest), and
# the environment variable each sets for the experiments (claims/executors.py).
CHECK_OPTIONS = {"--scale": "CLAIMS_SCALE", "--device": "CLAIMS_DEVICE", "--executor": "CLAIMS_EXECUTOR",
                 "--store": "CLAIMS_STORE"}
CHECK_FLAGS = {"--fresh": "CLAIMS_FRESH", "--force": "CLAIMS_FORCE"}


def split_check_options(extra: list[str]) -> tuple[dict, list[str]]:
    """({ENV: value} of claims check's own options, the rest for pytest)."""
    settings, rest, items = {}, [], iter(extra)
    for arg in items:
        name, eq, value = arg.partition("=")
        if name in CHECK_OPTIONS:
            if not eq:
                value = next(items, None)
                if value is None:
                    raise ValueError(f"claims check {name}: needs a value")
            settings[CHECK_OPTIONS[name]] = value
        elif arg in CHECK_FLAGS:
            settings[CHECK_FLAGS[arg]] = "1"
        else:
            rest.append(arg)
    return settings, rest


def cmd_check(args, extra: list[str]) -> int:
    from . import project
    root = project.project_root()      # looked up when called: tests point it at a demo checkout
    try:
        settings, extra = split_check_options(extra)
    except ValueError as exc:
        print(f"claims: {exc}", file=sys.stderr)
        return 2
    env = main_job_environment({**os.environ, **settings})
    problem = _experiment_settings_problem(env)
    if problem:
        print(f"claims: {problem}", file=sys.stderr)
        return 2
    paths = [p for p in CHECK_PATHS if (root / p).exists()]
    # The main job selects every check, sweeps and experiments included (the project's addopts
    # leave those out of a plain `pytest`), but not the kernel benchmarks and the speed gate:
    # timings need a quiet machine, not one shared with xdist workers. A -m of the caller's own
    # still wins, coming later.
    command = [sys.executable, "-m", "pytest", *paths, "-m", "not kernel_bench and not kernel_gate",
               *parallel_arguments(extra), *extra]
    shown = " ".join(f"{k}={env[k]}" for k in ("HYPOTHESIS_PROFILE", *CHECK_OPTIONS.values(), *CHECK_FLAGS.values())
                     if env.get(k))
    with _ray_head_if_needed(env):
        print("running:", " ".join(command), f"(in {root}; {shown})", flush=True)
        return subprocess.call(command, cwd=root, env=env)


def _experiment_settings_problem(env: dict) -> str | None:
    """One line on a bad experiment setting, or on full-scale cells that would train on a CPU."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from .device import resolve
        from .executors import SettingsError, check_settings, executor_name, may_run_here
        try:
            check_settings()
        except SettingsError as exc:
            return str(exc)
        placement = resolve(here=executor_name() == "local")
        if not may_run_here(placement):
            return _full_scale_refusal(placement)
        return None
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _full_scale_refusal(placement) -> str | None:
    """At CLAIMS_SCALE=full on a CPU: None when the store holds every cell (imported results: the
    report is built from them without training), else the plan's estimate of what is missing."""
    from .cli_cells import EXPERIMENT_MODULES, declared
    from .executors import refusal_text
    from .store import ResultsStore, default_path
    known = ResultsStore(create=False).count_by_key() if default_path().exists() else set()
    missing = [c for name in EXPERIMENT_MODULES for c in declared(name) if c.key not in known]
    return refusal_text(missing, placement) if missing else None


class _ray_head_if_needed:
    """CLAIMS_EXECUTOR=ray without RAY_ADDRESS: start a one-node Ray for this run (its own process
    group, stopped after it) and point every pytest worker at it through RAY_ADDRESS."""

    def __init__(self, env: dict):
        self.env, self.process = env, None

    def __enter__(self):
        if self.env.get("CLAIMS_EXECUTOR") != "ray" or self.env.get("RAY_ADDRESS"):
            return self
        import shutil
        import socket
        import time
        ray = shutil.which("ray", path=os.path.dirname(sys.executable)) or shutil.which("ray")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.process = subprocess.Popen([ray, "start", "--head", "--block", f"--port={port}",
                                         "--node-ip-address=127.0.0.1", "--include-dashboard=false",
                                         "--disable-usage-stats"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        self.env["RAY_ADDRESS"] = f"127.0.0.1:{port}"
        print(f"started a local Ray head at 127.0.0.1:{port} for this run", flush=True)
        return self

    def __exit__(self, *exc):
        if self.process is not None:
            import signal
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
        return False


def main_job_environment(environ) -> dict:
    """The main job's environment: the derandomised profile unless the caller named one
    (HYPOTHESIS_PROFILE=thorough is the random exploration run). The xdist workers inherit it."""
    env = dict(environ)
    if not env.get("HYPOTHESIS_PROFILE"):
        env["HYPOTHESIS_PROFILE"] = MAIN_JOB_PROFILE
    return env


def parallel_arguments(extra: list[str]) -> list[str]:
    """pytest-xdist workers for the main job: CLAIMS_WORKERS (default: the CPU count, at most 8);
    one module per worker (--dist loadscope) so an experiment's shared runs stay in one process.
    A -n/--numprocesses of the caller's own wins; CLAIMS_WORKERS=1 runs in one process."""
    if any(a in ("-n", "--numprocesses") or a.startswith(("-n", "--numprocesses=")) for a in extra):
        return []
    workers = int(os.environ.get("CLAIMS_WORKERS") or min(os.cpu_count() or 1, 8))
    if workers <= 1:
        return []
    try:
        import xdist  # noqa: F401
    except ImportError:
        return []
    return ["-n", str(workers), "--dist", "loadscope"]
