"""Malformed input, as users and auditors pass it: a catalogue of calls that
must fail with a clear error.

Each row of CASES is one call: an id, the call, the exception it must raise
and a fragment (a regular expression) of the message that names the problem.

Calls that reach the compiled engine with unusual memory (strides, byte
order, sizes) run in a subprocess (ISOLATED_CASES): a crash there fails the
test instead of ending the run.
"""

import copy
import functools
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.utils._param_validation import InvalidParameterError

import sklstm
from sklstm import LSTMClassifier, LSTMRegressor, forecast
from sklstm.interop import from_torch_state_dict, to_torch_state_dict
from sklstm.preprocessing import SequenceScaler, SequenceTokenizer, SlidingWindow

rng = np.random.RandomState(0)
X = rng.normal(size=(12, 5, 2))           # 12 sequences, 5 steps, 2 features
y = X[:, -1, 0] - X[:, 0, 1]
labels = np.arange(12) % 2
RAGGED = [X[0], X[1][:3], X[2][:4]]       # sequences of 5, 3 and 4 steps
SERIES = np.sin(np.arange(40) / 3.0)
TEXTS = ["the cat sat", "the dog ran"]


def regressor(**params):
    return LSTMRegressor(**{"hidden_layer_sizes": 3, "max_iter": 2, "random_state": 0,
                            **params})


def classifier(**params):
    return LSTMClassifier(**{"hidden_layer_sizes": 3, "max_iter": 2, "random_state": 0,
                             **params})


def quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return call(*args, **kwargs)


@functools.cache
def _fitted(kind):
    """Fitted models, built once; `fitted` hands out copies, so that a case
    that mutates its model cannot change another case."""
    models = {
        "regressor": lambda: regressor().fit(X, y),
        "classifier": lambda: classifier().fit(X, labels),
        "lags": lambda: regressor().fit(X[:, :, 0], y),     # 2D X: a table of lags
        "tokens": lambda: regressor(embedding_dim=2).fit(rng.randint(0, 5, (12, 5)), y),
        "per_step": lambda: regressor(return_sequences=True).fit(X, X[:, :, 0]),
        "forecaster": lambda: regressor().fit(
            *SlidingWindow(look_back=5).fit(SERIES).to_supervised(SERIES)),
        "ragged": lambda: regressor().fit(RAGGED, y[:3]),
    }
    return quiet(models[kind])


def fitted(kind):
    return copy.deepcopy(_fitted(kind))


def state(**changes):
    """The regressor's state_dict with entries replaced (None removes one)."""
    weights = to_torch_state_dict(fitted("regressor"))
    weights.update(changes)
    return {key: value for key, value in weights.items() if value is not None}


def with_nan(array):
    array = np.array(array, dtype=float)
    array.flat[1] = np.nan
    return array


def with_inf(array, sign=1):
    array = np.array(array, dtype=float)
    array.flat[1] = sign * np.inf
    return array


def case(id, call, exception, fragment):
    return pytest.param(call, exception, fragment, id=id)


P = InvalidParameterError  # a ValueError (and a TypeError) naming the parameter

CASES = [
    # -- fit: X ---------------------------------------------------------------
    case("fit-X-nan", lambda: regressor().fit(with_nan(X), y), ValueError, "NaN"),
    case("fit-X-inf", lambda: regressor().fit(with_inf(X), y), ValueError, "infinity"),
    case("fit-X--inf", lambda: regressor().fit(with_inf(X, -1), y), ValueError, "infinity"),
    case("fit-X-too-large-for-float32", lambda: regressor().fit(X * 1e300, y),
         ValueError, "too large for dtype.*float32"),
    case("fit-X-str", lambda: regressor().fit(np.full((12, 5), "a"), y),
         ValueError, "could not convert string"),
    case("fit-X-object-None", lambda: regressor().fit(np.full((12, 5), None), y),
         ValueError, "NaN"),
    case("fit-X-complex", lambda: regressor().fit(X + 1j, y), ValueError, "Complex"),
    case("fit-X-sparse", lambda: regressor().fit(sp.csr_matrix(X[:, :, 0]), y),
         TypeError, "Sparse data"),
    case("fit-X-1d", lambda: regressor().fit(X[:, 0, 0], y), ValueError,
         r"got a 1D array of shape \(12,\)"),
    case("fit-X-4d", lambda: regressor().fit(X[..., None], y), ValueError,
         r"got a 4D array of shape \(12, 5, 2, 1\)"),
    case("fit-X-scalar", lambda: regressor().fit(3.0, y), TypeError, "at least 1 dimension"),
    case("fit-X-None", lambda: regressor().fit(None, y), TypeError,
         "takes sequences as X, got None"),
    case("fit-X-dict", lambda: regressor().fit({"a": 1}, y), TypeError, "dict"),
    case("fit-X-0-samples", lambda: regressor().fit(X[:0], y[:0]), ValueError,
         "0 sample"),
    case("fit-X-0-timesteps", lambda: regressor().fit(X[:, :0], y), ValueError,
         "0 timesteps"),
    case("fit-X-0-features", lambda: regressor().fit(X[:, :, :0], y), ValueError,
         "0 features"),
    case("fit-X-empty-list", lambda: regressor().fit([], []), ValueError, "0 sample"),
    case("fit-X-list-of-empty", lambda: regressor().fit([[]], [1.0]), ValueError,
         r"shape=\(1, 0\)"),
    # -- fit: ragged X (a list of sequences) ----------------------------------
    case("fit-ragged-feature-counts", lambda: regressor().fit([X[0], X[1][:3, :1]], y[:2]),
         ValueError, r"X\[1\] has 1 features per timestep, but X\[0\] has 2"),
    case("fit-ragged-empty-sequence", lambda: regressor().fit([X[0], X[1][:0]], y[:2]),
         ValueError, r"X\[1\] has no timesteps"),
    case("fit-ragged-nan", lambda: regressor().fit([X[0], with_nan(X[1][:3])], y[:2]),
         ValueError, r"X\[1\] contains NaN \(at step 0\)"),
    case("fit-ragged-inf", lambda: regressor().fit([X[0][:4], with_inf(X[1])], y[:2]),
         ValueError, r"X\[1\] contains infinity"),
    case("fit-ragged-3d-sequence", lambda: regressor().fit([X[0], X[:2]], y[:2]),
         ValueError, r"X\[1\] has shape \(2, 5, 2\)"),
    case("fit-ragged-scalar-sequence", lambda: regressor().fit([X[0][:3], 5.0], y[:2]),
         ValueError, r"X\[1\] has shape \(\)"),
    case("fit-ragged-str", lambda: regressor().fit([X[0][:3], [["a", "b"]] * 4], y[:2]),
         ValueError, r"X\[1\] is not numeric"),
    case("fit-ragged-None-values", lambda: regressor().fit([X[0][:3], [[None, 1.0]] * 4],
                                                           y[:2]),
         ValueError, r"X\[1\] contains NaN"),
    case("fit-ragged-sparse-sequence",
         lambda: regressor().fit([X[0][:3], sp.csr_matrix(X[1])], y[:2]),
         ValueError, r"X\[1\] is not numeric"),
    case("fit-ragged-complex", lambda: regressor().fit([X[0][:3], X[1] + 1j], y[:2]),
         ValueError, r"X\[1\].*[Cc]omplex"),
    # -- fit: y ---------------------------------------------------------------
    case("fit-y-nan", lambda: regressor().fit(X, with_nan(y)), ValueError, "y contains NaN"),
    case("fit-y-inf", lambda: regressor().fit(X, with_inf(y)), ValueError,
         "y contains infinity"),
    case("fit-y-too-large-for-float32", lambda: regressor().fit(X, y * 1e300), ValueError,
         "y contains infinity or a value too large"),
    case("fit-y-short", lambda: regressor().fit(X, y[:5]), ValueError,
         r"inconsistent numbers of samples: \[12, 5\]"),
    case("fit-y-3d", lambda: regressor().fit(X, y[:, None, None]), ValueError, "dim 3"),
    case("fit-y-str", lambda: regressor().fit(X, np.full(12, "a")), ValueError,
         "could not convert string"),
    case("fit-y-None", lambda: regressor().fit(X, None), ValueError, "y is None"),
    case("fit-y-complex", lambda: regressor().fit(X, y + 1j), ValueError, "Complex"),
    case("fit-y-sparse", lambda: regressor().fit(X, sp.csr_matrix(y[:, None])), TypeError,
         "Sparse data was passed for y"),
    case("fit-y-scalar", lambda: regressor().fit(X, 3.0), TypeError, "at least 1 dimension"),
    case("fit-per-step-y-1d", lambda: regressor(return_sequences=True).fit(X, y),
         ValueError, r"return_sequences=True, y must have shape .* got shape \(12,\)"),
    case("fit-per-step-y-timesteps", lambda: regressor(return_sequences=True).fit(
        X, X[:, :3, 0]), ValueError, r"n_timesteps=5 as X; got shape \(12, 3\)"),
    case("fit-per-step-ragged-y-length", lambda: regressor(return_sequences=True).fit(
        RAGGED[:2], [y[:5], y[:5]]), ValueError, r"y\[1\] has shape \(5,\), but X\[1\] has 3"),
    case("fit-per-step-ragged-y-count", lambda: regressor(return_sequences=True).fit(
        RAGGED[:2], [y[:5]]), ValueError, r"inconsistent numbers of samples: \[2, 1\]"),
    case("fit-per-step-ragged-y-outputs", lambda: regressor(return_sequences=True).fit(
        RAGGED[:2], [np.ones((5, 1)), np.ones(3)]), ValueError, "same number of outputs"),
    # -- fit: sample_weight and validation data -------------------------------
    case("fit-sample-weight-length", lambda: regressor().fit(X, y, sample_weight=np.ones(3)),
         ValueError, r"sample_weight.shape == \(3,\), expected \(12,\)"),
    case("fit-sample-weight-2d", lambda: regressor().fit(X, y, sample_weight=np.ones((12, 2))),
         ValueError, "Sample weights must be 1D"),
    case("fit-sample-weight-nan", lambda: regressor().fit(X, y,
                                                          sample_weight=with_nan(np.ones(12))),
         ValueError, "sample_weight contains NaN"),
    case("fit-sample-weight-inf", lambda: regressor().fit(X, y,
                                                          sample_weight=with_inf(np.ones(12))),
         ValueError, "sample_weight contains infinity"),
    case("fit-sample-weight-zeros", lambda: regressor().fit(X, y, sample_weight=np.zeros(12)),
         ValueError, "at least one non-zero"),
    case("fit-X_val-without-y_val", lambda: regressor().fit(X, y, X_val=X), ValueError,
         "both X_val and y_val"),
    case("fit-X_val-features", lambda: regressor().fit(X, y, X_val=X[:, :, :1], y_val=y),
         ValueError, "1 features per timestep, but LSTMRegressor is expecting 2"),
    case("fit-y_val-outputs", lambda: regressor().fit(X, y, X_val=X, y_val=np.c_[y, y]),
         ValueError, "y has 2 outputs, but the fitted model has 1"),
    case("fit-y_val-length", lambda: regressor().fit(X, y, X_val=X, y_val=y[:3]),
         ValueError, "inconsistent numbers of samples"),
    case("fit-early-stopping-no-training-left", lambda: regressor(
        early_stopping=True, validation_fraction=0.99).fit(X[:2], y[:2]), ValueError,
        "leaves no sample to train on"),
    # -- fit: classifier targets ----------------------------------------------
    case("clf-y-continuous", lambda: classifier().fit(X, y), ValueError,
         "Unknown label type: continuous"),
    case("clf-y-one-class", lambda: classifier().fit(X, np.zeros(12)), ValueError,
         "only one class"),
    case("clf-y-2d", lambda: classifier().fit(X, np.c_[labels, labels]), ValueError,
         "multilabel targets are not supported"),
    case("clf-y-nan", lambda: classifier().fit(X, with_nan(labels)), ValueError,
         "y contains NaN"),
    case("clf-y-mixed-types", lambda: classifier().fit(X, np.array([1, "a"] * 6,
                                                                    dtype=object)),
         ValueError, "Unknown label type"),
    case("clf-class-weight-unknown-class", lambda: classifier(class_weight={5: 1.0}).fit(
        X, labels), ValueError, "not in class_weight"),
    case("clf-per-step-y-3d", lambda: classifier(return_sequences=True).fit(
        X, np.zeros((12, 5, 1))), ValueError, r"got shape \(12, 5, 1\)"),
    # -- fit: parameters ------------------------------------------------------
    case("param-hidden-0", lambda: regressor(hidden_layer_sizes=0).fit(X, y), P,
         "hidden_layer_sizes"),
    case("param-hidden-negative", lambda: regressor(hidden_layer_sizes=-1).fit(X, y), P,
         "hidden_layer_sizes"),
    case("param-hidden-str", lambda: regressor(hidden_layer_sizes="a").fit(X, y), P,
         "hidden_layer_sizes"),
    case("param-hidden-float", lambda: regressor(hidden_layer_sizes=2.5).fit(X, y), P,
         "hidden_layer_sizes"),
    case("param-hidden-None", lambda: regressor(hidden_layer_sizes=None).fit(X, y), P,
         "hidden_layer_sizes"),
    case("param-hidden-empty", lambda: regressor(hidden_layer_sizes=[]).fit(X, y),
         ValueError, "hidden_layer_sizes must be an int or a sequence of ints"),
    case("param-hidden-nested", lambda: regressor(hidden_layer_sizes=[[1, 2]]).fit(X, y),
         ValueError, "hidden_layer_sizes must be an int or a sequence of ints"),
    case("param-hidden-list-of-floats", lambda: regressor(hidden_layer_sizes=[2.5]).fit(X, y),
         ValueError, "hidden_layer_sizes must be an int or a sequence of ints"),
    case("param-hidden-bool", lambda: regressor(hidden_layer_sizes=True).fit(X, y),
         ValueError, "hidden_layer_sizes must be an int or a sequence of ints"),
    case("param-hidden-a-zero-layer", lambda: regressor(hidden_layer_sizes=(3, 0)).fit(X, y),
         ValueError, r"hidden_layer_sizes must be >= 1, got \(3, 0\)"),
    case("param-hidden-17-layers", lambda: regressor(hidden_layer_sizes=(1,) * 17).fit(X, y),
         ValueError, "1 to 16 LSTM layers"),
    case("param-dense-negative", lambda: regressor(dense_layer_sizes=-1).fit(X, y), P,
         "dense_layer_sizes"),
    case("param-dense-zero-layer", lambda: regressor(dense_layer_sizes=(0,)).fit(X, y),
         ValueError, "dense_layer_sizes must be >= 1"),
    case("param-dense-float", lambda: regressor(dense_layer_sizes=(1.5,)).fit(X, y),
         ValueError, "dense_layer_sizes must be an int or a sequence of ints"),
    case("param-dense-17-layers", lambda: regressor(dense_layer_sizes=(1,) * 17).fit(X, y),
         ValueError, "16 dense layers"),
    case("param-activation", lambda: regressor(activation="softmax").fit(X, y), P,
         "'activation'"),
    case("param-recurrent-activation", lambda: regressor(
        recurrent_activation="tanh").fit(X, y), P, "recurrent_activation"),
    case("param-cell-activation", lambda: regressor(cell_activation="gelu").fit(X, y), P,
         "cell_activation"),
    case("param-solver", lambda: regressor(solver="lbfgs").fit(X, y), P, "solver"),
    case("param-alpha-negative", lambda: regressor(alpha=-1.0).fit(X, y), P, "alpha"),
    case("param-alpha-nan", lambda: regressor(alpha=np.nan).fit(X, y), P, "alpha"),
    case("param-batch-size-0", lambda: regressor(batch_size=0).fit(X, y), P, "batch_size"),
    case("param-batch-size-float", lambda: regressor(batch_size=2.5).fit(X, y), P,
         "batch_size"),
    case("param-batch-size-str", lambda: regressor(batch_size="big").fit(X, y), P,
         "batch_size"),
    case("param-learning-rate", lambda: regressor(learning_rate="cyclic").fit(X, y), P,
         "'learning_rate'"),
    case("param-learning-rate-init-0", lambda: regressor(learning_rate_init=0).fit(X, y), P,
         "learning_rate_init"),
    case("param-learning-rate-init-inf", lambda: regressor(
        learning_rate_init=np.inf).fit(X, y), P, "learning_rate_init"),
    case("param-learning-rate-init-nan", lambda: regressor(
        learning_rate_init=np.nan).fit(X, y), P, "learning_rate_init"),
    case("param-power-t-negative", lambda: regressor(power_t=-1.0).fit(X, y), P, "power_t"),
    case("param-max-iter-0", lambda: regressor(max_iter=0).fit(X, y), P, "max_iter"),
    case("param-max-iter-float", lambda: regressor(max_iter=1.5).fit(X, y), P, "max_iter"),
    case("param-tol-negative", lambda: regressor(tol=-1.0).fit(X, y), P, "tol"),
    case("param-tol-nan", lambda: regressor(tol=np.nan).fit(X, y), P, "tol"),
    case("param-validation-fraction-0", lambda: regressor(validation_fraction=0.0).fit(X, y),
         P, "validation_fraction"),
    case("param-validation-fraction-1", lambda: regressor(validation_fraction=1.0).fit(X, y),
         P, "validation_fraction"),
    case("param-validation-holdout", lambda: regressor(
        validation_holdout="first").fit(X, y), P, "validation_holdout"),
    case("param-n-iter-no-change-0", lambda: regressor(n_iter_no_change=0).fit(X, y), P,
         "n_iter_no_change"),
    case("param-n-iter-no-change--inf", lambda: regressor(
        n_iter_no_change=-np.inf).fit(X, y), P, "n_iter_no_change"),
    case("param-momentum-above-1", lambda: regressor(momentum=1.5).fit(X, y), P, "momentum"),
    case("param-beta-1-is-1", lambda: regressor(beta_1=1.0).fit(X, y), P, "beta_1"),
    case("param-beta-2-negative", lambda: regressor(beta_2=-0.1).fit(X, y), P, "beta_2"),
    case("param-rho-is-1", lambda: regressor(rho=1.0).fit(X, y), P, "rho"),
    case("param-epsilon-0", lambda: regressor(epsilon=0.0).fit(X, y), P, "epsilon"),
    case("param-dtype-float16", lambda: regressor(dtype="float16").fit(X, y), P, "dtype"),
    case("param-dropout-1", lambda: regressor(dropout=1.0).fit(X, y), P, "'dropout'"),
    case("param-dropout-negative", lambda: regressor(dropout=-0.1).fit(X, y), P, "'dropout'"),
    case("param-dropout-nan", lambda: regressor(dropout=np.nan).fit(X, y), P, "'dropout'"),
    case("param-recurrent-dropout-1", lambda: regressor(recurrent_dropout=1.0).fit(X, y), P,
         "recurrent_dropout"),
    case("param-clip-norm-0", lambda: regressor(clip_norm=0.0).fit(X, y), P, "clip_norm"),
    case("param-clip-norm-inf", lambda: regressor(clip_norm=np.inf).fit(X, y), P,
         "clip_norm"),
    case("param-embedding-dim-0", lambda: regressor(embedding_dim=0).fit(X, y), P,
         "embedding_dim"),
    case("param-random-state-str", lambda: regressor(random_state="seed").fit(X, y), P,
         "random_state"),
    case("param-random-state-negative", lambda: regressor(random_state=-1).fit(X, y), P,
         "random_state"),
    case("param-bidirectional-str", lambda: regressor(bidirectional="yes").fit(X, y), P,
         "bidirectional"),
    case("param-shuffle-int", lambda: regressor(shuffle=2).fit(X, y), P, "shuffle"),
    case("param-verbose-str", lambda: regressor(verbose="loud").fit(X, y), P, "verbose"),
    case("param-class-weight-list", lambda: classifier(class_weight=[1, 2]).fit(X, labels),
         P, "class_weight"),
    case("param-class-weight-str", lambda: classifier(class_weight="auto").fit(X, labels),
         P, "class_weight"),
    # -- token ids (embedding_dim) --------------------------------------------
    case("tokens-fit-features", lambda: regressor(embedding_dim=2).fit(X, y), ValueError,
         "one token id per timestep"),
    case("tokens-fit-negative", lambda: regressor(embedding_dim=2).fit(-np.ones((12, 5)), y),
         ValueError, "non-negative integer token ids.*-1"),
    case("tokens-fit-fraction", lambda: regressor(embedding_dim=2).fit(
        np.full((12, 5), 1.5), y), ValueError, "integer token ids.*1.5"),
    case("tokens-fit-not-exact-in-float32", lambda: regressor(embedding_dim=2).fit(
        np.full((12, 5), 2.0**24), y), ValueError, r"takes ids below 2\*\*24"),
    case("tokens-predict-unseen", lambda: fitted("tokens").predict(np.full((2, 5), 7)),
         ValueError, "token id 7, but .* ids 0..4"),
    case("tokens-predict-negative", lambda: fitted("tokens").predict(-np.ones((2, 5))),
         ValueError, "non-negative integer token ids"),
    case("tokens-predict-features", lambda: fitted("tokens").predict(X), ValueError,
         "2 features per timestep, but LSTMRegressor is expecting 1"),
    # -- partial_fit and warm starts ------------------------------------------
    case("partial-fit-clf-no-classes", lambda: classifier().partial_fit(X, labels),
         ValueError, "classes must be passed on the first call"),
    case("partial-fit-clf-unseen-label", lambda: fitted("classifier").partial_fit(
        X, labels + 5), ValueError, r"not in `self.classes_`.*'y' has \[5 6\]"),
    case("partial-fit-clf-other-classes", lambda: fitted("classifier").partial_fit(
        X, labels, classes=[0, 1, 2]), ValueError, "not the same as on last call"),
    case("partial-fit-features", lambda: fitted("regressor").partial_fit(X[:, :, :1], y),
         ValueError, "1 features per timestep, but LSTMRegressor is expecting 2"),
    case("partial-fit-outputs", lambda: fitted("regressor").partial_fit(X, np.c_[y, y]),
         ValueError, "y has 2 outputs, but the fitted model has 1"),
    case("partial-fit-changed-architecture", lambda: fitted("regressor").set_params(
        hidden_layer_sizes=4).partial_fit(X, y), ValueError,
        r"architecture parameters have changed since: \['hidden_layer_sizes'\]"),
    case("partial-fit-y-nan", lambda: fitted("regressor").partial_fit(X, with_nan(y)),
         ValueError, "y contains NaN"),
    case("warm-start-bidirectional", lambda: fitted("regressor").set_params(
        warm_start=True, bidirectional=True).fit(X, y), ValueError,
        r"changed since: \['bidirectional'\]"),
    case("warm-start-dtype", lambda: fitted("regressor").set_params(
        warm_start=True, dtype="float64").fit(X, y), ValueError,
        r"changed since: \['dtype'\]"),
    case("warm-start-features", lambda: fitted("regressor").set_params(
        warm_start=True).fit(X[:, :, :1], y), ValueError,
        "1 features per timestep, but LSTMRegressor is expecting 2"),
    case("warm-start-vocabulary", lambda: fitted("tokens").set_params(warm_start=True).fit(
        np.full((12, 5), 9), y), ValueError, "token id 9"),
    # -- predict ----------------------------------------------------------------
    case("predict-unfitted", lambda: regressor().predict(X), NotFittedError, "not fitted"),
    case("predict-features", lambda: fitted("regressor").predict(X[:, :, :1]), ValueError,
         "1 features per timestep, but LSTMRegressor is expecting 2"),
    case("predict-2d-for-multivariate-model", lambda: fitted("regressor").predict(X[:, :, 0]),
         ValueError, r"X\[np.newaxis\]"),
    case("predict-lags-columns", lambda: fitted("lags").predict(X[:, :3, 0]), ValueError,
         "X has 3 .*5"),
    case("predict-nan", lambda: fitted("regressor").predict(with_nan(X)), ValueError,
         "X contains NaN"),
    case("predict-inf", lambda: fitted("regressor").predict(with_inf(X)), ValueError,
         "X contains infinity"),
    case("predict-too-large-for-float32", lambda: fitted("regressor").predict(X * 1e300),
         ValueError, "too large for dtype.*float32"),
    case("predict-0-samples", lambda: fitted("regressor").predict(X[:0]), ValueError,
         "0 sample"),
    case("predict-0-timesteps", lambda: fitted("regressor").predict(X[:, :0]), ValueError,
         "0 timesteps"),
    case("predict-complex", lambda: fitted("regressor").predict(X + 0j), ValueError,
         "Complex"),
    case("predict-sparse", lambda: fitted("lags").predict(sp.csr_matrix(X[:, :, 0])),
         TypeError, "Sparse data"),
    case("predict-str", lambda: fitted("regressor").predict(np.full_like(X, "x", dtype=str)),
         ValueError, "could not convert string"),
    case("predict-4d", lambda: fitted("regressor").predict(X[..., None]), ValueError,
         "4D array"),
    case("predict-None", lambda: fitted("regressor").predict(None), TypeError,
         "takes sequences as X, got None"),
    case("predict-ragged-feature-counts", lambda: fitted("regressor").predict(
        [X[0], X[1][:, :1]]), ValueError, r"X\[1\] has 1 features per timestep"),
    case("predict-ragged-features", lambda: fitted("regressor").predict(
        [X[0][:, :1], X[1][:3, :1]]), ValueError, "1 features per timestep, but"),
    case("predict-ragged-nan", lambda: fitted("ragged").predict([X[0], with_nan(X[1][:3])]),
         ValueError, r"X\[1\] contains NaN"),
    # -- predict_proba, predict_log_proba ---------------------------------------
    case("proba-unfitted", lambda: classifier().predict_proba(X), NotFittedError,
         "not fitted"),
    case("proba-on-a-regressor", lambda: fitted("regressor").predict_proba(X),
         AttributeError, "predict_proba"),
    case("proba-features", lambda: fitted("classifier").predict_proba(X[:, :, :1]),
         ValueError, "1 features per timestep, but LSTMClassifier is expecting 2"),
    case("proba-nan", lambda: fitted("classifier").predict_proba(with_nan(X)), ValueError,
         "X contains NaN"),
    case("proba-4d", lambda: fitted("classifier").predict_proba(X[..., None]), ValueError,
         "4D array"),
    case("proba-0-samples", lambda: fitted("classifier").predict_proba(X[:0]), ValueError,
         "0 sample"),
    case("log-proba-inf", lambda: fitted("classifier").predict_log_proba(with_inf(X)),
         ValueError, "X contains infinity"),
    # -- transform ----------------------------------------------------------------
    case("transform-unfitted", lambda: regressor().transform(X), NotFittedError,
         "not fitted"),
    case("transform-features", lambda: fitted("regressor").transform(X[:, :, :1]),
         ValueError, "1 features per timestep, but LSTMRegressor is expecting 2"),
    case("transform-nan", lambda: fitted("regressor").transform(with_nan(X)), ValueError,
         "X contains NaN"),
    case("transform-1d", lambda: fitted("regressor").transform(X[0, 0]), ValueError,
         "1D array"),
    case("transform-per-step-0-timesteps", lambda: fitted("per_step").transform(X[:, :0]),
         ValueError, "0 timesteps"),
    # -- score --------------------------------------------------------------------
    case("score-y-length", lambda: fitted("regressor").score(X, y[:3]), ValueError,
         r"inconsistent numbers of samples: \[12, 3\]"),
    case("score-y-nan", lambda: fitted("regressor").score(X, with_nan(y)), ValueError,
         "y contains NaN"),
    case("score-y-outputs", lambda: fitted("regressor").score(X, np.c_[y, y]), ValueError,
         "y has 2 outputs"),
    case("score-unseen-labels", lambda: fitted("classifier").score(X, labels + 7),
         ValueError, r"not in `self.classes_`.*'y' has \[7 8\]"),
    case("score-str-labels", lambda: fitted("classifier").score(X, np.full(12, "a")),
         ValueError, r"not in `self.classes_`.*'y' has \['a'\]"),
    case("score-sample-weight-length", lambda: fitted("regressor").score(
        X, y, sample_weight=np.ones(2)), ValueError, r"sample_weight.shape == \(2,\)"),
    case("score-X-nan", lambda: fitted("regressor").score(with_nan(X), y), ValueError,
         "X contains NaN"),
    case("score-y-None", lambda: fitted("regressor").score(X, None), ValueError,
         "requires y to be passed, but the target y is None"),
    case("score-per-step-y-shape", lambda: fitted("per_step").score(X, y), ValueError,
         "return_sequences=True, y must have shape"),
    # -- SlidingWindow --------------------------------------------------------------
    case("window-look-back-0", lambda: SlidingWindow(look_back=0).fit(SERIES), P,
         "look_back"),
    case("window-look-back-float", lambda: SlidingWindow(look_back=1.5).fit(SERIES), P,
         "look_back"),
    case("window-horizon-0", lambda: SlidingWindow(horizon=0).fit(SERIES), P, "horizon"),
    case("window-step-0", lambda: SlidingWindow(step=0).fit(SERIES), P, "'step'"),
    case("window-target-columns-str", lambda: SlidingWindow(target_columns="a").fit(SERIES),
         P, "target_columns"),
    case("window-target-column-out-of-range", lambda: SlidingWindow(
        target_columns=[0, 5]).fit(np.ones((10, 2))), ValueError, "target_columns"),
    case("window-series-3d", lambda: SlidingWindow(3).fit(np.ones((10, 2, 2))), ValueError,
         "dim 3"),
    case("window-series-nan", lambda: SlidingWindow(3).fit(with_nan(SERIES)), ValueError,
         "NaN"),
    case("window-series-empty", lambda: SlidingWindow(3).fit(np.ones(0)), ValueError,
         "0 sample"),
    case("window-series-str", lambda: SlidingWindow(3).fit(np.full(5, "a")), ValueError,
         "could not convert string"),
    case("window-series-sparse", lambda: SlidingWindow(3).fit(sp.csr_matrix(np.ones((10, 2)))),
         TypeError, "Sparse data"),
    case("window-series-None", lambda: SlidingWindow(3).fit(None), TypeError,
         "SlidingWindow takes a series of numbers, got None"),
    case("window-transform-too-short", lambda: SlidingWindow(3).fit(SERIES).transform(
        np.ones(2)), ValueError, "2 timesteps, fewer than look_back=3"),
    case("window-supervised-too-short", lambda: SlidingWindow(3).fit(SERIES).to_supervised(
        np.ones(3)), ValueError, "fewer than look_back \\+ horizon = 4"),
    case("window-transform-features", lambda: SlidingWindow(3).fit(SERIES).transform(
        np.ones((10, 2))), ValueError, "2 features, but SlidingWindow was fitted on 1"),
    case("window-transform-unfitted", lambda: SlidingWindow(3).transform(SERIES),
         NotFittedError, "not fitted"),
    # -- SequenceScaler -------------------------------------------------------------
    case("scaler-method", lambda: SequenceScaler(method="robust").fit(X), P, "method"),
    case("scaler-range-reversed", lambda: SequenceScaler(
        "minmax", feature_range=(1, 0)).fit(X), ValueError, "min < max"),
    case("scaler-range-list", lambda: SequenceScaler("minmax", feature_range=[0, 1]).fit(X),
         P, "feature_range"),
    case("scaler-range-three-values", lambda: SequenceScaler(
        "minmax", feature_range=(0, 1, 2)).fit(X), ValueError, "feature_range"),
    case("scaler-nan", lambda: SequenceScaler().fit(with_nan(X)), ValueError, "NaN"),
    case("scaler-4d", lambda: SequenceScaler().fit(X[..., None]), ValueError, "4D array"),
    case("scaler-complex", lambda: SequenceScaler().fit(X + 1j), ValueError, "Complex"),
    case("scaler-empty-list", lambda: SequenceScaler().fit([]), ValueError, "0 sample"),
    case("scaler-ragged-feature-counts", lambda: SequenceScaler().fit([X[0], X[1][:, :1]]),
         ValueError, r"X\[1\] has 1 features per timestep, but X\[0\] has 2"),
    case("scaler-transform-features", lambda: SequenceScaler().fit(X).transform(X[:, :, :1]),
         ValueError, "1 features per timestep, but SequenceScaler is expecting 2"),
    case("scaler-inverse-features", lambda: SequenceScaler().fit(X).inverse_transform(
        X[:, :, :1]), ValueError, "1 features per timestep"),
    case("scaler-transform-unfitted", lambda: SequenceScaler().transform(X), NotFittedError,
         "not fitted"),
    # -- SequenceTokenizer ------------------------------------------------------------
    case("tokenizer-level", lambda: SequenceTokenizer(level="byte").fit(TEXTS), P, "level"),
    case("tokenizer-min-frequency-0", lambda: SequenceTokenizer(min_frequency=0).fit(TEXTS),
         P, "min_frequency"),
    case("tokenizer-max-tokens-0", lambda: SequenceTokenizer(max_tokens=0).fit(TEXTS), P,
         "max_tokens"),
    case("tokenizer-output", lambda: SequenceTokenizer(output="dense").fit(TEXTS), P,
         "output"),
    case("tokenizer-max-length-0", lambda: SequenceTokenizer(max_length=0).fit(TEXTS), P,
         "max_length"),
    case("tokenizer-lowercase-str", lambda: SequenceTokenizer(lowercase="yes").fit(TEXTS), P,
         "lowercase"),
    case("tokenizer-one-text", lambda: SequenceTokenizer().fit("the cat"), ValueError,
         "not one text"),
    case("tokenizer-ints", lambda: SequenceTokenizer().fit([1, 2]), ValueError,
         "takes texts.*int"),
    case("tokenizer-bytes", lambda: SequenceTokenizer().fit(TEXTS).transform([b"cat"]),
         ValueError, "takes texts.*bytes"),
    case("tokenizer-None-text", lambda: SequenceTokenizer().fit(TEXTS).transform([None]),
         ValueError, "takes texts.*NoneType"),
    case("tokenizer-None", lambda: SequenceTokenizer().fit(None), TypeError,
         "takes a list of texts, got NoneType"),
    case("tokenizer-transform-unfitted", lambda: SequenceTokenizer().transform(TEXTS),
         NotFittedError, "not fitted"),
    case("tokenizer-inverse-id-too-large", lambda: SequenceTokenizer().fit(
        TEXTS).inverse_transform([[999]]), ValueError, "999"),
    case("tokenizer-inverse-fraction", lambda: SequenceTokenizer().fit(
        TEXTS).inverse_transform([[2.7]]), ValueError, "2.7"),
    case("tokenizer-inverse-str", lambda: SequenceTokenizer().fit(
        TEXTS).inverse_transform([["x"]]), ValueError, "'x'"),
    # -- forecast -----------------------------------------------------------------------
    case("forecast-history-nan", lambda: forecast(fitted("forecaster"), with_nan(SERIES), 3),
         ValueError, "NaN"),
    case("forecast-history-3d", lambda: forecast(fitted("forecaster"), np.ones((10, 1, 1)), 3),
         ValueError, "dim 3"),
    case("forecast-history-short", lambda: forecast(fitted("forecaster"), SERIES[:3], 3),
         ValueError, "3 values, fewer than look_back=5"),
    case("forecast-history-empty", lambda: forecast(fitted("forecaster"), SERIES[:0], 3),
         ValueError, "0 sample"),
    case("forecast-history-str", lambda: forecast(fitted("forecaster"), np.full(10, "a"), 3),
         ValueError, "could not convert string"),
    case("forecast-history-features", lambda: forecast(fitted("forecaster"),
                                                       np.ones((10, 3)), 2),
         ValueError, "3 features per timestep, but LSTMRegressor is expecting 1"),
    case("forecast-steps-0", lambda: forecast(fitted("forecaster"), SERIES, 0), ValueError,
         "steps"),
    case("forecast-steps-negative", lambda: forecast(fitted("forecaster"), SERIES, -1),
         ValueError, "steps"),
    case("forecast-predicts-too-few-features", lambda: forecast(
        fitted("regressor"), np.ones((10, 2)), 2), ValueError, "must predict every feature"),
    case("forecast-ragged-model-no-look-back", lambda: forecast(fitted("ragged"),
                                                                np.ones((10, 2)), 2),
         ValueError, "pass look_back"),
    case("forecast-not-an-estimator", lambda: forecast("model", SERIES, 2), TypeError,
         "'model' parameter of forecast must be an object implementing 'predict'"),
    # -- interop ------------------------------------------------------------------------
    case("to-torch-unfitted", lambda: to_torch_state_dict(regressor()), NotFittedError,
         "not fitted"),
    case("to-torch-peephole", lambda: to_torch_state_dict(quiet(
        regressor(peephole=True).fit, X, y)), ValueError, "no peephole connections"),
    case("to-torch-hard-sigmoid", lambda: to_torch_state_dict(quiet(
        regressor(recurrent_activation="hard_sigmoid").fit, X, y)), ValueError,
        "hard_sigmoid gates"),
    case("to-torch-relu-cell", lambda: to_torch_state_dict(quiet(
        regressor(cell_activation="relu").fit, X, y)), ValueError, "relu cell"),
    case("to-torch-not-an-lstm", lambda: to_torch_state_dict(LinearRegression().fit(
        X[:, 0], y)), TypeError, "LSTMRegressor or LSTMClassifier"),
    case("from-torch-unfitted", lambda: from_torch_state_dict(regressor(), state()),
         NotFittedError, "not fitted"),
    case("from-torch-not-an-lstm", lambda: from_torch_state_dict(LinearRegression().fit(
        X[:, 0], y), state()), TypeError, "LSTMRegressor or LSTMClassifier"),
    case("from-torch-missing-key", lambda: from_torch_state_dict(
        fitted("regressor"), state(**{"output.bias": None})), ValueError,
        r"missing keys \['output.bias'\]"),
    case("from-torch-extra-key", lambda: from_torch_state_dict(
        fitted("regressor"), state(extra=np.ones(1))), ValueError,
        r"unexpected keys \['extra'\]"),
    case("from-torch-int-keys", lambda: from_torch_state_dict(
        fitted("regressor"), dict(enumerate(state().values()))), ValueError, "missing keys"),
    case("from-torch-shape", lambda: from_torch_state_dict(
        fitted("regressor"), state(**{"output.weight": np.ones((1, 99))})), ValueError,
        r"output.weight has shape \(1, 99\), the estimator expects \(1, 3\)"),
    case("from-torch-scalar-for-vector", lambda: from_torch_state_dict(
        fitted("regressor"), state(**{"output.bias": 1.0})), ValueError,
        r"output.bias has shape \(\)"),
    case("from-torch-nan", lambda: from_torch_state_dict(
        fitted("regressor"), state(**{"output.bias": np.array([np.nan])})), ValueError,
        "output.bias contains NaN"),
    case("from-torch-inf", lambda: from_torch_state_dict(
        fitted("regressor"), state(**{"output.bias": np.array([np.inf])})), ValueError,
        "output.bias contains NaN or infinity"),
    case("from-torch-str", lambda: from_torch_state_dict(
        fitted("regressor"), state(**{"output.bias": np.array(["a"])})), TypeError,
        "output.bias"),
    case("from-torch-complex", lambda: from_torch_state_dict(
        fitted("regressor"), state(**{"output.bias": np.array([1 + 2j])})), TypeError,
        "output.bias .*complex"),
    case("from-torch-bool", lambda: from_torch_state_dict(
        fitted("regressor"), state(**{"output.bias": np.array([True])})), TypeError,
        "output.bias .*bool"),
    case("from-torch-None-value", lambda: from_torch_state_dict(
        fitted("regressor"), {**state(), "output.bias": None}), TypeError, "output.bias"),
    case("from-torch-sparse-value", lambda: from_torch_state_dict(
        fitted("regressor"), state(**{"output.weight": sp.csr_matrix(np.ones((1, 3)))})),
        TypeError, "output.weight"),
    case("from-torch-state-a-list", lambda: from_torch_state_dict(
        fitted("regressor"), list(state().values())), TypeError, "dict"),
    case("from-torch-state-None", lambda: from_torch_state_dict(fitted("regressor"), None),
         TypeError, "dict"),
    case("from-torch-bidirectional-into-one-direction", lambda: from_torch_state_dict(
        fitted("regressor"), to_torch_state_dict(quiet(regressor(bidirectional=True).fit,
                                                       X, y))),
        ValueError, r"unexpected keys \['lstm_layers.0.bias_hh_l0_reverse'"),
    case("from-torch-other-features", lambda: from_torch_state_dict(
        fitted("regressor"), to_torch_state_dict(quiet(regressor().fit, X[:, :, :1], y))),
        ValueError, r"weight_ih_l0 has shape \(12, 1\), the estimator expects \(12, 2\)"),
    case("from-torch-three-classes-into-two", lambda: from_torch_state_dict(
        fitted("classifier"), to_torch_state_dict(quiet(classifier().fit, X,
                                                        np.arange(12) % 3))),
        ValueError, r"output.weight has shape \(3, 3\), the estimator expects \(1, 3\)"),
    case("from-torch-into-peephole", lambda: from_torch_state_dict(
        quiet(regressor(peephole=True).fit, X, y), state()), ValueError, "peephole"),
]


@pytest.mark.parametrize("call, exception, fragment", CASES)
def test_malformed_input(call, exception, fragment):
    with warnings.catch_warnings():
        # Short fits do not converge, and numpy warns of the casts of
        # overflowing and complex values on their way to the error.
        for category in (ConvergenceWarning, RuntimeWarning, np.exceptions.ComplexWarning):
            warnings.simplefilter("ignore", category)
        with pytest.raises(exception, match=fragment):
            call()


def test_the_catalogue_is_large_and_each_case_is_distinct():
    ids = [param.id for param in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 100


# -- in a subprocess: calls that reach the engine with unusual memory ---------------

_PRELUDE = """
import warnings
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklstm import LSTMClassifier, LSTMRegressor
warnings.simplefilter("ignore", ConvergenceWarning)
rng = np.random.RandomState(0)
X = rng.normal(size=(12, 5, 2))
y = X[:, -1, 0] - X[:, 0, 1]
model = LSTMRegressor(3, max_iter=2, random_state=0, dtype="float64").fit(X, y)
"""


def run_isolated(snippet):
    """Run `snippet` after _PRELUDE in a new interpreter; fail on a crash
    (a signal, a sanitizer abort) or an uncaught error, with its stderr."""
    root = os.path.dirname(os.path.dirname(sklstm.__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    code = _PRELUDE + textwrap.dedent(snippet) + "\nprint('done')\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=300)
    # Passed on, so that a sanitizer report reaches the caller's stderr even
    # where the case is an expected failure (tools/sanitize.sh reads it).
    os.write(2, result.stderr.encode())
    assert result.returncode == 0 and result.stdout.strip().endswith("done"), (
        f"exit status {result.returncode}\n{result.stderr[-3000:]}")


ISOLATED_CASES = {
    # Each layout must give the predictions of the same values in C order.
    "odd-layouts": """
        expected = model.predict(np.ascontiguousarray(X[:, ::2]))
        for layout in [X[:, ::2], np.asfortranarray(X)[:, ::2], X[::-1][::-1, ::2],
                       X.astype(">f8")[:, ::2], np.broadcast_to(X[:1, ::2], (12, 3, 2))[:1]]:
            got = model.predict(layout)
            assert np.array_equal(got, expected[:len(got)]), layout.strides
        readonly = X.copy()
        readonly.flags.writeable = False
        assert np.array_equal(model.predict(readonly), model.predict(X.copy()))
        ragged = [X[0][::2], np.asfortranarray(X[1]), X[2][::-1][::-1]]
        assert np.array_equal(model.predict(ragged),
                              model.predict([np.ascontiguousarray(s) for s in ragged]))
    """,
    "odd-dtypes": """
        for dtype in [np.float16, np.int8, np.int64, np.uint64, bool]:
            Z = (X * 3).astype(dtype)
            assert np.array_equal(model.predict(Z), model.predict(Z.astype(np.float64)))
        model32 = LSTMRegressor(3, max_iter=2, random_state=0).fit(X.astype(np.float16), y)
        assert model32.predict(X).dtype == np.float64
    """,
    "long-and-one-step-sequences": """
        long = rng.normal(size=(1, 50_000, 2))
        assert np.isfinite(model.predict(long)).all()
        short = LSTMRegressor(3, max_iter=1, bidirectional=True,
                              return_sequences=True).fit(X[:, :1], X[:, :1, 0])
        assert short.predict([X[0][:1], X[1]])[0].shape == (1,)
    """,
    "many-sequences-at-once": """
        many = rng.normal(size=(20_000, 2, 2))
        assert model.predict(many).shape == (20_000,)
    """,
    "parameter-vector-too-large": """
        try:
            LSTMRegressor(10**6, max_iter=1).fit(X, y)
        except (MemoryError, ValueError) as error:
            print(type(error).__name__, error)
        else:
            raise AssertionError("a 4e12-parameter model was fitted")
    """,
    # Finite but huge inputs overflow an unbounded cell (relu): predict must
    # then say so rather than return inf or NaN.
    "finite-input-overflows": """
        for cell in ["relu", "identity"]:
            relu = LSTMRegressor(3, max_iter=2, random_state=0, cell_activation=cell,
                                 dense_layer_sizes=3, dtype="float64").fit(X, y)
            huge = np.full((2, 5, 2), -np.finfo(np.float64).max)
            for method in (relu.predict, relu.transform):
                try:
                    out = method(huge)
                except ValueError as error:
                    assert "too large" in str(error), error
                else:
                    assert np.isfinite(out).all(), out
    """,
}



@pytest.mark.parametrize("snippet", [pytest.param(snippet, id=name)
                                     for name, snippet in ISOLATED_CASES.items()])
def test_malformed_input_in_a_subprocess(snippet):
    run_isolated(snippet)
