"""Threads on a busy machine: fit time with the default threads against 1 thread
when the cores are shared.

    python benchmarks/bench_busy_machine.py [--rounds 3] [--json results.json]

Two cases, per shape:

- ``hog``: one CPU-bound process runs beside the fit; the ratio is the fit's
  time with the default threads over its time with 1 thread.
- ``two fits``: two sklstm processes fit at once; the ratio is their time
  when each has the default threads over their time when each has 1 thread
  (the mean of the two processes' times).

Each measurement runs in fresh processes (OpenMP's thread count is fixed when
it starts), rounds interleaved. A process runs 6 epochs of 8 minibatches
through ``partial_fit``: ``epoch`` is the median of the last 5, ``first``
the first call, which includes the engine's timing of serial and parallel
minibatches (src_c/threads.h). Above 1, the extra threads hurt; the issue's
target is at most 1.25. The machine's other load makes these noisy: repeat.
"""

import argparse
import json
import os
import platform
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
model = LSTMRegressor(H, batch_size=B, random_state=0)
times = []
for _ in range(6):
    start = time.perf_counter()
    model.partial_fit(X, X[:, -1, 0])
    times.append(time.perf_counter() - start)
print(np.median(times[1:]), times[0])
"""
HOG = "while True: pass"


def _start(shape, threads):
    env = dict(os.environ)
    if threads == "default":
        env.pop("OMP_NUM_THREADS", None)
    else:
        env["OMP_NUM_THREADS"] = str(threads)
    return subprocess.Popen([sys.executable, "-c", EPOCH, *map(str, SHAPES[shape])],
                            env=env, stdout=subprocess.PIPE, text=True)


def _read(process):
    out, _ = process.communicate()
    if process.returncode:
        raise RuntimeError(f"benchmark process failed ({process.returncode})")
    return [float(value) for value in out.split()]


def beside_hog(shape, threads):
    hog = subprocess.Popen([sys.executable, "-c", HOG])
    try:
        return _read(_start(shape, threads))
    finally:
        hog.kill()
        hog.wait()


def two_fits(shape, threads):
    first, second = _start(shape, threads), _start(shape, threads)
    a, b = _read(first), _read(second)
    return [(x + y) / 2 for x, y in zip(a, b)]


CASES = {"hog": beside_hog, "two fits": two_fits}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--json", help="write the measurements to this file")
    args = parser.parse_args()
    times = {(c, s, t): [] for c in CASES for s in args.shapes for t in ("default", 1)}
    for _ in range(args.rounds):
        for case, run in CASES.items():
            for shape in args.shapes:
                for threads in ("default", 1):
                    times[case, shape, threads].append(run(shape, threads))
    rows = []
    print(f"{'case':9} {'shape':7} {'1 thread (ms)':>14} {'default (ms)':>13} "
          f"{'epoch ratio':>12} {'first ratio':>12}   (medians of {args.rounds} rounds)")
    for case in CASES:
        for shape in args.shapes:
            one = np.median(times[case, shape, 1], axis=0)
            default = np.median(times[case, shape, "default"], axis=0)
            row = dict(case=case, shape=shape, epoch_1_thread_s=one[0],
                       epoch_default_s=default[0], epoch_ratio=default[0] / one[0],
                       first_1_thread_s=one[1], first_default_s=default[1],
                       first_ratio=default[1] / one[1],
                       rounds_1_thread=times[case, shape, 1],
                       rounds_default=times[case, shape, "default"])
            rows.append(row)
            print(f"{case:9} {shape:7} {1e3 * one[0]:14.1f} {1e3 * default[0]:13.1f} "
                  f"{row['epoch_ratio']:12.2f} {row['first_ratio']:12.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(cpu=platform.processor() or platform.machine(),
                           cpus=os.cpu_count(), rounds=args.rounds, results=rows),
                      f, indent=1)


if __name__ == "__main__":
    main()
