"""The CI regression gate (`gate.py`), run by the plain `pytest` and hence by `.ci/run`:
every gate case's fast path agrees with its reference, its work runs on the timed thread, and
its same-run speed ratios (thread CPU time, so they hold beside other processes) hold against
`baseline.json`. Refresh the baseline with `python -m benchmarks.kernels.gate --refresh`.
"""

from __future__ import annotations

import pytest

from . import gate


@pytest.mark.kernel_gate
@pytest.mark.parametrize("case", list(gate.GATE_CASES))
def test_kernel_holds_its_baseline(case):
    verdicts = gate.run_gate([case])
    print("\n" + gate.summary(verdicts))
    assert all(v.passed for v in verdicts), gate.summary(verdicts)
