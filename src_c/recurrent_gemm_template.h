/*
 * The type-generic half of recurrent_gemm.c, included once for float and once
 * for double with REAL, FN(name) (name##_f or name##_d) and NR (the panel
 * width) defined; the per-ISA tiles FN(tile_avx512) and FN(tile_avx2) are
 * defined before it where SKLSTM_HAVE_X86_COPIES. Layout and summation order:
 * recurrent_gemm.h.
 */

size_t FN(sklstm_packed_size)(ptrdiff_t K, ptrdiff_t N)
{
    return (size_t)((N + NR - 1) / NR) * NR * (size_t)K;
}

void FN(sklstm_pack)(ptrdiff_t K, ptrdiff_t N, const REAL *B, ptrdiff_t stride_k,
                     ptrdiff_t stride_n, REAL *packed)
{
    const ptrdiff_t panels = (N + NR - 1) / NR;
    for (ptrdiff_t p = 0; p < panels; p++) {
        REAL *panel = packed + p * K * NR;
        const ptrdiff_t width = N - p * NR < NR ? N - p * NR : NR;
        /* Read B along its unit stride: the forward orientation (W_hh read
         * transposed, stride_k = 1) column by column, 64 values of k at a
         * time so that the strided writes stay in an 8 KiB block of the
         * panel; the backward one row by row. */
        if (stride_k == 1) {
            for (ptrdiff_t k0 = 0; k0 < K; k0 += 64) {
                const ptrdiff_t kb = K - k0 < 64 ? K - k0 : 64;
                for (ptrdiff_t j = 0; j < width; j++) {
                    const REAL *column = B + (p * NR + j) * stride_n + k0;
                    for (ptrdiff_t k = 0; k < kb; k++) panel[(k0 + k) * NR + j] = column[k];
                }
            }
        } else {
            for (ptrdiff_t k = 0; k < K; k++) {
                const REAL *row = B + k * stride_k + p * NR * stride_n;
                for (ptrdiff_t j = 0; j < width; j++) panel[k * NR + j] = row[j * stride_n];
            }
        }
        for (ptrdiff_t k = 0; k < K; k++) {
            for (ptrdiff_t j = width; j < NR; j++) panel[k * NR + j] = 0;
        }
    }
}

/* The portable tile: mr (<= PORTABLE_MR) rows by one panel, kc steps of k,
 * plain loops that the compiler vectorizes across the panel's columns (never
 * across k, which would change the order of the sums). */
static inline __attribute__((always_inline)) void
FN(portable_body)(const int mr, ptrdiff_t kc, const REAL *A, ptrdiff_t lda, const REAL *Bp,
                  int load_c, REAL *C, ptrdiff_t ldc, int width)
{
    REAL acc[PORTABLE_MR][NR];
    for (int i = 0; i < mr; i++) {
        for (int j = 0; j < NR; j++) acc[i][j] = load_c && j < width ? C[i * ldc + j] : 0;
    }
    for (ptrdiff_t k = 0; k < kc; k++) {
        const REAL *b = Bp + k * NR;
        for (int i = 0; i < mr; i++) {
            const REAL a = A[i * lda + k];
            for (int j = 0; j < NR; j++) acc[i][j] += a * b[j];
        }
    }
    for (int i = 0; i < mr; i++) {
        for (int j = 0; j < width; j++) C[i * ldc + j] = acc[i][j];
    }
}

static void FN(tile_portable)(int mr, ptrdiff_t kc, const REAL *A, ptrdiff_t lda,
                              const REAL *Bp, int load_c, REAL *C, ptrdiff_t ldc, int width)
{
    /* A constant row count per call, so that the row loops unroll. */
    switch (mr) {
    case 4: FN(portable_body)(4, kc, A, lda, Bp, load_c, C, ldc, width); break;
    case 3: FN(portable_body)(3, kc, A, lda, Bp, load_c, C, ldc, width); break;
    case 2: FN(portable_body)(2, kc, A, lda, Bp, load_c, C, ldc, width); break;
    default: FN(portable_body)(1, kc, A, lda, Bp, load_c, C, ldc, width); break;
    }
}

typedef void (*FN(tile_fn))(int, ptrdiff_t, const REAL *, ptrdiff_t, const REAL *, int,
                            REAL *, ptrdiff_t, int);

/* Panels outermost, then KC-slices of the panel (in cache while every block of
 * mr rows uses it), then blocks of rows. A slice after the first adds to what
 * the previous one stored in C, which carries the sums exactly. */
static void FN(drive)(FN(tile_fn) tile, int MR, ptrdiff_t M, ptrdiff_t K, const REAL *A,
                      ptrdiff_t lda, const REAL *packed, int beta, REAL *C, ptrdiff_t ldc,
                      ptrdiff_t n_begin, ptrdiff_t n_end)
{
    for (ptrdiff_t n0 = n_begin; n0 < n_end; n0 += NR) {
        const int width = (int)(n_end - n0 < NR ? n_end - n0 : NR);
        const REAL *panel = packed + n0 * K;
        ptrdiff_t k0 = 0;
        do {
            const ptrdiff_t kc = K - k0 < KC ? K - k0 : KC;
            const int load_c = beta || k0 > 0;
            for (ptrdiff_t i0 = 0; i0 < M; i0 += MR) {
                const int mr = (int)(M - i0 < MR ? M - i0 : MR);
                tile(mr, kc, A + i0 * lda + k0, lda, panel + k0 * NR, load_c,
                     C + i0 * ldc + n0, ldc, width);
            }
            k0 += kc;
        } while (k0 < K);
    }
}

#if SKLSTM_HAVE_X86_COPIES
/* A single row (M = 1: one sequence, or the tail of a ragged chunk), by
 * groups of ROW_PANELS panels (see row_avx512_f), K-slices as in drive. */
static void FN(drive_row)(ptrdiff_t K, const REAL *A, const REAL *packed, int beta,
                          REAL *C, ptrdiff_t n_begin, ptrdiff_t n_end)
{
    for (ptrdiff_t n0 = n_begin; n0 < n_end; n0 += ROW_PANELS * NR) {
        const ptrdiff_t span = n_end - n0 < ROW_PANELS * NR ? n_end - n0 : ROW_PANELS * NR;
        const int np = (int)((span + NR - 1) / NR);
        const int width_last = (int)(span - (np - 1) * NR);
        ptrdiff_t k0 = 0;
        do {
            const ptrdiff_t kc = K - k0 < KC ? K - k0 : KC;
            FN(row_avx512)(np, kc, A + k0, packed + n0 * K + k0 * NR, K * NR,
                           beta || k0 > 0, C + n0, width_last);
            k0 += kc;
        } while (k0 < K);
    }
}
#endif

void FN(sklstm_packed_gemm_cols)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const REAL *A,
                                 ptrdiff_t lda, const REAL *packed, int beta, REAL *C,
                                 ptrdiff_t ldc, ptrdiff_t n_begin, ptrdiff_t n_end)
{
    (void)N;
    switch (sklstm_isa()) {
#if SKLSTM_HAVE_X86_COPIES
    case SKLSTM_ISA_AVX512:
        if (M == 1)
            FN(drive_row)(K, A, packed, beta, C, n_begin, n_end);
        else
            FN(drive)(FN(tile_avx512), AVX512_MR, M, K, A, lda, packed, beta, C, ldc,
                      n_begin, n_end);
        break;
    case SKLSTM_ISA_AVX2:
        FN(drive)(FN(tile_avx2), AVX2_MR, M, K, A, lda, packed, beta, C, ldc, n_begin, n_end);
        break;
#endif
    default:
        FN(drive)(FN(tile_portable), PORTABLE_MR, M, K, A, lda, packed, beta, C, ldc,
                  n_begin, n_end);
        break;
    }
}

void FN(sklstm_packed_gemm)(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const REAL *A,
                            ptrdiff_t lda, const REAL *packed, int beta, REAL *C,
                            ptrdiff_t ldc)
{
    FN(sklstm_packed_gemm_cols)(M, N, K, A, lda, packed, beta, C, ldc, 0, N);
}
