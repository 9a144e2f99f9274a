"""What the aeon and sktime estimators share: the plain estimators'
parameters, and panels turned from channels-first to time-major.

aeon and sktime hold a panel as (n_cases, n_channels, n_timepoints), or a
list of (n_channels, n_timepoints_i) arrays for series of different lengths;
sklstm's estimators read (n_samples, n_timesteps, n_features), or a list of
(n_timesteps_i, n_features) arrays.
"""

import inspect

import numpy as np


def mirrored_init(estimator_class, base_init, defaults=None, extra=()):
    """An ``__init__`` that takes the parameters of ``estimator_class``.

    The time-series estimators hold a plain sklstm estimator, built in
    ``_fit`` from their parameters, so they take exactly its parameters;
    deriving the signature keeps the two lists from drifting apart.
    scikit-learn, aeon and sktime read the parameter names from the
    signature, as they would from a hand-written one.

    Parameters
    ----------
    estimator_class : class
        LSTMClassifier or LSTMRegressor, whose ``__init__`` signature is taken.
    base_init : callable
        The ``__init__`` of the library's base class, called with no argument
        once the parameters are set (aeon's and sktime's bases read them).
    defaults : dict or None
        Other defaults for some of the parameters (the library's conventions).
    extra : sequence of inspect.Parameter
        Keyword-only parameters added after those of ``estimator_class``.

    Returns
    -------
    __init__ : function
    """
    defaults = defaults or {}
    parameters = [p.replace(default=defaults.get(name, p.default))
                  for name, p in inspect.signature(estimator_class.__init__).parameters.items()]
    signature = inspect.Signature(parameters + list(extra))

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)
        base_init(self)

    __init__.__signature__ = signature
    return __init__


def lstm_params(estimator, estimator_class):
    """The parameters of ``estimator`` that ``estimator_class`` takes."""
    names = estimator_class._get_param_names()
    return {name: getattr(estimator, name) for name in names}


def to_time_major(X):
    """A channels-first panel as sklstm's estimators read it.

    Parameters
    ----------
    X : ndarray of shape (n_cases, n_channels, n_timepoints), or list of \
            ndarray of shape (n_channels, n_timepoints_i)
        aeon's "numpy3D" or "np-list", sktime's "numpy3D".

    Returns
    -------
    X : ndarray of shape (n_cases, n_timepoints, n_channels), or list of \
            ndarray of shape (n_timepoints_i, n_channels)
    """
    if isinstance(X, np.ndarray):
        return np.ascontiguousarray(np.transpose(X, (0, 2, 1)))
    return [np.ascontiguousarray(np.asarray(x).T) for x in X]
