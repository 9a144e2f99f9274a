/*
 * Element-wise kernels of the sklstm engine: the fused LSTM cell (forward and
 * backward), the output losses and the optimizer updates, each for float (_f)
 * and double (_d).
 *
 * Kernels are dumb: pointers and sizes in, preallocated buffers out, no
 * validation, no allocation. All matrices are row-major and contiguous.
 * Gate order is i, f, g, o (PyTorch and Keras order).
 */
#ifndef SKLSTM_KERNELS_H
#define SKLSTM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Output heads: which link function and loss follow the output layer. */
enum sklstm_loss {
    SKLSTM_SQUARED_ERROR = 0, /* identity output, 0.5 * squared error */
    SKLSTM_BINARY_LOG_LOSS = 1, /* logistic output, binary cross-entropy per column */
    SKLSTM_MULTI_LOG_LOSS = 2, /* softmax output, categorical cross-entropy */
    /* The regressor's other losses, on an identity output, each with one
     * parameter (loss_param): */
    SKLSTM_ABSOLUTE_ERROR = 3, /* |e| (no parameter) */
    SKLSTM_HUBER = 4,          /* 0.5 e^2 for |e| <= delta, else delta (|e| - delta / 2) */
    SKLSTM_QUANTILE = 5        /* the pinball loss of quantile q: max(q r, (q - 1) r), r = -e */
};

/* Activation of the gates i, f, o (Keras' recurrent_activation). */
enum sklstm_gate_activation {
    SKLSTM_SIGMOID = 0,
    SKLSTM_HARD_SIGMOID = 1 /* max(0, min(1, x / 6 + 1 / 2)), as Keras 3 and PyTorch */
};

/* Activation of the candidate g and of the cell state (Keras' activation),
 * and of dense layers. */
enum sklstm_activation {
    SKLSTM_TANH = 0,
    SKLSTM_RELU = 1,
    SKLSTM_IDENTITY = 2,
    SKLSTM_LOGISTIC = 3
};

#define SKLSTM_DECLARE(REAL, SUFFIX)                                                 \
    void sklstm_cell_forward_##SUFFIX(                                               \
        ptrdiff_t batch, ptrdiff_t hidden, const REAL *bias, const REAL *peephole,   \
        const REAL *c_prev, REAL *gates, REAL *c, REAL *act_c, REAL *h,              \
        ptrdiff_t ldh, int gate_activation, int cell_activation);                    \
    void sklstm_cell_backward_##SUFFIX(                                              \
        ptrdiff_t batch, ptrdiff_t hidden, const REAL *peephole, REAL *gates,        \
        const REAL *c_prev, const REAL *c, const REAL *act_c, const REAL *dh,        \
        ptrdiff_t lddh, REAL *dc, REAL *dbias, REAL *dpeephole,                      \
        int gate_activation, int cell_activation);                                   \
    void sklstm_activate_##SUFFIX(ptrdiff_t n, int activation, REAL *x);             \
    void sklstm_dropout_mask_##SUFFIX(                                               \
        ptrdiff_t batch, ptrdiff_t width, const ptrdiff_t *samples, uint64_t seed,   \
        uint64_t site, double rate, REAL *mask);                                     \
    void sklstm_activation_backward_##SUFFIX(                                        \
        ptrdiff_t n, int activation, const REAL *y, REAL *dy);                       \
    double sklstm_loss_##SUFFIX(                                                     \
        int loss, double loss_param, ptrdiff_t batch, ptrdiff_t n_outputs,          \
        const REAL *raw, const REAL *y, const REAL *sample_weight, double scale,     \
        REAL *draw);                                                                 \
    void sklstm_sgd_update_##SUFFIX(                                                 \
        ptrdiff_t n, REAL *params, const REAL *grad, REAL *velocity,                 \
        double learning_rate, double momentum, int nesterov);                        \
    void sklstm_adam_update_##SUFFIX(                                                \
        ptrdiff_t n, REAL *params, const REAL *grad, REAL *m, REAL *v,               \
        double learning_rate, double beta_1, double beta_2, double epsilon,          \
        long step);                                                                  \
    void sklstm_rmsprop_update_##SUFFIX(                                             \
        ptrdiff_t n, REAL *params, const REAL *grad, REAL *v,                        \
        double learning_rate, double rho, double epsilon);

SKLSTM_DECLARE(float, f)
SKLSTM_DECLARE(double, d)

#undef SKLSTM_DECLARE

#endif
