"""Threads on a busy machine: fit time with 2 threads against 1 thread while a
CPU-bound process runs beside it.

    python benchmarks/bench_busy_machine.py [--rounds 3]

Each measurement runs in a fresh process (the thread count is fixed at
OpenMP's start), rounds interleaved, medians of 5 epochs of 8 minibatches
through ``partial_fit``. Prints the 2-thread / 1-thread time ratio per shape:
above 1, the second thread hurts.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

SHAPES = {"small": (32, 50, 8, 32), "medium": (64, 100, 32, 128)}
EPOCH = """
import sys, time, warnings
import numpy as np
from sklstm import LSTMRegressor
warnings.simplefilter("ignore")
B, T, D, H = map(int, sys.argv[1:5])
rng = np.random.RandomState(0)
X = rng.normal(size=(8 * B, T, D)).astype(np.float32)
model = LSTMRegressor(H, batch_size=B, random_state=0).partial_fit(X, X[:, -1, 0])
times = []
for _ in range(5):
    start = time.perf_counter()
    model.partial_fit(X, X[:, -1, 0])
    times.append(time.perf_counter() - start)
print(np.median(times))
"""


def epoch_seconds(shape, threads):
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, "-c", EPOCH, *map(str, SHAPES[shape])],
                         env=env, capture_output=True, text=True, check=True).stdout
    return float(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        times = {(s, t): [] for s in SHAPES for t in (1, 2)}
        for _ in range(args.rounds):
            for shape in SHAPES:
                for threads in (1, 2):
                    times[shape, threads].append(epoch_seconds(shape, threads))
    finally:
        hog.kill()
    print("shape     1 thread (ms)  2 threads (ms)  ratio 2/1   (one CPU-bound process beside)")
    for shape in SHAPES:
        one, two = (1e3 * np.median(times[shape, t]) for t in (1, 2))
        print(f"{shape:8} {one:13.1f} {two:15.1f} {two / one:10.2f}")


if __name__ == "__main__":
    main()
