"""LSTMRegressor and LSTMClassifier: validation, the fit loop, prediction."""

import copy
import logging
import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from scipy.special import expit, softmax
from sklearn import __version__ as sklearn_version
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    unique_labels,
)
from sklearn.utils.validation import (
    _check_feature_names,
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from ._network import (
    ABSOLUTE_ERROR,
    ACTIVATIONS,
    BINARY_LOG_LOSS,
    GATE_ACTIVATIONS,
    HUBER,
    MULTI_LOG_LOSS,
    QUANTILE,
    REGRESSION_LOSSES,
    SQUARED_ERROR,
    Network,
    _SingleThreadedBLAS,
)
from ._optimizers import Optimizer
from ._set_output import SequenceTransformerMixin
from ._validation import (
    check_n_samples,
    check_sequences,
    check_step_targets,
    check_token_ids,
)
from .exceptions import InconsistentVersionWarning

# Minibatch size of batch_size="auto", as Keras' default.
_AUTO_BATCH_SIZE = 32
# Stopping with the training loss above this share of its first epoch's
# means stopping on the initial plateau: fit warns.
_PLATEAU_SHARE = 0.9
# Divergence (see BaseLSTM._check_divergence): an epoch's loss above this many
# times the reference loss (that of predicting zeros, or of the network before
# the call, whichever is larger) is an exploding loss; and a fit that ends
# above this many times the reference made the model worse than it started.
_EXPLODING_LOSS_FACTOR = 10
_FINAL_LOSS_FACTOR = 2
# fit warns when a feature or target has a root mean square above this, or
# all its values below the second (the gates saturate, or tol dwarfs the
# loss). Above the data of scikit-learn's estimator checks (inputs of mean
# 100, make_regression's targets of root mean square ~200) and of ordinary
# tables; the x1e4 inputs of issue 8 (R^2 0.12 against 0.80 scaled) warn.
_LARGE_SCALE = 1e3
_SMALL_SCALE = 1e-3
# Minibatches per pool in which sequences of different lengths are sorted by
# length (bucketing; see BaseLSTM._epoch_order).
_BUCKET_POOL = 50
# The "adaptive" schedule divides the learning rate by 5 until it falls below
# this, as scikit-learn's MLP does.
_ADAPTIVE_MIN_LEARNING_RATE = 1e-6


def _sklstm_version():
    """The installed sklstm version (the package is fully imported by the time
    a model is saved or loaded)."""
    from . import __version__
    return __version__


_PARAMS_DOC = """
    hidden_layer_sizes : int or array-like of int, default=(32,)
        Units of each stacked LSTM layer, bottom first.

    bidirectional : bool, default=False
        Each layer reads the sequence forwards and backwards, with weights of
        its own for each direction, and outputs both hidden states side by
        side. The head then sees the forward state after the last step and
        the backward state after the first.

    peephole : bool, default=False
        Peephole connections (Gers & Schmidhuber 2000): the input and forget
        gates see the previous cell state, the output gate the new one.

    dense_layer_sizes : int or array-like of int, default=()
        Fully connected layers between the LSTM and the output layer.

    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the dense layers (scikit-learn MLP's ``activation``).

    recurrent_activation : {"sigmoid", "hard_sigmoid"}, default="sigmoid"
        Activation of the input, forget and output gates (Keras'
        ``recurrent_activation``). "hard_sigmoid" is
        ``max(0, min(1, x / 6 + 1 / 2))``, as in Keras 3 and PyTorch.

    cell_activation : {"tanh", "relu", "identity", "logistic"}, default="tanh"
        Activation of the candidate values and of the cell state before the
        output gate (Keras' ``activation`` of an LSTM layer).

    return_sequences : bool, default=False
        Predict at every timestep (many-to-many, Keras' ``return_sequences``
        of the last layer) instead of once per sequence.

    embedding_dim : int or None, default=None
        Read ``X`` as integer token ids (one per timestep) and learn a vector
        of this size for each. The vocabulary is ``0 .. max id`` seen in fit;
        an id beyond it at predict is an error. Ids go up to ``2**24 - 1``.

    dropout : float, default=0.0
        Fraction of the units dropped between stacked layers and before the
        head during training, one mask per sequence (variational dropout).

    recurrent_dropout : float, default=0.0
        Fraction of the hidden state's units dropped in the recurrent
        connections during training, one mask per sequence (Gal & Ghahramani
        2016).

    clip_norm : float or None, default=5.0
        Rescale each minibatch gradient to at most this global L2 norm, so
        that long sequences cannot explode it. None disables clipping.

    solver : {"adam", "sgd", "rmsprop"}, default="adam"
        The optimizer: Adam (Kingma & Ba 2014), stochastic gradient descent
        with optional (Nesterov's) momentum, or RMSprop.

    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights (not the biases), as in
        scikit-learn's MLP: ``0.5 * alpha * ||W||^2 / w`` is added to each
        minibatch's loss, where ``w`` is the sum of its sample weights (its
        number of sequences without weights).

    batch_size : int or "auto", default="auto"
        Sequences per minibatch; "auto" is ``min(32, n_samples)``.

    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Schedule of the "sgd" solver, as in scikit-learn's MLP: constant,
        ``learning_rate_init / (t_ + 1) ** power_t`` after each epoch, or
        divided by 5 whenever ``n_iter_no_change`` epochs bring no improvement.

    learning_rate_init : float, default=1e-3
        The step size of the optimizer. Too large a step makes training
        diverge: when the loss becomes non-finite or explodes (10 times that
        of the untrained network or of predicting zeros), or a fit ends with
        it above twice that, ``fit`` and ``partial_fit`` raise a ValueError
        and leave the estimator as it was before the call.

    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.

    max_iter : int, default=200
        Maximum number of epochs (passes over the training data).

    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialization, the shuffling, the validation split
        and the dropout masks. With an int, ``fit`` gives bit-identical weights
        for any number of threads.

    tol : float or None, default=1e-4
        Training stops when the loss (or, with a validation set, the
        validation score) has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs. None disables the rule, as in
        scikit-learn's SGD estimators: ``fit`` runs exactly ``max_iter``
        epochs, without a convergence warning (Keras' ``epochs=max_iter``);
        early stopping then still keeps the weights of the best epoch, and
        the adaptive learning rate still slows down.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (or use
        ``X_val, y_val`` passed to ``fit``), stop when its score stops
        improving, and keep the weights of the best epoch.

    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.

    validation_holdout : {"random", "last"}, default="random"
        Which samples are held out: a random (for classifiers stratified)
        subset, or the last ones, for forecasting where a random split would
        let the model see the future.

    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` before training stops (as in
        scikit-learn's MLP). LSTMs often sit on a plateau near their initial
        loss for tens of epochs before they find long-range dependencies: on
        the UCR GunPoint data (150 steps) the default stopped on it at epoch
        19 (test accuracy 0.49), n_iter_no_change=50 with
        learning_rate_init=0.003 reached 0.94-0.97. ``fit`` warns when it
        stops with the loss still near its first value.

    verbose : bool or int, default=False
        Print a line per epoch, as Keras' ``verbose=1``: "Epoch i/N", the
        loss, the validation score and loss when there is a validation set,
        the epoch's time and an estimate of the time left; 2 or more also
        draws a progress bar within each epoch (the weights are the same). The lines also go
        to the "sklstm" logger at INFO level, whatever ``verbose``
        (``logging.getLogger("sklstm").setLevel(logging.INFO)`` with a
        handler shows them).

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

    n_jobs : int or None, default=None
        Threads of ``fit``, ``partial_fit``, ``predict``, ``predict_proba``,
        ``transform`` and ``score``, in scikit-learn's convention: None (and
        -1) is OpenMP's limit, which ``OMP_NUM_THREADS`` and threadpoolctl's
        ``threadpool_limits(user_api="openmp")`` set, at most the CPUs the
        process may use; ``-2`` all but one, and so on. The threads are an
        upper bound: a minibatch runs in parallel only when it is large enough,
        concurrent calls share the CPUs, and ``fit`` times serial and parallel
        minibatches and keeps the faster, so that on a busy machine extra
        threads cost little. Results are bit-identical for any value.
"""

_CLASS_WEIGHT_DOC = """
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn's linear
        models: ``{label: weight}``, or "balanced" for weights inversely
        proportional to the class frequencies. Multiplies ``sample_weight``.
"""

_LOSS_DOC = """
    loss : {"squared_error", "absolute_error", "huber", "quantile"}, \
            default="squared_error"
        The training loss of the error ``e = prediction - target``, averaged
        over the outputs, scikit-learn's names: "squared_error", ``e^2 / 2``
        (MLPRegressor's, half Keras' "mse"); "absolute_error", ``|e|``
        (Keras' "mae", PyTorch's L1Loss), for the conditional median;
        "huber", ``e^2 / 2`` within ``huber_delta`` and linear beyond
        (PyTorch's HuberLoss), robust to outliers; "quantile", the pinball
        loss of ``quantile``, for a conditional quantile. Continuing a fit
        (``warm_start``, ``partial_fit``) trains on the loss set then.

    quantile : float, default=None
        The quantile that ``loss="quantile"`` estimates, strictly between 0
        and 1 (0.9: 90 % of targets below the prediction), as in
        HistGradientBoostingRegressor; needed for that loss only.

    huber_delta : float, default=1.0
        Where the Huber loss turns from quadratic to linear, in the targets'
        units (PyTorch's ``delta``); used by ``loss="huber"`` only.
"""

_ATTRIBUTES_DOC = """
    loss_ : float
        The mean training loss of the last epoch, in scikit-learn MLP's
        convention: for ``LSTMRegressor`` with the default ``loss`` half the
        mean squared error, so ``2 * loss_`` is the mean squared error that
        Keras reports for ``loss="mse"`` (the other losses are as ``loss``
        defines them); for ``LSTMClassifier`` the mean log-loss. Both add the
        L2 penalty (see ``alpha``).

    loss_curve_ : list of float
        The mean training loss of each epoch, as ``loss_``: for
        ``LSTMRegressor``'s squared error, half the mean squared error, not
        the mean squared error.

    best_loss_ : float or None
        The lowest value of ``loss_curve_``; None with early stopping.

    validation_scores_ : list of float or None
        The score (R^2 or accuracy) on the validation set after each epoch,
        when there is one (early stopping or ``X_val``).

    validation_loss_curve_ : list of float or None
        The loss on the validation set after each epoch, when there is one
        (the loss of ``loss_curve_``, so half the mean squared error for
        ``LSTMRegressor``).

    best_validation_score_ : float or None
        The best of ``validation_scores_``; with early stopping, the weights
        are those of that epoch.

    n_iter_ : int
        Epochs run, over all calls to ``fit`` and ``partial_fit`` since the
        weights were initialized.

    t_ : int
        Training samples seen by the optimizer.

    n_features_in_ : int
        Number of features seen during fit. For a 2D ``X``, a table with one
        column per timestep (univariate sequences, e.g. a DataFrame of lags),
        it is the number of columns, as for every scikit-learn estimator:
        ``predict`` then takes 2D ``X`` of as many columns, and sequences of
        another length as a 3D ``X`` of one feature or as a list. For a 3D
        ``X`` (n_samples, n_timesteps, n_features) and for a list of
        sequences, it is the features per timestep (``n_timesteps_in_`` keeps
        the length), and sequences of any length can be predicted.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        The column names of a DataFrame ``X`` seen during fit, when they are
        all strings. Predicting with other names, or the same in another
        order, is an error (scikit-learn's).

    n_timesteps_in_ : int or None
        The length of the training sequences (the columns of a 2D ``X``),
        None when they differ.

    vocabulary_size_ : int
        With ``embedding_dim``, the number of token ids (largest id + 1).

    lstm_weights_ : list of list of dict
        ``lstm_weights_[layer][direction]`` (direction 0 forwards, 1
        backwards), dicts of arrays in gate order i, f, g, o (PyTorch's
        layout): ``"weight_ih"`` (4 * units, n_inputs), ``"weight_hh"``
        (4 * units, units), ``"bias"`` (4 * units,) and, with peepholes,
        ``"peephole"`` (3 * units,) for the i, f and o gates. Views of the
        model's parameters: writing to them changes the model.

    coefs_ : list of ndarray
        Weights of the dense layers, then of the output layer, each of shape
        (n_inputs, n_units) as in scikit-learn's MLP. Views, as above.

    intercepts_ : list of ndarray
        Biases of the dense layers, then of the output layer. Views.

    embedding_ : ndarray of shape (``vocabulary_size_``, embedding_dim)
        The token vectors, with ``embedding_dim``. A view.
"""


def _zero_output_loss(loss_kind, loss_param, Y, weights):
    """The mean loss of outputs that are all zero (before the link function)
    on targets Y, a row per output row: what a network predicting nothing
    scores, at least the loss of predicting the mean (squared error) or the
    class frequencies (log-loss) when the targets are centred."""
    if loss_kind in REGRESSION_LOSSES.values():
        a = np.abs(Y.astype(np.float64))
        per_element = {
            SQUARED_ERROR: lambda: 0.5 * a * a,
            ABSOLUTE_ERROR: lambda: a,
            HUBER: lambda: np.where(a <= loss_param, 0.5 * a * a,
                                    loss_param * (a - 0.5 * loss_param)),
            # Predicting 0 for target y costs q y above, (1 - q) |y| below.
            QUANTILE: lambda: np.where(Y >= 0, loss_param, 1 - loss_param) * a,
        }[loss_kind]()
        return float(np.average(per_element.mean(axis=1), weights=weights))
    if loss_kind == BINARY_LOG_LOSS:
        return Y.shape[1] * float(np.log(2))
    return float(np.log(Y.shape[1]))


_LOGGER = logging.getLogger("sklstm")
# Parts of an epoch between two updates of verbose=2's progress bar.
_PROGRESS_PARTS = 20


def _check_callbacks(callbacks):
    """`callbacks` as a list of callables (None: none; one callable: itself)."""
    if callbacks is None:
        return []
    if callable(callbacks):
        return [callbacks]
    callbacks = list(callbacks)
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"callbacks must be callables, called as callback(estimator, "
                            f"record) after each epoch; got {callback!r}.")
    return callbacks


def _rms_and_largest(values, weights=None, block=1 << 20):
    """Root mean square (weighted when `weights` is given) and largest
    magnitude of a 1D array, in float64 blocks: a feature column of a large X
    costs no float64 copy of the whole column (which made fit's memory grow
    with the data). No BLAS: np.dot of more than 10,000 values wakes
    OpenBLAS's threads, which then spin for tens of milliseconds on the CPUs
    the engine's threads are about to use (measured: a 2-thread fit of 256
    short sequences ran no faster than 1 thread)."""
    squares = total_weight = largest = 0.0
    for start in range(0, len(values), block):
        v = values[start:start + block].astype(np.float64)
        largest = max(largest, float(np.abs(v).max()))
        np.square(v, out=v)
        if weights is None:
            total_weight += len(v)
        else:
            w = np.asarray(weights[start:start + block], dtype=np.float64)
            v *= w
            total_weight += float(w.sum())
        squares += float(v.sum())
    return np.sqrt(squares / total_weight) if total_weight > 0 else 0.0, largest


class BaseLSTM(ClassNamePrefixFeaturesOutMixin, SequenceTransformerMixin, BaseEstimator,
               metaclass=ABCMeta):
    """An LSTM network trained by minibatch gradient descent.

    Fitting and prediction run in the compiled engine; this class validates
    the data, owns the parameters and runs the epoch loop. Like scikit-learn's
    LinearDiscriminantAnalysis, the predictors are transformers too:
    ``transform`` gives the LSTM's features, so that an LSTM can feed any
    scikit-learn model.
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "peephole": ["boolean"],
        "dense_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "recurrent_activation": [StrOptions(set(GATE_ACTIVATIONS))],
        "cell_activation": [StrOptions(set(ACTIVATIONS))],
        "return_sequences": ["boolean"],
        "embedding_dim": [Interval(Integral, 1, None, closed="left"), None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "recurrent_dropout": [Interval(Real, 0, 1, closed="left")],
        "clip_norm": [Interval(Real, 0, None, closed="neither"), None],
        "solver": [StrOptions({"adam", "sgd", "rmsprop"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "validation_holdout": [StrOptions({"random", "last"})],
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
        "n_jobs": [Interval(Integral, None, -1, closed="right"),
                   Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(32,),
        *,
        bidirectional=False,
        peephole=False,
        dense_layer_sizes=(),
        activation="relu",
        recurrent_activation="sigmoid",
        cell_activation="tanh",
        return_sequences=False,
        embedding_dim=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        clip_norm=5.0,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        validation_holdout="random",
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
        n_jobs=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.bidirectional = bidirectional
        self.peephole = peephole
        self.dense_layer_sizes = dense_layer_sizes
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        self.cell_activation = cell_activation
        self.return_sequences = return_sequences
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.clip_norm = clip_norm
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_holdout = validation_holdout
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
        self.n_jobs = n_jobs

    # -- what subclasses define ------------------------------------------------

    @abstractmethod
    def _encode_targets(self, y, *, reset, data, classes=None):
        """Targets of the sequences `data` as a C-contiguous float array in
        the model dtype, a row per sequence or, per step, a row per step
        (aligned with ``data.values``): (n_rows, n_outputs)."""

    @abstractmethod
    def _loss_kind(self):
        """The engine's loss code for the output layer."""

    def _loss_param(self):
        """The parameter of the loss (see Network); 0 when it has none."""
        return 0.0

    @abstractmethod
    def _class_weights(self, Y):
        """The class weight of each row of encoded targets Y, or None."""

    @abstractmethod
    def _score_rows(self, Y, raw, weights):
        """The estimator's score of outputs `raw` against targets Y, both a
        row per sequence or per step."""

    # -- fitted parameters -----------------------------------------------------

    @property
    def lstm_weights_(self):
        check_is_fitted(self, "_params")
        net = self._network
        names = ("weight_ih", "weight_hh", "bias") + (("peephole",) if net.peephole else ())
        return [
            [{name: net.view(self._params, name, l, d) for name in names}
             for d in range(net.n_directions)]
            for l in range(len(net.hidden_sizes))
        ]

    @property
    def coefs_(self):
        check_is_fitted(self, "_params")
        net = self._network
        return ([net.view(self._params, "dense_weight", j).T
                 for j in range(len(net.dense_sizes))]
                + [net.view(self._params, "weight", "out").T])

    @property
    def intercepts_(self):
        check_is_fitted(self, "_params")
        net = self._network
        return ([net.view(self._params, "dense_bias", j)
                 for j in range(len(net.dense_sizes))]
                + [net.view(self._params, "bias", "out")])

    @property
    def embedding_(self):
        check_is_fitted(self, "_params")
        if not self._network.has("embedding"):
            raise AttributeError("embedding_ exists with embedding_dim only.")
        return self._network.view(self._params, "embedding")

    @property
    def _n_features_out(self):
        """Width of ``transform``'s output (for get_feature_names_out)."""
        check_is_fitted(self, "_params")
        return self._network.n_features_out

    # -- fitting ---------------------------------------------------------------

    def _sizes(self, name, value, allow_empty):
        sizes = np.atleast_1d(np.asarray(value))
        if sizes.size == 0 and allow_empty:
            return ()
        if sizes.ndim != 1 or sizes.size == 0 or not np.issubdtype(sizes.dtype, np.integer):
            raise ValueError(f"{name} must be an int or a sequence of ints, got {value!r}.")
        if np.any(sizes < 1):
            raise ValueError(f"{name} must be >= 1, got {value!r}.")
        return tuple(int(s) for s in sizes)

    def _architecture(self):
        """The parameters that shape the network; warm starts must keep them."""
        return dict(
            hidden_layer_sizes=self._sizes("hidden_layer_sizes", self.hidden_layer_sizes,
                                           False),
            bidirectional=self.bidirectional, peephole=self.peephole,
            dense_layer_sizes=self._sizes("dense_layer_sizes", self.dense_layer_sizes,
                                          True),
            activation=self.activation, recurrent_activation=self.recurrent_activation,
            cell_activation=self.cell_activation, return_sequences=self.return_sequences,
            embedding_dim=self.embedding_dim, dtype=self.dtype)

    def _check_X(self, X, *, reset, y=None):
        """Validated sequences (SequenceData) in the model dtype, checked
        against the samples of `y` when given; sets the input attributes when
        `reset`, checks X against them otherwise."""
        # Arrays and lists have no column names: skip sklearn's check of them
        # (~30 us, felt when predicting one sequence at a time) unless fit saw
        # names, for its warning.
        if (reset or hasattr(self, "feature_names_in_")
                or not isinstance(X, (np.ndarray, list, tuple))):
            _check_feature_names(self, X, reset=reset)
        dtype = self.dtype if reset else self._params.dtype
        data, ndim = check_sequences(
            X, dtype=dtype, estimator=self,
            n_features=None if reset else self._network.n_inputs,
            n_timesteps_2d=None if reset else self._n_timesteps_2d)
        if y is not None:
            check_n_samples(data, ndim, y)
        takes_tokens = self.embedding_dim if reset else self._network.embedding_dim
        if takes_tokens:
            vocabulary = check_token_ids(
                data, estimator=self,
                vocabulary_size=None if reset else self.vocabulary_size_,
                embedding_dim=takes_tokens)
            if reset:
                self.vocabulary_size_ = vocabulary
        if reset:
            one_length = np.all(data.lengths == data.lengths[0])
            self.n_timesteps_in_ = int(data.lengths[0]) if one_length else None
            # The columns a 2D X must have at predict (read by forecast and
            # interop too); None for 3D and ragged X.
            self._n_timesteps_2d = self.n_timesteps_in_ if ndim == 2 else None
            # The rule of the n_features_in_ attribute's docstring.
            self.n_features_in_ = self._n_timesteps_2d or data.n_features
        return data

    def _row_weights(self, sample_weight, Y, data):
        """One weight per output row (per sequence, or per step) from
        sample_weight and class_weight; None when all are 1."""
        class_weights = self._class_weights(Y)
        if sample_weight is None and class_weights is None:
            return None
        # Negative weights would turn descent into ascent on their samples, and
        # all-zero weights leave nothing to learn: both are errors.
        sw = _check_sample_weight(sample_weight, np.empty(data.n_samples),
                                  dtype=np.float64, ensure_non_negative=True)
        if self.return_sequences:
            sw = np.repeat(sw, data.lengths)
        if class_weights is not None:
            sw = sw * class_weights
            if not sw.any():
                raise ValueError("sample_weight times class_weight is zero for every "
                                 "sample: there is nothing to learn from.")
        return np.ascontiguousarray(sw, dtype=self.dtype)

    def _warn_if_far_from_unit_scale(self, data, Y, weights):
        """Warn when a feature (or, for regression, a target) is far from unit
        scale, which LSTMs train badly on: large inputs saturate the gates,
        large targets need output weights that take many epochs to grow, tiny
        ones give losses below tol."""
        row_weights = weights  # per step of X with return_sequences
        if weights is not None and not self.return_sequences:
            row_weights = np.repeat(weights, data.lengths)
        columns = [] if self.embedding_dim else [
            (f"Feature {j} of X", data.values[:, j], row_weights)
            for j in range(data.n_features)]
        if not isinstance(self, ClassifierMixin):
            columns += [(f"Target {k} of y" if Y.shape[1] > 1 else "y", Y[:, k], weights)
                        for k in range(Y.shape[1])]
        for name, values, w in columns:
            rms, largest = _rms_and_largest(values, w)
            if not (rms > _LARGE_SCALE or 0 < largest < _SMALL_SCALE):
                continue
            remedy = ("scale the inputs, e.g. make_pipeline(SequenceScaler(), "
                      f"{type(self).__name__}())" if name.startswith("Feature") else
                      "scale the targets, e.g. TransformedTargetRegressor("
                      "regressor=LSTMRegressor(), transformer=StandardScaler())")
            warnings.warn(
                f"{name} has values of scale {rms:.3g} (root mean square; largest "
                f"{largest:.3g}): LSTMs train best on data of unit scale, so {remedy}.",
                UserWarning)
            return

    def _target_rows(self, data, indices):
        """The rows of targets belonging to sequences `indices`."""
        if not self.return_sequences:
            return indices
        return np.concatenate([np.arange(data.starts[i], data.starts[i] + data.lengths[i])
                               for i in indices])

    def _validation_data(self, data, Y, weights, X_val, y_val, early_stopping):
        """The validation set, if any: (sequences, targets, row weights) from
        X_val and y_val, or held out of the training data for early stopping
        (which then shrinks). Returns the training data and the validation
        set or None."""
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ValueError("Pass both X_val and y_val, or neither.")
            data_val = self._check_X(X_val, reset=False, y=y_val)
            Y_val = self._encode_targets(y_val, reset=False, data=data_val)
            return data, Y, weights, (data_val, Y_val, None)
        if not early_stopping:
            return data, Y, weights, None
        n = data.n_samples
        n_val = int(np.ceil(self.validation_fraction * n))
        if n - n_val < 1:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves no sample "
                f"to train on out of {n}.")
        if self.validation_holdout == "last":
            train, val = np.arange(n - n_val), np.arange(n - n_val, n)
        else:
            stratify = (self._class_indices(Y, 0.5)
                        if isinstance(self, ClassifierMixin) and not self.return_sequences
                        else None)
            train, val = train_test_split(np.arange(n), test_size=n_val,
                                          random_state=self._random_state,
                                          stratify=stratify)

        def part(indices):
            rows = self._target_rows(data, indices)
            return (data.take(indices), np.ascontiguousarray(Y[rows]),
                    None if weights is None else np.ascontiguousarray(weights[rows]))

        return (*part(train), part(val))

    def _initialize(self, data, Y, architecture):
        """New random weights and empty training records."""
        self._fitted_architecture = architecture
        self._random_state = check_random_state(self.random_state)
        self._network = Network(
            data.n_features, architecture["hidden_layer_sizes"], Y.shape[1],
            self._loss_kind(), bidirectional=self.bidirectional,
            peephole=self.peephole, dense_sizes=architecture["dense_layer_sizes"],
            dense_activation=self.activation,
            gate_activation=self.recurrent_activation,
            cell_activation=self.cell_activation, per_step=self.return_sequences,
            vocab_size=self.vocabulary_size_ if self.embedding_dim else 0,
            embedding_dim=self.embedding_dim or 0, loss_param=self._loss_param())
        # numpy's BLAS threads make the QR of the recurrent weights take ~1 s
        # instead of ~1 ms when other processes hold the cores (measured).
        with _SingleThreadedBLAS():
            self._params = self._network.init_params(self._random_state, self.dtype)
        self._optimizer = None
        self._learning_rate_scheduled = False
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.best_loss_ = np.inf
        self.validation_scores_ = None
        self.validation_loss_curve_ = None
        self.best_validation_score_ = None
        self._no_improvement_count = 0

    def _prepare_optimizer(self):
        """Keep the optimizer's state unless the solver changed; take the
        current hyper-parameters."""
        new = self._optimizer is None or self._optimizer.name != self.solver
        if new:
            self._optimizer = Optimizer(self.solver, self._network.n_params,
                                        self._params.dtype)
        self._optimizer.configure(
            momentum=self.momentum, nesterov=self.nesterovs_momentum,
            beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, rho=self.rho)
        # Only SGD's invscaling and adaptive schedules, and the schedules of
        # sklstm.callbacks, move the rate, and carry it over between calls.
        scheduled = getattr(self, "_learning_rate_scheduled", False)
        if new or (not scheduled and (self.learning_rate == "constant"
                                      or self.solver != "sgd")):
            self._optimizer.learning_rate = self.learning_rate_init

    def _batch_size(self, n_samples, incremental):
        if self.batch_size == "auto":
            return min(_AUTO_BATCH_SIZE, n_samples)
        if self.batch_size > n_samples and not incremental:
            warnings.warn(f"batch_size={self.batch_size} is larger than the "
                          f"{n_samples} training samples; it is clipped to {n_samples}.")
        return min(self.batch_size, n_samples)

    def _epoch_order(self, data, batch_size):
        """The order of the samples in an epoch: shuffled (unless shuffle is
        off), and for sequences of different lengths bucketed, as Keras'
        bucket_by_sequence_length and torchtext's BucketIterator do: sorted
        by length within pools of _BUCKET_POOL minibatches, the minibatches
        then shuffled. A minibatch thus holds sequences of similar lengths
        and the engine walks few steps beyond each one's end."""
        n = data.n_samples
        if not self.shuffle:
            return np.arange(n, dtype=np.intp)
        order = self._random_state.permutation(n)
        if np.all(data.lengths == data.lengths[0]):
            return order.astype(np.intp)
        pool = _BUCKET_POOL * batch_size
        for start in range(0, n, pool):
            part = order[start:start + pool]
            order[start:start + pool] = part[np.argsort(-data.lengths[part],
                                                         kind="stable")]
        batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
        shuffled = self._random_state.permutation(len(batches))
        return np.concatenate([batches[i] for i in shuffled]).astype(np.intp)

    def _epoch(self, data, Y, weights, batch_size, validation, reference, max_epochs):
        """One epoch of training, its records, and the schedule's step.
        `reference` is the loss against which an exploding loss is judged, or
        None on a call's first epoch, whose first minibatch (computed before any
        update) then gives it; `max_epochs` the call's epochs, for the
        progress report. Returns the reference and the epoch's record (see
        sklstm.callbacks)."""
        start = time.perf_counter()
        learning_rate = self._optimizer.learning_rate
        n_samples = data.n_samples
        order = self._epoch_order(data, batch_size)
        seed = int(self._random_state.randint(0, np.iinfo(np.int64).max, dtype=np.int64))
        # verbose >= 2 shows a progress bar within the epoch: the engine runs
        # the epoch's minibatches in a few parts, in the same order, with the
        # same dropout masks (drawn per sample and seed) and optimizer steps,
        # hence the same weights; otherwise the whole epoch is one call.
        parts = _PROGRESS_PARTS if self.verbose >= 2 else 1
        n_batches = -(-n_samples // batch_size)
        bounds = [min(n_samples, batch_size * (n_batches * i // parts))
                  for i in range(parts + 1)]
        total, first_loss = 0.0, None
        for i, (begin, end) in enumerate(zip(bounds, bounds[1:])):
            if end == begin:
                continue
            loss, first = self._network.train_epoch(
                self._params, data, Y, weights, order[begin:end], batch_size,
                self._optimizer, alpha=self.alpha, clip_norm=self.clip_norm or 0.0,
                dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
                seed=seed, n_jobs=self.n_jobs)
            total += loss * (end - begin)
            first_loss = first if first_loss is None else first_loss
            if parts > 1:
                done = (i + 1) / parts
                bar = "=" * int(30 * done)
                print(f"\rEpoch {self.n_iter_ + 1 - self._call_start_epoch}: "
                      f"[{bar:<30}] {100 * done:3.0f} % {time.perf_counter() - start:.1f} s",
                      end="", flush=True)
        if parts > 1:
            print("\r", end="")
        loss = total / n_samples
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_ = loss
        self.loss_curve_.append(loss)
        if reference is None:
            reference = max(_zero_output_loss(self._network.loss_kind,
                                              self._network.loss_param, Y, weights),
                            first_loss if np.isfinite(first_loss) else 0.0)
        self._check_divergence(loss, reference, _EXPLODING_LOSS_FACTOR)
        record = {"epoch": self.n_iter_, "loss": loss, "validation_score": None,
                  "validation_loss": None, "learning_rate": learning_rate}
        if validation is not None:
            data_val, Y_val, w_val = validation
            raw = self._network.forward(self._params, data_val,
                                        n_jobs=self.n_jobs).astype(np.float64)
            self.validation_scores_.append(self._score_rows(Y_val, raw, w_val))
            self.validation_loss_curve_.append(self._network.loss(
                self._params, data_val, Y_val, w_val, alpha=self.alpha,
                n_jobs=self.n_jobs))
            record["validation_score"] = self.validation_scores_[-1]
            record["validation_loss"] = self.validation_loss_curve_[-1]
        record["seconds"] = time.perf_counter() - start
        self._report(record, max_epochs)
        if self.learning_rate == "invscaling" and self.solver == "sgd":
            self._optimizer.learning_rate = (
                self.learning_rate_init / (self.t_ + 1) ** self.power_t)
        return reference, record

    def _report(self, record, max_epochs):
        """The epoch's line: printed with ``verbose``, and logged at INFO level
        to the "sklstm" logger, with the epoch count of the call and an
        estimate of the time left."""
        if not (self.verbose or _LOGGER.isEnabledFor(logging.INFO)):
            return
        done = self.n_iter_ - self._call_start_epoch
        message = f"Epoch {done}/{max_epochs} - loss {record['loss']:.6g}"
        if record["validation_score"] is not None:
            message += (f" - validation score {record['validation_score']:.6g}"
                        f" - validation loss {record['validation_loss']:.6g}")
        elapsed = time.perf_counter() - self._call_start_time
        message += f" - {record['seconds']:.3f} s"
        if done < max_epochs:
            message += f" - ETA {elapsed / done * (max_epochs - done):.1f} s"
        if self.verbose:
            print(message)
        _LOGGER.info(message)

    def _check_divergence(self, loss, reference, factor, *, final=False):
        """Raise when training diverged: a non-finite loss or parameter, or a
        loss above `factor` times `reference` (the larger of the loss of
        predicting zeros and the network's loss at the start of the call).
        Measured: the 33,660 epochs of the test suite at learning rates up to
        0.1 stay within 1.11 times the reference, the demos within 0.91;
        the fits at learning rates 10 and 1e3 of
        benchmarks/divergence_sweep.py peak at 3.8 to 1e8 times it."""
        finite = np.isfinite(loss) and np.isfinite(self._params).all()
        if finite and not loss > factor * reference:
            return
        if not finite:
            what = f"the loss became {loss:.4g}" if not np.isfinite(loss) else (
                "the weights became non-finite")
        elif final:
            what = (f"the model ended with a loss of {loss:.4g}, {loss / reference:.3g} "
                    f"times that of the untrained network or of predicting zeros "
                    f"({reference:.4g})")
        else:
            what = (f"the loss exploded to {loss:.4g}, {loss / reference:.3g} times "
                    f"that of the untrained network or of predicting zeros "
                    f"({reference:.4g})")
        raise ValueError(
            f"Training diverged: {what} at epoch {self.n_iter_}. Lower "
            f"learning_rate_init (now {self.learning_rate_init}), scale the inputs "
            f"(SequenceScaler) and targets (TransformedTargetRegressor with "
            f"StandardScaler), or clip the gradient (clip_norm, now {self.clip_norm}). "
            f"The estimator is left as it was before this call.")

    def _require_y(self, y):
        # check_array would read None as NaN.
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, "
                             "but the target y is None.")

    def _fit(self, X, y, *, incremental, sample_weight=None, classes=None,
             X_val=None, y_val=None, callbacks=None):
        self._require_y(y)
        # A call that fails, on bad input, divergence or Ctrl-C before training,
        # leaves the estimator as it was; Ctrl-C during training keeps what was
        # trained (fit warns, partial_fit raises it on to the caller's loop).
        saved = self._fitted_state()
        try:
            interrupted = self._train(
                X, y, incremental=incremental, sample_weight=sample_weight,
                classes=classes, X_val=X_val, y_val=y_val, callbacks=callbacks)
        except BaseException:
            self._restore(saved)
            raise
        if interrupted:
            raise KeyboardInterrupt
        return self

    def _fitted_state(self):
        """A copy of everything fit sets: the attributes named with a leading or
        trailing underscore, as scikit-learn's conventions name them. Training
        replaces attributes, or changes arrays, lists, the optimizer and the
        random state in place: those are copied, the rest is shared (a deep
        copy took a sixth of a small partial_fit)."""
        state = {key: value for key, value in vars(self).items()
                 if key.startswith("_") or key.endswith("_")}
        for key, value in state.items():
            if isinstance(value, (np.ndarray, list)):
                state[key] = value.copy()
        if state.get("_optimizer") is not None:
            optimizer = state["_optimizer"] = copy.copy(state["_optimizer"])
            optimizer.state_1 = optimizer.state_1.copy()
            optimizer.state_2 = optimizer.state_2.copy()
            optimizer.step = optimizer.step.copy()
        if "_random_state" in state:
            state["_random_state"] = (state["_random_state"],
                                      state["_random_state"].get_state())
        return state

    def _use_current_loss(self):
        """Continue training on the loss the parameters name now: the loss,
        like alpha or the learning rate, is the objective of the next epochs,
        not part of the fitted network's shape."""
        kind, param = self._loss_kind(), self._loss_param()
        if (kind, param) != (self._network.loss_kind, self._network.loss_param):
            policy = self._network._thread_policy()
            self._network = Network(**{**self._network.config(), "loss": kind,
                                       "loss_param": param})
            self._network._policy = policy

    def _restore(self, state):
        """Back to a state from _fitted_state."""
        for key in [key for key in vars(self) if key.startswith("_") or key.endswith("_")]:
            delattr(self, key)
        vars(self).update(state)
        if "_random_state" in state:
            self._random_state, random_state = state["_random_state"]
            self._random_state.set_state(random_state)

    def _train(self, X, y, *, incremental, sample_weight, classes, X_val, y_val,
               callbacks):
        """_fit's work: validate everything, then train. Returns whether
        partial_fit was interrupted by Ctrl-C."""
        callbacks = _check_callbacks(callbacks)
        architecture = self._architecture()
        fresh = not hasattr(self, "_params") or (not self.warm_start and not incremental)
        if not fresh and architecture != self._fitted_architecture:
            changed = sorted(k for k in architecture
                             if architecture[k] != self._fitted_architecture[k])
            raise ValueError(
                "warm_start and partial_fit continue training the fitted network; "
                f"its architecture parameters have changed since: {changed}.")
        data = self._check_X(X, reset=fresh, y=y)
        Y = self._encode_targets(y, reset=fresh, data=data, classes=classes)
        weights = self._row_weights(sample_weight, Y, data)
        if fresh:
            self._warn_if_far_from_unit_scale(data, Y, weights)
            self._initialize(data, Y, architecture)
        else:
            self._use_current_loss()
        self._prepare_optimizer()

        early_stopping = self.early_stopping and not incremental
        data, Y, weights, validation = self._validation_data(
            data, Y, weights, X_val, y_val, early_stopping)
        if validation is not None and self.validation_scores_ is None:
            self.validation_scores_ = []
            self.validation_loss_curve_ = []
            self.best_validation_score_ = -np.inf
        if early_stopping:
            self.best_loss_ = None
            self._best_params = self._params.copy()
            self._best_params_loss = np.inf
        elif self.best_loss_ is None:
            # After a fit with early stopping, which tracks no training loss.
            self.best_loss_ = np.inf
        batch_size = self._batch_size(data.n_samples, incremental)

        stopped = incremental  # one epoch of partial_fit needs no convergence
        interrupted = False
        reference = None
        max_epochs = 1 if incremental else self.max_iter
        self._call_start_epoch, self._call_start_time = self.n_iter_, time.perf_counter()
        if not incremental:
            # The state of sklstm.callbacks' callbacks belongs to one fit: a
            # search that passes the same ones to every fit starts each
            # afresh (partial_fit calls carry it on).
            for callback in callbacks:
                getattr(callback, "begin_fit", lambda: None)()
        try:
            for _ in range(max_epochs):
                reference, record = self._epoch(data, Y, weights, batch_size, validation,
                                                reference, max_epochs)
                if not incremental:
                    self._update_no_improvement_count(early_stopping)
                # Every callback sees every epoch, whichever asks to stop.
                if any([callback(self, record) for callback in callbacks]):
                    stopped = True
                    break
                if incremental:
                    break
                if (self._no_improvement_count > self.n_iter_no_change
                        and self._stop_or_slow_down()):
                    stopped = True
                    break
            # Without a stopping rule, max_iter epochs is the plan, not a
            # failure to converge.
            stopped = stopped or self.tol is None
        except KeyboardInterrupt:
            if not np.isfinite(self._params).all():
                raise
            interrupted = incremental
            if not incremental:
                warnings.warn("Training interrupted by user.")
            stopped = True
        if not stopped:
            warnings.warn(
                f"Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.", ConvergenceWarning)
        if early_stopping:
            self._params[...] = self._best_params
            kept_loss = self._best_params_loss
            del self._best_params, self._best_params_loss
        else:
            kept_loss = self.loss_curve_[-1] if self.loss_curve_ else np.nan
            if self.loss_curve_:
                self.best_loss_ = min(self.best_loss_, self.loss_)
        if not incremental and reference is not None and np.isfinite(kept_loss):
            self._check_divergence(kept_loss, reference, _FINAL_LOSS_FACTOR, final=True)
        return interrupted

    def _update_no_improvement_count(self, early_stopping):
        """After an epoch, as scikit-learn's MLP: count the epochs without an
        improvement of tol of the validation score (early stopping) or of the
        training loss, and keep the best weights seen by early stopping.
        Without a stopping rule (tol=None) an improvement is any at all, and
        an equal value is none (the count then only drives the adaptive
        learning rate)."""
        def stalled(value, best):
            """Whether `value` is no improvement on `best` (lower is better:
            scores come negated)."""
            return value >= best if self.tol is None else value > best - self.tol

        if self.validation_scores_:
            score = self.validation_scores_[-1]
            if early_stopping:
                if stalled(-score, -self.best_validation_score_):
                    self._no_improvement_count += 1
                else:
                    self._no_improvement_count = 0
                if score > self.best_validation_score_:
                    self._best_params = self._params.copy()
                    self._best_params_loss = self.loss_curve_[-1]
            self.best_validation_score_ = max(self.best_validation_score_, score)
            if early_stopping:
                return
        loss = self.loss_curve_[-1]
        if stalled(loss, self.best_loss_):
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        self.best_loss_ = min(self.best_loss_, loss)

    def _stop_or_slow_down(self):
        """After n_iter_no_change epochs without improvement: stop, or with the
        adaptive SGD schedule divide the learning rate by 5 and go on; with
        tol=None, only the latter. Returns whether training stops."""
        message = ("Validation score" if self.early_stopping else "Training loss")
        message += (f" did not improve more than tol={self.tol or 0} for "
                    f"{self.n_iter_no_change} consecutive epochs.")
        adaptive = self.solver == "sgd" and self.learning_rate == "adaptive"
        if adaptive and self._optimizer.learning_rate > _ADAPTIVE_MIN_LEARNING_RATE:
            self._optimizer.learning_rate /= 5
            self._no_improvement_count = 0
            if self.verbose:
                print(f"{message} Setting learning rate to "
                      f"{self._optimizer.learning_rate:f}")
            return False
        if self.tol is None:
            self._no_improvement_count = 0
            return False
        if self.verbose:
            print(message + " Stopping.")
        first, last = self.loss_curve_[0], self.loss_curve_[-1]
        best_epoch = int(np.argmin(self.loss_curve_))
        best = self.loss_curve_[best_epoch]
        if last > _PLATEAU_SHARE * first and best <= _PLATEAU_SHARE * first:
            # It learned, then lost it: not a plateau, an unstable end.
            warnings.warn(
                f"Training stopped after {len(self.loss_curve_)} epochs with the loss "
                f"({last:.4g}) back near or above its first value ({first:.4g}), "
                f"after reaching {best:.4g} at epoch {best_epoch + 1}: the model keeps "
                f"the last epoch's weights. Try a lower learning_rate_init (now "
                f"{self.learning_rate_init}), or early_stopping=True, which keeps the "
                f"weights of the best epoch on held-out data.", ConvergenceWarning)
        elif last > _PLATEAU_SHARE * first:
            warnings.warn(
                f"Training stopped after {len(self.loss_curve_)} epochs with the loss "
                f"({last:.4g}) still near its first value ({first:.4g}). LSTMs often "
                f"sit on a plateau for tens of epochs before they find long-range "
                f"dependencies: try a larger n_iter_no_change (now "
                f"{self.n_iter_no_change}), e.g. 50.", ConvergenceWarning)
        return True

    # -- prediction ------------------------------------------------------------

    def _forward(self, X, y=None):
        """Validated X (checked against the samples of `y` when given) through
        the network: the sequences and the outputs before the link function, a
        row per sequence or per step."""
        check_is_fitted(self, "_params")
        data = self._check_X(X, reset=False, y=y)
        raw = self._network.forward(self._params, data,
                                    n_jobs=self.n_jobs).astype(np.float64)
        self._check_finite_outputs(raw, data)
        return data, raw

    def _per_sequence(self, data, rows):
        """Rows as the caller's sequences: as they are (a row per sequence),
        or per step cut back into (n, T, ...) or a list for ragged X."""
        return data.split(rows) if self._per_step(reset=False) else rows

    def _per_step(self, *, reset):
        """Whether targets and outputs are per timestep: ``return_sequences``
        when fitting anew, the fitted network's otherwise (a ``set_params``
        after fit takes effect at the next fit, as for any estimator)."""
        return self.return_sequences if reset else self._network.per_step

    def _check_finite_outputs(self, rows, data):
        """Raise ValueError when finite inputs overflowed the network (an
        unbounded cell or dense activation fed huge values)."""
        if not np.isfinite(rows).all():
            largest = float(np.max(np.abs(data.values)))
            raise ValueError(
                f"The network's outputs overflowed to infinity or NaN: the inputs are "
                f"too large (largest |X| = {largest:.3g}) for "
                f"cell_activation={self._network.cell_activation!r}. Scale them, e.g. "
                f"with sklstm.preprocessing.SequenceScaler.")

    def score(self, X, y, sample_weight=None):
        """R^2 (regressor) or accuracy (classifier) of the predictions for X;
        with ``return_sequences``, over every step.

        Parameters
        ----------
        X : array-like or list of array-like
            Sequences.
        y : array-like or list of array-like
            True targets, shaped as for ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (each step of a sequence takes its weight).

        Returns
        -------
        score : float
        """
        self._require_y(y)
        data, raw = self._forward(X, y)
        Y = self._encode_targets(y, reset=False, data=data)
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, np.empty(data.n_samples),
                                           dtype=np.float64)
            if self._per_step(reset=False):
                weights = np.repeat(weights, data.lengths)
        return self._score_rows(Y, raw, weights)

    def transform(self, X):
        """The LSTM's features of sequences X, for any scikit-learn model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of array-like
            Sequences.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out)
            What the head reads: the final hidden state of the top LSTM layer
            (both directions' when bidirectional). With ``return_sequences``,
            its hidden state at every step: (n_samples, n_timesteps,
            n_features_out), or a list of (n_timesteps_i, n_features_out).
            Under ``set_output(transform="pandas")`` (or "polars") the 2D
            features are a DataFrame with ``get_feature_names_out()``
            columns; 3D arrays and lists stay as they are.
        """
        check_is_fitted(self, "_params")
        data = self._check_X(X, reset=False)
        rows = self._network.features(self._params, data,
                                      n_jobs=self.n_jobs).astype(np.float64)
        self._check_finite_outputs(rows, data)
        return self._per_sequence(data, rows)

    # -- persistence -----------------------------------------------------------

    def __getstate__(self):
        """The state pickle and skops save: the attributes, with the network as
        its constructor arguments and the optimizer as its arrays and
        hyper-parameters (plain values only, so that skops needs to trust no
        type beyond the estimator's), and the sklstm and scikit-learn
        versions."""
        state = dict(super().__getstate__())  # not the instance's own __dict__
        if "_network" in state:
            state["_network"] = self._network.config()
        if state.get("_optimizer") is not None:
            state["_optimizer"] = self._optimizer.state()
        state.update(_sklstm_version=_sklstm_version(), _sklearn_version=sklearn_version)
        return state

    def __setstate__(self, state):
        """Restore a state of ``__getstate__`` (pickle and skops call it) after
        checking that its parts agree with one another, as the engine would
        otherwise read and write out of bounds: a ValueError names what
        disagrees. Warns (InconsistentVersionWarning) when the state comes
        from other versions of sklstm or scikit-learn."""
        state = dict(state)
        # Models saved before n_jobs existed run with the default threads.
        state.setdefault("n_jobs", None)
        versions = (state.pop("_sklstm_version", "unknown"),
                    state.pop("_sklearn_version", "unknown"))
        if versions != (_sklstm_version(), sklearn_version):
            warnings.warn(InconsistentVersionWarning(
                estimator_name=type(self).__name__,
                current_sklstm_version=_sklstm_version(),
                original_sklstm_version=versions[0],
                current_sklearn_version=sklearn_version,
                original_sklearn_version=versions[1]))
        if "_params" in state:
            try:
                self._check_fitted_state(state)
            except (TypeError, ValueError, KeyError, AttributeError) as error:
                raise ValueError(f"Cannot load this {type(self).__name__}: the saved "
                                 f"state is inconsistent or corrupt. {error}") from error
        super().__setstate__(state)

    def _check_fitted_state(self, state):
        """Check the parts of a fitted state against its network, and put the
        network and optimizer objects in their place."""
        network = Network(**state["_network"])
        params = state["_params"]
        network.check_params(params)
        architecture = state["_fitted_architecture"]
        recorded = dict(
            hidden_sizes=tuple(architecture["hidden_layer_sizes"]),
            bidirectional=architecture["bidirectional"], peephole=architecture["peephole"],
            dense_sizes=tuple(architecture["dense_layer_sizes"]),
            dense_activation=architecture["activation"],
            gate_activation=architecture["recurrent_activation"],
            cell_activation=architecture["cell_activation"],
            per_step=architecture["return_sequences"],
            embedding_dim=architecture["embedding_dim"] or 0)
        config = network.config()
        differing = sorted(name for name in recorded if recorded[name] != config[name])
        if differing or np.dtype(architecture["dtype"]) != params.dtype:
            raise ValueError(f"The recorded architecture and the network differ in "
                             f"{differing or ['dtype']}.")
        vocabulary_size = state.get("vocabulary_size_")
        if network.embedding_dim and vocabulary_size != network.vocab_size:
            raise ValueError(f"vocabulary_size_ is {vocabulary_size}, but the embedding "
                             f"has {network.vocab_size} rows.")
        if isinstance(self, ClassifierMixin):
            classes = state["classes_"]
            if not np.array_equal(classes, state["_label_binarizer"].classes_):
                raise ValueError("classes_ and the label binarizer's classes differ.")
            n_outputs = 1 if len(classes) == 2 else len(classes)
            if len(classes) < 2 or network.n_outputs != n_outputs:
                raise ValueError(f"{len(classes)} classes need {n_outputs} outputs, but "
                                 f"the network has {network.n_outputs}.")
            expected_loss = BINARY_LOG_LOSS if len(classes) == 2 else MULTI_LOG_LOSS
        else:
            expected_loss = (network.loss_kind if network.loss_kind in
                             REGRESSION_LOSSES.values() else SQUARED_ERROR)
        if network.loss_kind != expected_loss:
            raise ValueError(f"The network's loss code {network.loss_kind} is not "
                             f"{type(self).__name__}'s ({expected_loss}).")
        state["_network"] = network
        if state.get("_optimizer") is not None:
            state["_optimizer"] = Optimizer.from_state(state["_optimizer"],
                                                       network.n_params, params.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = True  # a supervised transformer
        return tags


class LSTMRegressor(RegressorMixin, BaseLSTM):
    __doc__ = f"""Long short-term memory regressor.

    Stacked (optionally bidirectional, peephole) LSTM layers read each
    sequence; optional dense layers and a linear output layer map the final
    hidden state, or with ``return_sequences`` every step's, to the targets.
    Trained on the squared error, or the absolute error, Huber or quantile
    loss (``loss``).

    Parameters
    ----------
    {_PARAMS_DOC.strip()}

    {_LOSS_DOC.strip()}

    Attributes
    ----------
    {_ATTRIBUTES_DOC.strip()}

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
    >>> model = LSTMRegressor(hidden_layer_sizes=8, random_state=0)
    >>> model.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints = {
        **BaseLSTM._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
        "quantile": [Interval(Real, 0, 1, closed="neither"), None],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(32,),
        *,
        bidirectional=False,
        peephole=False,
        dense_layer_sizes=(),
        activation="relu",
        recurrent_activation="sigmoid",
        cell_activation="tanh",
        return_sequences=False,
        embedding_dim=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        clip_norm=5.0,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        validation_holdout="random",
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
        n_jobs=None,
        loss="squared_error",
        quantile=None,
        huber_delta=1.0,
    ):
        # The shared parameters plus the loss's; scikit-learn reads the
        # parameter names from this signature, so it lists them all.
        params = {name: value for name, value in locals().items()
                  if name not in ("self", "__class__", "loss", "quantile", "huber_delta")}
        super().__init__(**params)
        self.loss = loss
        self.quantile = quantile
        self.huber_delta = huber_delta

    def _loss_kind(self):
        if self.loss == "quantile" and self.quantile is None:
            raise ValueError('loss="quantile" needs the quantile to estimate: set '
                             'quantile, strictly between 0 and 1 (0.5 for the median).')
        return REGRESSION_LOSSES[self.loss]

    def _loss_param(self):
        return {"huber": self.huber_delta, "quantile": self.quantile}.get(self.loss, 0.0)

    def _class_weights(self, Y):
        return None

    def _encode_targets(self, y, *, reset, data, classes=None):
        if self._per_step(reset=reset):
            Y, ndim = check_step_targets(y, data, dtype=self.dtype, estimator=self,
                                         labels=False)
        else:
            y = check_array(y, ensure_2d=False, dtype=self.dtype, input_name="y",
                            estimator=self)
            if y.ndim not in (1, 2):
                raise ValueError(f"y must have shape (n_samples,) or (n_samples, "
                                 f"n_outputs); got shape {y.shape}.")
            check_consistent_length(data.lengths, y)
            Y, ndim = y, y.ndim
        Y = Y.reshape(len(Y), -1)
        if reset:
            self._y_ndim = ndim
        elif Y.shape[1] != self._network.n_outputs:
            raise ValueError(f"y has {Y.shape[1]} outputs, but the fitted model "
                             f"has {self._network.n_outputs}.")
        return np.ascontiguousarray(Y)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, callbacks=None):
        """Fit the model to sequences X and targets y.

        Ctrl-C stops training with a warning and keeps the model trained so
        far (the weights of the last completed minibatch).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Training sequences; 2D means univariate (or token ids with
            ``embedding_dim``).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values; with ``return_sequences``, of shape
            (n_samples, n_timesteps) or (n_samples, n_timesteps, n_outputs).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.
        X_val, y_val : array-like, default=None
            A validation set, scored after each epoch (``validation_scores_``)
            and used for early stopping instead of a held-out fraction.
        callbacks : callable or list of callables, default=None
            Called after each epoch as ``callback(self, record)``; one that
            returns True stops training after that epoch. Ready-made ones
            (checkpoints, early stopping on any scoring, learning-rate
            schedules) and the record's keys: :mod:`sklstm.callbacks`.

        Returns
        -------
        self : LSTMRegressor
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight,
                         X_val=X_val, y_val=y_val, callbacks=callbacks)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, callbacks=None):
        """Run one epoch over (X, y), continuing from the current weights.

        Ctrl-C raises KeyboardInterrupt, so that a loop of calls stops; the
        model keeps the weights of the last completed minibatch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Training sequences.
        y : array-like
            Target values, as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.
        callbacks : callable or list of callables, default=None
            Called after the epoch, as in ``fit``.

        Returns
        -------
        self : LSTMRegressor
            The updated estimator.
        """
        return self._fit(X, y, incremental=True, sample_weight=sample_weight,
                         callbacks=callbacks)

    def predict(self, X):
        """Predict targets for sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of array-like
            Sequences of any number of timesteps.

        Returns
        -------
        y : ndarray or list of ndarray
            Predictions (float64, whatever the model's dtype), shaped as the
            ``y`` of ``fit``: (n_samples,) or (n_samples, n_outputs); with
            ``return_sequences``, (n_samples, n_timesteps[, n_outputs]), or a
            list of (n_timesteps_i[, n_outputs]) for sequences of different
            lengths.
        """
        data, raw = self._forward(X)
        with_outputs_axis = self._y_ndim == (3 if self._per_step(reset=False) else 2)
        return self._per_sequence(data, raw if with_outputs_axis else raw[:, 0])

    def _score_rows(self, Y, raw, weights):
        return r2_score(Y, raw, sample_weight=weights)

    # RegressorMixin's score comes first in the method order; BaseLSTM's also
    # scores per-step and ragged targets.
    score = BaseLSTM.score

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class LSTMClassifier(ClassifierMixin, BaseLSTM):
    __doc__ = f"""Long short-term memory classifier.

    Stacked (optionally bidirectional, peephole) LSTM layers read each
    sequence; optional dense layers and an output layer map the final hidden
    state, or with ``return_sequences`` every step's, to class probabilities:
    logistic for two classes, softmax for more. Trained on the log-loss.

    Parameters
    ----------
    {_PARAMS_DOC.strip()}

    {_CLASS_WEIGHT_DOC.strip()}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    {_ATTRIBUTES_DOC.strip()}

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
    >>> clf = LSTMClassifier(hidden_layer_sizes=16, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        **BaseLSTM._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(32,),
        *,
        bidirectional=False,
        peephole=False,
        dense_layer_sizes=(),
        activation="relu",
        recurrent_activation="sigmoid",
        cell_activation="tanh",
        return_sequences=False,
        embedding_dim=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        clip_norm=5.0,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        validation_holdout="random",
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
        n_jobs=None,
        class_weight=None,
    ):
        # The regressor's parameters plus class_weight; scikit-learn reads
        # the parameter names from this signature, so it lists them all.
        params = {name: value for name, value in locals().items()
                  if name not in ("self", "__class__", "class_weight")}
        super().__init__(**params)
        self.class_weight = class_weight

    def _loss_kind(self):
        return BINARY_LOG_LOSS if len(self.classes_) == 2 else MULTI_LOG_LOSS

    def _encode_targets(self, y, *, reset, data, classes=None):
        if self._per_step(reset=reset):
            labels, _ = check_step_targets(y, data, dtype=None, estimator=self,
                                           labels=True)
        else:
            labels = check_array(y, ensure_2d=False, dtype=None, input_name="y",
                                 estimator=self)
            if labels.ndim == 2 and labels.shape[1] == 1:
                labels = column_or_1d(labels, warn=True)
            if labels.ndim != 1:
                raise ValueError(f"y must be a 1d array of class labels; got shape "
                                 f"{labels.shape} (multilabel targets are not "
                                 f"supported).")
            check_consistent_length(data.lengths, labels)
        check_classification_targets(labels)
        if reset:
            binarizer = LabelBinarizer()
            binarizer.fit(labels if classes is None else classes)
            if len(binarizer.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes, "
                    f"but the data contain only one class: {binarizer.classes_[0]!r}.")
        else:
            binarizer = self._label_binarizer
        # A label outside the classes would be encoded as no class at all (or,
        # for two classes, as a second output the network does not have).
        seen = unique_labels(labels)
        if len(np.setdiff1d(seen, binarizer.classes_)):
            known = "`classes`" if reset else "`self.classes_`"
            raise ValueError(f"`y` has classes not in {known}. {known} has "
                             f"{binarizer.classes_}. 'y' has {seen}.")
        if reset:
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
        return np.ascontiguousarray(binarizer.transform(labels), dtype=self.dtype)

    @staticmethod
    def _class_indices(rows, threshold):
        """Class indices of rows with a column per class (their argmax) or, for
        two classes, one column: above `threshold` is the second class (0.5
        for encoded targets, 0 for outputs before the logistic)."""
        if rows.shape[1] == 1:
            return (rows[:, 0] > threshold).astype(int)
        return rows.argmax(axis=1)

    def _class_weights(self, Y):
        if self.class_weight is None:
            return None
        labels = self.classes_[self._class_indices(Y, 0.5)]
        return compute_sample_weight(self.class_weight, labels)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, callbacks=None):
        """Fit the model to sequences X and class labels y.

        Ctrl-C stops training with a warning and keeps the model trained so
        far (the weights of the last completed minibatch).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Training sequences; 2D means univariate (or token ids with
            ``embedding_dim``).
        y : array-like of shape (n_samples,)
            Class labels; with ``return_sequences``, of shape
            (n_samples, n_timesteps).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.
        X_val, y_val : array-like, default=None
            A validation set, scored after each epoch (``validation_scores_``)
            and used for early stopping instead of a held-out fraction.
        callbacks : callable or list of callables, default=None
            Called after each epoch as ``callback(self, record)``; one that
            returns True stops training after that epoch. Ready-made ones
            (checkpoints, early stopping on any scoring, learning-rate
            schedules) and the record's keys: :mod:`sklstm.callbacks`.

        Returns
        -------
        self : LSTMClassifier
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight,
                         X_val=X_val, y_val=y_val, callbacks=callbacks)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None, callbacks=None):
        """Run one epoch over (X, y), continuing from the current weights.

        Ctrl-C raises KeyboardInterrupt, so that a loop of calls stops; the
        model keeps the weights of the last completed minibatch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Training sequences.
        y : array-like
            Class labels, as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call, as ``y`` may not
            hold all of them.
        callbacks : callable or list of callables, default=None
            Called after the epoch, as in ``fit``.

        Returns
        -------
        self : LSTMClassifier
            The updated estimator.
        """
        _check_partial_fit_first_call(self, classes)
        return self._fit(X, y, incremental=True, sample_weight=sample_weight,
                         classes=classes, callbacks=callbacks)

    def _probabilities(self, raw):
        if raw.shape[1] == 1:
            p = expit(raw)
            return np.hstack([1 - p, p])
        return softmax(raw, axis=1)

    def predict_proba(self, X):
        """Class probabilities of sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of array-like
            Sequences of any number of timesteps.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``; with
            ``return_sequences``, of shape (n_samples, n_timesteps, n_classes),
            or a list of (n_timesteps_i, n_classes) for ragged X.
        """
        data, raw = self._forward(X)
        return self._per_sequence(data, self._probabilities(raw))

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities of sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of array-like
            Sequences.

        Returns
        -------
        log_proba : ndarray or list of ndarray
            Log-probabilities, shaped as ``predict_proba``'s.
        """
        data, raw = self._forward(X)
        with np.errstate(divide="ignore"):
            return self._per_sequence(data, np.log(self._probabilities(raw)))

    def predict(self, X):
        """Predict class labels of sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of array-like
            Sequences of any number of timesteps.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels; with ``return_sequences``, of shape
            (n_samples, n_timesteps), or a list of (n_timesteps_i,) for
            ragged X.
        """
        data, raw = self._forward(X)
        return self._per_sequence(data, self.classes_[self._class_indices(raw, 0)])

    def _score_rows(self, Y, raw, weights):
        return accuracy_score(self._class_indices(Y, 0.5), self._class_indices(raw, 0),
                              sample_weight=weights)

    # ClassifierMixin's score comes first in the method order; BaseLSTM's also
    # scores per-step and ragged targets.
    score = BaseLSTM.score

