"""`impl.parameters.num_parameters`: one meaning (real scalars an optimiser trains), pinned on a model
with a frozen parameter, a complex parameter and a buffer, counted here by hand; and the three
meanings the models had before (all parameters; only requires_grad; complex twice) each fail the pin
on at least one module, so the pin can tell them apart."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import impl.diagonal_rnn
import impl.elman
import impl.ssm
from impl.diagonal_rnn import DiagonalLinearRNN
from impl.parameters import num_parameters
from impl.ssm import Mamba2Layer


class Mixed(nn.Module):
    """3×4 real weight (trained), 5 complex entries (trained), 7 frozen reals, a 11-entry buffer."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(3, 4))
        self.rotation = nn.Parameter(torch.zeros(5, dtype=torch.complex64))
        self.frozen = nn.Parameter(torch.zeros(7), requires_grad=False)
        self.register_buffer("running", torch.zeros(11))


# (module, real scalars it trains, counted by hand)
PINNED = [
    (Mixed(), 3 * 4 + 2 * 5),
    (nn.Linear(6, 2), 6 * 2 + 2),
    (nn.Sequential(nn.Linear(2, 2, bias=False), Mixed()), 4 + 3 * 4 + 2 * 5),
]


def pin_errors(count) -> list[str]:
    """The modules of PINNED that `count` gets wrong, as 'name: got != want'."""
    return [f"{type(module).__name__}: {count(module)} != {want}" for module, want in PINNED
            if count(module) != want]


def test_num_parameters_counts_the_real_scalars_an_optimiser_trains():
    assert pin_errors(num_parameters) == []
    # the same count, read off an optimiser: the real numbers it updates
    module = Mixed()
    optimiser = torch.optim.SGD([p for p in module.parameters() if p.requires_grad], lr=0.1)
    updated = sum(torch.view_as_real(p).numel() if p.is_complex() else p.numel()
                  for group in optimiser.param_groups for p in group["params"])
    assert num_parameters(module) == updated


WRONG_MEANINGS = {
    "all parameters (frozen ones too)": lambda m: sum(p.numel() for p in m.parameters()),
    "requires_grad, a complex entry as 1": lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad),
    "complex twice, frozen ones too": lambda m: sum(p.numel() * (2 if p.is_complex() else 1) for p in m.parameters()),
}


@pytest.mark.parametrize("meaning", list(WRONG_MEANINGS))
def test_a_wrong_meaning_fails_the_pin(meaning):
    assert pin_errors(WRONG_MEANINGS[meaning]) != []


def test_every_model_package_counts_with_the_one_function():
    assert impl.elman.num_parameters is impl.ssm.num_parameters is impl.diagonal_rnn.num_parameters \
        is num_parameters
    lru = DiagonalLinearRNN(4, 3, 2, dtype=torch.float64)
    layer = Mamba2Layer(16, d_state=4, headdim=8, device="meta")
    assert lru.num_parameters == num_parameters(lru) and layer.num_parameters == num_parameters(layer)
    # freezing part of a model takes it out of the count
    lru.B_re.requires_grad_(False)
    assert lru.num_parameters == num_parameters(lru) == sum(
        p.numel() for name, p in lru.named_parameters() if name != "B_re")


def test_a_non_module_is_a_clear_error():
    with pytest.raises(TypeError, match="expected a torch.nn.Module, got Tensor"):
        num_parameters(torch.zeros(3))
