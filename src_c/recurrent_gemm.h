/*
 * The per-step recurrent products of the LSTM engine, with the recurrent
 * weights packed once and reused at every step:
 *
 *     forward:  Z_t(M x 4H) += h_{t-1}(M x H) . W_hh^T     K = H,  N = 4H
 *     backward: dh(M x H)    = dZ_t(M x 4H) . W_hh         K = 4H, N = H
 *
 * A general sgemm called per step repacks W_hh on every call (47 % of on-CPU
 * time at H = 512); BLAS libraries keep no packed operand across calls, so
 * the engine owns these products. Each is C(M x N) = beta C + A(M x K) . B
 * with A and C row-major and B given once to sklstm_pack_*.
 *
 * THE PACKED LAYOUT (the one place it is defined)
 * -----------------------------------------------
 * B (K x N) is cut into ceil(N / NR) panels of NR consecutive columns, where
 * NR = SKLSTM_PANEL_F = 32 floats or SKLSTM_PANEL_D = 16 doubles: one
 * 128-byte row of a panel, two cache lines. Panel p holds columns
 * [p NR, p NR + NR) and starts at element p K NR; inside it the values are
 * k-major, NR contiguous values per k:
 *
 *     packed[p*K*NR + k*NR + j] = B(k, p*NR + j)   (0 where p*NR + j >= N)
 *
 * so the last panel is zero-padded to NR columns. The layout is the same for
 * every instruction set (a path may be switched between packing and use);
 * the AVX2 kernels read a panel as two 64-byte halves. K is not blocked in
 * the layout: the kernels walk a panel KC rows at a time (KC = 512, see
 * recurrent_gemm.c), a contiguous slice that stays in cache while every
 * block of rows uses it; the whole packed B is read front to back. The
 * packed buffer needs no particular alignment; 64-byte alignment makes each
 * panel row exactly two cache lines.
 *
 * THE SUMMATION ORDER (what makes rows batch-independent)
 * -------------------------------------------------------
 * Every output element is computed as
 *
 *     acc = beta ? C(i, n) : 0;  for k = 0 .. K-1: acc = acc + A(i, k) B(k, n)
 *
 * with one fused multiply-add per k on the AVX-512 and AVX2 paths, and one
 * rounded multiply then one rounded add on the portable path (the build is
 * -std=c99, where GCC does not contract a*b+c; x86-64's baseline has no FMA
 * to contract to). K blocking carries acc through C exactly (a stored float
 * is the float), so the order is independent of M, of a row's position in
 * its block of rows, of the column range and of KC: on a given path, a row's
 * result is bit-identical alone and in any batch. The AVX-512 and AVX2 paths
 * do the same FMAs in the same order, so they agree bit for bit; the
 * portable path differs from them by roundings.
 *
 * Kernels are dumb: no validation, no allocation, no threads. The path is
 * sklstm_isa() (dispatch.h), read once per call.
 */
#ifndef SKLSTM_RECURRENT_GEMM_H
#define SKLSTM_RECURRENT_GEMM_H

#include <stddef.h>

/* Panel widths NR, in elements: one 128-byte panel row. */
#define SKLSTM_PANEL_F 32
#define SKLSTM_PANEL_D 16

/* Elements of the packed B of a K x N matrix: ceil(N / NR) * NR * K. */
size_t sklstm_packed_size_f(ptrdiff_t K, ptrdiff_t N);
size_t sklstm_packed_size_d(ptrdiff_t K, ptrdiff_t N);

/* Pack B(k, n) = B[k*stride_k + n*stride_n] (K x N) into `packed` (OUT,
 * sklstm_packed_size_* elements), in the layout above. The engine's forward
 * product reads W_hh (4H x H, row-major) as B(k, n) = W_hh[n*H + k]
 * (stride_k = 1, stride_n = H), its backward as B(k, n) = W_hh[k*H + n]
 * (stride_k = H, stride_n = 1). */
void sklstm_pack_f(ptrdiff_t K, ptrdiff_t N, const float *B, ptrdiff_t stride_k,
                   ptrdiff_t stride_n, float *packed);
void sklstm_pack_d(ptrdiff_t K, ptrdiff_t N, const double *B, ptrdiff_t stride_k,
                   ptrdiff_t stride_n, double *packed);

/* C(M x N) = beta C + A(M x K) . B, B packed by sklstm_pack_* from a K x N
 * matrix; A(i, k) = A[i*lda + k], C(i, n) = C[i*ldc + n]; beta is 0 or 1,
 * and 0 never reads C (NaN there is overwritten, not multiplied by 0). */
void sklstm_packed_gemm_f(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A,
                          ptrdiff_t lda, const float *packed, int beta, float *C,
                          ptrdiff_t ldc);
void sklstm_packed_gemm_d(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const double *A,
                          ptrdiff_t lda, const double *packed, int beta, double *C,
                          ptrdiff_t ldc);

/* The same product for the output columns [n_begin, n_end) only, so that
 * threads can split the gate columns: n_begin must be a multiple of NR
 * (a panel boundary), n_end <= N any. Columns outside the range are neither
 * read nor written; each computed element is bit-identical to the full
 * call's. */
void sklstm_packed_gemm_cols_f(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A,
                               ptrdiff_t lda, const float *packed, int beta, float *C,
                               ptrdiff_t ldc, ptrdiff_t n_begin, ptrdiff_t n_end);
void sklstm_packed_gemm_cols_d(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const double *A,
                               ptrdiff_t lda, const double *packed, int beta, double *C,
                               ptrdiff_t ldc, ptrdiff_t n_begin, ptrdiff_t n_end);

/* At(j, i) = A(i, j) for i < rows, j < cols: At[j*ldat + i] = A[i*lda + j].
 * The weight gradients' left operand dZ^T (the engine's one transpose); an
 * exact copy on every path (AVX-512: 16 x 16 float and 8 x 8 double blocks
 * in registers, 8x a scalar loop's speed). */
void sklstm_transpose_f(ptrdiff_t rows, ptrdiff_t cols, const float *A, ptrdiff_t lda,
                        float *At, ptrdiff_t ldat);
void sklstm_transpose_d(ptrdiff_t rows, ptrdiff_t cols, const double *A, ptrdiff_t lda,
                        double *At, ptrdiff_t ldat);

#endif
