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

import numpy as np
from threadpoolctl import ThreadpoolController

from . import _engine

SQUARED_ERROR, BINARY_LOG_LOSS, MULTI_LOG_LOSS = 0, 1, 2
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

_blas_libraries = None


class _SingleThreadedBLAS:
    """Context in which BLAS runs on one thread: the engine's own OpenMP
    threads call it, and nested BLAS threads would oversubscribe the CPU (the
    approach of scikit-learn's KMeans). It calls threadpoolctl's controllers
    of the loaded BLAS libraries directly (~3 us) rather than through
    ThreadpoolController.limit (~13 us), as predict may run per sequence."""

    def __enter__(self):
        global _blas_libraries
        if _blas_libraries is None:
            _blas_libraries = ThreadpoolController().select(user_api="blas").lib_controllers
        self._saved = [(lib, lib.get_num_threads()) for lib in _blas_libraries]
        for lib, _ in self._saved:
            lib.set_num_threads(1)

    def __exit__(self, *exc_info):
        for lib, n_threads in self._saved:
            lib.set_num_threads(n_threads)
        return False


def n_threads():
    """Threads the engine uses: OpenMP's limit, which honours OMP_NUM_THREADS
    and threadpoolctl's ``threadpool_limits(user_api="openmp")``."""
    return _engine.max_threads()


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
    loss : {SQUARED_ERROR, BINARY_LOG_LOSS, MULTI_LOG_LOSS}
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
    """

    def __init__(self, n_inputs, hidden_sizes, n_outputs, loss, *, bidirectional=False,
                 peephole=False, dense_sizes=(), dense_activation="relu",
                 gate_activation="sigmoid", cell_activation="tanh", per_step=False,
                 vocab_size=0, embedding_dim=0):
        self.n_inputs = int(n_inputs)
        self.hidden_sizes = tuple(int(h) for h in hidden_sizes)
        self.n_outputs = int(n_outputs)
        self.loss_kind = int(loss)
        self.n_directions = 2 if bidirectional else 1
        self.peephole = bool(peephole)
        self.dense_sizes = tuple(int(s) for s in dense_sizes)
        self.dense_activation = dense_activation
        self.gate_activation = gate_activation
        self.cell_activation = cell_activation
        self.per_step = bool(per_step)
        self.vocab_size = int(vocab_size)
        self.embedding_dim = int(embedding_dim)
        if len(self.hidden_sizes) > MAX_LAYERS or len(self.dense_sizes) > MAX_DENSE:
            raise ValueError(f"sklstm supports up to {MAX_LAYERS} LSTM layers and "
                             f"{MAX_DENSE} dense layers.")
        input_size = self.embedding_dim or self.n_inputs
        self.n_features_out = self.n_directions * self.hidden_sizes[-1]

        weights, others = {}, {}
        width = input_size
        for l, h in enumerate(self.hidden_sizes):
            for d in range(self.n_directions):
                weights[("weight_ih", l, d)] = (4 * h, width)
                weights[("weight_hh", l, d)] = (4 * h, h)
                others[("bias", l, d)] = (4 * h,)
                if self.peephole:
                    others[("peephole", l, d)] = (3 * h,)
            width = self.n_directions * h
        for j, size in enumerate(self.dense_sizes):
            weights[("dense_weight", j)] = (size, width)
            others[("dense_bias", j)] = (size,)
            width = size
        weights[("weight", "out")] = (self.n_outputs, width)
        others[("bias", "out")] = (self.n_outputs,)
        if self.embedding_dim:
            others[("embedding",)] = (self.vocab_size, self.embedding_dim)

        self._slices = {}
        offset = 0
        for key, shape in [*weights.items(), *others.items()]:
            self._slices[key] = (offset, shape)
            offset += math.prod(shape)  # Python ints: they cannot wrap
            if key == ("weight", "out"):
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
            return self._slices[key][0] if key in self._slices else -1

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

    def view(self, params, *key):
        """The array named by ``key`` (see ``_slices``), a view of ``params``."""
        offset, shape = self._slices[key]
        return params[offset:offset + math.prod(shape)].reshape(shape)

    def has(self, *key):
        return key in self._slices

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
        for key, (_, shape) in self._slices.items():
            name = key[0]
            if name in ("weight_ih", "dense_weight", "weight"):
                self.view(params, *key)[...] = _glorot_uniform(random_state, *shape)
            elif name == "weight_hh":
                # Keras draws the (H, 4H) recurrent kernel with orthonormal
                # rows; ours is its transpose, with orthonormal columns.
                q, r = np.linalg.qr(random_state.standard_normal(shape))
                self.view(params, *key)[...] = q * np.sign(np.diag(r))
            elif name == "bias" and key[1] != "out":
                h = shape[0] // 4
                self.view(params, *key)[h:2 * h] = 1.0
            elif name == "embedding":
                self.view(params, *key)[...] = random_state.uniform(-0.05, 0.05, shape)
        return params

    def _rows(self, data):
        """Output rows for sequences `data`: one per sequence, or per step."""
        return len(data.values) if self.per_step else data.n_samples

    def _check_shapes(self, params, data, Y=None, weights=None):
        """The engine trusts its arguments' sizes: check them, so that no
        caller can make it read or write out of bounds."""
        rows = self._rows(data)
        if (params.shape != (self.n_params,) or data.values.ndim != 2
                or data.values.shape[1] != self.n_inputs):
            raise ValueError(f"Parameters of shape {params.shape} and X of "
                             f"{data.values.shape} do not fit the network.")
        if Y is not None and Y.size != rows * self.n_outputs:
            raise ValueError(f"Targets of shape {Y.shape} do not fit the network's "
                             f"({rows}, {self.n_outputs}).")
        if weights is not None and weights.size != rows:
            raise ValueError(f"Weights of shape {weights.shape} do not fit the "
                             f"{rows} target rows.")

    def forward(self, params, data):
        """Outputs of the network for SequenceData `data`, before the link
        function: (n_samples, n_outputs), or per step (total steps, n_outputs)
        aligned with ``data.values``."""
        self._check_shapes(params, data)
        out = np.empty((self._rows(data), self.n_outputs), dtype=params.dtype)
        with _SingleThreadedBLAS():
            _engine.forward(self.layout, params, data.values, data.starts, data.lengths,
                            out.reshape(-1), False, PREDICT_CHUNK_SIZE, n_threads())
        return out

    def features(self, params, data):
        """The head's input: the final LSTM states (n_samples, n_features_out),
        or every step's (total steps, n_features_out)."""
        self._check_shapes(params, data)
        out = np.empty((self._rows(data), self.n_features_out), dtype=params.dtype)
        with _SingleThreadedBLAS():
            _engine.forward(self.layout, params, data.values, data.starts, data.lengths,
                            out.reshape(-1), True, PREDICT_CHUNK_SIZE, n_threads())
        return out

    def loss_gradient(self, params, data, Y, weights=None, *, alpha=0.0,
                      clip_norm=0.0, dropout=0.0, recurrent_dropout=0.0, seed=0):
        """Mean loss over (data, Y) taken as one minibatch, L2 term included,
        and its gradient with respect to ``params`` (clipped when
        ``clip_norm``). Y and weights have a row per sequence, or per step."""
        self._check_shapes(params, data, Y, weights)
        grad = np.empty_like(params)
        with _SingleThreadedBLAS():
            loss = _engine.loss_gradient(
                self.layout, params, data.values, data.starts, data.lengths,
                Y.reshape(-1), weights, grad, alpha, clip_norm, dropout,
                recurrent_dropout, seed, CHUNK_SIZE, n_threads())
        return loss, grad

    def loss(self, params, data, Y, weights=None, *, alpha=0.0):
        """Mean loss over (data, Y), L2 term included, from a forward pass."""
        self._check_shapes(params, data, Y, weights)
        with _SingleThreadedBLAS():
            return _engine.loss(self.layout, params, data.values, data.starts,
                                data.lengths, Y.reshape(-1), weights, alpha,
                                CHUNK_SIZE, n_threads())

    def train_epoch(self, params, data, Y, weights, order, batch_size, optimizer, *,
                    alpha, clip_norm, dropout, recurrent_dropout, seed):
        """One epoch over the sequences in `order`, in minibatches; updates
        ``params`` and the optimizer's state in place. Returns the mean
        training loss and the loss of the first minibatch, computed before
        any update."""
        self._check_shapes(params, data, Y, weights)
        if order.ndim != 1 or not 0 <= order.min() <= order.max() < data.n_samples:
            raise ValueError("The epoch's order must index the sequences.")
        state_2 = self.n_params if optimizer.name == "adam" else 1
        if (optimizer.state_1.shape != (self.n_params,)
                or optimizer.state_2.shape != (state_2,) or optimizer.step.shape != (1,)):
            raise ValueError("The optimizer's state does not fit the network.")
        with _SingleThreadedBLAS():
            total, first = _engine.train_epoch(
                self.layout, params, data.values, data.starts, data.lengths,
                Y.reshape(-1), weights, order, batch_size, alpha, clip_norm, dropout,
                recurrent_dropout, seed, optimizer.solver, optimizer.learning_rate,
                optimizer.momentum, optimizer.nesterov,
                optimizer.beta_1, optimizer.beta_2, optimizer.epsilon,
                optimizer.rho, optimizer.state_1, optimizer.state_2,
                optimizer.step, CHUNK_SIZE, n_threads())
        return total / len(order), first


def _glorot_uniform(random_state, fan_out, fan_in):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return random_state.uniform(-limit, limit, size=(fan_out, fan_in))
