"""Fit time of sequences of different lengths against padded ones.

    python benchmarks/bench_ragged.py [--n 2000] [--repeats 5] [--json PATH]

Sequences of 5 to 200 steps (uniform) should cost what their real steps
cost: the engine packs each chunk (as PyTorch's PackedSequence), so padding
is never computed, and fit buckets sequences by length so that a minibatch
walks few steps beyond its sequences' ends. Prints the time per epoch of fit
(LSTM with 32 units, 8 features, batch 32, float32, 5 epochs) on the ragged
data, on the same sequences padded to 200 steps, and on dense data with the
same total of real steps; medians over repeats, and the ratios.
"""

import argparse
import json
import time
import warnings

import numpy as np

from sklstm import LSTMRegressor


def epoch_seconds(X, y, repeats, epochs=5):
    """Seconds per epoch of fit (input validation, once per fit, included)."""
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeats + 1):  # the first is a warm-up
            model = LSTMRegressor(32, batch_size=32, max_iter=epochs,
                                  n_iter_no_change=np.inf, random_state=0)
            start = time.perf_counter()
            model.fit(X, y)
            times.append((time.perf_counter() - start) / epochs)
    return float(np.median(times[1:]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="sequences")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()

    rng = np.random.RandomState(0)
    lengths = rng.randint(5, 201, size=args.n)
    ragged = [rng.normal(size=(t, 8)).astype(np.float32) for t in lengths]
    padded = np.zeros((args.n, 200, 8), dtype=np.float32)
    for i, sequence in enumerate(ragged):
        padded[i, 200 - len(sequence):] = sequence  # pre-padding, as Keras users do
    equal_steps = int(round(lengths.mean()))
    dense = rng.normal(size=(args.n, equal_steps, 8)).astype(np.float32)
    y = rng.normal(size=args.n)

    seconds = {
        "ragged (5..200 steps)": epoch_seconds(ragged, y, args.repeats),
        "padded to 200 steps": epoch_seconds(padded, y, args.repeats),
        f"dense, {equal_steps} steps each": epoch_seconds(dense, y, args.repeats),
    }
    for name, value in seconds.items():
        print(f"{name:28} {value:8.3f} s per epoch")
    ragged_s, padded_s, dense_s = seconds.values()
    real_share = lengths.sum() / (200 * args.n)
    print(f"real steps / padded steps:           {real_share:.3f}")
    print(f"ragged time / padded time:           {ragged_s / padded_s:.3f}")
    print(f"ragged time / same-real-steps time:  {ragged_s / dense_s:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seconds": seconds, "real_share": real_share,
                       "ragged_over_padded": ragged_s / padded_s,
                       "ragged_over_equal_real_steps": ragged_s / dense_s}, f, indent=2)


if __name__ == "__main__":
    main()
