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

import threading

import numpy as np

from cpython.pythread cimport PyThread_get_thread_ident
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
    double sklstm_loss_f(int, double, Py_ssize_t, Py_ssize_t, const float *,
                         const float *, const float *, double, float *)
    double sklstm_loss_d(int, double, Py_ssize_t, Py_ssize_t, const double *,
                         const double *, const double *, double, double *)
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


cdef extern from "threads.h" nogil:
    ctypedef struct sklstm_thread_policy:
        pass
    void sklstm_threads_set_budget(int)
    int sklstm_threads_budget()
    int sklstm_threads_acquire(int)
    void sklstm_threads_release(int)
    int sklstm_threads_in_use()
    int sklstm_threads_crowded()
    Py_ssize_t sklstm_threads_claim(Py_ssize_t *)
    int sklstm_threads_set_mode(int)
    int sklstm_threads_mode()
    void sklstm_policy_init(sklstm_thread_policy *)
    int sklstm_policy_parallel(const sklstm_thread_policy *)
    void sklstm_policy_record(sklstm_thread_policy *, int, double, double)
    double sklstm_threads_now()


# The per-step products, and every product of the forward pass, run on
# weights packed once per minibatch (src_c/recurrent_gemm.h).
cdef extern from "recurrent_gemm.h" nogil:
    enum:
        SKLSTM_PANEL_F
        SKLSTM_PANEL_D
    size_t sklstm_packed_size_f(ptrdiff_t K, ptrdiff_t N)
    size_t sklstm_packed_size_d(ptrdiff_t K, ptrdiff_t N)
    void sklstm_pack_f(ptrdiff_t K, ptrdiff_t N, const float *B, ptrdiff_t stride_k,
                       ptrdiff_t stride_n, float *packed)
    void sklstm_pack_d(ptrdiff_t K, ptrdiff_t N, const double *B, ptrdiff_t stride_k,
                       ptrdiff_t stride_n, double *packed)
    void sklstm_packed_gemm_f(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A,
                              ptrdiff_t lda, const float *packed, int beta, float *C,
                              ptrdiff_t ldc)
    void sklstm_packed_gemm_d(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const double *A,
                              ptrdiff_t lda, const double *packed, int beta, double *C,
                              ptrdiff_t ldc)
    void sklstm_packed_gemm_cols_f(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A,
                                   ptrdiff_t lda, const float *packed, int beta, float *C,
                                   ptrdiff_t ldc, ptrdiff_t n_begin, ptrdiff_t n_end)
    void sklstm_packed_gemm_cols_d(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const double *A,
                                   ptrdiff_t lda, const double *packed, int beta, double *C,
                                   ptrdiff_t ldc, ptrdiff_t n_begin, ptrdiff_t n_end)
    void sklstm_transpose_f(ptrdiff_t rows, ptrdiff_t cols, const float *A, ptrdiff_t lda,
                            float *At, ptrdiff_t ldat)
    void sklstm_transpose_d(ptrdiff_t rows, ptrdiff_t cols, const double *A,
                            ptrdiff_t lda, double *At, ptrdiff_t ldat)


# Ctrl-C during a pass. Python runs signal handlers only in its main thread
# and with the GIL, which the passes release; so the calling thread (OpenMP's
# thread 0), when it is Python's main thread, takes the GIL every
# SKLSTM_POLL_SECONDS to run them. When one raises (KeyboardInterrupt), its
# exception is kept and `stop` set; every thread sees `stop` at its next poll,
# within a timestep, and the entry point raises the exception. The clock is
# read every SKLSTM_POLL_EVERY polls only: a poll per timestep then costs a
# few nanoseconds.
cdef extern from *:
    """
    #if defined(_WIN32)
    #include <windows.h>
    static double sklstm_seconds(void) { return (double)GetTickCount64() / 1000.0; }
    #else
    #include <time.h>
    static double sklstm_seconds(void)
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    }
    #endif
    #define SKLSTM_POLL_SECONDS 0.05
    #define SKLSTM_POLL_EVERY 16

    typedef struct {
        volatile int stop;
        int main_thread, countdown;
        double next_check;
        PyObject *type, *value, *traceback;
    } sklstm_poll;

    static void sklstm_poll_start(sklstm_poll *poll, int main_thread)
    {
        poll->stop = 0;
        poll->main_thread = main_thread;
        poll->countdown = SKLSTM_POLL_EVERY;
        poll->next_check = sklstm_seconds() + SKLSTM_POLL_SECONDS;
        poll->type = poll->value = poll->traceback = NULL;
    }

    /* Whether the pass must stop; `caller` tells the calling thread. */
    static inline int sklstm_poll_stop(sklstm_poll *poll, int caller)
    {
        if (poll->stop) return 1;
        if (!caller || !poll->main_thread || --poll->countdown > 0) return 0;
        poll->countdown = SKLSTM_POLL_EVERY;
        double now = sklstm_seconds();
        if (now < poll->next_check) return 0;
        PyGILState_STATE gil = PyGILState_Ensure();
        if (PyErr_CheckSignals() < 0) {
            PyErr_Fetch(&poll->type, &poll->value, &poll->traceback);
            poll->stop = 1;
        }
        PyGILState_Release(gil);
        poll->next_check = sklstm_seconds() + SKLSTM_POLL_SECONDS;
        return poll->stop;
    }

    /* With the GIL, after the pass: raise the signal handler's exception, if any. */
    static int sklstm_poll_raise(sklstm_poll *poll)
    {
        if (!poll->stop) return 0;
        PyErr_Restore(poll->type, poll->value, poll->traceback);
        poll->type = poll->value = poll->traceback = NULL;
        return -1;
    }
    """
    ctypedef struct sklstm_poll:
        int stop
    void sklstm_poll_start(sklstm_poll *, int) noexcept nogil
    int sklstm_poll_stop(sklstm_poll *, int) noexcept nogil
    int sklstm_poll_raise(sklstm_poll *) except -1


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

# Gradient sums (parameters times chunks beyond the first) from which the
# chunk gradients are summed on the minibatch's threads, in blocks of
# SUM_BLOCK parameters.
cdef double PARALLEL_MIN_SUMS = 1 << 20
cdef enum:
    SUM_BLOCK = 8192

ctypedef struct Net:
    const Py_ssize_t *layout
    Py_ssize_t n_layers, n_dirs, n_inputs, input_size, n_outputs
    Py_ssize_t n_weights, n_params, out_weight, out_bias, n_dense, embedding
    int loss, gate_act, cell_act, dense_act
    bint per_step, peephole


# What training adds to a pass: dropout rates and the masks' seed; and the
# pass's signal poll (NULL where nothing polls).
ctypedef struct Train:
    double dropout, recurrent_dropout
    uint64_t seed
    double loss_param  # the Huber loss's delta, the quantile loss's q
    sklstm_poll *poll


cdef inline bint _interrupted(const Train *train, bint caller) noexcept nogil:
    """Whether the pass must stop for a signal (see sklstm_poll_stop); `caller`
    tells the calling thread, the one that may run signal handlers."""
    return sklstm_poll_stop(train.poll, caller) != 0


# Offsets of one chunk's buffers in its thread's workspace (see _carve).
ctypedef struct Work:
    Py_ssize_t x_in, mask_head, feat, raw, draw, y, sw, dA, dA2, dh, dc, tmp
    Py_ssize_t dz_t, panels    # training: dZ transposed, a packed activation
    Py_ssize_t drop_in[MAX_LAYERS]
    Py_ssize_t mask_in[MAX_LAYERS]
    Py_ssize_t out[MAX_LAYERS]
    Py_ssize_t gates[MAX_LAYERS][2]
    Py_ssize_t c[MAX_LAYERS][2]
    Py_ssize_t act_c[MAX_LAYERS][2]
    Py_ssize_t h_in[MAX_LAYERS][2]
    Py_ssize_t mask_rec[MAX_LAYERS][2]
    Py_ssize_t dense[MAX_DENSE]


# Where each weight matrix starts in the buffer of packed weights that
# _pack_weights fills once per minibatch (or prediction), in the panel layout
# of src_c/recurrent_gemm.h: every product of the forward pass (W_ih^T,
# W_hh^T, the dense and output weights transposed) and, in training, those
# of the backward pass: W_hh, and W_ih where a layer's input gradient is
# needed (above the first layer, or for an embedding). All chunks read it,
# whatever thread.
ctypedef struct Packing:
    Py_ssize_t ih[MAX_LAYERS][2]
    Py_ssize_t hh[MAX_LAYERS][2]
    Py_ssize_t hh_back[MAX_LAYERS][2]
    Py_ssize_t ih_back[MAX_LAYERS][2]
    Py_ssize_t dense[MAX_DENSE]
    Py_ssize_t out


# A chunk's sequences in packed order, as PyTorch's PackedSequence: sorted
# longest first, so that the sequences still running at step t are the first
# active[t]. Step t's rows start at offset[t]; row offset[t] + p belongs to the
# p-th sequence. `rows` = offset[steps] counts real steps only: padding costs
# nothing, and a sequence's results are those of running it alone.
ctypedef struct Chunk:
    Py_ssize_t n, steps, rows
    Py_ssize_t *sample      # (n) sample ids, longest first
    Py_ssize_t *length      # (n) their lengths
    Py_ssize_t *active      # (steps) sequences running at step t
    Py_ssize_t *offset      # (steps + 1) first row of step t


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


cdef void _order_chunk(const Py_ssize_t *samples, Py_ssize_t n,
                       const Py_ssize_t *lengths, Py_ssize_t *index_ws,
                       Chunk *chunk) noexcept nogil:
    """Pack the chunk of sequences `samples`: index_ws (OUT) holds its tables,
    2 n + 2 * (longest length) + 1 elements."""
    cdef Py_ssize_t p, q, sample, length, t, running
    chunk.n = n
    chunk.sample = index_ws
    chunk.length = index_ws + n
    # Insertion sort, longest first; stable, so ties keep the minibatch order.
    for p in range(n):
        sample = samples[p]
        length = lengths[sample]
        q = p
        while q > 0 and chunk.length[q - 1] < length:
            chunk.sample[q] = chunk.sample[q - 1]
            chunk.length[q] = chunk.length[q - 1]
            q -= 1
        chunk.sample[q] = sample
        chunk.length[q] = length
    chunk.steps = chunk.length[0]
    chunk.active = index_ws + 2 * n
    chunk.offset = chunk.active + chunk.steps
    chunk.offset[0] = 0
    running = n
    for t in range(chunk.steps):
        while chunk.length[running - 1] <= t:
            running -= 1
        chunk.active[t] = running
        chunk.offset[t + 1] = chunk.offset[t] + running
    chunk.rows = chunk.offset[chunk.steps]


cdef inline Py_ssize_t _previous(const Chunk *ch, Py_ssize_t t, Py_ssize_t d,
                                 Py_ssize_t *prev) noexcept nogil:
    """How many of step t's sequences have a previous step in direction d
    (they are a prefix of its rows: the others start at t), and (OUT) the first
    row of that previous step: t - 1 forwards, t + 1 in reverse."""
    if d == 0:
        prev[0] = ch.offset[t - 1] if t > 0 else 0
        return ch.active[t] if t > 0 else 0
    prev[0] = ch.offset[t + 1] if t + 1 < ch.steps else 0
    return ch.active[t + 1] if t + 1 < ch.steps else 0


cdef Py_ssize_t _carve(const Net *net, const Train *train, Py_ssize_t rows,
                       Py_ssize_t n, bint training, Work *w) noexcept nogil:
    """Lay out the buffers of a chunk of n sequences and `rows` real steps
    (with `training`, those of the backward pass too); returns the elements
    they take."""
    cdef Py_ssize_t l, d, j, H, width, pos = 0
    cdef Py_ssize_t head_rows = rows if net.per_step else n
    cdef Py_ssize_t max_width = net.input_size, max_hidden = 0, max_head = 0
    cdef Py_ssize_t K = net.n_outputs
    w.x_in = pos
    pos += rows * net.input_size
    for l in range(net.n_layers):
        H = _hidden(net, l)
        width = _input_width(net, l)
        max_hidden = max(max_hidden, H)
        max_width = max(max_width, net.n_dirs * H)
        if l > 0 and train.dropout > 0:
            w.mask_in[l] = pos
            pos += n * width
            w.drop_in[l] = pos
            pos += rows * width
        w.out[l] = pos
        pos += rows * net.n_dirs * H
        for d in range(net.n_dirs):
            # Training keeps every step's gates and cell state for the
            # backward pass; the forward pass alone needs one step's gates and
            # the cell states of two steps (see _lstm_forward), which stay in
            # cache from step to step.
            w.gates[l][d] = pos
            pos += (rows if training else n) * 4 * H
            w.c[l][d] = pos
            pos += (rows if training else 2 * n) * H
            w.act_c[l][d] = pos
            pos += (rows if training else n) * H
            w.h_in[l][d] = pos
            pos += rows * H if training else 0
            w.mask_rec[l][d] = pos
            pos += n * H if train.recurrent_dropout > 0 else 0
    w.mask_head = pos
    pos += n * _head_width(net, 0) if train.dropout > 0 else 0
    w.feat = pos
    pos += head_rows * _head_width(net, 0)
    for j in range(net.n_dense + 1):
        max_head = max(max_head, _head_width(net, j))
        if j < net.n_dense:
            w.dense[j] = pos
            pos += head_rows * _head_width(net, j + 1)
    w.raw = pos
    w.draw = pos + head_rows * K
    w.y = pos + 2 * head_rows * K
    w.sw = pos + 3 * head_rows * K
    pos += 3 * head_rows * K + head_rows
    w.dA = pos
    w.dA2 = pos + head_rows * max_head
    pos += 2 * head_rows * max_head
    w.dh = pos
    pos += rows * max_width
    w.dc = pos
    w.tmp = pos + n * max_hidden
    pos += 2 * n * max_hidden
    if training:
        # The weight gradients' products (see _weight_gradients): dZ^T, and
        # the layer input or h_in packed, NR columns a panel (an upper bound
        # for both precisions: 32 floats, 16 doubles).
        w.dz_t = pos
        pos += 4 * max_hidden * rows
        w.panels = pos
        pos += rows * ((max(max_width, max_hidden) + SKLSTM_PANEL_F - 1)
                       // SKLSTM_PANEL_F * SKLSTM_PANEL_F)
    return pos


cdef double _flops(const Net *net, Py_ssize_t steps) noexcept nogil:
    """Floating-point operations of a forward and backward pass over `steps`
    real timesteps (DESIGN.md: 24 H (D + H) per step, layer and direction)."""
    cdef Py_ssize_t l, H
    cdef double flops = 0
    for l in range(net.n_layers):
        H = _hidden(net, l)
        flops += 24.0 * steps * H * (_input_width(net, l) + H) * net.n_dirs
    return flops


cdef inline void _mask(const Chunk *ch, Py_ssize_t width, const Train *train,
                       uint64_t site, double rate, floating *mask) noexcept nogil:
    """One dropout mask per sequence of the chunk, (n, width)."""
    if floating is float:
        sklstm_dropout_mask_f(ch.n, width, ch.sample, train.seed, site, rate, mask)
    else:
        sklstm_dropout_mask_d(ch.n, width, ch.sample, train.seed, site, rate, mask)


cdef void _mask_rows(const Chunk *ch, Py_ssize_t width, const floating *mask,
                     const floating *src, floating *dst) noexcept nogil:
    """dst = src * mask for packed rows (width columns), each row masked by
    its sequence's mask; dst may be src."""
    cdef Py_ssize_t t, p, u, r
    for t in range(ch.steps):
        for p in range(ch.active[t]):
            r = ch.offset[t] + p
            for u in range(width):
                dst[r * width + u] = src[r * width + u] * mask[p * width + u]


cdef inline void _packed_gemm(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                              const floating *A, Py_ssize_t lda, const floating *packed,
                              bint beta, floating *C, Py_ssize_t ldc) noexcept nogil:
    """C (M, N; rows ldc apart) = beta * C + A (M, K; rows lda apart) @ B, B
    packed (src_c/recurrent_gemm.h). Each output is summed in one fixed order,
    so a row's result is the same alone and in any batch, unlike BLAS's GEMM,
    whose kernels and order depend on the matrix sizes."""
    if floating is float:
        sklstm_packed_gemm_f(M, N, K, A, lda, packed, beta, C, ldc)
    else:
        sklstm_packed_gemm_d(M, N, K, A, lda, packed, beta, C, ldc)


cdef inline void _pack(Py_ssize_t K, Py_ssize_t N, const floating *B, Py_ssize_t stride_k,
                       Py_ssize_t stride_n, floating *packed) noexcept nogil:
    if floating is float:
        sklstm_pack_f(K, N, B, stride_k, stride_n, packed)
    else:
        sklstm_pack_d(K, N, B, stride_k, stride_n, packed)


cdef inline void _transpose(Py_ssize_t rows, Py_ssize_t cols, const floating *A,
                            Py_ssize_t lda, floating *At, Py_ssize_t ldat) noexcept nogil:
    if floating is float:
        sklstm_transpose_f(rows, cols, A, lda, At, ldat)
    else:
        sklstm_transpose_d(rows, cols, A, lda, At, ldat)


cdef inline bint _needs_input_gradient(const Net *net, Py_ssize_t l) noexcept nogil:
    """Whether backpropagation continues below layer l: to the layer under
    it, or to the embedding."""
    return l > 0 or net.embedding >= 0


cdef inline Py_ssize_t _packed_size(Py_ssize_t K, Py_ssize_t N,
                                    bint double_precision) noexcept nogil:
    return (sklstm_packed_size_d(K, N) if double_precision
            else sklstm_packed_size_f(K, N))


cdef Py_ssize_t _plan_packing(const Net *net, bint double_precision, bint training,
                              Packing *pk) noexcept nogil:
    """Lay out the packed weights (see Packing); returns the elements they take."""
    cdef Py_ssize_t l, d, j, H, G, width, pos = 0
    for l in range(net.n_layers):
        H = _hidden(net, l)
        G = 4 * H
        width = _input_width(net, l)
        for d in range(net.n_dirs):
            pk.ih[l][d] = pos
            pos += _packed_size(width, G, double_precision)
            pk.hh[l][d] = pos
            pos += _packed_size(H, G, double_precision)
            pk.hh_back[l][d] = pos
            pos += _packed_size(G, H, double_precision) if training else 0
            pk.ih_back[l][d] = pos
            pos += (_packed_size(G, width, double_precision)
                    if training and _needs_input_gradient(net, l) else 0)
    for j in range(net.n_dense):
        pk.dense[j] = pos
        pos += _packed_size(_head_width(net, j), _head_width(net, j + 1), double_precision)
    pk.out = pos
    pos += _packed_size(_head_width(net, net.n_dense), net.n_outputs, double_precision)
    return pos


cdef void _pack_weights(const Net *net, const Packing *pk, const floating *params,
                        bint training, floating *packed) noexcept nogil:
    """Pack the weights of the forward products, and with `training` those of
    the backward recurrent product, into `packed` (OUT), as _plan_packing
    laid out. All weights are row-major (out, in): the forward products use
    their transposes, B(k, n) = W[n, k]; the backward one W_hh itself."""
    cdef Py_ssize_t l, d, j, H, G, width, F, F_prev
    cdef const floating *w_hh
    for l in range(net.n_layers):
        H = _hidden(net, l)
        G = 4 * H
        width = _input_width(net, l)
        for d in range(net.n_dirs):
            w_hh = params + _offset(net, l, d, D_WEIGHT_HH)
            _pack(width, G, params + _offset(net, l, d, D_WEIGHT_IH), 1, width,
                  packed + pk.ih[l][d])
            _pack(H, G, w_hh, 1, H, packed + pk.hh[l][d])
            if training:
                _pack(G, H, w_hh, H, 1, packed + pk.hh_back[l][d])
            if training and _needs_input_gradient(net, l):
                _pack(G, width, params + _offset(net, l, d, D_WEIGHT_IH), width, 1,
                      packed + pk.ih_back[l][d])
    for j in range(net.n_dense):
        F_prev = _head_width(net, j)
        F = _head_width(net, j + 1)
        _pack(F_prev, F, params + _dense(net, j, DENSE_WEIGHT), 1, F_prev,
              packed + pk.dense[j])
    F = _head_width(net, net.n_dense)
    _pack(F, net.n_outputs, params + net.out_weight, 1, F, packed + pk.out)


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


cdef void _scatter(const Net *net, const Chunk *ch, const Py_ssize_t *starts,
                   Py_ssize_t width, const floating *rows_in,
                   floating *out) noexcept nogil:
    """Write a chunk's head rows to `out`: one row per sequence at its sample
    id, or per step at the sequence's own rows (end to end, as X's values)."""
    cdef Py_ssize_t t, p
    for p in range(ch.n):
        if not net.per_step:
            memcpy(out + ch.sample[p] * width, rows_in + p * width,
                   width * sizeof(floating))
            continue
        for t in range(ch.length[p]):
            memcpy(out + (starts[ch.sample[p]] + t) * width,
                   rows_in + (ch.offset[t] + p) * width, width * sizeof(floating))


cdef void _gather(const Net *net, const Chunk *ch, const floating *params,
                  const floating *X, const Py_ssize_t *starts,
                  floating *x_in) noexcept nogil:
    """x_in (OUT, rows x D): the chunk's packed input, the features of each
    step or the embedding row of its token."""
    cdef Py_ssize_t t, p, r, src, D = net.input_size
    for t in range(ch.steps):
        for p in range(ch.active[t]):
            r = ch.offset[t] + p
            src = starts[ch.sample[p]] + t
            if net.embedding >= 0:
                memcpy(x_in + r * D, params + net.embedding + (<Py_ssize_t> X[src]) * D,
                       D * sizeof(floating))
            else:
                memcpy(x_in + r * D, X + src * D, D * sizeof(floating))


cdef void _gather_backward(const Net *net, const Chunk *ch, const floating *X,
                           const Py_ssize_t *starts, const floating *dx,
                           floating *grad) noexcept nogil:
    """Add the input gradient dx (rows x D) to the embedding rows of the
    tokens (grad, OUT)."""
    cdef Py_ssize_t t, p, r, u, token, D = net.input_size
    for t in range(ch.steps):
        for p in range(ch.active[t]):
            r = ch.offset[t] + p
            token = <Py_ssize_t> X[starts[ch.sample[p]] + t]
            for u in range(D):
                grad[net.embedding + token * D + u] += dx[r * D + u]


cdef floating *_layer_input(const Net *net, const Train *train, const Chunk *ch,
                            const Work *w, Py_ssize_t l, floating *ws) noexcept nogil:
    """Layer l's input: the gathered input or the layer below's output, dropped
    out (into drop_in) between layers in training."""
    cdef Py_ssize_t width = _input_width(net, l)
    if l == 0:
        return ws + w.x_in
    if train.dropout > 0:
        _mask(ch, width, train, l, train.dropout, ws + w.mask_in[l])
        _mask_rows(ch, width, ws + w.mask_in[l], ws + w.out[l - 1], ws + w.drop_in[l])
        return ws + w.drop_in[l]
    return ws + w.out[l - 1]


cdef bint _lstm_forward(const Net *net, const Train *train, const Chunk *ch,
                        const Work *w, const Packing *pk, Py_ssize_t l, Py_ssize_t d,
                        const floating *params, const floating *packed,
                        const floating *inp, floating *ws, bint training,
                        bint caller) noexcept nogil:
    """Direction d of layer l over the chunk, step by step: Z_t = inp_t @ W_ih^T
    + h_prev @ W_hh^T and the cell, writing h into the layer output's columns
    d H... Training keeps each step's gates, cell state and the h entering it
    (h_in, dropped out when asked) for the backward pass; otherwise the gates
    and cell states live in step-sized buffers (see _carve). Returns whether
    it was interrupted."""
    cdef:
        Py_ssize_t H = _hidden(net, l), G = 4 * H, ldo = net.n_dirs * H
        Py_ssize_t width = _input_width(net, l)
        Py_ssize_t s, t, k, kp, row, prev, p, u
        floating *gates
        floating *c
        floating *c_prev
        floating *act_c
        floating *h_in = ws + w.h_in[l][d]
        floating *h = ws + w.out[l] + d * H
        floating *mask_rec = NULL
        const floating *w_ih = packed + pk.ih[l][d]
        const floating *w_hh = packed + pk.hh[l][d]
        const floating *bias = params + _offset(net, l, d, D_BIAS)
        const floating *peep = params + _offset(net, l, d, D_PEEPHOLE) if net.peephole else NULL
    if training and train.recurrent_dropout > 0:
        mask_rec = ws + w.mask_rec[l][d]
        _mask(ch, H, train, RECURRENT_SITE + 2 * l + d, train.recurrent_dropout, mask_rec)
    for s in range(ch.steps):
        if _interrupted(train, caller):
            return True
        # The reverse direction walks t backwards; each sequence starts at its
        # own last step, with a zero state.
        t = s if d == 0 else ch.steps - 1 - s
        k = ch.active[t]
        row = ch.offset[t]
        kp = _previous(ch, t, d, &prev)
        if training:
            gates = ws + w.gates[l][d] + row * G
            c = ws + w.c[l][d] + row * H
            c_prev = ws + w.c[l][d] + prev * H
            act_c = ws + w.act_c[l][d] + row * H
        else:
            # The previous step's rows are a prefix of its own, in the same
            # order, so its cell state is the other half of the pair.
            gates = ws + w.gates[l][d]
            c = ws + w.c[l][d] + (s % 2) * ch.n * H
            c_prev = ws + w.c[l][d] + ((s + 1) % 2) * ch.n * H
            act_c = ws + w.act_c[l][d]
        # One step's input product, not all steps' at once: its rows then stay
        # in cache for the recurrent product and the cell.
        _packed_gemm(k, G, width, inp + row * width, width, w_ih, 0, gates, G)
        if training:
            # Zero for the sequences that start here.
            memset(h_in + row * H, 0, k * H * sizeof(floating))
            for p in range(kp):
                for u in range(H):
                    h_in[(row + p) * H + u] = h[(prev + p) * ldo + u]
                    if mask_rec != NULL:
                        h_in[(row + p) * H + u] *= mask_rec[p * H + u]
        if kp > 0:
            if training:
                _packed_gemm(kp, G, H, h_in + row * H, H, w_hh, 1, gates, G)
            else:
                _packed_gemm(kp, G, H, h + prev * ldo, ldo, w_hh, 1, gates, G)
            _cell_forward(kp, H, bias, peep, c_prev, gates, c, act_c, h + row * ldo, ldo,
                          net.gate_act, net.cell_act)
        if k > kp:
            _cell_forward(k - kp, H, bias, peep, NULL, gates + kp * G, c + kp * H,
                          act_c + kp * H, h + (row + kp) * ldo, ldo, net.gate_act,
                          net.cell_act)
    return False


cdef bint _lstm_backward(const Net *net, const Train *train, const Chunk *ch,
                         const Work *w, const Packing *pk, Py_ssize_t l, Py_ssize_t d,
                         const floating *params, const floating *packed,
                         const floating *inp, floating *ws, floating *dh,
                         floating *grad, bint caller) noexcept nogil:
    """Backpropagation through time of direction d of layer l, given dh (the
    gradient of the layer output, whose columns d H.. it updates with the
    recurrent terms): turns the gates into dZ in place, step by step in the
    reverse order of the forward walk, then the weight gradients over all
    steps at once. Returns whether it was interrupted."""
    cdef:
        Py_ssize_t H = _hidden(net, l), G = 4 * H, ldo = net.n_dirs * H
        Py_ssize_t width = _input_width(net, l)
        Py_ssize_t s, t, k, kp, row, prev, p, u
        floating *gates = ws + w.gates[l][d]
        floating *c = ws + w.c[l][d]
        floating *act_c = ws + w.act_c[l][d]
        floating *dc = ws + w.dc
        floating *tmp = ws + w.tmp
        floating *dh_d = dh + d * H
        floating *mask_rec = ws + w.mask_rec[l][d] if train.recurrent_dropout > 0 else NULL
        floating *dbias = grad + _offset(net, l, d, D_BIAS)
        floating *dpeep = grad + _offset(net, l, d, D_PEEPHOLE) if net.peephole else NULL
        const floating *w_hh = packed + pk.hh_back[l][d]
        const floating *peep = params + _offset(net, l, d, D_PEEPHOLE) if net.peephole else NULL
    memset(dc, 0, ch.n * H * sizeof(floating))
    for s in range(ch.steps):
        if _interrupted(train, caller):
            return True
        t = ch.steps - 1 - s if d == 0 else s
        k = ch.active[t]
        row = ch.offset[t]
        kp = _previous(ch, t, d, &prev)
        if kp > 0:
            _cell_backward(kp, H, peep, gates + row * G, c + prev * H, c + row * H,
                           act_c + row * H, dh_d + row * ldo, ldo, dc, dbias, dpeep,
                           net.gate_act, net.cell_act)
        if k > kp:
            row += kp
            _cell_backward(k - kp, H, peep, gates + row * G, NULL, c + row * H,
                           act_c + row * H, dh_d + row * ldo, ldo, dc + kp * H, dbias,
                           dpeep, net.gate_act, net.cell_act)
            row -= kp
        if kp == 0:
            continue
        if mask_rec != NULL:
            _packed_gemm(kp, H, G, gates + row * G, G, w_hh, 0, tmp, H)
            for p in range(kp):
                for u in range(H):
                    dh_d[(prev + p) * ldo + u] += tmp[p * H + u] * mask_rec[p * H + u]
        else:
            _packed_gemm(kp, H, G, gates + row * G, G, w_hh, 1, dh_d + prev * ldo, ldo)
    # `gates` now holds dZ for every step, each row beside the h that entered
    # it in h_in.
    _weight_gradients(ch.rows, G, width, H, gates, inp, ws + w.h_in[l][d],
                      ws + w.dz_t, ws + w.panels, grad + _offset(net, l, d, D_WEIGHT_IH),
                      grad + _offset(net, l, d, D_WEIGHT_HH))
    return False


cdef void _weight_gradients(Py_ssize_t rows, Py_ssize_t G, Py_ssize_t width,
                            Py_ssize_t H, const floating *dz, const floating *inp,
                            const floating *h_in,
                            floating *dz_t,     # OUT: scratch, G x rows
                            floating *panels,   # OUT: scratch, rows x max(width, H) packed
                            floating *dw_ih, floating *dw_hh) noexcept nogil:
    """dW_ih = dZ^T @ inp and dW_hh = dZ^T @ h_in over all the chunk's rows,
    on the packed kernel: dZ transposed once, each right operand packed
    once. (OpenBLAS picks its AVX2 kernels on AMD's AVX-512 CPUs, which ran
    these products at 60 % of the packed kernel's rate.)"""
    _transpose(rows, G, dz, G, dz_t, rows)
    _pack(rows, width, inp, width, 1, panels)
    _packed_gemm(G, width, rows, dz_t, rows, panels, 0, dw_ih, width)
    _pack(rows, H, h_in, H, 1, panels)
    _packed_gemm(G, H, rows, dz_t, rows, panels, 0, dw_hh, H)


cdef void _layer_input_backward(const Net *net, const Train *train, const Chunk *ch,
                                const Work *w, const Packing *pk, Py_ssize_t l,
                                const floating *packed, floating *ws,
                                floating *dh) noexcept nogil:
    """dh (OUT, rows x the input width) = the gradient of layer l's input:
    sum over directions of dZ @ W_ih, then through the dropout between layers.
    It overwrites the layer's own dh, which its backward pass is done with."""
    cdef Py_ssize_t d, H = _hidden(net, l), width = _input_width(net, l)
    for d in range(net.n_dirs):
        _packed_gemm(ch.rows, width, 4 * H, ws + w.gates[l][d], 4 * H,
                     packed + pk.ih_back[l][d], d > 0, dh, width)
    if l > 0 and train.dropout > 0:
        _mask_rows(ch, width, ws + w.mask_in[l], dh, dh)


cdef floating *_head_input(const Net *net, const Train *train, const Chunk *ch,
                           const Work *w, floating *ws) noexcept nogil:
    """The head's input, (rows x F): every step of the top layer's output, or
    the final state of each direction (forward after the sequence's own last
    step, reverse after its first), dropped out in training."""
    cdef:
        Py_ssize_t H = _hidden(net, net.n_layers - 1), F = net.n_dirs * H, p, u
        floating *top = ws + w.out[net.n_layers - 1]
        floating *feat = ws + w.feat
        floating *mask = ws + w.mask_head
        bint dropping = train.dropout > 0
    if dropping:
        _mask(ch, F, train, net.n_layers, train.dropout, mask)
    if net.per_step:
        if not dropping:
            return top
        _mask_rows(ch, F, mask, top, feat)
        return feat
    for p in range(ch.n):
        memcpy(feat + p * F, top + (ch.offset[ch.length[p] - 1] + p) * F,
               H * sizeof(floating))
        if net.n_dirs == 2:
            memcpy(feat + p * F + H, top + p * F + H, H * sizeof(floating))
        if dropping:
            for u in range(F):
                feat[p * F + u] *= mask[p * F + u]
    return feat


cdef void _head_input_backward(const Net *net, const Train *train, const Chunk *ch,
                               const Work *w, floating *ws, floating *dfeat,
                               floating *dh) noexcept nogil:
    """dh (OUT, rows x F): the gradient of the top layer's output, from that of
    the head's input, dfeat (which it may scale in place; it may be dh for
    per-step heads)."""
    cdef:
        Py_ssize_t H = _hidden(net, net.n_layers - 1), F = net.n_dirs * H, p, u
        floating *mask = ws + w.mask_head
        bint dropping = train.dropout > 0
    if net.per_step:
        if dropping:
            _mask_rows(ch, F, mask, dfeat, dfeat)
        if dfeat != dh:
            memcpy(dh, dfeat, ch.rows * F * sizeof(floating))
        return
    memset(dh, 0, ch.rows * F * sizeof(floating))
    for p in range(ch.n):
        if dropping:
            for u in range(F):
                dfeat[p * F + u] *= mask[p * F + u]
        memcpy(dh + (ch.offset[ch.length[p] - 1] + p) * F, dfeat + p * F,
               H * sizeof(floating))
        if net.n_dirs == 2:
            memcpy(dh + p * F + H, dfeat + p * F + H, H * sizeof(floating))


cdef const floating *_head_forward(const Net *net, const Packing *pk, Py_ssize_t rows,
                                   const floating *params, const floating *packed,
                                   const floating *feat, const Work *w,
                                   floating *ws) noexcept nogil:
    """The dense layers and the output layer over the head's input feat (rows
    x F): raw outputs, before the link function, at ws + w.raw. Returns the
    output layer's input (the last dense activation, or feat)."""
    cdef Py_ssize_t j, F, F_prev, K = net.n_outputs
    cdef const floating *A = feat
    for j in range(net.n_dense):
        F_prev = _head_width(net, j)
        F = _head_width(net, j + 1)
        _packed_gemm(rows, F, F_prev, A, F_prev, packed + pk.dense[j], 0, ws + w.dense[j], F)
        _add_bias(rows, F, params + _dense(net, j, DENSE_BIAS), ws + w.dense[j])
        _activate(rows * F, net.dense_act, ws + w.dense[j])
        A = ws + w.dense[j]
    F = _head_width(net, net.n_dense)
    _packed_gemm(rows, K, F, A, F, packed + pk.out, 0, ws + w.raw, K)
    _add_bias(rows, K, params + net.out_bias, ws + w.raw)
    return A


cdef floating *_head_backward(const Net *net, const Train *train, Py_ssize_t rows,
                              const floating *params, const floating *feat,
                              const floating *A, const Work *w, floating *ws,
                              floating *dh, floating *grad) noexcept nogil:
    """Backward of _head_forward, from the loss gradient at ws + w.draw: the
    head's weight and bias gradients into grad, and returns the gradient of
    its input feat (rows x F) — in dh itself when that is where it goes next
    (per-step heads without dropout), saving a copy."""
    cdef Py_ssize_t j, F, F_prev, K = net.n_outputs
    cdef floating *draw = ws + w.draw
    cdef floating *cur
    cdef floating *target
    cdef bint straight = net.per_step and train.dropout == 0
    F = _head_width(net, net.n_dense)
    gemm(c't', c'n', K, F, rows, draw, K, A, F, 0, grad + net.out_weight, F)
    _sum_rows(rows, K, draw, grad + net.out_bias)
    target = dh if (straight and net.n_dense == 0) else ws + w.dA
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
        if j == 0 and straight:
            target = dh
        else:
            target = ws + (w.dA2 if cur == ws + w.dA else w.dA)
        gemm(c'n', c'n', rows, F_prev, F, cur, F, params + _dense(net, j, DENSE_WEIGHT),
             F_prev, 0, target, F_prev)
        cur = target
    return cur


cdef double _loss_forward(const Net *net, const Chunk *ch, const Py_ssize_t *starts,
                          const floating *Y, const floating *weights, Py_ssize_t rows,
                          double scale, double loss_param, const Work *w, floating *ws,
                          bint gradient) noexcept nogil:
    """The chunk's weighted loss sum, from the raw outputs at ws + w.raw and
    the targets (and weights) gathered to its rows; with `gradient`, its
    gradient, scaled by `scale`, at ws + w.draw."""
    cdef Py_ssize_t t, p, r, src, K = net.n_outputs
    cdef floating *y = ws + w.y
    cdef floating *sw = ws + w.sw if weights != NULL else NULL
    cdef floating *draw = ws + w.draw if gradient else NULL
    if net.per_step:
        for t in range(ch.steps):
            for p in range(ch.active[t]):
                r = ch.offset[t] + p
                src = starts[ch.sample[p]] + t
                memcpy(y + r * K, Y + src * K, K * sizeof(floating))
                if sw != NULL:
                    sw[r] = weights[src]
    else:
        for p in range(ch.n):
            memcpy(y + p * K, Y + ch.sample[p] * K, K * sizeof(floating))
            if sw != NULL:
                sw[p] = weights[ch.sample[p]]
    if floating is float:
        return sklstm_loss_f(net.loss, loss_param, rows, K, ws + w.raw, y, sw, scale,
                             draw)
    else:
        return sklstm_loss_d(net.loss, loss_param, rows, K, ws + w.raw, y, sw, scale,
                             draw)


cdef double _chunk_pass(
    const Net *net, const Train *train, const floating *params,
    const Packing *pk, const floating *packed,   # the packed weights
    const floating *X, const Py_ssize_t *starts, const Py_ssize_t *lengths,
    const floating *Y, const floating *weights,
    const Py_ssize_t *samples, Py_ssize_t n, double scale,
    floating *ws,           # OUT: scratch, _carve(net, train, rows, n) elements
    Py_ssize_t *index_ws,   # OUT: scratch for the packing tables
    floating *grad,         # OUT: this chunk's gradient (n_params), or NULL
    floating *out,          # OUT: outputs (or head features), or NULL
    bint features,          # whether `out` receives the head's input features
    bint caller,            # whether this is the calling thread (signals)
) noexcept nogil:
    """Forward pass of the sequences `samples[:n]` and, when `grad` is not
    NULL, their backward pass. Sequence s has lengths[s] steps, the rows
    starts[s] .. of X (and, for per-step heads, of Y and weights). Returns the
    chunk's weighted loss sum (0 when Y is NULL); the loss gradient is scaled
    by `scale` (1 / minibatch weight)."""
    cdef:
        Chunk ch
        Work w
        Py_ssize_t l, d, rows
        bint training = grad != NULL
        floating *inp
        floating *feat
        floating *dfeat
        floating *dh
        const floating *head_in
        double loss

    if train.poll.stop:
        return 0  # the chunks after a signal: skip their gather and GEMMs too
    _order_chunk(samples, n, lengths, index_ws, &ch)
    _carve(net, train, ch.rows, n, grad != NULL, &w)
    rows = ch.rows if net.per_step else n
    dh = ws + w.dh

    _gather(net, &ch, params, X, starts, ws + w.x_in)
    for l in range(net.n_layers):
        inp = _layer_input(net, train, &ch, &w, l, ws)
        for d in range(net.n_dirs):
            if _lstm_forward(net, train, &ch, &w, pk, l, d, params, packed, inp, ws,
                             training, caller):
                return 0
    feat = _head_input(net, train, &ch, &w, ws)
    if features:
        _scatter(net, &ch, starts, _head_width(net, 0), feat, out)
        return 0
    head_in = _head_forward(net, pk, rows, params, packed, feat, &w, ws)
    if out != NULL:
        _scatter(net, &ch, starts, net.n_outputs, ws + w.raw, out)
    if Y == NULL:
        return 0
    loss = _loss_forward(net, &ch, starts, Y, weights, rows, scale, train.loss_param, &w,
                         ws, training)
    if not training:
        return loss

    # Backward. Weight gradients are written with beta = 0; the parameters
    # that accumulate (biases, peepholes, embedding) follow the weights in the
    # layout and are zeroed first.
    memset(grad + net.n_weights, 0, (net.n_params - net.n_weights) * sizeof(floating))
    dfeat = _head_backward(net, train, rows, params, feat, head_in, &w, ws, dh, grad)
    _head_input_backward(net, train, &ch, &w, ws, dfeat, dh)
    for l in range(net.n_layers - 1, -1, -1):
        inp = ws + (w.x_in if l == 0 else
                    w.drop_in[l] if train.dropout > 0 else w.out[l - 1])
        for d in range(net.n_dirs):
            if _lstm_backward(net, train, &ch, &w, pk, l, d, params, packed, inp, ws,
                              dh, grad, caller):
                return 0
        if _needs_input_gradient(net, l):
            _layer_input_backward(net, train, &ch, &w, pk, l, packed, ws, dh)
    if net.embedding >= 0:
        _gather_backward(net, &ch, X, starts, dh, grad)
    return loss


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
    const Packing *pk,
    floating *packed,   # OUT: the packed weights
    const floating *X, const Py_ssize_t *starts, const Py_ssize_t *lengths,
    const floating *Y, const floating *weights,
    const Py_ssize_t *samples, Py_ssize_t n_batch, Py_ssize_t chunk_size,
    double alpha, double clip_norm, int n_threads,
    floating *ws, Py_ssize_t ws_size,      # OUT: n_threads workspaces
    Py_ssize_t *index_ws, Py_ssize_t index_size,
    floating *grads,    # OUT: ceil(n_batch / chunk_size) * n_params, or NULL;
                        #      grads[:n_params] ends as the minibatch gradient
    double *chunk_loss,  # OUT: one per chunk
    floating *out,      # OUT: outputs or features, or NULL
    bint features,
    sklstm_thread_policy *policy,  # this fit's serial/parallel timings, or NULL
) noexcept nogil:
    """Forward (and, with `grads`, backward) pass of one minibatch, on weights
    packed once, chunks in parallel where that pays (src_c/threads.h).
    Returns the mean loss (with scikit-learn MLP's L2 term, 0.5 * alpha *
    ||W||^2 / the minibatch's weight, see `mass`) and leaves its
    gradient, clipped to a global norm of at most `clip_norm` (when > 0), in
    grads[:n_params]."""
    cdef:
        Py_ssize_t n_chunks = (n_batch + chunk_size - 1) // chunk_size
        Py_ssize_t c, p, t, steps = 0, n_params = net.n_params
        Py_ssize_t tid, next_chunk = 0
        int team = 1
        bint timed
        double flops, started = 0
        double total_weight = 0, scale = 0, loss = 0, penalty = 0, norm = 0
        double mass = 0
        floating acc
        floating factor

    for c in range(n_batch):
        steps += lengths[samples[c]]
    if Y != NULL:
        # The loss is a mean over the output rows: sequences, or real steps.
        if weights == NULL:
            total_weight = steps if net.per_step else n_batch
        else:
            for c in range(n_batch):
                if net.per_step:
                    for t in range(lengths[samples[c]]):
                        total_weight += weights[starts[samples[c]] + t]
                else:
                    total_weight += weights[samples[c]]
        # All-zero weights leave nothing to learn from: a zero gradient.
        scale = 1 / total_weight if total_weight > 0 else 0
        # The L2 term is divided by the minibatch's weight in sequences, as
        # scikit-learn's MLP divides it by the sum of the sample weights: so
        # a weight of k is k repetitions and a zero weight a removed sample.
        # That is n_batch without weights; for per-step heads, the mean step
        # weight times n_batch (exactly the sum for sequences of one length).
        mass = total_weight * n_batch / (steps if net.per_step else n_batch)

    _pack_weights(net, pk, params, grads != NULL, packed)
    # Threads only where they pay: enough work to amortize a fork/join, more
    # than one chunk, threads left in the process-wide budget, and (in a fit)
    # parallel minibatches measured faster than serial ones on this machine
    # as it is loaded now. A serial pass holds its one thread of the budget
    # too, so that the helpers of a concurrent call see the process crowded.
    flops = _flops(net, steps)
    timed = (policy != NULL and flops >= PARALLEL_MIN_FLOPS and n_chunks > 1
             and n_threads > 1)
    if (flops >= PARALLEL_MIN_FLOPS and n_chunks > 1 and n_threads > 1
            and sklstm_policy_parallel(policy)):
        team = sklstm_threads_acquire(min(n_threads, n_chunks))
    else:
        team = sklstm_threads_acquire(1)
    if timed:
        started = sklstm_threads_now()
    if team == 1:
        for c in range(n_chunks):
            chunk_loss[c] = _chunk_pass(
                net, train, params, pk, packed, X, starts, lengths, Y, weights,
                samples + c * chunk_size, min(chunk_size, n_batch - c * chunk_size),
                scale, ws, index_ws, grads + c * n_params if grads != NULL else NULL,
                out, features, True)
    else:
        # A chunk goes to whichever thread claims it next: the calling thread,
        # which polls for signals, keeps claiming until none is left, and a
        # helper leaves when the engine's calls hold more threads than the
        # budget (another Python thread has entered the engine). Each chunk
        # writes its own results, so the schedule leaves them bit-identical.
        with parallel(num_threads=team):
            tid = omp_get_thread_num()
            c = sklstm_threads_claim(&next_chunk)
            while c < n_chunks:
                chunk_loss[c] = _chunk_pass(
                    net, train, params, pk, packed, X, starts, lengths, Y, weights,
                    samples + c * chunk_size, min(chunk_size, n_batch - c * chunk_size),
                    scale, ws + tid * ws_size, index_ws + tid * index_size,
                    grads + c * n_params if grads != NULL else NULL, out, features,
                    tid == 0)
                if tid != 0 and sklstm_threads_crowded():
                    break
                c = sklstm_threads_claim(&next_chunk)
    if timed:
        sklstm_policy_record(policy, team > 1, flops, sklstm_threads_now() - started)

    # Sum the chunk gradients in chunk order, whatever thread computed them:
    # on the minibatch's team when the sums are many (a few ms), in blocks
    # that go to whichever thread is free.
    if grads != NULL and n_chunks > 1 and not train.poll.stop:
        if team > 1 and n_params * (n_chunks - 1) >= PARALLEL_MIN_SUMS:
            for p in prange(n_params, schedule='dynamic', chunksize=SUM_BLOCK,
                            num_threads=team):
                acc = grads[p]
                for c in range(1, n_chunks):
                    acc = acc + grads[c * n_params + p]
                grads[p] = acc
        else:
            for p in range(n_params):
                acc = grads[p]
                for c in range(1, n_chunks):
                    acc = acc + grads[c * n_params + p]
                grads[p] = acc
    sklstm_threads_release(team)

    if Y == NULL or train.poll.stop:
        return 0
    for c in range(n_chunks):
        loss += chunk_loss[c]
    loss *= scale
    if alpha > 0 and mass > 0:
        for p in range(net.n_weights):
            penalty += <double> params[p] * params[p]
        loss += 0.5 * alpha * penalty / mass
    if grads == NULL:
        return loss

    if alpha > 0 and mass > 0:
        factor = <floating> (alpha / mass)
        for p in range(net.n_weights):
            grads[p] += factor * params[p]
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


def activate(int activation, floating[::1] x):
    """Apply a kernel activation in place (for tests of the kernels' accuracy);
    codes as _network.ACTIVATIONS."""
    with nogil:
        _activate(x.shape[0], activation, &x[0])


# Entry points of the element-wise kernels for tests (tests/test_kernels_isa.py
# runs each on every instruction-set path). Like the kernels, they check
# nothing: the caller passes consistent, contiguous arrays.

cdef inline floating *_data(floating[::1] a) noexcept:
    return &a[0] if a is not None and a.shape[0] > 0 else NULL


def activation_backward(int activation, const floating[::1] y, floating[::1] dy):
    """dy *= the slope of the activation at its output y, in place."""
    with nogil:
        _activation_backward(y.shape[0], activation, &y[0], &dy[0])


def cell_forward(Py_ssize_t hidden, const floating[::1] bias, floating[::1] peephole,
                 floating[::1] c_prev, floating[::1] gates, floating[::1] c,
                 floating[::1] act_c, floating[::1] h, Py_ssize_t ldh,
                 int gate_activation, int cell_activation, Py_ssize_t repeat=1):
    """One cell step for gates.shape[0] // (4 * hidden) rows, as
    sklstm_cell_forward (peephole and c_prev may be None); OUT gates, c,
    act_c, h, all flattened row-major. `repeat` runs it that many times
    without returning to Python (benchmarks; gates then hold activated gates
    from the second run on)."""
    cdef Py_ssize_t batch = gates.shape[0] // (4 * hidden), r
    cdef floating *p = _data(peephole)
    cdef floating *cp = _data(c_prev)
    with nogil:
        for r in range(repeat):
            _cell_forward(batch, hidden, &bias[0], p, cp, &gates[0], &c[0], &act_c[0],
                          &h[0], ldh, gate_activation, cell_activation)


def cell_backward(Py_ssize_t hidden, floating[::1] gates, floating[::1] peephole,
                  floating[::1] c_prev, const floating[::1] c, const floating[::1] act_c,
                  const floating[::1] dh, Py_ssize_t lddh, floating[::1] dc,
                  floating[::1] dbias, floating[::1] dpeephole,
                  int gate_activation, int cell_activation):
    """The backward of cell_forward, as sklstm_cell_backward (peephole,
    c_prev and dpeephole may be None); gates, dc, dbias, dpeephole IN/OUT.
    gates comes first: Cython picks the element type from it."""
    cdef Py_ssize_t batch = gates.shape[0] // (4 * hidden)
    cdef floating *p = _data(peephole)
    cdef floating *cp = _data(c_prev)
    cdef floating *dp = _data(dpeephole)
    with nogil:
        _cell_backward(batch, hidden, p, &gates[0], cp, &c[0], &act_c[0], &dh[0], lddh,
                       &dc[0], &dbias[0], dp, gate_activation, cell_activation)


def optimizer_update(int solver, floating[::1] params, const floating[::1] grad,
                     floating[::1] state_1, floating[::1] state_2,
                     double learning_rate, double momentum=0.9, bint nesterov=False,
                     double beta_1=0.9, double beta_2=0.999, double epsilon=1e-8,
                     double rho=0.9, long step=1):
    """One update of `solver` (SGD, ADAM or RMSPROP) in place; state_2 is
    used by Adam only."""
    cdef floating *s2 = _data(state_2)
    with nogil:
        _update(solver, params.shape[0], &params[0], &grad[0], &state_1[0], s2,
                learning_rate, momentum, nesterov, beta_1, beta_2, epsilon, rho, step)


cdef extern from "dispatch.h" nogil:
    int sklstm_isa()
    int sklstm_isa_supported()
    int sklstm_set_isa(int)
    const char *sklstm_isa_name(int)

ISA_NAMES = tuple(sklstm_isa_name(k).decode() for k in range(3))


def isa():
    """The instruction set of the vectorized kernels in use: "avx512", "avx2"
    or "portable" (src_c/dispatch.h)."""
    return sklstm_isa_name(sklstm_isa()).decode()


def isa_supported():
    """The best instruction set this CPU runs."""
    return sklstm_isa_name(sklstm_isa_supported()).decode()


def set_isa(name):
    """Force the kernels' instruction set (tests); returns the one in use,
    which is `name` or, when the CPU lacks it, the best it has."""
    return sklstm_isa_name(sklstm_set_isa(ISA_NAMES.index(name))).decode()


def openmp_enabled():
    """Whether the extension was compiled with OpenMP."""
    return bool(SKLSTM_OPENMP_ENABLED)


def max_threads():
    """OpenMP's current thread limit (honours OMP_NUM_THREADS and threadpoolctl)."""
    return omp_get_max_threads()


THREAD_MODES = ("adaptive", "parallel", "serial")


cdef class ThreadPolicy:
    """A fit's timings of serial and parallel minibatches, from which the
    engine picks the faster kind (src_c/threads.h). One fit uses it at a
    time; results do not depend on it."""
    cdef sklstm_thread_policy policy

    def __cinit__(self):
        sklstm_policy_init(&self.policy)

    def parallel(self):
        """Whether the next minibatch would run in parallel (if large enough)."""
        return bool(sklstm_policy_parallel(&self.policy))

    def record(self, bint in_parallel, double flops, double seconds):
        """Record a minibatch's timing, as the engine does (for tests)."""
        sklstm_policy_record(&self.policy, in_parallel, flops, seconds)

    def __reduce__(self):
        # Timings describe this machine now: a copy starts afresh.
        return ThreadPolicy, ()


def thread_budget():
    """Threads the engine may run at once over all concurrent calls."""
    return sklstm_threads_budget()


def set_thread_budget(int n_threads):
    """Set the process-wide thread budget (at least 1)."""
    sklstm_threads_set_budget(n_threads)


def threads_in_use():
    """Threads that calls into the engine hold now."""
    return sklstm_threads_in_use()


def thread_mode():
    """"adaptive" (time serial and parallel minibatches, keep the faster),
    "parallel" (whenever the work is large enough) or "serial"; the
    environment variable SKLSTM_THREADS sets it at import."""
    return THREAD_MODES[sklstm_threads_mode()]


def set_thread_mode(name):
    """Set the thread mode (tests force "parallel"); returns the previous one."""
    previous = thread_mode()
    sklstm_threads_set_mode(THREAD_MODES.index(name))
    return previous


# The Python entry points take sequences end to end: X of shape
# (total steps, n_inputs) and, for each sequence, its first row (`starts`) and
# its number of steps (`lengths`). A 3D array (n, T, D) is the special case
# starts = T * arange(n), lengths = T.

cdef class _Buffers:
    """Per-thread workspaces, per-chunk gradients and losses, and the packed
    weights for _minibatch, sized for minibatches of n_batch sequences of at
    most max_length steps."""
    cdef public object ws, index_ws, grads, chunk_loss, packed
    cdef public Py_ssize_t ws_size, index_size
    cdef Packing pk

    def __init__(self, const Py_ssize_t[::1] layout, double dropout,
                 double recurrent_dropout, Py_ssize_t max_length, Py_ssize_t n_batch,
                 Py_ssize_t chunk_size, int n_threads, dtype, bint with_grads):
        cdef Net net = _unpack(layout)
        cdef Train train = _train(dropout, recurrent_dropout, 0)
        cdef Work w
        cdef Py_ssize_t n_chunks = (n_batch + chunk_size - 1) // chunk_size
        cdef Py_ssize_t bc = min(chunk_size, n_batch)
        n_threads = max(1, min(n_threads, n_chunks))
        self.ws_size = _carve(&net, &train, max_length * bc, bc, with_grads, &w)
        self.index_size = 2 * bc + 2 * max_length + 1
        self.ws = np.empty(n_threads * self.ws_size, dtype=dtype)
        self.index_ws = np.empty(n_threads * self.index_size, dtype=np.intp)
        self.grads = np.empty(n_chunks * net.n_params if with_grads else 1, dtype=dtype)
        self.chunk_loss = np.empty(n_chunks, dtype=np.float64)
        self.packed = np.empty(
            _plan_packing(&net, np.dtype(dtype) == np.float64, with_grads, &self.pk),
            dtype=dtype)


cdef Py_ssize_t _longest(const Py_ssize_t[::1] lengths):
    """The largest of `lengths` (0 for none): np.max costs more than the rest
    of a one-sequence prediction's set-up."""
    cdef Py_ssize_t i, longest = 0
    for i in range(lengths.shape[0]):
        longest = max(longest, lengths[i])
    return longest


cdef Train _train(double dropout, double recurrent_dropout, uint64_t seed):
    cdef Train train
    train.dropout = dropout
    train.recurrent_dropout = recurrent_dropout
    train.seed = seed
    train.loss_param = 0
    train.poll = NULL
    return train


# Python's main thread, the only one that runs signal handlers.
_MAIN_THREAD = threading.main_thread().ident


cdef void _start_poll(Train *train, sklstm_poll *poll):
    """Give the pass `train` the signal poll `poll`; call with the GIL."""
    sklstm_poll_start(poll, PyThread_get_thread_ident() == _MAIN_THREAD)
    train.poll = poll


def forward(const Py_ssize_t[::1] layout, const floating[::1] params,
            const floating[:, ::1] X, const Py_ssize_t[::1] starts,
            const Py_ssize_t[::1] lengths, floating[::1] out, bint features,
            Py_ssize_t chunk_size, int n_threads):
    """Outputs of the network before its link function, or with `features`
    its head's input features, written to the flat `out`: a row per sequence,
    or per step for per-step heads (in X's order)."""
    cdef Net net = _unpack(layout)
    cdef Train train = _train(0, 0, 0)
    cdef sklstm_poll poll
    cdef Py_ssize_t n = lengths.shape[0]
    cdef Py_ssize_t[::1] samples = np.arange(n, dtype=np.intp)
    cdef _Buffers buffers = _Buffers(layout, 0, 0, _longest(lengths), n, chunk_size,
                                     n_threads, np.asarray(params).dtype, False)
    cdef floating[::1] ws = buffers.ws, packed = buffers.packed
    cdef Py_ssize_t[::1] index_ws = buffers.index_ws
    cdef double[::1] chunk_loss = buffers.chunk_loss
    cdef Py_ssize_t ws_size = buffers.ws_size, index_size = buffers.index_size
    _start_poll(&train, &poll)
    with nogil:
        _minibatch(&net, &train, &params[0], &buffers.pk, &packed[0], &X[0, 0],
                           &starts[0], &lengths[0],
                   NULL, NULL, &samples[0], n, chunk_size, 0, 0, n_threads,
                   &ws[0], ws_size, &index_ws[0], index_size, NULL, &chunk_loss[0],
                   &out[0], features, NULL)
    sklstm_poll_raise(&poll)


def loss_gradient(const Py_ssize_t[::1] layout, const floating[::1] params,
                  const floating[:, ::1] X, const Py_ssize_t[::1] starts,
                  const Py_ssize_t[::1] lengths, const floating[::1] Y,
                  const floating[::1] weights, floating[::1] grad, double alpha,
                  double clip_norm, double dropout, double recurrent_dropout,
                  uint64_t seed, Py_ssize_t chunk_size, int n_threads,
                  double loss_param=0):
    """Mean loss of (X, Y) as one minibatch; its gradient is written to `grad`.
    Y is flat: a row per sequence, or per step (in X's order) for per-step
    heads. `weights` (or None) weighs those rows in the mean."""
    cdef Net net = _unpack(layout)
    cdef Train train = _train(dropout, recurrent_dropout, seed)
    cdef sklstm_poll poll
    cdef Py_ssize_t n = lengths.shape[0]
    cdef Py_ssize_t[::1] samples = np.arange(n, dtype=np.intp)
    train.loss_param = loss_param
    cdef _Buffers buffers = _Buffers(layout, dropout, recurrent_dropout, _longest(lengths),
                                     n, chunk_size, n_threads, np.asarray(params).dtype,
                                     True)
    cdef floating[::1] ws = buffers.ws, grads = buffers.grads, packed = buffers.packed
    cdef Py_ssize_t[::1] index_ws = buffers.index_ws
    cdef double[::1] chunk_loss = buffers.chunk_loss
    cdef Py_ssize_t ws_size = buffers.ws_size, index_size = buffers.index_size
    cdef const floating *w = NULL
    cdef double value
    if weights is not None:
        w = &weights[0]
    _start_poll(&train, &poll)
    with nogil:
        value = _minibatch(&net, &train, &params[0], &buffers.pk, &packed[0], &X[0, 0],
                           &starts[0], &lengths[0],
                           &Y[0], w, &samples[0], n, chunk_size, alpha, clip_norm,
                           n_threads, &ws[0], ws_size, &index_ws[0], index_size,
                           &grads[0], &chunk_loss[0], NULL, False, NULL)
    sklstm_poll_raise(&poll)
    grad[:] = grads[:net.n_params]
    return value


def loss(const Py_ssize_t[::1] layout, const floating[::1] params,
         const floating[:, ::1] X, const Py_ssize_t[::1] starts,
         const Py_ssize_t[::1] lengths, const floating[::1] Y,
         const floating[::1] weights, double alpha, Py_ssize_t chunk_size,
         int n_threads, double loss_param=0):
    """Mean loss of (X, Y), forward pass only (no dropout); as loss_gradient."""
    cdef Net net = _unpack(layout)
    cdef Train train = _train(0, 0, 0)
    train.loss_param = loss_param
    cdef sklstm_poll poll
    cdef Py_ssize_t n = lengths.shape[0]
    cdef Py_ssize_t[::1] samples = np.arange(n, dtype=np.intp)
    cdef _Buffers buffers = _Buffers(layout, 0, 0, _longest(lengths), n, chunk_size,
                                     n_threads, np.asarray(params).dtype, False)
    cdef floating[::1] ws = buffers.ws, packed = buffers.packed
    cdef Py_ssize_t[::1] index_ws = buffers.index_ws
    cdef double[::1] chunk_loss = buffers.chunk_loss
    cdef Py_ssize_t ws_size = buffers.ws_size, index_size = buffers.index_size
    cdef const floating *w = NULL
    cdef double value
    if weights is not None:
        w = &weights[0]
    _start_poll(&train, &poll)
    with nogil:
        value = _minibatch(&net, &train, &params[0], &buffers.pk, &packed[0], &X[0, 0],
                           &starts[0], &lengths[0],
                           &Y[0], w, &samples[0], n, chunk_size, alpha, 0, n_threads,
                           &ws[0], ws_size, &index_ws[0], index_size, NULL,
                           &chunk_loss[0], NULL, False, NULL)
    sklstm_poll_raise(&poll)
    return value


def train_epoch(const Py_ssize_t[::1] layout, floating[::1] params,
                const floating[:, ::1] X, const Py_ssize_t[::1] starts,
                const Py_ssize_t[::1] lengths, const floating[::1] Y,
                const floating[::1] weights, const Py_ssize_t[::1] order,
                Py_ssize_t batch_size, double alpha, double clip_norm, double dropout,
                double recurrent_dropout, uint64_t seed,
                int solver, double learning_rate, double momentum, bint nesterov,
                double beta_1, double beta_2, double epsilon, double rho,
                floating[::1] state_1, floating[::1] state_2, long[::1] step,
                Py_ssize_t chunk_size, int n_threads, ThreadPolicy policy=None,
                double loss_param=0):
    """One pass over the sequences in `order`, in minibatches, each followed
    by an optimizer update, without returning to Python; `step` counts the
    updates. `policy` keeps a fit's serial and parallel timings from one
    epoch to the next (None: each minibatch may run in parallel).

    Ctrl-C (a signal whose Python handler raises) stops the pass within a
    timestep and raises, leaving the parameters and optimizer state of the
    last completed minibatch.

    Returns the sum over minibatches of (mean minibatch loss * minibatch size),
    and the first minibatch's mean loss, computed before any update.
    """
    cdef Net net = _unpack(layout)
    cdef Train train = _train(dropout, recurrent_dropout, seed)
    train.loss_param = loss_param
    cdef sklstm_poll poll
    cdef Py_ssize_t n = order.shape[0], start = 0, n_batch
    cdef double total_loss = 0, batch_loss, first_loss = 0
    batch_size = max(1, min(batch_size, n))
    cdef _Buffers buffers = _Buffers(layout, dropout, recurrent_dropout, _longest(lengths),
                                     batch_size, chunk_size, n_threads,
                                     np.asarray(params).dtype, True)
    cdef floating[::1] ws = buffers.ws, grads = buffers.grads, packed = buffers.packed
    cdef Py_ssize_t[::1] index_ws = buffers.index_ws
    cdef double[::1] chunk_loss = buffers.chunk_loss
    cdef Py_ssize_t ws_size = buffers.ws_size, index_size = buffers.index_size
    cdef const floating *w = NULL
    cdef sklstm_thread_policy *timings = NULL
    if weights is not None:
        w = &weights[0]
    if policy is not None:
        timings = &policy.policy
    _start_poll(&train, &poll)
    with nogil:
        while start < n:
            n_batch = min(batch_size, n - start)
            batch_loss = _minibatch(
                &net, &train, &params[0], &buffers.pk, &packed[0], &X[0, 0], &starts[0],
                &lengths[0], &Y[0], w,
                &order[start], n_batch, chunk_size, alpha, clip_norm, n_threads,
                &ws[0], ws_size, &index_ws[0], index_size, &grads[0], &chunk_loss[0],
                NULL, False, timings)
            # A minibatch cut short by a signal leaves no update.
            if _interrupted(&train, True):
                break
            if start == 0:
                first_loss = batch_loss
            total_loss += n_batch * batch_loss
            step[0] += 1
            _update(solver, net.n_params, &params[0], &grads[0], &state_1[0],
                    &state_2[0], learning_rate, momentum, nesterov, beta_1, beta_2,
                    epsilon, rho, step[0])
            start += n_batch
    sklstm_poll_raise(&poll)
    return total_loss, first_loss


# The packed GEMM, reached from Python for its tests and its benchmark.
PANEL_WIDTHS = {"float32": SKLSTM_PANEL_F, "float64": SKLSTM_PANEL_D}


def _pack_for_tests(const floating[:, :] B, out=None):
    """Pack B (K, N; any strides, K and N >= 1) for ``_packed_gemm_for_tests``.

    Returns a 1D array in the panel layout of src_c/recurrent_gemm.h: `out`
    when given (of that size and B's dtype), as the engine packs into a
    buffer of its own. The engine's orientations are ``W_hh.T`` (forward) and
    ``W_hh`` (backward).
    """
    cdef Py_ssize_t K = B.shape[0], N = B.shape[1]
    if K < 1 or N < 1:
        raise ValueError("B must have at least one row and one column")
    cdef ptrdiff_t stride_k = B.strides[0] // <Py_ssize_t> sizeof(floating)
    cdef ptrdiff_t stride_n = B.strides[1] // <Py_ssize_t> sizeof(floating)
    cdef size_t size = (sklstm_packed_size_f(K, N) if floating is float
                        else sklstm_packed_size_d(K, N))
    if out is None:
        out = np.empty(size, np.float32 if floating is float else np.float64)
    cdef floating[::1] packed = out
    if <size_t> packed.shape[0] != size:
        raise ValueError("out does not have the packed size")
    with nogil:
        if floating is float:
            sklstm_pack_f(K, N, &B[0, 0], stride_k, stride_n, &packed[0])
        else:
            sklstm_pack_d(K, N, &B[0, 0], stride_k, stride_n, &packed[0])
    return out


def _packed_gemm_for_tests(const floating[:, :] A, const floating[::1] packed,
                           floating[:, :] C, bint beta, Py_ssize_t n_begin=0, n_end=None,
                           Py_ssize_t repeat=1):
    """``C[:, n_begin:n_end] = beta * C[...] + (A @ B)[:, n_begin:n_end]`` in
    place, B (K, N) packed by ``_pack_for_tests``, on the ISA path in use.

    A (M, K) and C (M, N) may have rows apart by more than their width (a
    view of a wider array) but need contiguous rows; n_begin is a multiple of
    the panel width (``PANEL_WIDTHS``). `repeat` runs the product that many
    times without returning to Python (benchmarks; with beta 1 it accumulates).
    """
    cdef Py_ssize_t M = A.shape[0], K = A.shape[1], N = C.shape[1], r
    cdef Py_ssize_t itemsize = sizeof(floating)
    cdef Py_ssize_t panel = SKLSTM_PANEL_F if floating is float else SKLSTM_PANEL_D
    cdef Py_ssize_t end = N if n_end is None else n_end
    if M < 1 or K < 1 or N < 1 or C.shape[0] != M:
        raise ValueError("A (M, K) and C (M, N) must be non-empty with the same rows")
    if A.strides[1] != itemsize or C.strides[1] != itemsize:
        raise ValueError("the rows of A and C must be contiguous")
    if packed.shape[0] != (N + panel - 1) // panel * panel * K:
        raise ValueError("packed does not hold a K x N matrix")
    if n_begin % panel or not 0 <= n_begin <= end <= N:
        raise ValueError("need 0 <= n_begin <= n_end <= N, n_begin a panel boundary")
    cdef ptrdiff_t lda = A.strides[0] // itemsize, ldc = C.strides[0] // itemsize
    with nogil:
        for r in range(repeat):
            if floating is float:
                sklstm_packed_gemm_cols_f(M, N, K, &A[0, 0], lda, &packed[0], beta,
                                          &C[0, 0], ldc, n_begin, end)
            else:
                sklstm_packed_gemm_cols_d(M, N, K, &A[0, 0], lda, &packed[0], beta,
                                          &C[0, 0], ldc, n_begin, end)


def _transpose_for_tests(const floating[:, ::1] A):
    """A.T as a new C-contiguous array, by the engine's transpose (on the ISA
    path in use)."""
    cdef Py_ssize_t rows = A.shape[0], cols = A.shape[1]
    out = np.empty((cols, rows), np.float32 if floating is float else np.float64)
    cdef floating[:, ::1] At = out
    if rows > 0 and cols > 0:
        with nogil:
            _transpose(rows, cols, &A[0, 0], cols, &At[0, 0], rows)
    return out


def _blas_gemm_for_bench(const floating[:, ::1] A, const floating[:, ::1] W,
                         floating[:, ::1] C, bint transpose_w, Py_ssize_t repeat=1):
    """``C += A @ (W.T if transpose_w else W)``, `repeat` times, through the
    engine's own BLAS call (scipy's cython_blas, which repacks W every call):
    the baseline of benchmarks/bench_recurrent_gemm.py."""
    cdef Py_ssize_t M = A.shape[0], K = A.shape[1], N = C.shape[1], r
    if C.shape[0] != M or (W.shape[1] if transpose_w else W.shape[0]) != K \
            or (W.shape[0] if transpose_w else W.shape[1]) != N:
        raise ValueError("shapes do not match")
    with nogil:
        for r in range(repeat):
            gemm(c'n', c't' if transpose_w else c'n', M, N, K, &A[0, 0], K, &W[0, 0],
                 W.shape[1], 1, &C[0, 0], N)
