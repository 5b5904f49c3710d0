"""Spectral toolkit: singular spectra of weight matrices and their fits.

- `spectra`: spectra with a prescribed law and matrices that have them; captured variance,
  truncation rank, condition number.
- `svd`: singular values, exact (float64) or the top k by a randomized range finder with a
  deterministic error bound.
- `fits`: the rank exponent α of σ_i ∝ i^{−α} (least squares on log–log, and maximum likelihood
  of the Gibbs family on σ²), power law vs exponential vs stretched exponential (R², AIC, BIC),
  and the conversion α = 1/(2(a − 1)) to WeightWatcher's eigenvalue-density exponent a.
- `tail_fit`: the density-tail exponent a of the eigenvalues σ² (Clauset–Shalizi–Newman): by default
  WeightWatcher's alpha (its xmin search), or with `min_tail=K` a search over tails of ≥ K values.
- `effective_rank`: truncation rank, participation ratio, entropy effective rank, stable rank,
  numerical rank.
- `weights`: the 2-D floating-point matrices of a safetensors file or torch checkpoint.
- `report`: every matrix of a model file fitted by all of the above (the `claims spectrum` command's
  library: a table, JSON records, a figure of α by layer).

Submodules are imported explicitly (`from impl.spectral import fits`): importing this package
loads none of them, so `impl.spectral.spectra` stays light (no scipy, no powerlaw).
"""
