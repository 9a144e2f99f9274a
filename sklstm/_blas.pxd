# Row-major GEMM over scipy's cython_blas for float and double (the pattern of
# sklearn/utils/_cython_blas.pyx): nothing is linked at build time, the BLAS is
# the one scipy ships.

from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm


cdef inline void gemm(char trans_a, char trans_b, int m, int n, int k,
                      const floating *A, int lda, const floating *B, int ldb,
                      floating beta, floating *C, int ldc) noexcept nogil:
    """C (m, n) = op(A) @ op(B) + beta * C, all matrices row-major.

    A row-major matrix is the column-major matrix of its transpose, so the
    column-major routine computes C^T = op(B)^T @ op(A)^T with the operands
    swapped.
    """
    cdef floating one = 1
    if floating is float:
        sgemm(&trans_b, &trans_a, &n, &m, &k, &one, <float *> B, &ldb,
              <float *> A, &lda, &beta, C, &ldc)
    else:
        dgemm(&trans_b, &trans_a, &n, &m, &k, &one, <double *> B, &ldb,
              <double *> A, &lda, &beta, C, &ldc)
