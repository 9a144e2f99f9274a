"""The LSTM family (bidirectional, peephole, dense heads, per-step outputs,
embeddings, dropout) and the training controls, as a user meets them."""

import os
import signal
import threading
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

import sklstm
from sklstm import LSTMClassifier, LSTMRegressor


def quiet_fit(estimator, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **fit_params)


# -- learning tasks -------------------------------------------------------------

def test_bidirectional_uses_the_future():
    """Each step's label is the sign of the value two steps later: only the
    reverse direction can see it."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(800, 12, 1))
    Y = np.zeros((800, 12), dtype=int)
    Y[:, :-2] = X[:, 2:, 0] > 0
    scores = {}
    for bidirectional in (False, True):
        clf = LSTMClassifier(16, bidirectional=bidirectional, return_sequences=True,
                             learning_rate_init=0.01, max_iter=40, random_state=0)
        scores[bidirectional] = quiet_fit(clf, X[:600], Y[:600]).score(X[600:], Y[600:])
    assert scores[True] > 0.95
    assert scores[False] < 0.7  # the past alone tells the future no better


def test_many_to_many_running_sum_sign():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(800, 20, 1))
    Y = np.where(np.cumsum(X[:, :, 0], axis=1) > 0, "up", "down")
    clf = quiet_fit(LSTMClassifier(16, return_sequences=True, learning_rate_init=0.01,
                                   max_iter=40, random_state=0), X[:600], Y[:600])
    assert clf.score(X[600:], Y[600:]) > 0.95
    assert clf.predict(X[600:]).shape == (200, 20)
    proba = clf.predict_proba(X[600:])
    assert proba.shape == (200, 20, 2)
    np.testing.assert_allclose(proba.sum(axis=-1), 1)


def test_token_anywhere_in_the_sequence():
    """Class 1 when token 0 appears anywhere among 15 tokens of 20."""
    rng = np.random.RandomState(2)
    X = rng.randint(1, 20, size=(1000, 15))
    has = rng.rand(1000) < 0.5
    X[has, rng.randint(0, 15, size=has.sum())] = 0
    clf = quiet_fit(LSTMClassifier(16, embedding_dim=8, learning_rate_init=0.01,
                                   max_iter=40, random_state=0),
                    X[:800], has[:800].astype(int))
    assert clf.vocabulary_size_ == 20
    assert clf.embedding_.shape == (20, 8)
    assert clf.score(X[800:], has[800:].astype(int)) > 0.95


def test_per_step_regression_shapes():
    rng = np.random.RandomState(3)
    X = rng.normal(size=(200, 8, 2))
    Y = np.cumsum(X, axis=1)  # (n, T, 2): the running sums
    model = quiet_fit(LSTMRegressor(16, return_sequences=True, learning_rate_init=0.01,
                                    max_iter=60, random_state=0), X, Y)
    assert model.predict(X).shape == (200, 8, 2)
    assert model.score(X, Y) > 0.9
    univariate = quiet_fit(LSTMRegressor(4, return_sequences=True, max_iter=2), X,
                           Y[:, :, 0])
    assert univariate.predict(X).shape == (200, 8)
    with pytest.raises(ValueError, match="n_timesteps=8"):
        LSTMRegressor(4, return_sequences=True).fit(X, Y[:, :5])


@pytest.mark.parametrize("options", [
    dict(peephole=True),
    dict(dense_layer_sizes=(16,), activation="tanh"),
    dict(recurrent_activation="hard_sigmoid"),
    dict(cell_activation="relu", clip_norm=1.0),
    dict(hidden_layer_sizes=(16, 8), bidirectional=True, dropout=0.2,
         recurrent_dropout=0.2),
])
def test_options_learn(options):
    rng = np.random.RandomState(4)
    X = rng.normal(size=(300, 10, 2))
    y = np.where(X[:, :, 0].sum(axis=1) > 0, "a", "b")
    options = {"hidden_layer_sizes": 16, **options}
    clf = quiet_fit(LSTMClassifier(learning_rate_init=0.01, max_iter=60, random_state=0,
                                   **options), X[:250], y[:250])
    assert clf.score(X[250:], y[250:]) > 0.85


# -- embeddings -----------------------------------------------------------------

def test_unseen_token_ids_are_an_error():
    X = np.array([[0, 1, 2], [2, 1, 0]] * 10)
    clf = quiet_fit(LSTMClassifier(4, embedding_dim=2, max_iter=1), X, [0, 1] * 10)
    with pytest.raises(ValueError, match="token id 3, but .* ids 0..2"):
        clf.predict([[0, 3, 1]])
    with pytest.raises(ValueError, match="non-negative integer token ids"):
        clf.predict([[0, 1.5, 1]])
    with pytest.raises(ValueError, match="one token id per timestep"):
        LSTMClassifier(4, embedding_dim=2).fit(np.zeros((2, 3, 2)), [0, 1])


# -- dropout and reproducibility -----------------------------------------------

@pytest.mark.skipif(not sklstm._engine.openmp_enabled(),
                    reason="a serial build has one thread only")
def test_dropout_is_reproducible_for_1_and_2_threads():
    rng = np.random.RandomState(5)
    X = rng.normal(size=(256, 20, 4)).astype(np.float32)
    y = X[:, :, 0].mean(axis=1) > 0
    fitted = []
    for n_threads in (1, 2):
        with threadpool_limits(limits=n_threads, user_api="openmp"):
            clf = LSTMClassifier((32, 16), bidirectional=True, dropout=0.3,
                                 recurrent_dropout=0.2, batch_size=64, max_iter=3,
                                 random_state=3)
            fitted.append(quiet_fit(clf, X, y))
    assert np.array_equal(fitted[0]._params, fitted[1]._params)
    other_seed = quiet_fit(fitted[0].__class__(**{**fitted[0].get_params(),
                                                  "random_state": 4}), X, y)
    assert not np.array_equal(fitted[0]._params, other_seed._params)


def test_dropout_is_off_at_predict():
    """Predictions use every unit: they do not change with the dropout rates
    and equal the network's pass without dropout."""
    rng = np.random.RandomState(6)
    X = rng.normal(size=(50, 6, 2))
    clf = quiet_fit(LSTMClassifier((8, 4), dropout=0.5, recurrent_dropout=0.5,
                                   max_iter=3, dtype="float64"), X, X[:, 0, 0] > 0)
    proba = clf.predict_proba(X)
    clf.set_params(dropout=0.0, recurrent_dropout=0.0)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    data = clf._check_X(X, reset=False)
    Y = clf._encode_targets(X[:, 0, 0] > 0, reset=False, data=data)
    with_dropout, _ = clf._network.loss_gradient(clf._params, data, Y, dropout=0.5,
                                                 recurrent_dropout=0.5, seed=1)
    without, _ = clf._network.loss_gradient(clf._params, data, Y)
    assert with_dropout != without  # training passes do drop units
    assert clf._network.loss(clf._params, data, Y) == pytest.approx(without, rel=1e-12)


# -- validation and early stopping ---------------------------------------------

def noisy_regression(seed=0, n=300):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 6, 2))
    return X, X[:, :, 0].sum(axis=1) + rng.normal(scale=1.0, size=n)


def test_early_stopping_restores_the_best_weights():
    X, y = noisy_regression()
    model = quiet_fit(LSTMRegressor(32, learning_rate_init=0.03, early_stopping=True,
                                    n_iter_no_change=5, max_iter=200, random_state=0),
                      X[:200], y[:200], X_val=X[200:], y_val=y[200:])
    scores = model.validation_scores_
    assert len(scores) == model.n_iter_ < 200
    assert model.best_validation_score_ == max(scores)
    assert scores[-1] < model.best_validation_score_  # training went on past the best
    # The weights kept are those of the best epoch.
    assert model.score(X[200:], y[200:]) == pytest.approx(model.best_validation_score_,
                                                          abs=1e-12)
    assert len(model.validation_loss_curve_) == model.n_iter_
    assert model.best_loss_ is None


@pytest.mark.parametrize("holdout", ["random", "last"])
def test_held_out_validation_fraction(holdout):
    X, y = noisy_regression(1)
    model = quiet_fit(LSTMRegressor(8, early_stopping=True, validation_fraction=0.2,
                                    validation_holdout=holdout, max_iter=5,
                                    random_state=0), X, y)
    assert model.t_ == 5 * 240  # 60 of the 300 samples held out
    if holdout == "last":
        # The last 60 samples in their order: the future of a series.
        assert model.score(X[240:], y[240:]) == pytest.approx(
            model.best_validation_score_, abs=1e-12)


def test_validation_set_without_early_stopping_is_monitored():
    X, y = noisy_regression(2)
    model = quiet_fit(LSTMRegressor(8, max_iter=4), X[:200], y[:200],
                      X_val=X[200:], y_val=y[200:])
    assert len(model.validation_scores_) == 4
    assert model.best_loss_ == min(model.loss_curve_)
    with pytest.raises(ValueError, match="both X_val and y_val"):
        LSTMRegressor(8).fit(X, y, X_val=X)


# -- weights --------------------------------------------------------------------

def test_doubled_sample_weights_are_repetitions():
    """Doubling every weight is repeating every sample: the loss is the same,
    the L2 term (divided by the sum of the weights, as in scikit-learn's MLP)
    halves, exactly as halving alpha does."""
    X, y = noisy_regression(3, n=100)
    a = quiet_fit(LSTMRegressor(8, max_iter=3, random_state=0, alpha=0), X, y)
    b = quiet_fit(LSTMRegressor(8, max_iter=3, random_state=0, alpha=0), X, y,
                  sample_weight=np.full(100, 2.0))
    np.testing.assert_array_equal(a._params, b._params)
    c = quiet_fit(LSTMRegressor(8, max_iter=3, random_state=0, alpha=0.5), X, y)
    d = quiet_fit(LSTMRegressor(8, max_iter=3, random_state=0, alpha=1.0), X, y,
                  sample_weight=np.full(100, 2.0))
    np.testing.assert_array_equal(c._params, d._params)
    assert not np.array_equal(a._params, c._params)


def test_zero_weight_samples_are_ignored():
    X, y = noisy_regression(4, n=100)
    weights = np.r_[np.ones(50), np.zeros(50)]
    a = quiet_fit(LSTMRegressor(8, max_iter=3, random_state=0, batch_size=100), X, y,
                  sample_weight=weights)
    y_other = y.copy()
    y_other[50:] = 1e3
    b = quiet_fit(LSTMRegressor(8, max_iter=3, random_state=0, batch_size=100), X,
                  y_other, sample_weight=weights)
    np.testing.assert_array_equal(a._params, b._params)


def test_class_weight_balanced_helps_the_rare_class():
    rng = np.random.RandomState(7)
    X = rng.normal(size=(600, 5, 1))
    y = (X[:, :, 0].sum(axis=1) > 2.5).astype(int)  # about 13% positives
    recall = {}
    for class_weight in (None, "balanced"):
        clf = quiet_fit(LSTMClassifier(8, class_weight=class_weight, max_iter=15,
                                       random_state=0), X, y)
        recall[class_weight] = (clf.predict(X)[y == 1] == 1).mean()
    assert recall["balanced"] > recall[None] + 0.1
    with pytest.raises(ValueError, match="class_weight"):
        LSTMClassifier(class_weight="even").fit(X, y)


# -- schedules and the epoch loop -----------------------------------------------

def test_invscaling_learning_rate():
    X, y = noisy_regression(5, n=64)
    model = quiet_fit(LSTMRegressor(4, solver="sgd", learning_rate="invscaling",
                                    learning_rate_init=0.1, power_t=0.5, max_iter=3), X, y)
    assert model._optimizer.learning_rate == pytest.approx(0.1 / (model.t_ + 1) ** 0.5)


def test_adaptive_learning_rate_divides_by_5_on_plateaus():
    X, y = noisy_regression(6, n=64)
    model = quiet_fit(LSTMRegressor(4, solver="sgd", learning_rate="adaptive",
                                    learning_rate_init=0.1, tol=1e9, n_iter_no_change=2,
                                    max_iter=10), X, y)
    # Every third epoch is a plateau of tol=1e9: 10 epochs, 3 divisions.
    assert model.n_iter_ == 10
    assert model._optimizer.learning_rate == pytest.approx(0.1 / 5 ** 3)


def test_optimizer_state_carries_over_partial_fit():
    X, y = noisy_regression(7, n=64)
    model = LSTMRegressor(4, random_state=0)
    model.partial_fit(X, y)
    steps = int(model._optimizer.step[0])
    moments = model._optimizer.state_1.copy()
    model.partial_fit(X, y)
    assert model._optimizer.step[0] == 2 * steps
    assert not np.array_equal(model._optimizer.state_1, moments)


def test_verbose_reports_validation(capsys):
    X, y = noisy_regression(8, n=64)
    quiet_fit(LSTMRegressor(4, max_iter=2, verbose=True), X[:48], y[:48],
              X_val=X[48:], y_val=y[48:])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Epoch 1/2 - loss ")
    assert "validation score" in lines[0] and "ETA" in lines[0]
    assert lines[1].startswith("Epoch 2/2") and lines[1].endswith(" s")


def test_ctrl_c_stops_training_cleanly():
    X, y = noisy_regression(9, n=4000)
    model = LSTMRegressor(64, batch_size=8, max_iter=1000, random_state=0)
    done = threading.Event()

    def interrupt_once_training_runs():
        # Not on a timer: on a busy machine a fixed delay can fire before fit
        # reaches the engine (the optimizer's step count moves in place).
        while not done.wait(0.01):
            optimizer = getattr(model, "_optimizer", None)
            if optimizer is not None and optimizer.step[0] > 0:
                os.kill(os.getpid(), signal.SIGINT)
                return

    thread = threading.Thread(target=interrupt_once_training_runs)
    thread.start()
    try:
        with pytest.warns(UserWarning, match="interrupted by user"):
            model.fit(X, y)
    finally:
        done.set()
        thread.join()
    # The engine stops within a minibatch, possibly in the first epoch.
    assert model.n_iter_ < 1000
    assert np.all(np.isfinite(model.predict(X)))


# -- features for other models --------------------------------------------------

def test_transform_feeds_any_model():
    rng = np.random.RandomState(10)
    X = rng.normal(size=(300, 12, 1))
    y = (X[:, 0, 0] > 0).astype(int)
    lstm = quiet_fit(LSTMClassifier(16, bidirectional=True, learning_rate_init=0.01,
                                    max_iter=40, random_state=0), X, y)
    features = lstm.transform(X)
    assert features.shape == (300, 32)
    names = lstm.get_feature_names_out()
    assert len(names) == 32 and names[0] == "lstmclassifier0"
    downstream = LogisticRegression().fit(features, y)
    assert downstream.score(features, y) > 0.95
    pipe = make_pipeline(LSTMClassifier(8, max_iter=2), LogisticRegression())
    quiet_fit(pipe, X, y)
    assert pipe.predict(X).shape == (300,)
    per_step = quiet_fit(LSTMRegressor(4, return_sequences=True, max_iter=1), X,
                         X[:, :, 0])
    assert per_step.transform(X).shape == (300, 12, 4)


def test_architecture_change_blocks_warm_start():
    X, y = noisy_regression(11, n=40)
    model = quiet_fit(LSTMRegressor(4, warm_start=True, max_iter=1), X, y)
    model.set_params(bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional"):
        model.fit(X, y)


def test_early_stopping_with_per_step_weights():
    """Held-out rows keep one weight per step (a bug once left them 2D)."""
    rng = np.random.RandomState(12)
    X = rng.normal(size=(120, 6, 1))
    Y = (np.cumsum(X[:, :, 0], axis=1) > 1).astype(int)
    clf = quiet_fit(LSTMClassifier(8, return_sequences=True, class_weight="balanced",
                                   early_stopping=True, max_iter=5, random_state=0),
                    X, Y, sample_weight=rng.uniform(0.5, 2, size=120))
    assert len(clf.validation_scores_) == clf.n_iter_
    assert all(0 <= score <= 1 for score in clf.validation_scores_)
