"""Byte-level language models built from the impl/ recurrences, the byte data stream, and a
seeded, deterministic training loop with measurement hooks (spectra, ranks, gradient statistics)."""
