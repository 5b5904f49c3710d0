"""Expansion trade-off (000 "ExpansionTradeoff.lean"), checked on impl's layers.

- expansion.rank_bottleneck: the rank of W_down W_up (and of E1's linear pathway
  out_proj · W_x · in_proj_x) is measured twice — by SVD with a stated tolerance in
  float64, and exactly over Q with python-flint (every float64 is a dyadic rational, so
  the module's own weights convert without loss) — and compared with min(rank W_down,
  rank W_up) ≤ d, over drawn shapes that include D < d.
- expansion.wide_beats_narrow (P part): the layer is a recurrence with a d-dimensional state
  (impl's LinearRNN, or StockElman) followed by a per-step MLP d → e·d → d. Configurations are
  chosen by counting the modules (num_parameters): the wide config is the widest whose count
  does not exceed the narrow one's (the document's P(d, e) = 2d² + 2e·d² is only compared with
  those counts). Both state sizes and both reachable dimensions (rank of the Krylov matrix
  [B, AB, …] of the layer's linear map, or of its linearisation at 0) are measured.

expansion.diagonal_more_efficient shares its measurement (parameters per reachable
dimension, read off the modules) with the low-rank efficiency claims and is checked in
test_lowrank.py.
"""

from __future__ import annotations

from fractions import Fraction

import flint
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from impl.elman import E1Layer, StockElman, num_parameters
from impl.linear_rnn import LinearRNN, krylov_matrix
from impl.testing import rational_matrices, to_tensor
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# Numerical rank: singular values above RANK_RTOL · σ_max count. The dyadic draws are small
# integers over 4 (products over 16) in d × d products with d <= 6, whose nonzero singular values
# sit far above 1e-10 · σ_max, while float64 round-off leaves the zero ones near 1e-16 · σ_max.
RANK_RTOL = 1e-10



# ------------------------------------------------------------- measurements (independent)

def numerical_rank(M: torch.Tensor) -> int:
    """Rank by SVD with the stated relative tolerance (torch.linalg.matrix_rank, float64)."""
    return int(torch.linalg.matrix_rank(M.detach().to(torch.float64), rtol=RANK_RTOL))


def exact_matrix(M) -> flint.fmpq_mat:
    """A float tensor (exactly: every float64 is a dyadic rational) or a list of Fraction rows
    as a python-flint matrix over Q."""
    if isinstance(M, torch.Tensor):
        rows = M.detach().to(torch.float64).tolist()
        entries = [flint.fmpq(*float(v).as_integer_ratio()) for row in rows for v in row]
        return flint.fmpq_mat(M.shape[0], M.shape[1], entries)
    entries = [flint.fmpq(v.numerator, v.denominator) for row in M for v in row]
    return flint.fmpq_mat(len(M), len(M[0]), entries)


def exact_rank(M) -> int:
    return exact_matrix(M).rank()


@st.composite
def factor_pairs(draw):
    """(W_up (D, d), W_down (d, D)) in dyadic rationals: D = e·d for e in {1, 2, 4} or any
    D in 1..12 (so D < d happens: a compression), each factor optionally built with a rank
    deficit (a product of thinner dyadic matrices)."""
    d = draw(st.integers(1, 6))
    D = draw(st.one_of(st.sampled_from([d, 2 * d, 4 * d]), st.integers(1, 12)))

    def factor(rows, cols):
        if draw(st.booleans()):
            return draw(rational_matrices(rows, cols))
        k = draw(st.integers(0, min(rows, cols)))          # rank <= k by construction
        if k == 0:
            return [[Fraction(0)] * cols for _ in range(rows)]
        P, Q = draw(rational_matrices(rows, k)), draw(rational_matrices(k, cols))
        return [[sum((P[i][j] * Q[j][c] for j in range(k)), Fraction(0)) for c in range(cols)]
                for i in range(rows)]

    return factor(D, d), factor(d, D)


# ------------------------------------------------------------- expansion.rank_bottleneck

@pytest.mark.claim("expansion.rank_bottleneck")
@given(pair=factor_pairs())
def test_expansion_pathway_has_rank_at_most_d(pair, evidence):
    """rank(W_down W_up) ≤ min(rank W_down, rank W_up) ≤ d: the float64 product's SVD rank
    must equal its exact rank over Q, and the exact ranks must obey the bound."""
    up, down = pair
    D, d = len(up), len(up[0])
    W_up, W_down = to_tensor(up).to(DEVICE), to_tensor(down).to(DEVICE)
    product = W_down @ W_up                                  # (d, d): d → D → d
    measured = numerical_rank(product)
    exact_product = exact_matrix(down) * exact_matrix(up)
    exact = exact_product.rank()
    rank_up, rank_down = exact_rank(up), exact_rank(down)
    bound = min(rank_down, rank_up)
    evidence.figure("largest rank(W_down W_up) / d seen", measured / d, "1", keep="max")
    evidence.figure("largest d seen with D < d", d if D < d else 0, "", keep="max")
    assert measured == exact, (
        f"SVD rank of W_down W_up is {measured} but its exact rank over Q is {exact} "
        f"(d={d}, D={D}, singular values {torch.linalg.svdvals(product).tolist()})")
    assert exact <= bound <= min(d, D) <= d, (
        f"rank(W_down W_up) = {exact} exceeds min(rank W_down = {rank_down}, rank W_up = {rank_up}) "
        f"or the width bound (d={d}, D={D})")


@pytest.mark.claim("expansion.rank_bottleneck")
@given(dim=st.integers(1, 6), expansion=st.sampled_from([1.0, 1.5, 2.0, 4.0]),
       dead=st.integers(0, 6), seed=st.integers(0, 2**16))
def test_e1_expansion_pathway_has_rank_at_most_dim(dim, expansion, dead, seed, evidence):
    """E1's per-step pathway dim → d_in → dim (in_proj's x half, the input matrix W_x, out_proj),
    read from the module at its own random init, with `dead` rows of in_proj zeroed (units that
    never fire): the SVD rank of each composed map equals its exact rank over Q of the very same
    float64 weights and is at most min(rank of the factors) ≤ dim."""
    torch.manual_seed(seed)
    layer = E1Layer(dim=dim, expansion=expansion, dtype=torch.float64, device=DEVICE)
    d_in = layer.state_size
    W_in = layer.in_proj.weight.detach().clone()            # (2·d_in, dim): x half, then z half
    W_up = W_in[:d_in]
    W_up[: min(dead, d_in)] = 0.0
    W_x, W_down = layer.W_x.detach(), layer.out_proj.weight.detach()
    for name, factors in (("out_proj · in_proj_x", [W_down, W_up]),
                          ("out_proj · W_x · in_proj_x", [W_down, W_x, W_up])):
        product = factors[0]
        exact_product = exact_matrix(factors[0])
        for f in factors[1:]:
            product = product @ f
            exact_product = exact_product * exact_matrix(f)
        measured, exact = numerical_rank(product), exact_product.rank()
        bound = min(exact_rank(f) for f in factors)
        evidence.figure(f"largest rank / dim seen ({name})", measured / dim, "1", keep="max")
        assert measured == exact, (f"{name}: SVD rank {measured} != exact rank {exact} "
                                   f"(dim={dim}, d_in={d_in}, dead rows={dead})")
        assert exact <= bound <= dim, (f"{name}: rank {exact} > min factor rank {bound} or > dim={dim} "
                                       f"(d_in={d_in}, dead rows={dead})")


# ------------------------------------------------------------- expansion.wide_beats_narrow (P part)

EXPANSIONS = (1.0, 1.5, 2.0, 3.0, 4.0)


def document_count(d: int, e: float) -> float:
    """The document's per-layer count P(d, e) = 2d² + 2e·d²: compared with the module counts, which
    are what chooses the configurations."""
    return 2 * d * d + 2 * e * d * d


def expanded_layer(kind: str, d: int, e: float, *, dtype=torch.float64, device="meta") -> nn.ModuleDict:
    """The document's layer: a recurrence with a d-dimensional state reading a d-dimensional input,
    followed by a per-step expansion MLP d → e·d → d (no biases, as in the document's count).
    kind "linear": impl's LinearRNN (A, B); kind "elman": impl's StockElman (W_x, W_h, b)."""
    width = e * d
    if width != int(width):
        raise ValueError(f"expanded_layer: e·d must be an integer, got e={e}, d={d}")
    kw = dict(dtype=dtype, device=device)
    recurrence = LinearRNN(d, d, **kw) if kind == "linear" else StockElman(d, d, **kw)
    return nn.ModuleDict(dict(recurrence=recurrence,
                              expand=nn.Linear(d, int(width), bias=False, **kw),
                              contract=nn.Linear(int(width), d, bias=False, **kw)))


def layer_count(kind: str, d: int, e: float) -> int:
    return num_parameters(expanded_layer(kind, d, e))   # on "meta": counting costs nothing


def state_size(recurrence: nn.Module) -> int:
    return recurrence.state_size if hasattr(recurrence, "state_size") else recurrence.state_dim


def linear_map(recurrence: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, B) of the recurrence: LinearRNN's own, or StockElman's linearisation at h = 0, x = 0
    (tanh'(0) = 1, so A = W_h and B = W_x)."""
    if isinstance(recurrence, LinearRNN):
        return recurrence.transition.detach(), recurrence.B.detach()
    return recurrence.recurrent_matrix().detach(), recurrence.W_x.detach()


def reachable_dimension(A: torch.Tensor, B: torch.Tensor) -> int:
    """dim col [B, AB, …, A^{k-1}B], growing k until the rank stops growing (then the column space
    is A-invariant, so it is the whole reachable space). Each block is scaled to unit norm (column
    scaling keeps the rank) and the rank is taken on the tall transpose (SVD, RANK_RTOL)."""
    n, m, rank = A.shape[0], B.shape[1], 0
    for steps in range(1, n + 1):
        blocks = krylov_matrix(A, B, steps).reshape(n, steps, m)
        blocks = blocks / blocks.norm(dim=(0, 2), keepdim=True).clamp_min(torch.finfo(blocks.dtype).tiny)
        grown = numerical_rank(blocks.reshape(n, steps * m).T)
        if grown == rank or grown == n:
            return grown
        rank = grown
    return rank


def widest(count, budget: int, step: int = 1) -> int:
    """The largest multiple d of `step` with count(d) <= budget, by bisection (count grows with d)."""
    lo, hi = 1, 2
    while count(step * hi) <= budget:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:                                # count(step·lo) <= budget < count(step·hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if count(step * mid) <= budget else (lo, mid)
    return step * lo


def widest_within(kind: str, budget: int, e: float) -> int:
    """The widest layer of expansion e (e·d an integer) that, counted on the module, has at most
    `budget` parameters."""
    return widest(lambda d: layer_count(kind, d, e), budget, step=1 if float(e).is_integer() else 2)


def build(kind: str, d: int, e: float, seed: int) -> nn.ModuleDict:
    torch.manual_seed(seed)
    return expanded_layer(kind, d, e, device=DEVICE).eval()


@pytest.mark.claim("expansion.wide_beats_narrow")
@pytest.mark.parametrize("kind", ["linear", "elman"])
@given(pair=st.sampled_from([(n, w) for n in EXPANSIONS for w in EXPANSIONS if n > w]),
       half_width=st.integers(12, 32))
def test_at_equal_parameters_the_wide_config_has_the_larger_state(kind, pair, half_width, evidence):
    """For e_n > e_w ≥ 1 and a narrow width d_n, the wide config is the widest one whose layer,
    counted on the modules, has no more parameters than the narrow one. It must come out wider,
    with a larger state_size and a larger measured reachable dimension."""
    e_n, e_w = pair
    d_n = 2 * half_width                                          # even: e·d is an integer for e = 1.5
    budget = layer_count(kind, d_n, e_n)
    d_w = widest_within(kind, budget, e_w)
    count_w = layer_count(kind, d_w, e_w)
    narrow, wide = build(kind, d_n, e_n, seed=d_n), build(kind, d_w, e_w, seed=d_w)
    states = state_size(narrow["recurrence"]), state_size(wide["recurrence"])
    reach = reachable_dimension(*linear_map(narrow["recurrence"])), reachable_dimension(*linear_map(wide["recurrence"]))
    evidence.figure(f"smallest state_size ratio wide / narrow ({kind})", states[1] / states[0], "1", keep="min")
    evidence.figure(f"smallest reachable-dimension ratio wide / narrow ({kind})", reach[1] / reach[0], "1",
                    keep="min")
    evidence.figure(f"largest parameter deficit of the wide config ({kind})", 1 - count_w / budget, "1",
                    keep="max")
    evidence.figure(f"largest relative gap module count vs document P(d, e) ({kind})",
                    max(abs(budget / document_count(d_n, e_n) - 1), abs(count_w / document_count(d_w, e_w) - 1)),
                    "1", keep="max")
    where = (f"{kind}: narrow (d={d_n}, e={e_n}) {budget} parameters, wide (d={d_w}, e={e_w}) {count_w}; "
             f"state_size {states}, reachable dimension {reach}")
    assert count_w <= budget, f"the wide config has more parameters: {where}"
    assert d_w > d_n, f"at no more parameters the lower expansion is not wider: {where}"
    assert states[1] > states[0], f"the wide config's state is not larger: {where}"
    assert reach[1] > reach[0], f"the wide config reaches no larger state space: {where}"


def e1_count(dim: int, e: float) -> int:
    return num_parameters(E1Layer(dim, e, device="meta"))


@pytest.mark.claim("expansion.wide_beats_narrow")
def test_document_configurations_and_the_e1_scope(evidence):
    """The decision rule's pair — narrow (256, e=4), wide (405, e=1), equal parameters within 0.2% —
    counted and measured on the modules; the document's table pair (512, 4) vs (1024, 1) counted;
    and, for scope only, E1, whose expansion widens the recurrent state itself."""
    for kind in ("linear", "elman"):
        P_n, P_w = layer_count(kind, 256, 4.0), layer_count(kind, 405, 1.0)
        narrow, wide = build(kind, 256, 4.0, seed=256), build(kind, 405, 1.0, seed=405)
        states = state_size(narrow["recurrence"]), state_size(wide["recurrence"])
        reach = (reachable_dimension(*linear_map(narrow["recurrence"])),
                 reachable_dimension(*linear_map(wide["recurrence"])))
        gap = (P_w - P_n) / P_n
        evidence.figure(f"parameters narrow (256, e=4), {kind}", P_n, "")
        evidence.figure(f"parameters wide (405, e=1), {kind}", P_w, "")
        evidence.figure(f"state_size narrow / wide, {kind}", f"{states[0]} / {states[1]}", "")
        evidence.figure(f"reachable dimension narrow / wide, {kind}", f"{reach[0]} / {reach[1]}", "")
        where = f"{kind}: parameters {P_n} vs {P_w}, state_size {states}, reachable dimension {reach}"
        assert abs(gap) <= 0.002, f"the decision rule's pair is not at equal parameters: {where}"
        assert states[1] > states[0] and reach[1] > reach[0], f"the wide config is not larger: {where}"

    # the document's experimental table calls A (512, e=4) and B (1024, e=1) "same P"
    P_A, P_B = layer_count("linear", 512, 4.0), layer_count("linear", 1024, 1.0)
    partner = widest_within("linear", P_A, 1.0)
    evidence.figure("parameter ratio of the table's 'same P' pair B (1024, 1) / A (512, 4)", P_B / P_A, "1")
    evidence.figure("widest e=1 width within the parameters of (512, e=4)", partner, "")

    # scope: in E1 the expansion is the state (state_size = int(e·dim)), not a per-step MLP
    budget = e1_count(256, 4.0)
    d_w = widest(lambda d: e1_count(d, 1.0), budget)
    narrow_e1, wide_e1 = E1Layer(256, 4.0, device="meta"), E1Layer(d_w, 1.0, device="meta")
    for layer in (narrow_e1, wide_e1):       # the state the recurrence multiplies: W_h is (d_in, d_in)
        assert tuple(layer.W_h.shape) == (layer.state_size,) * 2, (
            f"E1(dim {layer.dim}, e={layer.expansion}): state_size {layer.state_size}, W_h {tuple(layer.W_h.shape)}")
    evidence.figure("E1 scope: state_size of E1(dim 256, e=4) / widest E1(e=1) within its parameters",
                    narrow_e1.state_size / wide_e1.state_size, "1")
    evidence.note(f"Scope: the claim is about a d-dimensional state followed by a per-step MLP d → e·d → d "
                  f"(checked above on LinearRNN and StockElman). In E1 the expansion widens the recurrent "
                  f"state itself: E1(dim 256, e=4) has {budget} parameters and state {narrow_e1.state_size}; "
                  f"the widest E1 with e=1 within that count is dim {d_w} ({e1_count(d_w, 1.0)} parameters) "
                  f"with state {wide_e1.state_size}, so for E1 the expanded config has the larger state. "
                  f"The document's table pair (512, 4) / (1024, 1) differs by a factor {P_B / P_A:.2f} in "
                  f"parameters; the equal-parameter e=1 partner of (512, 4) is d = {partner}.")
