"""The preprocessing transformers: windows of a series, scaling, text."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklstm import LSTMClassifier, LSTMRegressor
from sklstm.preprocessing import SequenceScaler, SequenceTokenizer, SlidingWindow


def quiet_fit(estimator, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **fit_params)


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
        values = np.concatenate([np.reshape(s, (-1, len(scaler.center_)))
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
    np.testing.assert_allclose(scaler.inverse_transform(list(scaled[:3])), series[:3])
    np.testing.assert_allclose(scaler.inverse_transform(pd.Series(scaled)), series)
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


# -- parameters: scikit-learn's validation names each bad one -----------------

@pytest.mark.parametrize("transformer, params, fragment", [
    (SlidingWindow, {"look_back": 0}, "'look_back' parameter of SlidingWindow must be an int"),
    (SlidingWindow, {"look_back": 2.5}, "'look_back' parameter"),
    (SlidingWindow, {"horizon": 0}, "'horizon' parameter"),
    (SlidingWindow, {"step": "1"}, "'step' parameter"),
    (SlidingWindow, {"target_columns": -1}, "'target_columns' parameter"),
    (SequenceScaler, {"method": "robust"}, "'method' parameter"),
    (SequenceScaler, {"feature_range": [0, 1]}, "'feature_range' parameter"),
    (SequenceTokenizer, {"level": "sentence"}, "'level' parameter"),
    (SequenceTokenizer, {"lowercase": "yes"}, "'lowercase' parameter"),
    (SequenceTokenizer, {"min_frequency": 0}, "'min_frequency' parameter"),
    (SequenceTokenizer, {"max_tokens": 0}, "'max_tokens' parameter"),
    (SequenceTokenizer, {"output": "dense"}, "'output' parameter"),
    (SequenceTokenizer, {"max_length": 1.5}, "'max_length' parameter"),
])
def test_invalid_parameters_are_named(transformer, params, fragment):
    data = ["a text"] if transformer is SequenceTokenizer else np.ones((3, 4))
    with pytest.raises(ValueError, match=fragment):
        transformer(**params).fit(data)


# -- SlidingWindow: targets, fit_transform, inputs ------------------------------

@pytest.mark.parametrize("target_columns, error, fragment", [
    ([-1], ValueError, "holds -1, but a series of 3 features has the columns 0..2"),
    ([3], ValueError, "holds 3, but a series of 3 features"),
    ([0.7], TypeError, "column indices \\(int\\); got \\[0.7\\]"),
    ([], TypeError, "non-empty list"),
    ([[0, 1]], TypeError, "got \\[\\[0, 1\\]\\]"),
    (["a"], TypeError, "got \\['a'\\]"),
    (True, TypeError, "got True"),
])
def test_sliding_window_target_columns_are_checked(target_columns, error, fragment):
    """Negative indices once took columns from the end, floats were
    truncated (0.7 took column 0): both are errors now."""
    series = np.arange(30.0).reshape(10, 3)
    with pytest.raises(error, match=fragment):
        SlidingWindow(look_back=2, target_columns=target_columns).fit(series)


def test_sliding_window_takes_the_target_columns_it_is_given():
    series = np.arange(30.0).reshape(10, 3)
    for columns in (2, [2], np.array([2, 0])):
        _, y = SlidingWindow(look_back=2, target_columns=columns).fit(series) \
            .to_supervised(series)
        np.testing.assert_array_equal(y, series[2:][:, np.atleast_1d(columns)].squeeze())


def test_sliding_window_fit_transform():
    series = np.column_stack([np.arange(12.0), -np.arange(12.0)])
    window = SlidingWindow(look_back=4, step=2)
    windows = window.fit_transform(series)
    np.testing.assert_array_equal(windows, SlidingWindow(look_back=4, step=2).fit(series)
                                  .transform(series))
    assert windows.shape == (5, 4, 2) and window.n_features_in_ == 2


def test_sliding_window_on_a_dataframe_keeps_its_column_names():
    frame = pd.DataFrame({"load": np.arange(10.0), "price": np.arange(10.0) * 2})
    window = SlidingWindow(look_back=3).fit(frame)
    assert window.feature_names_in_.tolist() == ["load", "price"]
    assert window.get_feature_names_out().tolist() == ["load", "price"]
    with pytest.raises(ValueError, match="feature names should match"):
        window.transform(frame[["price", "load"]])
    assert SlidingWindow(look_back=3).fit(frame.values).get_feature_names_out() \
        .tolist() == ["x0", "x1"]


@pytest.mark.parametrize("series, fragment", [
    (np.array([1.0, np.nan, 3.0, 4.0]), "Input series contains NaN"),
    (np.array([1.0, np.inf, 3.0, 4.0]), "Input series contains infinity"),
    (np.array([]), "0 sample"),
    (np.zeros((4, 0)), "0 feature"),
    (np.array(["a", "b", "c"]), "could not convert"),
    (np.zeros((4, 2, 2)), "Found array with dim 3"),
])
def test_sliding_window_bad_series(series, fragment):
    with pytest.raises(ValueError, match=fragment):
        SlidingWindow(look_back=2).fit(series)
    fitted = SlidingWindow(look_back=2).fit(np.zeros(5))
    if series.ndim == 1:
        with pytest.raises(ValueError, match=fragment):
            fitted.transform(series)


# -- SequenceScaler: extreme values, feature_range, 2D tables ------------------

@pytest.mark.parametrize("method", ["standard", "minmax"])
@pytest.mark.parametrize("magnitude", [1e200, 1e-200, 1e300])
def test_scaler_at_extreme_magnitudes_round_trips(method, magnitude):
    """Values near 1e200 once gave scale_=inf (their squares overflow) and
    transformed to zeros; near 1e-200 the squares underflow and the scale
    was taken for 0."""
    rng = np.random.RandomState(8)
    unit = rng.normal(loc=3, scale=2, size=(10, 6, 2))
    X = unit * magnitude
    scaler = SequenceScaler(method).fit(X)
    assert np.all(np.isfinite(scaler.scale_)) and np.all(scaler.scale_ > 0)
    reference = SequenceScaler(method).fit(unit)
    np.testing.assert_allclose(scaler.scale_, reference.scale_ * magnitude, rtol=1e-12)
    scaled = scaler.transform(X)
    np.testing.assert_allclose(scaled, reference.transform(unit), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(scaler.inverse_transform(scaled), X, rtol=1e-12)


def test_scaler_constant_features_are_only_shifted():
    """0.1 repeated has a computed std of ~4e-17, not 0: it must still count
    as constant, or transform divides rounding noise by it. With "minmax" a
    constant goes to the range's min, as in MinMaxScaler (it went to 0)."""
    X = np.full((10, 7, 2), 0.1)
    X[:, :, 1] = np.linspace(0, 1, 70).reshape(10, 7)
    scaler = SequenceScaler().fit(X)
    assert scaler.scale_[0] == 1.0 and scaler.scale_[1] != 1.0
    np.testing.assert_allclose(scaler.transform(X)[:, :, 0], 0, atol=1e-15)
    minmax = SequenceScaler("minmax", feature_range=(-1, 1)).fit(X)
    np.testing.assert_array_equal(minmax.transform(X)[:, :, 0], -1)
    np.testing.assert_allclose(minmax.transform(X)[:, :, 1].max(), 1)


@pytest.mark.parametrize("feature_range", [(0, "a"), (1, 0), (1, 1), (0, np.inf),
                                           (0, np.nan), (0, 1, 2), (), (False, True)])
@pytest.mark.parametrize("method", ["standard", "minmax"])
def test_scaler_feature_range_is_checked(feature_range, method):
    with pytest.raises(ValueError, match="'feature_range' parameter of SequenceScaler must "
                                         "be a tuple \\(min, max\\) of finite numbers "
                                         "with min < max"):
        SequenceScaler(method, feature_range=feature_range).fit(np.ones((2, 3, 1)))


def test_scaler_feature_range_maps_onto_it():
    X = np.random.RandomState(9).uniform(-5, 5, size=(20, 4, 2))
    scaled = SequenceScaler("minmax", feature_range=(-2, 0.5)).fit_transform(X)
    np.testing.assert_allclose(scaled.min(axis=(0, 1)), -2)
    np.testing.assert_allclose(scaled.max(axis=(0, 1)), 0.5)


def test_scaler_on_2d_x_counts_its_columns():
    """A 2D X is univariate sequences, one column per timestep: those are
    its input features, as for any scikit-learn transformer."""
    X = np.random.RandomState(10).normal(size=(8, 5))
    scaler = SequenceScaler().fit(X)
    assert scaler.n_features_in_ == 5 and scaler.center_.shape == (1,)
    assert scaler.get_feature_names_out().tolist() == ["x0", "x1", "x2", "x3", "x4"]
    with pytest.raises(ValueError, match="X has 4 features, but SequenceScaler is "
                                         "expecting 5 features as input: the columns"):
        scaler.transform(X[:, :4])
    # Other lengths come as 3D X or a list; predictions of any width inverse.
    assert scaler.transform(X[:, :4, np.newaxis]).shape == (8, 4, 1)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)[:, :2]),
                               X[:, :2])
    frame = pd.DataFrame(X, columns=[f"lag{i}" for i in range(5, 0, -1)])
    named = SequenceScaler().fit(frame)
    assert named.feature_names_in_.tolist() == frame.columns.tolist()
    assert named.get_feature_names_out().tolist() == frame.columns.tolist()
    with pytest.raises(ValueError, match="feature names should match"):
        named.transform(frame[frame.columns[::-1]])
    assert SequenceScaler().fit(X[:, :, np.newaxis]).n_features_in_ == 1


@pytest.mark.parametrize("X, fragment", [
    (np.array([[1.0, np.nan]]), "Input X contains NaN"),
    ([np.ones((3, 1)), np.array([[1.0], [np.inf]])], "X\\[1\\] contains infinity"),
    ([], "0 sample"),
    (np.ones((2, 0)), "0 timesteps|0 feature"),
])
def test_scaler_bad_x(X, fragment):
    with pytest.raises(ValueError, match=fragment):
        SequenceScaler().fit(X)


@parametrize_with_checks(
    [SequenceScaler(), SequenceScaler("minmax", feature_range=(-1, 1))])
def test_scaler_passes_the_sklearn_checks(estimator, check):
    """On 2D tables the scaler is a scikit-learn transformer (one statistic
    for all columns, which are timesteps of one feature)."""
    check(estimator)


# -- SequenceTokenizer: empty input, ids outside the vocabulary, fit length ----

@pytest.mark.parametrize("max_length", [None, 3])
def test_tokenizer_transform_of_no_texts(max_length):
    """transform([]) once failed with "max() arg is an empty sequence"."""
    texts = ["one two", "three"]
    padded = SequenceTokenizer(output="padded", max_length=max_length).fit(texts)
    empty = padded.transform([])
    assert empty.shape == (0, max_length or 2) and empty.dtype == np.int64
    assert SequenceTokenizer().fit(texts).transform([]) == []
    assert padded.inverse_transform(empty) == []
    assert padded.inverse_transform([]) == []
    with pytest.raises(ValueError, match="at least one text to fit"):
        SequenceTokenizer().fit([])


def test_tokenizer_padded_length_is_learned_in_fit():
    """With max_length=None the width is the longest text of fit, so that a
    model fitted on the ids gets its columns again at predict time (it took
    each batch's longest, and a pipeline could not predict one short text)."""
    texts = ["the cat sat on the mat", "the dog ran", "a cat"]
    tokenizer = SequenceTokenizer(output="padded").fit(texts)
    assert tokenizer.max_length_ == 6
    assert tokenizer.transform(["a cat"]).shape == (1, 6)
    assert tokenizer.transform(["the cat sat on the mat and ran"]).shape == (1, 6)
    assert tokenizer.get_feature_names_out().tolist() == [
        f"sequencetokenizer{i}" for i in range(6)]
    pipe = quiet_fit(make_pipeline(SequenceTokenizer(output="padded"),
                                   LSTMClassifier(4, embedding_dim=3, max_iter=2,
                                                  random_state=0)),
                     texts, ["x", "y", "x"])
    assert pipe.predict(["a dog"]).shape == (1,)


@pytest.mark.parametrize("ids, fragment", [
    ([[-1]], "ids\\[0\\] holds the token id -1, which is not in the vocabulary "
             "\\(ids 0..4\\)"),
    ([[2, 3], [2, 5]], "ids\\[1\\] holds the token id 5"),
    (np.array([[2, 99]]), "token id 99"),
    ([[1.5]], "ids\\[0\\] must be a 1D sequence of integer token ids"),
    ([[np.inf]], "integer token ids"),
    ([["a"]], "integer token ids"),
    ([2, 3], "One sequence of ids goes in a list"),
])
def test_tokenizer_inverse_of_ids_outside_the_vocabulary(ids, fragment):
    """[[-1]] once gave the last token."""
    tokenizer = SequenceTokenizer().fit(["a b c"])
    with pytest.raises(ValueError, match=fragment):
        tokenizer.inverse_transform(ids)


def test_tokenizer_inverse_of_tables_and_float_ids():
    tokenizer = SequenceTokenizer(output="padded").fit(["a b c", "c b"])
    ids = tokenizer.transform(["c b a", "b"])
    expected = ["c b a", "b"]
    assert tokenizer.inverse_transform(ids) == expected
    assert tokenizer.inverse_transform(pd.DataFrame(ids)) == expected
    assert tokenizer.inverse_transform(ids.astype(float)) == expected
    ragged = np.empty(2, dtype=object)
    ragged[:] = [ids[0], ids[1, :1]]
    assert tokenizer.inverse_transform(ragged) == expected


def test_tokenizer_bad_texts():
    tokenizer = SequenceTokenizer().fit(["a b"])
    with pytest.raises(ValueError, match="takes texts \\(str\\); got float: nan"):
        tokenizer.transform(["a", np.nan])
    with pytest.raises(ValueError, match="a 1D list of texts; got shape \\(2, 1\\)"):
        tokenizer.fit(pd.DataFrame({"text": ["a b", "c"]}))
    assert tokenizer.fit(pd.DataFrame({"text": ["a b", "c"]})["text"]).tokens_.tolist() \
        == ["<pad>", "<unk>", "a", "b", "c"]
