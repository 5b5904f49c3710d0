"""Where the checkout is, and the folders of checks that together make up a full run.

`CHECK_PATHS` is the one definition of those folders: `claims check` runs pytest on them and the
plugin calls a run "full" only when it collected all of them (claims/scope.py). pytest's own
`testpaths` (pyproject.toml) also lists `tests/`, the harness's tests, which decide no claim.
"""

from __future__ import annotations

from pathlib import Path

CHECK_PATHS = ("property_tests", "numeric_checks", "benchmarks")


def project_root() -> Path:
    """The checkout: the nearest folder upwards from cwd with claims/registry and pyproject.toml,
    else the folder that holds this package (an editable install)."""
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "pyproject.toml").exists() and (folder / "claims" / "registry").is_dir():
            return folder
    return Path(__file__).resolve().parents[1]
