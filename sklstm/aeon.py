"""sklstm's LSTM as aeon estimators: ``pip install 'sklstm[aeon]'``.

:class:`AeonLSTMClassifier` and :class:`AeonLSTMRegressor` are aeon
classifiers and regressors (``aeon.classification.BaseClassifier``,
``aeon.regression.BaseRegressor``): they take aeon's collections, of shape
``(n_cases, n_channels, n_timepoints)`` or lists of
``(n_channels, n_timepoints_i)`` arrays for series of different lengths,
and fit an :class:`~sklstm.LSTMClassifier` or :class:`~sklstm.LSTMRegressor`
on them with the axes as sklstm reads them, ``(n_cases, n_timepoints,
n_channels)``. They take the plain estimators' parameters, so a
``GridSearchCV`` over them searches the same grid, and the fitted plain
estimator is ``estimator_``.
"""

try:
    from aeon.classification import BaseClassifier
    from aeon.regression import BaseRegressor
    from aeon.utils.validation import check_n_jobs
except ImportError as error:  # pragma: no cover - exercised without aeon
    raise ImportError(
        "sklstm.aeon needs aeon, which is not installed: pip install 'sklstm[aeon]' "
        "(or pip install aeon).") from error

from ._adapters import lstm_params, mirrored_init, parameters_doc, to_time_major
from ._estimators import (
    _CLASS_WEIGHT_DOC,
    _LOSS_DOC,
    _PARAMS_DOC,
    LSTMClassifier,
    LSTMRegressor,
)

__all__ = ["AeonLSTMClassifier", "AeonLSTMRegressor"]

_TAGS = {
    "capability:multivariate": True,
    "capability:unequal_length": True,
    # n_jobs threads, with results bit-identical for any number of them.
    "capability:multithreading": True,
    # Equal lengths stay one array; different lengths a list of arrays.
    "X_inner_type": ["numpy3D", "np-list"],
    "algorithm_type": "deeplearning",
}

_PARAMS = parameters_doc(_PARAMS_DOC, defaults={"n_jobs": "1"})

_NOTES_DOC = """
    ``n_jobs`` defaults to 1 here, aeon's convention for estimators that can
    use threads (the plain estimators' None is the OpenMP limit); -1 uses all
    the CPUs. The predictions are the same for any value.

    aeon's series are channels-first, ``(n_cases, n_channels,
    n_timepoints)``; the LSTM reads ``(n_cases, n_timepoints, n_channels)``,
    and this estimator transposes them. Do not pass aeon's arrays to the
    plain estimators as they are: they would read the channels as time
    steps.
"""


def _test_params(cls, parameter_set="default"):
    """Small, fast configurations for aeon's estimator checks."""
    return [
        {"hidden_layer_sizes": 4, "max_iter": 5, "random_state": 0},
        {"hidden_layer_sizes": (3, 2), "bidirectional": True, "peephole": True,
         "max_iter": 3, "batch_size": 4, "random_state": 0},
    ]


class AeonLSTMClassifier(BaseClassifier):
    __doc__ = f"""Long short-term memory classifier for aeon's time series collections.

    An aeon classifier that fits an :class:`~sklstm.LSTMClassifier` on
    multivariate series of any lengths.

    Parameters
    ----------
    {_PARAMS}

    {_CLASS_WEIGHT_DOC.strip()}

    Attributes
    ----------
    estimator_ : LSTMClassifier
        The fitted network: its ``loss_curve_``, ``lstm_weights_`` and the
        other attributes of :class:`~sklstm.LSTMClassifier`.

    classes_ : ndarray of shape (n_classes,)
        The class labels.

    n_classes_ : int
        The number of classes.

    See Also
    --------
    sklstm.LSTMClassifier : The plain estimator, on (n_samples, n_timesteps,
        n_features) arrays.
    AeonLSTMRegressor : The regressor.

    Notes
    -----
    {_NOTES_DOC.strip()}

    Examples
    --------
    >>> from aeon.datasets import load_basic_motions
    >>> from sklstm.aeon import AeonLSTMClassifier
    >>> X, y = load_basic_motions(split="train")
    >>> X.shape  # (n_cases, n_channels, n_timepoints)
    (40, 6, 100)
    >>> clf = AeonLSTMClassifier(hidden_layer_sizes=16, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _tags = _TAGS
    __init__ = mirrored_init(LSTMClassifier, BaseClassifier.__init__, {"n_jobs": 1})
    _get_test_params = classmethod(_test_params)

    def _fit(self, X, y):
        self._n_jobs = check_n_jobs(self.n_jobs)
        self.estimator_ = LSTMClassifier(**{**lstm_params(self, LSTMClassifier),
                                            "n_jobs": self._n_jobs})
        self.estimator_.fit(to_time_major(X), y)
        return self

    def _predict(self, X):
        return self.estimator_.predict(to_time_major(X))

    def _predict_proba(self, X):
        return self.estimator_.predict_proba(to_time_major(X))


class AeonLSTMRegressor(BaseRegressor):
    __doc__ = f"""Long short-term memory regressor for aeon's time series collections.

    An aeon regressor that fits an :class:`~sklstm.LSTMRegressor` on
    multivariate series of any lengths, one target value per series.

    Parameters
    ----------
    {_PARAMS}

    {_LOSS_DOC.strip()}

    Attributes
    ----------
    estimator_ : LSTMRegressor
        The fitted network: its ``loss_curve_``, ``lstm_weights_`` and the
        other attributes of :class:`~sklstm.LSTMRegressor`.

    See Also
    --------
    sklstm.LSTMRegressor : The plain estimator, on (n_samples, n_timesteps,
        n_features) arrays.
    AeonLSTMClassifier : The classifier.

    Notes
    -----
    {_NOTES_DOC.strip()}

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm.aeon import AeonLSTMRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 2, 12))      # (n_cases, n_channels, n_timepoints)
    >>> y = X[:, 0, :].mean(axis=1)
    >>> reg = AeonLSTMRegressor(hidden_layer_sizes=8, random_state=0).fit(X, y)
    >>> reg.predict(X).shape
    (60,)
    """

    _tags = _TAGS
    __init__ = mirrored_init(LSTMRegressor, BaseRegressor.__init__, {"n_jobs": 1})
    _get_test_params = classmethod(_test_params)

    def _fit(self, X, y):
        self._n_jobs = check_n_jobs(self.n_jobs)
        self.estimator_ = LSTMRegressor(**{**lstm_params(self, LSTMRegressor),
                                           "n_jobs": self._n_jobs})
        self.estimator_.fit(to_time_major(X), y)
        return self

    def _predict(self, X):
        return self.estimator_.predict(to_time_major(X))
