# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The compiled LSTM engine: forward pass, backpropagation through time and the
training epoch, for float32 and float64 through Cython's fused types.

A minibatch is cut into chunks of ``chunk_size`` sequences. Each chunk runs its
whole forward and backward pass on one OpenMP thread, in that thread's
workspace, and writes its gradient to a buffer of its own; the chunk gradients
are then summed in chunk order. The chunk size never depends on the thread
count, and dropout masks are hashes of the sample id, so results are
bit-identical for any number of threads.

Per layer, direction and chunk (Bc sequences, T steps, input width D, hidden
size H, G = 4H), everything time-major:

- forward: ``Z = X @ W_ih^T`` for all steps in one GEMM, then per step
  ``Z_t += h_prev @ W_hh^T`` and one fused C pass for bias, peepholes,
  activations and the cell update. The reverse direction walks t backwards;
  both write their h into one (T, Bc, 2H) layer output, the next layer's input.
- backward, in the reverse order of the forward walk: one fused C pass turns
  the gates of step t into dZ_t in place, then ``dh_prev += dZ_t @ W_hh``;
  after the loop, over all steps at once: ``dW_ih = dZ^T @ X``,
  ``dW_hh = dZ^T @ H_prev``, ``dX = sum over directions of dZ @ W_ih``.

The head reads the final states (forward direction at the last step, reverse
direction at the first) or, for per-timestep outputs, every step; optional
dense layers follow, then the output layer and the loss.

Kernels take raw pointers and preallocated buffers; shapes and dtypes are
checked by the Python callers in ``_network.py``.
"""

import numpy as np

from cpython.exc cimport PyErr_CheckSignals
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport sqrt
from libc.stdint cimport uint64_t
from libc.string cimport memcpy, memset

from ._blas cimport gemm
from ._openmp cimport SKLSTM_OPENMP_ENABLED, omp_get_max_threads, omp_get_thread_num


cdef extern from "sklstm_kernels.h" nogil:
    void sklstm_cell_forward_f(Py_ssize_t, Py_ssize_t, const float *, const float *,
                               const float *, float *, float *, float *, float *,
                               Py_ssize_t, int, int)
    void sklstm_cell_forward_d(Py_ssize_t, Py_ssize_t, const double *, const double *,
                               const double *, double *, double *, double *, double *,
                               Py_ssize_t, int, int)
    void sklstm_cell_backward_f(Py_ssize_t, Py_ssize_t, const float *, float *,
                                const float *, const float *, const float *,
                                const float *, Py_ssize_t, float *, float *, float *,
                                int, int)
    void sklstm_cell_backward_d(Py_ssize_t, Py_ssize_t, const double *, double *,
                                const double *, const double *, const double *,
                                const double *, Py_ssize_t, double *, double *, double *,
                                int, int)
    void sklstm_activate_f(Py_ssize_t, int, float *)
    void sklstm_activate_d(Py_ssize_t, int, double *)
    void sklstm_activation_backward_f(Py_ssize_t, int, const float *, float *)
    void sklstm_activation_backward_d(Py_ssize_t, int, const double *, double *)
    void sklstm_dropout_mask_f(Py_ssize_t, Py_ssize_t, const Py_ssize_t *, uint64_t,
                               uint64_t, double, float *)
    void sklstm_dropout_mask_d(Py_ssize_t, Py_ssize_t, const Py_ssize_t *, uint64_t,
                               uint64_t, double, double *)
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
    L_N_LAYERS, L_N_DIRS, L_N_INPUTS, L_INPUT_SIZE, L_N_OUTPUTS, L_LOSS,
    L_N_WEIGHTS, L_N_PARAMS, L_OUT_WEIGHT, L_OUT_BIAS, L_N_DENSE, L_PER_STEP,
    L_PEEPHOLE, L_GATE_ACT, L_CELL_ACT, L_DENSE_ACT, L_EMBEDDING, L_HEADER
# Per layer: its hidden size, then these four offsets for each direction.
cdef enum:
    D_WEIGHT_IH, D_WEIGHT_HH, D_BIAS, D_PEEPHOLE, D_FIELDS
cdef enum:
    LAYER_RECORD = 9
# Per dense layer: its width and the offsets of its weight and bias.
cdef enum:
    DENSE_SIZE, DENSE_WEIGHT, DENSE_BIAS, DENSE_RECORD
# Capacity of the fixed-size workspace tables (checked in _network.py).
cdef enum:
    MAX_LAYERS = 16
    MAX_DENSE = 16
# Dropout sites: inputs of layer l >= 1 use site l, the head input the site
# n_layers, the recurrent connections RECURRENT_SITE + 2 l + direction.
cdef enum:
    RECURRENT_SITE = 1024

EXPORTED_MAX_LAYERS, EXPORTED_MAX_DENSE = MAX_LAYERS, MAX_DENSE

# Below this many floating-point operations a minibatch runs on one thread:
# an OpenMP fork/join costs microseconds on an idle machine and milliseconds
# when another process holds a core, while the work is only tens of them.
cdef double PARALLEL_MIN_FLOPS = 4e6


ctypedef struct Net:
    const Py_ssize_t *layout
    Py_ssize_t n_layers, n_dirs, n_inputs, input_size, n_outputs
    Py_ssize_t n_weights, n_params, out_weight, out_bias, n_dense, embedding
    int loss, gate_act, cell_act, dense_act
    bint per_step, peephole


# What training adds to a pass: dropout rates and the masks' seed.
ctypedef struct Train:
    double dropout, recurrent_dropout
    uint64_t seed


# Offsets of one chunk's buffers in its thread's workspace (see _carve).
ctypedef struct Work:
    Py_ssize_t x_in, mask_head, feat, raw, draw, y, sw, dA, dA2, dh, dc, tmp
    Py_ssize_t drop_in[MAX_LAYERS]
    Py_ssize_t mask_in[MAX_LAYERS]
    Py_ssize_t out[MAX_LAYERS]
    Py_ssize_t gates[MAX_LAYERS][2]
    Py_ssize_t c[MAX_LAYERS][2]
    Py_ssize_t act_c[MAX_LAYERS][2]
    Py_ssize_t h_drop[MAX_LAYERS][2]
    Py_ssize_t mask_rec[MAX_LAYERS][2]
    Py_ssize_t dense[MAX_DENSE]


cdef inline Py_ssize_t _hidden(const Net *net, Py_ssize_t l) noexcept nogil:
    return net.layout[L_HEADER + LAYER_RECORD * l]


cdef inline Py_ssize_t _offset(const Net *net, Py_ssize_t l, Py_ssize_t d,
                               int field) noexcept nogil:
    return net.layout[L_HEADER + LAYER_RECORD * l + 1 + D_FIELDS * d + field]


cdef inline Py_ssize_t _dense(const Net *net, Py_ssize_t j, int field) noexcept nogil:
    return net.layout[L_HEADER + LAYER_RECORD * net.n_layers + DENSE_RECORD * j + field]


cdef inline Py_ssize_t _input_width(const Net *net, Py_ssize_t l) noexcept nogil:
    """Width of layer l's input: the features, or the layer below's output."""
    return net.input_size if l == 0 else net.n_dirs * _hidden(net, l - 1)


cdef inline Py_ssize_t _head_width(const Net *net, Py_ssize_t j) noexcept nogil:
    """Width of the head's j-th activation: 0 is the LSTM output, then dense layers."""
    return (net.n_dirs * _hidden(net, net.n_layers - 1) if j == 0
            else _dense(net, j - 1, DENSE_SIZE))


cdef Net _unpack(const Py_ssize_t[::1] layout):
    cdef Net net
    net.layout = &layout[0]
    net.n_layers = layout[L_N_LAYERS]
    net.n_dirs = layout[L_N_DIRS]
    net.n_inputs = layout[L_N_INPUTS]
    net.input_size = layout[L_INPUT_SIZE]
    net.n_outputs = layout[L_N_OUTPUTS]
    net.loss = <int> layout[L_LOSS]
    net.n_weights = layout[L_N_WEIGHTS]
    net.n_params = layout[L_N_PARAMS]
    net.out_weight = layout[L_OUT_WEIGHT]
    net.out_bias = layout[L_OUT_BIAS]
    net.n_dense = layout[L_N_DENSE]
    net.per_step = layout[L_PER_STEP]
    net.peephole = layout[L_PEEPHOLE]
    net.gate_act = <int> layout[L_GATE_ACT]
    net.cell_act = <int> layout[L_CELL_ACT]
    net.dense_act = <int> layout[L_DENSE_ACT]
    net.embedding = layout[L_EMBEDDING]
    return net


cdef Py_ssize_t _carve(const Net *net, const Train *train, Py_ssize_t T,
                       Py_ssize_t bc, Work *w) noexcept nogil:
    """Lay out a chunk's buffers; returns the elements they take."""
    cdef Py_ssize_t l, d, j, H, width, pos = 0
    cdef Py_ssize_t rows = T * bc if net.per_step else bc
    cdef Py_ssize_t max_width = net.input_size, max_hidden = 0, max_head = 0
    cdef Py_ssize_t K = net.n_outputs
    w.x_in = pos
    pos += T * bc * net.input_size
    for l in range(net.n_layers):
        H = _hidden(net, l)
        width = _input_width(net, l)
        max_hidden = max(max_hidden, H)
        max_width = max(max_width, net.n_dirs * H)
        if l > 0 and train.dropout > 0:
            w.mask_in[l] = pos
            pos += bc * width
            w.drop_in[l] = pos
            pos += T * bc * width
        w.out[l] = pos
        pos += T * bc * net.n_dirs * H
        for d in range(net.n_dirs):
            w.gates[l][d] = pos
            pos += T * bc * 4 * H
            w.c[l][d] = pos
            pos += T * bc * H
            w.act_c[l][d] = pos
            pos += T * bc * H
            if train.recurrent_dropout > 0:
                w.mask_rec[l][d] = pos
                pos += bc * H
                w.h_drop[l][d] = pos
                pos += T * bc * H
    w.mask_head = pos
    pos += bc * _head_width(net, 0) if train.dropout > 0 else 0
    w.feat = pos
    pos += rows * _head_width(net, 0)
    for j in range(net.n_dense + 1):
        max_head = max(max_head, _head_width(net, j))
        if j < net.n_dense:
            w.dense[j] = pos
            pos += rows * _head_width(net, j + 1)
    w.raw = pos
    w.draw = pos + rows * K
    w.y = pos + 2 * rows * K
    w.sw = pos + 3 * rows * K
    pos += 3 * rows * K + rows
    w.dA = pos
    w.dA2 = pos + rows * max_head
    pos += 2 * rows * max_head
    w.dh = pos
    pos += T * bc * max_width
    w.dc = pos
    w.tmp = pos + bc * max_hidden
    pos += 2 * bc * max_hidden
    return pos


cdef double _flops(const Net *net, Py_ssize_t T, Py_ssize_t n_batch) noexcept nogil:
    """Floating-point operations of a forward and backward pass (DESIGN.md)."""
    cdef Py_ssize_t l, H
    cdef double flops = 0
    for l in range(net.n_layers):
        H = _hidden(net, l)
        flops += 24.0 * n_batch * T * H * (_input_width(net, l) + H) * net.n_dirs
    return flops


cdef inline void _mask(Py_ssize_t bc, Py_ssize_t width, const Py_ssize_t *samples,
                       const Train *train, uint64_t site, double rate,
                       floating *mask) noexcept nogil:
    if floating is float:
        sklstm_dropout_mask_f(bc, width, samples, train.seed, site, rate, mask)
    else:
        sklstm_dropout_mask_d(bc, width, samples, train.seed, site, rate, mask)


cdef void _apply_mask(Py_ssize_t rows, Py_ssize_t bc, Py_ssize_t width,
                      const floating *mask, const floating *src, Py_ssize_t ld_src,
                      floating *dst, Py_ssize_t ld_dst) noexcept nogil:
    """dst[r] = src[r] * mask[r % bc]: time-major rows share their sample's mask."""
    cdef Py_ssize_t r, u
    cdef const floating *m
    for r in range(rows):
        m = mask + (r % bc) * width
        for u in range(width):
            dst[r * ld_dst + u] = src[r * ld_src + u] * m[u]


cdef void _add_bias(Py_ssize_t rows, Py_ssize_t width, const floating *bias,
                    floating *A) noexcept nogil:
    cdef Py_ssize_t r, u
    for r in range(rows):
        for u in range(width):
            A[r * width + u] += bias[u]


cdef void _sum_rows(Py_ssize_t rows, Py_ssize_t width, const floating *A,
                    floating *out) noexcept nogil:
    """out (width) += the sum of the rows of A (rows, width)."""
    cdef Py_ssize_t r, u
    for r in range(rows):
        for u in range(width):
            out[u] += A[r * width + u]


cdef double _chunk_pass(
    const Net *net, const Train *train, const floating *params,
    const floating *X, Py_ssize_t T, const floating *Y, const floating *sample_weight,
    const Py_ssize_t *samples, Py_ssize_t bc, double scale,
    floating *ws,           # OUT: scratch of _carve(net, train, T, bc) elements
    floating *grad,         # OUT: this chunk's gradient (n_params), or NULL
    floating *out,          # OUT: outputs (or head features) at `samples`, or NULL
    bint features,          # whether `out` receives the head's input features
) noexcept nogil:
    """Forward pass of the sequences X[samples[:bc]] and, when `grad` is not
    NULL, their backward pass. Returns the chunk's weighted loss sum (0 when
    Y is NULL). The loss gradient is scaled by `scale` (1 / minibatch weight)."""
    cdef:
        Work w
        Py_ssize_t D = net.input_size, K = net.n_outputs, L = net.n_layers
        Py_ssize_t nd = net.n_dirs, rows = T * bc if net.per_step else bc
        Py_ssize_t l, d, j, s, t, tp, b, k, u, r, H, G, ldo, width, F, F_prev, token
        bint dropping = train.dropout > 0, rec_dropping = train.recurrent_dropout > 0
        bint first
        floating *inp
        floating *layer_out
        floating *gates
        floating *c
        floating *act_c
        floating *h_drop = NULL
        floating *mask_rec = NULL
        floating *h_prev
        floating *A
        floating *cur
        floating *target
        floating *feat
        floating *raw
        floating *draw
        floating *dh
        floating *sw = NULL
        const floating *peep
        double loss = 0
        Py_ssize_t ld_prev

    _carve(net, train, T, bc, &w)
    raw = ws + w.raw
    draw = ws + w.draw
    dh = ws + w.dh

    # Gather the chunk time-major: x_in[t, b, :] = X[samples[b], t, :], or the
    # embedding row of the token X[samples[b], t].
    for t in range(T):
        for b in range(bc):
            if net.embedding >= 0:
                token = <Py_ssize_t> X[samples[b] * T + t]
                memcpy(ws + w.x_in + (t * bc + b) * D, params + net.embedding + token * D,
                       D * sizeof(floating))
            else:
                memcpy(ws + w.x_in + (t * bc + b) * D, X + (samples[b] * T + t) * D,
                       D * sizeof(floating))

    for l in range(L):
        H = _hidden(net, l)
        G = 4 * H
        ldo = nd * H
        width = _input_width(net, l)
        inp = ws + (w.x_in if l == 0 else w.out[l - 1])
        if l > 0 and dropping:
            _mask(bc, width, samples, train, l, train.dropout, ws + w.mask_in[l])
            _apply_mask(T * bc, bc, width, ws + w.mask_in[l], inp, width,
                        ws + w.drop_in[l], width)
            inp = ws + w.drop_in[l]
        layer_out = ws + w.out[l]
        for d in range(nd):
            gates = ws + w.gates[l][d]
            c = ws + w.c[l][d]
            act_c = ws + w.act_c[l][d]
            peep = params + _offset(net, l, d, D_PEEPHOLE) if net.peephole else NULL
            gemm(c'n', c't', T * bc, G, width, inp, width,
                 params + _offset(net, l, d, D_WEIGHT_IH), width, 0, gates, G)
            if rec_dropping:
                mask_rec = ws + w.mask_rec[l][d]
                h_drop = ws + w.h_drop[l][d]
                _mask(bc, H, samples, train, RECURRENT_SITE + 2 * l + d,
                      train.recurrent_dropout, mask_rec)
            for s in range(T):
                t = s if d == 0 else T - 1 - s
                tp = t - 1 if d == 0 else t + 1
                if s > 0:
                    h_prev = layer_out + tp * bc * ldo + d * H
                    ld_prev = ldo
                    if rec_dropping:
                        _apply_mask(bc, bc, H, mask_rec, h_prev, ldo,
                                    h_drop + tp * bc * H, H)
                        h_prev = h_drop + tp * bc * H
                        ld_prev = H
                    gemm(c'n', c't', bc, G, H, h_prev, ld_prev,
                         params + _offset(net, l, d, D_WEIGHT_HH), H, 1,
                         gates + t * bc * G, G)
                _cell_forward(bc, H, params + _offset(net, l, d, D_BIAS), peep,
                              c + tp * bc * H if s > 0 else NULL,
                              gates + t * bc * G, c + t * bc * H, act_c + t * bc * H,
                              layer_out + t * bc * ldo + d * H, ldo,
                              net.gate_act, net.cell_act)

    # The head's input: every step, or the final state of each direction.
    H = _hidden(net, L - 1)
    F = nd * H
    layer_out = ws + w.out[L - 1]
    feat = ws + w.feat
    if net.per_step:
        if dropping:
            _mask(bc, F, samples, train, L, train.dropout, ws + w.mask_head)
            _apply_mask(rows, bc, F, ws + w.mask_head, layer_out, F, feat, F)
        else:
            feat = layer_out
    else:
        for b in range(bc):
            memcpy(feat + b * F, layer_out + ((T - 1) * bc + b) * F, H * sizeof(floating))
            if nd == 2:
                memcpy(feat + b * F + H, layer_out + b * F + H, H * sizeof(floating))
        if dropping:
            _mask(bc, F, samples, train, L, train.dropout, ws + w.mask_head)
            _apply_mask(bc, bc, F, ws + w.mask_head, feat, F, feat, F)
    if features:
        _scatter_rows(net, T, bc, samples, F, feat, out)
        return 0

    A = feat
    for j in range(net.n_dense):
        F_prev = _head_width(net, j)
        F = _head_width(net, j + 1)
        gemm(c'n', c't', rows, F, F_prev, A, F_prev,
             params + _dense(net, j, DENSE_WEIGHT), F_prev, 0, ws + w.dense[j], F)
        _add_bias(rows, F, params + _dense(net, j, DENSE_BIAS), ws + w.dense[j])
        _activate(rows * F, net.dense_act, ws + w.dense[j])
        A = ws + w.dense[j]
    F = _head_width(net, net.n_dense)
    gemm(c'n', c't', rows, K, F, A, F, params + net.out_weight, F, 0, raw, K)
    _add_bias(rows, K, params + net.out_bias, raw)
    if out != NULL:
        _scatter_rows(net, T, bc, samples, K, raw, out)
    if Y == NULL:
        return 0

    for r in range(rows):
        b = r % bc
        t = r // bc
        memcpy(ws + w.y + r * K,
               Y + (samples[b] * T + t if net.per_step else samples[b]) * K,
               K * sizeof(floating))
    if sample_weight != NULL:
        sw = ws + w.sw
        for r in range(rows):
            b = r % bc
            t = r // bc
            sw[r] = sample_weight[samples[b] * T + t if net.per_step else samples[b]]
    if floating is float:
        loss = sklstm_loss_f(net.loss, rows, K, raw, ws + w.y, sw, scale,
                             draw if grad != NULL else NULL)
    else:
        loss = sklstm_loss_d(net.loss, rows, K, raw, ws + w.y, sw, scale,
                             draw if grad != NULL else NULL)
    if grad == NULL:
        return loss

    # Backward. Weight gradients are written with beta = 0; the parameters
    # that accumulate (biases, peepholes, embedding) follow the weights in the
    # layout and are zeroed first.
    memset(grad + net.n_weights, 0, (net.n_params - net.n_weights) * sizeof(floating))
    gemm(c't', c'n', K, F, rows, draw, K, A, F, 0, grad + net.out_weight, F)
    _sum_rows(rows, K, draw, grad + net.out_bias)
    # Per-step heads without dropout pass their input gradient straight to dh.
    target = dh if (net.per_step and not dropping and net.n_dense == 0) else ws + w.dA
    gemm(c'n', c'n', rows, F, K, draw, K, params + net.out_weight, F, 0, target, F)
    cur = target
    for j in range(net.n_dense - 1, -1, -1):
        F = _head_width(net, j + 1)
        F_prev = _head_width(net, j)
        A = feat if j == 0 else ws + w.dense[j - 1]
        _activation_backward(rows * F, net.dense_act, ws + w.dense[j], cur)
        gemm(c't', c'n', F, F_prev, rows, cur, F, A, F_prev, 0,
             grad + _dense(net, j, DENSE_WEIGHT), F_prev)
        _sum_rows(rows, F, cur, grad + _dense(net, j, DENSE_BIAS))
        if j == 0 and net.per_step and not dropping:
            target = dh
        else:
            target = ws + (w.dA2 if cur == ws + w.dA else w.dA)
        gemm(c'n', c'n', rows, F_prev, F, cur, F, params + _dense(net, j, DENSE_WEIGHT),
             F_prev, 0, target, F_prev)
        cur = target

    # cur is the gradient of the head's input; route it to the top layer's h.
    H = _hidden(net, L - 1)
    F = nd * H
    if dropping:
        _apply_mask(rows, bc, F, ws + w.mask_head, cur, F, cur, F)
    if net.per_step:
        if cur != dh:
            memcpy(dh, cur, T * bc * F * sizeof(floating))
    else:
        memset(dh, 0, T * bc * F * sizeof(floating))
        for b in range(bc):
            memcpy(dh + ((T - 1) * bc + b) * F, cur + b * F, H * sizeof(floating))
            if nd == 2:
                memcpy(dh + b * F + H, cur + b * F + H, H * sizeof(floating))

    for l in range(L - 1, -1, -1):
        H = _hidden(net, l)
        G = 4 * H
        ldo = nd * H
        width = _input_width(net, l)
        if l == 0:
            inp = ws + w.x_in
        else:
            inp = ws + (w.drop_in[l] if dropping else w.out[l - 1])
        layer_out = ws + w.out[l]
        for d in range(nd):
            gates = ws + w.gates[l][d]
            c = ws + w.c[l][d]
            act_c = ws + w.act_c[l][d]
            peep = params + _offset(net, l, d, D_PEEPHOLE) if net.peephole else NULL
            if rec_dropping:
                mask_rec = ws + w.mask_rec[l][d]
                h_drop = ws + w.h_drop[l][d]
            memset(ws + w.dc, 0, bc * H * sizeof(floating))
            for s in range(T):
                # The forward walk in reverse.
                t = T - 1 - s if d == 0 else s
                tp = t - 1 if d == 0 else t + 1
                first = t == 0 if d == 0 else t == T - 1
                _cell_backward(bc, H, peep, gates + t * bc * G,
                               NULL if first else c + tp * bc * H, c + t * bc * H,
                               act_c + t * bc * H, dh + t * bc * ldo + d * H, ldo,
                               ws + w.dc, grad + _offset(net, l, d, D_BIAS),
                               grad + _offset(net, l, d, D_PEEPHOLE) if net.peephole else NULL,
                               net.gate_act, net.cell_act)
                if first:
                    continue
                if rec_dropping:
                    gemm(c'n', c'n', bc, H, G, gates + t * bc * G, G,
                         params + _offset(net, l, d, D_WEIGHT_HH), H, 0, ws + w.tmp, H)
                    for b in range(bc):
                        for u in range(H):
                            dh[(tp * bc + b) * ldo + d * H + u] += (
                                ws[w.tmp + b * H + u] * mask_rec[b * H + u])
                else:
                    gemm(c'n', c'n', bc, H, G, gates + t * bc * G, G,
                         params + _offset(net, l, d, D_WEIGHT_HH), H, 1,
                         dh + tp * bc * ldo + d * H, ldo)
            # `gates` now holds dZ for every step.
            gemm(c't', c'n', G, width, T * bc, gates, G, inp, width, 0,
                 grad + _offset(net, l, d, D_WEIGHT_IH), width)
            if T > 1:
                # Pair dZ_t with the h that entered step t: h_{t-1} forward,
                # h_{t+1} in reverse.
                h_prev = h_drop if rec_dropping else layer_out + d * H
                ld_prev = H if rec_dropping else ldo
                gemm(c't', c'n', G, H, (T - 1) * bc,
                     gates + bc * G if d == 0 else gates, G,
                     h_prev if d == 0 else h_prev + bc * ld_prev, ld_prev, 0,
                     grad + _offset(net, l, d, D_WEIGHT_HH), H)
            else:
                memset(grad + _offset(net, l, d, D_WEIGHT_HH), 0, G * H * sizeof(floating))
        if l == 0 and net.embedding < 0:
            break
        # The gradient reaching this layer's input; its own dh is done.
        for d in range(nd):
            gemm(c'n', c'n', T * bc, width, 4 * H, ws + w.gates[l][d], 4 * H,
                 params + _offset(net, l, d, D_WEIGHT_IH), width, 0 if d == 0 else 1,
                 dh, width)
        if l > 0 and dropping:
            _apply_mask(T * bc, bc, width, ws + w.mask_in[l], dh, width, dh, width)
    if net.embedding >= 0:
        for t in range(T):
            for b in range(bc):
                token = <Py_ssize_t> X[samples[b] * T + t]
                for u in range(D):
                    grad[net.embedding + token * D + u] += dh[(t * bc + b) * D + u]
    return loss


cdef void _scatter_rows(const Net *net, Py_ssize_t T, Py_ssize_t bc,
                        const Py_ssize_t *samples, Py_ssize_t width,
                        const floating *rows_in, floating *out) noexcept nogil:
    """Write a chunk's time-major rows to their samples' rows of `out`:
    (n, width) for final-state heads, (n, T, width) for per-step ones."""
    cdef Py_ssize_t t, b
    for b in range(bc):
        if net.per_step:
            for t in range(T):
                memcpy(out + (samples[b] * T + t) * width,
                       rows_in + (t * bc + b) * width, width * sizeof(floating))
        else:
            memcpy(out + samples[b] * width, rows_in + b * width,
                   width * sizeof(floating))


cdef void _cell_forward(Py_ssize_t bc, Py_ssize_t H, const floating *bias,
                        const floating *peephole, const floating *c_prev,
                        floating *gates, floating *c, floating *act_c, floating *h,
                        Py_ssize_t ldh, int gate_act, int cell_act) noexcept nogil:
    if floating is float:
        sklstm_cell_forward_f(bc, H, bias, peephole, c_prev, gates, c, act_c, h, ldh,
                              gate_act, cell_act)
    else:
        sklstm_cell_forward_d(bc, H, bias, peephole, c_prev, gates, c, act_c, h, ldh,
                              gate_act, cell_act)


cdef void _cell_backward(Py_ssize_t bc, Py_ssize_t H, const floating *peephole,
                         floating *gates, const floating *c_prev, const floating *c,
                         const floating *act_c, const floating *dh, Py_ssize_t lddh,
                         floating *dc, floating *dbias, floating *dpeephole,
                         int gate_act, int cell_act) noexcept nogil:
    if floating is float:
        sklstm_cell_backward_f(bc, H, peephole, gates, c_prev, c, act_c, dh, lddh, dc,
                               dbias, dpeephole, gate_act, cell_act)
    else:
        sklstm_cell_backward_d(bc, H, peephole, gates, c_prev, c, act_c, dh, lddh, dc,
                               dbias, dpeephole, gate_act, cell_act)


cdef void _activate(Py_ssize_t n, int activation, floating *x) noexcept nogil:
    if floating is float:
        sklstm_activate_f(n, activation, x)
    else:
        sklstm_activate_d(n, activation, x)


cdef void _activation_backward(Py_ssize_t n, int activation, const floating *y,
                               floating *dy) noexcept nogil:
    if floating is float:
        sklstm_activation_backward_f(n, activation, y, dy)
    else:
        sklstm_activation_backward_d(n, activation, y, dy)


cdef double _minibatch(
    const Net *net, const Train *train, const floating *params,
    const floating *X, Py_ssize_t T, const floating *Y, const floating *sample_weight,
    const Py_ssize_t *samples, Py_ssize_t n_batch, Py_ssize_t chunk_size,
    double alpha, double clip_norm, int n_threads,
    floating *ws, Py_ssize_t ws_size,   # OUT: n_threads workspaces
    floating *grads,    # OUT: ceil(n_batch / chunk_size) * n_params, or NULL;
                        #      grads[:n_params] ends as the minibatch gradient
    double *chunk_loss,  # OUT: one per chunk
    floating *out,      # OUT: outputs or features, or NULL
    bint features,
) noexcept nogil:
    """Forward (and, with `grads`, backward) pass of one minibatch, chunks in
    parallel. Returns the mean loss (with scikit-learn MLP's L2 term,
    0.5 * alpha * ||W||^2 / n_batch) and leaves its gradient, clipped to a
    global norm of at most `clip_norm` (when > 0), in grads[:n_params]."""
    cdef:
        Py_ssize_t n_chunks = (n_batch + chunk_size - 1) // chunk_size
        Py_ssize_t c, p, n_params = net.n_params
        Py_ssize_t tid
        double total_weight = 0, scale = 0, loss = 0, penalty = 0, norm = 0
        floating acc
        floating factor

    if Y != NULL:
        if sample_weight == NULL:
            total_weight = n_batch * T if net.per_step else n_batch
        elif net.per_step:
            for c in range(n_batch):
                for p in range(T):
                    total_weight += sample_weight[samples[c] * T + p]
        else:
            for c in range(n_batch):
                total_weight += sample_weight[samples[c]]
        # All-zero weights leave nothing to learn from: a zero gradient.
        scale = 1 / total_weight if total_weight > 0 else 0

    if _flops(net, T, n_batch) < PARALLEL_MIN_FLOPS:
        n_threads = 1
    if n_chunks == 1 or n_threads == 1:
        for c in range(n_chunks):
            chunk_loss[c] = _chunk_pass(
                net, train, params, X, T, Y, sample_weight, samples + c * chunk_size,
                min(chunk_size, n_batch - c * chunk_size), scale, ws,
                grads + c * n_params if grads != NULL else NULL, out, features)
    else:
        with parallel(num_threads=min(n_threads, n_chunks)):
            tid = omp_get_thread_num()
            for c in prange(n_chunks, schedule='static'):
                chunk_loss[c] = _chunk_pass(
                    net, train, params, X, T, Y, sample_weight, samples + c * chunk_size,
                    min(chunk_size, n_batch - c * chunk_size), scale,
                    ws + tid * ws_size,
                    grads + c * n_params if grads != NULL else NULL, out, features)

    if Y == NULL:
        return 0
    for c in range(n_chunks):
        loss += chunk_loss[c]
    loss *= scale
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
        factor = <floating> (alpha / n_batch)
        for p in range(net.n_weights):
            penalty += <double> params[p] * params[p]
            grads[p] += factor * params[p]
        loss += 0.5 * alpha * penalty / n_batch
    if clip_norm > 0:
        for p in range(n_params):
            norm += <double> grads[p] * grads[p]
        norm = sqrt(norm)
        if norm > clip_norm:
            factor = <floating> (clip_norm / norm)
            for p in range(n_params):
                grads[p] *= factor
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


cdef tuple _buffers(const Net *net, const Train *train, Py_ssize_t T,
                    Py_ssize_t n_batch, Py_ssize_t chunk_size, int n_threads, dtype,
                    bint with_grads):
    """Per-thread workspaces, per-chunk gradients and losses for _minibatch."""
    cdef Work w
    n_chunks = (n_batch + chunk_size - 1) // chunk_size
    n_threads = max(1, min(n_threads, n_chunks))
    ws_size = _carve(net, train, T, min(chunk_size, n_batch), &w)
    ws = np.empty(n_threads * ws_size, dtype=dtype)
    grads = np.empty(n_chunks * net.n_params if with_grads else 1, dtype=dtype)
    chunk_loss = np.empty(n_chunks, dtype=np.float64)
    return ws, ws_size, grads, chunk_loss


cdef Train _train(double dropout, double recurrent_dropout, uint64_t seed):
    cdef Train train
    train.dropout = dropout
    train.recurrent_dropout = recurrent_dropout
    train.seed = seed
    return train


def forward(const Py_ssize_t[::1] layout, const floating[::1] params,
            const floating[:, :, ::1] X, floating[::1] out, bint features,
            Py_ssize_t chunk_size, int n_threads):
    """Outputs of the network before its link function, or with `features`
    its head's input features, written to the flat `out` in sample-major order."""
    cdef Net net = _unpack(layout)
    cdef Train train = _train(0, 0, 0)
    cdef Py_ssize_t n = X.shape[0], T = X.shape[1]
    cdef Py_ssize_t[::1] samples = np.arange(n, dtype=np.intp)
    ws, ws_size, _, chunk_loss = _buffers(&net, &train, T, n, chunk_size, n_threads,
                                          np.asarray(params).dtype, False)
    cdef floating[::1] ws_view = ws
    cdef double[::1] loss_view = chunk_loss
    cdef Py_ssize_t ws_size_c = ws_size
    with nogil:
        _minibatch(&net, &train, &params[0], &X[0, 0, 0], T, NULL, NULL,
                   &samples[0], n, chunk_size, 0, 0, n_threads, &ws_view[0], ws_size_c,
                   NULL, &loss_view[0], &out[0], features)


def loss_gradient(const Py_ssize_t[::1] layout, const floating[::1] params,
                  const floating[:, :, ::1] X, const floating[::1] Y,
                  const floating[::1] sample_weight, floating[::1] grad, double alpha,
                  double clip_norm, double dropout, double recurrent_dropout,
                  uint64_t seed, Py_ssize_t chunk_size, int n_threads):
    """Mean loss of (X, Y) as one minibatch; its gradient is written to `grad`.
    Y is flat, sample-major. sample_weight (None, or one weight per output row:
    per sample, or per sample and step for per-step heads) weighs the mean."""
    cdef Net net = _unpack(layout)
    cdef Train train = _train(dropout, recurrent_dropout, seed)
    cdef Py_ssize_t n = X.shape[0], T = X.shape[1]
    cdef Py_ssize_t[::1] samples = np.arange(n, dtype=np.intp)
    ws, ws_size, grads, chunk_loss = _buffers(&net, &train, T, n, chunk_size, n_threads,
                                              np.asarray(params).dtype, True)
    cdef floating[::1] ws_view = ws, grads_view = grads
    cdef double[::1] loss_view = chunk_loss
    cdef Py_ssize_t ws_size_c = ws_size
    cdef const floating *sw = NULL
    if sample_weight is not None:
        sw = &sample_weight[0]
    cdef double loss
    with nogil:
        loss = _minibatch(&net, &train, &params[0], &X[0, 0, 0], T, &Y[0], sw,
                          &samples[0], n, chunk_size, alpha, clip_norm, n_threads,
                          &ws_view[0], ws_size_c, &grads_view[0], &loss_view[0], NULL,
                          False)
    grad[:] = grads_view[:net.n_params]
    return loss


def loss(const Py_ssize_t[::1] layout, const floating[::1] params,
         const floating[:, :, ::1] X, const floating[::1] Y,
         const floating[::1] sample_weight, double alpha, Py_ssize_t chunk_size,
         int n_threads):
    """Mean loss of (X, Y), forward pass only (no dropout); as loss_gradient."""
    cdef Net net = _unpack(layout)
    cdef Train train = _train(0, 0, 0)
    cdef Py_ssize_t n = X.shape[0], T = X.shape[1], p
    cdef Py_ssize_t[::1] samples = np.arange(n, dtype=np.intp)
    ws, ws_size, _, chunk_loss = _buffers(&net, &train, T, n, chunk_size, n_threads,
                                          np.asarray(params).dtype, False)
    cdef floating[::1] ws_view = ws
    cdef double[::1] loss_view = chunk_loss
    cdef Py_ssize_t ws_size_c = ws_size
    cdef const floating *sw = NULL
    if sample_weight is not None:
        sw = &sample_weight[0]
    cdef double value, penalty = 0
    with nogil:
        value = _minibatch(&net, &train, &params[0], &X[0, 0, 0], T, &Y[0], sw,
                           &samples[0], n, chunk_size, 0, 0, n_threads, &ws_view[0],
                           ws_size_c, NULL, &loss_view[0], NULL, False)
        for p in range(net.n_weights):
            penalty += <double> params[p] * params[p]
    return value + 0.5 * alpha * penalty / n


def train_epoch(const Py_ssize_t[::1] layout, floating[::1] params,
                const floating[:, :, ::1] X, const floating[::1] Y,
                const floating[::1] sample_weight, const Py_ssize_t[::1] order,
                Py_ssize_t batch_size, double alpha, double clip_norm, double dropout,
                double recurrent_dropout, uint64_t seed,
                int solver, double learning_rate, double momentum, bint nesterov,
                double beta_1, double beta_2, double epsilon, double rho,
                floating[::1] state_1, floating[::1] state_2, long[::1] step,
                Py_ssize_t chunk_size, int n_threads):
    """One pass over X[order] in minibatches, each followed by an optimizer
    update, without returning to Python; `step` counts the updates.

    Every few minibatches the GIL is taken to let Python handle signals, so
    Ctrl-C interrupts a long epoch (KeyboardInterrupt), leaving the parameters
    and optimizer state of the last completed minibatch.

    Returns the sum over minibatches of (mean minibatch loss * minibatch size).
    """
    cdef Net net = _unpack(layout)
    cdef Train train = _train(dropout, recurrent_dropout, seed)
    cdef Py_ssize_t n = order.shape[0], T = X.shape[1], start = 0, n_batch
    cdef double total_loss = 0
    cdef long minibatch = 0
    batch_size = max(1, min(batch_size, n))
    ws, ws_size, grads, chunk_loss = _buffers(&net, &train, T, batch_size, chunk_size,
                                              n_threads, np.asarray(params).dtype, True)
    cdef floating[::1] ws_view = ws, grads_view = grads
    cdef double[::1] loss_view = chunk_loss
    cdef Py_ssize_t ws_size_c = ws_size
    cdef const floating *sw = NULL
    if sample_weight is not None:
        sw = &sample_weight[0]
    with nogil:
        while start < n:
            n_batch = min(batch_size, n - start)
            total_loss += n_batch * _minibatch(
                &net, &train, &params[0], &X[0, 0, 0], T, &Y[0], sw, &order[start],
                n_batch, chunk_size, alpha, clip_norm, n_threads, &ws_view[0], ws_size_c,
                &grads_view[0], &loss_view[0], NULL, False)
            step[0] += 1
            _update(solver, net.n_params, &params[0], &grads_view[0], &state_1[0],
                    &state_2[0], learning_rate, momentum, nesterov, beta_1, beta_2,
                    epsilon, rho, step[0])
            start += n_batch
            minibatch += 1
            if minibatch % 8 == 0:
                with gil:
                    PyErr_CheckSignals()
    return total_loss
