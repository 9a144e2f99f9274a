"""Working memory of fit and predict on a large data set.

    python benchmarks/bench_memory.py [--n 200000]

Fits an LSTMRegressor(32) for one epoch on n sequences of (50, 8) float32 and
predicts them all, and prints what fit and predict added to the peak resident
memory beyond the data itself: the engine keeps O(batch * T * H) working
memory (per-thread chunk workspaces), not O(n_samples * T * H), and takes a
C-contiguous float32 X without copying it.
"""

import argparse
import resource
import warnings

import numpy as np

import sklstm


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    args = parser.parse_args()
    imports = peak_mb()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, 50, 8), dtype=np.float32)
    y = X[:, -1, 0].copy()
    with_data = peak_mb()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sklstm.LSTMRegressor(32, batch_size=64, max_iter=1, random_state=0)
        model.fit(X, y)
    model.predict(X)
    peak = peak_mb()
    print(f"peak RSS: {imports:.0f} MB after imports, {with_data:.0f} MB with the data "
          f"({(X.nbytes + y.nbytes) / 2**20:.0f} MB), {peak:.0f} MB after fit and predict")
    print(f"fit and predict added {peak - with_data:.0f} MB beyond the data")


if __name__ == "__main__":
    main()
