/* Run-time choice of the kernels' instruction set: see dispatch.h. */
#include <stdlib.h>
#include <string.h>
#include "dispatch.h"

/* -1 until the first call. A race between two first calls is benign: both
 * store the same value. */
static volatile int current_isa = -1;

enum sklstm_isa sklstm_isa_supported(void)
{
#if SKLSTM_HAVE_X86_COPIES
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("fma")) {
        return SKLSTM_ISA_AVX512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return SKLSTM_ISA_AVX2;
    }
#endif
    return SKLSTM_ISA_PORTABLE;
}

const char *sklstm_isa_name(enum sklstm_isa isa)
{
    switch (isa) {
    case SKLSTM_ISA_AVX512: return "avx512";
    case SKLSTM_ISA_AVX2: return "avx2";
    default: return "portable";
    }
}

enum sklstm_isa sklstm_set_isa(enum sklstm_isa isa)
{
    enum sklstm_isa best = sklstm_isa_supported();
    current_isa = (int)(isa > best ? best : isa);
    return (enum sklstm_isa)current_isa;
}

enum sklstm_isa sklstm_isa(void)
{
    if (current_isa >= 0) return (enum sklstm_isa)current_isa;
    enum sklstm_isa isa = sklstm_isa_supported();
    const char *forced = getenv("SKLSTM_ISA");
    if (forced && *forced) {
        for (int k = SKLSTM_ISA_PORTABLE; k <= SKLSTM_ISA_AVX512; k++) {
            if (strcmp(forced, sklstm_isa_name((enum sklstm_isa)k)) == 0) {
                isa = (enum sklstm_isa)k;
            }
        }
    }
    return sklstm_set_isa(isa);
}
