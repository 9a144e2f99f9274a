# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The compiled LSTM engine: forward pass, backpropagation through time and the
training epoch, for float32 and float64 through Cython's fused types.

A minibatch is cut into chunks of ``chunk_size`` sequences. Each chunk runs its
whole forward and backward pass on one OpenMP thread, in that thread's
workspace, and writes its gradient to a buffer of its own; the chunk gradients
are then summed in chunk order. The chunk size never depends on the thread
count, so results are bit-identical for any number of threads.

Per layer and chunk (Bc sequences, T steps, input size D, hidden size H,
G = 4H), everything time-major:

- forward: ``Z = X @ W_ih^T`` for all steps in one GEMM, then per step
  ``Z_t += h_{t-1} @ W_hh^T`` and one fused C pass for bias, activations and
  the cell update;
- backward, t = T-1 .. 0: one fused C pass turns the gates of step t into dZ_t
  in place, then ``dh_{t-1} += dZ_t @ W_hh``; after the loop, over all steps at
  once: ``dW_ih = dZ^T @ X``, ``dW_hh = dZ[1:]^T @ H[:-1]``, ``dX = dZ @ W_ih``.

Kernels take raw pointers and preallocated buffers; shapes and dtypes are
checked by the Python callers in ``_network.py``.
"""

import numpy as np

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.string cimport memcpy, memset

from ._blas cimport gemm
from ._openmp cimport SKLSTM_OPENMP_ENABLED, omp_get_max_threads, omp_get_thread_num


cdef extern from "sklstm_kernels.h" nogil:
    void sklstm_cell_forward_f(Py_ssize_t, Py_ssize_t, const float *, const float *,
                               float *, float *, float *, float *)
    void sklstm_cell_forward_d(Py_ssize_t, Py_ssize_t, const double *, const double *,
                               double *, double *, double *, double *)
    void sklstm_cell_backward_f(Py_ssize_t, Py_ssize_t, float *, const float *,
                                const float *, const float *, float *, float *)
    void sklstm_cell_backward_d(Py_ssize_t, Py_ssize_t, double *, const double *,
                                const double *, const double *, double *, double *)
    double sklstm_loss_f(int, Py_ssize_t, Py_ssize_t, const float *, const float *,
                         const float *, double, float *)
    double sklstm_loss_d(int, Py_ssize_t, Py_ssize_t, const double *, const double *,
                         const double *, double, double *)
    void sklstm_sgd_update_f(Py_ssize_t, float *, const float *, float *,
                             double, double, int)
    void sklstm_sgd_update_d(Py_ssize_t, double *, const double *, double *,
                             double, double, int)
    void sklstm_adam_update_f(Py_ssize_t, float *, const float *, float *, float *,
                              double, double, double, double, long)
    void sklstm_adam_update_d(Py_ssize_t, double *, const double *, double *, double *,
                              double, double, double, double, long)
    void sklstm_rmsprop_update_f(Py_ssize_t, float *, const float *, float *,
                                 double, double, double)
    void sklstm_rmsprop_update_d(Py_ssize_t, double *, const double *, double *,
                                 double, double, double)


# Solver codes, exported to _optimizers.py below.
cdef enum:
    SOLVER_SGD, SOLVER_ADAM, SOLVER_RMSPROP
SGD, ADAM, RMSPROP = SOLVER_SGD, SOLVER_ADAM, SOLVER_RMSPROP

# Positions in the packed layout vector built by _network.Network (see there).
cdef enum:
    L_N_LAYERS, L_N_INPUTS, L_N_OUTPUTS, L_LOSS, L_N_WEIGHTS, L_N_PARAMS,
    L_OUT_WEIGHT, L_OUT_BIAS, L_LAYERS
cdef enum:
    L_HIDDEN, L_WEIGHT_IH, L_WEIGHT_HH, L_BIAS, L_PER_LAYER


# Below this many floating-point operations a minibatch runs on one thread:
# an OpenMP fork/join costs microseconds on an idle machine and milliseconds
# when another process holds a core, while the work is only tens of them.
cdef double PARALLEL_MIN_FLOPS = 4e6


ctypedef struct Net:
    const Py_ssize_t *layout
    Py_ssize_t n_layers, n_inputs, n_outputs, n_weights, n_params
    Py_ssize_t out_weight, out_bias, max_hidden
    int loss


cdef inline Py_ssize_t _layer(const Net *net, Py_ssize_t l, int field) noexcept nogil:
    return net.layout[L_LAYERS + L_PER_LAYER * l + field]


cdef Net _unpack(const Py_ssize_t[::1] layout):
    cdef Net net
    cdef Py_ssize_t l
    net.layout = &layout[0]
    net.n_layers = layout[L_N_LAYERS]
    net.n_inputs = layout[L_N_INPUTS]
    net.n_outputs = layout[L_N_OUTPUTS]
    net.loss = <int> layout[L_LOSS]
    net.n_weights = layout[L_N_WEIGHTS]
    net.n_params = layout[L_N_PARAMS]
    net.out_weight = layout[L_OUT_WEIGHT]
    net.out_bias = layout[L_OUT_BIAS]
    net.max_hidden = 0
    for l in range(net.n_layers):
        net.max_hidden = max(net.max_hidden, _layer(&net, l, L_HIDDEN))
    return net


cdef Py_ssize_t _workspace_size(const Net *net, Py_ssize_t T, Py_ssize_t bc) noexcept nogil:
    """Elements one thread needs for a chunk; _chunk_pass lays them out."""
    cdef Py_ssize_t l, size = T * bc * net.n_inputs
    for l in range(net.n_layers):
        # gates, c, tanh(c), h
        size += T * bc * 7 * _layer(net, l, L_HIDDEN)
    size += 4 * bc * net.n_outputs + bc         # raw, draw, y, sample weights
    size += (T + 1) * bc * net.max_hidden       # dh for all steps, dc
    return size


cdef double _flops(const Net *net, Py_ssize_t T, Py_ssize_t n_batch) noexcept nogil:
    """Floating-point operations of a forward and backward pass (DESIGN.md)."""
    cdef Py_ssize_t l, d_in = net.n_inputs, H
    cdef double flops = 0
    for l in range(net.n_layers):
        H = _layer(net, l, L_HIDDEN)
        flops += 24.0 * n_batch * T * H * (d_in + H)
        d_in = H
    return flops


cdef void _cell_forward(Py_ssize_t bc, Py_ssize_t H, const floating *bias,
                        const floating *c_prev, floating *gates, floating *c,
                        floating *tanh_c, floating *h) noexcept nogil:
    if floating is float:
        sklstm_cell_forward_f(bc, H, bias, c_prev, gates, c, tanh_c, h)
    else:
        sklstm_cell_forward_d(bc, H, bias, c_prev, gates, c, tanh_c, h)


cdef void _cell_backward(Py_ssize_t bc, Py_ssize_t H, floating *gates,
                         const floating *c_prev, const floating *tanh_c,
                         const floating *dh, floating *dc,
                         floating *dbias) noexcept nogil:
    if floating is float:
        sklstm_cell_backward_f(bc, H, gates, c_prev, tanh_c, dh, dc, dbias)
    else:
        sklstm_cell_backward_d(bc, H, gates, c_prev, tanh_c, dh, dc, dbias)


cdef double _chunk_pass(
    const Net *net, const floating *params,
    const floating *X, Py_ssize_t T, const floating *Y, const floating *sample_weight,
    const Py_ssize_t *samples, Py_ssize_t bc, double scale,
    floating *ws,           # OUT: scratch, _workspace_size(net, T, bc) elements
    floating *grad,         # OUT: this chunk's gradient (n_params), or NULL
    floating *raw_out,      # OUT: (n, n_outputs) outputs at rows `samples`, or NULL
) noexcept nogil:
    """Forward pass of the sequences X[samples[:bc]] and, when `grad` is not
    NULL, their backward pass. Returns the chunk's weighted loss sum (0 when
    Y is NULL). The loss gradient is scaled by `scale` (1 / minibatch weight)."""
    cdef:
        Py_ssize_t D = net.n_inputs, K = net.n_outputs, L = net.n_layers
        Py_ssize_t l, t, b, k, H, G, d_in, pos
        Py_ssize_t layer_start = T * bc * D
        floating *x_in = ws
        floating *inp
        floating *gates
        floating *c
        floating *tanh_c
        floating *h
        floating *raw
        floating *draw
        floating *y
        floating *sw = NULL
        floating *dh
        floating *dc
        floating *dbias
        floating *h_last
        const floating *w_ih
        const floating *w_hh
        const floating *w_out = params + net.out_weight
        double loss = 0

    # Gather the chunk time-major: x_in[t, b, :] = X[samples[b], t, :].
    for t in range(T):
        for b in range(bc):
            memcpy(x_in + (t * bc + b) * D, X + (samples[b] * T + t) * D,
                   D * sizeof(floating))

    inp = x_in
    d_in = D
    pos = layer_start
    for l in range(L):
        H = _layer(net, l, L_HIDDEN)
        G = 4 * H
        gates = ws + pos
        c = gates + T * bc * G
        tanh_c = c + T * bc * H
        h = tanh_c + T * bc * H
        pos += T * bc * 7 * H
        w_ih = params + _layer(net, l, L_WEIGHT_IH)
        w_hh = params + _layer(net, l, L_WEIGHT_HH)
        gemm(c'n', c't', T * bc, G, d_in, inp, d_in, w_ih, d_in, 0, gates, G)
        for t in range(T):
            if t > 0:
                gemm(c'n', c't', bc, G, H, h + (t - 1) * bc * H, H, w_hh, H,
                     1, gates + t * bc * G, G)
            _cell_forward(bc, H, params + _layer(net, l, L_BIAS),
                          c + (t - 1) * bc * H if t > 0 else NULL,
                          gates + t * bc * G, c + t * bc * H,
                          tanh_c + t * bc * H, h + t * bc * H)
        inp = h
        d_in = H

    # Output layer on the last hidden state of the top layer.
    h_last = inp + (T - 1) * bc * d_in
    raw = ws + pos
    draw = raw + bc * K
    y = draw + bc * K
    dh = y + bc * K + bc
    dc = dh + T * bc * net.max_hidden
    gemm(c'n', c't', bc, K, d_in, h_last, d_in, w_out, d_in, 0, raw, K)
    for b in range(bc):
        for k in range(K):
            raw[b * K + k] += params[net.out_bias + k]
    if raw_out != NULL:
        for b in range(bc):
            memcpy(raw_out + samples[b] * K, raw + b * K, K * sizeof(floating))
    if Y == NULL:
        return 0

    for b in range(bc):
        memcpy(y + b * K, Y + samples[b] * K, K * sizeof(floating))
    if sample_weight != NULL:
        sw = y + bc * K
        for b in range(bc):
            sw[b] = sample_weight[samples[b]]
    if floating is float:
        loss = sklstm_loss_f(net.loss, bc, K, raw, y, sw, scale,
                             draw if grad != NULL else NULL)
    else:
        loss = sklstm_loss_d(net.loss, bc, K, raw, y, sw, scale,
                             draw if grad != NULL else NULL)
    if grad == NULL:
        return loss

    # Backward. Weight gradients are written with beta = 0; only the biases,
    # which accumulate, need zeroing (they follow the weights in the layout).
    memset(grad + net.n_weights, 0, (net.n_params - net.n_weights) * sizeof(floating))
    gemm(c't', c'n', K, d_in, bc, draw, K, h_last, d_in, 0, grad + net.out_weight, d_in)
    for b in range(bc):
        for k in range(K):
            grad[net.out_bias + k] += draw[b * K + k]
    # dh[t] is the gradient reaching the top layer's h_t: only the last step
    # feeds the output layer; the recurrence adds the rest below.
    memset(dh, 0, (T - 1) * bc * d_in * sizeof(floating))
    gemm(c'n', c'n', bc, d_in, K, draw, K, w_out, d_in, 0, dh + (T - 1) * bc * d_in, d_in)

    for l in range(L - 1, -1, -1):
        H = _layer(net, l, L_HIDDEN)
        G = 4 * H
        pos -= T * bc * 7 * H
        gates = ws + pos
        c = gates + T * bc * G
        tanh_c = c + T * bc * H
        h = tanh_c + T * bc * H
        if l == 0:
            inp = x_in
            d_in = D
        else:
            d_in = _layer(net, l - 1, L_HIDDEN)
            inp = ws + pos - T * bc * d_in     # h of the layer below
        w_ih = params + _layer(net, l, L_WEIGHT_IH)
        w_hh = params + _layer(net, l, L_WEIGHT_HH)
        dbias = grad + _layer(net, l, L_BIAS)
        memset(dc, 0, bc * H * sizeof(floating))
        for t in range(T - 1, -1, -1):
            _cell_backward(bc, H, gates + t * bc * G,
                           c + (t - 1) * bc * H if t > 0 else NULL,
                           tanh_c + t * bc * H, dh + t * bc * H, dc, dbias)
            if t > 0:
                gemm(c'n', c'n', bc, H, G, gates + t * bc * G, G, w_hh, H,
                     1, dh + (t - 1) * bc * H, H)
        # `gates` now holds dZ for every step.
        gemm(c't', c'n', G, d_in, T * bc, gates, G, inp, d_in, 0,
             grad + _layer(net, l, L_WEIGHT_IH), d_in)
        if T > 1:
            gemm(c't', c'n', G, H, (T - 1) * bc, gates + bc * G, G, h, H, 0,
                 grad + _layer(net, l, L_WEIGHT_HH), H)
        else:
            memset(grad + _layer(net, l, L_WEIGHT_HH), 0, G * H * sizeof(floating))
        if l > 0:
            # The gradient reaching the layer below; this layer's dh is done.
            gemm(c'n', c'n', T * bc, d_in, G, gates, G, w_ih, d_in, 0, dh, d_in)
    return loss


cdef double _minibatch(
    const Net *net, const floating *params,
    const floating *X, Py_ssize_t T, const floating *Y, const floating *sample_weight,
    const Py_ssize_t *samples, Py_ssize_t n_batch, Py_ssize_t chunk_size,
    double alpha, int n_threads,
    floating *ws, Py_ssize_t ws_size,   # OUT: n_threads workspaces
    floating *grads,    # OUT: ceil(n_batch / chunk_size) * n_params, or NULL;
                        #      grads[:n_params] ends as the minibatch gradient
    double *chunk_loss,  # OUT: one per chunk
    floating *raw_out,  # OUT: (n, n_outputs) outputs, or NULL
) noexcept nogil:
    """Forward (and, with `grads`, backward) pass of one minibatch, chunks in
    parallel. Returns the mean loss (with scikit-learn MLP's L2 term,
    0.5 * alpha * ||W||^2 / n_batch) and leaves its gradient in grads[:n_params]."""
    cdef:
        Py_ssize_t n_chunks = (n_batch + chunk_size - 1) // chunk_size
        Py_ssize_t c, p, n_params = net.n_params
        Py_ssize_t tid
        double total_weight = 0, scale = 0, loss = 0, penalty = 0
        floating acc
        floating scaled_alpha

    if Y != NULL:
        if sample_weight == NULL:
            total_weight = n_batch
        else:
            for c in range(n_batch):
                total_weight += sample_weight[samples[c]]
        scale = 1 / total_weight

    if _flops(net, T, n_batch) < PARALLEL_MIN_FLOPS:
        n_threads = 1
    if n_chunks == 1 or n_threads == 1:
        for c in range(n_chunks):
            chunk_loss[c] = _chunk_pass(
                net, params, X, T, Y, sample_weight, samples + c * chunk_size,
                min(chunk_size, n_batch - c * chunk_size), scale, ws,
                grads + c * n_params if grads != NULL else NULL, raw_out)
    else:
        with parallel(num_threads=min(n_threads, n_chunks)):
            tid = omp_get_thread_num()
            for c in prange(n_chunks, schedule='static'):
                chunk_loss[c] = _chunk_pass(
                    net, params, X, T, Y, sample_weight, samples + c * chunk_size,
                    min(chunk_size, n_batch - c * chunk_size), scale,
                    ws + tid * ws_size,
                    grads + c * n_params if grads != NULL else NULL, raw_out)

    if Y == NULL:
        return 0
    for c in range(n_chunks):
        loss += chunk_loss[c]
    loss /= total_weight
    if grads == NULL:
        return loss

    # Sum the chunk gradients in chunk order, whatever thread computed them.
    if n_chunks > 1:
        for p in prange(n_params, schedule='static', num_threads=n_threads):
            acc = grads[p]
            for c in range(1, n_chunks):
                acc = acc + grads[c * n_params + p]
            grads[p] = acc

    if alpha > 0:
        scaled_alpha = <floating> (alpha / n_batch)
        for p in range(net.n_weights):
            penalty += <double> params[p] * params[p]
            grads[p] += scaled_alpha * params[p]
        loss += 0.5 * alpha * penalty / n_batch
    return loss


cdef void _update(int solver, Py_ssize_t n, floating *params, const floating *grad,
                  floating *state_1, floating *state_2, double learning_rate,
                  double momentum, bint nesterov, double beta_1, double beta_2,
                  double epsilon, double rho, long step) noexcept nogil:
    if solver == SOLVER_SGD:
        if floating is float:
            sklstm_sgd_update_f(n, params, grad, state_1, learning_rate, momentum, nesterov)
        else:
            sklstm_sgd_update_d(n, params, grad, state_1, learning_rate, momentum, nesterov)
    elif solver == SOLVER_ADAM:
        if floating is float:
            sklstm_adam_update_f(n, params, grad, state_1, state_2, learning_rate,
                                 beta_1, beta_2, epsilon, step)
        else:
            sklstm_adam_update_d(n, params, grad, state_1, state_2, learning_rate,
                                 beta_1, beta_2, epsilon, step)
    else:
        if floating is float:
            sklstm_rmsprop_update_f(n, params, grad, state_1, learning_rate, rho, epsilon)
        else:
            sklstm_rmsprop_update_d(n, params, grad, state_1, learning_rate, rho, epsilon)


def openmp_enabled():
    """Whether the extension was compiled with OpenMP."""
    return bool(SKLSTM_OPENMP_ENABLED)


def max_threads():
    """OpenMP's current thread limit (honours OMP_NUM_THREADS and threadpoolctl)."""
    return omp_get_max_threads()


cdef tuple _buffers(const Net *net, Py_ssize_t T, Py_ssize_t n_batch,
                    Py_ssize_t chunk_size, int n_threads, dtype, bint with_grads):
    """Per-thread workspaces, per-chunk gradients and losses for _minibatch."""
    n_threads = max(1, min(n_threads, (n_batch + chunk_size - 1) // chunk_size))
    bc = min(chunk_size, n_batch)
    ws_size = _workspace_size(net, T, bc)
    n_chunks = (n_batch + chunk_size - 1) // chunk_size
    ws = np.empty(n_threads * ws_size, dtype=dtype)
    grads = np.empty(n_chunks * net.n_params if with_grads else 1, dtype=dtype)
    chunk_loss = np.empty(n_chunks, dtype=np.float64)
    return ws, ws_size, grads, chunk_loss


def forward(const Py_ssize_t[::1] layout, const floating[::1] params,
            const floating[:, :, ::1] X, floating[:, ::1] raw_out,
            Py_ssize_t chunk_size, int n_threads):
    """Outputs of the network before its link function, written to `raw_out`."""
    cdef Net net = _unpack(layout)
    cdef Py_ssize_t n = X.shape[0], T = X.shape[1]
    cdef Py_ssize_t[::1] samples = np.arange(n, dtype=np.intp)
    ws, ws_size, _, chunk_loss = _buffers(&net, T, n, chunk_size, n_threads,
                                          np.asarray(params).dtype, False)
    cdef floating[::1] ws_view = ws
    cdef double[::1] loss_view = chunk_loss
    cdef Py_ssize_t ws_size_c = ws_size
    with nogil:
        _minibatch(&net, &params[0], &X[0, 0, 0], T, NULL, NULL,
                   &samples[0], n, chunk_size, 0, n_threads, &ws_view[0], ws_size_c,
                   NULL, &loss_view[0], &raw_out[0, 0])


def loss_gradient(const Py_ssize_t[::1] layout, const floating[::1] params,
                  const floating[:, :, ::1] X, const floating[:, ::1] Y,
                  floating[::1] grad, double alpha, Py_ssize_t chunk_size,
                  int n_threads):
    """Mean loss of (X, Y) as one minibatch; its gradient is written to `grad`."""
    cdef Net net = _unpack(layout)
    cdef Py_ssize_t n = X.shape[0], T = X.shape[1]
    cdef Py_ssize_t[::1] samples = np.arange(n, dtype=np.intp)
    ws, ws_size, grads, chunk_loss = _buffers(&net, T, n, chunk_size, n_threads,
                                              np.asarray(params).dtype, True)
    cdef floating[::1] ws_view = ws, grads_view = grads
    cdef double[::1] loss_view = chunk_loss
    cdef Py_ssize_t ws_size_c = ws_size
    cdef double loss
    with nogil:
        loss = _minibatch(&net, &params[0], &X[0, 0, 0], T, &Y[0, 0],
                          NULL, &samples[0], n, chunk_size, alpha, n_threads,
                          &ws_view[0], ws_size_c, &grads_view[0], &loss_view[0], NULL)
    grad[:] = grads_view[:net.n_params]
    return loss


def train_epoch(const Py_ssize_t[::1] layout, floating[::1] params,
                const floating[:, :, ::1] X, const floating[:, ::1] Y,
                const Py_ssize_t[::1] order, Py_ssize_t batch_size, double alpha,
                int solver, double learning_rate, double momentum, bint nesterov,
                double beta_1, double beta_2, double epsilon, double rho,
                floating[::1] state_1, floating[::1] state_2, long step,
                Py_ssize_t chunk_size, int n_threads):
    """One pass over X[order] in minibatches, each followed by an optimizer
    update, without returning to Python.

    Returns the sum over minibatches of (mean minibatch loss * minibatch size)
    and the optimizer's step count after the epoch.
    """
    cdef Net net = _unpack(layout)
    cdef Py_ssize_t n = order.shape[0], T = X.shape[1], start = 0, n_batch
    cdef double total_loss = 0
    batch_size = max(1, min(batch_size, n))
    ws, ws_size, grads, chunk_loss = _buffers(&net, T, batch_size, chunk_size,
                                              n_threads, np.asarray(params).dtype, True)
    cdef floating[::1] ws_view = ws, grads_view = grads
    cdef double[::1] loss_view = chunk_loss
    cdef Py_ssize_t ws_size_c = ws_size
    with nogil:
        while start < n:
            n_batch = min(batch_size, n - start)
            total_loss += n_batch * _minibatch(
                &net, &params[0], &X[0, 0, 0], T, &Y[0, 0], NULL, &order[start],
                n_batch, chunk_size, alpha, n_threads, &ws_view[0], ws_size_c,
                &grads_view[0], &loss_view[0], NULL)
            step += 1
            _update(solver, net.n_params, &params[0], &grads_view[0], &state_1[0],
                    &state_2[0], learning_rate, momentum, nesterov, beta_1, beta_2,
                    epsilon, rho, step)
            start += n_batch
    return total_loss, step
