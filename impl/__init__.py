"""The PyTorch implementation the claims are checked against.

A library in its own right: it imports nothing from `claims/` or the checks.
Each recurrence keeps its plain step-by-step reference (`naive.py`) beside its
fast path, so "correct" is defined one file away from "fast".
"""
