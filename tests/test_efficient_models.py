"""Lesson 06's forecasters: contracts, causality, and SAMoVAR's AR(p) special case on the sunspots."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.data import load_sunspots, split_series
from seqlab.efficient_models import CausalSelfAttention, Mamba2, SAMoVARForecaster, causal_depthwise_conv
from seqlab.models import AutoRegressive, count_parameters, make_forecaster

NAMES = ("transformer", "linear_transformer", "mamba2", "samovar")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("length", [1, 12, 80])
def test_forecaster_contract_and_gradients(name, length):
    model = make_forecaster(name, seed=0)
    x = torch.randn(5, length, 1, generator=torch.Generator().manual_seed(length))
    y = model(x)
    assert y.shape == (5,) and torch.isfinite(y).all()
    y.sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    if length > 1:
        assert not missing, f"{name}: parameters without gradient {missing}"
    assert count_parameters(model) > 0
    again = make_forecaster(name, seed=0)
    torch.testing.assert_close(again(x), y.detach())  # the seed fixes the weights


@pytest.mark.parametrize("name", NAMES)
def test_forecasters_refuse_windows_longer_than_max_len(name):
    if name == "mamba2":
        pytest.skip("Mamba-2 has no positions: any length runs")
    model = make_forecaster(name, seed=0, max_len=16)
    with pytest.raises(ValueError, match="max_len"):
        model(torch.zeros(1, 17, 1))


@pytest.mark.parametrize("attention", ["softmax", "linear"])
def test_self_attention_is_causal(attention):
    layer = CausalSelfAttention(16, 4, attention).double()
    x = torch.randn(2, 10, 16, dtype=torch.float64)
    x2 = x.clone()
    x2[:, 6:] += 1.0  # change the future of step 5
    torch.testing.assert_close(layer(x)[:, :6], layer(x2)[:, :6])
    assert not torch.allclose(layer(x)[:, 6:], layer(x2)[:, 6:])


def test_transformer_attention_weights_are_causal_distributions():
    model = make_forecaster("transformer", seed=0)
    weights = model.attention_weights(torch.randn(3, 9, 1))
    assert len(weights) == 2 and weights[0].shape == (3, 4, 9, 9)
    torch.testing.assert_close(weights[1].sum(-1), torch.ones(3, 4, 9))
    assert torch.all(weights[0].triu(1) == 0)
    with pytest.raises(ValueError, match="softmax"):
        make_forecaster("linear_transformer").attention_weights(torch.randn(1, 4, 1))


def test_mamba2_quadratic_and_chunked_paths_agree_and_conv_is_torch_conv():
    torch.manual_seed(0)
    block = Mamba2(16, d_state=8, headdim=8, chunk_size=64).double()
    u = torch.randn(2, 37, 16, dtype=torch.float64)
    quadratic = block(u)
    block.chunk_size = 8
    torch.testing.assert_close(block(u), quadratic)
    torch.testing.assert_close(block(u, last_only=True), quadratic[:, -1:])
    x = torch.randn(2, 11, 6, dtype=torch.float64)
    conv = torch.nn.Conv1d(6, 6, 4, groups=6, padding=3).double()
    expected = conv(x.transpose(1, 2))[..., :11].transpose(1, 2)
    torch.testing.assert_close(causal_depthwise_conv(x, conv.weight.squeeze(1), conv.bias), expected)


def test_samovar_is_a_dynamic_autoregression():
    """ŷ = c + Σ_i w_i x_i with weights w the model computes from the window itself."""
    model = make_forecaster("samovar", seed=3).double()
    x = torch.randn(4, 20, 1, dtype=torch.float64)
    w = model.lag_weights(x)  # (b, l)
    torch.testing.assert_close(model(x), model.head.bias + (w * x[..., 0]).sum(1))
    other = torch.randn(4, 20, 1, dtype=torch.float64)
    assert not torch.allclose(model.lag_weights(other), w)  # the weights move with the input


@pytest.fixture(scope="module")
def splits36():
    return split_series(load_sunspots(), window=36)


@pytest.mark.parametrize("p", [36, 12, 1])
def test_samovar_with_ar_weights_equals_autoregressive(splits36, p):
    ar = AutoRegressive(p).fit(splits36.X_train, splits36.y_train)
    expected = ar.predict(splits36.X_test)
    build = lambda: SAMoVARForecaster(d_model=40, n_heads=1, mlp_layers=0, qv_norm=False)  # noqa: E731
    model = build().double().load_ar(ar.coef_)
    X = torch.as_tensor(splits36.X_test, dtype=torch.float64).unsqueeze(-1)
    with torch.no_grad():
        got64 = model(X).numpy()
        got32 = build().load_ar(ar.coef_)(X.float()).numpy()
    np.testing.assert_allclose(got64, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got32, expected, rtol=0, atol=2e-6)
    # and the lag weights it reports are the AR coefficients, newest month last
    w = model.lag_weights(X[:2])[0].numpy()
    np.testing.assert_allclose(w[-p:], ar.coef_[1:], atol=1e-12)
    assert np.all(w[:-p] == 0)


def test_samovar_load_ar_refuses_a_model_that_cannot_hold_it():
    with pytest.raises(ValueError, match="mlp_layers=0"):
        SAMoVARForecaster().load_ar(np.zeros(37))
    with pytest.raises(ValueError, match="d_model >= p"):
        SAMoVARForecaster(d_model=8, n_heads=1, mlp_layers=0, qv_norm=False).load_ar(np.zeros(13))
