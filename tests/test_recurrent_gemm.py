"""The packed recurrent GEMM (src_c/recurrent_gemm.h) on every ISA path the
CPU runs: its layout, its accuracy against a float64 product, its edges
(rows and columns not multiples of the tile, strided rows, beta 0 over NaN,
column ranges) and the bit-identity of a row alone and in any batch."""

import numpy as np
import pytest

from sklstm import _engine

# The paths this CPU runs, as the `isa` fixture of conftest.py.
PATHS = _engine.ISA_NAMES[:_engine.ISA_NAMES.index(_engine.isa_supported()) + 1]
DTYPES = [np.float32, np.float64]
UNITS = [1, 3, 32, 50, 128, 130, 512]
ROWS = [1, 15, 16, 17, 64]
# forward: Z (M, 4H) += h (M, H) @ W_hh.T; backward: dh (M, H) = dZ (M, 4H) @ W_hh.
ORIENTATIONS = ["forward", "backward"]


def recurrent_operands(rng, dtype, H, orientation, M):
    """A (M, K) and B (K, N) as the engine has them: B a view of W_hh (4H, H)."""
    W = rng.standard_normal((4 * H, H)).astype(dtype)
    B = W.T if orientation == "forward" else W
    A = rng.standard_normal((M, B.shape[0])).astype(dtype)
    return A, B


def strided(rng, array, extra):
    """`array` as a view of a wider array (rows `extra` elements further apart)."""
    wide = rng.standard_normal((array.shape[0], array.shape[1] + extra)).astype(array.dtype)
    wide[:, :array.shape[1]] = array
    return wide[:, :array.shape[1]], wide


def packed_gemm(A, packed, C, beta, n_begin=0, n_end=None):
    _engine._packed_gemm_for_tests(A, packed, C, beta, n_begin, n_end)
    return C


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("H", [1, 3, 50, 130])
def test_packed_layout_is_the_documented_one(dtype, orientation, H):
    rng = np.random.default_rng(H)
    _, B = recurrent_operands(rng, dtype, H, orientation, 1)
    K, N = B.shape
    NR = _engine.PANEL_WIDTHS[np.dtype(dtype).name]
    assert NR * np.dtype(dtype).itemsize == 128
    panels = -(-N // NR)
    padded = np.zeros((K, panels * NR), dtype)
    padded[:, :N] = B
    # packed[p*K*NR + k*NR + j] = B(k, p*NR + j), zeros past N.
    expected = padded.reshape(K, panels, NR).transpose(1, 0, 2).ravel()
    np.testing.assert_array_equal(_engine._pack_for_tests(B), expected)
    np.testing.assert_array_equal(_engine._pack_for_tests(np.ascontiguousarray(B)), expected)


@pytest.mark.parametrize("beta", [0, 1])
@pytest.mark.parametrize("M", ROWS)
@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("H", UNITS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_float64_product(isa, dtype, H, orientation, M, beta):
    rng = np.random.default_rng([H, M, beta])
    A, B = recurrent_operands(rng, dtype, H, orientation, M)
    K, N = B.shape
    A, _ = strided(rng, A, 7)
    C0 = rng.standard_normal((M, N)).astype(dtype)
    if beta == 0:
        C0[:] = np.nan  # never read, never multiplied by 0
    C, C_wide = strided(rng, C0, 5)
    margin = C_wide[:, N:].copy()
    packed_gemm(A, _engine._pack_for_tests(B), C, beta)

    A64, B64 = A.astype(np.float64), B.astype(np.float64)
    expected = A64 @ B64 + (C0.astype(np.float64) if beta else 0)
    # A sum of K (+1) products rounded at each step: within (K+1) eps of the
    # sum of magnitudes (twice the classical gamma_K bound).
    scale = np.abs(A64) @ np.abs(B64) + (np.abs(C0.astype(np.float64)) if beta else 0)
    eps = np.finfo(dtype).eps
    assert np.all(np.abs(C - expected) <= (K + 1) * eps * scale)
    np.testing.assert_array_equal(C_wide[:, N:], margin)


@pytest.mark.parametrize("beta", [0, 1])
@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("H", [1, 3, 50, 130, 512])
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_row_is_bit_identical_alone_and_in_any_batch(isa, dtype, H, orientation, beta):
    rng = np.random.default_rng([H, beta, 1])
    M = 64
    A, B = recurrent_operands(rng, dtype, H, orientation, M)
    packed = _engine._pack_for_tests(B)
    C0 = rng.standard_normal((M, B.shape[1])).astype(dtype)
    if beta == 0:
        C0[:] = np.nan
    batch = packed_gemm(A, packed, C0.copy(), beta)
    for i in range(M):
        alone = packed_gemm(A[i:i + 1], packed, C0[i:i + 1].copy(), beta)
        assert np.array_equal(alone[0], batch[i]), f"row {i}"
    # Batches of 15, 16 and 17 rows starting anywhere: a row's position in
    # the tile of rows changes nothing.
    for start, rows in [(3, 15), (5, 16), (1, 17), (40, 17)]:
        part = packed_gemm(A[start:start + rows], packed,
                           C0[start:start + rows].copy(), beta)
        assert np.array_equal(part, batch[start:start + rows])


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("H", [3, 50, 130])
@pytest.mark.parametrize("dtype", DTYPES)
def test_column_range_computes_only_its_columns_as_the_full_call(isa, dtype, H,
                                                                 orientation):
    rng = np.random.default_rng([H, 2])
    M = 17
    A, B = recurrent_operands(rng, dtype, H, orientation, M)
    N = B.shape[1]
    NR = _engine.PANEL_WIDTHS[np.dtype(dtype).name]
    packed = _engine._pack_for_tests(B)
    full = packed_gemm(A, packed, np.full((M, N), np.nan, dtype), 0)
    ranges = {(0, N), (0, min(N, NR)), (0, N // 2), (0, 0), (N // NR * NR, N)}
    if N > NR:
        ranges |= {(NR, N), (NR, min(N, 2 * NR + 5))}
    for n_begin, n_end in sorted(ranges):
        sentinel = rng.standard_normal((M, N)).astype(dtype)
        C = packed_gemm(A, packed, sentinel.copy(), 0, n_begin, n_end)
        assert np.array_equal(C[:, n_begin:n_end], full[:, n_begin:n_end])
        assert np.array_equal(C[:, :n_begin], sentinel[:, :n_begin])
        assert np.array_equal(C[:, n_end:], sentinel[:, n_end:])


@pytest.mark.parametrize("dtype", DTYPES)
def test_column_range_begin_must_be_a_panel_boundary(dtype):
    A = np.ones((2, 3), dtype)
    packed = _engine._pack_for_tests(np.ones((3, 40), dtype))
    with pytest.raises(ValueError, match="panel"):
        packed_gemm(A, packed, np.zeros((2, 40), dtype), 0, 1, 40)


@pytest.mark.skipif("avx2" not in PATHS, reason="the CPU has no AVX2+FMA")
@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("H", [3, 50, 130])
@pytest.mark.parametrize("dtype", DTYPES)
def test_fma_paths_agree_bit_for_bit(dtype, H, orientation):
    # Both compute one FMA per k, k ascending, from the same start.
    rng = np.random.default_rng([H, 3])
    A, B = recurrent_operands(rng, dtype, H, orientation, 17)
    packed = _engine._pack_for_tests(B)
    C0 = rng.standard_normal((17, B.shape[1])).astype(dtype)
    before = _engine.isa()
    try:
        results = []
        for name in [p for p in PATHS if p != "portable"]:
            _engine.set_isa(name)
            results.append(packed_gemm(A, packed, C0.copy(), 1))
    finally:
        _engine.set_isa(before)
    for result in results[1:]:
        assert np.array_equal(result, results[0])


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("H", [3, 130, 512])
@pytest.mark.parametrize("dtype", DTYPES)
def test_portable_path_sums_in_the_documented_order(dtype, H, orientation):
    # acc = C; for k ascending: acc = acc + A[:, k] * B[k] (rounded product,
    # rounded sum), which numpy's element-wise operations reproduce exactly;
    # K = 520 and 2048 cross the kernel's slices of k, which must not change it.
    rng = np.random.default_rng([H, 4])
    A, B = recurrent_operands(rng, dtype, H, orientation, 17)
    C0 = rng.standard_normal((17, B.shape[1])).astype(dtype)
    before = _engine.isa()
    try:
        _engine.set_isa("portable")
        C = packed_gemm(A, _engine._pack_for_tests(B), C0.copy(), 1)
    finally:
        _engine.set_isa(before)
    expected = C0.copy()
    for k in range(B.shape[0]):
        expected += A[:, k:k + 1] * B[k]
    assert np.array_equal(C, expected)


@pytest.mark.parametrize("path", [p for p in PATHS if p != "portable"])
@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("H", [3, 130, 512])
def test_fma_paths_sum_in_the_documented_order(path, H, orientation):
    # float32: acc = C; for k ascending: acc = fma(A[:, k], B[k], acc). The
    # product of two floats is exact in float64, so the float64 sum rounded to
    # float32 is the FMA unless the float64 rounding lands on a float32
    # halfway point (a double rounding, about 2^-29 per operation), which these
    # fixed inputs do not meet.
    rng = np.random.default_rng([H, 5])
    A, B = recurrent_operands(rng, np.float32, H, orientation, 17)
    C0 = rng.standard_normal((17, B.shape[1])).astype(np.float32)
    before = _engine.isa()
    try:
        _engine.set_isa(path)
        C = packed_gemm(A, _engine._pack_for_tests(B), C0.copy(), 1)
    finally:
        _engine.set_isa(before)
    expected, A64, B64 = C0.copy(), A.astype(np.float64), B.astype(np.float64)
    for k in range(B.shape[0]):
        expected = (expected + A64[:, k:k + 1] * B64[k]).astype(np.float32)
    assert np.array_equal(C, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, cols", [(1, 1), (7, 5), (8, 8), (16, 16), (17, 33),
                                        (33, 17), (48, 64), (800, 256), (3, 40)])
def test_transpose_is_an_exact_copy(isa, dtype, rows, cols):
    """The weight gradients' dZ^T: block sizes (16 floats, 8 doubles on
    AVX-512), their multiples and the edges around them."""
    A = np.random.default_rng(rows * cols).standard_normal((rows, cols)).astype(dtype)
    np.testing.assert_array_equal(_engine._transpose_for_tests(A), A.T)
