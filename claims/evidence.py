"""What a check records for the report, through the `evidence` fixture.

    def test_x(evidence):
        evidence.figure("max abs error", err, "1", keep="max")
        evidence.note("compared with an mpmath sum at 50 digits")

Figures keep the last value by default; `keep="max"` / `"min"` keep the
extreme over repeated calls, which is what a hypothesis test wants (its body
runs once per example). `inconclusive(reason)` is how an experiment says its
data cannot decide: the check then counts as inconclusive, not as passed.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path


def _plain(value):
    """A JSON-friendly scalar from Python, numpy or torch numbers."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars, 1-element tensors
        value = value.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, numbers.Complex):
        return repr(complex(value))
    raise TypeError(f"evidence value must be a number or a string, got {type(value).__name__}")


def _as_number(value):
    """A figure's value as a float for keep="max"/"min" ('inf', '-inf', 'nan' are how _plain keeps the
    non-finite ones); None for any other string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if value in ("inf", "-inf", "nan"):
        return float(value)
    return None


class Evidence:
    def __init__(self, nodeid: str, claims: tuple[str, ...], figures_dir: Path):
        self.nodeid = nodeid
        self.claims = claims
        self.figures_dir = figures_dir
        self.records: list[dict] = []
        self.inconclusive_reason: str | None = None

    def _claim(self, claim: str | None) -> str | None:
        if claim is not None and claim not in self.claims:
            raise ValueError(f"{self.nodeid}: evidence for claim {claim!r}, but the test is "
                             f"linked only to {list(self.claims)}")
        return claim

    def figure(self, name: str, value, unit: str = "", *, claim: str | None = None,
               keep: str = "last") -> None:
        """A named measured figure with its unit ('1' or '' for dimensionless)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.nodeid}: a figure needs a non-empty name")
        if keep not in ("last", "max", "min"):
            raise ValueError(f"{self.nodeid}: keep must be 'last', 'max' or 'min', got {keep!r}")
        claim = self._claim(claim)
        value = _plain(value)
        for record in self.records:
            if record["kind"] == "figure" and record["name"] == name and record["claim"] == claim:
                old = _as_number(record["value"])
                new = _as_number(value)
                if keep in ("max", "min") and old is not None and new is not None:
                    if math.isnan(old) or math.isnan(new):
                        value = _plain(math.nan)        # a nan stays in sight
                    else:                               # ±inf (kept as 'inf', '-inf') compare as numbers
                        value = _plain(max(old, new) if keep == "max" else min(old, new))
                record.update(value=value, unit=unit)
                record["count"] = record.get("count", 1) + 1
                return
        self.records.append({"kind": "figure", "name": name, "value": value, "unit": unit,
                             "claim": claim})

    def note(self, text: str, *, claim: str | None = None) -> None:
        self.records.append({"kind": "note", "text": str(text), "claim": self._claim(claim)})

    def counterexample(self, text: str, *, claim: str | None = None) -> None:
        """A counterexample found outside an assertion (an assertion's own message is kept anyway)."""
        self.records.append({"kind": "counterexample", "text": str(text),
                             "claim": self._claim(claim)})

    def file(self, path: str | Path, caption: str = "", *, claim: str | None = None) -> None:
        """A figure or data file written by the check (ideally under `figures_dir`)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{self.nodeid}: evidence file {path} does not exist")
        self.records.append({"kind": "file", "path": str(path), "caption": caption,
                             "claim": self._claim(claim)})

    def scale(self, ran: str, source: str, *, reduced: bool, claim: str | None = None) -> None:
        """At what scale an experiment ran against the scale its source's claim was made at.

        `ran`: model sizes, parameters, tokens (or matrices, sequences ...) of this run;
        `source`: the same for the claim's source ("50M parameters, ~1B bytes (000 § ...)");
        `reduced`: True for a reduced replica, whose verdict speaks for its own scale only.
        The report prints it beside the verdict."""
        if not ran or not source:
            raise ValueError(f"{self.nodeid}: scale needs both `ran` and `source`")
        claim = self._claim(claim)
        self.records = [r for r in self.records if not (r["kind"] == "scale" and r["claim"] == claim)]
        self.records.append({"kind": "scale", "ran": " ".join(str(ran).split()),
                             "source": " ".join(str(source).split()), "reduced": bool(reduced),
                             "text": ("reduced replica: " if reduced else "at the source's scale: ")
                             + f"{' '.join(str(ran).split())} (source: {' '.join(str(source).split())})",
                             "claim": claim})

    def to_decide(self, text: str, *, claim: str | None = None) -> None:
        """What would decide an inconclusive verdict (e.g. "≈ 9 seeds would put the interval clear of
        0.10"), computed from the observed spread; the report prints it beside the verdict."""
        if not text:
            raise ValueError(f"{self.nodeid}: to_decide needs a text")
        self.records.append({"kind": "to_decide", "text": " ".join(str(text).split()),
                             "claim": self._claim(claim)})

    def cells(self, summary: dict, *, claim: str | None = None) -> None:
        """Where an experiment's cells came from (claims/executors.py `CellsOutcome.summary()`):
        counts reused / computed in this run / stale / from another machine, the cell keys, and the places,
        dates and devices they were computed on. The report totals distinct cells over the run."""
        claim = self._claim(claim)
        self.records = [r for r in self.records if not (r["kind"] == "cells" and r["claim"] == claim)]
        self.records.append({"kind": "cells", **summary, "claim": claim})

    def inconclusive(self, reason: str) -> None:
        """The data cannot decide: the check counts as inconclusive (experiments only)."""
        if not reason:
            raise ValueError(f"{self.nodeid}: inconclusive needs a reason")
        self.inconclusive_reason = str(reason)

    def for_claim(self, claim_id: str) -> list[dict]:
        return [dict(r, check=self.nodeid) for r in self.records
                if r["claim"] in (None, claim_id)]
