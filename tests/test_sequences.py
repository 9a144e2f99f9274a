"""Sequence data as users have it: different lengths, windows of a series,
scaling, text, forecasting."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklstm import LSTMClassifier, LSTMRegressor, forecast
from sklstm.preprocessing import SequenceScaler, SequenceTokenizer, SlidingWindow


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


# -- SlidingWindow --------------------------------------------------------------

def test_sliding_window_shapes():
    series = np.column_stack([np.arange(20.0), 100 + np.arange(20.0)])
    X, y = SlidingWindow(look_back=4).fit(series).to_supervised(series)
    assert X.shape == (16, 4, 2) and y.shape == (16, 2)
    X, y = SlidingWindow(look_back=4, horizon=3, target_columns=1).fit(series) \
        .to_supervised(series)
    assert X.shape == (14, 4, 2) and y.shape == (14, 3)
    np.testing.assert_array_equal(y[0], [104, 105, 106])
    X, y = SlidingWindow(look_back=5, step=3).fit(series).to_supervised(series)
    assert X.shape == (5, 5, 2) and y.shape == (5, 2)
    with pytest.raises(ValueError, match="fitted on 2"):
        SlidingWindow(look_back=5).fit(series).transform(series[:, 0])
    windows = SlidingWindow(look_back=5, step=3).fit(series).transform(series)
    assert windows.shape == (6, 5, 2)
    with pytest.raises(ValueError, match="fewer than look_back"):
        SlidingWindow(look_back=30).fit(series).transform(series)


@pytest.mark.parametrize("horizon, step", [(1, 1), (3, 2), (5, 1)])
def test_sliding_window_never_leaks_the_future(horizon, step):
    """Each window holds only times before its target's, and with
    TimeSeriesSplit (and the gap the docstring gives for horizon > 1) every
    training target precedes every test target."""
    times = np.arange(100.0)  # each value is its own time
    X, y = SlidingWindow(look_back=7, horizon=horizon, step=step).fit(times) \
        .to_supervised(times)
    y = y.reshape(len(y), -1)
    assert np.all(X[:, -1, 0] + 1 == y[:, 0])  # the target starts right after
    assert np.all(X.max(axis=(1, 2)) < y.min(axis=1))
    gap = -(-(horizon - 1) // step)
    for train, test in TimeSeriesSplit(n_splits=4, gap=gap).split(X):
        assert y[train].max() < y[test].min()


def test_sine_forecasting_in_one_line():
    series = np.sin(np.arange(1000) * 2 * np.pi / 50)
    X, y = SlidingWindow(look_back=10).fit(series).to_supervised(series)
    model = quiet_fit(LSTMRegressor(4, batch_size=1, random_state=0), X[:800], y[:800])
    assert np.mean((model.predict(X[800:]) - y[800:]) ** 2) < 1e-3


# -- SequenceScaler -------------------------------------------------------------

@pytest.mark.parametrize("method", ["standard", "minmax"])
def test_scaler_round_trip_in_every_format(method):
    rng = np.random.RandomState(5)
    dense = rng.normal(loc=3, scale=10, size=(20, 6, 3))
    ragged = [rng.normal(loc=3, scale=10, size=(t, 3)) for t in (2, 9, 5)]
    univariate = dense[:, :, 0]
    for X in (dense, ragged, univariate):
        scaler = SequenceScaler(method).fit(X)
        scaled = scaler.transform(X)
        values = np.concatenate([np.reshape(s, (-1, scaler.n_features_in_))
                                 for s in scaled])
        if method == "standard":
            np.testing.assert_allclose(values.mean(axis=0), 0, atol=1e-12)
            np.testing.assert_allclose(values.std(axis=0), 1)
        else:
            np.testing.assert_allclose(values.min(axis=0), 0, atol=1e-12)
            np.testing.assert_allclose(values.max(axis=0), 1)
        restored = scaler.inverse_transform(scaled)
        for original, back in zip(X, restored):
            np.testing.assert_allclose(back, original)
        assert type(scaled) is type(X) if isinstance(X, list) else scaled.shape == X.shape


def test_scaler_inverse_of_predictions_and_constant_features():
    series = 50 + 5 * np.sin(np.arange(200) / 5)
    scaler = SequenceScaler().fit(series[np.newaxis])
    scaled = scaler.transform(series[np.newaxis])[0]
    np.testing.assert_allclose(scaler.inverse_transform(scaled), series)
    constant = SequenceScaler().fit(np.ones((4, 5, 2)))
    np.testing.assert_array_equal(constant.transform(np.ones((1, 5, 2))), 0)
    with pytest.raises(ValueError, match="X has 3 features per timestep, but "
                                         "SequenceScaler is expecting 2"):
        constant.transform(np.ones((1, 5, 3)))


def test_scaler_in_a_pipeline_improves_unscaled_data():
    rng = np.random.RandomState(6)
    X = rng.normal(loc=1000, scale=300, size=(300, 8, 2))
    y = (X[:, :, 0].mean(axis=1) - 1000) / 100
    with pytest.warns(UserWarning, match="SequenceScaler"):
        raw = quiet_fit(LSTMRegressor(8, max_iter=20, random_state=0), X, y)
    pipe = quiet_fit(make_pipeline(SequenceScaler(), LSTMRegressor(8, max_iter=20,
                                                                   random_state=0)), X, y)
    assert pipe.score(X, y) > 0.8 > raw.score(X, y)


# -- SequenceTokenizer ----------------------------------------------------------

def test_tokenizer_round_trip_and_unknown_tokens():
    texts = ["The cat sat on the mat.", "A dog, a cat!", ""]
    tokenizer = SequenceTokenizer().fit(texts)
    assert tokenizer.tokens_[:2].tolist() == ["<pad>", "<unk>"]
    ids = tokenizer.transform(texts)
    assert tokenizer.inverse_transform(ids) == ["the cat sat on the mat .",
                                                "a dog , a cat !", ""]
    unknown = tokenizer.transform(["the zebra sat"])[0]
    assert unknown[1] == SequenceTokenizer.UNKNOWN
    assert tokenizer.inverse_transform([unknown]) == ["the <unk> sat"]
    chars = SequenceTokenizer(level="char", lowercase=False).fit(["abc", "abd"])
    assert chars.inverse_transform(chars.transform(["bad", "cab"])) == ["bad", "cab"]
    padded = SequenceTokenizer(output="padded", max_length=4).fit(texts).transform(texts)
    assert padded.shape == (3, 4) and padded[2].tolist() == [0, 0, 0, 0]
    rare = SequenceTokenizer(min_frequency=2).fit(texts)
    assert set(rare.vocabulary_) == {"<pad>", "<unk>", "the", "cat", "a"}
    assert len(SequenceTokenizer(max_tokens=2).fit(texts).tokens_) == 4
    with pytest.raises(ValueError, match="list of texts"):
        tokenizer.transform("the cat")


def test_text_classification_pipeline():
    """Sentiment from word order-free cues in texts of different lengths."""
    rng = np.random.RandomState(7)
    filler = ["we", "went", "to", "the", "movie", "it", "was", "and", "then", "home"]
    texts, labels = [], []
    for _ in range(400):
        words = list(rng.choice(filler, size=rng.randint(3, 15)))
        label = rng.rand() < 0.5
        words.insert(rng.randint(len(words) + 1), "great" if label else "awful")
        texts.append(" ".join(words))
        labels.append("positive" if label else "negative")
    pipe = make_pipeline(SequenceTokenizer(),
                         LSTMClassifier(16, embedding_dim=8, learning_rate_init=0.01,
                                        max_iter=30, random_state=0))
    quiet_fit(pipe, texts[:300], labels[:300])
    assert pipe.score(texts[300:], labels[300:]) > 0.95


# -- forecasting ----------------------------------------------------------------

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
