"""pandas and polars output of sklstm's transformers (scikit-learn's set_output).

scikit-learn wraps whatever ``transform`` returns in the configured container
and fails on sequences, which no DataFrame holds. sklstm's transformers return
2D tables (one column per timestep, or the LSTM's features), 3D arrays and
lists of sequences: the tables are wrapped as scikit-learn wraps them, the
sequences pass unchanged.
"""

from functools import wraps

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils._set_output import _wrap_data_with_container


def _wrap_tables(method):
    """Wrap the 2D array outputs of `method` as set_output asks; leave the
    other outputs (3D arrays, lists of sequences) as they are."""

    @wraps(method)
    def wrapped(self, X, *args, **kwargs):
        output = method(self, X, *args, **kwargs)
        if isinstance(output, np.ndarray) and output.ndim == 2:
            return _wrap_data_with_container("transform", output, X, self)
        return output

    return wrapped


class SequenceTransformerMixin(TransformerMixin, auto_wrap_output_keys=None):
    """TransformerMixin whose set_output wraps 2D outputs only.

    Each subclass's own ``transform`` and ``fit_transform`` are wrapped by
    :func:`_wrap_tables` instead of scikit-learn's wrapper; ``set_output``
    is available wherever ``get_feature_names_out`` is, as with
    scikit-learn's transformers.
    """

    def __init_subclass__(cls, **kwargs):
        # No automatic wrapping by scikit-learn: it would fail on 3D output.
        super().__init_subclass__(auto_wrap_output_keys=None, **kwargs)
        # The key set_output and the container wrapping look for.
        cls._sklearn_auto_wrap_output_keys = {"transform"}
        for name in ("transform", "fit_transform"):
            if name in cls.__dict__:
                setattr(cls, name, _wrap_tables(cls.__dict__[name]))

    def fit_transform(self, X, y=None, **fit_params):
        """Fit to X, then transform it.

        Parameters
        ----------
        X : array-like or list
            The input of ``fit`` and ``transform``.
        y : array-like or None, default=None
            Targets, for supervised transformers.
        **fit_params : dict
            Further parameters of ``fit``.

        Returns
        -------
        X_new : ndarray, DataFrame or list
            What ``transform`` returns.
        """
        return self.fit(X, y, **fit_params).transform(X)
