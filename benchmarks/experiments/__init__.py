"""Experiments (kind E): each claim-linked test declares its cells (impl/experiments/), runs them
through the harness's executor and decides."""
