/*
 * Compiles the hot element-wise kernels (kernels_template.h) once for each
 * element type and instruction set, and the others (kernels_common_template.h)
 * once for each element type; the public functions of sklstm_kernels.h call
 * the copy of the instruction set dispatch.h picked.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "dispatch.h"
#include "sklstm_kernels.h"

/* exp for float, inlinable so that loops over it vectorize: Cephes' expf
 * (range reduction by ln 2 in two parts, degree-6 polynomial), 1-2 ulp on
 * [-87.3, 88.3], clamped there (the sigmoid and tanh need no more); NaN for
 * NaN. */
static inline float sklstm_expf(float x)
{
    x = x > 88.3762626647949f ? 88.3762626647949f : x;
    x = x < -87.3365478515625f ? -87.3365478515625f : x;
    /* n = round(x / ln 2) by the 1.5 * 2^23 trick, which vectorizes: the
     * low bits of t then hold n. */
    const float magic = 12582912.0f;
    const float t = x * 1.44269504088896341f + magic;
    float n = t - magic;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^n built from t's bits in unsigned arithmetic, not by converting n to
     * int: a NaN x passes the clamps, and converting NaN is undefined. Then
     * p is NaN, and so is the result. */
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* tanh for float: the rational approximation of Eigen and XNNPACK, odd
 * numerator of degree 13 over even denominator of degree 6 on [-7.9, 7.9]
 * (tanh is 1 to float precision beyond). No exp, hence no cancellation near
 * zero; a few ulp from the true value (tests/test_kernels.py measures it),
 * and several times faster than glibc's tanhf, which goes through expm1f and
 * was a third of a small model's training time. */
static inline float sklstm_tanhf(float x)
{
    const float clamp = 7.90531110763549805f;
    const float small = x;  /* tanh(x) = x (1 - x^2 / 3 + ...) below 4e-4 */
    x = x > clamp ? clamp : x;
    x = x < -clamp ? -clamp : x;
    const float x2 = x * x;
    float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
    p = x2 * p + -8.60467152213735e-11f;
    p = x2 * p + 5.12229709037114e-08f;
    p = x2 * p + 1.48572235717979e-05f;
    p = x2 * p + 6.37261928875436e-04f;
    p = x2 * p + 4.89352455891786e-03f;
    p = x * p;
    float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
    q = x2 * q + 2.26843463243900e-03f;
    q = x2 * q + 4.89352518554385e-03f;
    /* A select rather than a branch (and the division done whatever its
     * outcome), so that loops over it vectorize. */
    const float ratio = p / q;
    return fabsf(small) < 0.0004f ? small : ratio;
}

/* exp for double, inlinable so that loops over it vectorize (glibc's exp is
 * a call, which keeps every double cell loop scalar): Cephes' exp, range
 * reduction by ln 2 in two parts and a (2, 3) Pade form of exp(r), under 1
 * ulp measured (tests/test_kernels_isa.py measures it); clamped to
 * [-708.39, 709.43], where 2^n stays a normal double (the sigmoid and tanh
 * need no more: below, the result is 2.3e-308 instead of a subnormal); NaN
 * for NaN. */
static inline double sklstm_exp(double x)
{
    x = x > 709.43 ? 709.43 : x;
    x = x < -708.39 ? -708.39 : x;
    /* n = round(x / ln 2) by the 1.5 * 2^52 trick, as sklstm_expf. */
    const double magic = 6755399441055744.0;
    const double t = x * 1.4426950408889634074 + magic;
    const double n = t - magic;
    const double r = x - n * 6.93145751953125e-1 - n * 1.42860682030941723212e-6;
    const double r2 = r * r;
    double p = 1.26177193074810590878e-4;
    p = p * r2 + 3.02994407707441961300e-2;
    p = p * r2 + 9.99999999999999999910e-1;
    p = p * r;
    double q = 3.00198505138664455042e-6;
    q = q * r2 + 2.52448340349684104192e-3;
    q = q * r2 + 2.27265548208155028766e-1;
    q = q * r2 + 2.00000000000000000009e0;
    const double e = 1.0 + 2.0 * (p / (q - p));
    /* 2^n from t's bits in unsigned arithmetic (see sklstm_expf). */
    uint64_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - UINT64_C(0x4338000000000000) + 1023u) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}

/* tanh for double, inlinable so that loops over it vectorize: Cephes' tanh,
 * a (3, 3) rational function of x^2 below 0.625 (no exp, hence no
 * cancellation near zero), 1 - 2 / (exp(2|x|) + 1) above, both computed
 * and one selected; |x| clamped at 22, beyond which tanh is 1 in double.
 * On |x| and the sign put back, so that it is exactly odd. Under 2 ulp
 * measured (tests/test_kernels_isa.py). */
static inline double sklstm_tanh(double x)
{
    double a = fabs(x);
    a = a > 22.0 ? 22.0 : a;
    const double a2 = a * a;
    double p = -9.64399179425052238628e-1;
    p = p * a2 + -9.92877231001918586564e1;
    p = p * a2 + -1.61468768441708447952e3;
    double q = a2 + 1.12811678491632931402e2;
    q = q * a2 + 2.23548839060100448583e3;
    q = q * a2 + 4.84406305325125486048e3;
    const double small = a + a * a2 * (p / q);
    const double large = 1.0 - 2.0 / (sklstm_exp(2.0 * a) + 1.0);
    return copysign(a < 0.625 ? small : large, x);
}

/* One instantiation of the hot kernels: element type REAL (suffix S), the
 * math functions, and the instruction set (suffix ISA, attribute TARGET). */
#define SKLSTM_PASTE(a, b, c) a##_##b##_##c
#define SKLSTM_NAME(name, s, isa) SKLSTM_PASTE(name, s, isa)

#define REAL float
#define EXP sklstm_expf
#define TANH sklstm_tanhf
#define SQRT sqrtf
#define FN(name) SKLSTM_NAME(name, f, ISA)
/* The float standard cell's own code (kernels_template.h), with FMA: fused
 * where the instruction set has it, a multiply and an add otherwise. */
#define SKLSTM_FUSED_FLOAT_CELL 1
#define ISA portable
#define TARGET
#define FMA(a, b, c) ((a) * (b) + (c))
#include "kernels_template.h"
#undef ISA
#undef TARGET
#undef FMA
#if SKLSTM_HAVE_X86_COPIES
#define FMA(a, b, c) __builtin_fmaf(a, b, c)
#define ISA avx2
#define TARGET SKLSTM_TARGET_AVX2
#include "kernels_template.h"
#undef ISA
#undef TARGET
#define ISA avx512
#define TARGET SKLSTM_TARGET_AVX512
#include "kernels_template.h"
#undef ISA
#undef TARGET
#undef FMA
#endif
#undef SKLSTM_FUSED_FLOAT_CELL
#undef FN
#define FN(name) name##_f
#include "kernels_common_template.h"
#undef FN
#undef REAL
#undef EXP
#undef TANH
#undef SQRT

#define REAL double
#define EXP sklstm_exp
#define TANH sklstm_tanh
#define SQRT sqrt
#define FN(name) SKLSTM_NAME(name, d, ISA)
#define ISA portable
#define TARGET
#include "kernels_template.h"
#undef ISA
#undef TARGET
#if SKLSTM_HAVE_X86_COPIES
#define ISA avx2
#define TARGET SKLSTM_TARGET_AVX2
#include "kernels_template.h"
#undef ISA
#undef TARGET
#define ISA avx512
#define TARGET SKLSTM_TARGET_AVX512
#include "kernels_template.h"
#undef ISA
#undef TARGET
#endif
#undef FN
#undef EXP
#define EXP exp  /* the losses keep libm's: they are not hot */
#define FN(name) name##_d
#include "kernels_common_template.h"
#undef FN
#undef REAL
#undef EXP
#undef TANH
#undef SQRT

/* The public kernels: one call of the copy in use. sklstm_isa() is a load
 * once the first call has checked the CPU. */
#if SKLSTM_HAVE_X86_COPIES
#define SKLSTM_DISPATCH(name, s, args)                                          \
    switch (sklstm_isa()) {                                                     \
    case SKLSTM_ISA_AVX512: name##_##s##_avx512 args; break;                    \
    case SKLSTM_ISA_AVX2: name##_##s##_avx2 args; break;                        \
    default: name##_##s##_portable args;                                        \
    }
#else
#define SKLSTM_DISPATCH(name, s, args) name##_##s##_portable args;
#endif

#define SKLSTM_DISPATCHERS(REAL, S)                                                  \
    void sklstm_cell_forward_##S(                                                    \
        ptrdiff_t batch, ptrdiff_t hidden, const REAL *bias, const REAL *peephole,   \
        const REAL *c_prev, REAL *gates, REAL *c, REAL *act_c, REAL *h,              \
        ptrdiff_t ldh, int gate_activation, int cell_activation)                     \
    {                                                                                \
        SKLSTM_DISPATCH(cell_forward, S, (batch, hidden, bias, peephole, c_prev,     \
                        gates, c, act_c, h, ldh, gate_activation, cell_activation))  \
    }                                                                                \
    void sklstm_cell_backward_##S(                                                   \
        ptrdiff_t batch, ptrdiff_t hidden, const REAL *peephole, REAL *gates,        \
        const REAL *c_prev, const REAL *c, const REAL *act_c, const REAL *dh,        \
        ptrdiff_t lddh, REAL *dc, REAL *dbias, REAL *dpeephole,                      \
        int gate_activation, int cell_activation)                                    \
    {                                                                                \
        SKLSTM_DISPATCH(cell_backward, S, (batch, hidden, peephole, gates, c_prev,   \
                        c, act_c, dh, lddh, dc, dbias, dpeephole, gate_activation,   \
                        cell_activation))                                            \
    }                                                                                \
    void sklstm_activate_##S(ptrdiff_t n, int activation, REAL *x)                   \
    {                                                                                \
        SKLSTM_DISPATCH(activate, S, (n, activation, x))                             \
    }                                                                                \
    void sklstm_activation_backward_##S(                                             \
        ptrdiff_t n, int activation, const REAL *y, REAL *dy)                        \
    {                                                                                \
        SKLSTM_DISPATCH(activation_backward, S, (n, activation, y, dy))              \
    }                                                                                \
    void sklstm_sgd_update_##S(                                                      \
        ptrdiff_t n, REAL *params, const REAL *grad, REAL *velocity,                 \
        double learning_rate, double momentum, int nesterov)                         \
    {                                                                                \
        SKLSTM_DISPATCH(sgd_update, S, (n, params, grad, velocity, learning_rate,    \
                        momentum, nesterov))                                         \
    }                                                                                \
    void sklstm_adam_update_##S(                                                     \
        ptrdiff_t n, REAL *params, const REAL *grad, REAL *m, REAL *v,               \
        double learning_rate, double beta_1, double beta_2, double epsilon,          \
        long step)                                                                   \
    {                                                                                \
        SKLSTM_DISPATCH(adam_update, S, (n, params, grad, m, v, learning_rate,       \
                        beta_1, beta_2, epsilon, step))                              \
    }                                                                                \
    void sklstm_rmsprop_update_##S(                                                  \
        ptrdiff_t n, REAL *params, const REAL *grad, REAL *v,                        \
        double learning_rate, double rho, double epsilon)                            \
    {                                                                                \
        SKLSTM_DISPATCH(rmsprop_update, S, (n, params, grad, v, learning_rate, rho,  \
                        epsilon))                                                    \
    }

SKLSTM_DISPATCHERS(float, f)
SKLSTM_DISPATCHERS(double, d)
