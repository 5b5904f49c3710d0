"""Fast path of the dense linear RNN on a CPU: chunks of L steps, each a matmul with a block-Toeplitz map.

Same contract as `naive.linear_rnn_reference` (h_t = A h_{t-1} + B x_t, h_0 given or zero). Within a
chunk of L steps whose state enters as s, step k (1 … L) of the chunk is

    h_k = Σ_{j ≤ k} A^{k-j} B x_j  +  A^k s,

so, with the powers A^0 … A^L computed once (by doubling: ⌈log2 (L+1)⌉ batched matmuls):

1. the zero-start states of every chunk at once: the chunk's inputs (L·m values) times the
   block-Toeplitz matrix K[k, j] = A^{k-j} B (k ≥ j, 0 above; (L·n) × (L·m)) — one matmul over
   all chunks (`block_toeplitz`);
2. the states entering the chunks: s_{c+1} = A^L s_c + (chunk c's last zero-start state), s_0 = h_0 —
   the only sequential part, T/L small matmuls;
3. each chunk's carried-in part A^k s_c added in one more matmul with [A^1; …; A^L] over all chunks.

The step loop needs T dependent matmuls of a (batch × n) state, each too small to keep a core busy;
this needs T/L + ⌈log2 (L+1)⌉ + 2, at L/2 times the loop's multiply-adds in step 1 (the triangle of K).
Where m ≥ n the inputs are projected first (v = x Bᵀ, one matmul) and K holds A^{k-j} itself. A
length that is not a multiple of L is padded with zero inputs at the end: they come after every kept
state, so they change none. Gradients are autograd's through these plain torch ops.

`default_chunk_length` picks L from single-thread CPU measurements; any L gives the same states.
L = 1 is the step loop with the input projection hoisted (one addmm per step), the faster form for a
large state (n > 128 where m ≤ n/2), where the loop's matmuls are big enough to keep a core busy and the
chunks' extra multiply-adds would cost more than they save.
"""

from __future__ import annotations

import torch

from .contracts import check_linear_rnn_shapes


def default_chunk_length(T: int, n: int, m: int) -> int:
    """L from single-thread CPU measurements (issue 14; B8 T256, n 32 … 256, m 8 and 64): K's blocks
    are n × w with w = min(m, n) columns, and L·max(n, 2w) ≲ 512 was fastest; below L = 4 (n > 128)
    the plain step loop (L = 1) beats a few steps per chunk, and 16 steps suffice where n is small."""
    L = min(16, 512 // max(n, 2 * min(m, n)))
    return max(1, min(T, L if L >= 4 else 1))


def transition_powers(A: torch.Tensor, L: int) -> torch.Tensor:
    """(L+1, n, n): A^0 = I, A^1, …, A^L, by doubling (A^k · [A^0 … A^{k-1}] = [A^k … A^{2k-1}])."""
    powers = torch.eye(A.shape[0], dtype=A.dtype, device=A.device)[None]
    doubled = A
    while powers.shape[0] < L + 1:
        powers = torch.cat([powers, doubled @ powers])
        if powers.shape[0] < L + 1:
            doubled = doubled @ doubled
    return powers[:L + 1]


def block_toeplitz(blocks: torch.Tensor) -> torch.Tensor:
    """blocks (L, n, k) = G_0 … G_{L-1} → (L·n, L·k) with block [i, j] = G_{i-j} for i ≥ j, 0 above."""
    L, n, k = blocks.shape
    lag = torch.arange(L, device=blocks.device)[:, None] - torch.arange(L, device=blocks.device)[None, :]
    lower = (lag >= 0).to(blocks.dtype)[:, :, None, None]
    return (blocks[lag.clamp(min=0)] * lower).permute(0, 2, 1, 3).reshape(L * n, L * k)


def step_loop(A: torch.Tensor, B: torch.Tensor, x: torch.Tensor, h0: torch.Tensor | None) -> torch.Tensor:
    """L = 1: the inputs projected once (v = x Bᵀ), then one addmm per step."""
    h = torch.zeros(x.shape[0], A.shape[0], dtype=x.dtype, device=x.device) if h0 is None else h0
    states = []
    for v in (x @ B.T).unbind(dim=1):       # unbind: one backward for all steps, not a select per step
        h = torch.addmm(v, h, A.T)
        states.append(h)
    return torch.stack(states, dim=1)


def linear_rnn_chunked(A: torch.Tensor, B: torch.Tensor, x: torch.Tensor, h0: torch.Tensor | None = None,
                       chunk: int | None = None) -> torch.Tensor:
    """States h_1 … h_T (batch, T, n) of h_t = A h_{t-1} + B x_t, in chunks of `chunk` steps (None:
    `default_chunk_length`; 1: the step loop). A (n, n), B (n, m), x (batch, T, m), h0 (batch, n)."""
    check_linear_rnn_shapes(A, B, x, h0, "linear_rnn_chunked")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"linear_rnn_chunked: chunk must be a positive length, got {chunk!r}")
    batch, T, m = x.shape
    n = A.shape[0]
    if T == 0:
        return x.new_zeros(batch, 0, n)
    L = min(chunk or default_chunk_length(T, n, m), T)
    if L == 1:
        return step_loop(A, B, x, h0)
    C = -(-T // L)                                                    # chunks, the last one padded
    powers = transition_powers(A, L)                                  # A^0 … A^L
    if m < n:                                                         # K maps the raw inputs: A^{k-j} B
        inputs, input_blocks = x, powers[:L] @ B
    else:                                                             # project once, K maps v: A^{k-j}
        inputs, input_blocks = x @ B.T, powers[:L]
    K = block_toeplitz(input_blocks)                                  # (L n, L w)
    inputs = torch.nn.functional.pad(inputs, (0, 0, 0, C * L - T))    # zero inputs after the last step
    zero_start = (inputs.reshape(batch * C, -1) @ K.T).reshape(batch, C, L, n)
    h0 = torch.zeros(batch, n, dtype=x.dtype, device=x.device) if h0 is None else h0
    starts = chunk_starts(zero_start[:, :-1, -1], powers[L], h0)     # (batch, C, n)
    carried = powers[1:].permute(2, 0, 1).reshape(n, L * n)           # [i, (k, j)] = A^k[j, i]
    states = torch.addmm(zero_start.reshape(batch * C, L * n), starts.reshape(batch * C, n), carried)
    return states.reshape(batch, C * L, n)[:, :T]


def chunk_starts(chunk_ends: torch.Tensor, carry: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """The states entering the chunks, (batch, C, n): s_0 = h0, s_{c+1} = carry s_c + chunk_ends[:, c]
    (carry = A^L, chunk_ends (batch, C-1, n) the chunks' last zero-start states)."""
    start, starts = h0, [h0]
    # unbind, not a select per chunk: each select's backward would fill a tensor of zero_start's size
    for end in chunk_ends.unbind(dim=1):
        start = torch.addmm(end, start, carry.T)
        starts.append(start)
    return torch.stack(starts, dim=1)
