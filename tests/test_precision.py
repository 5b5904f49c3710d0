"""`impl.precision`: the one precision context for mpmath and python-flint, and the guard in the
repository's conftest.py that fails a check which leaves either library's global precision changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import flint
import mpmath
import pytest

from impl.precision import PrecisionLeak, current_precision, precision_guard, working_precision

ROOT = Path(__file__).resolve().parents[1]


def test_working_precision_sets_what_it_is_given_and_restores_everything():
    before = current_precision()
    with working_precision(mpmath_dps=60, flint_bits=200, flint_cap=32) as inside:
        assert (mpmath.mp.dps, flint.ctx.prec, flint.ctx.cap) == (60, 200, 32) and inside == current_precision()
        flint.ctx.prec = 999             # whatever the block changes, the exit restores
        mpmath.mp.prec = 7
    assert current_precision() == before
    with working_precision(flint_bits=300):
        assert mpmath.mp.prec == before.mpmath_bits and flint.ctx.prec == 300   # mpmath left as it is
    assert current_precision() == before


def test_working_precision_gives_the_libraries_own_precisions():
    """The checks moved from mpmath.workdps / flint.ctx.workprec keep their precision bit for bit."""
    for digits in (15, 30, 50, 60, 200):
        with mpmath.workdps(digits):
            want = mpmath.mp.prec
        with working_precision(mpmath_dps=digits):
            assert mpmath.mp.prec == want, digits
            assert str(mpmath.pi) == mpmath.nstr(mpmath.pi, digits)
    for bits in (128, 200, 256):
        with flint.ctx.workprec(bits):
            want = str(flint.arb(2).sqrt())
        with working_precision(flint_bits=bits):
            assert str(flint.arb(2).sqrt()) == want


def test_working_precision_restores_on_an_exception_and_nests():
    before = current_precision()
    with pytest.raises(ZeroDivisionError):
        with working_precision(mpmath_dps=40, flint_bits=100):
            with working_precision(flint_bits=400):
                assert flint.ctx.prec == 400 and mpmath.mp.dps == 40
            assert flint.ctx.prec == 100
            1 / 0
    assert current_precision() == before


def test_working_precision_as_a_decorator():
    @working_precision(flint_bits=200)
    def certified():
        return flint.ctx.prec

    before = current_precision()
    assert certified() == 200 and certified() == 200 and current_precision() == before


@pytest.mark.parametrize("bad", [0, -5, 2.5, True, "60"])
def test_a_bad_precision_is_a_clear_error(bad):
    with pytest.raises(ValueError, match=r"working_precision: mpmath_dps must be a positive int or None, got"):
        with working_precision(mpmath_dps=bad):
            pass


def test_the_guard_restores_and_names_the_leak():
    before = current_precision()
    with pytest.raises(PrecisionLeak, match=r"my check left the global precision changed \(flint.ctx.prec "
                                            rf"{before.flint_bits} -> 200, flint.ctx.cap {before.flint_cap} -> 32\)"):
        with precision_guard("my check"):
            flint.ctx.prec = 200
            flint.ctx.cap = 32
    assert current_precision() == before
    with precision_guard("a clean check"), working_precision(mpmath_dps=80):
        pass
    # the block's own error is not masked by a leak report (the settings are restored all the same)
    with pytest.raises(KeyError):
        with precision_guard("a failing check"):
            mpmath.mp.dps = 99
            raise KeyError("the check's own failure")
    assert current_precision() == before


LEAKING_CHECKS = """
import flint
import mpmath
from impl.precision import working_precision

def test_a_leaking_check():
    flint.ctx.prec = 200          # the bug: set globally, never restored

def test_runs_after_it():
    assert (flint.ctx.prec, mpmath.mp.prec) == (53, 53), "a leaked precision reached this check"

def test_a_check_that_restores():
    with working_precision(mpmath_dps=60, flint_bits=300):
        assert flint.ctx.prec == 300
"""


def test_the_repository_guard_fails_a_leaking_check_and_shields_the_next(pytester):
    shutil.copy(ROOT / "conftest.py", pytester.path / "conftest.py")
    pytester.makepyfile(test_leak=LEAKING_CHECKS)
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_a_leaking_check*",
                                 "*PrecisionLeak: test_leak.py::test_a_leaking_check left the global precision "
                                 "changed (flint.ctx.prec 53 -> 200)*"])
    assert flint.ctx.prec == 53


def test_without_the_guard_the_leak_reaches_the_next_check(pytester):
    """The control: the same checks with no guard pass the leak on, and the next check sees it."""
    pytester.makepyfile(test_leak=LEAKING_CHECKS)
    try:
        result = pytester.runpytest("-p", "no:randomly", "-p", "no:xdist", "-p", "no:cacheprovider")
    finally:
        flint.ctx.prec = 53
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: a leaked precision reached this check*",
                                 "*FAILED test_leak.py::test_runs_after_it*"])
