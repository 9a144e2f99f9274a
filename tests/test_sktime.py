"""sklstm.sktime: sktime's estimator checks, the forecaster's windows and
exogenous variables, the panel estimators' data layout."""

import inspect
import sys

import numpy as np
import pytest

pytest.importorskip("sktime")

import pandas as pd  # noqa: E402
from sktime.datatypes import convert_to  # noqa: E402
from sktime.utils.estimator_checks import check_estimator  # noqa: E402

from sklstm import LSTMClassifier, LSTMRegressor, forecast  # noqa: E402
from sklstm.preprocessing import SlidingWindow  # noqa: E402
from sklstm.sktime import (  # noqa: E402
    LSTMForecaster,
    SktimeLSTMClassifier,
    SktimeLSTMRegressor,
)

# The checks' configurations train a few epochs on tiny data, which ends
# with scikit-learn's ConvergenceWarning by design.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("cls", [LSTMForecaster, SktimeLSTMClassifier,
                                 SktimeLSTMRegressor])
def test_sktime_estimator_checks(cls):
    results = check_estimator(cls, verbose=False)
    failed = {name: result for name, result in results.items() if result != "PASSED"}
    assert len(results) > 100
    assert not failed, failed


@pytest.mark.parametrize("cls, plain, left_out, extra", [
    (LSTMForecaster, LSTMRegressor, {"return_sequences", "embedding_dim"},
     ["window_length", "scale"]),
    (SktimeLSTMClassifier, LSTMClassifier, {"return_sequences"}, []),
    (SktimeLSTMRegressor, LSTMRegressor, {"return_sequences"}, []),
])
def test_parameters_mirror_the_plain_estimator(cls, plain, left_out, extra):
    mirrored = inspect.signature(cls.__init__).parameters
    original = inspect.signature(plain.__init__).parameters
    assert list(mirrored) == [name for name in original if name not in left_out] + extra
    for name in set(original) - left_out:
        assert mirrored[name].default == original[name].default, name
    for name in left_out:
        assert f"{name} :" not in cls.__doc__


def _series(n=200, seed=0):
    t = np.arange(n)
    return pd.Series(np.sin(t * 2 * np.pi / 20)
                     + 0.05 * np.random.RandomState(seed).normal(size=n))


def test_forecaster_without_X_is_sliding_windows_and_forecast():
    # The windows of SlidingWindow, fitted by the plain estimator and
    # forecast by sklstm.forecast: the same numbers.
    y = _series()
    params = dict(hidden_layer_sizes=6, max_iter=20, random_state=0)
    forecaster = LSTMForecaster(window_length=8, scale=False, **params).fit(y)
    X, target = SlidingWindow(look_back=8).fit(y.to_numpy()).to_supervised(y.to_numpy())
    plain = LSTMRegressor(**params).fit(X, target)
    expected = forecast(plain, y.to_numpy(), steps=6)
    predicted = forecaster.predict(fh=[1, 3, 6])
    np.testing.assert_array_equal(predicted.index, [200, 202, 205])
    np.testing.assert_allclose(predicted.to_numpy(), expected[[0, 2, 5]], rtol=1e-6)


def test_forecaster_scales_and_forecasts_several_steps():
    y = 500 + 100 * _series(300)  # far from unit scale: scaled inside
    forecaster = LSTMForecaster(window_length=20, hidden_layer_sizes=16,
                                random_state=0).fit(y[:280])
    predicted = forecaster.predict(fh=np.arange(1, 21))
    assert np.abs(predicted.to_numpy() - y[280:].to_numpy()).max() < 30


def _exogenous_problem(n=400, seed=0):
    """y is driven by the concurrent X: only a model that sees X[t] can
    forecast y[t]."""
    rng = np.random.RandomState(seed)
    X = pd.DataFrame({"x": rng.normal(size=n), "noise": rng.normal(size=n)})
    y = pd.Series(X["x"].to_numpy() + 0.5 * np.roll(X["x"].to_numpy(), 1))
    return y, X


def test_exogenous_variables_are_features_of_each_step():
    y, X = _exogenous_problem()
    train, test = slice(0, 380), slice(380, 400)
    params = dict(window_length=5, hidden_layer_sizes=16, learning_rate_init=0.01,
                  max_iter=100, random_state=0)
    with_X = LSTMForecaster(**params).fit(y[train], X=X[train])
    assert with_X.estimator_.n_features_in_ == 3  # y and the two columns of X
    fh = np.arange(1, 21)
    error = np.abs(with_X.predict(fh=fh, X=X[test]).to_numpy() - y[test]).mean()
    without_X = LSTMForecaster(**params).fit(y[train])
    error_without = np.abs(without_X.predict(fh=fh).to_numpy() - y[test]).mean()
    # Measured (seeds 0, 1, 2): 0.015-0.027 against 1.22-1.51 (the standard
    # deviation of y is 1.1).
    assert error < 0.25 < 0.6 < error_without


def test_recursive_forecasts_need_X_at_every_step():
    y, X = _exogenous_problem(100)
    forecaster = LSTMForecaster(window_length=3, hidden_layer_sizes=4, max_iter=3,
                                random_state=0).fit(y[:90], X=X[:90])
    with pytest.raises(ValueError, match="needs X at each of the 5 steps"):
        forecaster.predict(fh=[5], X=X.iloc[[94]])
    assert forecaster.predict(fh=[5], X=X[90:95]).index.tolist() == [94]


def test_multivariate_y_forecasts_every_column():
    t = np.arange(150)
    y = pd.DataFrame({"sin": np.sin(t / 5), "cos": np.cos(t / 5)})
    forecaster = LSTMForecaster(window_length=6, hidden_layer_sizes=8, max_iter=5,
                                random_state=0).fit(y)
    predicted = forecaster.predict(fh=[1, 2])
    assert predicted.columns.tolist() == ["sin", "cos"]
    assert forecaster.estimator_.predict(np.zeros((1, 6, 2))).shape == (1, 2)


def test_update_moves_the_window_and_trains_on_request():
    y = _series(120)
    forecaster = LSTMForecaster(window_length=6, scale=False, hidden_layer_sizes=6,
                                max_iter=10, random_state=0).fit(y[:100])
    weights = forecaster.estimator_.coefs_[0].copy()
    forecaster.update(y[100:110], update_params=False)
    np.testing.assert_array_equal(forecaster.estimator_.coefs_[0], weights)
    expected = forecast(forecaster.estimator_, y[:110].to_numpy(), steps=2)
    predicted = forecaster.predict(fh=[1, 2])
    assert predicted.index.tolist() == [110, 111]
    np.testing.assert_allclose(predicted.to_numpy(), expected, rtol=1e-6)
    epochs = forecaster.estimator_.n_iter_
    forecaster.update(y[110:], update_params=True)
    assert forecaster.estimator_.n_iter_ == epochs + 1  # one partial_fit epoch


def test_forecaster_refuses_too_short_a_series():
    with pytest.raises(ValueError, match="window_length=10 needs at least 11"):
        LSTMForecaster().fit(_series(10))


def _panel(n=30, channels=2, length=12, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, channels, length))
    return X, np.where(X[:, 1, :].mean(axis=1) > 0, "a", "b")


def test_panel_classifier_is_the_plain_estimator_on_transposed_data():
    X, y = _panel()
    params = dict(hidden_layer_sizes=5, max_iter=10, random_state=0)
    clf = SktimeLSTMClassifier(**params).fit(X, y)
    plain = LSTMClassifier(**params).fit(X.transpose(0, 2, 1), y)
    np.testing.assert_array_equal(clf.predict_proba(X),
                                  plain.predict_proba(X.transpose(0, 2, 1)))
    # sktime's other containers hold the same panel.
    nested = convert_to(X, "nested_univ")
    np.testing.assert_array_equal(clf.predict_proba(nested), clf.predict_proba(X))


def test_panel_regressor_takes_unequal_lengths():
    X, _ = _panel()
    lengths = np.random.RandomState(1).randint(5, 13, size=len(X))
    frames = [pd.DataFrame(x[:, :n].T) for x, n in zip(X, lengths)]
    panel = pd.concat(frames, keys=range(len(frames)))  # sktime's pd-multiindex
    params = dict(hidden_layer_sizes=4, max_iter=5, random_state=0)
    reg = SktimeLSTMRegressor(**params).fit(panel, lengths / 12.0)
    plain = LSTMRegressor(**params).fit([f.to_numpy() for f in frames], lengths / 12.0)
    np.testing.assert_allclose(reg.predict(panel),
                               plain.predict([f.to_numpy() for f in frames]), rtol=1e-6)


def test_missing_sktime_names_the_extra(monkeypatch):
    monkeypatch.delitem(sys.modules, "sklstm.sktime")
    monkeypatch.setitem(sys.modules, "sktime.classification.base", None)
    with pytest.raises(ImportError, match=r"pip install 'sklstm\[sktime\]'"):
        import sklstm.sktime  # noqa: F401


def test_docstring_examples():
    import doctest

    import sklstm.sktime
    result = doctest.testmod(sklstm.sktime, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
