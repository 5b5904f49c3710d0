"""Conditioning of the Vandermonde map u ↦ x_L of a diagonal linear RNN (004, Mechanism 2).

With scalar input and B = 1, x_L = V ū with V[n, j] = λ_n^j (j = 0..L−1). Its 2-norm condition
number κ₂(V) = σ_max/σ_min says how much the finite-precision state loses of the inputs.

- `vandermonde_rows(nodes, columns)`: V as rows of any number type (python-flint fmpq for exact
  rationals, acb balls, mpmath numbers), built by repeated multiplication.
- `vandermonde_ball_matrix`, `gram_matrix`: V and G = V^H V in python-flint ball arithmetic.
- `roots_of_unity(N, radius, phase)`: the nodes radius · exp(i(phase + 2πn/N)) as acb balls.
- `certified_condition_number(V)`: κ₂ as an arb ball that contains the true value (rigorous
  eigenvalue enclosures of G, Rump's method in Arb), precision raised until it is tight.
- `condition_number(nodes, columns)`: κ₂ of the nodes as stored (float tensors) to float64
  accuracy: G⁻¹ certified in balls, the two extreme eigenvalues from the ball midpoints. The fast
  path the LRU experiment uses for 64 × 64 complex matrices.
- `mpmath_condition_number`: κ₂ from mpmath's SVD (pure Python; an independent cross-check).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import flint
import mpmath
import numpy as np
import torch

from ..precision import working_precision


def vandermonde_rows(nodes: Sequence, columns: int) -> list[list]:
    """V[n][j] = nodes[n]^j for j = 0..columns−1, each row by repeated multiplication, in the
    nodes' own number type (exact for fmpq nodes)."""
    if columns < 0:
        raise ValueError(f"vandermonde_rows: columns must be >= 0, got {columns}")
    rows = []
    for node in nodes:
        power, row = node ** 0, []
        for _ in range(columns):
            row.append(power)
            power = power * node
        rows.append(row)
    return rows


def _ball(value) -> flint.acb:
    if isinstance(value, flint.acb):
        return value
    if isinstance(value, (flint.arb, flint.fmpq, flint.fmpz, int)):
        return flint.acb(value)
    z = complex(value)
    return flint.acb(z.real, z.imag)


def vandermonde_ball_matrix(nodes: Sequence, columns: int) -> flint.acb_mat:
    """V (N × columns) in acb balls at the current flint precision; nodes may be acb, arb, fmpq
    or Python/numpy numbers (floats are taken as the exact binary numbers they are)."""
    if len(nodes) == 0:
        raise ValueError("vandermonde_ball_matrix: needs at least one node")
    return flint.acb_mat(vandermonde_rows([_ball(z) for z in nodes], columns))


def gram_matrix(V: flint.acb_mat) -> flint.acb_mat:
    """G = V^H V (columns × columns), Hermitian positive semidefinite: its eigenvalues are the
    squared singular values of V."""
    return V.conjugate().transpose() * V


def roots_of_unity(N: int, radius=1, phase=0) -> list[flint.acb]:
    """radius · exp(i(phase + 2πn/N)), n = 0..N−1, as acb balls at the current precision.
    `radius` and `phase` may be exact (fmpq, int) or floats."""
    if N < 1:
        raise ValueError(f"roots_of_unity: N must be >= 1, got {N}")
    r, offset = _ball(radius), _ball(phase)
    return [r * (flint.acb(0, 1) * (offset + 2 * flint.arb.pi() * flint.fmpq(n, N))).exp() for n in range(N)]


def certified_condition_number(V_of_precision, min_bits: int = 128, max_bits: int = 8192,
                               rel_width: float = 1e-12) -> flint.arb:
    """κ₂ of V as an arb ball that contains the true value.

    `V_of_precision(bits)` builds V (an acb_mat) at that flint precision (the nodes rounded to
    balls there). The eigenvalues of G = V^H V are enclosed rigorously (acb_mat.eig, Rump's
    algorithm; clusters of a repeated eigenvalue enclosed together); κ₂ = sqrt(λ_max/λ_min). The
    precision doubles until the enclosures exist and κ₂'s ball is narrower than `rel_width`
    relative."""
    bits = min_bits
    while bits <= max_bits:
        with working_precision(flint_bits=bits):
            G = gram_matrix(V_of_precision(bits))
            try:
                eigenvalues = G.eig(algorithm="rump")
            except ValueError:           # not isolated: a repeated eigenvalue, or too few bits
                try:
                    eigenvalues = G.eig(algorithm="rump", multiple=True)
                except ValueError:
                    bits *= 2
                    continue
            if any(not e.imag.contains(0) for e in eigenvalues):
                raise ValueError("certified_condition_number: V^H V has a non-real eigenvalue, so it is not "
                                 "Hermitian: gram_matrix is wrong")
            real = [e.real for e in eigenvalues]
            lowest = min(real, key=lambda x: float(x.mid()))
            highest = max(real, key=lambda x: float(x.mid()))
            if not lowest > 0:
                bits *= 2
                continue
            kappa = (highest / lowest).sqrt()
            if float(kappa.rad()) <= rel_width * float(kappa.mid()):
                return kappa
        bits *= 2
    raise ArithmeticError(f"certified_condition_number: no tight enclosure within {max_bits} bits")


def condition_number(nodes: torch.Tensor, columns: int, start_bits: int = 256) -> float:
    """κ₂ of V (N × columns), V[n, j] = λ_n^j, for the nodes as stored (exact binary numbers).

    G = V^H V is formed and inverted in python-flint ball arithmetic, doubling the precision until
    G⁻¹ is certified invertible with entries accurate to 20 digits; κ₂² = λ_max(G) λ_max(G⁻¹), both
    largest eigenvalues taken in float64 from the ball midpoints (relative error ~1e-16)."""
    values = [complex(z) for z in nodes.to(torch.complex128).tolist()]
    bits = start_bits
    while True:
        with working_precision(flint_bits=bits):
            G = gram_matrix(vandermonde_ball_matrix(values, columns))
            try:
                G_inv = G.inv()
            except ZeroDivisionError:       # not certified invertible at this precision
                bits *= 2
                continue
            entries = [G_inv[i, j] for i in range(columns) for j in range(columns)]
            top = max(float(abs(e.mid())) for e in entries)
            if max(float(e.rad()) for e in entries) > 1e-20 * top:
                bits *= 2
                continue
            return math.sqrt(_largest_eigenvalue(G) * _largest_eigenvalue(G_inv))


def _largest_eigenvalue(M: flint.acb_mat) -> float:
    """λ_max of a Hermitian ball matrix from its midpoints, scaled into float64's range first."""
    n = M.nrows()
    top = max(abs(M[i, j].mid()) for i in range(n) for j in range(n))
    A = np.array([[complex(M[i, j].mid() / top) for j in range(n)] for i in range(n)])
    return float(np.linalg.eigvalsh((A + A.conj().T) / 2)[-1]) * float(top)


def mpmath_condition_number(nodes: torch.Tensor, columns: int, digits: int = 60) -> float:
    """κ₂ from mpmath's SVD at `digits` digits (the cross-check of `condition_number`)."""
    with working_precision(mpmath_dps=digits):
        if nodes.is_complex():
            V = mpmath.matrix([[mpmath.mpc(complex(z)) ** j for j in range(columns)] for z in nodes.tolist()])
            s = mpmath.svd_c(V, compute_uv=False)
        else:
            V = mpmath.matrix([[mpmath.mpf(float(z)) ** j for j in range(columns)] for z in nodes.tolist()])
            s = mpmath.svd_r(V, compute_uv=False)
        return float(max(s) / min(s))
