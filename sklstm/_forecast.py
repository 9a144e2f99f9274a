"""Multi-step forecasting with a model trained on windows of a series."""

from numbers import Integral

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils._param_validation import HasMethods, Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from .preprocessing import _check_series


def _final_estimator(model):
    """The estimator that makes a fitted model's predictions: the last step
    of a pipeline, the regressor of a TransformedTargetRegressor, the best
    estimator of a search, at any depth."""
    for attribute in ("steps", "regressor_", "best_estimator_"):
        if hasattr(model, attribute):
            inner = getattr(model, attribute)
            return _final_estimator(inner[-1][1] if attribute == "steps" else inner)
    return model


@validate_params(
    {
        "model": [HasMethods(["predict"])],
        "history": ["array-like"],
        "steps": [Interval(Integral, 1, None, closed="left")],
        "look_back": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def forecast(model, history, steps, *, look_back=None):
    """Forecast the ``steps`` values that follow a series.

    The model predicts from the last ``look_back`` values; its predictions
    join the series and the window moves on. A model trained with
    ``SlidingWindow(horizon=1)`` advances one step per prediction (recursive
    strategy); one trained with ``horizon=h`` advances ``h`` (direct strategy,
    and recursive over blocks of ``h`` when ``steps > h``).

    Parameters
    ----------
    model : fitted LSTMRegressor, or Pipeline ending with one
        Trained on ``SlidingWindow(...).to_supervised(series)``, predicting
        every feature of the series (each step's values, step by step).
        A pipeline that scales X with a ``SequenceScaler`` takes and returns
        original units; a ``TransformedTargetRegressor`` around it scales y.
        Not a classifier: its predictions are labels, not values.
    history : array-like of shape (n_timesteps,) or (n_timesteps, n_features)
        The series so far, at least ``look_back`` finite values.
    steps : int
        How many future values to forecast (>= 1).
    look_back : int (>= 1) or None, default=None
        The window length; None takes the length of the model's training
        sequences (``n_timesteps_in_``).

    Returns
    -------
    values : ndarray of shape (steps,) or (steps, n_features)

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMRegressor, forecast
    >>> from sklstm.preprocessing import SlidingWindow
    >>> series = np.sin(np.arange(400) * 2 * np.pi / 50)
    >>> X, y = SlidingWindow(look_back=10).fit(series).to_supervised(series)
    >>> model = LSTMRegressor(8, batch_size=8, random_state=0).fit(X, y)
    >>> future = forecast(model, series, steps=20)
    >>> future.shape
    (20,)
    >>> truth = np.sin(np.arange(400, 420) * 2 * np.pi / 50)
    >>> bool(np.abs(future - truth).max() < 0.2)
    True
    """
    check_is_fitted(model)
    estimator = _final_estimator(model)
    if is_classifier(model) or is_classifier(estimator):
        raise TypeError(
            f"forecast feeds the model's predictions back as values of the series, "
            f"which needs a regressor; got {type(estimator).__name__}, whose "
            f"predictions are class labels.")
    history = _check_series(history, estimator, input_name="history")
    n_features = history.shape[1]
    if look_back is None:
        look_back = getattr(estimator, "n_timesteps_in_", None)
        if look_back is None:
            raise ValueError("The model was trained on sequences of different lengths: "
                             "pass look_back.")
    if len(history) < look_back:
        raise ValueError(f"history has {len(history)} values, fewer than "
                         f"look_back={look_back}.")
    # The model takes the windows in the format it was trained on: a model
    # fitted on 2D X takes 2D X of as many columns, and 3D X of any length.
    as_2d = n_features == 1 and getattr(estimator, "_n_timesteps_2d", None) == look_back
    # A model fitted on a DataFrame of lags gets its windows with the same
    # column names (scikit-learn warns at every step otherwise).
    column_names = getattr(model, "feature_names_in_", None) if as_2d else None
    series = list(history[-look_back:])
    values = []
    while len(values) < steps:
        window = np.asarray(series[-look_back:])[np.newaxis]
        predicted = np.asarray(model.predict(_as_model_input(window, as_2d, column_names)),
                               dtype=np.float64).reshape(-1)
        if predicted.size % n_features:
            raise ValueError(
                f"The model predicts {predicted.size} values per window, not a multiple "
                f"of the series' {n_features} features: forecasting feeds predictions "
                f"back, so the model must predict every feature.")
        if not np.isfinite(predicted).all():
            raise ValueError(
                f"The model predicted non-finite values after {len(values)} forecast "
                f"steps ({predicted}); they cannot be fed back.")
        new = predicted.reshape(-1, n_features)
        series.extend(new)
        values.extend(new)
    values = np.asarray(values[:steps])
    return values[:, 0] if n_features == 1 else values


def _as_model_input(window, as_2d, column_names):
    """A (1, look_back, n_features) window as the model was fitted: 3D, a 2D
    row, or a one-row DataFrame with the fitted column names."""
    if not as_2d:
        return window
    row = window[:, :, 0]
    if column_names is None:
        return row
    try:
        import pandas as pd
    except ImportError:  # fitted on another kind of DataFrame: it warns
        return row
    return pd.DataFrame(row, columns=column_names)
