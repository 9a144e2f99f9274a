/*
 * Kernel bodies, written once and compiled for float and double by kernels.c,
 * which defines REAL (the element type), FN(name) (the suffixed function name)
 * and the matching libm functions EXP, LOG1P, TANH, SQRT.
 */

/* Two branches so that exp never overflows: exp(-|x|) is always <= 1. */
static inline REAL FN(sigmoid)(REAL x)
{
    if (x >= 0) {
        return (REAL)1 / ((REAL)1 + EXP(-x));
    }
    REAL e = EXP(x);
    return e / ((REAL)1 + e);
}

/* log(1 + exp(x)) without overflow for large x or loss of precision for small. */
static inline double FN(softplus)(double x)
{
    return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

void FN(sklstm_cell_forward)(
    ptrdiff_t batch, ptrdiff_t hidden, const REAL *bias, const REAL *c_prev,
    REAL *gates, REAL *c, REAL *tanh_c, REAL *h)
{
    /* gates (batch, 4H): IN the pre-activations without bias, OUT the activated
     * gates i, f, g, o, kept for the backward pass. c_prev (batch, H) is NULL at
     * the first step (zero initial state). OUT c, tanh_c, h (batch, H). */
    const ptrdiff_t H = hidden;
    for (ptrdiff_t b = 0; b < batch; b++) {
        REAL *z = gates + b * 4 * H;
        const REAL *cp = c_prev ? c_prev + b * H : NULL;
        REAL *cb = c + b * H, *tcb = tanh_c + b * H, *hb = h + b * H;
        for (ptrdiff_t j = 0; j < H; j++) {
            REAL i = FN(sigmoid)(z[j] + bias[j]);
            REAL f = FN(sigmoid)(z[H + j] + bias[H + j]);
            REAL g = TANH(z[2 * H + j] + bias[2 * H + j]);
            REAL o = FN(sigmoid)(z[3 * H + j] + bias[3 * H + j]);
            REAL cj = i * g + (cp ? f * cp[j] : (REAL)0);
            REAL tc = TANH(cj);
            z[j] = i;
            z[H + j] = f;
            z[2 * H + j] = g;
            z[3 * H + j] = o;
            cb[j] = cj;
            tcb[j] = tc;
            hb[j] = o * tc;
        }
    }
}

void FN(sklstm_cell_backward)(
    ptrdiff_t batch, ptrdiff_t hidden, REAL *gates, const REAL *c_prev,
    const REAL *tanh_c, const REAL *dh, REAL *dc, REAL *dbias)
{
    /* gates (batch, 4H): IN the activated gates of this step, OUT the gradient
     * of the loss with respect to their pre-activations (dz). dh (batch, H) is
     * the total gradient reaching h_t. dc (batch, H): IN the gradient reaching
     * c_t from step t+1 (zero at the last step), OUT the gradient reaching
     * c_{t-1}. dbias (4H) accumulates dz over the batch. */
    const ptrdiff_t H = hidden;
    for (ptrdiff_t b = 0; b < batch; b++) {
        REAL *z = gates + b * 4 * H;
        const REAL *cp = c_prev ? c_prev + b * H : NULL;
        const REAL *tcb = tanh_c + b * H, *dhb = dh + b * H;
        REAL *dcb = dc + b * H;
        for (ptrdiff_t j = 0; j < H; j++) {
            REAL i = z[j], f = z[H + j], g = z[2 * H + j], o = z[3 * H + j];
            REAL tc = tcb[j];
            REAL dct = dcb[j] + dhb[j] * o * ((REAL)1 - tc * tc);
            REAL cpj = cp ? cp[j] : (REAL)0;
            REAL dzi = dct * g * i * ((REAL)1 - i);
            REAL dzf = dct * cpj * f * ((REAL)1 - f);
            REAL dzg = dct * i * ((REAL)1 - g * g);
            REAL dzo = dhb[j] * tc * o * ((REAL)1 - o);
            dcb[j] = dct * f;
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
