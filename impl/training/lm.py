"""A byte-level language model around any impl/ recurrence (REFERENCE §2's LM wrapper).

    tokens (batch, T) ∈ {0..255} → embedding (dim) → depth × [x = x + layer(LayerNorm(x))]
    → LayerNorm → tied head (embeddingᵀ) → logits (batch, T, 256)

Layer kinds: "stock" (StockElman, state = dim), "e1" (E1Layer, expansion), "e5" (E5Layer, rank),
"xgated" (XGatedElman, expansion), "ssd" (Mamba2Layer), "linear" (LinearRNN, dense or rank-r A,
state = dim). Parameters are drawn from `seed` (explicit generators where the layer takes one,
the global generator seeded otherwise), so a model is a function of its configuration and seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from impl.elman.models import E1Layer, E5Layer, StockElman, XGatedElman
from impl.linear_rnn.model import LinearRNN
from impl.ssm.model import Mamba2Layer

VOCAB = 256
LAYER_KINDS = ("stock", "e1", "e5", "xgated", "ssd", "linear")


@dataclass(frozen=True)
class LMConfig:
    kind: str
    dim: int
    depth: int
    rank: int | None = None          # e5 (required), linear (None: dense A)
    expansion: float = 1.0           # e1, xgated
    d_state: int = 16                # ssd
    headdim: int = 16                # ssd

    def __post_init__(self):
        if self.kind not in LAYER_KINDS and not self.kind.startswith("custom:"):
            raise ValueError(f"LMConfig: kind must be one of {LAYER_KINDS} (or 'custom:<name>' with a "
                             f"layer_factory), got {self.kind!r}")
        if self.dim < 1 or self.depth < 1:
            raise ValueError(f"LMConfig: dim and depth must be >= 1, got dim={self.dim}, depth={self.depth}")
        if self.kind == "e5" and self.rank is None:
            raise ValueError("LMConfig: kind 'e5' needs a rank")

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self).items() if v is not None)


class _Mixer(nn.Module):
    """Adapts a recurrence to (batch, T, dim) → (batch, T, dim), dropping returned states."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        out = self.layer(x)
        return out[0] if isinstance(out, tuple) else out


def make_layer(config: LMConfig, generator: torch.Generator) -> nn.Module:
    kind, dim = config.kind, config.dim
    if kind == "stock":
        return StockElman(dim, dim, generator=generator)
    if kind == "e1":
        return E1Layer(dim, config.expansion, generator=generator)
    if kind == "e5":
        return E5Layer(dim, config.rank, generator=generator)
    if kind == "xgated":
        return XGatedElman(dim, config.expansion, generator=generator)
    if kind == "ssd":
        return Mamba2Layer(dim, d_state=config.d_state, headdim=config.headdim)
    # the step loop: the matrix scan costs T·n³·log T, far slower for training on a CPU
    return _stable_linear(LinearRNN(dim, dim, dim, rank=config.rank, path="reference"))


def _stable_linear(layer: LinearRNN, radius: float = 0.9) -> LinearRNN:
    """Rescale A (or U, V) so its spectral radius is `radius`: a random low-rank U V can start
    above 1, and a linear recurrence then grows geometrically along the sequence."""
    with torch.no_grad():
        current = float(torch.linalg.eigvals(layer.transition.double()).abs().max())
        if current > 0:
            if layer.rank is None:
                layer.A.mul_(radius / current)
            else:
                layer.U.mul_((radius / current) ** 0.5)
                layer.V.mul_((radius / current) ** 0.5)
    return layer


class ByteLM(nn.Module):
    """`layer_factory(config, generator) -> module` builds the layers of a 'custom:<name>' kind
    (a recurrence variant an experiment defines in impl/); the built-in kinds need none."""

    def __init__(self, config: LMConfig, seed: int = 0, layer_factory=None):
        super().__init__()
        if config.kind.startswith("custom:") and layer_factory is None:
            raise ValueError(f"ByteLM: kind {config.kind!r} needs a layer_factory")
        make = layer_factory or make_layer
        self.config = config
        torch.manual_seed(seed)                          # layers that draw from the global generator
        generator = torch.Generator().manual_seed(seed)  # layers that take one
        self.embedding = nn.Embedding(VOCAB, config.dim)
        nn.init.normal_(self.embedding.weight, std=config.dim ** -0.5, generator=generator)
        self.norms = nn.ModuleList(nn.LayerNorm(config.dim) for _ in range(config.depth))
        self.layers = nn.ModuleList(_Mixer(make(config, generator)) for _ in range(config.depth))
        self.final_norm = nn.LayerNorm(config.dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 2 or tokens.dtype != torch.long:
            raise ValueError(f"ByteLM: tokens must be (batch, T) int64, got {tuple(tokens.shape)} {tokens.dtype}")
        x = self.embedding(tokens)
        for norm, layer in zip(self.norms, self.layers):
            x = x + layer(norm(x))
        return F.linear(self.final_norm(x), self.embedding.weight)   # tied head

    def recurrences(self) -> list[nn.Module]:
        """The recurrence of each layer (for spectra of W_h / U_h V_h / A)."""
        return [mixer.layer for mixer in self.layers]


def next_byte_loss(model: ByteLM, window: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy (nats/byte) of predicting window[:, 1:] from window[:, :-1]."""
    logits = model(window[:, :-1])
    return F.cross_entropy(logits.reshape(-1, VOCAB), window[:, 1:].reshape(-1))


def recurrent_matrix(layer: nn.Module) -> torch.Tensor:
    """The matrix a layer's recurrence applies to its state: W_h (normalised), U_h V_h, or A."""
    if hasattr(layer, "recurrent_matrix"):
        return layer.recurrent_matrix()
    if hasattr(layer, "transition"):
        return layer.transition
    raise ValueError(f"{type(layer).__name__} has no recurrent matrix (an SSD layer's A is a scalar per head)")
