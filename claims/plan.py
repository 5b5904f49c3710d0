"""The cost of experiment cells, estimated before they run (for `claims plan` and the full-scale refusal).

Per experiment: its cells, the distinct model sizes (parameters), the tokens its training cells
see, the training FLOPs estimated as 6 · parameters · tokens (forward + backward of a dense
model: Kaplan et al. 2020's C ≈ 6ND), the GPU-hours those FLOPs take on a reference GPU at an
assumed utilisation, and how many of the cells the results store already holds.

Every experiment library module (`EXPERIMENT_MODULES`, claims/cli_cells.py) exposes
`declare_cells() -> list[Cell]`, reading the scale from CLAIMS_SCALE as its sizes do (at import:
one scale per process); cells that train no model (numeric measurements) carry no parameter or
token count and add no FLOPs.
"""

from __future__ import annotations

from typing import Sequence

# The reference GPU of the estimate: NVIDIA H100 SXM, dense bf16 tensor-core peak 989.4 TFLOP/s
# (NVIDIA's datasheet), at 30% of peak — a plain assumption for small recurrent models, whose
# sequential scans keep them well below a transformer's utilisation.
REFERENCE_GPU = "NVIDIA H100 SXM (989 TFLOP/s bf16 dense peak, 30% assumed)"
REFERENCE_FLOPS = 989.4e12 * 0.30


def estimate(cells: Sequence) -> dict:
    tokens = sum(c.tokens or 0 for c in cells)
    flops = sum(6 * (c.params or 0) * (c.tokens or 0) for c in cells)
    return {"cells": len(cells), "tokens": tokens, "flops": float(flops),
            "gpu_hours": flops / REFERENCE_FLOPS / 3600, "gpu": REFERENCE_GPU,
            "params": sorted({c.params for c in cells if c.params})}


def render(rows: list[dict], scale: str, store_path: str) -> str:
    def params(values):
        if not values:
            return "—"
        shown = [f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v:,}" for v in values]
        return ", ".join(shown) if len(shown) <= 3 else f"{shown[0]} … {shown[-1]} ({len(shown)} sizes)"

    header = ("experiment", "cells", "in store", "parameters per model", "tokens", "FLOPs (6·N·D)", "GPU-hours")
    body = [(r["experiment"], str(r["distinct"]), f"{r['in_store']}/{r['distinct']}", params(r["params"]),
             f"{r['tokens']:,}" if r["tokens"] else "—", f"{r['flops']:.2e}" if r["flops"] else "—",
             f"{r['gpu_hours']:.2f}" if r["flops"] else "—") for r in rows]
    total = estimate([])
    total.update(tokens=sum(r["tokens"] for r in rows), flops=sum(r["flops"] for r in rows),
                 gpu_hours=sum(r["gpu_hours"] for r in rows))
    body.append(("total", str(sum(r["distinct"] for r in rows)),
                 f"{sum(r['in_store'] for r in rows)}/{sum(r['distinct'] for r in rows)}", "",
                 f"{total['tokens']:,}", f"{total['flops']:.2e}", f"{total['gpu_hours']:.2f}"))
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
    line = lambda row: "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)  # noqa: E731
                                 for i, (cell, w) in enumerate(zip(row, widths)))
    out = [f"plan at scale {scale}: GPU-hours on {REFERENCE_GPU}; store {store_path}",
           "(FLOPs-based: a lower bound for these recurrences, whose step loops a GPU runs at far less than "
           "its peak; time a medium run before planning a full one)", line(header),
           line(tuple("-" * w for w in widths))]
    out += [line(row) for row in body]
    return "\n".join(out)
