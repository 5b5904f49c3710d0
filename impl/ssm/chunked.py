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

Laid out as (batch, head, chunk, position, ·) once, each step is one batched matmul over (batch, head,
chunk) on contiguous matrices (the intra-chunk product and step 4 share one baddbmm), and every decay
inside a chunk comes from one (L+1) × (L+1) matrix per chunk (`decay_segments`, a running product of
the L step decays): at B8 T1024 H8 P64 N64 fp32 on one thread this runs near the four einsums of the
algorithm alone (issue 14).

A sequence whose length is not a multiple of the chunk size is padded with steps that do nothing
(Δ = 0: decay 1 and no input), so the final state is unchanged by the padding.

bfloat16 / float16 inputs are computed in float32 and the results cast back, as Mamba2's kernels
accumulate in float32; float32 and float64 are computed in their own precision.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .contracts import check_ssd_inputs


def segsum(a: torch.Tensor) -> torch.Tensor:
    """out[..., i, j] = a[..., j+1] + … + a[..., i] for i ≥ j (0 on the diagonal), −inf above it.

    Summed with a masked cumsum rather than as a difference of prefix sums, which would cancel
    catastrophically when the prefix sums are large."""
    n = a.shape[-1]
    a = a[..., :, None].expand(*a.shape, n)                          # [..., i, j] = a_i
    strictly_lower = torch.ones(n, n, dtype=torch.bool, device=a.device).tril(-1)
    # in place after the first fill (neither backward needs its input): two fewer large allocations
    sums = a.masked_fill(~strictly_lower, 0).cumsum_(dim=-2)         # Σ_{j < k ≤ i} a_k
    return sums.masked_fill_(~strictly_lower.logical_or(torch.eye(n, dtype=torch.bool, device=a.device)),
                             float("-inf"))


def decay_segments(log_decay: torch.Tensor) -> torch.Tensor:
    """All decays inside the chunks at once: for each chunk's log-decays a_1 … a_L (last axis), the
    (…, L+1, L+1) matrix with [i, j] = exp(a_{j+1} + … + a_i) for i ≥ j (a_0 := 0), 0 above the
    diagonal. [1:, 1:] is the intra-chunk decay matrix, row L the decay from each step to the chunk's
    end, column 0 the decay from the chunk's start to each step.

    A running product of the step decays exp(a_k) down each column (ones above the diagonal, zeroed
    after): each entry is a direct product of its own steps' decays (no difference of prefix sums,
    which would cancel), and only L+1 exponentials are taken per chunk instead of (L+1)²."""
    step = torch.exp(F.pad(log_decay, (1, 0)))                           # exp(a_i), i = 0 … L
    n = step.shape[-1]
    strictly_lower = torch.ones(n, n, dtype=torch.bool, device=step.device).tril(-1)
    factors = step[..., :, None].expand(*step.shape, n).masked_fill(~strictly_lower, 1.0)   # [i, j] = exp(a_i), i > j
    return factors.cumprod(dim=-2).masked_fill(~strictly_lower.logical_or(
        torch.eye(n, dtype=torch.bool, device=step.device)), 0.0)


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
    n_chunks, L = (T + pad) // chunk_size, chunk_size
    x_dt = x * dt[..., None]                      # Δ_s x_s, (b, T, H, P)
    log_decay = dt * A                            # a_t = Δ_t A ≤ 0, (b, T, H)
    if pad:
        x_dt = F.pad(x_dt, (0, 0, 0, 0, 0, pad))
        log_decay = F.pad(log_decay, (0, 0, 0, pad))
        B = F.pad(B, (0, 0, 0, 0, 0, pad))
        C = F.pad(C, (0, 0, 0, 0, 0, pad))

    # one copy of each input into (b, H, chunk c, position l, ·): every product below is then one batched
    # matmul over (b, H, c) on contiguous matrices, with no copies inside matmul
    def heads_first(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(b, n_chunks, L, H, t.shape[-1]).permute(0, 3, 1, 2, 4).contiguous()
    x_dt, B, C = heads_first(x_dt), heads_first(B), heads_first(C)
    log_decay = log_decay.reshape(b, n_chunks, L, H).permute(0, 3, 1, 2)          # (b, H, c, l)

    decay = decay_segments(log_decay)                                               # (b, H, c, L+1, L+1)
    within = decay[..., 1:, 1:]                   # L_ls = exp(a_{s+1} + … + a_l), 0 above the diagonal
    to_end = decay[..., L, 1:]                    # exp(a_{s+1} + … + a_L): step s to the chunk's end
    from_start = decay[..., 1:, 0]                # exp(a_1 + … + a_l): the chunk's start to step l
    chunk_log = log_decay.sum(dim=-1)             # a_1 + … + a_L: the log-decay over the whole chunk

    # 1. within a chunk: (C_l · B_s) L_ls applied to Δ_s x_s (the matmul is added in step 4)
    scores = (C @ B.transpose(-1, -2)) * within                                    # (b, H, c, l, s)

    # 2. each chunk's contribution to the state at its last step: Σ_s (Δ_s x_s) (decay_s B_s)ᵀ
    chunk_states = x_dt.transpose(-1, -2) @ (B * to_end[..., None])               # (b, H, c, P, N)

    # 3. states between chunks: S_z = exp(t_0 + … + t_{z−1}) S_init + Σ_{c<z} exp(t_{c+1} + … + t_{z−1}) s_c
    # (t_c the chunk log-decays, s_c the chunk states), for z = 0 … n_chunks (the last is the final state)
    across = torch.exp(segsum(F.pad(chunk_log, (1, 0))))                          # (b, H, c+1, c+1)
    # entering states (z < n_chunks) and the final state as two products, so each comes out contiguous
    flat_states = chunk_states.reshape(b, H, n_chunks, P * N)
    entering = across[..., :-1, 1:] @ flat_states                                 # Σ_{c<z} … s_c, (b, H, c, P·N)
    final = across[..., -1:, 1:] @ flat_states                                    # (b, H, 1, P·N)
    if h0 is not None:
        flat_h0 = state0.reshape(b, H, 1, P * N)
        entering = entering + across[..., :-1, :1] * flat_h0
        final = final + across[..., -1:, :1] * flat_h0
    entering, final = entering.reshape(b, H, n_chunks, P, N), final.reshape(b, H, P, N)

    # 4. the entering state decayed to each step and read out by C, plus step 1's product, in one baddbmm
    y_off = (C * from_start[..., None]) @ entering.transpose(-1, -2)               # (b, H, c, l, P)
    y = torch.baddbmm(y_off.reshape(-1, L, P), scores.reshape(-1, L, L), x_dt.reshape(-1, L, P))
    y = y.reshape(b, H, n_chunks * L, P).transpose(1, 2)[:, :T]
    if D is not None:
        y = D.to(work)[:, None] * x + y           # contiguous first: the sum comes out in (b, T, H, P) order
    return y.contiguous().to(out_dtype), final.to(out_dtype)
