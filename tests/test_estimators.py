"""Behaviour of LSTMRegressor and LSTMClassifier as a user meets it."""

import logging
import os
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_limits

import sklstm
from sklstm import LSTMClassifier, LSTMRegressor
from sklstm._network import CHUNK_SIZE, SQUARED_ERROR, Network


def sine_windows(look_back=10):
    """The seed task: next value of a sine wave from the last 10 values."""
    series = np.sin(np.arange(1000) * 2 * np.pi / 50)
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], look_back)
    return X, series[look_back:]


def first_step_task(n_samples, n_timesteps, seed=0):
    """The class is the sign of the first value of a long noisy sequence:
    only a memory that survives n_timesteps steps can solve it."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_timesteps, 1))
    y = np.where(X[:, 0, 0] > 0, "positive", "negative")
    return X, y


@pytest.fixture
def small_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 8, 3))
    return X, X[:, -1, 0] - X[:, 0, 1]


def quiet_fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


# -- learning -------------------------------------------------------------------

def test_sine_wave_next_value():
    X, y = sine_windows()
    model = LSTMRegressor(hidden_layer_sizes=4, batch_size=1, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X[:800], y[:800])
    # It stopped on tol after learning: no plateau warning.
    assert model.n_iter_ < 200
    assert not any("plateau" in str(w.message) for w in caught)
    test_mse = np.mean((model.predict(X[800:]) - y[800:]) ** 2)
    assert test_mse <= 1e-3
    assert model.loss_curve_[-1] < model.loss_curve_[0] / 10


def test_classification_needs_memory_of_the_first_step():
    # The loss sits on a plateau until the network finds the dependency,
    # hence the patience; where a plateau ends moves with any rounding
    # change, so the test asks one of two seeds to solve it. Measured with
    # the default clip_norm, T=20, 150 epochs: 8 of 8 seeds solved before
    # issue 9 (the first at epoch 6, the last at 106), 6 of 8 with its packed
    # kernels (seeds 4 and 6 on the plateau), 7 of 8 with the fused float
    # cell (seed 2); at T=40, PyTorch with the same setup solved 0 of 5 in
    # 100 epochs.
    X, y = first_step_task(1200, 20)
    scores = []
    for seed in (0, 1):
        clf = LSTMClassifier(hidden_layer_sizes=16, learning_rate_init=0.01,
                             max_iter=150, n_iter_no_change=150, random_state=seed)
        quiet_fit(clf, X[:1000], y[:1000])
        scores.append(clf.score(X[1000:], y[1000:]))
        if scores[-1] >= 0.95:
            break
    assert max(scores) >= 0.95, scores


@pytest.mark.parametrize("solver", ["sgd", "rmsprop", "adam"])
def test_every_solver_learns(solver, small_data):
    X, y = small_data
    lr = {"sgd": 0.1, "rmsprop": 0.01, "adam": 0.01}[solver]
    model = quiet_fit(LSTMRegressor(8, solver=solver, learning_rate_init=lr,
                                    max_iter=60, random_state=0), X, y)
    assert model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]


def test_stacked_multiclass_with_string_labels():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 6, 2))
    labels = np.array(["low", "mid", "high"])
    y = labels[np.digitize(X[:, :, 0].sum(axis=1), [-1, 1])]
    clf = quiet_fit(LSTMClassifier((16, 8), learning_rate_init=0.01, max_iter=80,
                                   random_state=0), X, y)
    assert set(clf.classes_) == set(labels)
    assert clf.score(X, y) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert np.array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba)


def test_multioutput_regression(small_data):
    X, y = small_data
    Y = np.column_stack([y, -2 * y])
    model = quiet_fit(LSTMRegressor(8, learning_rate_init=0.01, max_iter=60,
                                    random_state=0), X, Y)
    assert model.predict(X).shape == (60, 2)
    assert model.score(X, Y) > 0.8


# -- reproducibility ------------------------------------------------------------

@pytest.mark.skipif(not sklstm._engine.openmp_enabled(),
                    reason="a serial build has one thread only")
def test_same_random_state_same_weights_for_1_and_2_threads():
    # Large enough that minibatches are cut into several chunks and run in
    # parallel (see PARALLEL_MIN_FLOPS in _engine.pyx).
    rng = np.random.RandomState(0)
    X = rng.normal(size=(256, 20, 4)).astype(np.float32)
    y = X[:, :, 0].mean(axis=1)
    batch_size = 4 * CHUNK_SIZE
    fitted = []
    for n_threads in (1, 2, 1):
        with threadpool_limits(limits=n_threads, user_api="openmp"):
            assert sklstm._network.n_threads() == n_threads
            model = LSTMRegressor((32, 16), batch_size=batch_size, max_iter=3,
                                  random_state=7)
            fitted.append(quiet_fit(model, X, y))
    for other in fitted[1:]:
        assert np.array_equal(fitted[0]._params, other._params)
        assert fitted[0].loss_curve_ == other.loss_curve_
    with threadpool_limits(limits=2, user_api="openmp"):
        predicted_2 = fitted[0].predict(X)
    with threadpool_limits(limits=1, user_api="openmp"):
        predicted_1 = fitted[0].predict(X)
    assert np.array_equal(predicted_1, predicted_2)


def test_different_random_states_differ(small_data):
    X, y = small_data
    a = quiet_fit(LSTMRegressor(4, max_iter=2, random_state=0), X, y)
    b = quiet_fit(LSTMRegressor(4, max_iter=2, random_state=1), X, y)
    assert not np.array_equal(a._params, b._params)


# -- the scikit-learn toolbox ---------------------------------------------------

def test_pipeline_with_a_sequence_transformer():
    X, y = sine_windows()
    pipe = make_pipeline(FunctionTransformer(lambda Z: 2 * Z),
                         LSTMRegressor(4, batch_size=8, random_state=0))
    quiet_fit(pipe, X[:800], y[:800])
    assert pipe.score(X[800:], y[800:]) > 0.99


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search(n_jobs):
    X, y = first_step_task(160, 6)
    search = GridSearchCV(
        LSTMClassifier(max_iter=15, random_state=0),
        {"hidden_layer_sizes": [4, (8, 4)], "learning_rate_init": [0.01, 0.03]},
        cv=3, n_jobs=n_jobs)
    quiet_fit(search, X, y)
    assert search.best_score_ > 0.8
    assert len(search.cv_results_["mean_test_score"]) == 4
    # The refitted best model is the best configuration fitted on all of X.
    refit = quiet_fit(clone(search.estimator).set_params(**search.best_params_), X, y)
    np.testing.assert_array_equal(refit.predict_proba(X),
                                  search.best_estimator_.predict_proba(X))


def test_cross_val_score_on_3d_input():
    X, y = first_step_task(150, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(LSTMClassifier(8, learning_rate_init=0.02, max_iter=30,
                                                random_state=0),
                                 X, y, cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,)
    assert scores.mean() > 0.8


def test_clone_gives_an_unfitted_copy(small_data):
    X, y = small_data
    model = quiet_fit(LSTMRegressor(4, max_iter=2, alpha=0.5), X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "n_features_in_")
    assert not hasattr(copy, "_params")


def test_pickle_round_trip(small_data):
    X, y = small_data
    model = quiet_fit(LSTMRegressor((6, 5), max_iter=3, random_state=0), X, y)
    restored = pickle.loads(pickle.dumps(model))
    assert np.array_equal(restored.predict(X), model.predict(X))
    # Training goes on identically: optimizer state and random state survive.
    model.partial_fit(X, y)
    restored.partial_fit(X, y)
    assert np.array_equal(restored._params, model._params)


def test_named_weights_are_views_of_the_model(small_data):
    X, y = small_data
    model = quiet_fit(LSTMRegressor(4, max_iter=1, random_state=0), X, y)
    before = model.predict(X)
    model.lstm_weights_[0][0]["bias"][:] += 1
    model.coefs_[-1][:] *= 2
    assert not np.array_equal(model.predict(X), before)


# -- incremental training -------------------------------------------------------

def test_partial_fit_runs_one_epoch_and_continues(small_data):
    X, y = small_data
    model = LSTMRegressor(8, learning_rate_init=0.01, random_state=0)
    for _ in range(20):
        model.partial_fit(X, y)
    assert model.n_iter_ == 20
    assert model.t_ == 20 * len(X)
    assert len(model.loss_curve_) == 20
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    # 20 partial_fit calls are the 20 epochs of one fit: same initial
    # weights, same shuffles, same optimizer steps.
    reference = quiet_fit(LSTMRegressor(8, learning_rate_init=0.01, max_iter=20,
                                        n_iter_no_change=np.inf, random_state=0), X, y)
    np.testing.assert_array_equal(reference._params, model._params)


def test_classifier_partial_fit_needs_classes_first():
    X, y = first_step_task(40, 5)
    clf = LSTMClassifier(4)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:5], y[:5], classes=["negative", "positive"])
    clf.partial_fit(X, y)
    assert list(clf.classes_) == ["negative", "positive"]
    with pytest.raises(ValueError, match="not in `self.classes_`"):
        clf.partial_fit(X, np.where(y == "positive", "other", y))


def test_warm_start_continues_from_the_fitted_weights(small_data):
    X, y = small_data
    model = quiet_fit(LSTMRegressor(8, max_iter=5, warm_start=True, random_state=0,
                                    learning_rate_init=0.01), X, y)
    first_curve = list(model.loss_curve_)
    quiet_fit(model, X, y)
    assert model.n_iter_ == 10
    assert model.loss_curve_[:5] == first_curve
    assert model.loss_curve_[5] < first_curve[0]

    cold = quiet_fit(clone(model).set_params(warm_start=False), X, y)
    quiet_fit(cold, X, y)
    assert cold.n_iter_ == 5


def test_warm_start_rejects_another_architecture(small_data):
    X, y = small_data
    model = quiet_fit(LSTMRegressor(8, max_iter=2, warm_start=True), X, y)
    model.set_params(hidden_layer_sizes=(8, 4))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        model.fit(X, y)


def test_training_stops_when_the_loss_stalls(small_data):
    X, y = small_data
    with pytest.warns(ConvergenceWarning, match="plateau .* n_iter_no_change"):
        model = LSTMRegressor(4, tol=1e9, n_iter_no_change=3, max_iter=100).fit(X, y)
    # As in scikit-learn's MLP: the first epoch sets best_loss_, training stops
    # once more than n_iter_no_change epochs have followed without improvement.
    assert model.n_iter_ == 5
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        LSTMRegressor(4, max_iter=2).fit(X, y)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_tol_none_runs_exactly_max_iter_epochs(small_data, early_stopping):
    """tol=None, scikit-learn SGD's convention and Keras' epochs=: no stopping
    rule, no convergence warning, even on a stalled loss (constant targets);
    early stopping still keeps the best epoch's weights."""
    X, y = small_data
    for targets in (np.zeros_like(y), y):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model = LSTMRegressor(4, tol=None, n_iter_no_change=2, max_iter=12,
                                  learning_rate_init=0.03, early_stopping=early_stopping,
                                  random_state=0)
            model.fit(X[:40], targets[:40], X_val=X[40:], y_val=targets[40:])
        assert model.n_iter_ == 12 and len(model.loss_curve_) == 12
    # The weights kept (on y): the best epoch's with early stopping, the
    # last's without; the scores move, so the two differ here.
    scores = model.validation_scores_
    assert max(scores) != scores[-1]
    expected = max(scores) if early_stopping else scores[-1]
    assert model.score(X[40:], y[40:]) == pytest.approx(expected, rel=1e-6)


def test_tol_none_keeps_the_adaptive_learning_rate(small_data):
    # Zero inputs and targets, no penalty: the initial network already
    # predicts 0 (zero candidate bias, so zero cell and hidden states), and
    # the loss stays exactly 0, which is no improvement.
    X, y = small_data
    model = quiet_fit(LSTMRegressor(4, solver="sgd", learning_rate="adaptive", alpha=0.0,
                                    learning_rate_init=0.1, tol=None, n_iter_no_change=2,
                                    max_iter=10, random_state=0),
                      np.zeros_like(X), np.zeros_like(y))
    assert model.loss_curve_ == [0.0] * 10
    # Plateaus of 3 epochs (n_iter_no_change=2), as with a tol: 3 divisions.
    assert model._optimizer.learning_rate == pytest.approx(0.1 / 5 ** 3)


def test_reported_losses_are_mlps(small_data):
    # As documented on loss_curve_: half the mean squared error for the
    # regressor (not the MSE Keras reports), the mean log-loss for the
    # classifier, plus 0.5 * alpha * ||W||^2 over the batch (here the
    # validation set) on the weights.
    X, y = small_data
    fit = dict(X_val=X[40:], y_val=y[40:])
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        model = LSTMRegressor(4, alpha=0.0, max_iter=3, dtype="float64", random_state=0)
        model.fit(X[:40], y[:40], **fit)
    mse = np.mean((model.predict(X[40:]) - y[40:]) ** 2)
    assert model.validation_loss_curve_[-1] == pytest.approx(mse / 2, rel=1e-12)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        model.set_params(alpha=0.5).fit(X[:40], y[:40], **fit)
    mse = np.mean((model.predict(X[40:]) - y[40:]) ** 2)
    weights = [w for layer in model.lstm_weights_ for direction in layer
               for w in (direction["weight_ih"], direction["weight_hh"])] + model.coefs_
    penalty = 0.5 * 0.5 * sum(np.sum(w ** 2) for w in weights) / len(X[40:])
    assert model.validation_loss_curve_[-1] == pytest.approx(mse / 2 + penalty, rel=1e-12)

    labels = y > 0
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        clf = LSTMClassifier(4, alpha=0.0, max_iter=3, dtype="float64", random_state=0)
        clf.fit(X[:40], labels[:40], X_val=X[40:], y_val=labels[40:])
    p = clf.predict_proba(X[40:])[:, 1]
    log_loss = -np.mean(np.where(labels[40:], np.log(p), np.log(1 - p)))
    assert clf.validation_loss_curve_[-1] == pytest.approx(log_loss, rel=1e-12)


def test_verbose_prints_one_line_per_epoch(small_data, capsys):
    X, y = small_data
    quiet_fit(LSTMRegressor(4, max_iter=3, verbose=True), X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert len(lines) == 3
    assert lines[0].startswith("Epoch 1/3 - loss ")


def test_verbose_2_draws_a_progress_bar_and_trains_the_same(small_data, capsys):
    X, y = small_data
    params = dict(hidden_layer_sizes=4, max_iter=3, tol=None, batch_size=4, dropout=0.2,
                  recurrent_dropout=0.2, random_state=0)
    quiet = quiet_fit(LSTMRegressor(**params), X, y)
    capsys.readouterr()
    loud = quiet_fit(LSTMRegressor(verbose=2, **params), X, y)
    out = capsys.readouterr().out
    assert "[" + "=" * 30 + "] 100 %" in out and out.count("Epoch 1/3 - loss") == 1
    # The epoch runs in parts, with the same minibatches, masks and steps.
    np.testing.assert_array_equal(loud._params, quiet._params)
    assert loud.loss_curve_ == pytest.approx(quiet.loss_curve_, rel=1e-12)


def test_epoch_lines_go_to_the_sklstm_logger(small_data, caplog, capsys):
    X, y = small_data
    with caplog.at_level(logging.INFO, logger="sklstm"):
        quiet_fit(LSTMRegressor(4, max_iter=3), X, y)
    messages = [r.getMessage() for r in caplog.records if r.name == "sklstm"]
    assert [m.split(" - ")[0] for m in messages] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert capsys.readouterr().out == ""  # verbose=False prints nothing


# -- input shapes and errors ----------------------------------------------------

def test_2d_input_is_univariate(small_data):
    X, y = small_data
    X2 = X[:, :, 0]
    a = quiet_fit(LSTMRegressor(4, max_iter=2, random_state=0), X2, y)
    b = quiet_fit(LSTMRegressor(4, max_iter=2, random_state=0), X2[:, :, None], y)
    assert (a.n_features_in_, b.n_features_in_) == (8, 1)
    np.testing.assert_array_equal(a.predict(X2), b.predict(X2[:, :, None]))


def test_predict_sequences_of_another_length(small_data):
    X, y = small_data
    model = quiet_fit(LSTMRegressor(4, max_iter=2), X, y)
    assert model.predict(X[:, :3]).shape == (60,)
    assert model.predict(np.concatenate([X, X], axis=1)).shape == (60,)
    # A table of lags (2D X) keeps its number of columns.
    table = quiet_fit(LSTMRegressor(4, max_iter=2), X[:, :, 0], y)
    with pytest.raises(ValueError, match="X has 3 features, but LSTMRegressor is expecting 8"):
        table.predict(X[:, :3, 0])
    assert table.predict(X[:, :3, :1]).shape == (60,)


def test_float_dtypes(small_data):
    X, y = small_data
    for dtype in ("float32", "float64"):
        model = quiet_fit(LSTMRegressor(4, max_iter=2, dtype=dtype), X, y)
        assert model._params.dtype == np.dtype(dtype)
        assert model.lstm_weights_[0][0]["weight_ih"].dtype == np.dtype(dtype)
        assert model.predict(X).dtype == np.float64


def test_fitted_weight_shapes(small_data):
    X, y = small_data
    model = quiet_fit(LSTMRegressor((5, 7), max_iter=1), X, np.column_stack([y, y]))
    shapes = [{k: v.shape for k, v in layer[0].items()} for layer in model.lstm_weights_]
    assert shapes == [
        {"weight_ih": (20, 3), "weight_hh": (20, 5), "bias": (20,)},
        {"weight_ih": (28, 5), "weight_hh": (28, 7), "bias": (28,)},
    ]
    assert model.coefs_[-1].shape == (7, 2)
    assert model.intercepts_[-1].shape == (2,)


def test_initialization_follows_keras():
    network = Network(6, (5,), 1, SQUARED_ERROR)
    params = network.init_params(np.random.RandomState(0), np.float64)
    w_hh = network.view(params, "weight_hh", 0, 0)
    np.testing.assert_allclose(w_hh.T @ w_hh, np.eye(5), atol=1e-12)
    bias = network.view(params, "bias", 0, 0)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    w_ih = network.view(params, "weight_ih", 0, 0)
    limit = np.sqrt(6 / (6 + 20))
    assert np.abs(w_ih).max() <= limit and w_ih.std() > limit / 3
    assert np.all(network.view(params, "bias", "out") == 0)


def test_extreme_inputs_stay_finite():
    rng = np.random.RandomState(0)
    X = rng.normal(scale=1e4, size=(20, 5, 2))
    with pytest.warns(UserWarning, match="unit scale"):
        model = quiet_fit(LSTMClassifier(4, max_iter=2), X, np.arange(20) % 2)
    proba = model.predict_proba(X * 1e3)
    assert np.all(np.isfinite(proba))


@pytest.mark.parametrize("X, message", [
    (np.zeros(5), "got a 1D array of shape \\(5,\\)"),
    (np.zeros((5, 2, 2, 2)), "got a 4D array"),
    (np.zeros((5, 0, 2)), "0 timesteps"),
    (np.zeros((5, 3, 0)), "0 features per timestep"),
    (np.zeros((0, 3, 2)), "0 sample"),
    (np.full((5, 3, 2), np.nan), "contains NaN"),
    (np.full((5, 3, 2), np.inf), "infinity"),
    (np.full((5, 3, 2), "a"), "could not convert"),
    ([np.zeros((3, 2)), np.zeros((4, 3))], "same features"),
    ([np.zeros((3, 2)), np.zeros((0, 2))], "no timesteps"),
    ([np.zeros((3, 2)), np.full((2, 2), np.nan)], "X\\[1\\].*NaN"),
    ([np.zeros((3, 2)), np.zeros((2, 2, 2))], "X\\[1\\].*dim 3"),
    ([], "0 sample"),
])
def test_bad_X_gets_a_clear_error(X, message):
    with pytest.raises(ValueError, match=message):
        LSTMRegressor(4, max_iter=1).fit(X, np.zeros(len(X)))


def test_bad_y_gets_a_clear_error(small_data):
    X, y = small_data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LSTMRegressor(4).fit(X, y[:-1])
    with pytest.raises(ValueError, match="y is None"):
        LSTMRegressor(4).fit(X, None)
    with pytest.raises(ValueError, match="contains NaN"):
        LSTMRegressor(4).fit(X, np.full(len(X), np.nan))
    with pytest.raises(ValueError, match="only one class"):
        LSTMClassifier(4).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        LSTMClassifier(4).fit(X, y)


def test_predict_checks_the_features(small_data):
    X, y = small_data
    model = quiet_fit(LSTMRegressor(4, max_iter=1), X, y)
    with pytest.raises(ValueError, match="X has 2 features per timestep, but "
                                         "LSTMRegressor is expecting 3"):
        model.predict(X[:, :, :2])
    with pytest.raises(ValueError, match="contains NaN"):
        model.predict(np.full_like(X, np.nan))
    with pytest.raises(ValueError, match=r"multivariate sequence of shape .* is X\[np.newaxis\]"):
        model.predict(X[0])
    assert model.predict(X[0][np.newaxis]).shape == (1,)


def test_bad_parameters_are_named():
    X, y = first_step_task(20, 3)
    with pytest.raises(ValueError, match="solver"):
        LSTMClassifier(solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        LSTMClassifier(hidden_layer_sizes=(4, 0)).fit(X, y)
    with pytest.raises(ValueError, match="dtype"):
        LSTMClassifier(dtype="float16").fit(X, y)


def test_divergence_is_reported(small_data):
    X, y = small_data
    with pytest.raises(ValueError, match="Training diverged"), \
            pytest.warns(UserWarning, match="unit scale"):
        LSTMRegressor(4, solver="sgd", learning_rate_init=1e6, momentum=0,
                      clip_norm=None, max_iter=5).fit(X, y * 1e20)


def test_unfitted_estimator_says_so(small_data):
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        LSTMRegressor().predict(small_data[0])
    with pytest.raises(NotFittedError):
        LSTMRegressor().lstm_weights_


def test_show_config_reports_the_build(capsys):
    config = sklstm.show_config()
    out = capsys.readouterr().out
    assert isinstance(config["openmp"], bool)
    assert config["n_threads"] >= 1
    assert "OpenMP" in out and "BLAS" in out
    assert config["isa"] in ("avx512", "avx2", "portable")
    assert f"kernels: {config['isa']}" in out


@pytest.mark.parametrize("value, message", [
    ("avx1024", "'avx1024' is not one of portable, avx2, avx512"),
    ("portable", None),
])
def test_a_forced_instruction_set_is_checked(value, message):
    """SKLSTM_ISA forces the kernels' path; a name the engine does not know
    warns at import instead of being ignored."""
    import subprocess
    import sys
    code = ("import warnings; warnings.simplefilter('always'); import sklstm; "
            "print(sklstm.show_config(file=open('/dev/null', 'w'))['isa'])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "SKLSTM_ISA": value}, check=True)
    if message is None:
        assert result.stdout.strip() == value and "RuntimeWarning" not in result.stderr
    else:
        assert message in result.stderr
        assert result.stdout.strip() == sklstm._engine.isa_supported()


@pytest.mark.parametrize("curve, message", [
    ([0.70, 0.69, 0.70, 0.69, 0.70], "still near its first value .* plateau"),
    # Learned (0.32 at epoch 3), then lost it: not a plateau.
    ([0.70, 0.50, 0.32, 0.68, 0.90], "back near or above its first value .* after "
                                     "reaching 0.32 at epoch 3.*learning_rate_init"
                                     ".*early_stopping"),
])
def test_stopping_warning_tells_a_plateau_from_an_unstable_end(curve, message):
    model = LSTMRegressor()
    model.loss_curve_ = curve
    with pytest.warns(ConvergenceWarning, match=message) as caught:
        assert model._stop_or_slow_down()
    assert len(caught) == 1
