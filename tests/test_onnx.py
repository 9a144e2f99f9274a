"""sklstm.onnx: exported models run in onnxruntime agree with predict and
predict_proba for every architecture option, on batch sizes and sequence
lengths other than the training ones, equal and ragged; skl2onnx converts
pipelines with sklstm's estimators and transformers."""

import doctest

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklstm import LSTMClassifier, LSTMRegressor
from sklstm._network import ACTIVATIONS, GATE_ACTIVATIONS
from sklstm.preprocessing import SequenceScaler, SequenceTokenizer, SlidingWindow

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
sklstm_onnx = pytest.importorskip("sklstm.onnx")
to_onnx, pad_sequences = sklstm_onnx.to_onnx, sklstm_onnx.pad_sequences

VOCAB_SIZE = 9
# Training shapes differ from the new ones the exported models are run on.
N_TRAIN, T_TRAIN, N_FEATURES = 12, 5, 3
LENGTHS = [9, 3, 1, 5, 9, 2, 7]  # a new batch size, lengths up to a new maximum
T_NEW = max(LENGTHS)
# Agreement: float32 to 1e-5 (absolute and relative), float64 to 1e-12.
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}


def _session(onnx_model):
    return ort.InferenceSession(onnx_model.SerializeToString(),
                                providers=["CPUExecutionProvider"])


def _fitted(kind, dtype, rng, *, univariate=False, tokens=False, per_step=False,
            labels=None, n_outputs=None, **options):
    """An estimator after one epoch, its weights moved away from their
    structured initial values, and new inputs X_new of the model's input
    format (N=7, T=9)."""
    if tokens:
        X = rng.randint(0, VOCAB_SIZE, size=(N_TRAIN, T_TRAIN))
        X[0, 0] = VOCAB_SIZE - 1  # the vocabulary is inferred: use all of it
        X_new = rng.randint(0, VOCAB_SIZE, size=(len(LENGTHS), T_NEW)).astype(np.int64)
        options["embedding_dim"] = 3
    elif univariate:
        X = rng.normal(size=(N_TRAIN, T_TRAIN))
        X_new = rng.normal(size=(len(LENGTHS), T_NEW)).astype(dtype)
    else:
        X = rng.normal(size=(N_TRAIN, T_TRAIN, N_FEATURES))
        X_new = rng.normal(size=(len(LENGTHS), T_NEW, N_FEATURES)).astype(dtype)
    lead = (N_TRAIN, T_TRAIN) if per_step else (N_TRAIN,)
    common = dict(random_state=0, dtype=dtype, return_sequences=per_step, **options)
    if kind == "regressor":
        y = rng.normal(size=lead if n_outputs is None else (*lead, n_outputs))
        estimator = LSTMRegressor(**common).partial_fit(X, y)
    else:
        labels = np.asarray(labels)
        y = labels[rng.randint(0, len(labels), size=lead)]
        estimator = LSTMClassifier(**common).partial_fit(X, y, classes=labels)
    estimator._params += rng.normal(scale=0.3, size=estimator._params.shape).astype(dtype)
    return estimator, X_new


def _predict_input(X):
    """X_new as predict takes it: sequences longer than the 2D training
    table go in 3D, one feature per step."""
    return X[..., np.newaxis] if X.ndim == 2 else X


def _predictions(estimator, X):
    if isinstance(estimator, LSTMClassifier):
        return [estimator.predict(X), estimator.predict_proba(X)]
    return [estimator.predict(X)]


def _assert_agree(estimator, outputs, expected, dtype):
    tol = TOLERANCE[dtype]
    if isinstance(estimator, LSTMClassifier):
        label, proba = outputs
        expected_label, expected_proba = expected
        assert label.dtype.kind == ("O" if expected_label.dtype.kind in "OU"
                                    else expected_label.dtype.kind)
        np.testing.assert_array_equal(label, expected_label)
        np.testing.assert_allclose(proba, expected_proba, rtol=tol, atol=tol)
    else:
        (variable,), (expected_variable,) = outputs, expected
        assert variable.shape == expected_variable.shape
        np.testing.assert_allclose(variable, expected_variable, rtol=tol, atol=tol)


def _ragged(X):
    return [x[:length] for x, length in zip(X, LENGTHS)]


CASES = {
    "plain": ("regressor", {"hidden_layer_sizes": 6}),
    "stacked": ("regressor", {"hidden_layer_sizes": (5, 4, 3)}),
    "bidirectional stacked": ("regressor", {"hidden_layer_sizes": (4, 3),
                                            "bidirectional": True}),
    "peephole": ("regressor", {"hidden_layer_sizes": 5, "peephole": True}),
    "peephole bidirectional stacked": ("regressor", {"hidden_layer_sizes": (4, 3),
                                                     "peephole": True,
                                                     "bidirectional": True}),
    "hard_sigmoid gates": ("regressor", {"hidden_layer_sizes": 5,
                                         "recurrent_activation": "hard_sigmoid",
                                         "peephole": True}),
    "relu cell": ("regressor", {"hidden_layer_sizes": 5, "cell_activation": "relu"}),
    "identity cell": ("regressor", {"hidden_layer_sizes": 5, "cell_activation": "identity",
                                    "recurrent_activation": "hard_sigmoid",
                                    "bidirectional": True}),
    "logistic cell": ("regressor", {"hidden_layer_sizes": 5,
                                    "cell_activation": "logistic"}),
    "dense relu": ("regressor", {"hidden_layer_sizes": 4, "dense_layer_sizes": (5, 3)}),
    "dense tanh": ("regressor", {"hidden_layer_sizes": 4, "dense_layer_sizes": 5,
                                 "activation": "tanh", "bidirectional": True}),
    "dense logistic": ("regressor", {"hidden_layer_sizes": 4, "dense_layer_sizes": 5,
                                     "activation": "logistic"}),
    "dense identity": ("regressor", {"hidden_layer_sizes": 4, "dense_layer_sizes": 5,
                                     "activation": "identity"}),
    "multi-output": ("regressor", {"hidden_layer_sizes": 4, "n_outputs": 3}),
    "one output as a column": ("regressor", {"hidden_layer_sizes": 4, "n_outputs": 1}),
    "2D univariate": ("regressor", {"hidden_layer_sizes": 4, "univariate": True}),
    "return_sequences": ("regressor", {"hidden_layer_sizes": (4, 3), "per_step": True}),
    "return_sequences multi-output bidirectional": (
        "regressor", {"hidden_layer_sizes": 4, "per_step": True, "n_outputs": 2,
                      "bidirectional": True, "dense_layer_sizes": 3}),
    "tokens": ("regressor", {"hidden_layer_sizes": 4, "tokens": True}),
    "binary bool labels": ("classifier", {"hidden_layer_sizes": 4,
                                          "labels": [False, True]}),
    "binary float labels peephole": ("classifier", {"hidden_layer_sizes": (4, 3),
                                                    "labels": [-1.0, 2.0],
                                                    "peephole": True}),
    "multiclass int labels": ("classifier", {"hidden_layer_sizes": 4,
                                             "labels": [3, 7, 11, 20],
                                             "dense_layer_sizes": 4}),
    "multiclass str labels bidirectional": ("classifier", {"hidden_layer_sizes": 4,
                                                           "labels": ["a", "bb", "c"],
                                                           "bidirectional": True}),
    "per-step binary": ("classifier", {"hidden_layer_sizes": 4, "labels": [0, 1],
                                       "per_step": True}),
    "per-step multiclass tokens bidirectional": (
        "classifier", {"hidden_layer_sizes": (4, 3), "labels": ["x", "y", "z"],
                       "per_step": True, "tokens": True, "bidirectional": True}),
    "univariate classifier hard_sigmoid": (
        "classifier", {"hidden_layer_sizes": 4, "labels": [1, 2, 3], "univariate": True,
                       "recurrent_activation": "hard_sigmoid",
                       "cell_activation": "relu"}),
}
PRECISIONS = [("float32", "lstm"), ("float32", "scan"), ("float64", "scan")]


@pytest.mark.parametrize("dtype, recurrence", PRECISIONS)
@pytest.mark.parametrize("case", CASES)
def test_exported_model_agrees_with_predict(case, dtype, recurrence):
    kind, options = CASES[case]
    rng = np.random.RandomState(sorted(CASES).index(case))
    estimator, X_new = _fitted(kind, dtype, rng, **options)
    op_types = {node.op_type for node in to_onnx(estimator).graph.node}
    assert ("LSTM" if dtype == "float32" else "Scan") in op_types  # recurrence="auto"

    # Equal lengths: a new batch size and a new length.
    session = _session(to_onnx(estimator, recurrence=recurrence))
    assert [i.name for i in session.get_inputs()] == ["X"]
    outputs = session.run(None, {"X": X_new})
    _assert_agree(estimator, outputs, _predictions(estimator, _predict_input(X_new)), dtype)

    # Ragged: zero-padded with sequence_lens, against predict of the list.
    sequences = _ragged(X_new)
    X_padded, lengths = pad_sequences(sequences, dtype=X_new.dtype)
    session = _session(to_onnx(estimator, recurrence=recurrence, sequence_lens=True))
    outputs = session.run(None, {"X": X_padded, "sequence_lens": lengths})
    expected = _predictions(estimator, sequences)
    if estimator.return_sequences:  # per-step outputs beyond a length are padding
        for row, length in enumerate(LENGTHS):
            _assert_agree(estimator, [output[row, :length] for output in outputs],
                          [sequence[row] for sequence in expected], dtype)
    else:
        _assert_agree(estimator, outputs, expected, dtype)


def test_output_signature():
    rng = np.random.RandomState(0)
    clf, _ = _fitted("classifier", "float32", rng, hidden_layer_sizes=3, per_step=True,
                     labels=["a", "b", "c"])
    graph = to_onnx(clf, sequence_lens=True).graph

    def dims(info):
        return [d.dim_param or d.dim_value for d in info.type.tensor_type.shape.dim]

    assert [(i.name, dims(i)) for i in graph.input] == [
        ("X", ["N", "T", N_FEATURES]), ("sequence_lens", ["N"])]
    assert [(o.name, dims(o)) for o in graph.output] == [
        ("label", ["N", "T"]), ("probabilities", ["N", "T", 3])]
    reg, _ = _fitted("regressor", "float64", rng, hidden_layer_sizes=3, tokens=True)
    graph = to_onnx(reg).graph
    assert graph.input[0].type.tensor_type.elem_type == sklstm_onnx.TensorProto.INT64
    assert graph.output[0].type.tensor_type.elem_type == sklstm_onnx.TensorProto.DOUBLE
    assert [o.name for o in graph.output] == ["variable"]


def test_float32_export_of_a_float64_model():
    rng = np.random.RandomState(1)
    estimator, X_new = _fitted("regressor", "float64", rng, hidden_layer_sizes=(4, 3),
                               bidirectional=True)
    onnx_model = to_onnx(estimator, dtype="float32")
    assert "LSTM" in {node.op_type for node in onnx_model.graph.node}
    (got,) = _session(onnx_model).run(None, {"X": X_new.astype(np.float32)})
    np.testing.assert_allclose(got, estimator.predict(X_new), rtol=1e-5, atol=1e-5)


def test_float64_lstm_operator_for_other_runtimes():
    # onnxruntime's LSTM kernel is float32 only; recurrence="lstm" still
    # writes a valid float64 model on the LSTM operator for runtimes with one.
    rng = np.random.RandomState(11)
    estimator, _ = _fitted("regressor", "float64", rng, hidden_layer_sizes=3,
                           peephole=True)
    graph = to_onnx(estimator, recurrence="lstm", sequence_lens=True).graph
    (lstm,) = [node for node in graph.node if node.op_type == "LSTM"]
    weights = {t.name: t for t in graph.initializer}
    assert weights[lstm.input[1]].data_type == sklstm_onnx.TensorProto.DOUBLE
    assert len(lstm.input) == 8 and lstm.input[7] in weights  # the peepholes


# -- pipelines --------------------------------------------------------------------

def test_pipeline_with_sequence_scaler_ragged():
    rng = np.random.RandomState(2)
    X = [rng.normal(loc=5, scale=3, size=(rng.randint(2, 8), 2)) for _ in range(20)]
    y = rng.randint(0, 3, size=20)
    scaler = SequenceScaler().fit(X)
    clf = LSTMClassifier(hidden_layer_sizes=4, random_state=0).partial_fit(
        scaler.transform(X), y, classes=[0, 1, 2])
    pipe = make_pipeline(scaler, clf)
    X_new = [rng.normal(loc=5, scale=3, size=(length, 2)) for length in LENGTHS]
    X_padded, lengths = pad_sequences(X_new)
    label, proba = _session(to_onnx(pipe, sequence_lens=True)).run(
        None, {"X": X_padded, "sequence_lens": lengths})
    np.testing.assert_array_equal(label, pipe.predict(X_new))
    np.testing.assert_allclose(proba, pipe.predict_proba(X_new), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pipeline_with_sliding_window(dtype):
    rng = np.random.RandomState(3)
    series = rng.normal(size=(60, 2))
    window = SlidingWindow(look_back=6, step=2).fit(series)
    X, y = window.to_supervised(series)
    model = LSTMRegressor(hidden_layer_sizes=4, dtype=dtype, random_state=0).partial_fit(
        X, y)
    pipe = make_pipeline(window, SequenceScaler().fit(X), model)
    new_series = rng.normal(size=(37, 2))  # another length: 16 windows
    (got,) = _session(to_onnx(pipe)).run(None, {"X": new_series.astype(dtype)})
    assert got.shape == (16, 2)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(got, pipe.predict(new_series), rtol=tol, atol=tol)


def test_tokenizer_pipeline_exports_after_the_tokenizer():
    texts = ["a cat sat", "the dog ran far", "a dog", "cats and dogs sat"] * 3
    y = np.arange(len(texts)) % 2
    tokenizer = SequenceTokenizer().fit(texts)
    clf = LSTMClassifier(hidden_layer_sizes=3, embedding_dim=2, random_state=0)
    pipe = make_pipeline(tokenizer, clf.partial_fit(tokenizer.transform(texts), y,
                                                    classes=[0, 1]))
    with pytest.raises(ValueError, match=r"Step 'sequencetokenizer' \(SequenceTokenizer\)"
                                         r" cannot be exported.*pipeline\[1:\]"):
        to_onnx(pipe)
    new = ["the cat ran and sat", "a dog"]
    ids, lengths = pad_sequences(pipe[0].transform(new), dtype=np.int64)
    label, proba = _session(to_onnx(pipe[1:], sequence_lens=True)).run(
        None, {"X": ids, "sequence_lens": lengths})
    np.testing.assert_array_equal(label, pipe.predict(new))
    np.testing.assert_allclose(proba, pipe.predict_proba(new), rtol=1e-5, atol=1e-5)


# -- errors -----------------------------------------------------------------------

def test_errors():
    rng = np.random.RandomState(4)
    estimator, _ = _fitted("regressor", "float32", rng, hidden_layer_sizes=3)
    with pytest.raises(NotFittedError):
        to_onnx(LSTMRegressor())
    with pytest.raises(NotFittedError):
        to_onnx(make_pipeline(SequenceScaler(), estimator))
    with pytest.raises(TypeError, match="exports an LSTMRegressor or LSTMClassifier"):
        to_onnx(LinearRegression())
    with pytest.raises(ValueError, match=r"Step 'standardscaler' \(StandardScaler\) has "
                                         r"no converter.*skl2onnx.to_onnx"):
        to_onnx(make_pipeline(StandardScaler(), estimator))
    window = SlidingWindow(3).fit(np.arange(10.0))
    with pytest.raises(ValueError, match="first step of a pipeline only"):
        to_onnx(make_pipeline(SequenceScaler().fit(np.ones((2, 3, 1))), window, estimator))
    with pytest.raises(ValueError, match="sequence_lens does not apply"):
        to_onnx(make_pipeline(window, estimator), sequence_lens=True)
    with pytest.raises(ValueError, match="dtype must be"):
        to_onnx(estimator, dtype="float16")
    with pytest.raises(ValueError, match="recurrence must be"):
        to_onnx(estimator, recurrence="gru")
    with pytest.raises(ValueError, match="target_opset must be an int of at least 13"):
        to_onnx(estimator, target_opset=12)
    with pytest.raises(ValueError, match="pad_sequences takes"):
        pad_sequences([np.ones(3), np.ones((2, 2))])


def test_every_activation_has_an_export():
    # An activation added to sklstm without an ONNX counterpart fails here.
    assert set(GATE_ACTIVATIONS) | set(ACTIVATIONS) <= set(sklstm_onnx._LSTM_ACTIVATIONS)
    assert set(GATE_ACTIVATIONS) | set(ACTIVATIONS) <= (set(sklstm_onnx._OPERATORS)
                                                        | {"hard_sigmoid"})


def test_unknown_activation_is_a_clear_error():
    rng = np.random.RandomState(5)
    estimator, _ = _fitted("regressor", "float32", rng, hidden_layer_sizes=3)
    estimator._network.cell_activation = "swish"  # as if sklstm offered more
    with pytest.raises(ValueError, match="cell_activation='swish' has no ONNX"):
        to_onnx(estimator)


def test_docstring_examples():
    result = doctest.testmod(sklstm_onnx, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# -- skl2onnx ---------------------------------------------------------------------

skl2onnx = pytest.importorskip("skl2onnx")
from skl2onnx.common.data_types import (  # noqa: E402
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
)


def test_skl2onnx_pipeline_with_a_scikit_learn_scaler():
    rng = np.random.RandomState(6)
    X = rng.normal(loc=3, scale=2, size=(30, 8))
    y = X[:, -1] + X[:, -2]
    scaler = StandardScaler().fit(X)
    model = LSTMRegressor(hidden_layer_sizes=4, random_state=0).partial_fit(
        scaler.transform(X), y)
    pipe = make_pipeline(scaler, model)
    onnx_model = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32))
    assert "LSTM" in {node.op_type for node in onnx_model.graph.node}
    X_new = rng.normal(loc=3, scale=2, size=(11, 8))
    (got,) = _session(onnx_model).run(None, {"X": X_new.astype(np.float32)})
    assert got.shape == (11,)
    np.testing.assert_allclose(got, pipe.predict(X_new), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype, tensor_type", [("float32", FloatTensorType),
                                                ("float64", DoubleTensorType)])
def test_skl2onnx_classifier_in_a_pipeline(dtype, tensor_type):
    rng = np.random.RandomState(7)
    clf, X_new = _fitted("classifier", dtype, rng, hidden_layer_sizes=(4, 3),
                         labels=["a", "b", "c"], bidirectional=True, peephole=True)
    scaler = SequenceScaler().fit(X_new)
    pipe = make_pipeline(scaler, clf)
    onnx_model = skl2onnx.convert_sklearn(
        pipe, initial_types=[("X", tensor_type([None, None, N_FEATURES]))],
        options={LSTMClassifier: {"zipmap": False}})
    assert [o.name for o in onnx_model.graph.output] == ["label", "probabilities"]
    label, proba = _session(onnx_model).run(None, {"X": X_new})
    np.testing.assert_array_equal(label, pipe.predict(X_new))
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(proba, pipe.predict_proba(X_new), rtol=tol, atol=tol)


def test_skl2onnx_classifier_alone_has_label_and_probabilities():
    rng = np.random.RandomState(12)
    clf, X_new = _fitted("classifier", "float32", rng, hidden_layer_sizes=3,
                         labels=[False, True], univariate=True)
    onnx_model = skl2onnx.to_onnx(clf, X_new[:1])
    assert [o.name for o in onnx_model.graph.output] == ["label", "probabilities"]
    label, proba = _session(onnx_model).run(None, {"X": X_new})
    np.testing.assert_array_equal(label, clf.predict(X_new[..., np.newaxis]))
    np.testing.assert_allclose(proba, clf.predict_proba(X_new[..., np.newaxis]),
                               rtol=1e-5, atol=1e-5)


def test_skl2onnx_estimator_with_sequence_lengths():
    rng = np.random.RandomState(8)
    reg, X_new = _fitted("regressor", "float32", rng, hidden_layer_sizes=3,
                         per_step=True, bidirectional=True)
    onnx_model = skl2onnx.convert_sklearn(
        reg, initial_types=[("X", FloatTensorType([None, None, N_FEATURES])),
                            ("lengths", Int64TensorType([None]))])
    sequences = _ragged(X_new)
    X_padded, lengths = pad_sequences(sequences)
    (got,) = _session(onnx_model).run(None, {"X": X_padded, "lengths": lengths})
    for row, (want, length) in enumerate(zip(reg.predict(sequences), LENGTHS)):
        np.testing.assert_allclose(got[row, :length], want, rtol=1e-5, atol=1e-5)


def test_skl2onnx_sliding_window_pipeline():
    rng = np.random.RandomState(9)
    series = rng.normal(size=(40, 1))
    window = SlidingWindow(look_back=5).fit(series)
    X, y = window.to_supervised(series)
    pipe = make_pipeline(window, LSTMRegressor(hidden_layer_sizes=3, random_state=0)
                         .partial_fit(X, y))
    onnx_model = skl2onnx.to_onnx(pipe, series[:10].astype(np.float32))
    (got,) = _session(onnx_model).run(None, {"X": series.astype(np.float32)})
    np.testing.assert_allclose(got, pipe.predict(series), rtol=1e-5, atol=1e-5)


def test_skl2onnx_wrong_rank_is_a_clear_error():
    rng = np.random.RandomState(10)
    reg, _ = _fitted("regressor", "float32", rng, hidden_layer_sizes=3)
    with pytest.raises(ValueError, match="reads 3D input"):
        skl2onnx.convert_sklearn(reg, initial_types=[("X", FloatTensorType([None, 5]))])
