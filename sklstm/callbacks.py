"""Callbacks for ``fit`` and ``partial_fit``: checkpoints, early stopping on
any scoring, and learning-rate schedules for every solver.

A callback is any callable ``callback(estimator, record)``, called after
each epoch with the estimator and the epoch's record, a dict:

- ``"epoch"``: the epochs run so far (``n_iter_``);
- ``"loss"``: the epoch's mean training loss (``loss_curve_[-1]``);
- ``"validation_score"``, ``"validation_loss"``: on the validation set
  (``X_val`` or early stopping's held-out part), None without one;
- ``"learning_rate"``: the rate the epoch ran with;
- ``"seconds"``: the epoch's time.

Returning True stops training after that epoch (``fit`` then raises no
convergence warning; ``partial_fit`` runs one epoch anyway). The epoch
itself runs in compiled code; callbacks run between epochs. A callback
with a ``begin_fit()`` method has it called when each ``fit`` starts: the
ready-made ones below forget their state there, so that one instance can
serve every fit of a search; ``partial_fit`` calls carry their state on.

Examples
--------
>>> import numpy as np
>>> from sklstm import LSTMRegressor
>>> from sklstm.callbacks import ReduceLROnPlateau
>>> rng = np.random.RandomState(0)
>>> X = rng.normal(size=(64, 5, 2))
>>> y = X[:, :, 0].sum(axis=1)
>>> seen = []
>>> def log_epoch(estimator, record):
...     seen.append(record["epoch"])
...     return record["epoch"] == 3          # stop after 3 epochs
>>> model = LSTMRegressor(4, random_state=0)
>>> model = model.fit(X, y, callbacks=[log_epoch, ReduceLROnPlateau(patience=2)])
>>> model.n_iter_, seen
(3, [1, 2, 3])
"""

import math
import os
import pickle

import numpy as np
from sklearn.metrics import check_scoring

__all__ = ["Checkpoint", "CosineAnnealingLR", "EarlyStopping", "ReduceLROnPlateau",
           "StepLR"]


def _monitored(record, monitor):
    """The value of `monitor` in `record`, as a quantity to minimize."""
    if monitor not in ("loss", "validation_loss", "validation_score"):
        raise ValueError(f"monitor must be 'loss', 'validation_loss' or "
                         f"'validation_score', got {monitor!r}.")
    value = record[monitor]
    if value is None:
        raise ValueError(f"monitor={monitor!r} needs a validation set: pass X_val and "
                         f"y_val to fit, or set early_stopping=True.")
    return -value if monitor == "validation_score" else value


def _set_learning_rate(estimator, rate):
    """Run the next epochs at `rate`, whatever the solver; the rate then
    carries over to later partial_fit and warm-start calls (a fresh fit
    starts again from learning_rate_init)."""
    estimator._optimizer.learning_rate = float(rate)
    estimator._learning_rate_scheduled = True


class Checkpoint:
    """Save the estimator to a file after epochs: every epoch, or only when
    the monitored quantity improves.

    Parameters
    ----------
    path : str or path-like
        The file; ``{epoch}`` in it is replaced by the epoch number (one file
        per epoch).
    monitor : {"loss", "validation_loss", "validation_score"}, default="loss"
        What ``save_best_only`` compares.
    save_best_only : bool, default=True
        Save only when the monitored quantity is the best so far.
    format : {"pickle", "skops"}, default="pickle"
        ``pickle.dump``, or ``skops.io.dump`` (skops installed), whose files
        load without running code (``skops.io.load(path, trusted=[...])``).

    Attributes
    ----------
    best_ : float or None
        The best monitored value so far (a score as it is, not negated).
    saved_epochs_ : list of int
        The epochs saved.
    """

    def __init__(self, path, *, monitor="loss", save_best_only=True, format="pickle"):
        if format not in ("pickle", "skops"):
            raise ValueError(f"format must be 'pickle' or 'skops', got {format!r}.")
        self.path = path
        self.monitor = monitor
        self.save_best_only = save_best_only
        self.format = format
        self.begin_fit()

    def begin_fit(self):
        """Forget the best value and the saved epochs."""
        self.best_ = None
        self.saved_epochs_ = []

    def __call__(self, estimator, record):
        value = _monitored(record, self.monitor)
        sign = -1 if self.monitor == "validation_score" else 1
        if self.save_best_only and self.best_ is not None and value >= sign * self.best_:
            return False
        self.best_ = sign * value
        path = os.fspath(self.path).format(epoch=record["epoch"])
        if self.format == "skops":
            import skops.io
            skops.io.dump(estimator, path)
        else:
            with open(path, "wb") as file:
                pickle.dump(estimator, file)
        self.saved_epochs_.append(record["epoch"])
        return False


class EarlyStopping:
    """Stop when a score on held-out data stops improving, as Keras'
    EarlyStopping, with any scikit-learn scoring.

    Parameters
    ----------
    X_val, y_val : array-like
        The held-out data, as ``fit`` takes X and y.
    scoring : str, callable or None, default=None
        A scikit-learn scoring (``"neg_mean_absolute_error"``, ``"f1"``, a
        scorer...); None is the estimator's ``score`` (R^2 or accuracy).
        Greater is better.
    patience : int, default=10
        Epochs without an improvement of more than ``min_delta`` before
        stopping.
    min_delta : float, default=0.0
        The smallest change that counts as an improvement.
    restore_best_weights : bool, default=True
        When stopping, go back to the weights of the best epoch.

    Attributes
    ----------
    scores_ : list of float
        The score after each epoch.
    best_score_ : float
        The best of them.
    best_epoch_ : int
        The epoch it came from.
    stopped_epoch_ : int or None
        The epoch after which training stopped, None if it did not.
    """

    def __init__(self, X_val, y_val, *, scoring=None, patience=10, min_delta=0.0,
                 restore_best_weights=True):
        self.X_val = X_val
        self.y_val = y_val
        self.scoring = scoring
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.begin_fit()

    def begin_fit(self):
        """Forget the scores and the best weights."""
        self.scores_ = []
        self.best_score_ = -np.inf
        self.best_epoch_ = 0
        self.stopped_epoch_ = None
        self._best_params = None

    def __call__(self, estimator, record):
        score = float(check_scoring(estimator, scoring=self.scoring)(
            estimator, self.X_val, self.y_val))
        self.scores_.append(score)
        if score > self.best_score_ + self.min_delta or self._best_params is None:
            self.best_score_ = max(score, self.best_score_)
            self.best_epoch_ = record["epoch"]
            self._best_params = estimator._params.copy()
        if record["epoch"] - self.best_epoch_ < self.patience:
            return False
        if self.restore_best_weights:
            estimator._params[...] = self._best_params
        self.stopped_epoch_ = record["epoch"]
        return True


class _Schedule:
    """A learning-rate schedule: after each epoch, sets the rate of the next
    from ``learning_rate_init``, the epochs run and the record."""

    def __call__(self, estimator, record):
        _set_learning_rate(estimator, self._rate(estimator, record))
        return False


class StepLR(_Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs
    (PyTorch's StepLR), from ``learning_rate_init``.

    Parameters
    ----------
    step_size : int
        Epochs between two steps.
    gamma : float, default=0.1
        The factor of each step.
    """

    def __init__(self, step_size, *, gamma=0.1):
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {step_size}.")
        self.step_size = step_size
        self.gamma = gamma

    def _rate(self, estimator, record):
        return estimator.learning_rate_init * self.gamma ** (record["epoch"] // self.step_size)


class CosineAnnealingLR(_Schedule):
    """Anneal the learning rate from ``learning_rate_init`` to ``eta_min``
    along half a cosine over ``T_max`` epochs (PyTorch's CosineAnnealingLR,
    without restarts: ``eta_min`` after ``T_max``).

    Parameters
    ----------
    T_max : int
        Epochs of the half period.
    eta_min : float, default=0.0
        The final learning rate.
    """

    def __init__(self, T_max, *, eta_min=0.0):
        if T_max < 1:
            raise ValueError(f"T_max must be >= 1, got {T_max}.")
        self.T_max = T_max
        self.eta_min = eta_min

    def _rate(self, estimator, record):
        progress = min(record["epoch"], self.T_max) / self.T_max
        return self.eta_min + (estimator.learning_rate_init - self.eta_min) * (
            1 + math.cos(math.pi * progress)) / 2


class ReduceLROnPlateau(_Schedule):
    """Multiply the learning rate by ``factor`` when the monitored quantity
    has not improved for ``patience`` epochs (Keras' and PyTorch's
    ReduceLROnPlateau), for any solver.

    Parameters
    ----------
    monitor : {"loss", "validation_loss", "validation_score"}, default="loss"
        The quantity watched (a score is to increase, a loss to decrease).
    factor : float, default=0.1
        The factor of each reduction, in (0, 1).
    patience : int, default=10
        Epochs without improvement before a reduction.
    min_delta : float, default=1e-4
        The smallest relative improvement that counts (as PyTorch's
        ``threshold`` in its relative mode).
    cooldown : int, default=0
        Epochs after a reduction before counting again.
    min_lr : float, default=0.0
        The rate is never reduced below it.

    Attributes
    ----------
    reductions_ : list of int
        The epochs after which the rate was reduced.
    """

    def __init__(self, *, monitor="loss", factor=0.1, patience=10, min_delta=1e-4,
                 cooldown=0, min_lr=0.0):
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor}.")
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.begin_fit()

    def begin_fit(self):
        """Forget the best value, the waiting and the reductions."""
        self.reductions_ = []
        self._best = math.inf
        self._wait = 0
        self._cooling = 0

    def _rate(self, estimator, record):
        value = _monitored(record, self.monitor)
        rate = record["learning_rate"]
        if self._best == math.inf or value < self._best - self.min_delta * abs(self._best):
            self._best, self._wait = value, 0
        elif self._cooling > 0:
            self._cooling -= 1
        else:
            self._wait += 1
            if self._wait > self.patience - 1 and rate > self.min_lr:
                rate = max(rate * self.factor, self.min_lr)
                self.reductions_.append(record["epoch"])
                self._wait, self._cooling = 0, self.cooldown
        return rate
