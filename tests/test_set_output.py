"""set_output and transform_output: 2D outputs become DataFrames with the
right column names; 3D arrays and lists of sequences stay as they are."""

import warnings
from contextlib import nullcontext

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from sklstm import LSTMClassifier, LSTMRegressor
from sklstm.preprocessing import SequenceScaler, SequenceTokenizer, SlidingWindow

try:
    import polars
except ImportError:
    polars = None

OUTPUTS = ["pandas", pytest.param("polars", marks=pytest.mark.skipif(
    polars is None, reason="polars is not installed"))]


def frame_type(output):
    return pd.DataFrame if output == "pandas" else polars.DataFrame


def columns(frame):
    return list(frame.columns)


def quiet_fit(estimator, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **fit_params)


def data(layout, seed=0, n=40):
    rng = np.random.RandomState(seed)
    if layout == "ragged":
        X = [rng.normal(loc=50, scale=10, size=(t, 2)) for t in rng.randint(3, 9, size=n)]
    else:
        X = rng.normal(loc=50, scale=10, size=(n, 6, 2))
        if layout == "2d":
            X = X[:, :, 0]
    signal = np.array([np.mean(np.reshape(x, (len(x), -1))[:, 0]) for x in X])
    return X, signal - 50


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("layout", ["2d", "3d", "ragged"])
@pytest.mark.parametrize("kind", ["regressor", "classifier"])
@pytest.mark.parametrize("how", ["global", "set_output"])
def test_scaler_lstm_pipeline_under_dataframe_output(output, layout, kind, how):
    """make_pipeline(SequenceScaler(), LSTM...) once crashed under pandas
    output ("Must pass 2-d input"); now it predicts what it predicts with
    the default output."""
    X, signal = data(layout)
    y = signal if kind == "regressor" else np.where(signal > 0, "up", "down")
    estimator = LSTMRegressor if kind == "regressor" else LSTMClassifier

    def pipeline():
        return make_pipeline(SequenceScaler(), estimator(4, max_iter=3, random_state=0))

    expected = quiet_fit(pipeline(), X, y).predict(X)
    pipe = pipeline()
    if how == "set_output":
        pipe.set_output(transform=output)
    context = (sklearn.config_context(transform_output=output) if how == "global"
               else nullcontext())
    with context:
        quiet_fit(pipe, X, y)
        np.testing.assert_array_equal(pipe.predict(X), expected)
        scaled = pipe[0].transform(X)
        features = pipe[-1].transform(scaled)
    if layout == "2d":
        assert isinstance(scaled, frame_type(output))
        assert columns(scaled) == [f"x{i}" for i in range(6)]
    elif layout == "3d":
        assert type(scaled) is np.ndarray and scaled.shape == (40, 6, 2)
    else:
        assert type(scaled) is list and [s.shape for s in scaled] == [x.shape for x in X]
    assert isinstance(features, frame_type(output))
    assert columns(features) == [f"{estimator.__name__.lower()}{i}" for i in range(4)]


@pytest.mark.parametrize("output", OUTPUTS)
def test_scaler_on_a_dataframe_keeps_its_columns_and_index(output):
    """SequenceScaler on 2D X once named 1 column for its T timesteps."""
    X, _ = data("2d", n=5)
    with sklearn.config_context(transform_output=output):
        if output == "pandas":
            frame = pd.DataFrame(X, columns=[f"lag{i}" for i in range(6, 0, -1)],
                                 index=list("abcde"))
            scaled = SequenceScaler().fit_transform(frame)
            assert list(scaled.index) == list("abcde")
        else:
            frame = polars.DataFrame(X, schema=[f"lag{i}" for i in range(6, 0, -1)])
            scaled = SequenceScaler().fit_transform(frame)
    assert isinstance(scaled, frame_type(output))
    assert columns(scaled) == [f"lag{i}" for i in range(6, 0, -1)]
    np.testing.assert_allclose(np.asarray(scaled), SequenceScaler().fit_transform(X))


@pytest.mark.parametrize("output", OUTPUTS)
def test_lstm_transform_of_sequences_stays_as_it_is(output):
    """transform with return_sequences=True once crashed under pandas output:
    its 3D arrays and lists are no tables."""
    X3, _ = data("3d")
    X_ragged, _ = data("ragged")
    y3 = np.cumsum(X3[:, :, 0], axis=1)
    y_ragged = [np.cumsum(x[:, 0]) for x in X_ragged]
    model = LSTMRegressor(4, return_sequences=True, max_iter=2, random_state=0)
    model.set_output(transform=output)
    features = quiet_fit(model, X3, y3).transform(X3)
    assert type(features) is np.ndarray and features.shape == (40, 6, 4)
    final = LSTMClassifier(3, max_iter=1, random_state=0).set_output(transform=output)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        features = model.fit_transform(X_ragged, y_ragged)
        # The final states of a model without return_sequences are a table.
        table = final.fit_transform(X3, X3[:, -1, 0] > 50)
    assert type(features) is list and [f.shape for f in features] == [
        (len(x), 4) for x in X_ragged]
    assert isinstance(table, frame_type(output))
    assert columns(table) == ["lstmclassifier0", "lstmclassifier1", "lstmclassifier2"]


@pytest.mark.parametrize("output", OUTPUTS)
def test_sliding_window_and_tokenizer_under_dataframe_output(output):
    with sklearn.config_context(transform_output=output):
        windows = SlidingWindow(look_back=3).fit_transform(np.arange(10.0))
        texts = ["the cat sat", "a dog", "the dog sat down"]
        tokenizer = SequenceTokenizer(output="padded").fit(texts)
        padded = tokenizer.transform(texts)
        ragged = SequenceTokenizer().fit_transform(texts)
        empty = tokenizer.transform([])
    assert type(windows) is np.ndarray and windows.shape == (8, 3, 1)
    assert isinstance(padded, frame_type(output)) and padded.shape == (3, 4)
    assert columns(padded) == [f"sequencetokenizer{i}" for i in range(4)]
    assert isinstance(empty, frame_type(output)) and empty.shape == (0, 4)
    assert tokenizer.inverse_transform(padded) == texts
    assert type(ragged) is list and [len(r) for r in ragged] == [3, 2, 4]


@pytest.mark.parametrize("output", OUTPUTS)
def test_text_pipeline_set_output(output):
    """A pipeline can be configured as a whole (each step needs set_output)."""
    texts = ["good film", "bad film", "good good", "bad plot"] * 5
    labels = ["+", "-", "+", "-"] * 5
    for tokenizer in (SequenceTokenizer(output="padded"), SequenceTokenizer()):
        pipe = make_pipeline(tokenizer, LSTMClassifier(4, embedding_dim=3, max_iter=2,
                                                       random_state=0))
        expected = quiet_fit(pipe, texts, labels).predict(["good plot"])
        pipe.set_output(transform=output)
        quiet_fit(pipe, texts, labels)
        np.testing.assert_array_equal(pipe.predict(["good plot"]), expected)


def test_default_output_is_unchanged():
    X, y = data("2d")
    scaled = SequenceScaler().fit(X).set_output(transform="default").transform(X)
    assert type(scaled) is np.ndarray
    model = quiet_fit(LSTMRegressor(4, max_iter=1, random_state=0), X, y)
    assert type(model.transform(X)) is np.ndarray
