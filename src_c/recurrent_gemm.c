/*
 * Packed recurrent GEMM: the register-blocked tiles of each instruction set,
 * then recurrent_gemm_template.h (packing, the portable tile, the loops over
 * panels and rows, the entry points) for float and for double. Layout and
 * summation order: recurrent_gemm.h.
 *
 * A tile computes mr rows (at most MR) by one panel of NR columns for kc
 * steps of k, its accumulators in registers, the row count a compile-time
 * constant in each instance (the switches below), so that rows beyond M are
 * never read and each row's arithmetic is the same in every instance.
 * Columns past the output's width (the zero padding of the last panel, or the
 * end of a column range) are computed but neither loaded from nor stored to
 * C: masked loads and stores.
 */
#include <stddef.h>
#include "dispatch.h"
#include "recurrent_gemm.h"

/* Rows per tile. AVX-512: 8 x 32 floats (8 x 16 doubles) is 16 zmm
 * accumulators, and B's two vectors plus A's broadcasts (memory operands of
 * the FMAs) leave the rest of the 32 registers free. AVX2: 6 x 16 floats
 * (6 x 8 doubles) per half panel is 12 of the 16 ymm registers, plus two for
 * B and one for A's broadcast. */
#define AVX512_MR 8
#define AVX2_MR 6
#define PORTABLE_MR 4
/* Steps of k per slice of a panel (512 x 128 bytes = 64 KiB, in L2 while
 * every block of rows uses it). Measured (AVX-512, float32, M = 16 and 64,
 * H = 128 and 512, AMD EPYC with 48 KiB L1 and 1 MiB L2): 512 is 2-4 % faster
 * than 256 and 10 % faster than 64, and within 2 % of no blocking; B streams
 * at two cache lines per 16 FMAs, which L2 sustains. */
#define KC 512

#define ALWAYS_INLINE static inline __attribute__((always_inline))

#if SKLSTM_HAVE_X86_COPIES
#include <immintrin.h>

/* Instantiate BODY(mr, ...) for a run-time mr in 1..8 with a constant. */
#define SWITCH_ROWS_8(mr, BODY, ...)                                                  \
    switch (mr) {                                                                     \
    case 8: BODY(8, __VA_ARGS__); break;                                              \
    case 7: BODY(7, __VA_ARGS__); break;                                              \
    case 6: BODY(6, __VA_ARGS__); break;                                              \
    case 5: BODY(5, __VA_ARGS__); break;                                              \
    case 4: BODY(4, __VA_ARGS__); break;                                              \
    case 3: BODY(3, __VA_ARGS__); break;                                              \
    case 2: BODY(2, __VA_ARGS__); break;                                              \
    default: BODY(1, __VA_ARGS__); break;                                             \
    }
#define SWITCH_ROWS_6(mr, BODY, ...)                                                  \
    switch (mr) {                                                                     \
    case 6: BODY(6, __VA_ARGS__); break;                                              \
    case 5: BODY(5, __VA_ARGS__); break;                                              \
    case 4: BODY(4, __VA_ARGS__); break;                                              \
    case 3: BODY(3, __VA_ARGS__); break;                                              \
    case 2: BODY(2, __VA_ARGS__); break;                                              \
    default: BODY(1, __VA_ARGS__); break;                                             \
    }

/* ---- AVX-512 ------------------------------------------------------------ */

/* The mask of the first n of a vector's lanes (n clamped to 0 .. lanes). */
SKLSTM_TARGET_AVX512 ALWAYS_INLINE unsigned lanes_mask(int n, int lanes)
{
    return n <= 0 ? 0u : n >= lanes ? (1u << lanes) - 1u : (1u << n) - 1u;
}

SKLSTM_TARGET_AVX512 ALWAYS_INLINE void
avx512_body_f(const int mr, ptrdiff_t kc, const float *A, ptrdiff_t lda, const float *Bp,
              int load_c, float *C, ptrdiff_t ldc, __mmask16 m0, __mmask16 m1)
{
    __m512 c0[AVX512_MR], c1[AVX512_MR];
    for (int i = 0; i < mr; i++) {
        if (load_c) {
            c0[i] = _mm512_maskz_loadu_ps(m0, C + i * ldc);
            c1[i] = _mm512_maskz_loadu_ps(m1, C + i * ldc + 16);
        } else {
            c0[i] = _mm512_setzero_ps();
            c1[i] = _mm512_setzero_ps();
        }
    }
    for (ptrdiff_t k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_loadu_ps(Bp + k * 32);
        const __m512 b1 = _mm512_loadu_ps(Bp + k * 32 + 16);
        for (int i = 0; i < mr; i++) {
            const __m512 a = _mm512_set1_ps(A[i * lda + k]);
            c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
        }
    }
    for (int i = 0; i < mr; i++) {
        _mm512_mask_storeu_ps(C + i * ldc, m0, c0[i]);
        _mm512_mask_storeu_ps(C + i * ldc + 16, m1, c1[i]);
    }
}

SKLSTM_TARGET_AVX512 static void
tile_avx512_f(int mr, ptrdiff_t kc, const float *A, ptrdiff_t lda, const float *Bp,
              int load_c, float *C, ptrdiff_t ldc, int width)
{
    const __mmask16 m0 = (__mmask16)lanes_mask(width, 16);
    const __mmask16 m1 = (__mmask16)lanes_mask(width - 16, 16);
    SWITCH_ROWS_8(mr, avx512_body_f, kc, A, lda, Bp, load_c, C, ldc, m0, m1)
}

SKLSTM_TARGET_AVX512 ALWAYS_INLINE void
avx512_body_d(const int mr, ptrdiff_t kc, const double *A, ptrdiff_t lda, const double *Bp,
              int load_c, double *C, ptrdiff_t ldc, __mmask8 m0, __mmask8 m1)
{
    __m512d c0[AVX512_MR], c1[AVX512_MR];
    for (int i = 0; i < mr; i++) {
        if (load_c) {
            c0[i] = _mm512_maskz_loadu_pd(m0, C + i * ldc);
            c1[i] = _mm512_maskz_loadu_pd(m1, C + i * ldc + 8);
        } else {
            c0[i] = _mm512_setzero_pd();
            c1[i] = _mm512_setzero_pd();
        }
    }
    for (ptrdiff_t k = 0; k < kc; k++) {
        const __m512d b0 = _mm512_loadu_pd(Bp + k * 16);
        const __m512d b1 = _mm512_loadu_pd(Bp + k * 16 + 8);
        for (int i = 0; i < mr; i++) {
            const __m512d a = _mm512_set1_pd(A[i * lda + k]);
            c0[i] = _mm512_fmadd_pd(a, b0, c0[i]);
            c1[i] = _mm512_fmadd_pd(a, b1, c1[i]);
        }
    }
    for (int i = 0; i < mr; i++) {
        _mm512_mask_storeu_pd(C + i * ldc, m0, c0[i]);
        _mm512_mask_storeu_pd(C + i * ldc + 8, m1, c1[i]);
    }
}

SKLSTM_TARGET_AVX512 static void
tile_avx512_d(int mr, ptrdiff_t kc, const double *A, ptrdiff_t lda, const double *Bp,
              int load_c, double *C, ptrdiff_t ldc, int width)
{
    const __mmask8 m0 = (__mmask8)lanes_mask(width, 8);
    const __mmask8 m1 = (__mmask8)lanes_mask(width - 8, 8);
    SWITCH_ROWS_8(mr, avx512_body_d, kc, A, lda, Bp, load_c, C, ldc, m0, m1)
}

/* One row by up to ROW_PANELS panels at once. A single row's sums are chains
 * of dependent FMAs (the fixed order), so that a tile of one row and one
 * panel leaves the FMA units waiting on their latency: 4 cycles a step of k
 * for 2 chains. Four panels side by side make 8 independent chains. Each
 * output's operations are those of the tiles above, in the same order, so a
 * row alone still gives the bits it gives in a batch. `stride` is the
 * distance between consecutive panels (K NR); panels before the last are
 * full, the last has width_last columns. */
#define ROW_PANELS 4

#define AVX512_ROW_BODY(VEC, LANES, MASK, ZERO, LOADZ, LOAD, STORE, FMA, SET1)           \
    VEC c[2 * ROW_PANELS];                                                              \
    for (int p = 0; p < np; p++) {                                                      \
        const MASK k0m = p == np - 1 ? m0 : (MASK)~0u, k1m = p == np - 1 ? m1 : (MASK)~0u; \
        c[2 * p] = load_c ? LOADZ(k0m, C + p * 2 * LANES) : ZERO();                     \
        c[2 * p + 1] = load_c ? LOADZ(k1m, C + p * 2 * LANES + LANES) : ZERO();         \
    }                                                                                   \
    for (ptrdiff_t k = 0; k < kc; k++) {                                                \
        const VEC a = SET1(A[k]);                                                       \
        for (int p = 0; p < np; p++) {                                                  \
            c[2 * p] = FMA(a, LOAD(Bp + p * stride + k * 2 * LANES), c[2 * p]);         \
            c[2 * p + 1] = FMA(a, LOAD(Bp + p * stride + k * 2 * LANES + LANES),        \
                               c[2 * p + 1]);                                           \
        }                                                                               \
    }                                                                                   \
    for (int p = 0; p < np; p++) {                                                      \
        const MASK k0m = p == np - 1 ? m0 : (MASK)~0u, k1m = p == np - 1 ? m1 : (MASK)~0u; \
        STORE(C + p * 2 * LANES, k0m, c[2 * p]);                                        \
        STORE(C + p * 2 * LANES + LANES, k1m, c[2 * p + 1]);                            \
    }

SKLSTM_TARGET_AVX512 ALWAYS_INLINE void
avx512_row_body_f(const int np, ptrdiff_t kc, const float *A, const float *Bp,
                  ptrdiff_t stride, int load_c, float *C, __mmask16 m0, __mmask16 m1)
{
    AVX512_ROW_BODY(__m512, 16, __mmask16, _mm512_setzero_ps, _mm512_maskz_loadu_ps,
                    _mm512_loadu_ps, _mm512_mask_storeu_ps, _mm512_fmadd_ps, _mm512_set1_ps)
}

SKLSTM_TARGET_AVX512 ALWAYS_INLINE void
avx512_row_body_d(const int np, ptrdiff_t kc, const double *A, const double *Bp,
                  ptrdiff_t stride, int load_c, double *C, __mmask8 m0, __mmask8 m1)
{
    AVX512_ROW_BODY(__m512d, 8, __mmask8, _mm512_setzero_pd, _mm512_maskz_loadu_pd,
                    _mm512_loadu_pd, _mm512_mask_storeu_pd, _mm512_fmadd_pd, _mm512_set1_pd)
}

#define SWITCH_PANELS_4(np, BODY, ...)                                                \
    switch (np) {                                                                     \
    case 4: BODY(4, __VA_ARGS__); break;                                              \
    case 3: BODY(3, __VA_ARGS__); break;                                              \
    case 2: BODY(2, __VA_ARGS__); break;                                              \
    default: BODY(1, __VA_ARGS__); break;                                             \
    }

SKLSTM_TARGET_AVX512 static void
row_avx512_f(int np, ptrdiff_t kc, const float *A, const float *Bp, ptrdiff_t stride,
             int load_c, float *C, int width_last)
{
    const __mmask16 m0 = (__mmask16)lanes_mask(width_last, 16);
    const __mmask16 m1 = (__mmask16)lanes_mask(width_last - 16, 16);
    SWITCH_PANELS_4(np, avx512_row_body_f, kc, A, Bp, stride, load_c, C, m0, m1)
}

SKLSTM_TARGET_AVX512 static void
row_avx512_d(int np, ptrdiff_t kc, const double *A, const double *Bp, ptrdiff_t stride,
             int load_c, double *C, int width_last)
{
    const __mmask8 m0 = (__mmask8)lanes_mask(width_last, 8);
    const __mmask8 m1 = (__mmask8)lanes_mask(width_last - 8, 8);
    SWITCH_PANELS_4(np, avx512_row_body_d, kc, A, Bp, stride, load_c, C, m0, m1)
}

/* ---- AVX2 + FMA --------------------------------------------------------- */
/* A tile covers half a panel (16 floats or 8 doubles, one cache line per k);
 * the tile function runs both halves. AVX2's masked loads and stores are slow
 * (microcoded stores on AMD), so full halves use plain ones: `full` is a
 * constant in each instance too. */

SKLSTM_TARGET_AVX2 ALWAYS_INLINE __m256i avx2_first_lanes(int n, int lanes)
{
    /* Lane l of the result is all ones when l < n: 32-bit lanes for floats,
     * 64-bit lanes (pairs of 32-bit ones) for doubles. */
    const __m256i index = lanes == 8 ? _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
                                     : _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), index);
}

SKLSTM_TARGET_AVX2 ALWAYS_INLINE void
avx2_body_f(const int mr, const int full, ptrdiff_t kc, const float *A, ptrdiff_t lda,
            const float *Bp, int load_c, float *C, ptrdiff_t ldc, __m256i m0, __m256i m1)
{
    __m256 c0[AVX2_MR], c1[AVX2_MR];
    for (int i = 0; i < mr; i++) {
        if (!load_c) {
            c0[i] = _mm256_setzero_ps();
            c1[i] = _mm256_setzero_ps();
        } else if (full) {
            c0[i] = _mm256_loadu_ps(C + i * ldc);
            c1[i] = _mm256_loadu_ps(C + i * ldc + 8);
        } else {
            c0[i] = _mm256_maskload_ps(C + i * ldc, m0);
            c1[i] = _mm256_maskload_ps(C + i * ldc + 8, m1);
        }
    }
    for (ptrdiff_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_loadu_ps(Bp + k * 32);
        const __m256 b1 = _mm256_loadu_ps(Bp + k * 32 + 8);
        for (int i = 0; i < mr; i++) {
            const __m256 a = _mm256_broadcast_ss(A + i * lda + k);
            c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
        }
    }
    for (int i = 0; i < mr; i++) {
        if (full) {
            _mm256_storeu_ps(C + i * ldc, c0[i]);
            _mm256_storeu_ps(C + i * ldc + 8, c1[i]);
        } else {
            _mm256_maskstore_ps(C + i * ldc, m0, c0[i]);
            _mm256_maskstore_ps(C + i * ldc + 8, m1, c1[i]);
        }
    }
}

#define AVX2_FULL_F(mr, ...) avx2_body_f(mr, 1, __VA_ARGS__)
#define AVX2_PART_F(mr, ...) avx2_body_f(mr, 0, __VA_ARGS__)

SKLSTM_TARGET_AVX2 static void
tile_avx2_f(int mr, ptrdiff_t kc, const float *A, ptrdiff_t lda, const float *Bp,
            int load_c, float *C, ptrdiff_t ldc, int width)
{
    for (int h = 0; h < 32 && h < width; h += 16) {
        const int w = width - h;
        if (w >= 16) {
            const __m256i none = _mm256_setzero_si256();
            SWITCH_ROWS_6(mr, AVX2_FULL_F, kc, A, lda, Bp + h, load_c, C + h, ldc, none,
                          none)
        } else {
            const __m256i m0 = avx2_first_lanes(w, 8), m1 = avx2_first_lanes(w - 8, 8);
            SWITCH_ROWS_6(mr, AVX2_PART_F, kc, A, lda, Bp + h, load_c, C + h, ldc, m0, m1)
        }
    }
}

SKLSTM_TARGET_AVX2 ALWAYS_INLINE void
avx2_body_d(const int mr, const int full, ptrdiff_t kc, const double *A, ptrdiff_t lda,
            const double *Bp, int load_c, double *C, ptrdiff_t ldc, __m256i m0, __m256i m1)
{
    __m256d c0[AVX2_MR], c1[AVX2_MR];
    for (int i = 0; i < mr; i++) {
        if (!load_c) {
            c0[i] = _mm256_setzero_pd();
            c1[i] = _mm256_setzero_pd();
        } else if (full) {
            c0[i] = _mm256_loadu_pd(C + i * ldc);
            c1[i] = _mm256_loadu_pd(C + i * ldc + 4);
        } else {
            c0[i] = _mm256_maskload_pd(C + i * ldc, m0);
            c1[i] = _mm256_maskload_pd(C + i * ldc + 4, m1);
        }
    }
    for (ptrdiff_t k = 0; k < kc; k++) {
        const __m256d b0 = _mm256_loadu_pd(Bp + k * 16);
        const __m256d b1 = _mm256_loadu_pd(Bp + k * 16 + 4);
        for (int i = 0; i < mr; i++) {
            const __m256d a = _mm256_broadcast_sd(A + i * lda + k);
            c0[i] = _mm256_fmadd_pd(a, b0, c0[i]);
            c1[i] = _mm256_fmadd_pd(a, b1, c1[i]);
        }
    }
    for (int i = 0; i < mr; i++) {
        if (full) {
            _mm256_storeu_pd(C + i * ldc, c0[i]);
            _mm256_storeu_pd(C + i * ldc + 4, c1[i]);
        } else {
            _mm256_maskstore_pd(C + i * ldc, m0, c0[i]);
            _mm256_maskstore_pd(C + i * ldc + 4, m1, c1[i]);
        }
    }
}

#define AVX2_FULL_D(mr, ...) avx2_body_d(mr, 1, __VA_ARGS__)
#define AVX2_PART_D(mr, ...) avx2_body_d(mr, 0, __VA_ARGS__)

SKLSTM_TARGET_AVX2 static void
tile_avx2_d(int mr, ptrdiff_t kc, const double *A, ptrdiff_t lda, const double *Bp,
            int load_c, double *C, ptrdiff_t ldc, int width)
{
    for (int h = 0; h < 16 && h < width; h += 8) {
        const int w = width - h;
        if (w >= 8) {
            const __m256i none = _mm256_setzero_si256();
            SWITCH_ROWS_6(mr, AVX2_FULL_D, kc, A, lda, Bp + h, load_c, C + h, ldc, none,
                          none)
        } else {
            const __m256i m0 = avx2_first_lanes(w, 4), m1 = avx2_first_lanes(w - 4, 4);
            SWITCH_ROWS_6(mr, AVX2_PART_D, kc, A, lda, Bp + h, load_c, C + h, ldc, m0, m1)
        }
    }
}

/* ---- transposes ---------------------------------------------------------- */

/* A 16 x 16 float block transposed in registers: pairs, then quads, then
 * 128-bit lanes across 4 and across 8 rows. */
SKLSTM_TARGET_AVX512 ALWAYS_INLINE void
avx512_transpose_block_f(const float *A, ptrdiff_t lda, float *At, ptrdiff_t ldat)
{
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) {
        r[i] = _mm512_loadu_ps(A + i * lda);
    }
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#define PD(x) _mm512_castps_pd(x)
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(PD(t[i]), PD(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(PD(t[i]), PD(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(PD(t[i + 1]), PD(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(PD(t[i + 1]), PD(t[i + 3])));
    }
#undef PD
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
    }
    for (int i = 0; i < 16; i++) {
        _mm512_storeu_ps(At + i * ldat, r[i]);
    }
}

/* An 8 x 8 double block: pairs, then 128-bit lanes across 2 and across 4
 * rows. */
SKLSTM_TARGET_AVX512 ALWAYS_INLINE void
avx512_transpose_block_d(const double *A, ptrdiff_t lda, double *At, ptrdiff_t ldat)
{
    __m512d r[8], t[8];
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_loadu_pd(A + i * lda);
    }
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        r[i] = _mm512_shuffle_f64x2(t[i], t[i + 2], 0x88);
        r[i + 2] = _mm512_shuffle_f64x2(t[i], t[i + 2], 0xdd);
        r[i + 4] = _mm512_shuffle_f64x2(t[i + 4], t[i + 6], 0x88);
        r[i + 6] = _mm512_shuffle_f64x2(t[i + 4], t[i + 6], 0xdd);
    }
    for (int i = 0; i < 2; i++) {
        t[i] = _mm512_shuffle_f64x2(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f64x2(r[i], r[i + 4], 0xdd);
        t[i + 2] = _mm512_shuffle_f64x2(r[i + 2], r[i + 6], 0x88);
        t[i + 6] = _mm512_shuffle_f64x2(r[i + 2], r[i + 6], 0xdd);
    }
    for (int i = 0; i < 8; i++) {
        _mm512_storeu_pd(At + i * ldat, t[i]);
    }
}
#endif /* SKLSTM_HAVE_X86_COPIES */

#define REAL float
#define FN(name) name##_f
#define NR SKLSTM_PANEL_F
#include "recurrent_gemm_template.h"
#undef REAL
#undef FN
#undef NR

#define REAL double
#define FN(name) name##_d
#define NR SKLSTM_PANEL_D
#include "recurrent_gemm_template.h"
#undef REAL
#undef FN
#undef NR

/* ---- transposes: entry points ---------------------------------------------- */

/* The elements of rows [r0, r1) x cols [c0, c1), in 32 x 32 blocks that stay
 * in L1 both ways. */
#define SKLSTM_SCALAR_TRANSPOSE(r0, r1, c0, c1)                                   \
    for (ptrdiff_t i0 = (r0); i0 < (r1); i0 += 32) {                              \
        for (ptrdiff_t j0 = (c0); j0 < (c1); j0 += 32) {                          \
            for (ptrdiff_t j = j0; j < j0 + 32 && j < (c1); j++) {                \
                for (ptrdiff_t i = i0; i < i0 + 32 && i < (r1); i++) {            \
                    At[j * ldat + i] = A[i * lda + j];                            \
                }                                                                 \
            }                                                                     \
        }                                                                         \
    }

/* The AVX-512 blocks cover the first rows and cols rounded down to a block;
 * the scalar loop the rest (the last rows, then the last columns of the
 * others). */
#define SKLSTM_TRANSPOSE(S, REAL, BLOCK)                                              \
    void sklstm_transpose_##S(ptrdiff_t rows, ptrdiff_t cols, const REAL *A,          \
                              ptrdiff_t lda, REAL *At, ptrdiff_t ldat)                \
    {                                                                                 \
        ptrdiff_t rb = 0, cb = 0;                                                     \
        if (SKLSTM_HAVE_X86_COPIES && sklstm_isa() == SKLSTM_ISA_AVX512) {            \
            rb = rows / BLOCK * BLOCK;                                                \
            cb = cols / BLOCK * BLOCK;                                                \
            SKLSTM_BLOCKS_##S(rb, cb);                                                \
        }                                                                             \
        SKLSTM_SCALAR_TRANSPOSE(0, rb, cb, cols)                                      \
        SKLSTM_SCALAR_TRANSPOSE(rb, rows, 0, cols)                                    \
    }

#if SKLSTM_HAVE_X86_COPIES
SKLSTM_TARGET_AVX512 static void
avx512_transpose_blocks_f(ptrdiff_t rb, ptrdiff_t cb, const float *A, ptrdiff_t lda,
                          float *At, ptrdiff_t ldat)
{
    for (ptrdiff_t i = 0; i < rb; i += 16) {
        for (ptrdiff_t j = 0; j < cb; j += 16) {
            avx512_transpose_block_f(A + i * lda + j, lda, At + j * ldat + i, ldat);
        }
    }
}

SKLSTM_TARGET_AVX512 static void
avx512_transpose_blocks_d(ptrdiff_t rb, ptrdiff_t cb, const double *A, ptrdiff_t lda,
                          double *At, ptrdiff_t ldat)
{
    for (ptrdiff_t i = 0; i < rb; i += 8) {
        for (ptrdiff_t j = 0; j < cb; j += 8) {
            avx512_transpose_block_d(A + i * lda + j, lda, At + j * ldat + i, ldat);
        }
    }
}
#define SKLSTM_BLOCKS_f(rb, cb) avx512_transpose_blocks_f(rb, cb, A, lda, At, ldat)
#define SKLSTM_BLOCKS_d(rb, cb) avx512_transpose_blocks_d(rb, cb, A, lda, At, ldat)
#else
#define SKLSTM_BLOCKS_f(rb, cb) (void)0
#define SKLSTM_BLOCKS_d(rb, cb) (void)0
#endif

SKLSTM_TRANSPOSE(f, float, 16)
SKLSTM_TRANSPOSE(d, double, 8)
