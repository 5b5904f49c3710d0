"""Run metadata: the report's `run` table — when, which commit, torch and device, hypothesis
settings, scale, executor, selection, full/complete and why not, and the experiment cells' totals.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from . import hypothesis_profiles
from .verdicts import RAN


def run_metadata(config, claims_session, *, scope: list[str], incomplete: list[str], exitstatus,
                 results) -> dict:
    """The `run` dict of the report; `claims_session`: the plugin's ClaimsSession (claims/session.py)."""
    state = claims_session
    torch_version, device = torch_info()
    if "torch" not in sys.modules and state.worker_torch:   # under xdist the workers imported torch
        torch_version, device = state.worker_torch
    ran = [r for r in state.records.values() if r.outcome in RAN]
    hypothesis = hypothesis_settings(state.worker_hypothesis)
    registry = state.registry
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - state.started, 2),
        "git_commit": git(config.rootpath, "rev-parse", "HEAD"),
        # changes outside reports/: this run's own report and figures are not what makes the code dirty
        "git_dirty": bool(git(config.rootpath, "status", "--porcelain", "--untracked-files=no", "--", ".",
                              ":(exclude)reports")),
        "python": platform.python_version(),
        "torch": torch_version,
        "device": device,
        "hypothesis_profile": hypothesis["profile"] if hypothesis else None,
        "hypothesis": hypothesis,
        "scale": os.environ.get("CLAIMS_SCALE", "small"),
        "executor": os.environ.get("CLAIMS_EXECUTOR", "local") or "local",
        "registry": relative(Path(registry.families[0].file).parent, config.rootpath) if registry.families else None,
        "selection": {
            "args": list(config.invocation_params.args),
            "keyword": config.getoption("keyword", "") or None,
            "markexpr": config.getoption("markexpr", "") or None,
            "claim_checks_collected": len(state.records) + len(state.deselected),
            "claim_checks_deselected": len(state.deselected),
            "claim_checks_ran": len(ran),
        },
        "full": not scope,
        "scope_reasons": scope,
        "complete": not incomplete,
        "incomplete_reasons": incomplete,
        "exit_status": int(exitstatus),
        "cells": cells_totals(results),
    }


def git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def torch_info() -> tuple[str | None, str]:
    """torch version and device, without importing torch: a run that never imported it (harness
    tests) must not pay for it, and re-importing torch after pytester restored sys.modules crashes."""
    torch = sys.modules.get("torch")
    if torch is None:
        try:
            from importlib.metadata import version
            return version("torch"), "not queried (no check imported torch)"
        except Exception:  # noqa: BLE001 - metadata only
            return None, "unknown (torch not installed)"
    if torch.cuda.is_available():
        return torch.__version__, f"cuda: {torch.cuda.get_device_name(0)}"
    return torch.__version__, f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def hypothesis_settings(worker_settings: list[dict]) -> dict | None:
    """The hypothesis profile the checks ran under: the workers' under xdist (`worker_settings`,
    they ran the examples), else this process's. Workers that disagree with each other or with the
    controller are named (they should not: they inherit its environment and command line)."""
    try:
        here = hypothesis_profiles.describe_current()
    except Exception:  # noqa: BLE001 - metadata only
        return None
    if not worker_settings:
        return here
    seen = {tuple(sorted(w.items())) for w in worker_settings}
    ran = dict(worker_settings[0])
    if len(seen) > 1 or ran != here:
        ran["mismatch"] = (f"controller {here['profile']}, workers " +
                           ", ".join(sorted({w['profile'] for w in worker_settings})) +
                           (" with different settings" if len(seen) > 1 else ""))
    return ran


def cells_totals(results) -> dict | None:
    """The run's experiment cells over every check's `cells` evidence: distinct cells, how many were
    reused from the store, computed in this run, stale; the stores, executors and where they were computed."""
    records = [e for r in results for e in r.evidence if e.get("kind") == "cells"]
    if not records:
        return None
    keys = {k for e in records for k in e.get("keys", ())}
    reused = {k for e in records for k in e.get("reused_keys", ())}
    stale = {k for e in records for k in e.get("stale_keys", ())}
    return {"distinct": len(keys), "reused": len(reused & keys), "ran": len(keys - reused), "stale": len(stale),
            "stores": sorted({e.get("store", "") for e in records}),
            "executors": sorted({e.get("executor", "") for e in records}),
            # where, when and on what (each experiment's counts are in its own cells evidence)
            "origins": sorted({p for e in records for p in e.get("places", ())})}


def relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
