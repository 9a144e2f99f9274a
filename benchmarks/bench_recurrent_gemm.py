"""The packed recurrent GEMM (src_c/recurrent_gemm.h) against OpenBLAS on the
engine's per-step recurrent products.

    PYTHONPATH=. OPENBLAS_NUM_THREADS=1 python benchmarks/bench_recurrent_gemm.py \
        [--rounds 7] [--isa avx512|avx2|portable] [--steps 50]

Shapes: M = 16 and 64 rows (a chunk, a minibatch), H = 32, 128, 512, forward
(Z += h @ W_hh.T: K = H, N = 4H) and backward (dh = dZ @ W_hh: K = 4H, N = H),
float32, and float64 at H = 128. GFLOP/s (2 M N K per product) of

- packed: the packed kernel, W_hh packed beforehand (packing excluded);
- +pack: the same with one packing per minibatch of --steps products (what
  the engine pays: W_hh packed once per minibatch, used at every step);
- blas: OpenBLAS through scipy's cython_blas, the engine's own call today
  (it repacks W_hh on every call);
- scipy: scipy.linalg.blas.sgemm/dgemm called from Python (the same OpenBLAS
  plus the Python call, which weighs on the small shapes).

The kernel and the cython_blas call loop in C (no Python between products).
Each measurement repeats a product for about 20 ms after one untimed call
(W_hh then sits in the caches as it does from one timestep to the next);
rounds interleave all variants of all shapes, and the table shows medians
and the ratios of medians. Single-threaded: set OPENBLAS_NUM_THREADS=1 (BLAS inside the engine
runs single-threaded too).
"""

import argparse
import time

import numpy as np
from scipy.linalg import blas

from sklstm import _engine

ROWS = (16, 64)
UNITS = (32, 128, 512)
TARGET_FLOPS = 2e9  # about 20 ms of products at 100 GFLOP/s


def cases():
    for M in ROWS:
        for H in UNITS:
            for direction in ("forward", "backward"):
                yield M, H, direction, np.float32
    for M in ROWS:
        for direction in ("forward", "backward"):
            yield M, 128, direction, np.float64


class Case:
    """Operands of one shape, and a timer for each variant."""

    def __init__(self, M, H, direction, dtype, steps, rng):
        self.label = (M, H, direction, np.dtype(dtype).name)
        self.W = (rng.standard_normal((4 * H, H)) / np.sqrt(H)).astype(dtype)
        self.forward = direction == "forward"
        self.B = self.W.T if self.forward else self.W
        K, N = self.B.shape
        self.A = rng.standard_normal((M, K)).astype(dtype)
        self.C = np.zeros((M, N), dtype)
        self.packed = _engine._pack_for_tests(self.B)
        self.flops = 2.0 * M * N * K
        self.steps = steps
        self.repeat = max(1, int(TARGET_FLOPS / self.flops))
        gemm = blas.sgemm if dtype == np.float32 else blas.dgemm
        # Row-major C = A @ B is column-major C^T = B^T @ A^T, and W.T is the
        # F-ordered array of W: op(W.T) = W = B^T forward (transposed), W.T =
        # B^T backward. A.T and C.T are F-ordered views: no copies.
        self.scipy_call = lambda: gemm(1.0, self.W.T, self.A.T, 1.0, self.C.T,
                                       trans_a=int(self.forward), overwrite_c=1)

    def packed_seconds(self):
        start = time.perf_counter()
        _engine._packed_gemm_for_tests(self.A, self.packed, self.C, True,
                                       repeat=self.repeat)
        return (time.perf_counter() - start) / self.repeat

    def pack_seconds(self):
        repeat = max(1, self.repeat // self.steps)
        start = time.perf_counter()
        for _ in range(repeat):
            _engine._pack_for_tests(self.B, self.packed)
        return (time.perf_counter() - start) / repeat

    def blas_seconds(self):
        start = time.perf_counter()
        _engine._blas_gemm_for_bench(self.A, self.W, self.C, self.forward, self.repeat)
        return (time.perf_counter() - start) / self.repeat

    def scipy_seconds(self):
        call = self.scipy_call
        start = time.perf_counter()
        for _ in range(self.repeat):
            call()
        return (time.perf_counter() - start) / self.repeat


def check(case):
    """The kernel's product is the BLAS one up to rounding (a wrong benchmark
    would be worse than none)."""
    A, B = case.A, case.B
    C = np.full(case.C.shape, np.nan, A.dtype)
    _engine._packed_gemm_for_tests(A, case.packed, C, False)
    expected = A.astype(np.float64) @ B.astype(np.float64)
    bound = (B.shape[0] + 1) * np.finfo(A.dtype).eps * (np.abs(A) @ np.abs(B))
    assert np.all(np.abs(C - expected) <= bound), case.label
    case.C[:] = 0
    C = case.scipy_call()
    assert np.shares_memory(C, case.C), "scipy copied C"
    assert np.all(np.abs(C.T - expected) <= bound), case.label


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=50,
                        help="products per packing (timesteps of a minibatch)")
    parser.add_argument("--isa", choices=_engine.ISA_NAMES, default=None)
    args = parser.parse_args()
    if args.isa:
        _engine.set_isa(args.isa)
    rng = np.random.default_rng(0)
    all_cases = [Case(*c, args.steps, rng) for c in cases()]
    for case in all_cases:
        check(case)
    variants = ("packed", "pack", "blas", "scipy")
    times = {(case.label, v): [] for case in all_cases for v in variants}
    for _ in range(args.rounds):
        for case in all_cases:
            for v in variants:
                seconds = getattr(case, f"{v}_seconds")
                seconds()  # warm the caches
                times[case.label, v].append(seconds())

    print(f"packed recurrent GEMM, ISA path {_engine.isa()}, {args.rounds} rounds, "
          f"packing once per {args.steps} products; GFLOP/s (medians)")
    print(f"{'M':>3} {'H':>4} {'product':9} {'dtype':8} {'packed':>7} {'+pack':>7} "
          f"{'blas':>7} {'scipy':>7}  {'packed/blas':>11} {'+pack/blas':>10} "
          f"{'packed/scipy':>12}  {'pack us':>7}")
    for case in all_cases:
        med = {v: float(np.median(times[case.label, v])) for v in variants}
        packed = case.flops / med["packed"] / 1e9
        with_pack = case.flops / (med["packed"] + med["pack"] / args.steps) / 1e9
        blas_rate = case.flops / med["blas"] / 1e9
        scipy_rate = case.flops / med["scipy"] / 1e9
        M, H, direction, dtype = case.label
        print(f"{M:>3} {H:>4} {direction:9} {dtype:8} {packed:7.1f} {with_pack:7.1f} "
              f"{blas_rate:7.1f} {scipy_rate:7.1f}  {packed / blas_rate:11.2f} "
              f"{with_pack / blas_rate:10.2f} {packed / scipy_rate:12.2f}  "
              f"{1e6 * med['pack']:7.1f}")


if __name__ == "__main__":
    main()
