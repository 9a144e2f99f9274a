/*
 * The one place that picks the instruction set of the vectorized kernels.
 *
 * The build stays portable (no -march flag): each vectorized kernel exists in
 * three copies, compiled for AVX-512 (F, VL, BW, DQ), for AVX2 with FMA, and
 * for the compiler's baseline (portable C), and calls through here pick one
 * at run time. The first call checks the CPU once; the environment variable
 * SKLSTM_ISA (avx512, avx2 or portable) forces a path, for tests and for
 * comparing them; a path the CPU lacks falls back to the best it has.
 */
#ifndef SKLSTM_DISPATCH_H
#define SKLSTM_DISPATCH_H

enum sklstm_isa {
    SKLSTM_ISA_PORTABLE = 0,
    SKLSTM_ISA_AVX2 = 1,   /* AVX2 and FMA */
    SKLSTM_ISA_AVX512 = 2  /* AVX-512 F, VL, BW and DQ */
};

/* Whether this compiler can build the x86 copies (GCC and clang on x86-64). */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define SKLSTM_HAVE_X86_COPIES 1
/* Function attributes that compile one copy for an instruction set. */
#define SKLSTM_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define SKLSTM_TARGET_AVX512 \
    __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#else
#define SKLSTM_HAVE_X86_COPIES 0
#endif

/* The path in use (checked once, then cached). */
enum sklstm_isa sklstm_isa(void);

/* The best path this CPU runs. */
enum sklstm_isa sklstm_isa_supported(void);

/* Force a path (tests); returns the one in use afterwards, which is `isa` or,
 * when the CPU lacks it, the best it has. */
enum sklstm_isa sklstm_set_isa(enum sklstm_isa isa);

/* "avx512", "avx2" or "portable". */
const char *sklstm_isa_name(enum sklstm_isa isa);

#endif
