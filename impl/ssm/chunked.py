"""Fast path of the Mamba2 SSM core: the chunked SSD algorithm (Dao & Gu 2024, "ssd_minimal").

Same contract as `naive.ssd_reference`. With a_t = Δ_t A (the log-decay of a step) the state
is S_t = Σ_{s≤t} exp(a_{s+1} + … + a_t) Δ_s x_s B_sᵀ (+ the decayed initial state). The
sequence is cut into chunks of `chunk_size` steps:

1. inside a chunk, outputs are a masked matrix product: y_l = Σ_{s≤l} (C_l · B_s) L_{ls} Δ_s x_s with
   the decay matrix L_{ls} = exp(segsum(a)_{ls}) (lower triangular, the quadratic "attention" form);
2. each chunk's own contribution to the state at its end (decayed to the chunk's end);
3. the states between chunks: a scan over the chunks (again through exp(segsum) of the per-chunk
   total log-decays, now over the chunk index, with the initial state as chunk 0);
4. the carried-in state's contribution to each output of the chunk, decayed to that step.

A sequence whose length is not a multiple of the chunk size is padded with steps that do nothing
(Δ = 0: decay 1 and no input), so the final state is unchanged by the padding.

bfloat16 / float16 inputs are computed in float32 and the results cast back, as Mamba2's kernels
accumulate in float32; float32 and float64 are computed in their own precision.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .naive import check_ssd_inputs


def segsum(a: torch.Tensor) -> torch.Tensor:
    """out[..., i, j] = a[..., j+1] + … + a[..., i] for i ≥ j (0 on the diagonal), −inf above it.

    Summed with a masked cumsum rather than as a difference of prefix sums, which would cancel
    catastrophically when the prefix sums are large."""
    n = a.shape[-1]
    a = a[..., :, None].expand(*a.shape, n)                          # [..., i, j] = a_i
    strictly_lower = torch.ones(n, n, dtype=torch.bool, device=a.device).tril(-1)
    sums = a.masked_fill(~strictly_lower, 0).cumsum(dim=-2)          # Σ_{j < k ≤ i} a_k
    return sums.masked_fill(~strictly_lower.logical_or(torch.eye(n, dtype=torch.bool, device=a.device)),
                            float("-inf"))


def ssd_chunked(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                D: torch.Tensor | None = None, h0: torch.Tensor | None = None, *, chunk_size: int = 64):
    """The SSD recurrence by chunks. Returns (y (b, T, H, P), final state (b, H, P, N))."""
    b, T, H, P, N = check_ssd_inputs(x, dt, A, B, C, D, h0)
    if chunk_size < 1:
        raise ValueError(f"ssd_chunked: chunk_size must be >= 1, got {chunk_size}")
    out_dtype = x.dtype
    work = torch.float32 if x.dtype in (torch.bfloat16, torch.float16) else x.dtype
    x, dt, A, B, C = (t.to(work) for t in (x, dt, A, B, C))
    state0 = x.new_zeros(b, H, P, N) if h0 is None else h0.to(work)
    if T == 0:
        return x.new_zeros(b, 0, H, P).to(out_dtype), state0.to(out_dtype)

    pad = (-T) % chunk_size                       # padded steps: Δ = 0, so they neither decay nor add
    n_chunks = (T + pad) // chunk_size
    x_dt = x * dt[..., None]                      # Δ_s x_s, (b, T, H, P)
    log_decay = dt * A                            # a_t = Δ_t A ≤ 0, (b, T, H)
    if pad:
        x_dt = F.pad(x_dt, (0, 0, 0, 0, 0, pad))
        log_decay = F.pad(log_decay, (0, 0, 0, pad))
        B = F.pad(B, (0, 0, 0, 0, 0, pad))
        C = F.pad(C, (0, 0, 0, 0, 0, pad))
    # split time into (chunk c, position l)
    x_dt = x_dt.reshape(b, n_chunks, chunk_size, H, P)
    B = B.reshape(b, n_chunks, chunk_size, H, N)
    C = C.reshape(b, n_chunks, chunk_size, H, N)
    log_decay = log_decay.reshape(b, n_chunks, chunk_size, H).permute(0, 3, 1, 2)   # (b, H, c, l)
    cum = log_decay.cumsum(dim=-1)                # a_1 + … + a_l within each chunk

    # 1. within a chunk: (C_l · B_s) L_ls applied to Δ_s x_s
    scores = torch.einsum("bclhn,bcshn->bhcls", C, B) * torch.exp(segsum(log_decay))
    y_diag = torch.einsum("bhcls,bcshp->bclhp", scores, x_dt)

    # 2. each chunk's contribution to the state at its last step, decayed by a_{l+1} + … + a_L. Summed
    # directly as a suffix sum: the difference cum[L] − cum[l] would give the same values, but its
    # gradient cancels O(1) terms down to Σ a ≈ 0-sized ones when the decay is strong (dA loses all digits)
    suffix = log_decay.flip(-1).cumsum(dim=-1).flip(-1)                           # a_l + … + a_L
    decay_to_end = torch.exp(F.pad(suffix[..., 1:], (0, 1)))                      # (b, H, c, l)
    chunk_states = torch.einsum("bclhn,bhcl,bclhp->bchpn", B, decay_to_end, x_dt)

    # 3. scan over chunks: state entering chunk z = Σ_{c ≤ z} decay(c → z) · (state made by chunk c)
    chunk_states = torch.cat([state0[:, None], chunk_states], dim=1)             # (b, c+1, H, P, N)
    chunk_decay = torch.exp(segsum(F.pad(cum[..., -1], (1, 0))))                 # (b, H, c+1, c+1)
    states = torch.einsum("bhzc,bchpn->bzhpn", chunk_decay, chunk_states)
    entering, final = states[:, :-1], states[:, -1]

    # 4. the entering state, decayed to each step of the chunk, read out by C
    y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", C, entering, torch.exp(cum))

    y = (y_diag + y_off).reshape(b, n_chunks * chunk_size, H, P)[:, :T]
    if D is not None:
        y = y + D.to(work)[:, None] * x
    return y.to(out_dtype), final.to(out_dtype)
