/* Compiles kernels_template.h once for float and once for double. */
#include <math.h>
#include "sklstm_kernels.h"

#define REAL float
#define FN(name) name##_f
#define EXP expf
#define TANH tanhf
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
