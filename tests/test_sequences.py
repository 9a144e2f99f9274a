"""Sequences of different lengths, as users have them: classification and
per-step targets, model selection, persistence. (Windows of a series,
scaling and text: test_preprocessing.py; forecasting: test_forecast.py.)"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from sklstm import LSTMClassifier, LSTMRegressor


def quiet_fit(estimator, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **fit_params)


def last_step_task(n, seed=0, min_length=5, max_length=50):
    """Sequences of 5 to 50 steps, labelled by the sign of their own last
    value: padding would hide it, a wrong final state would miss it."""
    rng = np.random.RandomState(seed)
    lengths = rng.randint(min_length, max_length + 1, size=n)
    X = [rng.normal(size=(t, 2)) for t in lengths]
    y = np.array(["pos" if x[-1, 0] > 0 else "neg" for x in X])
    return X, y


# -- sequences of different lengths --------------------------------------------

def test_ragged_classification_by_the_own_last_step():
    X, y = last_step_task(600)
    lengths = [len(x) for x in X]
    assert max(lengths) >= 10 * min(lengths)
    clf = quiet_fit(LSTMClassifier(16, learning_rate_init=0.01, max_iter=40,
                                   random_state=0), X[:500], y[:500])
    assert clf.n_timesteps_in_ is None
    assert clf.score(X[500:], y[500:]) > 0.95


def test_ragged_predictions_equal_one_by_one():
    X, y = last_step_task(40, seed=1)
    clf = quiet_fit(LSTMClassifier((8, 4), bidirectional=True, max_iter=3,
                                   dtype="float64", random_state=0), X, y)
    together = clf.predict_proba(X)
    alone = np.vstack([clf.predict_proba([x]) for x in X])
    np.testing.assert_allclose(together, alone, rtol=1e-12)
    # A 3D array of equal lengths is the same as its list of sequences.
    same = np.stack([x[:5] for x in X])
    np.testing.assert_allclose(clf.predict_proba(same), clf.predict_proba(list(same)),
                               rtol=1e-12)


def test_ragged_per_step_targets():
    rng = np.random.RandomState(2)
    X = [rng.normal(size=(t, 1)) for t in rng.randint(3, 30, size=300)]
    y = [np.cumsum(x[:, 0]) for x in X]
    model = quiet_fit(LSTMRegressor(16, return_sequences=True, learning_rate_init=0.01,
                                    max_iter=40, random_state=0), X, y)
    predicted = model.predict(X)
    assert isinstance(predicted, list)
    assert [len(p) for p in predicted] == [len(x) for x in X]
    assert model.score(X, y) > 0.9
    labels = [np.where(t > 0, "up", "down") for t in y]
    clf = quiet_fit(LSTMClassifier(8, return_sequences=True, max_iter=3), X, labels)
    assert [p.shape for p in clf.predict_proba(X[:3])] == [(len(x), 2) for x in X[:3]]
    with pytest.raises(ValueError, match="y\\[0\\] has shape"):
        model.fit(X, [t[:-1] for t in y])


def test_ragged_x_in_grid_search_and_cross_validation():
    X, y = last_step_task(150, seed=3, max_length=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(
            LSTMClassifier(8, learning_rate_init=0.02, max_iter=20, random_state=0),
            X, y, cv=KFold(3, shuffle=True, random_state=0))
        search = GridSearchCV(LSTMClassifier(max_iter=10, random_state=0),
                              {"hidden_layer_sizes": [4, 8],
                               "learning_rate_init": [0.01, 0.03]},
                              cv=3, n_jobs=2).fit(X, y)
    assert scores.mean() > 0.8
    assert search.best_score_ > 0.7
    # Folds of a list are lists: the refitted model scores the whole list.
    assert search.best_estimator_.score(X, y) > 0.7
    unfitted = clone(search.best_estimator_)
    assert not hasattr(unfitted, "n_features_in_")


def test_ragged_pickle_and_early_stopping():
    X, y = last_step_task(120, seed=4)
    clf = quiet_fit(LSTMClassifier(8, early_stopping=True, max_iter=5, random_state=0),
                    X, y)
    assert len(clf.validation_scores_) == clf.n_iter_
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_inputs_are_checked_for_finiteness_whatever_their_sum(dtype):
    """Above 65536 values X is tested by its sum: a NaN or an infinity
    anywhere is caught, and finite values whose sum overflows are accepted
    with no overflow warning."""
    from sklstm._validation import check_sequences
    huge = np.finfo(dtype).max / 4
    X = np.full((300, 30, 8), huge, dtype=dtype)
    with np.errstate(over="ignore"):
        assert not np.isfinite(X.sum())  # the sum overflows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data, _ = check_sequences(X, dtype=dtype, estimator=LSTMRegressor())
    assert data.values.shape == (300 * 30, 8)
    for bad in (np.nan, np.inf, -np.inf):
        X = np.ones((300, 30, 8), dtype=dtype)
        X[123, 17, 5] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            check_sequences(X, dtype=dtype, estimator=LSTMRegressor())
