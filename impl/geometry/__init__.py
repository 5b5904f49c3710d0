"""Geometry of 003 (GSA I): the power-law orbit in closed form (`orbit`), its definitional
high-precision reference (`naive`), the bounds and identities 003 states about it (`orbit_bounds`),
tails and truncation ranks, residual Jacobian chains."""
