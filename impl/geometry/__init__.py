"""Geometry of 003 (GSA I): the power-law orbit in closed form (`orbit`), its definitional
high-precision reference (`naive`), tails and truncation ranks, residual Jacobian chains."""
