"""What the aeon and sktime estimators share: the plain estimators'
parameters, and panels turned from channels-first to time-major.

aeon and sktime hold a panel as (n_cases, n_channels, n_timepoints), or a
list of (n_channels, n_timepoints_i) arrays for series of different lengths;
sklstm's estimators read (n_samples, n_timesteps, n_features), or a list of
(n_timesteps_i, n_features) arrays.
"""

import inspect
import re

import numpy as np


def mirrored_init(estimator_class, base_init, defaults=None, exclude=("return_sequences",),
                  extra=()):
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
    exclude : sequence of str
        Parameters left out: by default ``return_sequences``, as aeon's and
        sktime's tasks have one target per series (or per forecast step).
    extra : sequence of inspect.Parameter
        Keyword-only parameters added after those of ``estimator_class``.

    Returns
    -------
    __init__ : function
    """
    defaults = defaults or {}
    parameters = [p.replace(default=defaults.get(name, p.default))
                  for name, p in inspect.signature(estimator_class.__init__).parameters.items()
                  if name not in exclude]
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
    names = (set(estimator_class._get_param_names())
             & set(inspect.signature(type(estimator).__init__).parameters))
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


def parameters_doc(doc, exclude=("return_sequences",), defaults=None):
    """The plain estimators' Parameters section as the mirrored ``__init__``
    takes them: without the entries of ``exclude``, with other ``defaults``.

    Parameters
    ----------
    doc : str
        A numpydoc Parameters block, each entry ``    name : type`` and its
        more indented description.
    exclude : sequence of str
        The parameters to leave out.
    defaults : dict or None
        Other defaults to state, ``{name: repr of the default}``.

    Returns
    -------
    doc : str
        The entries, the first one without its indentation: it goes after
        the indentation of the docstring's line that holds it.
    """
    defaults = defaults or {}
    entries = re.split(r"\n(?=    \S)", doc.strip("\n"))
    kept = []
    for entry in entries:
        name = entry.split(":")[0].strip()
        if name in exclude:
            continue
        if name in defaults:
            entry = re.sub(r"default=[^\n]*", f"default={defaults[name]}", entry, count=1)
        kept.append(entry.rstrip())
    return "\n\n".join(kept).lstrip()
