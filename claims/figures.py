"""Evidence files: staged while the checks run, placed when the report is written.

Checks write their files (figures) under `<report dir>/partial/figures/`. A full complete run
replaces `reports/figures/` with them; every file path in the report is then made relative to the
report's folder, so CLAIMS.md links work wherever the checkout is.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def staging_folder(report_dir: Path) -> Path:
    """Where checks write their evidence files during a run."""
    return report_dir / "partial" / "figures"


def place_figures(records, report_dir: Path, target: Path) -> None:
    """Copy the staged files of `records` (ItemRecords) to `target`/figures when the report goes
    elsewhere than partial/, and rewrite their paths relative to `target`."""
    staging = staging_folder(report_dir).resolve()
    final = (target / "figures").resolve()
    moving = final != staging
    if moving and final.exists():
        shutil.rmtree(final)  # exactly this run's figures: none of an earlier run, none of a concurrent one
    for record in records:
        for e in record.evidence.records:
            if e["kind"] != "file":
                continue
            path = Path(e["path"]).resolve()
            if moving and path.is_relative_to(staging) and path.exists():
                destination = final / path.relative_to(staging)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination)
                path = destination
            e["path"] = os.path.relpath(path, target.resolve())
