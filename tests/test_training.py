"""The byte-level LM and its training loop: every layer kind learns, runs are reproducible,
hooks fire when asked, bad configurations are refused."""

from __future__ import annotations

import pytest
import torch

from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)
from impl.training.lm import LAYER_KINDS, ByteLM, LMConfig
from impl.training.loop import recurrent_spectra, train
from impl.training.stream import ByteStream

# a tiny corpus with structure a small model can pick up in a few dozen steps
CORPUS = b"".join(b"the cat sat on the mat. " * 3 + b"a dog ran. " for _ in range(200))


def config(kind: str) -> LMConfig:
    return LMConfig(kind, dim=16, depth=1, rank=4 if kind in ("e5", "linear") else None,
                    d_state=8, headdim=8)


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_every_layer_kind_learns_the_toy_corpus(kind):
    stream = ByteStream(CORPUS)
    result = train(ByteLM(config(kind), seed=0), stream, steps=60, batch=8, length=24, lr=1e-2,
                   progress=False)
    first, last = sum(result.losses[:5]) / 5, result.final_loss(last=5)
    assert last < 0.7 * first, (kind, first, last)        # ln 256 = 5.55 at the start
    assert result.held_out_loss is not None and result.held_out_loss < first
    assert result.tokens_per_s and result.tokens_per_s > 0


def test_same_seeds_give_identical_runs_and_other_seeds_do_not():
    stream = ByteStream(CORPUS)
    run = lambda model_seed, data_seed: train(ByteLM(config("e5"), seed=model_seed), stream, steps=8,
                                              batch=4, length=16, lr=1e-2, data_seed=data_seed,
                                              progress=False).losses
    assert run(0, 0) == run(0, 0)
    assert run(0, 0) != run(1, 0) and run(0, 0) != run(0, 1)


def test_hooks_fire_at_step_zero_every_k_steps_and_after_the_last():
    result = train(ByteLM(config("stock"), seed=0), ByteStream(CORPUS), steps=7, batch=2, length=8, lr=1e-3,
                   hooks={"spectra": (3, recurrent_spectra)}, progress=False)
    steps = [step for step, _ in result.records["spectra"]]
    assert steps == [0, 3, 6, 7]
    spectrum = result.records["spectra"][0][1][0]
    assert spectrum.shape == (16,) and torch.all(spectrum[:-1] >= spectrum[1:])


@pytest.mark.parametrize("bad, message", [
    (dict(kind="lstm", dim=8, depth=1), "kind must be one of"),
    (dict(kind="e5", dim=8, depth=1), "needs a rank"),
    (dict(kind="e1", dim=0, depth=1), "dim and depth must be >= 1"),
])
def test_bad_configurations_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        LMConfig(**bad)


def test_a_window_longer_than_the_data_is_refused_naming_the_sizes():
    with pytest.raises(ValueError, match="does not fit"):
        ByteStream(b"x" * 100).batch(1, 200, torch.Generator())


def test_a_custom_layer_kind_is_built_by_its_factory():
    made = []
    def factory(config, generator):
        made.append(config.kind)
        return torch.nn.Linear(config.dim, config.dim)
    model = ByteLM(LMConfig("custom:plain", dim=8, depth=2), seed=0, layer_factory=factory)
    assert made == ["custom:plain"] * 2 and model(torch.zeros(1, 3, dtype=torch.long)).shape == (1, 3, 256)
    with pytest.raises(ValueError, match="needs a layer_factory"):
        ByteLM(LMConfig("custom:plain", dim=8, depth=1))
