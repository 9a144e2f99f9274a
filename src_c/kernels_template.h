/*
 * Kernel bodies, written once and compiled for float and double by kernels.c,
 * which defines REAL (the element type), FN(name) (the suffixed function name)
 * and the matching libm functions EXP, LOG1P, TANH, SQRT.
 */

/* Two branches so that exp never overflows: exp(-|x|) is always <= 1.
 * Written as a select, so that loops over it vectorize. */
static inline REAL FN(sigmoid)(REAL x)
{
    REAL e = EXP(x >= 0 ? -x : x);
    return (x >= 0 ? (REAL)1 : e) / ((REAL)1 + e);
}

/* log(1 + exp(x)) without overflow for large x or loss of precision for small. */
static inline double FN(softplus)(double x)
{
    return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

static inline REAL FN(gate)(int activation, REAL x)
{
    if (activation == SKLSTM_HARD_SIGMOID) {
        REAL y = x / (REAL)6 + (REAL)0.5;
        return y < 0 ? (REAL)0 : (y > 1 ? (REAL)1 : y);
    }
    return FN(sigmoid)(x);
}

/* The derivative of a gate's activation, from its output y. */
static inline REAL FN(gate_slope)(int activation, REAL y)
{
    if (activation == SKLSTM_HARD_SIGMOID) {
        return (y > 0 && y < 1) ? (REAL)1 / (REAL)6 : (REAL)0;
    }
    return y * ((REAL)1 - y);
}

static inline REAL FN(act)(int activation, REAL x)
{
    switch (activation) {
    case SKLSTM_RELU: return x > 0 ? x : (REAL)0;
    case SKLSTM_IDENTITY: return x;
    case SKLSTM_LOGISTIC: return FN(sigmoid)(x);
    default: return TANH(x);
    }
}

/* The derivative of an activation, from its output y (each one allows it). */
static inline REAL FN(act_slope)(int activation, REAL y)
{
    switch (activation) {
    case SKLSTM_RELU: return y > 0 ? (REAL)1 : (REAL)0;
    case SKLSTM_IDENTITY: return (REAL)1;
    case SKLSTM_LOGISTIC: return y * ((REAL)1 - y);
    default: return (REAL)1 - y * y;
    }
}

/* The standard cell (sigmoid gates, tanh cell, no peepholes) with no branch
 * and no call in its inner loop, which the compiler vectorizes; c_prev_j is
 * c_prev[j] or, at a sequence's first step, 0. */
#define SKLSTM_STANDARD_CELL(c_prev_j)                                        \
    for (ptrdiff_t j = 0; j < H; j++) {                                         \
        REAL i = FN(sigmoid)(z[j] + bias[j]);                                   \
        REAL f = FN(sigmoid)(z[H + j] + bias[H + j]);                           \
        REAL g = TANH(z[2 * H + j] + bias[2 * H + j]);                          \
        REAL o = FN(sigmoid)(z[3 * H + j] + bias[3 * H + j]);                   \
        REAL cj = i * g + f * (c_prev_j);                                       \
        REAL ac = TANH(cj);                                                     \
        z[j] = i;                                                               \
        z[H + j] = f;                                                           \
        z[2 * H + j] = g;                                                       \
        z[3 * H + j] = o;                                                       \
        cb[j] = cj;                                                             \
        acb[j] = ac;                                                            \
        hb[j] = o * ac;                                                         \
    }

static void FN(cell_forward_standard)(
    ptrdiff_t batch, ptrdiff_t hidden, const REAL *restrict bias,
    const REAL *restrict c_prev, REAL *restrict gates, REAL *restrict c,
    REAL *restrict act_c, REAL *restrict h, ptrdiff_t ldh)
{
    const ptrdiff_t H = hidden;
    for (ptrdiff_t b = 0; b < batch; b++) {
        REAL *restrict z = gates + b * 4 * H;
        REAL *restrict cb = c + b * H, *restrict acb = act_c + b * H;
        REAL *restrict hb = h + b * ldh;
        if (c_prev) {
            const REAL *restrict cp = c_prev + b * H;
            SKLSTM_STANDARD_CELL(cp[j])
        } else {
            SKLSTM_STANDARD_CELL((REAL)0)
        }
    }
}
#undef SKLSTM_STANDARD_CELL

void FN(sklstm_cell_forward)(
    ptrdiff_t batch, ptrdiff_t hidden, const REAL *bias, const REAL *peephole,
    const REAL *c_prev, REAL *gates, REAL *c, REAL *act_c, REAL *h,
    ptrdiff_t ldh, int gate_activation, int cell_activation)
{
    if (!peephole && gate_activation == SKLSTM_SIGMOID && cell_activation == SKLSTM_TANH) {
        FN(cell_forward_standard)(batch, hidden, bias, c_prev, gates, c, act_c, h, ldh);
        return;
    }
    /* One step of one direction for a batch.
     * gates (batch, 4H): IN the pre-activations without bias, OUT the activated
     * gates i, f, g, o, kept for the backward pass. peephole (3H: p_i, p_f,
     * p_o) or NULL. c_prev (batch, H) is NULL at the first step (zero initial
     * state). OUT c and act_c = activation(c) (batch, H), and h (batch rows
     * ldh apart, H columns). */
    const ptrdiff_t H = hidden;
    for (ptrdiff_t b = 0; b < batch; b++) {
        REAL *z = gates + b * 4 * H;
        const REAL *cp = c_prev ? c_prev + b * H : NULL;
        REAL *cb = c + b * H, *acb = act_c + b * H, *hb = h + b * ldh;
        for (ptrdiff_t j = 0; j < H; j++) {
            REAL cpj = cp ? cp[j] : (REAL)0;
            REAL zi = z[j] + bias[j], zf = z[H + j] + bias[H + j];
            REAL zo = z[3 * H + j] + bias[3 * H + j];
            if (peephole) {
                zi += peephole[j] * cpj;
                zf += peephole[H + j] * cpj;
            }
            REAL i = FN(gate)(gate_activation, zi);
            REAL f = FN(gate)(gate_activation, zf);
            REAL g = FN(act)(cell_activation, z[2 * H + j] + bias[2 * H + j]);
            REAL cj = f * cpj + i * g;
            if (peephole) {
                zo += peephole[2 * H + j] * cj;
            }
            REAL o = FN(gate)(gate_activation, zo);
            REAL ac = FN(act)(cell_activation, cj);
            z[j] = i;
            z[H + j] = f;
            z[2 * H + j] = g;
            z[3 * H + j] = o;
            cb[j] = cj;
            acb[j] = ac;
            hb[j] = o * ac;
        }
    }
}

void FN(sklstm_cell_backward)(
    ptrdiff_t batch, ptrdiff_t hidden, const REAL *peephole, REAL *gates,
    const REAL *c_prev, const REAL *c, const REAL *act_c, const REAL *dh,
    ptrdiff_t lddh, REAL *dc, REAL *dbias, REAL *dpeephole,
    int gate_activation, int cell_activation)
{
    /* gates (batch, 4H): IN the activated gates of this step, OUT the gradient
     * of the loss with respect to their pre-activations (dz). dh (batch rows
     * lddh apart, H columns) is the total gradient reaching h_t. dc (batch, H):
     * IN the gradient reaching c_t from the next step (zero at the last), OUT
     * the gradient reaching c_{t-1}. dbias (4H) and dpeephole (3H, with
     * peephole) accumulate over the batch. */
    const ptrdiff_t H = hidden;
    for (ptrdiff_t b = 0; b < batch; b++) {
        REAL *z = gates + b * 4 * H;
        const REAL *cp = c_prev ? c_prev + b * H : NULL;
        const REAL *cb = c + b * H, *acb = act_c + b * H, *dhb = dh + b * lddh;
        REAL *dcb = dc + b * H;
        for (ptrdiff_t j = 0; j < H; j++) {
            REAL i = z[j], f = z[H + j], g = z[2 * H + j], o = z[3 * H + j];
            REAL ac = acb[j], cpj = cp ? cp[j] : (REAL)0;
            REAL dzo = dhb[j] * ac * FN(gate_slope)(gate_activation, o);
            REAL dct = dcb[j] + dhb[j] * o * FN(act_slope)(cell_activation, ac);
            if (peephole) {
                dct += dzo * peephole[2 * H + j];
            }
            REAL dzi = dct * g * FN(gate_slope)(gate_activation, i);
            REAL dzf = dct * cpj * FN(gate_slope)(gate_activation, f);
            REAL dzg = dct * i * FN(act_slope)(cell_activation, g);
            REAL dcp = dct * f;
            if (peephole) {
                dcp += dzi * peephole[j] + dzf * peephole[H + j];
                dpeephole[j] += dzi * cpj;
                dpeephole[H + j] += dzf * cpj;
                dpeephole[2 * H + j] += dzo * cb[j];
            }
            dcb[j] = dcp;
            z[j] = dzi;
            z[H + j] = dzf;
            z[2 * H + j] = dzg;
            z[3 * H + j] = dzo;
            dbias[j] += dzi;
            dbias[H + j] += dzf;
            dbias[2 * H + j] += dzg;
            dbias[3 * H + j] += dzo;
        }
    }
}

void FN(sklstm_activate)(ptrdiff_t n, int activation, REAL *x)
{
    for (ptrdiff_t p = 0; p < n; p++) x[p] = FN(act)(activation, x[p]);
}

/* splitmix64's finalizer: a bijective hash with good avalanche. */
static inline uint64_t FN(hash)(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

void FN(sklstm_dropout_mask)(
    ptrdiff_t batch, ptrdiff_t width, const ptrdiff_t *samples, uint64_t seed,
    uint64_t site, double rate, REAL *mask)
{
    /* Inverted dropout: mask (batch, width) OUT holds 1 / (1 - rate) or 0.
     * Each value is a hash of (seed, sample id, site, unit) and of nothing
     * else, so masks do not depend on the chunk, the thread or the order of
     * the minibatch: results stay bit-identical for any thread count. */
    const REAL keep = (REAL)(1.0 / (1.0 - rate));
    for (ptrdiff_t b = 0; b < batch; b++) {
        uint64_t base = FN(hash)(seed ^ FN(hash)((uint64_t)samples[b] * UINT64_C(0x9e3779b97f4a7c15) + site));
        for (ptrdiff_t u = 0; u < width; u++) {
            double uniform = (double)(FN(hash)(base + (uint64_t)u) >> 11) * 0x1.0p-53;
            mask[b * width + u] = uniform >= rate ? keep : (REAL)0;
        }
    }
}

void FN(sklstm_activation_backward)(ptrdiff_t n, int activation, const REAL *y, REAL *dy)
{
    /* dy (OUT): the gradient after the activation, times its slope at y. */
    for (ptrdiff_t p = 0; p < n; p++) dy[p] *= FN(act_slope)(activation, y[p]);
}

double FN(sklstm_loss)(
    int loss, ptrdiff_t batch, ptrdiff_t n_outputs, const REAL *raw,
    const REAL *y, const REAL *sample_weight, double scale, REAL *draw)
{
    /* raw (batch, n_outputs): the output layer before its link function.
     * Returns sum_b w_b * loss_b; draw (OUT, may be NULL) receives
     * scale * w_b * d loss_b / d raw. loss_b is 0.5 * the mean squared error over
     * the outputs, the binary cross-entropy summed over the outputs, or the
     * categorical cross-entropy (as in scikit-learn's MLP). */
    const ptrdiff_t K = n_outputs;
    double total = 0.0;
    for (ptrdiff_t b = 0; b < batch; b++) {
        const REAL *r = raw + b * K, *yb = y + b * K;
        REAL *d = draw ? draw + b * K : NULL;
        double w = sample_weight ? (double)sample_weight[b] : 1.0;
        double lb = 0.0;
        if (loss == SKLSTM_SQUARED_ERROR) {
            for (ptrdiff_t k = 0; k < K; k++) {
                double e = (double)r[k] - (double)yb[k];
                lb += 0.5 * e * e / (double)K;
                if (d) d[k] = (REAL)(scale * w * e / (double)K);
            }
        } else if (loss == SKLSTM_BINARY_LOG_LOSS) {
            for (ptrdiff_t k = 0; k < K; k++) {
                double x = r[k], t = yb[k];
                lb += FN(softplus)(x) - t * x;
                if (d) d[k] = (REAL)(scale * w * ((double)FN(sigmoid)(r[k]) - t));
            }
        } else {
            double mx = r[0], sum_exp = 0.0, sum_y = 0.0;
            for (ptrdiff_t k = 1; k < K; k++) mx = r[k] > mx ? r[k] : mx;
            for (ptrdiff_t k = 0; k < K; k++) {
                sum_exp += exp((double)r[k] - mx);
                sum_y += yb[k];
            }
            double log_sum_exp = mx + log(sum_exp);
            for (ptrdiff_t k = 0; k < K; k++) {
                lb += (double)yb[k] * (log_sum_exp - (double)r[k]);
                if (d) {
                    double p = exp((double)r[k] - log_sum_exp);
                    d[k] = (REAL)(scale * w * (p * sum_y - (double)yb[k]));
                }
            }
        }
        total += w * lb;
    }
    return total;
}

void FN(sklstm_sgd_update)(
    ptrdiff_t n, REAL *params, const REAL *grad, REAL *velocity,
    double learning_rate, double momentum, int nesterov)
{
    /* scikit-learn's SGDOptimizer: v = momentum * v - lr * g, then the step is
     * v, or momentum * v - lr * g with Nesterov's momentum. */
    const REAL lr = (REAL)learning_rate, mu = (REAL)momentum;
    for (ptrdiff_t p = 0; p < n; p++) {
        REAL v = mu * velocity[p] - lr * grad[p];
        velocity[p] = v;
        params[p] += nesterov ? mu * v - lr * grad[p] : v;
    }
}

void FN(sklstm_adam_update)(
    ptrdiff_t n, REAL *params, const REAL *grad, REAL *m, REAL *v,
    double learning_rate, double beta_1, double beta_2, double epsilon, long step)
{
    /* scikit-learn's AdamOptimizer (Kingma & Ba 2014); step counts from 1. */
    const REAL b1 = (REAL)beta_1, b2 = (REAL)beta_2, eps = (REAL)epsilon;
    const REAL lr_t = (REAL)(learning_rate * sqrt(1.0 - pow(beta_2, (double)step))
                             / (1.0 - pow(beta_1, (double)step)));
    for (ptrdiff_t p = 0; p < n; p++) {
        REAL g = grad[p];
        REAL mp = b1 * m[p] + ((REAL)1 - b1) * g;
        REAL vp = b2 * v[p] + ((REAL)1 - b2) * g * g;
        m[p] = mp;
        v[p] = vp;
        params[p] -= lr_t * mp / (SQRT(vp) + eps);
    }
}

void FN(sklstm_rmsprop_update)(
    ptrdiff_t n, REAL *params, const REAL *grad, REAL *v,
    double learning_rate, double rho, double epsilon)
{
    /* RMSprop (Tieleman & Hinton 2012) in PyTorch's form. */
    const REAL lr = (REAL)learning_rate, r = (REAL)rho, eps = (REAL)epsilon;
    for (ptrdiff_t p = 0; p < n; p++) {
        REAL g = grad[p];
        REAL vp = r * v[p] + ((REAL)1 - r) * g * g;
        v[p] = vp;
        params[p] -= lr * g / (SQRT(vp) + eps);
    }
}
