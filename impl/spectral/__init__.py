"""Spectral toolkit: spectra with a prescribed law (`spectra`), singular values, power-law and
competing fits, eigenvalue-density tail fits, effective ranks."""
