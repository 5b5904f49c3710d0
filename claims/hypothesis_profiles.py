"""Hypothesis profiles of the suite, chosen by HYPOTHESIS_PROFILE (or CI=true for "ci").

- dev: the default for a local run; random, a few dozen examples per property.
- ci: what CI runs (hypothesis picks it itself when CI is set): derandomised so a
  red CI is reproducible, no example database, no deadline.
- thorough: many more examples, for a long local run before trusting a verdict.
- quick: no shrinking, few examples; the harness's negative controls use it.

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

settings.register_profile("dev", max_examples=40, **_COMMON)
settings.register_profile("ci", max_examples=40, derandomize=True, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=1000, **_COMMON)
# For the harness's negative controls: find a failure fast, skip shrinking and explaining it.
settings.register_profile("quick", max_examples=25, derandomize=True, database=None,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate], **_COMMON)

PROFILES = ("dev", "ci", "thorough", "quick")


def choose_profile() -> str:
    """HYPOTHESIS_PROFILE if set, else "ci" under CI, else "dev"."""
    if os.environ.get("HYPOTHESIS_PROFILE"):
        return os.environ["HYPOTHESIS_PROFILE"]
    return "ci" if os.environ.get("CI", "").lower() not in ("", "0", "false") else "dev"
