"""The parameter layout of an LSTM network and the calls into the engine.

All parameters of a network live in one flat vector, so that the engine,
the optimizers and pickling deal with a single array. Weights come first, then
everything else:

    [W_ih, W_hh of each layer and direction, dense weights, W_out |
     biases and peepholes of each layer and direction, dense biases, b_out,
     embedding]

so that the L2 penalty covers exactly ``params[:n_weights]`` (biases,
peepholes and the embedding are not penalized, as biases are not in
scikit-learn's MLP). Per LSTM layer ``l``, direction ``d``, with input width
``D_l`` and hidden size ``H_l``: ``W_ih`` is (4 H_l, D_l), ``W_hh`` is
(4 H_l, H_l) and the bias (4 H_l,), rows in gate order i, f, g, o as in
``torch.nn.LSTM``; the peephole weights are (3 H_l,) for i, f, o. A
bidirectional layer outputs 2 H_l features, forward direction first.
"""

import math
import os
import threading
from operator import index

import numpy as np
from joblib import cpu_count
from threadpoolctl import ThreadpoolController

from . import _engine

# The kernels' loss codes (src_c/sklstm_kernels.h): the regressor's four
# losses and the classifiers' two.
SQUARED_ERROR, BINARY_LOG_LOSS, MULTI_LOG_LOSS = 0, 1, 2
ABSOLUTE_ERROR, HUBER, QUANTILE = 3, 4, 5
REGRESSION_LOSSES = {"squared_error": SQUARED_ERROR, "absolute_error": ABSOLUTE_ERROR,
                     "huber": HUBER, "quantile": QUANTILE}
# The kernels' activation codes (src_c/sklstm_kernels.h).
GATE_ACTIVATIONS = {"sigmoid": 0, "hard_sigmoid": 1}
ACTIVATIONS = {"tanh": 0, "relu": 1, "identity": 2, "logistic": 3}

# Sequences per engine work unit. Fixed, never derived from the thread count,
# which is what makes results bit-identical for any number of threads.
CHUNK_SIZE = 16
# Prediction keeps no gradient per chunk, so it takes larger chunks: fewer,
# larger GEMMs (measured +14 % to +22 % sequences/s over 16). Fixed too.
PREDICT_CHUNK_SIZE = 64
MAX_LAYERS = _engine.EXPORTED_MAX_LAYERS
MAX_DENSE = _engine.EXPORTED_MAX_DENSE

# The BLAS guard's state, shared by all threads: the libraries' controllers,
# how many calls are inside the guard, and the thread counts the first of
# them found (restored by the last to leave).
_blas_lock = threading.Lock()
_blas_libraries = None
_blas_users = 0
_blas_saved = ()


class _SingleThreadedBLAS:
    """Context in which BLAS runs on one thread: the engine's own OpenMP
    threads call it, and nested BLAS threads would oversubscribe the CPU (the
    approach of scikit-learn's KMeans). BLAS's thread count is a process-wide
    setting, so the guard is shared by all Python threads: the first to enter
    saves the counts and sets 1, the last to leave restores them, and a
    thread that enters while others are inside finds BLAS at 1 already.
    Nested and concurrent uses are safe; BLAS calls made meanwhile by other
    code of the process run single-threaded too. It calls threadpoolctl's
    controllers of the loaded BLAS libraries directly (~3 us) rather than
    through ThreadpoolController.limit (~13 us), as predict may run per
    sequence, and their unguarded setter where there is one: threadpoolctl
    3.8 ignores a thread count set by any Python thread but the first that
    set one (its own guard against threads fighting over a process-wide
    setting), which left BLAS multi-threaded inside the engine's threads
    when predict ran in a thread of its own; this guard coordinates the
    threads itself."""

    def __enter__(self):
        global _blas_libraries, _blas_users, _blas_saved
        with _blas_lock:
            if _blas_users == 0:
                if _blas_libraries is None:
                    _blas_libraries = ThreadpoolController().select(
                        user_api="blas").lib_controllers
                _blas_saved = tuple((_setter(lib), lib.get_num_threads())
                                    for lib in _blas_libraries)
                for set_num_threads, n in _blas_saved:
                    if n != 1:
                        set_num_threads(1)
            _blas_users += 1
        return self

    def __exit__(self, *exc_info):
        global _blas_users, _blas_saved
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                for set_num_threads, n in _blas_saved:
                    if n != 1:
                        set_num_threads(n)
                _blas_saved = ()
        return False


def _setter(lib):
    """The function that sets a threadpoolctl controller's thread count."""
    return getattr(lib, "_real_set_num_threads", lib.set_num_threads)


# CPUs this process may use: its affinity mask and cgroup quota (joblib's
# count, as scikit-learn's). Read once: it takes ~90 us, and prediction may
# run per sequence.
_CPU_COUNT = max(1, cpu_count())

# OpenMP read OMP_NUM_THREADS when it loaded (with the engine, before this
# module): a value set since changes nothing.
_OMP_NUM_THREADS_SET = bool(os.environ.get("OMP_NUM_THREADS"))
_OPENMP = _engine.openmp_enabled()

# Concurrent calls into the engine share one budget of threads: the CPUs.
_engine.set_thread_budget(_CPU_COUNT)


def n_threads(n_jobs=None):
    """Threads the engine may use for `n_jobs`, scikit-learn's convention (as
    ``sklearn.utils._openmp_helpers._openmp_effective_n_threads``).

    None is OpenMP's limit, which honours OMP_NUM_THREADS and threadpoolctl's
    ``threadpool_limits(user_api="openmp")``, capped by the CPUs the process
    may use unless OMP_NUM_THREADS is set; -1 is the same, and a negative
    count ``n`` leaves ``-n - 1`` of them out. A positive count is taken as
    given (the engine's budget still holds all concurrent calls to the CPU
    count). 1 without OpenMP.
    """
    if n_jobs is not None and (isinstance(n_jobs, bool) or index(n_jobs) == 0):
        raise ValueError(f"n_jobs must be a nonzero int or None, got {n_jobs!r}.")
    if not _OPENMP:
        return 1
    limit = _engine.max_threads()
    if not _OMP_NUM_THREADS_SET:
        limit = min(limit, _CPU_COUNT)
    if n_jobs is None:
        return limit
    if n_jobs < 0:
        return max(1, limit + 1 + n_jobs)
    return int(n_jobs)


class Network:
    """Layout of an LSTM network: stacked (bidirectional) LSTM layers, dense
    layers, an output layer.

    Parameters
    ----------
    n_inputs : int
        Features per timestep (1 for token ids).
    hidden_sizes : sequence of int
        Units of each stacked LSTM layer, bottom first.
    n_outputs : int
        Units of the output layer.
    loss : {SQUARED_ERROR, ABSOLUTE_ERROR, HUBER, QUANTILE, BINARY_LOG_LOSS, \
            MULTI_LOG_LOSS}
        Link function and loss after the output layer.
    bidirectional, peephole : bool
        Layer options.
    dense_sizes : sequence of int
        Widths of the dense layers between the LSTM and the output layer.
    dense_activation, gate_activation, cell_activation : str
        Keys of ACTIVATIONS, GATE_ACTIVATIONS and ACTIVATIONS.
    per_step : bool
        Whether the head reads every timestep (many-to-many) or the final
        states.
    vocab_size, embedding_dim : int
        With ``embedding_dim > 0`` the single input feature holds token ids
        below ``vocab_size``, each replaced by a learned vector.
    loss_param : float
        The Huber loss's delta (> 0) or the quantile loss's quantile (in
        (0, 1)); 0 for the other losses.
    """

    def __init__(self, n_inputs, hidden_sizes, n_outputs, loss, *, bidirectional=False,
                 peephole=False, dense_sizes=(), dense_activation="relu",
                 gate_activation="sigmoid", cell_activation="tanh", per_step=False,
                 vocab_size=0, embedding_dim=0, loss_param=0.0):
        # The arguments are checked here, not only by the estimators, because
        # unpickling rebuilds the network from arguments read from a file.
        self.n_inputs = _count("n_inputs", n_inputs, 1)
        self.hidden_sizes = tuple(_count("hidden_sizes", h, 1) for h in hidden_sizes)
        self.n_outputs = _count("n_outputs", n_outputs, 1)
        self.loss_kind = _choice("loss", index(loss), (
            SQUARED_ERROR, BINARY_LOG_LOSS, MULTI_LOG_LOSS, ABSOLUTE_ERROR, HUBER, QUANTILE))
        self.loss_param = _loss_param(self.loss_kind, loss_param)
        self.n_directions = 2 if _flag("bidirectional", bidirectional) else 1
        self.peephole = _flag("peephole", peephole)
        self.dense_sizes = tuple(_count("dense_sizes", s, 1) for s in dense_sizes)
        self.dense_activation = _choice("dense_activation", dense_activation, ACTIVATIONS)
        self.gate_activation = _choice("gate_activation", gate_activation, GATE_ACTIVATIONS)
        self.cell_activation = _choice("cell_activation", cell_activation, ACTIVATIONS)
        self.per_step = _flag("per_step", per_step)
        self.vocab_size = _count("vocab_size", vocab_size, 0)
        self.embedding_dim = _count("embedding_dim", embedding_dim, 0)
        if not (1 <= len(self.hidden_sizes) <= MAX_LAYERS
                and len(self.dense_sizes) <= MAX_DENSE):
            raise ValueError(f"sklstm supports 1 to {MAX_LAYERS} LSTM layers and up to "
                             f"{MAX_DENSE} dense layers.")
        if self.embedding_dim and (self.vocab_size < 1 or self.n_inputs != 1):
            raise ValueError(f"An embedding reads one token id per step from a vocabulary "
                             f"of at least one id; got n_inputs={self.n_inputs}, "
                             f"vocab_size={self.vocab_size}.")
        input_size = self.embedding_dim or self.n_inputs
        self.n_features_out = self.n_directions * self.hidden_sizes[-1]

        weights, others = {}, {}
        width = input_size
        for l, h in enumerate(self.hidden_sizes):
            for d in range(self.n_directions):
                weights[_name("weight_ih", l, d)] = (4 * h, width)
                weights[_name("weight_hh", l, d)] = (4 * h, h)
                others[_name("bias", l, d)] = (4 * h,)
                if self.peephole:
                    others[_name("peephole", l, d)] = (3 * h,)
            width = self.n_directions * h
        for j, size in enumerate(self.dense_sizes):
            weights[_name("dense_weight", j)] = (size, width)
            others[_name("dense_bias", j)] = (size,)
            width = size
        weights[_name("weight", "out")] = (self.n_outputs, width)
        others[_name("bias", "out")] = (self.n_outputs,)
        if self.embedding_dim:
            others[_name("embedding")] = (self.vocab_size, self.embedding_dim)

        # Keyed by name (str), offsets and sizes in Python's exact integers:
        # a product of sizes read from a corrupt file cannot wrap around.
        self._slices = {}
        offset = 0
        for name, shape in [*weights.items(), *others.items()]:
            self._slices[name] = (offset, shape)
            offset += math.prod(shape)
            if name == _name("weight", "out"):
                self.n_weights = offset
        self.n_params = offset
        # The engine indexes parameters with Py_ssize_t, and each minibatch
        # keeps a gradient per chunk of CHUNK_SIZE sequences: their elements'
        # bytes must stay addressable.
        if self.n_params * 8 * CHUNK_SIZE > np.iinfo(np.intp).max:
            raise ValueError(
                f"The network would have {self.n_params} parameters, more than "
                f"sklstm can address; choose smaller hidden_layer_sizes, "
                f"dense_layer_sizes, embedding_dim or vocabulary.")

        # The packed form _engine.pyx reads (its L_*, D_* and DENSE_* positions).
        def at(*key):
            return self._slices[_name(*key)][0] if self.has(*key) else -1

        layout = [len(self.hidden_sizes), self.n_directions, self.n_inputs, input_size,
                  self.n_outputs, self.loss_kind, self.n_weights, self.n_params,
                  at("weight", "out"), at("bias", "out"), len(self.dense_sizes),
                  int(self.per_step), int(self.peephole),
                  GATE_ACTIVATIONS[gate_activation], ACTIVATIONS[cell_activation],
                  ACTIVATIONS[dense_activation], at("embedding")]
        for l, h in enumerate(self.hidden_sizes):
            layout.append(h)
            for d in range(2):
                layout += [at("weight_ih", l, d), at("weight_hh", l, d),
                           at("bias", l, d), at("peephole", l, d)]
        for j, size in enumerate(self.dense_sizes):
            layout += [size, at("dense_weight", j), at("dense_bias", j)]
        self.layout = np.asarray(layout, dtype=np.intp)

    def _thread_policy(self):
        """The timings of this network's fit (src_c/threads.h): made on first
        use, never pickled, reset with the network."""
        policy = self.__dict__.get("_policy")
        if policy is None:
            policy = self._policy = _engine.ThreadPolicy()
        return policy

    def config(self):
        """The arguments that rebuild this network, ``Network(**config)``: plain
        Python values, which is how pickles and skops files store a network
        (its layout is always derived, never read from a file)."""
        return dict(n_inputs=self.n_inputs, hidden_sizes=self.hidden_sizes,
                    n_outputs=self.n_outputs, loss=self.loss_kind,
                    bidirectional=self.n_directions == 2, peephole=self.peephole,
                    dense_sizes=self.dense_sizes, dense_activation=self.dense_activation,
                    gate_activation=self.gate_activation,
                    cell_activation=self.cell_activation, per_step=self.per_step,
                    vocab_size=self.vocab_size, embedding_dim=self.embedding_dim,
                    loss_param=self.loss_param)

    def check_params(self, params):
        """Raise ValueError unless `params` is a parameter vector of this
        network: what the engine reads through the layout's offsets."""
        if not isinstance(params, np.ndarray) or params.ndim != 1:
            raise ValueError(f"The parameters must be a 1D array, got "
                             f"{type(params).__name__} of shape {np.shape(params)}.")
        if params.dtype not in (np.float32, np.float64):
            raise ValueError(f"The parameters must be float32 or float64, got "
                             f"{params.dtype}.")
        if params.size != self.n_params:
            raise ValueError(f"The parameter vector has {params.size} values, but the "
                             f"network's layout needs {self.n_params}.")

    def view(self, params, *key):
        """The array named by ``key`` (e.g. ``"weight_ih", layer, direction``,
        ``"bias", "out"``), a view of ``params``."""
        offset, shape = self._slices[_name(*key)]
        return params[offset:offset + math.prod(shape)].reshape(shape)

    def has(self, *key):
        return _name(*key) in self._slices

    def init_params(self, random_state, dtype):
        """Keras' defaults: Glorot-uniform input, dense and output weights,
        orthogonal recurrent weights, zero biases except the forget gate's,
        which is 1 (Jozefowicz et al. 2015), uniform(-0.05, 0.05) embeddings.
        Peephole weights start at zero: the cell starts as a standard LSTM."""
        try:
            params = np.zeros(self.n_params, dtype=dtype)
        except MemoryError:
            raise MemoryError(
                f"The network has {self.n_params} parameters "
                f"({self.n_params * np.dtype(dtype).itemsize / 2**30:.1f} GiB, and "
                f"training needs several times that): not enough memory.") from None
        for name, (_, shape) in self._slices.items():
            kind = name.split(".")[0]
            if kind in ("weight_ih", "dense_weight", "weight"):
                self.view(params, name)[...] = _glorot_uniform(random_state, *shape)
            elif kind == "weight_hh":
                # Keras draws the (H, 4H) recurrent kernel with orthonormal
                # rows; ours is its transpose, with orthonormal columns.
                q, r = np.linalg.qr(random_state.standard_normal(shape))
                self.view(params, name)[...] = q * np.sign(np.diag(r))
            elif kind == "bias" and name != _name("bias", "out"):
                h = shape[0] // 4
                self.view(params, name)[h:2 * h] = 1.0
            elif kind == "embedding":
                self.view(params, name)[...] = random_state.uniform(-0.05, 0.05, shape)
        return params

    def _rows(self, data):
        """Output rows for sequences `data`: one per sequence, or per step."""
        return len(data.values) if self.per_step else data.n_samples

    def _check_call(self, params, data, Y=None, weights=None, optimizer=None):
        """Raise ValueError unless the arrays for an engine call have the sizes
        the layout implies: the engine trusts them (it reads and writes
        through raw pointers), and a corrupt pickle could disagree."""
        self.check_params(params)
        if data.values.ndim != 2 or data.values.shape[1] != self.n_inputs:
            raise ValueError(f"The network reads {self.n_inputs} features per step, "
                             f"got sequence values of shape {data.values.shape}.")
        rows = self._rows(data)
        if Y is not None and Y.size != rows * self.n_outputs:
            raise ValueError(f"The network has {self.n_outputs} outputs: expected "
                             f"targets of {rows} x {self.n_outputs} values, got "
                             f"{Y.size}.")
        if weights is not None and weights.size != rows:
            raise ValueError(f"Expected {rows} row weights, got {weights.size}.")
        if optimizer is not None:
            optimizer.check(self.n_params, params.dtype)

    def forward(self, params, data, *, n_jobs=None):
        """Outputs of the network for SequenceData `data`, before the link
        function: (n_samples, n_outputs), or per step (total steps, n_outputs)
        aligned with ``data.values``. `n_jobs` as in n_threads."""
        self._check_call(params, data)
        out = np.empty((self._rows(data), self.n_outputs), dtype=params.dtype)
        # No BLAS guard: the forward pass's products all run on the engine's
        # packed kernel, and it calls no BLAS.
        _engine.forward(self.layout, params, data.values, data.starts, data.lengths,
                        out.reshape(-1), False, PREDICT_CHUNK_SIZE, n_threads(n_jobs))
        return out

    def features(self, params, data, *, n_jobs=None):
        """The head's input: the final LSTM states (n_samples, n_features_out),
        or every step's (total steps, n_features_out)."""
        self._check_call(params, data)
        out = np.empty((self._rows(data), self.n_features_out), dtype=params.dtype)
        _engine.forward(self.layout, params, data.values, data.starts, data.lengths,
                        out.reshape(-1), True, PREDICT_CHUNK_SIZE, n_threads(n_jobs))
        return out

    def loss_gradient(self, params, data, Y, weights=None, *, alpha=0.0,
                      clip_norm=0.0, dropout=0.0, recurrent_dropout=0.0, seed=0,
                      n_jobs=None):
        """Mean loss over (data, Y) taken as one minibatch, L2 term included,
        and its gradient with respect to ``params`` (clipped when
        ``clip_norm``). Y and weights have a row per sequence, or per step."""
        self._check_call(params, data, Y, weights)
        grad = np.empty_like(params)
        with _SingleThreadedBLAS():
            loss = _engine.loss_gradient(
                self.layout, params, data.values, data.starts, data.lengths,
                Y.reshape(-1), weights, grad, alpha, clip_norm, dropout,
                recurrent_dropout, seed, CHUNK_SIZE, n_threads(n_jobs), self.loss_param)
        return loss, grad

    def loss(self, params, data, Y, weights=None, *, alpha=0.0, n_jobs=None):
        """Mean loss over (data, Y), L2 term included, from a forward pass."""
        self._check_call(params, data, Y, weights)
        return _engine.loss(self.layout, params, data.values, data.starts, data.lengths,
                            Y.reshape(-1), weights, alpha, CHUNK_SIZE, n_threads(n_jobs),
                            self.loss_param)

    def train_epoch(self, params, data, Y, weights, order, batch_size, optimizer, *,
                    alpha, clip_norm, dropout, recurrent_dropout, seed, n_jobs=None):
        """One epoch over the sequences in `order`, in minibatches; updates
        ``params`` and the optimizer's state in place. Returns the mean
        training loss and the loss of the first minibatch, computed before
        any update. The network keeps the timings from which the engine
        chooses serial or parallel minibatches from one epoch to the next."""
        self._check_call(params, data, Y, weights, optimizer)
        if order.ndim != 1 or not 0 <= order.min() <= order.max() < data.n_samples:
            raise ValueError("The epoch's order must index the sequences.")
        with _SingleThreadedBLAS():
            total, first = _engine.train_epoch(
                self.layout, params, data.values, data.starts, data.lengths,
                Y.reshape(-1), weights, order, batch_size, alpha, clip_norm, dropout,
                recurrent_dropout, seed, optimizer.solver, optimizer.learning_rate,
                optimizer.momentum, optimizer.nesterov,
                optimizer.beta_1, optimizer.beta_2, optimizer.epsilon,
                optimizer.rho, optimizer.state_1, optimizer.state_2,
                optimizer.step, CHUNK_SIZE, n_threads(n_jobs), self._thread_policy(),
                self.loss_param)
        return total / len(order), first


def _name(*key):
    """The name of a parameter array: its key's parts joined by dots, as
    ``"weight_ih.0.1"`` for layer 0, direction 1 (a str, as skops files need
    str keys)."""
    return ".".join(str(part) for part in key)


def _count(name, value, minimum):
    """`value` as an int of at least `minimum` (TypeError for a non-integer)."""
    value = index(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return value


def _flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}.")
    return bool(value)


def _choice(name, value, options):
    if value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}.")
    return value


def _loss_param(loss, value):
    """`value` as the parameter of `loss`: the Huber loss's delta (> 0), the
    quantile loss's quantile (strictly between 0 and 1), 0 for the others."""
    value = float(value)
    if loss == HUBER and not (np.isfinite(value) and value > 0):
        raise ValueError(f"The Huber loss's delta must be a finite number > 0, got "
                         f"{value!r}.")
    if loss == QUANTILE and not 0 < value < 1:
        raise ValueError(f"The quantile must be strictly between 0 and 1, got {value!r}.")
    if loss not in (HUBER, QUANTILE) and value != 0:
        raise ValueError(f"Loss code {loss} takes no parameter, got {value!r}.")
    return value


def _glorot_uniform(random_state, fan_out, fan_in):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return random_state.uniform(-limit, limit, size=(fan_out, fan_in))
