"""Full or partial: whether a run may write the report to `reports/` or only to `reports/partial/`.

A run is *full* when it collected every folder of `CHECK_PATHS` (claims/project.py) and deselected
no claim check; it is *complete* when every collected check ran (no collection error, Ctrl-C,
SIGTERM, -x stop or internal error). Only a full complete run replaces `reports/`; every other
run writes `reports/partial/`, saying why.
"""

from __future__ import annotations

from .project import CHECK_PATHS


def scope_reasons(config, deselected: int) -> list[str]:
    """Why this run is not a full run (empty list: it is). `deselected`: claim checks deselected."""
    reasons = []
    if deselected:
        how = []
        if config.getoption("keyword", ""):
            how.append(f"-k {config.getoption('keyword')!r}")
        if config.getoption("markexpr", ""):
            how.append(f"-m {config.getoption('markexpr')!r}")
        reasons.append(f"{deselected} tests deselected" + (f" ({', '.join(how)})" if how else ""))
    invocation = config.invocation_params.dir
    args = []
    for arg in config.args:
        path_part = arg.split("::")[0]
        if "::" in arg:
            reasons.append(f"selected by node id {arg}")
        args.append((invocation / path_part).resolve())
    ignored = [(invocation / p).resolve() for p in (config.getoption("ignore") or [])]
    for name in CHECK_PATHS:
        path = (config.rootpath / name).resolve()
        if not path.exists():
            continue
        if not any(path == a or a in path.parents for a in args):
            reasons.append(f"{name}/ not collected")
        elif any(i == path or path in i.parents or i in path.parents for i in ignored):
            reasons.append(f"{name}/ partly ignored (--ignore)")
    return reasons


def incomplete_reasons(*, collection_errors: list[str], interrupted: str | None, interrupts: list[str],
                       internal_error: bool, stopped_early: str | bool, never_ran: int) -> list[str]:
    """Why this run is not complete (empty list: it is), the most telling reason first."""
    reasons = []
    if collection_errors:  # pytest then stops with its own "Interrupted", not a Ctrl-C
        reasons.append(f"{len(collection_errors)} collection error(s): {', '.join(collection_errors[:5])}")
    elif interrupted:
        reasons.append(interrupted)
    elif interrupts:
        reasons.append(interrupts[0])
    if internal_error:
        reasons.append("pytest internal error")
    if stopped_early and not reasons:
        reasons.append(f"stopped early: {stopped_early}")
    if never_ran:
        reasons.append(f"{never_ran} collected checks never ran")
    return reasons
