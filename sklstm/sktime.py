"""sklstm's LSTM as sktime estimators: ``pip install 'sklstm[sktime]'``.

- :class:`LSTMForecaster`, an sktime forecaster: it windows the series
  ``y``, passes the exogenous ``X`` to the LSTM as features of each step,
  and forecasts any horizon recursively.
- :class:`SktimeLSTMClassifier` and :class:`SktimeLSTMRegressor`, sktime
  time series classifiers and regressors on sktime's panels, of shape
  ``(n_instances, n_columns, n_timepoints)``.

They take the parameters of :class:`~sklstm.LSTMRegressor` (and
:class:`~sklstm.LSTMClassifier`), so that a search over them searches the
same grid; the fitted plain estimator is ``estimator_``.
"""

import inspect

import numpy as np

try:
    import pandas as pd
    from sktime.classification.base import BaseClassifier
    from sktime.forecasting.base import BaseForecaster, ForecastingHorizon
    from sktime.regression.base import BaseRegressor
except ImportError as error:  # pragma: no cover - exercised without sktime
    raise ImportError(
        "sklstm.sktime needs sktime, which is not installed: pip install "
        "'sklstm[sktime]' (or pip install sktime).") from error

from ._adapters import lstm_params, mirrored_init, parameters_doc, to_time_major
from ._estimators import (
    _CLASS_WEIGHT_DOC,
    _LOSS_DOC,
    _PARAMS_DOC,
    LSTMClassifier,
    LSTMRegressor,
)
from ._forecast import forecast

__all__ = ["LSTMForecaster", "SktimeLSTMClassifier", "SktimeLSTMRegressor"]

_AUTHORS = "sklstm developers"

_FORECASTER_PARAMS = (
    inspect.Parameter("window_length", inspect.Parameter.KEYWORD_ONLY, default=10),
    inspect.Parameter("scale", inspect.Parameter.KEYWORD_ONLY, default=True),
)

_PARAMS = parameters_doc(_PARAMS_DOC)

_FORECASTER_PARAMS_DOC = """
    window_length : int, default=10
        The number of past steps the LSTM reads to forecast the next one.

    scale : bool, default=True
        Standardize ``y`` and ``X`` with the mean and standard deviation of
        the training data (LSTMs train best on data of unit scale);
        forecasts are in the units of ``y``.
"""


def _forecaster_init(self):
    BaseForecaster.__init__(self)
    # The base class sets these when it keeps the data seen (remember_data),
    # which set_config may turn on after construction.
    self._y = self._X = None


class LSTMForecaster(BaseForecaster):
    __doc__ = f"""Long short-term memory forecaster for sktime.

    An :class:`~sklstm.LSTMRegressor` reads windows of ``window_length``
    steps of the series and predicts the next value (of every column of a
    multivariate ``y``). Each step of a window holds the series' value at
    the step before and the exogenous values ``X`` at the step itself, so
    the forecast of ``y[t]`` sees ``y`` up to ``t - 1`` and ``X`` up to
    ``t``: the exogenous variables are features of each step, not values of
    the series. Forecasts of several steps are recursive: each forecast
    joins the window for the next, with the exogenous values of that step
    (``predict`` needs ``X`` for every step up to the last of ``fh``).

    Parameters
    ----------
    {_FORECASTER_PARAMS_DOC.strip()}

    {parameters_doc(_PARAMS_DOC, exclude=("return_sequences", "embedding_dim"))}

    {_LOSS_DOC.strip()}

    Attributes
    ----------
    estimator_ : LSTMRegressor
        The fitted network, on windows of shape (n_windows, window_length,
        n_columns of y + n_columns of X).

    See Also
    --------
    sklstm.forecast : Recursive and direct forecasts with a plain estimator.
    sklstm.preprocessing.SlidingWindow : Windows of a series for a plain
        estimator.

    Notes
    -----
    ``update(y, X, update_params=True)`` trains the network one more epoch
    (``partial_fit``) on the windows that end in the new values;
    ``update_params=False`` only moves the window on.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklstm.sktime import LSTMForecaster
    >>> y = pd.Series(np.sin(np.arange(300) * 2 * np.pi / 25))
    >>> forecaster = LSTMForecaster(window_length=25, hidden_layer_sizes=16,
    ...                             random_state=0).fit(y)
    >>> forecast = forecaster.predict(fh=[1, 2, 3, 4, 5])
    >>> forecast.index.tolist()
    [300, 301, 302, 303, 304]
    >>> truth = np.sin(np.arange(300, 305) * 2 * np.pi / 25)
    >>> bool(np.abs(forecast.to_numpy() - truth).max() < 0.2)
    True
    """

    _tags = {
        "authors": _AUTHORS,
        "maintainers": _AUTHORS,
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": True,
        "capability:insample": False,
        "capability:update": True,
        "capability:categorical_in_X": False,
        # Recursive forecasts need X at every step up to the horizon.
        "capability:non_contiguous_X": False,
        "capability:random_state": True,
        "requires-fh-in-fit": False,
    }
    # The forecaster keeps the last window_length steps it needs itself; the
    # base class need not keep every value seen.
    _config = {"remember_data": False}

    # Token ids (embedding_dim) are not values to standardize and forecast.
    __init__ = mirrored_init(LSTMRegressor, _forecaster_init,
                             exclude=("return_sequences", "embedding_dim"),
                             extra=_FORECASTER_PARAMS)

    def _fit(self, y, X, fh):
        L = self.window_length
        if not (isinstance(L, (int, np.integer)) and L >= 1):
            raise ValueError(f"window_length must be an int >= 1, got {L!r}.")
        if len(y) <= L:
            raise ValueError(
                f"y has {len(y)} values; window_length={L} needs at least {L + 1} "
                f"(a window and the value that follows it).")
        self._y_columns = y.columns
        self._with_X = X is not None
        Y, E = y.to_numpy(dtype=np.float64), self._exog(X, len(y))
        self._y_center, self._y_scale = self._moments(Y)
        self._X_center, self._X_scale = self._moments(E)
        Y, E = self._scaled(Y, E)
        windows, targets = self._windows(Y, E)
        self.estimator_ = LSTMRegressor(**lstm_params(self, LSTMRegressor))
        self.estimator_.fit(windows, targets)
        self._keep_tail(Y, E)
        return self

    def _update(self, y, X=None, update_params=True):
        if self._with_X and X is None:
            raise ValueError("The forecaster was fitted with X: update needs X too.")
        E = self._exog(X if self._with_X else None, len(y))
        Y, E = self._scaled(y.to_numpy(dtype=np.float64), E)
        Y = np.concatenate([self._y_tail, Y])
        E = np.concatenate([self._X_tail, E])
        if update_params:
            windows, targets = self._windows(Y, E)
            self.estimator_.partial_fit(windows, targets)
        self._keep_tail(Y, E)
        return self

    def _predict(self, fh, X):
        steps = fh.to_relative(self.cutoff).to_numpy()
        if np.any(steps < 1):
            raise NotImplementedError(
                "LSTMForecaster forecasts out of sample only: fh must be after the "
                "cutoff.")
        horizon = int(steps.max())
        if self._with_X:
            future = self._future_exog(X, horizon, fh.freq)
            values = self._recursive(future)
        else:
            # sklstm.forecast: the same windows, of the series alone.
            values = forecast(self.estimator_, self._y_tail, horizon,
                              look_back=self.window_length)
        values = np.asarray(values).reshape(horizon, -1) * self._y_scale + self._y_center
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(values[steps - 1], index=index, columns=self._y_columns)

    # -- helpers ---------------------------------------------------------------

    def _exog(self, X, n):
        """X's values (n, n_exog), or an array of no column without X."""
        if X is None:
            return np.empty((n, 0))
        return X.to_numpy(dtype=np.float64)

    def _moments(self, values):
        if not self.scale or values.shape[1] == 0:
            return np.zeros(values.shape[1]), np.ones(values.shape[1])
        std = values.std(axis=0)
        return values.mean(axis=0), np.where(std > 0, std, 1.0)

    def _scaled(self, Y, E):
        return (Y - self._y_center) / self._y_scale, (E - self._X_center) / self._X_scale

    def _windows(self, Y, E):
        """Windows of window_length steps and the value after each: step s
        holds Y[s - 1] and E[s], the window ending at step t predicts Y[t]."""
        L = self.window_length
        steps = np.hstack([Y[:-1], E[1:]])  # steps 1 .. n - 1
        windows = np.lib.stride_tricks.sliding_window_view(steps, L, axis=0)
        targets = Y[L:]
        # sliding_window_view puts the window axis last: (n_windows, features, L).
        windows = np.ascontiguousarray(np.transpose(windows, (0, 2, 1)))
        return windows, targets[:, 0] if targets.shape[1] == 1 else targets

    def _keep_tail(self, Y, E):
        """The last window_length values of the series and of X: what the next
        window needs."""
        self._y_tail = Y[-self.window_length:].copy()
        self._X_tail = E[-self.window_length:].copy()

    def _future_exog(self, X, horizon, freq):
        """The scaled exogenous values of the steps 1 .. horizon after the
        cutoff, taken from X by their index."""
        needed = ForecastingHorizon(np.arange(1, horizon + 1), is_relative=True,
                                    freq=freq).to_absolute_index(self.cutoff)
        if X is None or not needed.isin(X.index).all():
            raise ValueError(
                f"The forecaster was fitted with X and forecasts recursively: predict "
                f"needs X at each of the {horizon} steps after the cutoff "
                f"({needed[0]} to {needed[-1]}).")
        E = X.loc[needed].to_numpy(dtype=np.float64)
        return (E - self._X_center) / self._X_scale

    def _recursive(self, future):
        """Forecasts of the len(future) steps after the cutoff, each fed back."""
        L = self.window_length
        ys = list(self._y_tail)
        exog = list(self._X_tail[1:])  # the window's exogenous values but the next
        for e in future:
            exog.append(e)
            window = np.hstack([np.asarray(ys[-L:]), np.asarray(exog[-L:])])
            ys.append(np.asarray(self.estimator_.predict(window[np.newaxis])).reshape(-1))
        return np.asarray(ys[L:])

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Small, fast configurations for sktime's estimator checks.

        Parameters
        ----------
        parameter_set : str, default="default"
            Ignored: one list for every set.

        Returns
        -------
        params : list of dict
        """
        return [
            {"window_length": 3, "hidden_layer_sizes": 4, "max_iter": 5, "random_state": 0},
            {"window_length": 2, "scale": False, "hidden_layer_sizes": (3, 2),
             "peephole": True, "max_iter": 3, "batch_size": 4, "random_state": 0},
        ]


def _panel_as_sequences(X):
    """sktime's inner panel as sklstm reads it: a "numpy3D" array
    (n_instances, n_columns, n_timepoints) transposed, a "df-list" (one
    (n_timepoints_i, n_columns) DataFrame per instance) as a list of arrays."""
    if isinstance(X, np.ndarray):
        return to_time_major(X)
    return [frame.to_numpy() for frame in X]


_PANEL_TAGS = {
    "authors": _AUTHORS,
    "maintainers": _AUTHORS,
    "capability:multivariate": True,
    "capability:unequal_length": True,
    "capability:multithreading": True,
    "capability:random_state": True,
    "capability:categorical_in_X": False,
    # A numpy3D panel stays one array; any other becomes a list of frames.
    "X_inner_mtype": ["df-list", "numpy3D"],
}

_PANEL_NOTES_DOC = """
    sktime's panels are channels-first, ``(n_instances, n_columns,
    n_timepoints)``; the LSTM reads ``(n_instances, n_timepoints,
    n_columns)``, and this estimator transposes them. Do not pass sktime's
    arrays to the plain estimators as they are: they would read the columns
    as time steps.
"""


def _panel_test_params(cls, parameter_set="default"):
    """Small, fast configurations for sktime's estimator checks.

    Parameters
    ----------
    parameter_set : str, default="default"
        Ignored: one list for every set.

    Returns
    -------
    params : list of dict
    """
    return [
        {"hidden_layer_sizes": 4, "max_iter": 5, "random_state": 0},
        {"hidden_layer_sizes": (3, 2), "bidirectional": True, "max_iter": 3,
         "batch_size": 4, "random_state": 0},
    ]


class SktimeLSTMClassifier(BaseClassifier):
    __doc__ = f"""Long short-term memory classifier for sktime's panels.

    An sktime classifier that fits an :class:`~sklstm.LSTMClassifier` on
    multivariate series of any lengths.

    Parameters
    ----------
    {_PARAMS}

    {_CLASS_WEIGHT_DOC.strip()}

    Attributes
    ----------
    estimator_ : LSTMClassifier
        The fitted network.

    classes_ : ndarray of shape (n_classes,)
        The class labels.

    See Also
    --------
    sklstm.aeon.AeonLSTMClassifier : The same for aeon.

    Notes
    -----
    {_PANEL_NOTES_DOC.strip()}

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm.sktime import SktimeLSTMClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(80, 2, 15))    # (n_instances, n_columns, n_timepoints)
    >>> y = np.where(X[:, 0, 0] > 0, "up", "down")
    >>> clf = SktimeLSTMClassifier(hidden_layer_sizes=16, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _tags = {**_PANEL_TAGS, "capability:predict_proba": True,
             "capability:class_weight": True}

    __init__ = mirrored_init(LSTMClassifier, BaseClassifier.__init__)
    get_test_params = classmethod(_panel_test_params)

    def _fit(self, X, y):
        self.estimator_ = LSTMClassifier(**lstm_params(self, LSTMClassifier))
        self.estimator_.fit(_panel_as_sequences(X), y)
        return self

    def _predict(self, X):
        return self.estimator_.predict(_panel_as_sequences(X))

    def _predict_proba(self, X):
        return self.estimator_.predict_proba(_panel_as_sequences(X))


class SktimeLSTMRegressor(BaseRegressor):
    __doc__ = f"""Long short-term memory regressor for sktime's panels.

    An sktime regressor that fits an :class:`~sklstm.LSTMRegressor` on
    multivariate series of any lengths, one target value per series.

    Parameters
    ----------
    {_PARAMS}

    {_LOSS_DOC.strip()}

    Attributes
    ----------
    estimator_ : LSTMRegressor
        The fitted network.

    See Also
    --------
    sklstm.aeon.AeonLSTMRegressor : The same for aeon.

    Notes
    -----
    {_PANEL_NOTES_DOC.strip()}

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm.sktime import SktimeLSTMRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 2, 12))
    >>> y = X[:, 0, :].mean(axis=1)
    >>> SktimeLSTMRegressor(hidden_layer_sizes=8, random_state=0).fit(X, y).predict(X).shape
    (60,)
    """

    _tags = _PANEL_TAGS

    __init__ = mirrored_init(LSTMRegressor, BaseRegressor.__init__)
    get_test_params = classmethod(_panel_test_params)

    def _fit(self, X, y):
        self.estimator_ = LSTMRegressor(**lstm_params(self, LSTMRegressor))
        self.estimator_.fit(_panel_as_sequences(X), y)
        return self

    def _predict(self, X):
        return self.estimator_.predict(_panel_as_sequences(X))
