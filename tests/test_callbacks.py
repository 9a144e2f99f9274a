"""fit's and partial_fit's callbacks, and the ready-made ones of
sklstm.callbacks: checkpoints, early stopping on any scoring, and
learning-rate schedules for every solver."""

import math
import pickle
import warnings

import numpy as np
import pytest
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import GridSearchCV, KFold

from sklstm import LSTMClassifier, LSTMRegressor
from sklstm.callbacks import (
    Checkpoint,
    CosineAnnealingLR,
    EarlyStopping,
    ReduceLROnPlateau,
    StepLR,
)


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(96, 6, 2))
    return X, X[:, -2:, 0].sum(axis=1)


class Recorder:
    """A callback that keeps the records and stops after `stop_at` epochs."""

    def __init__(self, stop_at=None):
        self.records, self.stop_at = [], stop_at

    def __call__(self, estimator, record):
        self.records.append(dict(record))
        return record["epoch"] == self.stop_at


def quiet_fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*args, **kwargs)


def test_a_callback_sees_every_epoch_and_can_stop_training(data):
    X, y = data
    watch, stop = Recorder(), Recorder(stop_at=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stopped by a callback: no warning
        model = LSTMRegressor(4, max_iter=50, random_state=0).fit(
            X[:80], y[:80], X_val=X[80:], y_val=y[80:], callbacks=[stop, watch])
    assert model.n_iter_ == 4 and len(model.loss_curve_) == 4
    # Every callback sees every epoch, the one that stops training included.
    assert [r["epoch"] for r in watch.records] == [1, 2, 3, 4]
    record = watch.records[-1]
    assert set(record) == {"epoch", "loss", "validation_score", "validation_loss",
                           "learning_rate", "seconds"}
    assert record["loss"] == model.loss_curve_[-1]
    assert record["validation_score"] == model.validation_scores_[-1]
    assert record["validation_loss"] == model.validation_loss_curve_[-1]
    assert record["learning_rate"] == model.learning_rate_init
    assert record["seconds"] > 0


def test_partial_fit_calls_its_callbacks_once(data):
    X, y = data
    watch = Recorder()
    model = LSTMRegressor(4, random_state=0)
    for _ in range(3):
        model.partial_fit(X, y, callbacks=watch)  # a single callable is accepted
    assert [r["epoch"] for r in watch.records] == [1, 2, 3]
    assert watch.records[0]["validation_score"] is None


def test_callbacks_must_be_callables(data):
    X, y = data
    with pytest.raises(TypeError, match="callables"):
        LSTMRegressor(4, max_iter=1).fit(X, y, callbacks=["not a callback"])


@pytest.mark.parametrize("solver", ["adam", "rmsprop", "sgd"])
def test_step_schedule_sets_the_rate_of_every_solver(data, solver):
    X, y = data
    watch = Recorder()
    model = quiet_fit(LSTMRegressor(4, solver=solver, learning_rate_init=0.01,
                                    max_iter=7, tol=None, random_state=0),
                      X, y, callbacks=[StepLR(3, gamma=0.5), watch])
    rates = [r["learning_rate"] for r in watch.records]
    np.testing.assert_allclose(rates, [0.01] * 3 + [0.005] * 3 + [0.0025])
    assert model._optimizer.learning_rate == pytest.approx(0.0025)


def test_a_schedule_changes_training(data):
    X, y = data
    plain = quiet_fit(LSTMRegressor(4, max_iter=5, tol=None, random_state=0), X, y)
    scheduled = quiet_fit(LSTMRegressor(4, max_iter=5, tol=None, random_state=0), X, y,
                          callbacks=[StepLR(1, gamma=0.1)])
    assert plain.loss_curve_[0] == scheduled.loss_curve_[0]
    assert plain.loss_curve_[1:] != scheduled.loss_curve_[1:]


def test_cosine_schedule_anneals_to_its_minimum(data):
    X, y = data
    watch = Recorder()
    quiet_fit(LSTMRegressor(4, learning_rate_init=0.02, max_iter=8, tol=None,
                            random_state=0), X, y,
              callbacks=[CosineAnnealingLR(4, eta_min=0.002), watch])
    rates = [r["learning_rate"] for r in watch.records]
    expected = [0.02] + [0.002 + 0.018 * (1 + math.cos(math.pi * min(e, 4) / 4)) / 2
                         for e in range(1, 8)]
    np.testing.assert_allclose(rates, expected)
    assert rates[-1] == pytest.approx(0.002)


def test_schedules_carry_over_partial_fit_calls(data):
    X, y = data
    watch, schedule = Recorder(), StepLR(2, gamma=0.1)
    model = LSTMRegressor(4, learning_rate_init=0.01, random_state=0)
    for _ in range(5):
        model.partial_fit(X, y, callbacks=[schedule, watch])
    rates = [r["learning_rate"] for r in watch.records]
    np.testing.assert_allclose(rates, [0.01, 0.01, 0.001, 0.001, 0.0001])
    # A fresh fit starts again from learning_rate_init.
    model.set_params(max_iter=1, tol=None).fit(X, y, callbacks=[watch])
    assert watch.records[-1]["learning_rate"] == 0.01


def test_reduce_on_plateau_reduces_after_its_patience(data):
    # Zero inputs and targets, no penalty: the loss stays 0, a plateau.
    X, y = data
    watch, plateau = Recorder(), ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.0011)
    quiet_fit(LSTMRegressor(4, alpha=0.0, learning_rate_init=0.01, max_iter=9, tol=None,
                            random_state=0),
              np.zeros_like(X), np.zeros_like(y), callbacks=[plateau, watch])
    # A reduction after epochs 3, 5, 7 and 9 (patience 2, counting restarts).
    assert plateau.reductions_ == [3, 5, 7, 9]
    rates = [r["learning_rate"] for r in watch.records]
    np.testing.assert_allclose(rates, [0.01] * 3 + [0.005] * 2 + [0.0025] * 2 + [0.00125] * 2)
    # The last reduction stops at min_lr, and none goes below it.
    model = LSTMRegressor(4, alpha=0.0, learning_rate_init=0.01, max_iter=15, tol=None,
                              random_state=0)
    quiet_fit(model, np.zeros_like(X), np.zeros_like(y), callbacks=[plateau])
    assert model._optimizer.learning_rate == pytest.approx(0.0011)
    assert plateau.reductions_ == [3, 5, 7, 9]


def test_a_validation_monitor_needs_a_validation_set(data):
    X, y = data
    with pytest.raises(ValueError, match="validation set"):
        LSTMRegressor(4, max_iter=2).fit(X, y, callbacks=[ReduceLROnPlateau(
            monitor="validation_score")])


def test_early_stopping_on_a_scoring_restores_the_best_weights(data):
    X, y = data
    stopper = EarlyStopping(X[80:], y[80:], scoring="neg_mean_squared_error", patience=3)
    model = quiet_fit(LSTMRegressor(16, learning_rate_init=0.05, max_iter=300, tol=None,
                                    random_state=0), X[:80], y[:80], callbacks=[stopper])
    assert stopper.stopped_epoch_ == model.n_iter_ < 300
    assert model.n_iter_ - stopper.best_epoch_ == 3
    assert stopper.best_score_ == max(stopper.scores_)
    # The model holds the best epoch's weights.
    assert -mean_squared_error(y[80:], model.predict(X[80:])) == pytest.approx(
        stopper.best_score_, rel=1e-6)


def test_one_early_stopping_serves_every_fit_of_a_search(data):
    X, y = data
    stopper = EarlyStopping(X[80:], y[80:], patience=2)
    search = GridSearchCV(LSTMRegressor(4, max_iter=30, tol=None, random_state=0),
                          {"learning_rate_init": [0.01, 0.05]}, cv=KFold(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X[:80], y[:80], callbacks=[stopper])
    # The refit's own run: its scores start at its first epoch.
    assert len(stopper.scores_) == search.best_estimator_.n_iter_


@pytest.mark.parametrize("format", ["pickle", "skops"])
def test_checkpoint_saves_a_loadable_model(data, tmp_path, format):
    if format == "skops":
        skops_io = pytest.importorskip("skops.io")
    X, y = data
    every = Checkpoint(tmp_path / "epoch{epoch}.bin", save_best_only=False, format=format)
    best = Checkpoint(tmp_path / "best.bin", format=format)
    clf = quiet_fit(LSTMClassifier(4, max_iter=4, tol=None, random_state=0), X, y > 0,
                    callbacks=[every, best])
    assert every.saved_epochs_ == [1, 2, 3, 4]
    assert best.saved_epochs_[0] == 1
    assert best.best_ == min(clf.loss_curve_)
    path = tmp_path / "epoch4.bin"
    if format == "skops":
        loaded = skops_io.load(path, trusted=skops_io.get_untrusted_types(file=path))
    else:
        with open(path, "rb") as file:
            loaded = pickle.load(file)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
