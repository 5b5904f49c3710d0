"""Kernel benchmark cases: every fast path beside its reference, its peers and its bound.

A case builds its inputs at a size and returns the contenders, each a no-argument callable that
runs one forward (or forward+backward) pass:

- ``fast``: our kernel (`impl/`), the one being measured;
- ``reference``: its plain step-by-step reference (`naive.py`);
- peers: what a researcher would otherwise use (the diagonal scan: accelerated-scan's pure-torch
  reference scan, torch's generic `associative_scan`, and a plain loop — the reference);
- ``bound``: what the hardware allows for the same work, measured in the same run. For a scan,
  one pass over the same bytes at memory speed (read a and v, write one output:
  ``torch.add(a, v, out=buffer)``, the cheapest op that moves the bytes any scan must move), and
  the same pass into a fresh tensor (``bound, fresh output``: on Linux the first touch of a new
  32 MiB output costs ~10 ms of page faults on this machine, 3× the pass itself). For an Elman recurrence, its matmul skeleton: the
  same matmuls run bare — the input projection over all steps and one batched step matmul
  h Wᵀ per step (T of them); forward+backward adds one step matmul g W per step and the weight
  gradients as matmuls over all B·T steps — without the tanh, the loop's bookkeeping or autograd.

`measure` times the contenders interleaved (every round runs each once, in rotating order, so a
slow stretch of a noisy machine hits all of them) and reports per-contender medians and the
median over rounds of each ratio t_other / t_fast: > 1 means the fast path is faster, and the
ratio against the bound is the fraction of the hardware's speed reached.

Used by `test_kernel_throughput.py` (pytest-benchmark, the issue's sizes) and by `gate.py`
(small sizes, the CI regression gate).
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from impl.diagonal_rnn import naive as diagonal_naive
from impl.diagonal_rnn import chunked as diagonal_chunked
from impl.elman import fused as elman_fused
from impl.elman import naive as elman_naive
from impl.ssm import chunked as ssd_fast
from impl.ssm import naive as ssd_naive

from . import loops

Contender = Callable[[], object]


@dataclass
class Case:
    """A kernel at one size: its contenders and what a run processes (for tokens/s and bytes/s)."""
    name: str
    contenders: dict[str, Contender]
    tokens: int                                   # batch × T: sequence positions per call
    bytes_moved: int | None = None                # the minimal memory traffic, for bandwidth figures
    notes: dict[str, str] = field(default_factory=dict)
    kernel: str = "fast"                          # the contender the ratios divide by


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _grad_pass(forward: Callable[[], torch.Tensor | tuple], leaves: list[torch.Tensor],
               upstream: torch.Tensor) -> Contender:
    """forward, then the gradient of ⟨upstream, output⟩ w.r.t. the leaves (no .grad accumulation)."""
    def run():
        out = forward()
        out = out[0] if isinstance(out, tuple) else out
        return torch.autograd.grad(out, leaves, upstream)
    return run


# --------------------------------------------------------------------------- the diagonal scan

def accelerated_scan_reference() -> Callable | None:
    """accelerated-scan's pure-torch reference scan (gates, tokens of shape (B, C, T)), if installed."""
    if importlib.util.find_spec("accelerated_scan") is None:
        return None
    from accelerated_scan.ref import scan
    return scan


def torch_associative_scan() -> Callable | None:
    """torch's higher-order `associative_scan` in generic mode (plain torch ops), if this torch has it."""
    try:
        from torch._higher_order_ops.associative_scan import associative_scan
    except ImportError:
        return None
    return associative_scan


def scan_fast_path(device: torch.device) -> tuple[str, Callable]:
    """The scan DiagonalLinearRNN(path="auto") runs on `device`, by name: the compiled time-major
    loop on a CPU with numba, else the chunked torch scan (the Triton kernel is its own contender on
    CUDA). Looked up through the module at call time, so a planted change is what gets timed."""
    from impl.diagonal_rnn import compiled as compiled_scan
    if compiled_scan.compiled_usable(torch.float32, device):
        return "compiled loop (impl.diagonal_rnn.compiled)", lambda a, v: compiled_scan.diagonal_scan_compiled(a, v)
    return "chunked torch scan (impl.diagonal_rnn.chunked)", lambda a, v: diagonal_chunked.diagonal_scan(a, v)


def diagonal_scan_case(batch: int, T: int, N: int, *, dtype=torch.float32, device="cpu",
                       backward: bool = False, peers: bool = True, seed: int = 0) -> Case:
    """x_t = a_t ⊙ x_{t-1} + v_t (time-varying a, as in a selective SSM), forward or forward+backward.

    fast: what path="auto" runs here (`scan_fast_path`); on a CPU the chunked torch scan (the
    portable fallback) is a contender. Bounds: one memory pass (torch.add) and the plainest compiled
    loops (`loops.py`), both into fresh outputs as a scan returns them, and into preallocated ones."""
    device = torch.device(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    a = torch.rand(batch, T, N, generator=gen, dtype=dtype, device=device) * 0.5 + 0.5
    v = torch.randn(batch, T, N, generator=gen, dtype=dtype, device=device)
    bytes_moved = 3 * a.numel() * a.element_size()                  # read a and v, write x
    fast_name, fast_scan = scan_fast_path(device)
    contenders: dict[str, Contender] = {}
    notes = {"fast": fast_name}
    # the compiled bounds are benchmark rows (peers=True); the gate times only what it holds
    compiled_bound = (peers and loops.available() and device.type == "cpu"
                      and dtype in (torch.float32, torch.float64))
    arrays = (a.detach().numpy(), v.detach().numpy()) if compiled_bound else None
    torch_empty = lambda like: torch.empty(like.shape, dtype=dtype).numpy()          # noqa: E731  the product's allocator
    if backward:
        a.requires_grad_()
        v.requires_grad_()
        upstream = torch.randn(batch, T, N, generator=gen, dtype=dtype, device=device)
        contenders["fast"] = _grad_pass(lambda: fast_scan(a, v), [a, v], upstream)
        contenders["reference"] = _grad_pass(lambda: diagonal_naive.diagonal_scan_reference(a, v), [a, v], upstream)
        if device.type == "cpu" and "chunked" not in fast_name:
            contenders["chunked torch scan"] = _grad_pass(lambda: diagonal_chunked.diagonal_scan(a, v), [a, v], upstream)
        contenders["bound"] = _grad_pass(lambda: torch.add(a, v), [a, v], upstream)
        notes["bound"] = "torch.add(a, v) forward and backward (fresh outputs)"
        if compiled_bound:
            g = upstream.numpy()
            contenders["compiled loops (bound)"] = lambda: loops.loop_forward_backward(*arrays, g, torch_empty)
            notes["compiled loops (bound)"] = ("the plainest numba loops (benchmarks/kernels/loops.py): forward into a "
                                               "fresh x, the adjoint into fresh ∂a, ∂v — the least any fwd+bwd does")
    else:
        buffer, copy_a, copy_v = torch.empty_like(v), torch.empty_like(a), torch.empty_like(v)
        contenders["fast"] = lambda: fast_scan(a, v)
        contenders["reference"] = lambda: diagonal_naive.diagonal_scan_reference(a, v)
        if device.type == "cpu" and "chunked" not in fast_name:
            contenders["chunked torch scan"] = lambda: diagonal_chunked.diagonal_scan(a, v)
        contenders["bound"] = lambda: torch.add(a, v, out=buffer)
        contenders["bound, fresh output"] = lambda: torch.add(a, v)
        contenders["copy of the inputs"] = lambda: (copy_a.copy_(a), copy_v.copy_(v))
        notes.update({"bound": "one pass over the same bytes at memory speed: torch.add(a, v, out=) into a "
                               "preallocated buffer (read a and v, write one output)",
                      "bound, fresh output": "torch.add(a, v): the same pass into a new tensor, as every scan "
                                             "returns one (first touch of fresh pages included)",
                      "copy of the inputs": "a memory copy of the same bytes: a and v copied into preallocated "
                                            "buffers (reads what the scan reads, writes twice what it writes)"})
        if compiled_bound:
            out = buffer.numpy()
            contenders["compiled loop (bound)"] = lambda: loops.loop_forward(*arrays, torch_empty)
            contenders["compiled loop, preallocated"] = lambda: loops.loop_forward_into(*arrays, out)
            notes["compiled loop (bound)"] = ("the plainest numba time-major loop (benchmarks/kernels/loops.py) into "
                                              "a fresh output allocated by torch, as the scan returns one")
            notes["compiled loop, preallocated"] = "the same loop into a preallocated output (no page faults)"
        if device.type == "cuda" and importlib.util.find_spec("triton") is not None:
            from impl.diagonal_rnn import triton_scan
            if triton_scan.triton_usable(device):
                contenders["triton"] = lambda: triton_scan.diagonal_scan_triton(a, v)
                contenders["copy"] = lambda: v.clone()
                notes["copy"] = "device copy of v (read and write BTN elements): the copy bandwidth"
    if peers and not loops.available() and device.type == "cpu":
        notes["compiled loop (bound)"] = "numba is not installed"
    if peers and not backward:
        acc = accelerated_scan_reference()
        if acc is not None and T & (T - 1) == 0:
            # its native layout (B, C, T), prepared outside the timing
            gates, tokens = a.transpose(1, 2).contiguous(), v.transpose(1, 2).contiguous()
            contenders["peer: accelerated-scan ref"] = lambda: acc(gates, tokens)
        else:
            notes["peer: accelerated-scan ref"] = ("not installed" if acc is None
                                                   else f"needs a power-of-two length, T = {T}")
        notes["reference"] = "the plain loop (impl.diagonal_rnn.naive), also the plain-loop peer"
    if peers:
        assoc = torch_associative_scan()
        if assoc is not None:
            def peer():
                states = assoc(diagonal_chunked.diagonal_combine, (a, v), dim=1, combine_mode="generic")
                return states[1]
            contenders["peer: torch associative_scan"] = _grad_pass(peer, [a, v], upstream) if backward else peer
        else:
            notes["peer: torch associative_scan"] = f"not in torch {torch.__version__}"
    name = f"diagonal_scan{' fwd+bwd' if backward else ''} B{batch} T{T} N{N} {str(dtype).removeprefix('torch.')}"
    return Case(name, contenders, batch * T, None if backward else bytes_moved, notes)


# --------------------------------------------------------------------------- Elman recurrences

def _elman_weights(kind: str, d: int, rank: int, gen, dtype, device) -> dict[str, torch.Tensor]:
    def w(*shape, scale=None):
        scale = scale if scale is not None else shape[-1] ** -0.5
        return (torch.randn(*shape, generator=gen, dtype=dtype, device=device) * scale).requires_grad_()
    if kind in ("stock", "residual"):
        gain = 0.9 if kind == "stock" else 0.3          # the residual state grows: keep its steps small
        return {"W_x": w(d, d), "W_h": w(d, d, scale=gain * d ** -0.5), "b": w(d, scale=0.0)}
    if kind == "e1":
        return {"W_in": w(2 * d, d), "W_x": w(d, d), "W_h": w(d, d, scale=0.9 * d ** -0.5), "b": w(d, scale=0.0),
                "W_out": w(d, d)}
    if kind == "e5":
        return {"U_h": w(d, rank, scale=0.9 * rank ** -0.5), "V_h": w(rank, d), "U_x": w(d, rank),
                "V_x": w(rank, d), "U_z": w(d, rank), "V_z": w(rank, d), "b": w(d, scale=0.0)}
    if kind == "xgated":
        return {"W_in": w(d, d), "W_x": w(d, d), "W_h": w(d, d, scale=0.9 * d ** -0.5), "b": w(d, scale=0.0),
                "W_gate": w(d, d), "b_gate": w(d, scale=0.0), "W_out": w(d, d)}
    raise ValueError(f"elman case: unknown kind {kind!r} (stock, residual, e1, e5, xgated)")


ELMAN_PATHS = {"stock": ("elman_fused", "elman_reference"),
               "residual": ("residual_elman_fused", "residual_elman_reference"),
               "e1": ("e1_fused", "e1_reference"), "e5": ("e5_fused", "e5_reference"),
               "xgated": ("xgated_fused", "xgated_reference")}


# Each recurrence's matmuls, for its skeleton: hoisted (k, n, input needs a gradient) are
# (B·T × k)(k × n) over all steps; step (k, n) are (B × k)(k × n) once per step; recurrent weight
# gradients (a, b) are (a × B·T)(B·T × b). Elementwise work (tanh, silu, gates) is left out.
ELMAN_SKELETONS = {
    "stock": lambda d, r: ([(d, d, False)], [(d, d)], [(d, d)]),
    "e1": lambda d, r: ([(d, 2 * d, False), (d, d, True), (d, d, True)], [(d, d)], [(d, d)]),
    "e5": lambda d, r: ([(d, r, False), (r, d, True), (d, r, False), (r, d, True)], [(d, r), (r, d)],
                        [(d, r), (r, d)]),
    "xgated": lambda d, r: ([(d, d, False), (d, d, True), (d, d, True), (d, d, True)], [(d, d)], [(d, d)]),
}
ELMAN_SKELETON_NOTES = {
    "stock": "X W_xᵀ over all steps + T × (h W_hᵀ)",
    "e1": "X W_inᵀ, silu(·) W_xᵀ, (h ⊙ gate) W_outᵀ over all steps + T × (h W_hᵀ)",
    "e5": "X V_xᵀ U_xᵀ and X V_zᵀ U_zᵀ over all steps + T × ((h V_hᵀ) U_hᵀ), rank r",
    "xgated": "X W_inᵀ, · W_xᵀ, · W_gateᵀ, (h ⊙ gate) W_outᵀ over all steps + T × (h W_hᵀ)",
}


def _matmul_skeleton(batch: int, T: int, hoisted, step, recurrent, *, backward: bool, gen, dtype, device):
    """The matmuls of an Elman recurrence run bare (ELMAN_SKELETONS): its bound."""
    rand = lambda *shape: torch.randn(*shape, generator=gen, dtype=dtype, device=device)  # noqa: E731
    rows = batch * T
    hoisted = [(rand(rows, k), rand(n, k), rand(rows, n), needs) for k, n, needs in hoisted]
    step = [(rand(batch, k), rand(n, k), rand(batch, n)) for k, n in step]
    recurrent = [(rand(a, rows), rand(rows, b)) for a, b in recurrent]

    def skeleton():
        for X, W, _, _ in hoisted:
            X @ W.T
        for _ in range(T):
            for h, W, _ in step:
                h @ W.T
        if backward:
            for X, W, Z, needs_input in hoisted:
                Z.T @ X                                  # its weight gradient
                if needs_input:
                    Z @ W                                # its input gradient
            for _ in range(T):
                for _, W, g in step:
                    g @ W                                # the carried gradient
            for left, right in recurrent:
                left @ right
    return skeleton


def elman_case(kind: str, batch: int, T: int, d: int, *, rank: int | None = None, dtype=torch.float32,
               device="cpu", backward: bool = True, seed: int = 0) -> Case:
    """An Elman recurrence of width d (state d), forward or forward+backward w.r.t. its weights."""
    device = torch.device(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    rank = rank or max(1, d // 4)
    weights = _elman_weights(kind, d, rank, gen, dtype, device)
    x = torch.randn(batch, T, d, generator=gen, dtype=dtype, device=device)
    fast_name, ref_name = ELMAN_PATHS[kind]
    # looked up at call time, so a change to the module (or a planted slowdown) is what gets timed
    fast = lambda: getattr(elman_fused, fast_name)(**weights, x=x)            # noqa: E731
    reference = lambda: getattr(elman_naive, ref_name)(**weights, x=x)             # noqa: E731
    leaves = list(weights.values())
    contenders: dict[str, Contender] = {}
    if backward:
        upstream = torch.randn(batch, T, d, generator=gen, dtype=dtype, device=device)
        contenders["fast"] = _grad_pass(fast, leaves, upstream)
        contenders["reference"] = _grad_pass(reference, leaves, upstream)
    else:
        contenders["fast"], contenders["reference"] = fast, reference
    notes = {}
    if kind in ELMAN_SKELETONS:
        contenders["bound"] = _matmul_skeleton(batch, T, *ELMAN_SKELETONS[kind](d, rank), backward=backward,
                                               gen=gen, dtype=dtype, device=device)
        notes["bound"] = ("matmul skeleton: the same matmuls run bare — " + ELMAN_SKELETON_NOTES[kind] +
                          (" — and, backward, the gradient of each (input and weight), T × (g Mᵀ), and the "
                           "recurrent weight gradients over all B·T steps" if backward else ""))
    if kind == "stock":
        # the peer a researcher would otherwise use: torch.nn.RNN (tanh) with the same weights
        rnn = torch.nn.RNN(d, d, nonlinearity="tanh", batch_first=True, device=device, dtype=dtype)
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(weights["W_x"].detach())
            rnn.weight_hh_l0.copy_(weights["W_h"].detach())
            rnn.bias_ih_l0.copy_(weights["b"].detach())
            rnn.bias_hh_l0.zero_()
        run_rnn = lambda: rnn(x)[0]                                                  # noqa: E731
        contenders["peer: torch.nn.RNN"] = (_grad_pass(run_rnn, list(rnn.parameters()), upstream) if backward
                                            else run_rnn)
    label = {"stock": "elman", "residual": "residual elman", "e1": "e1", "e5": f"e5 (rank {rank})",
             "xgated": "xgated"}[kind]
    name = f"{label}{' fwd+bwd' if backward else ''} B{batch} T{T} d{d} {str(dtype).removeprefix('torch.')}"
    return Case(name, contenders, batch * T, None, notes)


# --------------------------------------------------------------------------- the SSD core

def ssd_case(batch: int, T: int, heads: int, headdim: int, d_state: int, *, dtype=torch.float32,
             device="cpu", backward: bool = False, seed: int = 0) -> Case:
    """Mamba2's SSD recurrence: the chunked algorithm against the step loop."""
    device = torch.device(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=dtype, device=device)  # noqa: E731
    x, B, C = r(batch, T, heads, headdim), r(batch, T, heads, d_state), r(batch, T, heads, d_state)
    dt = torch.nn.functional.softplus(r(batch, T, heads))
    A = -torch.rand(heads, generator=gen, dtype=dtype, device=device) - 0.5
    leaves = [x, B, C]
    fast = lambda: ssd_fast.ssd_chunked(x, dt, A, B, C)                  # noqa: E731
    reference = lambda: ssd_naive.ssd_reference(x, dt, A, B, C)         # noqa: E731
    if backward:
        for t in leaves:
            t.requires_grad_()
        upstream = r(batch, T, heads, headdim)
        contenders = {"fast": _grad_pass(fast, leaves, upstream), "reference": _grad_pass(reference, leaves, upstream)}
    else:
        contenders = {"fast": fast, "reference": reference}
    notes = {}
    if T % SSD_SKELETON_CHUNK == 0:
        contenders["bound"] = _ssd_skeleton(x, dt, B, C, SSD_SKELETON_CHUNK, backward, gen)
        notes["bound"] = (f"einsum skeleton: the chunked algorithm's four einsums (chunk {SSD_SKELETON_CHUNK}) on "
                          "precomputed decays" + (", backward through them for x, B, C" if backward else ""))
    name = (f"ssd{' fwd+bwd' if backward else ''} B{batch} T{T} H{heads} P{headdim} N{d_state} "
            f"{str(dtype).removeprefix('torch.')}")
    return Case(name, contenders, batch * T, None, notes)


SSD_SKELETON_CHUNK = 64       # ssd_chunked's default chunk length


def _ssd_skeleton(x, dt, B, C, L, backward, gen):
    """The chunked SSD's arithmetic alone: intra-chunk C Bᵀ ⊙ decay times x·dt, chunk states,
    the across-chunk product and the state readout, as four einsums over random stand-ins for the
    decay factors (their values do not change the cost)."""
    b, T, H, P = x.shape
    N, nc = B.shape[-1], T // L
    rand = lambda *shape: torch.rand(*shape, generator=gen, dtype=x.dtype, device=x.device)  # noqa: E731
    Cc, Bc = C.detach().reshape(b, nc, L, H, N), B.detach().reshape(b, nc, L, H, N)
    xc = (x.detach() * dt[..., None]).reshape(b, nc, L, H, P)
    segments, to_end, across, from_start = rand(b, H, nc, L, L), rand(b, H, nc, L), rand(b, H, nc + 1, nc + 1), \
        rand(b, H, nc, L)
    leaves = [Cc, Bc, xc]

    def skeleton():
        intra = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", Cc, Bc, segments, xc)
        states = torch.einsum("bclhn,bhcl,bclhp->bchpn", Bc, to_end, xc)
        states = torch.cat([torch.zeros_like(states[:, :1]), states], 1)
        entering = torch.einsum("bhzc,bchpn->bzhpn", across, states)
        readout = torch.einsum("bclhn,bchpn,bhcl->bclhp", Cc, entering[:, :-1], from_start)
        return intra + readout
    if not backward:
        return skeleton
    for leaf in leaves:
        leaf.requires_grad_()
    upstream = rand(b, nc, L, H, P)
    return _grad_pass(skeleton, leaves, upstream)


# --------------------------------------------------------------------------- the dense linear RNN

def linear_rnn_case(batch: int, T: int, n: int, m: int, *, dtype=torch.float32, device="cpu",
                    backward: bool = False, seed: int = 0) -> Case:
    """h_t = A h_{t-1} + B x_t with a dense A: the chunked fast path against the step loop, and the
    log-depth affine scan (O(T log T · n³) work: the parallel form the associativity claims are
    about, not a fast path on a CPU) as a contender."""
    from impl.linear_rnn import chunked as linear_chunked
    from impl.linear_rnn import naive as linear_naive
    from impl.linear_rnn import scan as linear_scan
    device = torch.device(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    A = torch.randn(n, n, generator=gen, dtype=dtype, device=device) * 0.9 / n ** 0.5
    B = torch.randn(n, m, generator=gen, dtype=dtype, device=device)
    x = torch.randn(batch, T, m, generator=gen, dtype=dtype, device=device)
    paths = {"fast": lambda: linear_chunked.linear_rnn_chunked(A, B, x),
             "reference": lambda: linear_naive.linear_rnn_reference(A, B, x),
             "log-depth scan": lambda: linear_scan.linear_rnn_scan(A, B, x)}
    if backward:
        leaves = [A.requires_grad_(), B.requires_grad_(), x.requires_grad_()]
        upstream = torch.randn(batch, T, n, generator=gen, dtype=dtype, device=device)
        paths = {name: _grad_pass(fn, leaves, upstream) for name, fn in paths.items()}
    name = f"linear_rnn{' fwd+bwd' if backward else ''} B{batch} T{T} n{n} m{m} {str(dtype).removeprefix('torch.')}"
    return Case(name, paths, batch * T, None,
                {"fast": "impl.linear_rnn.chunked (chunks of L steps, one matmul each with a block-Toeplitz "
                         "matrix of powers of A)",
                 "log-depth scan": "impl.linear_rnn.scan (the parallel form over n × n matrices)"})


# --------------------------------------------------------------------------- whole layers

LAYER_KINDS = ("e1", "e5", "xgated", "mamba2")


def build_layer(kind: str, dim: int, *, dtype=torch.float32, device="cpu", path: str | None = None):
    """One recurrent layer of `impl` at width `dim`, with the layer's default (fast) path unless `path`."""
    from impl.elman.models import E1Layer, E5Layer, XGatedElman
    from impl.ssm.model import Mamba2Layer
    kw = dict(dtype=dtype, device=device)
    if kind == "e1":
        layer = E1Layer(dim, 1.0, **kw)
    elif kind == "e5":
        layer = E5Layer(dim, max(1, dim // 4), **kw)
    elif kind == "xgated":
        layer = XGatedElman(dim, 1.0, **kw)
    elif kind == "mamba2":
        layer = Mamba2Layer(dim, d_state=64, expand=2, headdim=min(64, 2 * dim), **kw)
    else:
        raise ValueError(f"layer case: unknown kind {kind!r}, expected one of {LAYER_KINDS}")
    if path is not None:
        layer.path = path
    return layer


def layer_case(kind: str, batch: int, T: int, dim: int, *, dtype=torch.float32, device="cpu",
               reference: bool = True, seed: int = 0) -> Case:
    """A whole layer (batch, T, dim) → (batch, T, dim), forward+backward w.r.t. its parameters and
    input: its fast path against its step-by-step path ("reference" for Elman, "reference" for SSD)."""
    device = torch.device(device)
    torch.manual_seed(seed)
    fast_layer = build_layer(kind, dim, dtype=dtype, device=device)
    gen = torch.Generator(device=device).manual_seed(seed)
    x = torch.randn(batch, T, dim, generator=gen, dtype=dtype, device=device, requires_grad=True)
    upstream = torch.randn(batch, T, dim, generator=gen, dtype=dtype, device=device)
    contenders = {"fast": _grad_pass(lambda: fast_layer(x), [x, *fast_layer.parameters()], upstream)}
    if reference:
        ref_layer = build_layer(kind, dim, dtype=dtype, device=device, path="reference")
        ref_layer.load_state_dict(fast_layer.state_dict())
        contenders["reference"] = _grad_pass(lambda: ref_layer(x), [x, *ref_layer.parameters()], upstream)
    params = sum(p.numel() for p in fast_layer.parameters())
    name = f"layer {kind} fwd+bwd B{batch} T{T} dim{dim} {str(dtype).removeprefix('torch.')}"
    return Case(name, contenders, batch * T, None, {"layer": f"{type(fast_layer).__name__}, {params:,} parameters"})


# --------------------------------------------------------------------------- LM training steps

LM_KINDS = ("e1", "e5", "xgated", "ssd")


def _lm_setting(kind: str):
    """(LMConfig, batch, length) of the experiments at the current CLAIMS_SCALE (small by default):
    trained_elman's E1 and E5 LMs, the X-gated Elman and Mamba2 (SSD) LMs of gradient.xgated_*."""
    from impl.experiments import gradients, trained_elman
    if kind in ("e1", "e5"):
        setting = trained_elman.SMALL
        return getattr(setting, kind), setting.batch, setting.length
    if kind in ("xgated", "ssd"):
        s = gradients.xg_sizes()
        return gradients.xgated_configs(s)["mamba2" if kind == "ssd" else "xgated"], s["batch"], s["length"]
    raise ValueError(f"lm training case: unknown kind {kind!r}, expected one of {LM_KINDS}")


def lm_training_case(kind: str, *, seed: int = 0) -> Case:
    """One training step (forward, backward, AdamW) of the byte-level LM at the experiments' small
    scale, its recurrences on their fast path against the same model on the step-loop reference.
    The data are random bytes (the speed does not depend on them)."""
    from impl.training.lm import ByteLM, next_byte_loss
    config, batch, length = _lm_setting(kind)
    window = torch.randint(0, 256, (batch, length + 1), generator=torch.Generator().manual_seed(seed))
    contenders = {}
    for name, path in (("fast", None), ("reference", "reference")):
        model = ByteLM(config, seed=seed)
        if path is not None:
            for layer in model.recurrences():
                layer.path = path
        optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)

        def step(model=model, optimiser=optimiser):
            optimiser.zero_grad(set_to_none=True)
            next_byte_loss(model, window).backward()
            optimiser.step()
        contenders[name] = step
    params = sum(p.numel() for p in model.parameters())
    return Case(f"LM training step {config.describe()} batch {batch} × {length} bytes", contenders, batch * length,
                None, {"model": f"ByteLM, {params:,} parameters; fast = every layer's default path, reference = "
                                f"path='reference' (the step loop)"})


# --------------------------------------------------------------------------- timing

@dataclass
class Measurement:
    case: Case
    seconds: dict[str, list[float]]               # per contender, one time per round

    def median(self, name: str) -> float:
        return statistics.median(self.seconds[name])

    def ratio(self, other: str) -> float:
        """Median over rounds of t_other / t_kernel (> 1: the kernel is faster)."""
        kernel = self.seconds[self.case.kernel]
        return statistics.median(o / k for o, k in zip(self.seconds[other], kernel))

    def ratios(self) -> dict[str, float]:
        return {name: self.ratio(name) for name in self.seconds if name != self.case.kernel}

    def tokens_per_s(self, name: str) -> float:
        return self.case.tokens / self.median(name)

    def table(self) -> str:
        """One line per contender: median time, tokens/s, and t_contender / t_kernel."""
        lines = [self.case.name]
        for name in self.seconds:
            t = self.median(name)
            extra = ""
            if name != self.case.kernel:
                r = self.ratio(name)
                extra = (f"   {self.case.kernel} is {r:6.2f}× faster" if r >= 1
                         else f"   {self.case.kernel} is {1 / r:6.2f}× slower (ratio {r:.2f})")
            if name == self.case.kernel and self.case.bytes_moved:
                extra = f"   {self.case.bytes_moved / t / 1e9:6.1f} GB/s (read a, v; write x)"
            lines.append(f"  {name:32s} {t * 1e3:10.3f} ms  {self.case.tokens / t:14,.0f} tok/s{extra}")
        for name, note in self.case.notes.items():
            lines.append(f"  ({name}: {note})")
        return "\n".join(lines)


def measure(case: Case, rounds: int = 7, warmup: int = 1, device=None,
            clock: Callable[[], float] = time.perf_counter) -> Measurement:
    """Times every contender `rounds` times, interleaved, after `warmup` untimed calls each.

    `clock` (seconds): wall clock by default, for throughput; the gate passes the calling thread's
    CPU time, which other processes on the machine do not inflate."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    names = list(case.contenders)
    for name in names:
        for _ in range(warmup):
            case.contenders[name]()
    _synchronize(device)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]           # rotate who goes first
        for name in order:
            start = clock()
            case.contenders[name]()
            _synchronize(device)
            seconds[name].append(clock() - start)
    return Measurement(case, seconds)
