"""xdist payloads: what a worker sends the controller, which alone writes the report.

Each claim check's record travels with its teardown report (a user property); when a worker is
done, its `workeroutput` says which claim checks it collected and deselected, whether it imported
torch (version, device) and the hypothesis settings it ran under.
"""

from __future__ import annotations

import sys

from . import hypothesis_profiles
from .outcomes import ItemRecord
from .runinfo import torch_info

PAYLOAD = "claims.record"  # the user property that carries an item's record from an xdist worker


def is_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def record_payload(record: ItemRecord) -> dict:
    return {"nodeid": record.nodeid, "claims": list(record.claims), "outcome": record.outcome,
            "duration_s": record.duration_s, "message": record.message, "location": record.location,
            "experiment": record.experiment,
            "evidence": record.evidence.records, "inconclusive": record.evidence.inconclusive_reason}


def attach_record(report, record: ItemRecord) -> None:
    """On a worker: ship the record with the item's teardown report."""
    report.user_properties.append((PAYLOAD, record_payload(record)))


def records_in(report, claims_session) -> list[ItemRecord]:
    """On the controller: the records a worker shipped with this report."""
    return [record_from_payload(payload, claims_session)
            for name, payload in getattr(report, "user_properties", ()) if name == PAYLOAD]


def record_from_payload(payload: dict, claims_session) -> ItemRecord:
    evidence = claims_session.evidence_for(payload["nodeid"], payload["claims"])
    evidence.records = [dict(r) for r in payload["evidence"]]
    evidence.inconclusive_reason = payload["inconclusive"]
    return ItemRecord(payload["nodeid"], tuple(payload["claims"]), evidence, payload["outcome"],
                      payload["duration_s"], payload["message"], payload["location"],
                      payload.get("experiment", False))


def write_worker_output(config, claims_session) -> None:
    """On a worker at the end of its session: what the controller learns in `absorb_worker_output`."""
    out = config.workeroutput
    out["claims_collected"] = [[r.nodeid, list(r.claims)] for r in claims_session.records.values()]
    out["claims_deselected"] = [item.nodeid for item in claims_session.deselected_items]
    out["claims_torch"] = [None if v is None else str(v) for v in torch_info()]
    out["claims_torch_imported"] = "torch" in sys.modules
    out["claims_hypothesis"] = hypothesis_profiles.describe_current()


def absorb_worker_output(claims_session, output: dict) -> None:
    """On the controller, when a worker is done: what it collected and deselected (checks that no
    worker ran stay 'never ran', which makes the run incomplete), its torch and hypothesis settings."""
    state = claims_session
    state.deselected_ids.update(output.get("claims_deselected", ()))
    if output.get("claims_torch_imported"):
        state.worker_torch = tuple(output["claims_torch"])
    if output.get("claims_hypothesis"):
        state.worker_hypothesis.append(dict(output["claims_hypothesis"]))
    for nodeid, ids in output.get("claims_collected", ()):
        if nodeid not in state.records:  # deselected ones are moved aside when the report is written
            state.records[nodeid] = ItemRecord(nodeid, tuple(ids), state.evidence_for(nodeid, ids))
