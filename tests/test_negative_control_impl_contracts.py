"""Negative controls of tests/test_impl_contracts.py: small planted changes to impl/ that a user
would call bugs (a wrong initial scale, a spectral radius of 1, a dropped check, a loosened bound),
each monkeypatched in, each shown to make its pinned check fail with the check's own message.

Each check runs by its node id in an inner pytest session in this process (tests/planted.py), one
planted change at a time; monkeypatch undoes each change when its test ends.
"""

from __future__ import annotations

import math

import torch

import impl.diagonal_rnn.model as diag_model
import impl.elman.models as elman
import impl.linear_rnn.model as linear_model
import impl.polynomial_rnn as poly
import impl.ssm.model as ssm_model

from .planted import assert_check_fails

CHECKS = "tests/test_impl_contracts.py::"
BAD_INPUT = CHECKS + "test_bad_input_is_refused_with_a_message_naming_it"


def rescale_after_init(monkeypatch, cls, **factors: float) -> None:
    """Plant: cls's initial parameters named in `factors` multiplied by their factor."""
    real_init = cls.__init__

    def planted_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        with torch.no_grad():
            for name, factor in factors.items():
                if getattr(self, name, None) is not None:
                    getattr(self, name).mul_(factor)

    monkeypatch.setattr(cls, "__init__", planted_init)


def test_linear_rnn_init_scale_doubled(monkeypatch):
    rescale_after_init(monkeypatch, linear_model.LinearRNN, A=2.0)
    assert_check_fails(CHECKS + "test_linear_rnn_spectral_radius_at_init_is_about_0_9[dense]",
                       "expected a mean in [0.88, 0.97]")
    assert_check_fails(CHECKS + "test_linear_rnn_initial_entry_scales", "A (dense): sd")


def test_linear_rnn_spectral_radius_one_instead_of_0_9(monkeypatch):
    rescale_after_init(monkeypatch, linear_model.LinearRNN, A=1 / 0.9)
    assert_check_fails(CHECKS + "test_linear_rnn_spectral_radius_at_init_is_about_0_9[dense]",
                       "spectral radii at init")


def test_linear_rnn_low_rank_radius_doubled(monkeypatch):
    rescale_after_init(monkeypatch, linear_model.LinearRNN, U=math.sqrt(2), V=math.sqrt(2))
    # the check's low-rank case: n = 400, rank 200
    assert_check_fails(CHECKS + "test_linear_rnn_spectral_radius_at_init_is_about_0_9[low-rank]",
                       "LinearRNN(n=400, rank=200)")


def test_polynomial_rnn_accepting_alpha_zero(monkeypatch):
    real = poly._check_alpha
    monkeypatch.setattr(poly, "_check_alpha", lambda alpha: None if alpha == 0 else real(alpha))
    for case in ("polynomial_step alpha 0", "polynomial_rnn_reference alpha 0",
                 "polynomial_rnn_reference alpha 0, empty sequence"):
        assert_check_fails(f"{BAD_INPUT}[{case}]", "DID NOT RAISE")


def test_linear_rnn_h0_check_dropped(monkeypatch):
    def states_without_h0_check(self, x, h0=None):
        return linear_model.PATHS[self.path](self.transition, self.B, x, h0)

    monkeypatch.setattr(linear_model.LinearRNN, "states", states_without_h0_check)
    # the path's own check still raises, but no longer names the module: the message is part of the contract
    assert_check_fails(f"{BAD_INPUT}[LinearRNN h0 shape]", "Regex pattern did not match")


def test_ring_radius_bound_loosened(monkeypatch):
    def loose_ring_check(r_min, r_max, max_phase, where):
        if not 0.0 <= r_min < r_max <= 1.5:
            raise ValueError(f"{where}: need 0 <= r_min < r_max <= 1, got r_min={r_min}, r_max={r_max}")

    monkeypatch.setattr(diag_model, "_check_ring", loose_ring_check)
    for case in ("DiagonalLinearRNN r_max > 1", "DiagonalLinearRNN max_phase 0"):
        assert_check_fails(f"{BAD_INPUT}[{case}]", "DID NOT RAISE")


def test_stock_elman_recurrent_gain_doubled(monkeypatch):
    rescale_after_init(monkeypatch, elman.StockElman, W_h=2.0)
    assert_check_fails(CHECKS + "test_stock_and_residual_elman_init", "StockElman W_h (default gain 0.9)")


def test_e5_factor_gain_one_instead_of_half(monkeypatch):
    rescale_after_init(monkeypatch, elman.E5Layer, V_x=2.0)
    assert_check_fails(CHECKS + "test_e5_init_is_orthogonal_times_half", "V_x: singular values")


def test_mamba2_decay_range_halved(monkeypatch):
    real_init = ssm_model.Mamba2Layer.__init__

    def planted_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        with torch.no_grad():                     # −A uniform on [1, 8] instead of [1, 16]
            self.A_log.copy_(torch.log(1 + 7 * (torch.exp(self.A_log) - 1) / 15))

    monkeypatch.setattr(ssm_model.Mamba2Layer, "__init__", planted_init)
    assert_check_fails(CHECKS + "test_mamba2_init", "−A vs uniform on [1, 16]")


def test_mamba2_skip_weight_zero(monkeypatch):
    rescale_after_init(monkeypatch, ssm_model.Mamba2Layer, D=0.0)
    assert_check_fails(CHECKS + "test_mamba2_init", "D is not all ones at init")
