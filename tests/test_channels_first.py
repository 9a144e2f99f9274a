"""Channels-first panels (aeon's and sktime's layout) given to the plain
estimators: refused, warned about or explained where they can be told."""

import warnings

import numpy as np
import pytest

from sklstm import LSTMClassifier, LSTMRegressor

pd = pytest.importorskip("pandas")


def _fitted(n_features=3):
    X = np.random.RandomState(0).normal(size=(12, 20, n_features))  # (n, T, F)
    return LSTMRegressor(hidden_layer_sizes=3, max_iter=2, random_state=0).fit(
        X, X[:, -1, 0])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_transposed_array_at_predict_gets_the_hint():
    model = _fitted()
    X = np.zeros((4, 3, 20))  # (n_cases, n_channels, n_timepoints)
    with pytest.raises(ValueError, match=r"channels-first .* X.transpose\(0, 2, 1\)"):
        model.predict(X)
    # Another wrong number of features says nothing of panels.
    with pytest.raises(ValueError, match="expecting 3 features") as error:
        model.predict(np.zeros((4, 5, 20)))
    assert "channels-first" not in str(error.value)


def test_a_channels_first_collection_gets_the_hint():
    # aeon's unequal-length collection: (n_channels, n_timepoints_i) arrays.
    X = [np.zeros((2, 10)), np.zeros((2, 14))]
    with pytest.raises(ValueError, match=r"\[x.T for x in X\]"):
        LSTMClassifier().fit(X, [0, 1])
    # Sequences that differ in features and steps are only an error.
    with pytest.raises(ValueError, match="need the same features") as error:
        LSTMClassifier().fit([np.zeros((10, 2)), np.zeros((14, 3))], [0, 1])
    assert "channels-first" not in str(error.value)


def test_nested_dataframe_is_refused():
    # sktime's "nested_univ": a cell per (instance, variable), holding a series.
    X = pd.DataFrame({"a": [pd.Series(np.arange(5.0)) for _ in range(4)],
                      "b": [pd.Series(np.arange(5.0)) for _ in range(4)]})
    with pytest.raises(TypeError, match="nested_univ"):
        LSTMClassifier().fit(X, [0, 1, 0, 1])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_multiindex_rows_warn_and_plain_frames_do_not():
    values = np.random.RandomState(0).normal(size=(8, 5))
    index = pd.MultiIndex.from_product([range(4), range(2)], names=["instance", "time"])
    model = LSTMRegressor(hidden_layer_sizes=2, max_iter=2, random_state=0)
    with pytest.warns(UserWarning, match="pd-multiindex"):
        model.fit(pd.DataFrame(values, index=index), values[:, 0])
    # A table of lags with an ordinary index is 2D univariate sequences.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(pd.DataFrame(values), values[:, 0])
    assert not [w for w in caught if "pd-multiindex" in str(w.message)]
