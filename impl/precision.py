"""One precision context for mpmath and python-flint, and a guard that catches a leaked precision.

mpmath (`mpmath.mp.prec`) and python-flint (`flint.ctx.prec`, and `flint.ctx.cap`, the number of
terms a power series keeps) hold their working precision in process-wide globals. A check that sets
one and does not restore it changes every check that runs after it in the same process, so a result
would depend on the order of the run (SciPy's `_mptestutils` saves and restores mpmath's precision
around every check for the same reason). Hence:

- `working_precision(mpmath_dps=..., flint_bits=..., flint_cap=...)`: the one way code in `impl` and
  the checks set a precision. It sets what it is given (mpmath in decimal digits, as
  `mpmath.workdps`; flint in bits, as `flint.ctx.workprec`) and restores all of mpmath's and
  flint's settings on exit, also on an exception (usable as a decorator too).
  One exception, on purpose: inside the body of a hypothesis test (`@given`) the checks keep
  `mpmath.workdps` / `flint.ctx.workprec`, which restore their own setting. Hypothesis derandomises
  from the test's source, so rewriting such a body changes the examples the main job draws, and
  with them its figures and possibly its verdict (it did: numeric_checks/test_gsa_orbit.py's orbit
  membership check then drew d = 2, α = 1, where ρ's error 4.3e-15 exceeds its bound 8·d·eps).
- `precision_guard(what)`: around a whole check (the autouse fixture in the repository's
  conftest.py): restores the settings the check found and raises `PrecisionLeak`, naming the check
  and the setting, if the check left one changed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import flint
import mpmath


@dataclass(frozen=True)
class Precision:
    """The process-wide settings: mpmath's binary precision, flint's binary precision and series cap."""
    mpmath_bits: int
    flint_bits: int
    flint_cap: int

    def describe_change(self, after: Precision) -> str:
        """'mpmath.mp.prec 53 -> 200, ...' for the settings that differ between self and after."""
        names = (("mpmath.mp.prec", "mpmath_bits"), ("flint.ctx.prec", "flint_bits"), ("flint.ctx.cap", "flint_cap"))
        return ", ".join(f"{name} {getattr(self, field)} -> {getattr(after, field)}"
                         for name, field in names if getattr(self, field) != getattr(after, field))


def current_precision() -> Precision:
    return Precision(mpmath.mp.prec, flint.ctx.prec, flint.ctx.cap)


def restore_precision(saved: Precision) -> None:
    mpmath.mp.prec = saved.mpmath_bits
    flint.ctx.prec = saved.flint_bits
    flint.ctx.cap = saved.flint_cap


def _positive(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"working_precision: {name} must be a positive int or None, got {value!r}")


@contextlib.contextmanager
def working_precision(*, mpmath_dps: int | None = None, flint_bits: int | None = None,
                      flint_cap: int | None = None) -> Iterator[Precision]:
    """Within the block: mpmath at `mpmath_dps` decimal digits, flint at `flint_bits` bits and a
    power-series cap of `flint_cap` terms (None: that setting is left as it is). On exit every
    setting is restored to its value on entry, whatever the block changed. Yields the block's settings."""
    for name, value in (("mpmath_dps", mpmath_dps), ("flint_bits", flint_bits), ("flint_cap", flint_cap)):
        _positive(name, value)
    saved = current_precision()
    try:
        if mpmath_dps is not None:
            mpmath.mp.dps = mpmath_dps
        if flint_bits is not None:
            flint.ctx.prec = flint_bits
        if flint_cap is not None:
            flint.ctx.cap = flint_cap
        yield current_precision()
    finally:
        restore_precision(saved)


class PrecisionLeak(AssertionError):
    """A check left mpmath's or flint's global precision changed."""


@contextlib.contextmanager
def precision_guard(what: str) -> Iterator[None]:
    """Run the block; if it left a precision setting changed, restore it and raise PrecisionLeak
    naming `what` (the check) and the setting. An exception from the block itself propagates as it is
    (the settings are restored then too)."""
    before = current_precision()
    failed = True
    try:
        yield
        failed = False
    finally:
        after = current_precision()
        if after != before:
            restore_precision(before)
            if not failed:
                raise PrecisionLeak(f"{what} left the global precision changed ({before.describe_change(after)}); "
                                    "set precision inside `impl.precision.working_precision(...)`, which restores it")
