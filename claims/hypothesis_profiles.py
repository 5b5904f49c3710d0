"""Hypothesis profiles of the suite, chosen by HYPOTHESIS_PROFILE (or CI=true for "ci").

- main: what the main job `claims check` runs unless HYPOTHESIS_PROFILE says otherwise:
  derandomised (each property test draws the same examples on every run, so the report's
  verdicts are the same on every run), no example database (a failure found on this machine
  last week does not change this week's verdict), 40 examples per property test.
- ci: what CI's test command runs (chosen when CI is set; hypothesis picks it itself then):
  the same settings as main, under the name CI reads in its logs.
- dev: the default of a plain local `pytest`; random, 40 examples per property, so repeated
  local runs explore new examples.
- thorough: 1000 random examples per property: the named random exploration run
  (`HYPOTHESIS_PROFILE=thorough claims check`), before trusting a verdict.
- quick: no shrinking, few examples; the harness's negative controls use it.

A test with its own `@settings(max_examples=...)` (a few slow properties take a share of the
profile's number) keeps the profile's derandomisation and database.

`deadline=None` everywhere: torch's first call in a process is slow, and a
deadline would report that as a failure of the claim. The function-scoped
`evidence` fixture is shared across the examples of a test on purpose (figures
accumulate with keep="max"), so that health check is suppressed.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
               print_blob=True)
_STABLE = dict(max_examples=40, derandomize=True, database=None)

settings.register_profile("main", **_STABLE, **_COMMON)
settings.register_profile("ci", **_STABLE, **_COMMON)
# The random profiles say derandomize=False outright: a profile inherits hypothesis's default settings,
# which under CI=true are hypothesis's own derandomised "ci" profile (a thorough run there was not random).
settings.register_profile("dev", max_examples=40, derandomize=False, **_COMMON)
settings.register_profile("thorough", max_examples=1000, derandomize=False, **_COMMON)
# For the harness's negative controls: find a failure fast, skip shrinking and explaining it.
settings.register_profile("quick", max_examples=25, derandomize=True, database=None,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate], **_COMMON)

PROFILES = ("main", "ci", "dev", "thorough", "quick")   # `claims check` sets "main" (claims/cli_check.py)


def choose_profile() -> str:
    """HYPOTHESIS_PROFILE if set, else "ci" under CI, else "dev"."""
    if os.environ.get("HYPOTHESIS_PROFILE"):
        return os.environ["HYPOTHESIS_PROFILE"]
    return "ci" if os.environ.get("CI", "").lower() not in ("", "0", "false") else "dev"


def load_chosen_profile() -> str:
    """Load choose_profile()'s profile; an unknown name is a clear error naming where it came from."""
    from hypothesis.errors import InvalidArgument
    name = choose_profile()
    try:
        settings.load_profile(name)
    except InvalidArgument:
        raise ValueError(f"HYPOTHESIS_PROFILE={name!r} is not a registered hypothesis profile; this suite's "
                         f"are {', '.join(PROFILES)} (claims/hypothesis_profiles.py)") from None
    return name


def describe_current() -> dict:
    """The active profile as the report records it: name, derandomised or not, examples per test."""
    current = settings()
    return {"profile": settings.get_current_profile_name(), "derandomize": bool(current.derandomize),
            "max_examples": int(current.max_examples), "database": current.database is not None}
