"""The regressor's losses (``loss=``) as an estimator sees them: what they
estimate, the values they report, and how they are set and kept. Their
gradients are checked by finite differences (tests/test_gradients.py) and
against PyTorch (tests/test_torch_oracle.py)."""

import pickle
import warnings

import numpy as np
import pytest

from sklstm import LSTMRegressor
from sklstm._network import REGRESSION_LOSSES


def quiet_fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


@pytest.fixture(scope="module")
def noisy():
    """A learnable signal plus wide, skewed noise (its median, log 2 - 1,
    below its mean, 0)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(2000, 8, 2)).astype(np.float32)
    y = X[:, -3:, 0].sum(1) + rng.exponential(1.0, size=2000) - 1.0
    return X, y


def quantile_fit(X, y, quantile):
    return quiet_fit(LSTMRegressor(8, loss="quantile", quantile=quantile,
                                   learning_rate_init=0.01, max_iter=40,
                                   random_state=0), X, y)


def loss_by_definition(name, error, param):
    """The per-element loss of error = prediction - target, from its
    definition in the docstring."""
    a = np.abs(error)
    if name == "squared_error":
        return 0.5 * error ** 2
    if name == "absolute_error":
        return a
    if name == "huber":
        return np.where(a <= param, 0.5 * error ** 2, param * (a - 0.5 * param))
    return np.where(error < 0, -param * error, (1 - param) * error)


@pytest.mark.parametrize("loss, param", [("squared_error", None), ("absolute_error", None),
                                         ("huber", 0.5), ("quantile", 0.3)])
def test_reported_loss_is_the_documented_one(noisy, loss, param):
    X, y = noisy
    kwargs = {"huber": {"huber_delta": param}, "quantile": {"quantile": param}}.get(loss, {})
    model = quiet_fit(LSTMRegressor(8, loss=loss, max_iter=3, alpha=0.0, random_state=0,
                                    dtype="float64", **kwargs), X, y)
    data = model._check_X(X, reset=False)
    Y = model._encode_targets(y, reset=False, data=data)
    expected = loss_by_definition(loss, model.predict(X) - y, param).mean()
    np.testing.assert_allclose(model._network.loss(model._params, data, Y), expected,
                               rtol=1e-10)


@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.9])
def test_quantile_loss_estimates_the_quantile(noisy, quantile):
    # On 500 held-out sequences (the fraction's standard error is about
    # 0.015); measured: 0.15, 0.55, 0.90.
    X, y = noisy
    model = quantile_fit(X[:1500], y[:1500], quantile)
    below = np.mean(y[1500:] < model.predict(X[1500:]))
    assert abs(below - quantile) < 0.08, below


def test_quantiles_are_ordered_and_the_median_is_robust(noisy):
    X, y = noisy
    fits = {q: quantile_fit(X[:1500], y[:1500], q).predict(X[1500:]) for q in (0.1, 0.5, 0.9)}
    assert np.mean(fits[0.1] < fits[0.5]) > 0.95
    assert np.mean(fits[0.5] < fits[0.9]) > 0.95
    # The noise's median is 0.31 below its mean: so is the median fit below
    # the squared-error fit, on average.
    mean_fit = quiet_fit(LSTMRegressor(8, learning_rate_init=0.01, max_iter=40,
                                       random_state=0), X[:1500], y[:1500])
    shift = np.mean(fits[0.5] - mean_fit.predict(X[1500:]))
    assert -0.5 < shift < -0.15, shift


def test_quantile_loss_needs_its_quantile(noisy):
    X, y = noisy
    with pytest.raises(ValueError, match="quantile"):
        LSTMRegressor(4, loss="quantile", max_iter=1).fit(X, y)


@pytest.mark.parametrize("params", [dict(loss="pinball"), dict(quantile=1.0),
                                    dict(quantile=0.0), dict(huber_delta=0.0)])
def test_invalid_loss_parameters_are_refused(noisy, params):
    X, y = noisy
    with pytest.raises(ValueError):
        LSTMRegressor(4, max_iter=1, **params).fit(X, y)


def test_continued_training_uses_the_loss_set_then(noisy):
    X, y = noisy
    model = quiet_fit(LSTMRegressor(4, max_iter=2, random_state=0), X, y)
    before = model._params.copy()
    model.set_params(loss="huber", huber_delta=0.3)
    model.partial_fit(X, y)
    assert model._network.loss_kind == REGRESSION_LOSSES["huber"]
    assert model._network.loss_param == 0.3
    assert not np.array_equal(model._params, before)
    # The recorded loss is now the Huber loss (at most |e| * delta per element,
    # well below the squared error's scale on this noise).
    errors = model.predict(X) - y
    assert model.loss_ < 0.3 * np.mean(np.abs(errors)) + 0.05


def test_pickle_keeps_the_loss(noisy):
    X, y = noisy
    model = quiet_fit(LSTMRegressor(4, loss="quantile", quantile=0.7, max_iter=2,
                                    random_state=0), X, y)
    copy = pickle.loads(pickle.dumps(model))
    assert copy._network.loss_kind == REGRESSION_LOSSES["quantile"]
    assert copy._network.loss_param == 0.7
    np.testing.assert_array_equal(copy.predict(X), model.predict(X))
    copy.partial_fit(X, y)
    model.partial_fit(X, y)
    np.testing.assert_array_equal(copy._params, model._params)
