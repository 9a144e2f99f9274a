"""Where batch prediction's time goes, and how fast it could be on this CPU.

    PYTHONPATH=. python benchmarks/bench_predict_bound.py [--repeats 7]

For 1024 sequences at the small and medium shapes of bench_vs_torch.py, one
thread, float32, measured in the same run, repeats interleaved (medians):

- predict: sklstm's ``predict``, and PyTorch's (oneDNN) the same network;
- products: the engine's two per-step products (input and recurrent, a
  chunk of PREDICT_CHUNK_SIZE rows, weights packed, caches warm) on the
  packed kernel alone, times the chunks and steps of the prediction;
- cells: the cell forward alone on the same rows, times the same count;
- rest: predict minus both (the gather, packing, the head, validation);
- best rate: the packed kernel on a large warm product (M = 64, K = 512,
  N = 2048), the fastest this CPU runs it.

The bound is PyTorch's time over the products at the best rate plus the
cells as measured: the ratio sklstm would reach if the products ran at the
kernel's best and everything else were free. It tells whether a ratio
target is within reach of the products or needs faster cells.
"""

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sklstm import LSTMRegressor, _engine
from sklstm._network import PREDICT_CHUNK_SIZE

N_SEQUENCES = 1024
SHAPES = {"small": (50, 8, 32), "medium": (100, 32, 128)}  # timesteps, features, hidden
TARGET_SECONDS = 0.02


def timer(function, repeat):
    def seconds():
        start = time.perf_counter()
        function(repeat)
        return (time.perf_counter() - start) / repeat
    return seconds


def calibrated(function):
    """A timer of function(repeat), repeat chosen to take about TARGET_SECONDS."""
    function(1)
    start = time.perf_counter()
    function(1)
    once = max(time.perf_counter() - start, 1e-7)
    return timer(function, max(1, int(TARGET_SECONDS / once)))


def product_timer(M, K, N, rng):
    """Seconds of one warm product (M, K) @ (K, N), B packed."""
    A = rng.standard_normal((M, K)).astype(np.float32)
    packed = _engine._pack_for_tests(rng.standard_normal((K, N)).astype(np.float32))
    C = np.zeros((M, N), np.float32)
    return calibrated(lambda r: _engine._packed_gemm_for_tests(A, packed, C, True, repeat=r))


def cell_timer(rows, H, rng):
    """Seconds of one cell forward over rows x H cells (standard cell)."""
    bias = np.zeros(4 * H, np.float32)
    gates = rng.standard_normal(rows * 4 * H).astype(np.float32)
    c_prev = rng.standard_normal(rows * H).astype(np.float32)
    c, act_c, h = (np.empty(rows * H, np.float32) for _ in range(3))
    return calibrated(lambda r: _engine.cell_forward(H, bias, None, c_prev, gates, c, act_c,
                                                     h, H, 0, 0, repeat=r))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    M = PREDICT_CHUNK_SIZE
    n_chunks = N_SEQUENCES // M
    best = product_timer(64, 512, 2048, rng)
    print(f"sklstm ISA path {_engine.isa()}, 1 thread, {N_SEQUENCES} sequences, "
          f"chunks of {M}, medians of {args.repeats} interleaved repeats")
    for name, (T, D, H) in SHAPES.items():
        X = rng.standard_normal((N_SEQUENCES, T, D)).astype(np.float32)
        model = LSTMRegressor(H, random_state=0).partial_fit(X[:64], X[:64, 0, 0])
        lstm = torch.nn.LSTM(D, H, batch_first=True)
        head = torch.nn.Linear(H, 1)
        Xt = torch.from_numpy(X)

        def theirs(repeat):
            for _ in range(repeat):
                with torch.inference_mode():
                    head(lstm(Xt)[0][:, -1]).numpy()

        timers = {
            "ours": timer(lambda r: [model.predict(X) for _ in range(r)], 1),
            "torch": timer(theirs, 1),
            "input": product_timer(M, D, 4 * H, rng),
            "recurrent": product_timer(M, H, 4 * H, rng),
            "cells": cell_timer(M, H, rng),
            "best": best,
        }
        times = {k: [] for k in timers}
        with threadpool_limits(1):
            for f in timers.values():
                f()
            for _ in range(args.repeats):
                for k, f in timers.items():
                    times[k].append(f())
        t = {k: float(np.median(v)) for k, v in times.items()}
        steps = n_chunks * T
        flops = 2.0 * N_SEQUENCES * T * 4 * H * (D + H)
        products = steps * (t["input"] + t["recurrent"])
        cells = steps * t["cells"]
        best_rate = 2.0 * 64 * 512 * 2048 / t["best"]
        bound = t["torch"] / (flops / best_rate + cells)
        print(f"\n{name} (T={T}, D={D}, H={H}): predict {t['ours'] * 1e3:.2f} ms, "
              f"PyTorch {t['torch'] * 1e3:.2f} ms, ratio {t['torch'] / t['ours']:.2f}")
        print(f"  products {products * 1e3:.2f} ms ({flops / products / 1e9:.0f} GFLOP/s), "
              f"cells {cells * 1e3:.2f} ms ({cells / (N_SEQUENCES * T * H) * 1e9:.2f} ns "
              f"a cell), rest {(t['ours'] - products - cells) * 1e3:.2f} ms")
        print(f"  kernel's best rate {best_rate / 1e9:.0f} GFLOP/s; bound (products at "
              f"it, cells as measured, rest free): ratio {bound:.2f}")


if __name__ == "__main__":
    main()
