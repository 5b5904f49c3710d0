"""Negative controls of tests/test_impl_contracts.py: small planted changes to impl/ that a user
would call bugs (a wrong initial scale, a spectral radius of 1, a dropped check, a loosened bound),
each monkeypatched in, each shown to make its pinned check fail with the check's own message.

The checks are called in this process (they are cheap), one planted change at a time; monkeypatch
undoes each change when its test ends.
"""

from __future__ import annotations

import math

import pytest
import torch

import impl.diagonal_rnn.model as diag_model
import impl.elman.models as elman
import impl.linear_rnn.model as linear_model
import impl.polynomial_rnn as poly
import impl.ssm.model as ssm_model
from impl.testing import one_linear_algebra_thread  # noqa: F401  (autouse: one LAPACK thread)

from . import test_impl_contracts as checks


def assert_check_fails(check, *args, fragment: str) -> None:
    """`check(*args)` fails (a failed assertion or pytest.raises finding no / another error), and
    its message contains `fragment`."""
    with pytest.raises((AssertionError, pytest.fail.Exception)) as failure:
        check(*args)
    assert fragment in str(failure.value), str(failure.value)[:600]


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
    assert_check_fails(checks.test_linear_rnn_spectral_radius_at_init_is_about_0_9, None,
                       fragment="expected a mean in [0.88, 0.97]")
    assert_check_fails(checks.test_linear_rnn_initial_entry_scales, fragment="A (dense): sd")


def test_linear_rnn_spectral_radius_one_instead_of_0_9(monkeypatch):
    rescale_after_init(monkeypatch, linear_model.LinearRNN, A=1 / 0.9)
    assert_check_fails(checks.test_linear_rnn_spectral_radius_at_init_is_about_0_9, None,
                       fragment="spectral radii at init")


def test_linear_rnn_low_rank_radius_doubled(monkeypatch):
    rescale_after_init(monkeypatch, linear_model.LinearRNN, U=math.sqrt(2), V=math.sqrt(2))
    assert_check_fails(checks.test_linear_rnn_spectral_radius_at_init_is_about_0_9, checks.RADIUS_N // 2,
                       fragment=f"LinearRNN(n={checks.RADIUS_N}, rank={checks.RADIUS_N // 2})")


def test_polynomial_rnn_accepting_alpha_zero(monkeypatch):
    real = poly._check_alpha
    monkeypatch.setattr(poly, "_check_alpha", lambda alpha: None if alpha == 0 else real(alpha))
    for case in ("polynomial_step alpha 0", "polynomial_rnn_reference alpha 0",
                 "polynomial_rnn_reference alpha 0, empty sequence"):
        assert_check_fails(checks.test_bad_input_is_refused_with_a_message_naming_it, case, fragment="DID NOT RAISE")


def test_linear_rnn_h0_check_dropped(monkeypatch):
    def states_without_h0_check(self, x, h0=None):
        return linear_model.PATHS[self.path](self.transition, self.B, x, h0)

    monkeypatch.setattr(linear_model.LinearRNN, "states", states_without_h0_check)
    # the path's own check still raises, but no longer names the module: the message is part of the contract
    assert_check_fails(checks.test_bad_input_is_refused_with_a_message_naming_it, "LinearRNN h0 shape",
                       fragment="Regex pattern did not match")


def test_ring_radius_bound_loosened(monkeypatch):
    def loose_ring_check(r_min, r_max, max_phase, where):
        if not 0.0 <= r_min < r_max <= 1.5:
            raise ValueError(f"{where}: need 0 <= r_min < r_max <= 1, got r_min={r_min}, r_max={r_max}")

    monkeypatch.setattr(diag_model, "_check_ring", loose_ring_check)
    for case in ("DiagonalLinearRNN r_max > 1", "DiagonalLinearRNN max_phase 0"):
        assert_check_fails(checks.test_bad_input_is_refused_with_a_message_naming_it, case, fragment="DID NOT RAISE")


def test_stock_elman_recurrent_gain_doubled(monkeypatch):
    rescale_after_init(monkeypatch, elman.StockElman, W_h=2.0)
    assert_check_fails(checks.test_stock_and_residual_elman_init, fragment="StockElman W_h (default gain 0.9)")


def test_e5_factor_gain_one_instead_of_half(monkeypatch):
    rescale_after_init(monkeypatch, elman.E5Layer, V_x=2.0)
    assert_check_fails(checks.test_e5_init_is_orthogonal_times_half, fragment="V_x: singular values")


def test_mamba2_decay_range_halved(monkeypatch):
    real_init = ssm_model.Mamba2Layer.__init__

    def planted_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        with torch.no_grad():                     # −A uniform on [1, 8] instead of [1, 16]
            self.A_log.copy_(torch.log(1 + 7 * (torch.exp(self.A_log) - 1) / 15))

    monkeypatch.setattr(ssm_model.Mamba2Layer, "__init__", planted_init)
    assert_check_fails(checks.test_mamba2_init, fragment="−A vs uniform on [1, 16]")


def test_mamba2_skip_weight_zero(monkeypatch):
    rescale_after_init(monkeypatch, ssm_model.Mamba2Layer, D=0.0)
    assert_check_fails(checks.test_mamba2_init, fragment="D is not all ones at init")
