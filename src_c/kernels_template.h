/*
 * The hot element-wise kernels (the LSTM cell forward and backward, the
 * activations of dense layers, the optimizer updates), written once and
 * compiled by kernels.c for each element type and instruction set. kernels.c
 * defines REAL (the element type), FN(name) (the name with its type and
 * instruction-set suffix), TARGET (the function attribute that compiles a
 * copy for one instruction set, empty for the portable one) and the matching
 * math functions EXP, TANH, SQRT.
 *
 * The copies are the same C, so the compiler vectorizes each loop for its
 * instruction set. They compute the same IEEE operations in the same order
 * (the build contracts no multiply-add: -std=c99 sets -ffp-contract=off), so
 * every copy gives the same bits as the portable one.
 *
 * Each row is computed on its own and the bias and peephole gradients are
 * accumulated one row after the other, in ascending order, for every
 * element: a sequence's results do not depend on which others share its
 * batch.
 */

#ifndef SKLSTM_ALWAYS_INLINE
/* For the helpers of a loop that must vectorize: GCC's inlining limits
 * otherwise leave some calls in place, and a call keeps the loop scalar. */
#if defined(__GNUC__) || defined(__clang__)
#define SKLSTM_ALWAYS_INLINE __attribute__((always_inline))
#else
#define SKLSTM_ALWAYS_INLINE
#endif
#endif

#ifndef SKLSTM_IVDEP
/* The cell loops read and write four gate blocks (and four bias-gradient
 * blocks) H apart in one array. They never overlap, but H is known only at
 * run time: GCC would need a run-time overlap check for every pair, more
 * than it allows (the backward was left scalar), so the loops say it. */
#if defined(__clang__)
#define SKLSTM_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define SKLSTM_IVDEP _Pragma("GCC ivdep")
#else
#define SKLSTM_IVDEP
#endif
#endif

/* Two branches so that exp never overflows: exp(-|x|) is always <= 1.
 * Written as a select, so that loops over it vectorize. */
TARGET static inline REAL FN(sigmoid)(REAL x)
{
    REAL e = EXP(x >= 0 ? -x : x);
    return (x >= 0 ? (REAL)1 : e) / ((REAL)1 + e);
}

TARGET static inline REAL FN(gate)(int activation, REAL x)
{
    if (activation == SKLSTM_HARD_SIGMOID) {
        REAL y = x / (REAL)6 + (REAL)0.5;
        return y < 0 ? (REAL)0 : (y > 1 ? (REAL)1 : y);
    }
    return FN(sigmoid)(x);
}

/* The derivative of a gate's activation, from its output y. */
TARGET static inline REAL FN(gate_slope)(int activation, REAL y)
{
    if (activation == SKLSTM_HARD_SIGMOID) {
        return (y > 0 && y < 1) ? (REAL)1 / (REAL)6 : (REAL)0;
    }
    return y * ((REAL)1 - y);
}

TARGET static inline REAL FN(act)(int activation, REAL x)
{
    switch (activation) {
    case SKLSTM_RELU: return x > 0 ? x : (REAL)0;
    case SKLSTM_IDENTITY: return x;
    case SKLSTM_LOGISTIC: return FN(sigmoid)(x);
    default: return TANH(x);
    }
}

/* The derivative of an activation, from its output y (each one allows it). */
TARGET static inline REAL FN(act_slope)(int activation, REAL y)
{
    switch (activation) {
    case SKLSTM_RELU: return y > 0 ? (REAL)1 : (REAL)0;
    case SKLSTM_IDENTITY: return (REAL)1;
    case SKLSTM_LOGISTIC: return y * ((REAL)1 - y);
    default: return (REAL)1 - y * y;
    }
}

#if SKLSTM_FUSED_FLOAT_CELL
/* The float standard cell, written for speed: it was a third of a small
 * model's prediction, and these three changes from the general loop made it
 * 1.5x faster (benchmarks/bench_predict_bound.py, AVX-512):
 * - multiply-adds (FMA: fused on the AVX2 and AVX-512 paths, which thus
 *   agree bit for bit; a multiply and an add on the portable one, which
 *   differs from them by roundings, as its packed GEMM does);
 * - the five divisions of a cell (three sigmoids 1 / (1 + e), two tanh
 *   p / q) done as two, the divider being the slowest unit: one reciprocal
 *   of the product of (1 + e_i), (1 + e_f) and q_g, one of (1 + e_o) q_c,
 *   each quotient then that reciprocal times the other factors. No overflow
 *   or underflow: 1 + e is in [1, 2] (e = exp(-|z|) <= 1) and q in
 *   [0.0049, 0.90] on the clamped range; it costs about two roundings;
 * - exp(-|z|) alone, the only exp a sigmoid needs (no upper clamp).
 * The operations are otherwise those of sklstm_expf and sklstm_tanhf. */
TARGET SKLSTM_ALWAYS_INLINE static inline float FN(exp_neg_abs)(float z)
{
    float x = -fabsf(z);
    x = x < -87.3365478515625f ? -87.3365478515625f : x;
    const float magic = 12582912.0f;
    const float t = FMA(x, 1.44269504088896341f, magic);
    const float n = t - magic;
    float r = FMA(n, -0.693359375f, x);
    r = FMA(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = FMA(p, r, 1.3981999507e-3f);
    p = FMA(p, r, 8.3334519073e-3f);
    p = FMA(p, r, 4.1665795894e-2f);
    p = FMA(p, r, 1.6666665459e-1f);
    p = FMA(p, r, 5.0000001201e-1f);
    p = FMA(p, r * r, r) + 1.0f;
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* tanh(x) = num / den, sklstm_tanhf's rational function on the clamped x
 * (the caller takes x itself below 4e-4, as sklstm_tanhf). */
TARGET SKLSTM_ALWAYS_INLINE static inline void FN(tanh_parts)(float x, float *num,
                                                       float *den)
{
    const float clamp = 7.90531110763549805f;
    x = x > clamp ? clamp : x;
    x = x < -clamp ? -clamp : x;
    const float x2 = x * x;
    float p = FMA(x2, -2.76076847742355e-16f, 2.00018790482477e-13f);
    p = FMA(x2, p, -8.60467152213735e-11f);
    p = FMA(x2, p, 5.12229709037114e-08f);
    p = FMA(x2, p, 1.48572235717979e-05f);
    p = FMA(x2, p, 6.37261928875436e-04f);
    p = FMA(x2, p, 4.89352455891786e-03f);
    float q = FMA(x2, 1.19825839466702e-06f, 1.18534705686654e-04f);
    q = FMA(x2, q, 2.26843463243900e-03f);
    *num = x * p;
    *den = FMA(x2, q, 4.89352518554385e-03f);
}

#define SKLSTM_STANDARD_CELL(c_prev_j, PEEP)                                  \
    SKLSTM_IVDEP for (ptrdiff_t j = 0; j < H; j++) {                          \
        const float cpj = (c_prev_j);                                           \
        float zi = z[j] + bias[j], zf = z[H + j] + bias[H + j];                 \
        const float zg = z[2 * H + j] + bias[2 * H + j];                        \
        float zo = z[3 * H + j] + bias[3 * H + j];                              \
        if (PEEP) {                                                             \
            zi = FMA(peephole[j], cpj, zi);                                     \
            zf = FMA(peephole[H + j], cpj, zf);                                 \
        }                                                                       \
        const float ei = FN(exp_neg_abs)(zi), ef = FN(exp_neg_abs)(zf);       \
        const float ai = 1.0f + ei, af = 1.0f + ef;                             \
        float pg, qg;                                                           \
        FN(tanh_parts)(zg, &pg, &qg);                                           \
        const float aiaf = ai * af;                                             \
        const float r1 = 1.0f / (aiaf * qg);                                    \
        const float i = (zi >= 0 ? 1.0f : ei) * (af * qg * r1);                 \
        const float f = (zf >= 0 ? 1.0f : ef) * (ai * qg * r1);                 \
        const float g = fabsf(zg) < 0.0004f ? zg : pg * (aiaf * r1);            \
        const float cj = FMA(f, cpj, i * g);                                    \
        if (PEEP) {                                                             \
            zo = FMA(peephole[2 * H + j], cj, zo);                              \
        }                                                                       \
        const float eo = FN(exp_neg_abs)(zo), ao = 1.0f + eo;                  \
        float pc, qc;                                                           \
        FN(tanh_parts)(cj, &pc, &qc);                                           \
        const float r2 = 1.0f / (ao * qc);                                      \
        const float o = (zo >= 0 ? 1.0f : eo) * (qc * r2);                      \
        const float ac = fabsf(cj) < 0.0004f ? cj : pc * (ao * r2);             \
        z[j] = i;                                                               \
        z[H + j] = f;                                                           \
        z[2 * H + j] = g;                                                       \
        z[3 * H + j] = o;                                                       \
        cb[j] = cj;                                                             \
        acb[j] = ac;                                                            \
        hb[j] = o * ac;                                                         \
    }
#else
/* The standard cell (sigmoid gates, tanh cell) with no branch and no call in
 * its inner loop, which the compiler vectorizes. c_prev_j is c_prev[j] or, at
 * a sequence's first step, 0; PEEP (a constant) adds the peepholes. The
 * operations are those of the general loop in cell_forward, in its order. */
#define SKLSTM_STANDARD_CELL(c_prev_j, PEEP)                                  \
    SKLSTM_IVDEP for (ptrdiff_t j = 0; j < H; j++) {                                         \
        const REAL cpj = (c_prev_j);                                            \
        REAL zi = z[j] + bias[j], zf = z[H + j] + bias[H + j];                  \
        REAL zo = z[3 * H + j] + bias[3 * H + j];                               \
        if (PEEP) {                                                             \
            zi += peephole[j] * cpj;                                            \
            zf += peephole[H + j] * cpj;                                        \
        }                                                                       \
        REAL i = FN(sigmoid)(zi);                                               \
        REAL f = FN(sigmoid)(zf);                                               \
        REAL g = TANH(z[2 * H + j] + bias[2 * H + j]);                          \
        REAL cj = f * cpj + i * g;                                              \
        if (PEEP) {                                                             \
            zo += peephole[2 * H + j] * cj;                                     \
        }                                                                       \
        REAL o = FN(sigmoid)(zo);                                               \
        REAL ac = TANH(cj);                                                     \
        z[j] = i;                                                               \
        z[H + j] = f;                                                           \
        z[2 * H + j] = g;                                                       \
        z[3 * H + j] = o;                                                       \
        cb[j] = cj;                                                             \
        acb[j] = ac;                                                            \
        hb[j] = o * ac;                                                         \
    }
#endif

TARGET static void FN(cell_forward_standard)(
    ptrdiff_t batch, ptrdiff_t hidden, const REAL *restrict bias,
    const REAL *restrict peephole, const REAL *restrict c_prev,
    REAL *restrict gates, REAL *restrict c, REAL *restrict act_c,
    REAL *restrict h, ptrdiff_t ldh)
{
    const ptrdiff_t H = hidden;
    for (ptrdiff_t b = 0; b < batch; b++) {
        REAL *restrict z = gates + b * 4 * H;
        REAL *restrict cb = c + b * H, *restrict acb = act_c + b * H;
        REAL *restrict hb = h + b * ldh;
        const REAL *restrict cp = c_prev ? c_prev + b * H : NULL;
        if (peephole) {
            if (cp) {
                SKLSTM_STANDARD_CELL(cp[j], 1)
            } else {
                SKLSTM_STANDARD_CELL((REAL)0, 1)
            }
        } else if (cp) {
            SKLSTM_STANDARD_CELL(cp[j], 0)
        } else {
            SKLSTM_STANDARD_CELL((REAL)0, 0)
        }
    }
}
#undef SKLSTM_STANDARD_CELL

TARGET static void FN(cell_forward)(
    ptrdiff_t batch, ptrdiff_t hidden, const REAL *bias, const REAL *peephole,
    const REAL *c_prev, REAL *gates, REAL *c, REAL *act_c, REAL *h,
    ptrdiff_t ldh, int gate_activation, int cell_activation)
{
    if (gate_activation == SKLSTM_SIGMOID && cell_activation == SKLSTM_TANH) {
        FN(cell_forward_standard)(batch, hidden, bias, peephole, c_prev, gates, c,
                                  act_c, h, ldh);
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

/* The backward of the standard cell, branch-free so that it vectorizes: the
 * slopes of the sigmoid, y (1 - y), and of tanh, 1 - y^2, written out. The
 * operations are those of the general loop in cell_backward, in its order;
 * c_prev_j and PEEP as for SKLSTM_STANDARD_CELL. */
#define SKLSTM_STANDARD_CELL_BACKWARD(c_prev_j, PEEP)                         \
    SKLSTM_IVDEP for (ptrdiff_t j = 0; j < H; j++) {                                         \
        const REAL i = z[j], f = z[H + j], g = z[2 * H + j], o = z[3 * H + j];  \
        const REAL ac = acb[j], cpj = (c_prev_j), dhj = dhb[j];                 \
        const REAL dzo = dhj * ac * (o * ((REAL)1 - o));                        \
        REAL dct = dcb[j] + dhj * o * ((REAL)1 - ac * ac);                      \
        if (PEEP) {                                                             \
            dct += dzo * peephole[2 * H + j];                                   \
        }                                                                       \
        const REAL dzi = dct * g * (i * ((REAL)1 - i));                         \
        const REAL dzf = dct * cpj * (f * ((REAL)1 - f));                       \
        const REAL dzg = dct * i * ((REAL)1 - g * g);                           \
        REAL dcp = dct * f;                                                     \
        if (PEEP) {                                                             \
            dcp += dzi * peephole[j] + dzf * peephole[H + j];                   \
            dpeephole[j] += dzi * cpj;                                          \
            dpeephole[H + j] += dzf * cpj;                                      \
            dpeephole[2 * H + j] += dzo * cb[j];                                \
        }                                                                       \
        dcb[j] = dcp;                                                           \
        z[j] = dzi;                                                             \
        z[H + j] = dzf;                                                         \
        z[2 * H + j] = dzg;                                                     \
        z[3 * H + j] = dzo;                                                     \
        dbias[j] += dzi;                                                        \
        dbias[H + j] += dzf;                                                    \
        dbias[2 * H + j] += dzg;                                                \
        dbias[3 * H + j] += dzo;                                                \
    }

TARGET static void FN(cell_backward_standard)(
    ptrdiff_t batch, ptrdiff_t hidden, const REAL *restrict peephole,
    REAL *restrict gates, const REAL *restrict c_prev, const REAL *restrict c,
    const REAL *restrict act_c, const REAL *restrict dh, ptrdiff_t lddh,
    REAL *restrict dc, REAL *restrict dbias, REAL *restrict dpeephole)
{
    const ptrdiff_t H = hidden;
    /* Rows one after the other, each vectorized over its units: dbias and
     * dpeephole gather the rows in ascending order. */
    for (ptrdiff_t b = 0; b < batch; b++) {
        REAL *restrict z = gates + b * 4 * H;
        const REAL *restrict cb = c + b * H, *restrict acb = act_c + b * H;
        const REAL *restrict dhb = dh + b * lddh;
        const REAL *restrict cp = c_prev ? c_prev + b * H : NULL;
        REAL *restrict dcb = dc + b * H;
        if (peephole) {
            if (cp) {
                SKLSTM_STANDARD_CELL_BACKWARD(cp[j], 1)
            } else {
                SKLSTM_STANDARD_CELL_BACKWARD((REAL)0, 1)
            }
        } else if (cp) {
            SKLSTM_STANDARD_CELL_BACKWARD(cp[j], 0)
        } else {
            SKLSTM_STANDARD_CELL_BACKWARD((REAL)0, 0)
        }
    }
}
#undef SKLSTM_STANDARD_CELL_BACKWARD

TARGET static void FN(cell_backward)(
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
    if (gate_activation == SKLSTM_SIGMOID && cell_activation == SKLSTM_TANH) {
        FN(cell_backward_standard)(batch, hidden, peephole, gates, c_prev, c, act_c,
                                   dh, lddh, dc, dbias, dpeephole);
        return;
    }
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

/* One loop per activation, so that each is free of the switch and
 * vectorizes. */
TARGET static void FN(activate)(ptrdiff_t n, int activation, REAL *restrict x)
{
    switch (activation) {
    case SKLSTM_RELU:
        for (ptrdiff_t p = 0; p < n; p++) x[p] = FN(act)(SKLSTM_RELU, x[p]);
        break;
    case SKLSTM_IDENTITY:
        break;
    case SKLSTM_LOGISTIC:
        for (ptrdiff_t p = 0; p < n; p++) x[p] = FN(act)(SKLSTM_LOGISTIC, x[p]);
        break;
    default:
        for (ptrdiff_t p = 0; p < n; p++) x[p] = FN(act)(SKLSTM_TANH, x[p]);
    }
}

TARGET static void FN(activation_backward)(
    ptrdiff_t n, int activation, const REAL *restrict y, REAL *restrict dy)
{
    /* dy (OUT): the gradient after the activation, times its slope at y. */
    switch (activation) {
    case SKLSTM_RELU:
        for (ptrdiff_t p = 0; p < n; p++) dy[p] *= FN(act_slope)(SKLSTM_RELU, y[p]);
        break;
    case SKLSTM_IDENTITY:
        break;
    case SKLSTM_LOGISTIC:
        for (ptrdiff_t p = 0; p < n; p++) dy[p] *= FN(act_slope)(SKLSTM_LOGISTIC, y[p]);
        break;
    default:
        for (ptrdiff_t p = 0; p < n; p++) dy[p] *= FN(act_slope)(SKLSTM_TANH, y[p]);
    }
}

TARGET static void FN(sgd_update)(
    ptrdiff_t n, REAL *restrict params, const REAL *restrict grad,
    REAL *restrict velocity, double learning_rate, double momentum, int nesterov)
{
    /* scikit-learn's SGDOptimizer: v = momentum * v - lr * g, then the step is
     * v, or momentum * v - lr * g with Nesterov's momentum. */
    const REAL lr = (REAL)learning_rate, mu = (REAL)momentum;
    if (nesterov) {
        for (ptrdiff_t p = 0; p < n; p++) {
            REAL v = mu * velocity[p] - lr * grad[p];
            velocity[p] = v;
            params[p] += mu * v - lr * grad[p];
        }
    } else {
        for (ptrdiff_t p = 0; p < n; p++) {
            REAL v = mu * velocity[p] - lr * grad[p];
            velocity[p] = v;
            params[p] += v;
        }
    }
}

TARGET static void FN(adam_update)(
    ptrdiff_t n, REAL *restrict params, const REAL *restrict grad, REAL *restrict m,
    REAL *restrict v, double learning_rate, double beta_1, double beta_2,
    double epsilon, long step)
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

TARGET static void FN(rmsprop_update)(
    ptrdiff_t n, REAL *restrict params, const REAL *restrict grad, REAL *restrict v,
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
