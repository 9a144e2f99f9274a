"""LSTMRegressor and LSTMClassifier: validation, the fit loop, prediction."""

import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    unique_labels,
)
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from ._network import BINARY_LOG_LOSS, MULTI_LOG_LOSS, SQUARED_ERROR, Network
from ._optimizers import Optimizer
from ._validation import check_sequences

# Minibatch size of batch_size="auto", as Keras' default.
_AUTO_BATCH_SIZE = 32

_FIT_PARAMS_DOC = """
    hidden_layer_sizes : int or array-like of int, default=(32,)
        Units of each stacked LSTM layer, bottom first.

    solver : {"adam", "sgd", "rmsprop"}, default="adam"
        The optimizer: Adam (Kingma & Ba 2014), stochastic gradient descent
        with optional (Nesterov's) momentum, or RMSprop.

    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights (not the biases), as in
        scikit-learn's MLP: ``0.5 * alpha * ||W||^2 / batch_size`` is added to
        each minibatch's loss.

    batch_size : int or "auto", default="auto"
        Sequences per minibatch; "auto" is ``min(32, n_samples)``.

    learning_rate_init : float, default=1e-3
        The step size of the optimizer.

    max_iter : int, default=200
        Maximum number of epochs (passes over the training data).

    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialization and the shuffling. With an int,
        ``fit`` gives bit-identical weights for any number of threads.

    tol : float, default=1e-4
        Training stops when the loss has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs.

    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` before training stops.

    verbose : bool, default=False
        Print the loss after each epoch.

    warm_start : bool, default=False
        Start ``fit`` from the weights (and the optimizer state) of the
        previous call instead of new random weights.

    momentum : float, default=0.9
        Momentum of the "sgd" solver.

    nesterovs_momentum : bool, default=True
        Whether the "sgd" solver uses Nesterov's momentum.

    beta_1 : float, default=0.9
        Decay of Adam's first moment estimates.

    beta_2 : float, default=0.999
        Decay of Adam's second moment estimates.

    rho : float, default=0.9
        Decay of RMSprop's mean square estimates (Keras' ``rho``).

    epsilon : float, default=1e-8
        Numerical stability term of Adam and RMSprop.

    dtype : {"float32", "float64"}, default="float32"
        Precision of the weights and of all computation. float32 is faster;
        float64 is there for precise work and gradient checks.
"""

_FITTED_ATTRS_DOC = """
    loss_ : float
        The mean training loss of the last epoch.

    loss_curve_ : list of float
        The mean training loss of each epoch.

    best_loss_ : float
        The lowest value of ``loss_curve_``.

    n_iter_ : int
        Epochs run, over all calls to ``fit`` and ``partial_fit`` since the
        weights were initialized.

    t_ : int
        Training samples seen by the optimizer.

    n_features_in_ : int
        Features per timestep of the training sequences (1 for a 2D ``X``).

    lstm_weights_ : list of dict
        One dict per LSTM layer, bottom first, of arrays in gate order i, f, g,
        o (PyTorch's layout): ``"weight_ih"`` of shape (4 * units, n_inputs),
        ``"weight_hh"`` of shape (4 * units, units) and ``"bias"`` of shape
        (4 * units,). They are views of the model's parameters: writing to them
        changes the model.

    coefs_ : list of ndarray
        The weights of the output layer, ``coefs_[-1]`` of shape
        (units of the last LSTM layer, n_outputs), oriented as in scikit-learn's
        MLP. A view, like ``lstm_weights_``.

    intercepts_ : list of ndarray
        The biases of the output layer, ``intercepts_[-1]`` of shape
        (n_outputs,). A view, like ``lstm_weights_``.
"""


class BaseLSTM(BaseEstimator, metaclass=ABCMeta):
    """An LSTM network trained by minibatch gradient descent.

    Fitting and prediction run in the compiled engine; this class validates
    the data, owns the parameters and runs the epoch loop.
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "solver": [StrOptions({"adam", "sgd", "rmsprop"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "rho": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "dtype": [StrOptions({"float32", "float64"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(32,),
        *,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        n_iter_no_change=10,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        rho=0.9,
        epsilon=1e-8,
        dtype="float32",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.rho = rho
        self.epsilon = epsilon
        self.dtype = dtype

    # -- what subclasses define ------------------------------------------------

    @abstractmethod
    def _encode_targets(self, y, *, reset, classes=None):
        """Targets as a float array (n_samples, n_outputs) in the model dtype."""

    @abstractmethod
    def _loss_kind(self):
        """The engine's loss code for the output layer."""

    # -- fitted parameters -----------------------------------------------------

    @property
    def lstm_weights_(self):
        check_is_fitted(self, "_params")
        net = self._network
        return [
            {name: net.view(self._params, name, l)
             for name in ("weight_ih", "weight_hh", "bias")}
            for l in range(len(net.hidden_sizes))
        ]

    @property
    def coefs_(self):
        check_is_fitted(self, "_params")
        return [self._network.view(self._params, "weight", "out").T]

    @property
    def intercepts_(self):
        check_is_fitted(self, "_params")
        return [self._network.view(self._params, "bias", "out")]

    # -- fitting ---------------------------------------------------------------

    def _hidden_sizes(self):
        sizes = np.atleast_1d(np.asarray(self.hidden_layer_sizes))
        if sizes.ndim != 1 or sizes.size == 0 or not np.issubdtype(sizes.dtype, np.integer):
            raise ValueError("hidden_layer_sizes must be an int or a non-empty "
                             f"sequence of ints, got {self.hidden_layer_sizes!r}.")
        if np.any(sizes < 1):
            raise ValueError(f"hidden_layer_sizes must be >= 1, got {self.hidden_layer_sizes!r}.")
        return tuple(int(s) for s in sizes)

    def _fit(self, X, y, *, incremental, classes=None):
        hidden_sizes = self._hidden_sizes()
        fresh = (not hasattr(self, "_params")
                 or (not self.warm_start and not incremental))
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, "
                             "but the target y is None.")
        X, ndim = check_sequences(
            X, dtype=self.dtype, estimator=self,
            n_features=None if fresh else self.n_features_in_,
            n_timesteps_2d=None if fresh else self._n_timesteps_2d)
        Y = self._encode_targets(y, reset=fresh, classes=classes)
        check_consistent_length(X, Y)

        if fresh:
            self.n_features_in_ = X.shape[2]
            self._n_timesteps_2d = X.shape[1] if ndim == 2 else None
            self._network = Network(X.shape[2], hidden_sizes, Y.shape[1],
                                    self._loss_kind())
            self._random_state = check_random_state(self.random_state)
            self._params = self._network.init_params(self._random_state, self.dtype)
            self._optimizer = None
            self.n_iter_ = 0
            self.t_ = 0
            self.loss_curve_ = []
            self.best_loss_ = np.inf
            self._no_improvement_count = 0
        elif (hidden_sizes != self._network.hidden_sizes
              or np.dtype(self.dtype) != self._params.dtype):
            raise ValueError(
                "warm_start and partial_fit continue training the fitted network, "
                f"which has hidden_layer_sizes={self._network.hidden_sizes} and dtype="
                f"{self._params.dtype}; the parameters now ask for "
                f"hidden_layer_sizes={hidden_sizes} and dtype={self.dtype}.")

        if self._optimizer is None or self._optimizer.name != self.solver:
            self._optimizer = Optimizer(self.solver, self._network.n_params,
                                        self._params.dtype)
        self._optimizer.configure(
            learning_rate=self.learning_rate_init, momentum=self.momentum,
            nesterov=self.nesterovs_momentum, beta_1=self.beta_1,
            beta_2=self.beta_2, epsilon=self.epsilon, rho=self.rho)

        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(_AUTO_BATCH_SIZE, n_samples)
        else:
            if self.batch_size > n_samples and not incremental:
                warnings.warn(f"batch_size={self.batch_size} is larger than the "
                              f"{n_samples} samples; it is clipped to {n_samples}.")
            batch_size = min(self.batch_size, n_samples)

        for epoch in range(1 if incremental else self.max_iter):
            start = time.perf_counter()
            order = (self._random_state.permutation(n_samples) if self.shuffle
                     else np.arange(n_samples)).astype(np.intp)
            loss = self._network.train_epoch(self._params, X, Y, order, batch_size,
                                             self.alpha, self._optimizer)
            self.n_iter_ += 1
            self.t_ += n_samples
            self.loss_ = loss
            self.loss_curve_.append(loss)
            if self.verbose:
                print(f"Epoch {self.n_iter_}, loss = {loss:.8f}, "
                      f"{time.perf_counter() - start:.3f} s")
            if not np.isfinite(loss):
                raise ValueError(
                    f"Training diverged: the loss became {loss} at epoch "
                    f"{self.n_iter_}. Scale the inputs and targets, or lower "
                    f"learning_rate_init (now {self.learning_rate_init}).")
            if incremental:
                break  # one epoch, and no convergence warning
            if loss > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, loss)
            if self._no_improvement_count > self.n_iter_no_change:
                if self.verbose:
                    print(f"Training loss did not improve more than tol={self.tol} "
                          f"for {self.n_iter_no_change} consecutive epochs. Stopping.")
                break
        else:
            warnings.warn(
                f"Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.", ConvergenceWarning)
        self.best_loss_ = min(self.best_loss_, self.loss_)
        return self

    def _forward(self, X):
        """Validated X through the network: outputs before the link function."""
        check_is_fitted(self, "_params")
        X, _ = check_sequences(X, dtype=self._params.dtype, estimator=self,
                               n_features=self.n_features_in_,
                               n_timesteps_2d=self._n_timesteps_2d)
        return self._network.forward(self._params, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


class LSTMRegressor(RegressorMixin, BaseLSTM):
    __doc__ = f"""Long short-term memory regressor.

    A stack of LSTM layers reads each sequence; a linear output layer maps the
    last hidden state to the targets. Trained on the squared error.

    Parameters
    ----------
    {_FIT_PARAMS_DOC.strip()}

    Attributes
    ----------
    {_FITTED_ATTRS_DOC.strip()}

    See Also
    --------
    LSTMClassifier : The same network for classification.
    sklearn.neural_network.MLPRegressor : Where the parameter names come from.

    Notes
    -----
    ``X`` is a 3D array (n_samples, n_timesteps, n_features), or a 2D array
    (n_samples, n_timesteps) of univariate sequences. Sequences of another
    length than the training ones can be predicted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMRegressor
    >>> series = np.sin(np.arange(300) * 2 * np.pi / 50)
    >>> X = np.lib.stride_tricks.sliding_window_view(series[:-1], 10)
    >>> y = series[10:]
    >>> model = LSTMRegressor(hidden_layer_sizes=8, max_iter=60, random_state=0)
    >>> model.fit(X, y).score(X, y) > 0.95
    True
    """

    def _loss_kind(self):
        return SQUARED_ERROR

    def _encode_targets(self, y, *, reset, classes=None):
        y = check_array(y, ensure_2d=False, dtype=self.dtype, input_name="y",
                        estimator=self)
        if y.ndim not in (1, 2):
            raise ValueError(f"y must have shape (n_samples,) or (n_samples, "
                             f"n_outputs); got shape {y.shape}.")
        if reset:
            self._y_1d = y.ndim == 1
        Y = y.reshape(len(y), -1)
        if not reset and Y.shape[1] != self._network.n_outputs:
            raise ValueError(f"y has {Y.shape[1]} outputs, but the fitted model "
                             f"has {self._network.n_outputs}.")
        return np.ascontiguousarray(Y)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the model to sequences X and targets y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Training sequences; 2D means univariate.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.

        Returns
        -------
        self : LSTMRegressor
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y):
        """Run one epoch over (X, y), continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Training sequences.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.

        Returns
        -------
        self : LSTMRegressor
            The updated estimator.
        """
        return self._fit(X, y, incremental=True)

    def predict(self, X):
        """Predict targets for sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Sequences of any number of timesteps.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions (float64, whatever the model's dtype).
        """
        raw = self._forward(X).astype(np.float64, copy=False)
        return raw.ravel() if self._y_1d else raw

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class LSTMClassifier(ClassifierMixin, BaseLSTM):
    __doc__ = f"""Long short-term memory classifier.

    A stack of LSTM layers reads each sequence; an output layer maps the last
    hidden state to class probabilities: logistic for two classes, softmax
    for more. Trained on the log-loss (cross-entropy).

    Parameters
    ----------
    {_FIT_PARAMS_DOC.strip()}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    {_FITTED_ATTRS_DOC.strip()}

    See Also
    --------
    LSTMRegressor : The same network for regression.
    sklearn.neural_network.MLPClassifier : Where the parameter names come from.

    Notes
    -----
    ``X`` is a 3D array (n_samples, n_timesteps, n_features), or a 2D array
    (n_samples, n_timesteps) of univariate sequences. Labels may be of any
    type scikit-learn accepts (ints, strings, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 15, 2))
    >>> y = np.where(X[:, 0, 0] > 0, "up", "down")   # decided by the first step
    >>> clf = LSTMClassifier(hidden_layer_sizes=16, max_iter=50, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    def _loss_kind(self):
        return BINARY_LOG_LOSS if len(self.classes_) == 2 else MULTI_LOG_LOSS

    def _encode_targets(self, y, *, reset, classes=None):
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y", estimator=self)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.ndim != 1:
            raise ValueError(f"y must be a 1d array of class labels; got shape "
                             f"{y.shape} (multilabel targets are not supported).")
        check_classification_targets(y)
        if reset:
            binarizer = LabelBinarizer()
            binarizer.fit(y if classes is None else classes)
            if len(binarizer.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes, "
                    f"but the data contain only one class: {binarizer.classes_[0]!r}.")
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
        else:
            unseen = np.setdiff1d(unique_labels(y), self.classes_)
            if len(unseen):
                raise ValueError(f"y has classes {unseen} that are not in "
                                 f"classes_ {self.classes_}.")
        return np.ascontiguousarray(self._label_binarizer.transform(y), dtype=self.dtype)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the model to sequences X and class labels y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Training sequences; 2D means univariate.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : LSTMClassifier
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Run one epoch over (X, y), continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Training sequences.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call, as ``y`` may not
            hold all of them.

        Returns
        -------
        self : LSTMClassifier
            The updated estimator.
        """
        _check_partial_fit_first_call(self, classes)
        return self._fit(X, y, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities of sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Sequences of any number of timesteps.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        raw = self._forward(X).astype(np.float64)
        if raw.shape[1] == 1:
            p = expit(raw)
            return np.hstack([1 - p, p])
        return softmax(raw, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities of sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Sequences.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predict class labels of sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Sequences of any number of timesteps.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels.
        """
        raw = self._forward(X)
        if raw.shape[1] == 1:
            return self.classes_[(raw[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(raw, axis=1)]
