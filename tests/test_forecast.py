"""forecast: recursive and direct multi-step forecasts, and its checks."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklstm import LSTMClassifier, LSTMRegressor, forecast
from sklstm.preprocessing import SequenceScaler, SlidingWindow


def quiet_fit(estimator, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **fit_params)


SERIES = np.sin(np.arange(200) / 5)


@pytest.fixture(scope="module")
def model():
    """A small model of SERIES on windows of 6."""
    X, y = SlidingWindow(look_back=6).fit(SERIES).to_supervised(SERIES)
    return quiet_fit(LSTMRegressor(4, max_iter=2, random_state=0), X, y)


def test_forecast_a_held_out_sine_50_steps_ahead():
    """Recursive forecast of one whole period (50 steps) past the training
    data, with the seed task's model."""
    series = np.sin(np.arange(1000) * 2 * np.pi / 50)
    history, future = series[:900], series[900:950]
    X, y = SlidingWindow(look_back=10).fit(history).to_supervised(history)
    model = quiet_fit(LSTMRegressor(4, batch_size=1, random_state=0), X, y)
    predicted = forecast(model, history, steps=50)
    errors = np.abs(predicted - future)
    # Measured with random_state 0, 1, 2: max error 0.19, 0.09, 0.12 and RMSE
    # 0.086, 0.058, 0.061 on a wave of amplitude 1 (the error grows with the
    # horizon as predictions feed back); over the first 10 steps the max
    # error is 0.051, 0.051, 0.039.
    assert errors.max() < 0.3
    assert np.sqrt(np.mean(errors ** 2)) < 0.15
    assert errors[:10].max() < 0.08


def test_direct_and_scaled_forecasts_in_original_units():
    series = 40 + 10 * np.sin(np.arange(1000) * 2 * np.pi / 50)
    history, future = series[:900], series[900:950]
    X, y = SlidingWindow(look_back=10, horizon=5).fit(history).to_supervised(history)
    model = quiet_fit(
        TransformedTargetRegressor(
            make_pipeline(SequenceScaler(), LSTMRegressor(16, batch_size=8,
                                                          learning_rate_init=0.01,
                                                          random_state=0)),
            transformer=StandardScaler()),
        X, y)
    predicted = forecast(model.regressor_, history, steps=50, look_back=10)
    assert predicted.shape == (50,)
    # The pipeline scales X but not y: wrap the target scaling around it.
    predicted = forecast(model, history, steps=50, look_back=10)
    assert np.abs(predicted - future).max() < 2.0  # units of a wave of amplitude 10
    # look_back comes from the LSTM inside the wrappers.
    np.testing.assert_array_equal(forecast(model, history, steps=50), predicted)


def test_forecast_errors():
    series = np.sin(np.arange(200) / 5)
    X, y = SlidingWindow(look_back=6).fit(series).to_supervised(series)
    model = quiet_fit(LSTMRegressor(4, max_iter=2), X, y)
    with pytest.raises(ValueError, match="fewer than look_back=6"):
        forecast(model, series[:3], steps=5)
    ragged = quiet_fit(LSTMRegressor(4, max_iter=1),
                       [X[i, i % 3:] for i in range(10)], y[:10])
    with pytest.raises(ValueError, match="pass look_back"):
        forecast(ragged, series, steps=5)


@pytest.mark.parametrize("steps", [np.inf, 0, -1, 2.0, "3", None])
def test_forecast_steps_must_be_a_positive_int(model, steps):
    """steps=inf never returned; floats and strings gave unrelated errors."""
    with pytest.raises(ValueError, match="The 'steps' parameter of forecast must be an "
                                         "int in the range \\[1, inf\\)"):
        forecast(model, SERIES, steps)


@pytest.mark.parametrize("look_back", [0, -3, 2.5, "6", np.inf])
def test_forecast_look_back_must_be_a_positive_int_or_none(model, look_back):
    """look_back <= 0 was accepted."""
    with pytest.raises(ValueError, match="The 'look_back' parameter of forecast must be "
                                         "an int in the range \\[1, inf\\) or None"):
        forecast(model, SERIES, 3, look_back=look_back)


def test_forecast_takes_numpy_integers(model):
    assert forecast(model, SERIES, np.int64(3), look_back=np.int32(6)).shape == (3,)


@pytest.mark.parametrize("unfitted", [
    LSTMRegressor(),
    make_pipeline(SequenceScaler(), LSTMRegressor()),
    TransformedTargetRegressor(LSTMRegressor()),
])
def test_forecast_with_an_unfitted_model_is_not_fitted_error(unfitted):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        forecast(unfitted, SERIES, steps=3)


def test_forecast_refuses_a_classifier():
    """A classifier's labels were fed back as values of the series."""
    X, y = SlidingWindow(look_back=6).fit(SERIES).to_supervised(SERIES)
    labels = np.where(y > 0, 1, 0)
    for classifier in (LSTMClassifier(4, max_iter=1, random_state=0),
                       make_pipeline(SequenceScaler(),
                                     LSTMClassifier(4, max_iter=1, random_state=0))):
        quiet_fit(classifier, X, labels)
        with pytest.raises(TypeError, match="needs a regressor; got LSTMClassifier, whose "
                                            "predictions are class labels"):
            forecast(classifier, SERIES, steps=3)


def test_forecast_needs_a_model_that_predicts():
    with pytest.raises(ValueError, match="'model' parameter of forecast must be an object "
                                         "implementing 'predict'"):
        forecast(SlidingWindow(look_back=6).fit(SERIES), SERIES, steps=3)


@pytest.mark.parametrize("history, fragment", [
    (np.r_[SERIES[:10], np.nan], "Input history contains NaN"),
    (np.r_[SERIES[:10], np.inf], "Input history contains infinity"),
    (np.array(["a"] * 10), "could not convert"),
    (np.array([]), "0 sample"),
    (SERIES[:3], "history has 3 values, fewer than look_back=6"),
    (np.zeros((10, 1, 1)), "Found array with dim 3"),
])
def test_forecast_bad_history(model, history, fragment):
    with pytest.raises(ValueError, match=fragment):
        forecast(model, history, steps=3)


def test_forecast_model_must_predict_every_feature():
    series = np.column_stack([SERIES, np.cos(np.arange(200) / 5)])
    X, y = SlidingWindow(look_back=6, target_columns=0).fit(series).to_supervised(series)
    model = quiet_fit(LSTMRegressor(4, max_iter=1, random_state=0), X, y)
    with pytest.raises(ValueError, match="predicts 1 values per window, not a multiple of "
                                         "the series' 2 features"):
        forecast(model, series, steps=3)


class _NaNRegressor(RegressorMixin, BaseEstimator):
    """A fitted regressor that predicts NaN, as a diverged model would."""

    def fit(self, X, y):
        self.n_timesteps_in_ = np.shape(X)[1]
        return self

    def predict(self, X):
        return np.full(len(X), np.nan)


def test_forecast_stops_at_non_finite_predictions():
    model = _NaNRegressor().fit(np.zeros((3, 6, 1)), np.zeros(3))
    with pytest.raises(ValueError, match="predicted non-finite values after 0 forecast "
                                         "steps"):
        forecast(model, SERIES, steps=3)


def test_forecast_of_a_model_fitted_on_2d_windows():
    """A model fitted on 2D X (one column per lag) gets 2D windows of as many
    columns, and 3D windows when look_back differs."""
    X, y = SlidingWindow(look_back=6).fit(SERIES).to_supervised(SERIES)
    model = quiet_fit(LSTMRegressor(4, max_iter=2, random_state=0), X[:, :, 0], y)
    predicted = forecast(model, SERIES, steps=2)
    first = model.predict(SERIES[np.newaxis, -6:])[0]
    second = model.predict(np.r_[SERIES[-5:], first][np.newaxis])[0]
    np.testing.assert_allclose(predicted, [first, second])
    assert forecast(model, SERIES, steps=2, look_back=4).shape == (2,)


def test_forecast_under_pandas_output():
    """The pipeline's scaler gives DataFrames inside; forecast's values stay
    the same."""
    X, y = SlidingWindow(look_back=6).fit(SERIES).to_supervised(SERIES)
    def fitted(windows):
        return quiet_fit(make_pipeline(SequenceScaler(), LSTMRegressor(4, max_iter=2,
                                                                       random_state=0)),
                         windows, y)

    for windows in (X, X[:, :, 0]):
        expected = forecast(fitted(windows), SERIES, steps=4)
        # Fitted and used under the same output config, as scikit-learn
        # expects (it warns about feature names otherwise).
        with sklearn.config_context(transform_output="pandas"):
            np.testing.assert_array_equal(forecast(fitted(windows), SERIES, steps=4),
                                          expected)


def test_forecast_of_a_model_fitted_on_a_dataframe_of_lags():
    """The windows get the fitted column names: no feature-name warning."""
    pd = pytest.importorskip("pandas")
    X, y = SlidingWindow(look_back=6).fit(SERIES).to_supervised(SERIES)
    lags = pd.DataFrame(X[:, :, 0], columns=[f"lag{i}" for i in range(6, 0, -1)])
    model = quiet_fit(LSTMRegressor(4, max_iter=2, random_state=0), lags, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = forecast(model, SERIES, steps=5)
    plain = quiet_fit(LSTMRegressor(4, max_iter=2, random_state=0), X[:, :, 0], y)
    np.testing.assert_array_equal(values, forecast(plain, SERIES, steps=5))
