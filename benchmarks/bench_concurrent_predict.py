"""Two Python threads predicting at once with one model, against the same two
predicts in sequence; and BLAS's thread count afterwards.

    python benchmarks/bench_concurrent_predict.py [--rounds 7] [--json results.json]

Per shape (a model fitted for 2 epochs), rounds interleaved: ``sequential``
is two ``predict`` calls one after the other, ``concurrent`` the same two
calls started together in two threads (a barrier releases them), the time
until both are done. Prints medians and their ratio (the issue's target is
at most 1.25), and checks that the concurrent predictions equal the
sequential ones bit for bit and that BLAS's thread count is what it was
(a count of 2 is set first, so that a guard that failed to restore it would
show). Cases: 1024 sequences, and 200 single-sequence predicts per thread.
The machine's other load makes these noisy: repeat.
"""

import argparse
import json
import os
import platform
import threading
import time
import warnings

import numpy as np
from threadpoolctl import ThreadpoolController, threadpool_limits

from sklstm import LSTMRegressor

SHAPES = {"small": (50, 8, 32), "medium": (100, 32, 128)}


def blas_threads():
    return [lib.num_threads
            for lib in ThreadpoolController().select(user_api="blas").lib_controllers]


def run(predict_all, concurrent):
    """Seconds for two calls of predict_all, in sequence or in two threads."""
    if not concurrent:
        start = time.perf_counter()
        results = [predict_all(), predict_all()]
        return time.perf_counter() - start, results
    barrier = threading.Barrier(3)
    results = [None, None]

    def worker(k):
        barrier.wait()
        results[k] = predict_all()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", help="write the measurements to this file")
    args = parser.parse_args()
    rows = []
    print(f"{'shape':7} {'case':11} {'sequential (ms)':>16} {'concurrent (ms)':>16} "
          f"{'ratio':>6}  equal  BLAS restored   (medians of {args.rounds} rounds)")
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        for shape, (T, D, H) in SHAPES.items():
            rng = np.random.RandomState(0)
            X = rng.normal(size=(1024, T, D)).astype(np.float32)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = LSTMRegressor(H, max_iter=2, random_state=0).fit(X, X[:, -1, 0])
            cases = {
                "1024 seqs": lambda: model.predict(X),
                "200 x 1 seq": lambda: np.concatenate([model.predict(X[i:i + 1])
                                                        for i in range(200)]),
            }
            for case, predict_all in cases.items():
                predict_all()
                expected = predict_all()
                times = {False: [], True: []}
                equal = True
                for _ in range(args.rounds):
                    for concurrent in (False, True):
                        seconds, results = run(predict_all, concurrent)
                        times[concurrent].append(seconds)
                        equal &= all(np.array_equal(r, expected) for r in results)
                seq, conc = np.median(times[False]), np.median(times[True])
                restored = blas_threads() == before
                rows.append(dict(shape=shape, case=case, sequential_s=seq,
                                 concurrent_s=conc, ratio=conc / seq, equal=bool(equal),
                                 blas_restored=restored, rounds_sequential=times[False],
                                 rounds_concurrent=times[True]))
                print(f"{shape:7} {case:11} {1e3 * seq:16.1f} {1e3 * conc:16.1f} "
                      f"{conc / seq:6.2f}  {str(equal):5}  {restored}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(cpu=platform.processor() or platform.machine(),
                           cpus=os.cpu_count(), rounds=args.rounds, blas_before=before,
                           results=rows), f, indent=1)


if __name__ == "__main__":
    main()
