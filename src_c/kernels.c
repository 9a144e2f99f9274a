/* Compiles kernels_template.h once for float and once for double. */
#include <math.h>
#include "sklstm_kernels.h"

/* tanh for float: the rational approximation of Eigen and XNNPACK, odd
 * numerator of degree 13 over even denominator of degree 6 on [-7.9, 7.9]
 * (tanh is 1 to float precision beyond). No exp, hence no cancellation near
 * zero; a few ulp from the true value (tests/test_kernels.py measures it),
 * and several times faster than glibc's tanhf, which goes through expm1f and
 * was a third of a small model's training time. */
static inline float sklstm_tanhf(float x)
{
    const float clamp = 7.90531110763549805f;
    x = x > clamp ? clamp : (x < -clamp ? -clamp : x);
    if (x < 0.0004f && x > -0.0004f) {
        return x; /* tanh(x) = x (1 - x^2 / 3 + ...): exact to float precision */
    }
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
    return p / q;
}

#define REAL float
#define FN(name) name##_f
#define EXP expf
#define TANH sklstm_tanhf
#define SQRT sqrtf
#include "kernels_template.h"
#undef REAL
#undef FN
#undef EXP
#undef TANH
#undef SQRT

#define REAL double
#define FN(name) name##_d
#define EXP exp
#define TANH tanh
#define SQRT sqrt
#include "kernels_template.h"
#undef REAL
#undef FN
#undef EXP
#undef TANH
#undef SQRT
