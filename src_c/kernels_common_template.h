/*
 * The kernels whose cost is negligible (once per minibatch or per output
 * row), compiled once per element type by kernels.c, which defines REAL, FN
 * and EXP: the output losses and the dropout masks. The hot element-wise
 * kernels, compiled once per instruction set, are in kernels_template.h.
 */

/* Two branches so that exp never overflows: exp(-|x|) is always <= 1 (the
 * same formula as kernels_template.h's). */
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

/* One of the regressor's other losses (SKLSTM_ABSOLUTE_ERROR and after) of
 * the error e = prediction - target, and (OUT) its derivative with respect
 * to the prediction; `param` is the Huber loss's delta or the quantile
 * loss's q. At a kink the slope is a subgradient: 0 for |e| at 0 (PyTorch's
 * sign), the quadratic side's at |e| = delta, 1 - q for the quantile loss at
 * 0. */
static inline double FN(regression_loss)(int loss, double param, double e, double *slope)
{
    switch (loss) {
    case SKLSTM_ABSOLUTE_ERROR:
        *slope = e > 0 ? 1.0 : (e < 0 ? -1.0 : 0.0);
        return fabs(e);
    case SKLSTM_HUBER:
        if (fabs(e) <= param) {
            *slope = e;
            return 0.5 * e * e;
        }
        *slope = e > 0 ? param : -param;
        return param * (fabs(e) - 0.5 * param);
    default:  /* SKLSTM_QUANTILE */
        /* The residual target - prediction is -e: a prediction below the
         * target (e < 0) costs q per unit, one above it 1 - q. */
        *slope = e < 0 ? -param : 1.0 - param;
        return e < 0 ? -param * e : (1.0 - param) * e;
    }
}

double FN(sklstm_loss)(
    int loss, double loss_param, ptrdiff_t batch, ptrdiff_t n_outputs, const REAL *raw,
    const REAL *y, const REAL *sample_weight, double scale, REAL *draw)
{
    /* raw (batch, n_outputs): the output layer before its link function.
     * Returns sum_b w_b * loss_b; draw (OUT, may be NULL) receives
     * scale * w_b * d loss_b / d raw. loss_b is the mean over the outputs of
     * a regression loss (0.5 * the squared error, as in scikit-learn's MLP,
     * or one of regression_loss's), the binary cross-entropy summed over the
     * outputs, or the categorical cross-entropy. */
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
        } else if (loss >= SKLSTM_ABSOLUTE_ERROR) {
            for (ptrdiff_t k = 0; k < K; k++) {
                double slope;
                lb += FN(regression_loss)(loss, loss_param, (double)r[k] - (double)yb[k],
                                          &slope) / (double)K;
                if (d) d[k] = (REAL)(scale * w * slope / (double)K);
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
