"""The parameter layout of an LSTM network and the calls into the engine.

All parameters of a network live in one flat vector, so that the engine,
the optimizers and pickling deal with a single array. Its layout:

    [W_ih_0, W_hh_0, W_ih_1, W_hh_1, ..., W_out | b_0, b_1, ..., b_out]

Weights come first so that the L2 penalty covers exactly ``params[:n_weights]``
(biases are not penalized, as in scikit-learn's MLP). Per LSTM layer ``l`` with
input size ``D_l`` and hidden size ``H_l``: ``W_ih_l`` is (4 H_l, D_l),
``W_hh_l`` is (4 H_l, H_l) and ``b_l`` is (4 H_l,), rows in gate order i, f, g,
o, as in ``torch.nn.LSTM``. ``W_out`` is (n_outputs, H_last).
"""

import numpy as np
from threadpoolctl import ThreadpoolController

from . import _engine

SQUARED_ERROR, BINARY_LOG_LOSS, MULTI_LOG_LOSS = 0, 1, 2

# Sequences per engine work unit. Fixed, never derived from the thread count,
# which is what makes results bit-identical for any number of threads.
CHUNK_SIZE = 16

_threadpool_controller = None


def _blas_single_threaded():
    """Context in which BLAS runs on one thread: the engine's own OpenMP
    threads call it, and nested BLAS threads would oversubscribe the CPU (the
    approach of scikit-learn's KMeans)."""
    global _threadpool_controller
    if _threadpool_controller is None:
        _threadpool_controller = ThreadpoolController()
    return _threadpool_controller.limit(limits=1, user_api="blas")


def n_threads():
    """Threads the engine uses: OpenMP's limit, which honours OMP_NUM_THREADS
    and threadpoolctl's ``threadpool_limits(user_api="openmp")``."""
    return _engine.max_threads()


class Network:
    """Layout of a stacked LSTM with a linear output layer.

    Parameters
    ----------
    n_inputs : int
        Features per timestep.
    hidden_sizes : sequence of int
        Units of each stacked LSTM layer, bottom first.
    n_outputs : int
        Units of the output layer.
    loss : {SQUARED_ERROR, BINARY_LOG_LOSS, MULTI_LOG_LOSS}
        Link function and loss after the output layer.
    """

    def __init__(self, n_inputs, hidden_sizes, n_outputs, loss):
        self.n_inputs = int(n_inputs)
        self.hidden_sizes = tuple(int(h) for h in hidden_sizes)
        self.n_outputs = int(n_outputs)
        self.loss = int(loss)

        shapes = {}
        d_in = self.n_inputs
        for l, h in enumerate(self.hidden_sizes):
            shapes[("weight_ih", l)] = (4 * h, d_in)
            shapes[("weight_hh", l)] = (4 * h, h)
            d_in = h
        shapes[("weight", "out")] = (self.n_outputs, d_in)
        self.n_weights = sum(int(np.prod(s)) for s in shapes.values())
        for l, h in enumerate(self.hidden_sizes):
            shapes[("bias", l)] = (4 * h,)
        shapes[("bias", "out")] = (self.n_outputs,)

        self._slices = {}
        offset = 0
        for key, shape in shapes.items():
            size = int(np.prod(shape))
            self._slices[key] = (offset, shape)
            offset += size
        self.n_params = offset

        # The packed form _engine.pyx reads (its L_* positions).
        head = [len(self.hidden_sizes), self.n_inputs, self.n_outputs, self.loss,
                self.n_weights, self.n_params,
                self._slices[("weight", "out")][0], self._slices[("bias", "out")][0]]
        for l, h in enumerate(self.hidden_sizes):
            head += [h, self._slices[("weight_ih", l)][0],
                     self._slices[("weight_hh", l)][0], self._slices[("bias", l)][0]]
        self.layout = np.asarray(head, dtype=np.intp)

    def view(self, params, name, index):
        """The array ``name`` of layer ``index`` (an int, or "out"), a view of
        the flat ``params``."""
        offset, shape = self._slices[(name, index)]
        return params[offset:offset + int(np.prod(shape))].reshape(shape)

    def init_params(self, random_state, dtype):
        """Keras' defaults: Glorot-uniform input and output weights, orthogonal
        recurrent weights, zero biases except the forget gate's, which is 1
        (Jozefowicz et al. 2015)."""
        params = np.zeros(self.n_params, dtype=dtype)
        d_in = self.n_inputs
        for l, h in enumerate(self.hidden_sizes):
            self.view(params, "weight_ih", l)[...] = _glorot_uniform(
                random_state, 4 * h, d_in)
            # Keras draws the (H, 4H) recurrent kernel with orthonormal rows;
            # ours is its transpose, with orthonormal columns.
            q, r = np.linalg.qr(random_state.standard_normal((4 * h, h)))
            self.view(params, "weight_hh", l)[...] = q * np.sign(np.diag(r))
            self.view(params, "bias", l)[h:2 * h] = 1.0
            d_in = h
        self.view(params, "weight", "out")[...] = _glorot_uniform(
            random_state, self.n_outputs, d_in)
        return params

    def forward(self, params, X):
        """Outputs of the network for X (n, T, n_inputs), before the link
        function: shape (n, n_outputs)."""
        raw = np.empty((X.shape[0], self.n_outputs), dtype=params.dtype)
        with _blas_single_threaded():
            _engine.forward(self.layout, params, X, raw, CHUNK_SIZE, n_threads())
        return raw

    def loss_gradient(self, params, X, Y, alpha=0.0):
        """Mean loss over (X, Y) taken as one minibatch, L2 term included, and
        its gradient with respect to ``params``."""
        grad = np.empty_like(params)
        with _blas_single_threaded():
            loss = _engine.loss_gradient(self.layout, params, X, Y, grad, alpha,
                                         CHUNK_SIZE, n_threads())
        return loss, grad

    def train_epoch(self, params, X, Y, order, batch_size, alpha, optimizer):
        """One epoch over X[order] in minibatches; updates ``params`` and the
        optimizer's state in place. Returns the mean training loss."""
        with _blas_single_threaded():
            total, optimizer.step = _engine.train_epoch(
                self.layout, params, X, Y, order, batch_size, alpha,
                optimizer.solver, optimizer.learning_rate,
                optimizer.momentum, optimizer.nesterov,
                optimizer.beta_1, optimizer.beta_2, optimizer.epsilon,
                optimizer.rho, optimizer.state_1, optimizer.state_2,
                optimizer.step, CHUNK_SIZE, n_threads())
        return total / len(order)


def _glorot_uniform(random_state, fan_out, fan_in):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return random_state.uniform(-limit, limit, size=(fan_out, fan_in))
