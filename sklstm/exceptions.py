"""Warnings of sklstm (as ``sklearn.exceptions`` holds scikit-learn's)."""

from sklearn.exceptions import InconsistentVersionWarning as _SklearnVersionWarning


class InconsistentVersionWarning(_SklearnVersionWarning):
    """Warning raised when a model saved by another version is loaded.

    Pickles and skops files of sklstm's estimators record the versions of
    sklstm and scikit-learn that wrote them; loading one under other
    versions warns, as scikit-learn does for its own estimators. The warning
    is a subclass of scikit-learn's ``InconsistentVersionWarning``, so that
    a filter on that one, such as
    ``warnings.simplefilter("error", InconsistentVersionWarning)`` to refuse
    models from other versions, covers sklstm's models too.

    Parameters
    ----------
    estimator_name : str
        Estimator name.
    current_sklstm_version, original_sklstm_version : str
        The sklstm version loading the model, and the one that saved it.
    current_sklearn_version, original_sklearn_version : str
        The same for scikit-learn.

    Examples
    --------
    >>> import warnings
    >>> from sklstm import LSTMRegressor
    >>> from sklstm.exceptions import InconsistentVersionWarning
    >>> state = LSTMRegressor().__getstate__()
    >>> state["_sklstm_version"] = "0.0.1"   # as if saved by sklstm 0.0.1
    >>> model = LSTMRegressor.__new__(LSTMRegressor)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     model.__setstate__(state)
    >>> caught[0].category is InconsistentVersionWarning
    True
    >>> caught[0].message.original_sklstm_version
    '0.0.1'
    """

    def __init__(self, *, estimator_name, current_sklstm_version, original_sklstm_version,
                 current_sklearn_version, original_sklearn_version):
        super().__init__(estimator_name=estimator_name,
                         current_sklearn_version=current_sklearn_version,
                         original_sklearn_version=original_sklearn_version)
        self.current_sklstm_version = current_sklstm_version
        self.original_sklstm_version = original_sklstm_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from sklstm "
            f"{self.original_sklstm_version} (scikit-learn "
            f"{self.original_sklearn_version}) when using sklstm "
            f"{self.current_sklstm_version} (scikit-learn "
            f"{self.current_sklearn_version}). This might lead to breaking code or "
            f"invalid results. Use at your own risk; refit the model to be sure."
        )
